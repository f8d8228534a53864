"""The default engine: pyttsx3 (eSpeak NG on Linux, SAPI5 on Windows, NSSpeech on macOS).

pyttsx3 2.99's Linux driver is unreliable: runAndWait() can return before the
WAV is written, some calls write an empty file or ignore the rate (the cause,
and how the child avoids it, is in _pyttsx3_worker), it prints to stdout, and a
fork after init hangs. So pyttsx3 runs in a child process (started fresh, never
forked from an initialised one), every file gets a new name, each clip is
validated, and a bad or late clip is retried after restarting the child.

The child runs in its own process group: a Ctrl-C or SIGTERM sent to the
terminal's group reaches only the parent, which stops the child itself. Its
scratch folder, ``<tmp>/narrator-pyttsx3-<tag>``, is removed on close; one left
by a run killed with ``kill -9`` is removed when the engine next starts (see
narrator.files.RunLock).
"""

from __future__ import annotations

import audioop
import contextlib
import importlib.util
import json
import os
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import IO, Any

from narrator.engines import ENGINES, Clip, Voice, VoiceSettings, check_voice
from narrator.errors import DiskFullError, MissingToolError, SynthesisError
from narrator.files import RunLock, sweep_dead_runs

ATTEMPTS = 4
START_TIMEOUT = 30.0
# Quieter than this peak is silence: pyttsx3's failure mode is an all-zero file.
SILENT_PEAK = 64
# A clip whose pace (samples per character) is this far from the run's median is
# suspected of having ignored the rate; at least this many characters are needed
# to judge, since short texts vary too much.
PACE_TOLERANCE = 1.5
PACE_MIN_CHARS = 60
# A clip's WAV is about 22050 Hz x 2 bytes x 0.1 s per character at slow rates;
# twice that, and a margin for the log, is what the scratch folder must have free.
BYTES_PER_CHAR = 2 * 22050 * 2 // 10
SCRATCH_MARGIN = 256 * 1024
SCRATCH_PREFIX = "narrator-pyttsx3-"


def _check_installed() -> None:
    if importlib.util.find_spec("pyttsx3") is None:
        raise MissingToolError(
            "pyttsx3 is not installed: run 'pip install pyttsx3' (or scripts/setup.sh)"
        )
    if sys.platform.startswith("linux"):
        import ctypes

        from narrator.engines.espeak import INSTALL_HINT, LIBRARY

        try:
            ctypes.CDLL(LIBRARY)
        except OSError:
            raise MissingToolError(
                f"pyttsx3 needs the eSpeak NG library {LIBRARY}: {INSTALL_HINT}"
            ) from None


def fingerprint(settings: VoiceSettings) -> str:
    """pyttsx3's version, its platform driver's library, voice and rate; opens no engine."""
    from importlib.metadata import version

    _check_installed()
    driver = sys.platform
    if sys.platform.startswith("linux"):
        from narrator.engines.espeak import library

        driver = f"espeak-ng {library().version}"
    return f"pyttsx3 {version('pyttsx3')}|{driver}|{settings.voice or 'default'}|{settings.rate}"


class _Worker:
    """One pyttsx3 child process and its line protocol."""

    def __init__(self, log: IO[bytes]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "narrator.engines._pyttsx3_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            process_group=0,
        )
        self.buffer = b""
        self.busy = False

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Send a request; return the reply, or None if none came in time."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            return None
        self.busy = True
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        self.busy = False
        reply: dict[str, Any] = json.loads(line)
        return reply

    def stop(self) -> None:
        """End the child: at end of input when idle; at once when interrupted mid-request."""
        with contextlib.suppress(OSError):
            if self.process.stdin:
                self.process.stdin.close()
        if self.busy:
            self.process.kill()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def read_wav(path: Path) -> Clip:
    """Read a WAV file as a mono 16-bit clip; raise ValueError if it is not usable."""
    with wave.open(str(path), "rb") as wav:
        channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    if width != 2:
        pcm = audioop.lin2lin(pcm, width, 2)
    if channels == 2:
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    elif channels != 1:
        raise ValueError(f"{channels} channels")
    return Clip(pcm, rate)


class Engine:
    """The ``pyttsx3`` engine: no word timing, so long sentences are spoken cue by cue."""

    name = "pyttsx3"
    word_timing = False
    phonemes = ENGINES["pyttsx3"].phonemes

    def __init__(self, settings: VoiceSettings) -> None:
        _check_installed()
        self._settings = settings
        self.rate = settings.rate
        self.sample_rate = 22050
        self._worker: _Worker | None = None
        self._scratch, self._lock = _scratch_folder()
        try:
            self._log = (self._scratch / "worker.log").open("wb")
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._lock.release()
            raise
        self._count = 0
        #: Why attempts had to be repeated, and how often, over the engine's life.
        self.retries: dict[str, int] = {}
        self._paces: list[float] = []
        self.voice: str | None = None
        try:
            self._voices = self._load_voices()
            if settings.voice is not None:
                self.voice = check_voice(settings, self._voices)
        except BaseException:
            self.close()  # the child, its pipes and the temporary folder
            raise

    def _ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        if self._worker is None:
            self._worker = _Worker(self._log)
            timeout += START_TIMEOUT
        reply = self._worker.ask(request, timeout)
        if reply is None:
            self._restart()
        return reply

    def _restart(self) -> None:
        if self._worker is not None:
            self._worker.process.kill()
            self._worker.stop()
            self._worker = None

    def _load_voices(self) -> list[Voice]:
        reply = self._ask({"op": "voices"}, 10.0)
        if not reply or not reply.get("ok"):
            raise SynthesisError(f"pyttsx3 could not start: {self._last_log_line()}")
        return [Voice(v["id"], v["name"], v["language"]) for v in reply["voices"]]

    def _last_log_line(self) -> str:
        self._log.flush()
        lines = Path(self._log.name).read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"

    def fingerprint(self) -> str:
        """pyttsx3's version, platform driver, voice and rate."""
        return fingerprint(self._settings)

    def voices(self) -> list[Voice]:
        """The voices pyttsx3's platform driver reports."""
        return list(self._voices)

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` to a fresh WAV file in the child; validate it, retry if bad."""
        problem = "no attempt"
        suspect: float | None = None
        for attempt in range(ATTEMPTS):
            if attempt:
                self.retries[problem] = self.retries.get(problem, 0) + 1
            self._count += 1
            self._require_space(text)
            path = self._scratch / f"clip{self._count}.wav"
            timeout = 10.0 + len(text) / 5
            reply = self._ask(
                {
                    "op": "say",
                    "text": text,
                    "path": str(path),
                    "rate": self.rate,
                    "voice": self.voice,
                    "timeout": timeout,
                },
                timeout + 5.0,
            )
            if reply is None:
                problem = "the driver did not answer in time"
                continue
            if not reply["ok"]:
                problem = reply["error"]
                self._restart()
                continue
            try:
                clip = read_wav(path)
            except (OSError, EOFError, ValueError, wave.Error) as exc:
                problem = f"unreadable WAV ({exc})"
                continue
            finally:
                path.unlink(missing_ok=True)
            if clip.samples == 0 or audioop.max(clip.pcm, 2) < SILENT_PEAK:
                problem = "empty or silent audio"
                self._restart()
                continue
            pace = clip.samples / len(text)
            if len(text) >= PACE_MIN_CHARS and len(self._paces) >= 3:
                usual = statistics.median(self._paces)
                odd = not 1 / PACE_TOLERANCE <= pace / usual <= PACE_TOLERANCE
                # The same odd pace twice in a row is the text itself, not a glitch.
                if odd and (suspect is None or abs(pace / suspect - 1) > 0.05):
                    suspect = pace
                    problem = "speaking rate ignored"
                    continue
            if len(text) >= PACE_MIN_CHARS:
                self._paces.append(pace)
                del self._paces[:-50]
            return clip
        raise SynthesisError(
            f"pyttsx3 failed {ATTEMPTS} times ({problem}) on: {text[:60]!r}; try --engine espeak"
        )

    def _require_space(self, text: str) -> None:
        """Raise DiskFullError when the scratch folder cannot hold this clip.

        The driver writes the WAV inside a C callback, where a failed write is
        printed and dropped: without this check a full temp folder looks like a
        driver that never answers, and every attempt waits out its timeout.
        """
        needed = SCRATCH_MARGIN + len(text) * BYTES_PER_CHAR
        try:
            free = shutil.disk_usage(self._scratch).free
        except OSError:
            return
        if free < needed:
            raise DiskFullError(
                f"{self._scratch.parent}: no space left on device for pyttsx3's scratch "
                "files; free some space there or point TMPDIR at another folder"
            )

    def close(self) -> None:
        """Stop the child process and remove temporary files."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        self._log.close()
        shutil.rmtree(self._scratch, ignore_errors=True)
        self._lock.release()


def _scratch_folder() -> tuple[Path, RunLock]:
    """A new scratch folder in the system temp folder, locked for this run.

    Removes the scratch folders of dead runs first.
    """
    temp = Path(tempfile.gettempdir())
    sweep_dead_runs(
        temp,
        SCRATCH_PREFIX,
        lambda tag: shutil.rmtree(temp / f"{SCRATCH_PREFIX}{tag}", ignore_errors=True),
    )
    lock = RunLock(temp, SCRATCH_PREFIX)
    folder = temp / f"{SCRATCH_PREFIX}{lock.tag}"
    try:
        folder.mkdir(mode=0o700)
    except BaseException:
        lock.release()
        raise
    return folder, lock
