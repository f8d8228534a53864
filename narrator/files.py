"""Atomic output: files are written under temporary names and renamed into place together."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType

from narrator.errors import OutputError


class Staging:
    """Collects outputs under hidden temporary names in their final folder.

    ``commit`` renames them all into place; leaving the block without committing
    (an error, Ctrl-C) deletes them, so earlier outputs stay untouched and no
    half-written file is ever visible under a final name.
    """

    def __init__(self, folder: Path) -> None:
        self._created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create output folder: {exc.strerror}") from None
        if not os.access(folder, os.W_OK):
            raise OutputError(f"{folder}: output folder is not writable")
        self.folder = folder
        self._staged: list[tuple[Path, Path]] = []

    def path(self, final_name: str) -> Path:
        """A fresh temporary path that ``commit`` will rename to ``final_name``."""
        handle, name = tempfile.mkstemp(prefix=f".{final_name}.", suffix=".part", dir=self.folder)
        os.close(handle)
        temporary = Path(name)
        temporary.chmod(0o644)  # mkstemp makes it private; outputs are ordinary files
        self._staged.append((temporary, self.folder / final_name))
        return temporary

    def scratch(self, name: str) -> Path:
        """A temporary path in the folder that is always deleted, never committed."""
        handle, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
        os.close(handle)
        self._staged.append((Path(path), Path()))
        return Path(path)

    def write_text(self, final_name: str, text: str) -> Path:
        """Stage a UTF-8 text file; return its temporary path."""
        temporary = self.path(final_name)
        temporary.write_text(text, encoding="utf-8")
        return temporary

    def commit(self) -> None:
        """Rename every staged file into place.

        Raises OutputError, before anything is renamed, when a final name is taken
        by a folder; a rename that fails anyway is reported the same way.
        """
        finals = [final for _, final in self._staged if final != Path()]
        for final in finals:
            if final.is_dir():
                raise OutputError(f"{final}: is a folder; move it away to write this output")
        try:
            for temporary, final in self._staged:
                if final != Path():
                    temporary.replace(final)
        except OSError as exc:
            raise OutputError(f"{exc.filename}: cannot write: {exc.strerror}") from None
        self._created = False
        self.discard()

    def discard(self) -> None:
        """Delete whatever is still staged, and the folder if it was made for nothing."""
        for temporary, _final in self._staged:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        self._staged.clear()
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
