"""Jobs for tests/test_workers.py that worker processes can import; as a script, a pool to stop."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from narrator.errors import ExitCode, MissingToolError, SettingError, Stopped
from narrator.workers import ordered_map

SETUPS = 0  # how many times setup ran in this process


class Unpicklable(Exception):
    """An exception whose constructor does not take its own args back: unpickling fails."""

    def __init__(self, what: str, n: int) -> None:
        super().__init__(f"{what} {n} failed")


@dataclass(frozen=True)
class State:
    """What setup builds: where to leave marks, and how many setups its process has run."""

    folder: Path | None
    setups: int


@dataclass(frozen=True)
class Job:
    """A job numbered ``n`` that sleeps and does what ``fault`` says (None: nothing bad)."""

    n: int
    sleep: float = 0.0
    fault: str | None = None


@dataclass(frozen=True)
class Done:
    """A job's result: which job, in which process, after how many setups there."""

    n: int
    pid: int
    setups: int


def setup(folder: str | None) -> State:
    """Count the setup, and leave ``<pid>.setup`` in ``folder`` so a test can find the worker."""
    global SETUPS
    SETUPS += 1
    path = None if folder is None else Path(folder)
    if path is not None:
        (path / f"{os.getpid()}.setup").touch()
    return State(path, SETUPS)


def setup_fails(folder: str | None) -> State:
    raise MissingToolError(f"the library for {folder} is missing")


def teardown(state: State) -> None:
    if state.folder is not None:
        (state.folder / f"{os.getpid()}.teardown").touch()


def work(state: State, job: Job) -> Done:
    """Print, sleep, fail or die as ``job.fault`` says; else answer."""
    if job.fault == "print":
        print("noise from a worker", flush=True)
        os.write(1, b"more noise from a worker\n")
    try:
        end = time.monotonic() + job.sleep
        while time.monotonic() < end:  # in slices, so that a signal raises at once
            time.sleep(min(0.05, end - time.monotonic()))
    except KeyboardInterrupt:
        if state.folder is not None:  # a Ctrl-C meant for the parent reached this worker
            (state.folder / f"{os.getpid()}.interrupted").touch()
        raise
    errors: dict[str | None, BaseException] = {
        "ValueError": ValueError(f"job {job.n} failed"),
        "SettingError": SettingError(f"job {job.n} failed"),
        "Stopped": Stopped(f"job {job.n} failed", ExitCode.TERMINATED),
        "Unpicklable": Unpicklable("job", job.n),
    }
    if job.fault in errors:
        raise errors[job.fault]
    if job.fault in ("SIGKILL", "SIGTERM"):
        os.kill(os.getpid(), signal.Signals[job.fault])
        time.sleep(5)  # the signal ends the process before this does
    if job.fault == "exit":
        os._exit(3)
    if job.fault == "fork-exit":
        if os.fork() == 0:  # a child that keeps the worker's end of the pipe open a while
            time.sleep(4)
            os._exit(0)
        os._exit(3)
    return Done(job.n, os.getpid(), state.setups)


def big(state: State, job: Job) -> bytes:
    """A result larger than a pipe holds (like a long sentence's audio)."""
    return bytes(400_000)


def lock(state: State, job: Job) -> object:
    """A result that cannot be pickled."""
    return threading.Lock()


def stdout_file(state: State, job: Job) -> str:
    """The file the worker's standard output goes to."""
    return str(Path("/proc/self/fd/1").readlink())


def reach(state: State, job: Job) -> tuple[int, bool]:
    """The worker's process group, and whether it ignores SIGINT."""
    return os.getpgrp(), signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def present(pid: int) -> bool:
    """Whether ``pid`` is a process, running or a zombie not yet reaped."""
    return Path(f"/proc/{pid}").exists()


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def pids(folder: Path) -> list[int]:
    """The workers that ran setup with ``folder``."""
    return sorted(int(p.stem) for p in folder.glob("*.setup"))


def main(folder: Path) -> int:
    """Two workers on slow, noisy jobs until a signal stops this; then say who is left."""
    jobs = (Job(n, sleep=30.0, fault="print") for n in range(10))
    try:
        for _ in ordered_map(setup, str(folder), work, jobs, processes=2):
            pass
    except KeyboardInterrupt:
        left = [pid for pid in pids(folder) if present(pid)]
        print(f"stopped; workers {pids(folder)}; alive {left}; {multiprocessing.active_children()}")
        return 130
    return 0


if __name__ == "__main__":
    # Through the package, so that workers find these functions under their real name.
    from tests import _worker_jobs

    sys.exit(_worker_jobs.main(Path(sys.argv[1])))
