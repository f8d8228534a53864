"""Run jobs in worker processes and yield their results in job order, a bounded window ahead."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Final, TypeVar

from narrator import signals
from narrator.errors import SynthesisError

S = TypeVar("S")
W = TypeVar("W")
J = TypeVar("J")
R = TypeVar("R")

# Never "fork": pyttsx3 hangs in a process forked after it was initialised, and
# libespeak-ng's thread would not survive a fork. The fork server starts two
# workers 40 ms sooner (65 ms against 105 ms, medians of 31 runs on 2 cores), but
# it listens on a Unix socket in TMPDIR, whose path may be too long for one
# (108 bytes): a render must not fail for a long TMPDIR.
START_METHOD: Final = "spawn"
# How long a worker told to stop (interrupt, error, early exit) has to finish its
# job and tear down before SIGKILL: a sentence takes well under this.
STOP_GRACE = 2.0
# How long workers have to tear down after the last job: pyttsx3 waits up to 2 s
# for its own child to end.
FINISH_GRACE = 5.0
# The index of a reply about the worker's setup or teardown, not about a job.
NO_JOB = -1


def ordered_map(
    setup: Callable[[S], W],
    arg: S,
    work: Callable[[W, J], R],
    jobs: Iterable[J],
    processes: int,
    window: int | None = None,
    teardown: Callable[[W], None] | None = None,
    start_now: bool = False,
) -> Generator[R, None, None]:
    """Yield ``work(state, job)`` for each job in job order; ``state = setup(arg)`` once a worker.

    With ``processes <= 1`` all runs in the calling process and ``teardown`` runs
    however the iteration ends. Otherwise up to ``processes`` workers are started
    as jobs need them, ``setup``, ``work`` and ``teardown`` must be top-level
    functions, and no more than ``window`` jobs (default ``4 * processes``) are
    taken from ``jobs`` ahead of the result to yield next. A job's exception is
    raised at its turn; a setup error or a worker's death as soon as it is seen.
    Workers run ``teardown`` when the jobs run out; closing the generator early
    or any error stops them before it returns: each is told the jobs are over
    (it finishes its job and runs ``teardown``), and one still there after
    STOP_GRACE is killed. With ``start_now``, the workers are started and given
    their first jobs before this returns, so that they set up (an engine takes a
    while to open) while the caller does other work; close the generator even if
    it is never iterated.
    """
    window = 4 * max(processes, 1) if window is None else window
    if window < 1:
        raise ValueError(f"window must be at least 1, not {window}")
    if processes <= 1:
        return _in_process(setup, arg, work, jobs, teardown)
    pooled = _pooled(setup, arg, work, iter(jobs), processes, window, teardown, start_now)
    if start_now:
        next(pooled)  # runs up to the first jobs given out; yields nothing of the caller's
    return pooled


def _in_process(
    setup: Callable[[S], W],
    arg: S,
    work: Callable[[W, J], R],
    jobs: Iterable[J],
    teardown: Callable[[W], None] | None,
) -> Generator[R, None, None]:
    state = setup(arg)
    try:
        for job in jobs:
            yield work(state, job)
    finally:
        if teardown is not None:
            teardown(state)


@dataclass
class _Worker:
    """A worker process, the parent's end of its pipe, and the job it is running."""

    process: BaseProcess
    conn: Connection
    job: int | None = None


def _pooled(
    setup: Callable[[S], W],
    arg: S,
    work: Callable[[W, J], R],
    jobs: Iterator[J],
    processes: int,
    window: int,
    teardown: Callable[[W], None] | None,
    start_now: bool = False,
) -> Generator[R, None, None]:
    workers: list[_Worker] = []
    done: dict[int, tuple[bool, Any]] = {}  # replies that came before their turn
    submitted = yielded = 0
    exhausted = False
    try:
        while True:
            _collect(workers, done, timeout=0.0)  # frees the workers whose replies are in
            # One job per worker at a time: a worker never queues jobs behind a slow
            # one, and a large job cannot deadlock against a large result.
            while not exhausted and submitted - yielded < window:
                idle = next((w for w in workers if w.job is None), None)
                if idle is None and len(workers) == processes:
                    break
                try:
                    job = next(jobs)
                except StopIteration:
                    exhausted = True
                    break
                if idle is None:
                    with signals.held():  # so no worker is started but not yet listed
                        idle = _start((setup, arg, work, teardown))
                        workers.append(idle)
                idle.job = submitted
                try:
                    idle.conn.send((submitted, job))
                except OSError:  # it died while idle
                    idle.process.join(STOP_GRACE)
                    raise SynthesisError(_death(idle)) from None
                submitted += 1
            if start_now:
                start_now = False
                yield None  # type: ignore[misc]  # taken by ordered_map, never by the caller
                continue
            if yielded in done:
                ok, value = done.pop(yielded)
                yielded += 1
                if not ok:
                    raise value
                yield value
            elif exhausted and yielded == submitted:
                break
            else:
                _collect(workers, done, timeout=None)
        _finish(workers)
    finally:
        with signals.held():  # a second Ctrl-C must not cut the clean-up short
            _stop(workers)


def _start(functions: tuple[Any, ...]) -> _Worker:
    context = multiprocessing.get_context(START_METHOD)
    ours, theirs = context.Pipe()
    # Daemonic: should a worker still run when the parent exits, multiprocessing ends it.
    process = context.Process(target=_serve, args=(theirs, *functions), daemon=True)
    try:
        with signals.held(), _quiet_stderr():
            process.start()
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()  # so that the worker's death reads as the end of its pipe
    return _Worker(process, ours)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Start a worker with /dev/null as its stderr.

    A worker whose parent stops while it is still reading its start-up data
    (a Ctrl-C that was already on its way) would print multiprocessing's
    traceback on the user's terminal. A worker reports everything through its
    pipe, and its death by its exit status, so nothing is lost.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _collect(
    workers: list[_Worker], done: dict[int, tuple[bool, Any]], timeout: float | None
) -> None:
    """Wait for replies or exits; file replies by job; raise a setup error or death at once."""
    if not wait([w.conn for w in workers] + [w.process.sentinel for w in workers], timeout):
        return
    # Exits first: a worker that exited before this line has all its replies in its pipe.
    exited = [w for w in workers if w.process.exitcode is not None]
    for worker in workers:
        while worker.conn.poll():
            try:
                index, ok, value = pickle.loads(worker.conn.recv_bytes())
            except (EOFError, OSError):  # the end of its pipe, or a reset: it died
                worker.process.join(STOP_GRACE)
                exited.append(worker)
                break
            if index == NO_JOB:
                raise value
            done[index] = (ok, value)
            worker.job = None
    if exited:
        raise SynthesisError(_death(exited[0]))


def _death(worker: _Worker) -> str:
    code = worker.process.exitcode
    if code is None:
        how = "closed its pipe"
    elif code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit code {code}"
    during = "" if worker.job is None else f" while running job {worker.job}"
    return f"a worker process (pid {worker.process.pid}) died ({how}){during}"


def _finish(workers: list[_Worker]) -> None:
    """Ask every worker to tear down and exit; raise the first teardown error."""
    for worker in workers:
        with contextlib.suppress(OSError):  # already gone: _stop reaps it
            worker.conn.send(None)
    deadline = time.monotonic() + FINISH_GRACE
    for worker in workers:
        while worker.conn.poll(max(0.0, deadline - time.monotonic())):
            try:
                _, _, error = pickle.loads(worker.conn.recv_bytes())
            except EOFError:
                break
            raise error
        worker.process.join(max(0.0, deadline - time.monotonic()))


def _stop(workers: list[_Worker]) -> None:
    """End the workers still running, politely then not; reap them all.

    Politely: the end-of-jobs message, on which a worker finishes its job, runs
    its teardown (pyttsx3 stops its own child and removes its scratch folder)
    and exits. A worker still there after STOP_GRACE is killed.
    """
    for worker in workers:
        with contextlib.suppress(OSError):  # already gone
            worker.conn.send(None)
        # A worker blocked sending a result nobody will read gets an error instead,
        # and goes on to its teardown.
        worker.conn.close()
    deadline = time.monotonic() + STOP_GRACE
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.exitcode is None:
            worker.process.kill()
            worker.process.join()
        worker.process.close()


def _serve(
    conn: Connection,
    setup: Callable[[S], W],
    arg: S,
    work: Callable[[W, J], R],
    teardown: Callable[[W], None] | None,
) -> None:
    """A worker's life: detach from the terminal, set up, answer jobs until told to stop."""
    _detach()
    try:
        try:
            state = setup(arg)
        except BaseException as exc:
            _reply(conn, NO_JOB, False, exc)
            return
        try:
            while (message := conn.recv()) is not None:
                index, job = message
                try:
                    result = work(state, job)
                except BaseException as exc:
                    _reply(conn, index, False, exc)
                else:
                    _reply(conn, index, True, result)
        finally:
            if teardown is not None:
                try:
                    teardown(state)
                except BaseException as exc:
                    _reply(conn, NO_JOB, False, exc)
    except (OSError, EOFError):
        pass  # the parent is gone or has stopped listening: nobody to tell


def _detach() -> None:
    """Leave the terminal's signals to the parent, keep its stdout clean, die with it."""
    # The parent started this process with these signals blocked, so a Ctrl-C
    # meant for it could not reach this process before it left the group.
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals.STOPPING)
    # pyttsx3 prints "Audio saved to ..." on stdout, which is the user's.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # A parent killed with SIGKILL cannot stop its workers: they notice themselves.
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(sentinel: int) -> None:
    wait([sentinel])
    os._exit(1)


def _reply(conn: Connection, index: int, ok: bool, value: object) -> None:
    if not ok and isinstance(value, BaseException):
        # The parent re-raises it with a traceback of its own: keep this one for NARRATOR_DEBUG.
        where = "".join(traceback.format_tb(value.__traceback__)).rstrip()
        value = _portable(value)
        value.add_note(f"raised in worker process {os.getpid()}:\n{where}")
    try:
        data = pickle.dumps((index, ok, value))
    except Exception as exc:  # a result that cannot be pickled: a bug in ``work``
        exc.add_note(f"sending the result of job {index} from worker process {os.getpid()}")
        data = pickle.dumps((index, False, _portable(exc)))
    conn.send_bytes(data)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it unpickles as the same type and message, else a SynthesisError saying what."""
    with contextlib.suppress(Exception):
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is type(exc) and str(copy) == str(exc):
            return exc
    return SynthesisError(f"{type(exc).__name__} in a worker process: {exc}")
