"""The worker pool: job order, a bounded window, errors and deaths, and no process left behind.

Real worker processes throughout; interrupting and killing the parent happen in
a subprocess running tests/_worker_jobs.py. Every test runs under an alarm, so
a pool that hangs fails the test instead of the suite.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from narrator.errors import MissingToolError, SettingError, Stopped, SynthesisError
from narrator.workers import ordered_map
from tests._worker_jobs import (
    Done,
    Job,
    alive,
    big,
    lock,
    pids,
    present,
    reach,
    setup,
    setup_fails,
    stdout_file,
    teardown,
    work,
)
from tests.conftest import ROOT

HANG_LIMIT = 15  # seconds: far beyond any test here, short enough to notice


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {HANG_LIMIT} s: the pool hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(HANG_LIMIT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _gone(folder: Path) -> None:
    """Every worker that set up with ``folder`` is gone and reaped."""
    assert pids(folder), "no worker ran setup"
    assert [pid for pid in pids(folder) if present(pid)] == []
    assert multiprocessing.active_children() == []


def test_results_come_in_job_order_though_jobs_finish_out_of_order() -> None:
    rng = random.Random(7)
    jobs = [Job(n, sleep=rng.uniform(0, 0.04)) for n in range(24)]
    results = list(ordered_map(setup, None, work, jobs, processes=2, window=4))
    assert [r.n for r in results] == list(range(24))
    assert len({r.pid for r in results}) == 2


def test_one_process_runs_everything_in_the_caller(tmp_path: Path) -> None:
    jobs = [Job(n) for n in range(5)]
    results = []
    for result in ordered_map(setup, str(tmp_path), work, jobs, processes=1):
        assert multiprocessing.active_children() == []
        results.append(result)
    assert [r.n for r in results] == list(range(5))
    assert {r.pid for r in results} == {os.getpid()}
    assert pids(tmp_path) == [os.getpid()]
    assert list(ordered_map(setup, None, work, jobs, processes=0)) == [
        Done(n, os.getpid(), results[0].setups + 1) for n in range(5)
    ]


@pytest.mark.parametrize(("processes", "window"), [(2, 3), (1, 4)])
def test_jobs_are_taken_no_more_than_a_window_ahead(processes: int, window: int) -> None:
    taken = 0

    def jobs() -> Iterator[Job]:
        nonlocal taken
        for n in range(20):
            taken += 1
            yield Job(n)

    ahead = []
    for received, _ in enumerate(ordered_map(setup, None, work, jobs(), processes, window), 1):
        ahead.append(taken - received)
        time.sleep(0.01)  # a slow consumer: the workers could run far ahead
    assert max(ahead) <= window
    assert taken == 20


def test_setup_runs_once_per_worker_and_teardown_after_the_last_job(tmp_path: Path) -> None:
    jobs = [Job(n, sleep=0.005) for n in range(30)]
    results = list(ordered_map(setup, str(tmp_path), work, jobs, processes=2, teardown=teardown))
    assert {r.setups for r in results} == {1}
    workers = sorted({r.pid for r in results})
    assert pids(tmp_path) == workers
    assert sorted(int(p.stem) for p in tmp_path.glob("*.teardown")) == workers
    _gone(tmp_path)


@pytest.mark.parametrize(
    ("fault", "kind", "message"),
    [
        ("ValueError", ValueError, "job 4 failed"),
        ("SettingError", SettingError, "job 4 failed"),
        # Stopped takes two arguments; its __reduce__ gives both, so it crosses unchanged.
        ("Stopped", Stopped, "job 4 failed"),
        ("Unpicklable", SynthesisError, "Unpicklable in a worker process: job 4 failed"),
    ],
)
def test_a_job_error_is_raised_at_its_turn_then_the_workers_are_gone(
    tmp_path: Path, fault: str, kind: type[BaseException], message: str
) -> None:
    # Job 0 is slow: the other worker's error from job 4 arrives first, yet is raised after it.
    jobs = [Job(n, sleep=0.3 if n == 0 else 0.0, fault=fault if n == 4 else None) for n in range(8)]
    received = []
    with pytest.raises(kind) as raised:
        for result in ordered_map(setup, str(tmp_path), work, jobs, processes=2):
            received.append(result.n)
    assert type(raised.value) is kind
    assert str(raised.value) == message
    assert ", in work\n" in raised.value.__notes__[-1]  # where in the worker it was raised
    assert received == [0, 1, 2, 3]
    _gone(tmp_path)


def test_a_result_that_cannot_be_pickled_raises_the_pickling_error() -> None:
    with pytest.raises(TypeError) as raised:
        next(ordered_map(setup, None, lock, [Job(0)], processes=2))
    assert str(raised.value) == "cannot pickle '_thread.lock' object"
    assert raised.value.__notes__[0].startswith("sending the result of job 0 from worker process")


def test_no_jobs_start_no_process() -> None:
    assert list(ordered_map(setup_fails, None, work, [], processes=2)) == []
    assert multiprocessing.active_children() == []


def test_a_setup_error_is_raised_promptly(tmp_path: Path) -> None:
    start = time.monotonic()
    jobs = (Job(n, sleep=1.0) for n in itertools.count())
    with pytest.raises(MissingToolError) as raised:
        next(ordered_map(setup_fails, str(tmp_path), work, jobs, processes=2))
    assert str(raised.value) == f"the library for {tmp_path} is missing"
    assert time.monotonic() - start < 3.0
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize(
    ("fault", "how"),
    [
        ("SIGKILL", "killed by SIGKILL"),
        ("SIGTERM", "killed by SIGTERM"),
        ("exit", "exit code 3"),
        # The worker's pipe stays open in its child: only the exit itself tells.
        ("fork-exit", "exit code 3"),
    ],
)
def test_a_worker_that_dies_is_a_synthesis_error(tmp_path: Path, fault: str, how: str) -> None:
    jobs = [Job(n, sleep=0.01, fault=fault if n == 2 else None) for n in range(6)]
    start = time.monotonic()
    with pytest.raises(SynthesisError, match=rf"^a worker process \(pid \d+\) died \({how}\)"):
        list(ordered_map(setup, str(tmp_path), work, jobs, processes=2))
    assert time.monotonic() - start < 3.0
    _gone(tmp_path)


def test_closing_early_stops_the_workers(tmp_path: Path) -> None:
    jobs = (Job(n, sleep=0.3) for n in itertools.count())
    results = ordered_map(setup, str(tmp_path), work, jobs, processes=2)
    assert [next(results).n, next(results).n] == [0, 1]
    results.close()
    _gone(tmp_path)


def test_breaking_out_of_the_loop_stops_the_workers(tmp_path: Path) -> None:
    def first_two() -> list[int]:
        taken = []
        jobs = (Job(n, sleep=0.3) for n in itertools.count())
        for result in ordered_map(setup, str(tmp_path), work, jobs, processes=2):
            taken.append(result.n)
            if len(taken) == 2:
                break
        return taken

    assert first_two() == [0, 1]
    _gone(tmp_path)


def test_stopping_early_runs_every_teardown_even_with_large_results(tmp_path: Path) -> None:
    # A worker blocked sending a result nobody reads must still release its engine
    # (pyttsx3's child and scratch folder), not be killed in the middle.
    pool = ordered_map(setup, str(tmp_path), big, range(12), 2, window=8, teardown=teardown)
    first = next(pool)
    time.sleep(0.5)  # both workers are now blocked sending results nobody reads
    pool.close()
    assert len(first) == 400_000
    workers = sorted(pids(tmp_path))
    assert len(workers) == 2
    assert sorted(int(p.stem) for p in tmp_path.glob("*.teardown")) == workers
    _gone(tmp_path)


def test_start_now_starts_the_workers_before_the_first_result_is_asked_for(
    tmp_path: Path,
) -> None:
    (tmp_path / "lazy").mkdir()
    (tmp_path / "eager").mkdir()
    lazy = ordered_map(setup, str(tmp_path / "lazy"), work, map(Job, range(6)), 2)
    eager = ordered_map(
        setup, str(tmp_path / "eager"), work, map(Job, range(6)), 2, start_now=True
    )
    deadline = time.monotonic() + HANG_LIMIT
    while len(pids(tmp_path / "eager")) < 2:  # set up though nobody has asked for a result
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    assert pids(tmp_path / "lazy") == []  # without start_now, nothing runs until asked
    assert [r.n for r in eager] == list(range(6))
    lazy.close()
    _gone(tmp_path / "eager")


def test_workers_write_nothing_on_stdout() -> None:
    # Also end to end: the interrupted script's workers print, and its stdout holds one line.
    assert list(ordered_map(setup, None, stdout_file, [Job(0), Job(1)], processes=2)) == [
        os.devnull,
        os.devnull,
    ]


def test_workers_are_out_of_reach_of_the_terminals_ctrl_c() -> None:
    # A Ctrl-C goes to the terminal's foreground process group; the parent stops the workers.
    reached = list(ordered_map(setup, None, reach, [Job(0), Job(1)], processes=2))
    assert reached == [(reached[0][0], True), (reached[1][0], True)]
    assert os.getpgrp() not in {group for group, _ in reached}


def _pool_in_subprocess(folder: Path, output: int = subprocess.PIPE) -> subprocess.Popen[str]:
    """tests/_worker_jobs.py in its own session, once both of its workers have set up."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests._worker_jobs", str(folder)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,
    )
    while len(pids(folder)) < 2 and process.poll() is None:
        time.sleep(0.02)
    return process


def test_ctrl_c_reaches_the_parent_only_and_stops_the_workers(tmp_path: Path) -> None:
    process = _pool_in_subprocess(tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole group
    out, err = process.communicate(timeout=10)
    workers = pids(tmp_path)
    assert (process.returncode, err) == (130, "")
    assert out == f"stopped; workers {workers}; alive []; []\n"
    assert list(tmp_path.glob("*.interrupted")) == []
    assert not any(present(pid) for pid in workers)


def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    # Not reading its output: the workers share its stderr, and would keep the pipe open.
    process = _pool_in_subprocess(tmp_path, subprocess.DEVNULL)
    workers = pids(tmp_path)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 3.0
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = [pid for pid in workers if alive(pid)]
    for pid in left:  # not to leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == []
