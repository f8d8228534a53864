"""A content-addressed on-disk cache of synthesized sentences, shared by all renders of a user."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import stat
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from narrator.errors import OutputError, SettingError

CACHE_DIR_ENV = "NARRATOR_CACHE_DIR"
CACHE_LIMIT_ENV = "NARRATOR_CACHE_LIMIT"
DEFAULT_LIMIT = 2 * 1000**3
# Eviction goes below the limit, not just to it, so that the next few puts do
# not each trigger a rescan of the whole folder.
EVICT_TO = 0.9
# A temporary file this old is a killed put's litter: a live put takes milliseconds.
STALE_SECONDS = 3600

# Entry file: header, then the payload. The digest is keyed with the entry's key,
# so a valid entry copied or renamed under another key's name is also a miss.
MAGIC = b"NRCLIP\r\n"  # \r\n: a file mangled by a text-mode copy does not verify
VERSION = 1
HEADER = struct.Struct("<8sIQ16s")  # magic, version, payload length, blake2b-128
DIGEST_SIZE = 16

LOCK_NAME = ".lock"
_KEY = re.compile(r"[0-9a-f]{64}")
_SHARD = re.compile(r"[0-9a-f]{2}")
_ENTRY = re.compile(r"(?P<key>[0-9a-f]{64})\.clip")
# .<key>.<pid>-<8 hex>.tmp, in the entry's own shard folder
_TEMPORARY = re.compile(r"\.(?P<key>[0-9a-f]{64})\.\d+-[0-9a-f]{8}\.tmp")
# Some network and FUSE file systems have no flock: eviction there goes unlocked
# (two processes may then both evict, which only costs a few extra misses).
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP}

_UNITS = {
    "": 1,
    "b": 1,
    **{p: 1000**n for n, p in enumerate("kmgt", start=1)},
    **{f"{p}b": 1000**n for n, p in enumerate("kmgt", start=1)},
    **{f"{p}i": 1024**n for n, p in enumerate("kmgt", start=1)},
    **{f"{p}ib": 1024**n for n, p in enumerate("kmgt", start=1)},
}
_SIZE = re.compile(r"\s*(?P<sign>[-+]?)\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[a-z]*)\s*")
_SIZE_FORM = "give bytes or a number with a unit, e.g. 2GB, 500 MB, 1.5GiB, or 0 to store nothing"


def default_dir() -> Path:
    """The cache folder: $NARRATOR_CACHE_DIR if set, else the user's cache dir + ``clips``."""
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    import platformdirs  # lazily: `narrator --help` must not pay for it

    return Path(platformdirs.user_cache_dir("narrator")) / "clips"


def cache_key(*parts: str) -> str:
    """The sha256 hex digest of ``parts``, each length-prefixed so no two tuples collide."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def source_digest(modules: Iterable[str]) -> str:
    """A hex digest of the named modules' source files (their bytes, in the given order).

    A module without a source file (a frozen or compiled build) counts by its name.
    """
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        try:
            data = Path(origin).read_bytes() if origin else name.encode()
        except OSError:
            data = name.encode()
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def parse_size(text: str) -> int:
    """Bytes in a size such as ``2GB``, ``500 MB``, ``2G``, ``1.5GiB``, ``0`` or ``123456``.

    KB, MB, GB, TB (and K, M, G, T) are powers of 1000; KiB, MiB, GiB, TiB (and
    Ki, Mi, Gi, Ti) of 1024; case is ignored. A fraction of a byte is dropped.

    >>> parse_size("1.5 GiB"), parse_size("2G"), parse_size("512kb")
    (1610612736, 2000000000, 512000)
    """
    match = _SIZE.fullmatch(text.lower())
    if match is None or match["unit"] not in _UNITS:
        raise SettingError(f"{text!r} is not a size: {_SIZE_FORM}")
    size = int(Decimal(match["number"]) * _UNITS[match["unit"]])
    if match["sign"] == "-" and size != 0:
        raise SettingError(f"{text!r} is a negative size: {_SIZE_FORM}")
    return size


def format_size(n: int) -> str:
    """A byte count for humans, in powers of 1000: ``0 B``, ``512 KB``, ``1.4 GB``.

    Two significant digits below 10 of a unit, whole numbers above; ``parse_size``
    reads the result back.

    >>> format_size(0), format_size(512_000), format_size(1_390_000_000)
    ('0 B', '512 KB', '1.4 GB')
    """
    sign, n = ("-", -n) if n < 0 else ("", n)
    if n < 1000:
        return f"{sign}{n} B"
    for power, unit in enumerate(("KB", "MB", "GB", "TB"), start=1):
        value = n / 1000**power
        text = f"{value:.1f}" if value < 9.95 else f"{value:.0f}"
        if float(text) < 1000 or unit == "TB":
            return f"{sign}{text.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class CacheInfo:
    """What the cache folder holds: its entries and their total size in bytes."""

    folder: Path
    entries: int
    size_bytes: int
    limit: int


@dataclass(frozen=True)
class _Found:
    """A file of the cache seen by a scan of its folder."""

    path: Path
    size: int
    mtime: float
    temporary: bool


def _digest(key: str, payload: bytes | memoryview) -> bytes:
    return hashlib.blake2b(payload, digest_size=DIGEST_SIZE, key=bytes.fromhex(key)).digest()


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way of the cache folder"
    return exc.strerror or str(exc)


class ClipCache:
    """Payloads (opaque bytes) stored under keys from ``cache_key``, in ``folder``.

    Each entry is ``<folder>/<first 2 hex of key>/<key>.clip``: a header (magic,
    format version, payload length, blake2b-128 of the payload keyed with the
    key) and the payload. ``get`` returns a payload only if all of it verifies;
    anything else found under an entry's name is deleted and is a miss.

    Writes go to ``.<key>.<pid>-<random>.tmp`` beside the entry and are renamed
    into place, so a reader in any process sees no entry or a whole one, and two
    processes writing one key leave one of their two whole entries.

    The total size of the entries is kept under ``limit`` bytes by deleting the
    least recently used (a hit counts as a use) down to 90% of it. ``limit``
    0 stores nothing: ``put`` does nothing (``get`` still reads what is there).

    The cache never makes a render fail: the first OSError while writing or
    evicting turns writing off for the life of the object and is kept as
    ``problem``, a one-line reason naming the folder, for one warning. A read
    that fails is a miss.
    """

    def __init__(self, folder: Path, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 0:
            raise SettingError(f"cache limit {limit} is negative: {_SIZE_FORM}")
        self.folder = folder
        self.limit = limit
        self.problem: str | None = None
        # Entry bytes in the folder as far as this process knows: None until the
        # first put scans it; then the scan plus what this process has put since.
        self._tracked: int | None = None
        self._maintenance = threading.Lock()

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a cache key (64 lowercase hex digits): {key!r}")
        return self.folder / key[:2] / f"{key}.clip"

    def contains(self, key: str) -> bool:
        """Whether an entry is stored under ``key``; cheap, unverified (``get`` verifies).

        A found entry counts as used, so that a render's own puts do not evict the
        entries it is about to read.
        """
        path = self._path(key)
        try:
            os.utime(path)
        except OSError:  # missing, or a folder this user cannot use: a miss
            return False
        return path.is_file()

    def get(self, key: str) -> bytes | None:
        """The payload stored under ``key`` if it verifies, else None; a hit counts as a use."""
        path = self._path(key)
        try:
            with path.open("rb", buffering=0) as handle:
                found = os.fstat(handle.fileno())
                header = handle.read(HEADER.size)
                payload = None
                if len(header) == HEADER.size:
                    magic, version, length, digest = HEADER.unpack(header)
                    if (
                        magic == MAGIC
                        and version == VERSION
                        and found.st_size == HEADER.size + length
                    ):
                        # Read apart from the header, so the payload needs no copy.
                        payload = handle.read(length)
        except OSError:
            return None
        if payload is not None and len(payload) == length and digest == _digest(key, payload):
            with contextlib.suppress(OSError):  # a read-only cache still serves hits
                os.utime(path)
            return payload
        self._discard(path, found.st_ino)
        return None

    def _discard(self, path: Path, inode: int) -> None:
        """Delete a bad entry, unless another process has just replaced it with a new one."""
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:
                path.unlink()

    def put(self, key: str, payload: bytes) -> None:
        """Store ``payload`` under ``key``, replacing any entry; never raises OSError."""
        path = self._path(key)
        size = HEADER.size + len(payload)
        if self.problem is not None or size > self.limit:
            return  # limit 0 lands here too, as does a payload alone over the limit
        header = HEADER.pack(MAGIC, VERSION, len(payload), _digest(key, payload))
        try:
            self._write(path, header, payload)
            with self._maintenance:
                if self._tracked is not None:
                    # A replaced entry is counted twice: that only brings the rescan forward.
                    self._tracked += size
                if self._tracked is None or self._tracked > self.limit:
                    self._sweep()
        except OSError as exc:
            self.problem = f"{self.folder}: {_reason(exc)}"

    def _write(self, path: Path, header: bytes, payload: bytes) -> None:
        # No fsync: after a power cut an entry may be empty or torn, which `get`
        # finds and treats as a miss; syncing each entry would cost far more.
        temporary = path.with_name(f".{path.stem}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            handle = os.open(temporary, flags, 0o644)
        except FileNotFoundError:  # the first put into this shard, or into the cache
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(temporary, flags, 0o644)
        try:
            try:
                _write_all(handle, header)
                _write_all(handle, payload)
            finally:
                os.close(handle)
            temporary.replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise

    def _sweep(self) -> None:
        """Rescan under the lock; delete stale temporaries and, if over the limit, the LRU."""
        with self._locked():
            found = list(self._scan())
            now = time.time()
            for item in found:
                if item.temporary and now - item.mtime > STALE_SECONDS:
                    _remove(item.path)
            entries = sorted((f for f in found if not f.temporary), key=lambda f: f.mtime)
            total = sum(f.size for f in entries)
            if total > self.limit:
                target = int(self.limit * EVICT_TO)
                for item in entries:
                    if total <= target:
                        break
                    _remove(item.path)
                    total -= item.size
            self._tracked = total

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an flock on the folder's lock file, so two processes never evict at once."""
        handle = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            except OSError as exc:
                if exc.errno not in _NO_LOCKS:
                    raise
            yield
        finally:
            os.close(handle)  # closing drops the lock

    def _scan(self) -> Iterator[_Found]:
        """Every entry and temporary file in the folder; nothing else, not even the lock."""
        try:
            shards = [s for s in os.scandir(self.folder) if _SHARD.fullmatch(s.name)]
        except (FileNotFoundError, NotADirectoryError):
            return
        for shard in shards:
            try:
                if not shard.is_dir(follow_symlinks=False):
                    continue
                children = list(os.scandir(shard.path))
            except FileNotFoundError:
                continue
            for child in children:
                entry = _ENTRY.fullmatch(child.name)
                match = entry or _TEMPORARY.fullmatch(child.name)
                if match is None or match["key"][:2] != shard.name:
                    continue
                try:
                    info = child.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted by another process since the listing
                if stat.S_ISREG(info.st_mode):
                    yield _Found(Path(child.path), info.st_size, info.st_mtime, entry is None)

    def info(self) -> CacheInfo:
        """How many entries the folder holds and their size; zeros if it does not exist."""
        try:
            entries = [f for f in self._scan() if not f.temporary]
        except OSError as exc:
            raise OutputError(
                f"{self.folder}: cannot read the clip cache: {_reason(exc)}"
            ) from None
        return CacheInfo(self.folder, len(entries), sum(f.size for f in entries), self.limit)

    def clear(self) -> int:
        """Delete every entry and stale temporary file; return how many entries went.

        Files not named as the cache names its own are left, and so is the folder.
        """
        if not self.folder.is_dir():
            return 0
        removed = 0
        try:
            with self._maintenance, self._locked():
                now = time.time()
                for item in self._scan():
                    if not item.temporary:
                        removed += _remove(item.path)
                    elif now - item.mtime > STALE_SECONDS:
                        _remove(item.path)
                self._tracked = None
        except OSError as exc:
            raise OutputError(
                f"{self.folder}: cannot clear the clip cache: {_reason(exc)}"
            ) from None
        return removed


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def _remove(path: Path) -> bool:
    """Delete ``path``; False if another process already had."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
