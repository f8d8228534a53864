"""Child process that owns pyttsx3, so a hung or confused driver can be killed and restarted.

Protocol: one JSON request per line on stdin, one JSON reply per line on the
original stdout. pyttsx3 prints chatter on stdout, so the protocol gets its own
copy of the descriptor and fd 1 is pointed at /dev/null before pyttsx3 loads.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def _serve() -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    # Python-level prints (pyttsx3's "Audio saved to ...") go nowhere as well.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115, PTH123

    import pyttsx3

    driver = "espeak" if sys.platform.startswith("linux") else None
    engine: Any = pyttsx3.init(driver)
    finished = threading.Event()
    engine.connect("finished-utterance", lambda name=None, completed=True: finished.set())

    def reply(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "voices":
                voices = [
                    {"id": v.id, "name": v.name or v.id, "language": (v.languages or [""])[0]}
                    for v in engine.getProperty("voices")
                ]
                reply({"ok": True, "voices": voices})
            elif request["op"] == "say":
                finished.clear()
                if request.get("voice"):
                    engine.setProperty("voice", request["voice"])
                engine.setProperty("rate", request["rate"])
                engine.save_to_file(request["text"], request["path"])
                engine.runAndWait()
                # runAndWait can return before the driver has written the file;
                # finished-utterance is sent only after the write.
                done = finished.wait(request["timeout"])
                reply({"ok": done, "error": "" if done else "no finished-utterance event"})
            else:
                reply({"ok": False, "error": f"unknown op {request['op']}"})
        except Exception as exc:  # the parent decides whether to retry
            reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    _serve()
