"""Child process that owns pyttsx3, so a hung or confused driver can be killed and restarted.

Protocol: one JSON request per line on stdin, one JSON reply per line on the
original stdout. pyttsx3 prints chatter on stdout, so the protocol gets its own
copy of the descriptor and fd 1 is pointed at /dev/null before pyttsx3 loads.

Why utterances got lost (pyttsx3 2.99, espeak driver): setting a property queues
a command in eSpeak, which then reports itself as playing; runAndWait ends by
calling the driver's stop(), which cancels whatever eSpeak is playing, so the
property change and the new utterance were cancelled together: an empty WAV and
a forgotten rate. Here properties are set only when they differ, eSpeak is
waited on until idle before each utterance, and an utterance reported as not
completed is answered as a failure.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

# How long to wait for eSpeak to go idle before an utterance.
IDLE_TIMEOUT = 5.0
# How often the driver loop looks whether eSpeak has finished (see _prompt_loop).
LOOP_POLL = 0.0005


def _prompt_loop() -> None:
    """Make pyttsx3's eSpeak driver notice the end of an utterance within half a millisecond.

    Its loop (``EspeakDriver.startLoop``, pyttsx3 2.99) sleeps 10 ms between looks,
    also after the last: every utterance takes at least 10 ms, most of it asleep,
    while eSpeak says a cue-sized piece in about 3. A 60-minute script is some
    1,100 pieces: 12 s of waiting, three times eSpeak's own work. The loop here is
    the same but for the pause. A driver without the attributes it relies on (another
    pyttsx3) keeps its own loop.
    """
    from pyttsx3.drivers import espeak as driver

    cls: Any = driver.EspeakDriver
    if not all(
        hasattr(cls, name) for name in ("startLoop", "iterate", "_start_synthesis")
    ):
        return

    def start_loop(self: Any) -> None:
        first = True
        self._looping = True
        while self._looping:
            if first:
                self._proxy.setBusy(False)
                first = False
                if self._text_to_say:
                    self._start_synthesis(self._text_to_say)
            self.iterate()
            if self._looping:
                time.sleep(LOOP_POLL)

    cls.startLoop = start_loop


class _Speaker:
    def __init__(self) -> None:
        import pyttsx3

        self.driver = "espeak" if sys.platform.startswith("linux") else None
        if self.driver == "espeak":
            _prompt_loop()
        self.engine: Any = pyttsx3.init(self.driver)
        self.finished = threading.Event()
        self.completed = False
        self.engine.connect("finished-utterance", self._on_finished)
        self.busy = _espeak_busy() if self.driver == "espeak" else (lambda: False)
        self.voice: str | None = None
        self.rate: int | None = None
        # The proxy queues commands until its first loop has run: run one now, so
        # that later property changes take effect at once.
        with tempfile.TemporaryDirectory() as folder:
            self.say("ready", os.path.join(folder, "warm-up.wav"), 10.0)  # noqa: PTH118

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        self.completed = bool(completed)
        self.finished.set()

    def wait_idle(self) -> None:
        deadline = time.monotonic() + IDLE_TIMEOUT
        while self.busy() and time.monotonic() < deadline:
            time.sleep(0.001)

    def configure(self, rate: int, voice: str | None) -> None:
        # The rate is remembered here, never read back: pyttsx3's getProperty("rate")
        # calls espeak_GetParameter without its 'current' argument and so reports
        # eSpeak's default (175) while the driver speaks at the 200 it set itself.
        # Comparing against that made --rate 175 come out at 200 wpm.
        if voice and voice != self.voice:
            self.engine.setProperty("voice", voice)
            self.voice = voice
            self.rate = None  # a new voice may bring its own speed
        if rate != self.rate:
            self.engine.setProperty("rate", rate)
            self.rate = rate
        self.wait_idle()

    def say(self, text: str, path: str, timeout: float) -> str:
        """Speak text into path; return "" on success or what went wrong."""
        self.wait_idle()
        self.finished.clear()
        self.completed = False
        self.engine.save_to_file(text, path)
        self.engine.runAndWait()
        # runAndWait can return before the driver has written the file;
        # finished-utterance is sent only after the write.
        if not self.finished.wait(timeout):
            return "no finished-utterance event"
        if not self.completed:
            return "the driver cancelled the utterance"
        return ""


def _espeak_busy() -> Callable[[], bool]:
    from pyttsx3.drivers import _espeak

    return lambda: bool(_espeak.IsPlaying())


def _serve() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    # Python-level prints (pyttsx3's "Audio saved to ...") go nowhere as well.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115, PTH123

    speaker = _Speaker()

    def reply(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "voices":
                voices = [
                    {"id": v.id, "name": v.name or v.id, "language": (v.languages or [""])[0]}
                    for v in speaker.engine.getProperty("voices")
                ]
                reply({"ok": True, "voices": voices})
            elif request["op"] == "say":
                speaker.configure(request["rate"], request.get("voice"))
                error = speaker.say(request["text"], request["path"], request["timeout"])
                reply({"ok": not error, "error": error})
            else:
                reply({"ok": False, "error": f"unknown op {request['op']}"})
        except Exception as exc:  # the parent decides whether to retry
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    _serve()
