"""Atomic output: files are written under temporary names and renamed into place together.

A run's temporary files carry its tag (``<pid>-<random>``) and the run holds an
``flock`` on a lock file with the same tag while it lives. The kernel drops the
lock when the process dies, even by ``kill -9``; so a later run that can take
the lock knows the tagged files are a dead run's litter and removes them, and
never touches the files of a run that is still alive.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

from narrator import signals
from narrator.errors import DiskFullError, OutputError

LOCK_PREFIX = ".narrator-"
# .<final name>.narrator-<pid>-<hex>[-<n>].part (committed) or .tmp (scratch)
_STAGED = re.compile(r"^\..+\.narrator-(?P<tag>\d+-[0-9a-f]+)(?:-\d+)?\.(?:part|tmp)$")
_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}
# Some network and FUSE file systems have no flock: a run there goes on unlocked
# (its litter, if it crashes, is then never taken for a dead run's and stays).
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP}


def _flock(handle: int, operation: int) -> None:
    """``flock``, except where the file system has none: then nothing."""
    try:
        fcntl.flock(handle, operation)
    except OSError as exc:
        if exc.errno not in _NO_LOCKS or operation & fcntl.LOCK_NB:
            raise


def check_outputs(
    folder: Path,
    final_names: Iterable[str],
    keep: Path | None = None,
    recording: Path | None = None,
) -> None:
    """Raise OutputError if an output named in ``folder`` cannot be replaced.

    A folder in the way, a read-only file, ``keep`` (the script being read,
    which `render talk.srt -o .` would otherwise overwrite) or ``recording`` (the
    one `align` reads) stops the run before any work.
    """
    for name in final_names:
        final = folder / name
        for read, what in ((keep, "script"), (recording, "recording")):
            if read is not None and final.exists() and final.samefile(read):
                raise OutputError(
                    f"{final} is the {what} itself: choose another --out-dir or --name"
                )
        if final.is_dir():
            raise OutputError(f"{final} is a folder: move it away to write this output")
        if read_only(final):
            raise OutputError(
                f"{final} is read-only: make it writable (chmod u+w) or choose another --out-dir"
            )


def disk_full(folder: Path, quota: bool = False) -> DiskFullError:
    """The one-line error for a full disk (or quota) while writing into ``folder``."""
    what = _FULL[errno.EDQUOT if quota else errno.ENOSPC]
    return DiskFullError(
        f"{folder}: {what}; free some space there or choose another --out-dir "
        "(earlier outputs are untouched)"
    )


def full_disk_error(exc: BaseException | None, folder: Path) -> DiskFullError | None:
    """``disk_full`` for an OSError that means the disk or quota is full, else None."""
    if not isinstance(exc, OSError) or exc.errno not in _FULL:
        return None
    where = Path(exc.filename).parent if isinstance(exc.filename, str) else folder
    return disk_full(where, quota=exc.errno == errno.EDQUOT)


class RunLock:
    """A lock file ``<folder>/<prefix><tag>.lock`` held with ``flock`` while this run lives."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        # Locked before it gets the name other runs look for, so none can take
        # it for a dead run's lock in between; no signal cuts this short.
        with signals.held():
            handle, name = tempfile.mkstemp(
                prefix=f"{prefix}{self.tag}.", suffix=".new", dir=folder
            )
            try:
                _flock(handle, fcntl.LOCK_EX)
                self.path = folder / f"{prefix}{self.tag}.lock"
                Path(name).replace(self.path)
            except BaseException:
                os.close(handle)
                with contextlib.suppress(OSError):
                    Path(name).unlink()
                raise
        self._handle: int | None = handle

    def release(self) -> None:
        """Remove the lock file and drop the lock; idempotent."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._handle)
            self._handle = None


def sweep_dead_runs(folder: Path, prefix: str, remove: Callable[[str], None]) -> None:
    """Call ``remove(tag)`` for every run whose lock in ``folder`` is free, then delete its lock.

    A free lock means its run has died; a live run's lock cannot be taken, so its
    files are left alone. Locks of other users cannot be opened and are skipped.
    """
    for lock in folder.glob(f"{prefix}*.lock"):
        try:
            handle = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(handle).st_ino != lock.stat().st_ino:
                continue  # another sweeper removed it and a new run took the name
            remove(lock.name[len(prefix) : -len(".lock")])
            lock.unlink()
        except OSError:
            continue  # alive (the lock is held), or gone already
        finally:
            os.close(handle)


def shown_name(path: Path) -> str:
    """The name a staged file will have (``talk.mp3`` for ``.talk.mp3.narrator-….part``)."""
    match = _STAGED.match(path.name)
    if match is None:
        return path.name
    return path.name[1 : path.name.rindex(".narrator-")]


def _remove(path: Path) -> None:
    """Delete a staged file, or a scratch folder with everything in it; gone already is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_only(path: Path) -> bool:
    """Whether ``path`` is a file its owner has made read-only (root ignores permissions)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and (not mode & stat.S_IWUSR or not os.access(path, os.W_OK))


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """Hold an ``flock`` on the folder itself: two runs never rename into it at once."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        _flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing drops the lock


class Staging:
    """Collects outputs under hidden temporary names in their final folder.

    ``commit`` renames them all into place; leaving the block without committing
    (an error, Ctrl-C, SIGTERM) deletes them, so earlier outputs stay untouched and
    no half-written file is ever visible under a final name. A full disk inside
    the block is reported as DiskFullError naming the folder. Temporary names are
    ``.<final name>.narrator-<tag>.part`` (``.tmp`` for scratch files), beside the
    run's lock ``.narrator-<tag>.lock``; a dead run's are removed on entry.
    """

    def __init__(self, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder} is a file, not a folder: choose another --out-dir")
        self._created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise full_disk_error(exc, folder) or OutputError(
                f"{folder}: cannot create output folder: {exc.strerror}"
            ) from None
        if not os.access(folder, os.W_OK):
            raise OutputError(f"{folder}: output folder is not writable")
        self.folder = folder
        self._staged: list[tuple[Path, Path]] = []
        self._lock: RunLock | None = None
        try:
            sweep_dead_runs(folder, LOCK_PREFIX, self._remove_staged)
            self._lock = RunLock(folder, LOCK_PREFIX)
        except OSError as exc:
            self.discard()
            raise full_disk_error(exc, folder) or OutputError(
                f"{folder}: cannot write in the output folder: {exc.strerror}"
            ) from None

    def _remove_staged(self, tag: str) -> None:
        for child in self.folder.iterdir():
            match = _STAGED.match(child.name)
            if match is not None and match["tag"] == tag:
                _remove(child)

    def check(
        self,
        final_names: Iterable[str],
        keep: Path | None = None,
        recording: Path | None = None,
    ) -> None:
        """Raise OutputError now if an output this run may write cannot be replaced."""
        check_outputs(self.folder, final_names, keep, recording)

    def _create(self, name: str, suffix: str, final: Path, folder: bool = False) -> Path:
        assert self._lock is not None
        for n in range(1000):
            count = f"-{n}" if n else ""
            path = self.folder / f".{name}.narrator-{self._lock.tag}{count}{suffix}"
            with signals.held():  # a file created is a file listed for clean-up
                try:
                    if folder:
                        path.mkdir(0o755)
                    else:
                        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                except FileExistsError:
                    continue
                self._staged.append((path, final))
            return path
        raise OutputError(f"{self.folder}: too many temporary files named .{name}.*")

    def path(self, final_name: str) -> Path:
        """A fresh temporary path that ``commit`` will rename to ``final_name``."""
        return self._create(final_name, ".part", self.folder / final_name)

    def scratch(self, name: str) -> Path:
        """A temporary path in the folder that is always deleted, never committed."""
        return self._create(name, ".tmp", Path())

    def scratch_folder(self, name: str) -> Path:
        """A temporary folder in the folder that is always deleted with what it holds."""
        return self._create(name, ".tmp", Path(), folder=True)

    def write_text(self, final_name: str, text: str) -> Path:
        """Stage a UTF-8 text file; return its temporary path."""
        temporary = self.path(final_name)
        temporary.write_text(text, encoding="utf-8")
        return temporary

    def commit(
        self, retire: Callable[[set[str]], Iterable[Path]] = lambda _names: ()
    ) -> tuple[Path, ...]:
        """Rename every staged file into place, then delete the files ``retire`` named.

        ``retire`` gets the names about to be committed and is asked under the
        folder's lock, before the renames, so it sees the folder as the last
        committed run left it. Signals wait until
        this is done, and so does another run committing into the same folder,
        so the folder never holds half of one render and half of another.
        Returns the retired files actually deleted (a file that cannot be
        deleted is left, unreported). Raises OutputError,
        before anything is renamed, when a final name is taken by a folder or a
        read-only file; a rename that fails anyway is reported the same way.
        """
        self.check(final.name for _, final in self._staged if final != Path())
        removed = []
        with signals.held(), _folder_locked(self.folder):
            superseded = list(retire({final.name for _, final in self._staged if final != Path()}))
            try:
                for temporary, final in self._staged:
                    if final != Path():
                        temporary.replace(final)
            except OSError as exc:
                raise full_disk_error(exc, self.folder) or OutputError(
                    f"{exc.filename}: cannot write: {exc.strerror}"
                ) from None
            for old in superseded:
                with contextlib.suppress(OSError):
                    old.unlink()
                    removed.append(old)
            self._created = False
            self.discard()
        return tuple(removed)

    def discard(self) -> None:
        """Delete whatever is still staged and the lock, and the folder if made for nothing."""
        for temporary, _final in self._staged:
            _remove(temporary)
        self._staged.clear()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._created:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only succeeds when empty
            self._created = False

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()
        full = full_disk_error(value, self.folder)
        if full is not None:
            raise full from None
