"""The signals that stop narrator as Ctrl-C does, and a way to hold them back briefly."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Delay SIGINT, SIGTERM and SIGHUP until the block ends; they are delivered then.

    For a block that must not be cut in the middle (renaming outputs into place),
    or during which Python cannot raise (a C library calling back into Python:
    ctypes prints and drops the exception a signal handler raises there).
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
