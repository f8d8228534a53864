"""Preview: list a script's segments with their times, and hear a few of them at once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.check import speaking_seconds
from narrator.engines import resolve_voice
from narrator.errors import SettingError
from narrator.render import RenderSettings, plan, silences
from narrator.script import ScriptSource, as_source
from narrator.segment import PlannedSentence


@dataclass(frozen=True)
class Segment:
    """One sentence as the unit of preview: its number, text and times in seconds."""

    number: int
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class SegmentTable:
    """A script's segments; ``measured`` when the times come from an up-to-date render."""

    segments: tuple[Segment, ...]
    measured: bool
    manifest: Path


@dataclass(frozen=True)
class Planned:
    """A script's sentences in order, each with the silence before it."""

    settings: RenderSettings
    #: (sentence, ms of silence before it) for every sentence.
    sentences: tuple[tuple[PlannedSentence, int], ...]


def plan_segments(script_path: Path | ScriptSource, settings: RenderSettings) -> Planned:
    """Read, clean and split the script once; raises ScriptError like render."""
    source = as_source(script_path)
    paragraphs = plan(source.read(settings.encoding, settings.cleaning))
    gaps, _ = silences(paragraphs, settings.sentence_pause_ms, settings.paragraph_pause_ms)
    sentences = tuple(
        (sentence, gap)
        for paragraph, before in zip(paragraphs, gaps, strict=True)
        for sentence, gap in zip(paragraph.sentences, before, strict=True)
    )
    return Planned(settings, sentences)


def segment_table(planned: Planned, manifest: Path) -> SegmentTable:
    """Segments timed by ``manifest`` if it is a render of this text with these settings.

    Otherwise the times are estimated from the text and the pauses.
    """
    settings = planned.settings
    measured = _measured(manifest, [s.text for s, _ in planned.sentences], settings)
    if measured is not None:
        segments = tuple(
            Segment(n, s.text, start, end)
            for n, ((s, _), (start, end)) in enumerate(
                zip(planned.sentences, measured, strict=True), 1
            )
        )
        return SegmentTable(segments, True, manifest)
    estimated, clock = [], 0.0
    for number, (sentence, gap) in enumerate(planned.sentences, 1):
        start = clock + gap / 1000
        clock = start + speaking_seconds(sentence.text, settings)
        estimated.append(Segment(number, sentence.text, start, clock))
    return SegmentTable(tuple(estimated), False, manifest)


def _measured(
    manifest: Path, texts: list[str], settings: RenderSettings
) -> list[tuple[float, float]] | None:
    """Sentence times from a manifest of the same sentences and timing settings; else None."""
    try:
        data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
        engine = data["engine"]
        same = (
            engine["name"] == settings.voice.engine
            and engine["rate_wpm"] == settings.voice.rate
            and engine["sentence_pause_ms"] == settings.sentence_pause_ms
            and engine["paragraph_pause_ms"] == settings.paragraph_pause_ms
            and engine["voice"] == resolve_voice(settings.voice)
        )
        sentences = [s for p in data["paragraphs"] for s in p["sentences"]]
        if not same or [s["text"] for s in sentences] != texts:
            return None
        return [(float(s["start"]), float(s["end"])) for s in sentences]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def parse_selection(text: str, count: int, source: str) -> range:
    """Segment numbers from '3' or '2-4' (1-based, inclusive); SettingError when out of range."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if match is None:
        raise SettingError(f"--segment {text!r}: give a number like 3 or a range like 2-4")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first < 1 or last > count or first > last:
        raise SettingError(
            f"--segment {text} is out of range: {source} has segments 1 to {count} "
            f"(see 'narrator preview {source}')"
        )
    return range(first, last + 1)


def speak_segments(planned: Planned, selection: range, target: Path) -> float:
    """Synthesize the selected segments, with the render's pauses between them, into ``target``.

    Uses the same engine, voice, rate and lexicon as a render. Writes atomically;
    returns the clip's duration in seconds. Raises like render (a missing engine,
    a synthesis failure, an unwritable folder).
    """
    from narrator.engines import open_engine
    from narrator.files import Staging
    from narrator.stitch import Programme, conform
    from narrator.synth import SentenceSpeaker

    settings = planned.settings
    chosen = [planned.sentences[number - 1] for number in selection]
    with Staging(target.parent) as staging:
        engine = open_engine(settings.voice)
        try:
            speaker = SentenceSpeaker(
                engine, settings.voice.rate, settings.limits, conform, settings.lexicon
            )
            with Programme(staging.path(target.name), engine.sample_rate) as programme:
                for k, (sentence, gap) in enumerate(chosen):
                    if k:
                        programme.pause(gap)
                    programme.add(speaker.speak(sentence.text).pcm)
                duration = programme.position / programme.rate
            staging.commit()
        finally:
            engine.close()
    return duration


# Players tried in order, with arguments that play a file once and exit.
PLAYERS: tuple[tuple[str, ...], ...] = (
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "error"),
    ("paplay",),
    ("aplay", "-q"),
)
# ffplay exits 0 even when it could not open the audio device; it says so on stderr.
_PLAYER_FAILURE = re.compile(r"audio open failed|could not open|failed to open", re.IGNORECASE)


def sound_device_present() -> bool:
    """Whether this machine has somewhere to play sound (a sound server or card)."""
    if not sys.platform.startswith("linux"):
        return True
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")
    if (runtime / "pulse" / "native").exists() or any(runtime.glob("pipewire-*")):
        return True
    return any(Path("/dev/snd").glob("pcmC*D*p"))


def find_player() -> tuple[str, ...] | None:
    """The command to play a WAV file, or None when nothing can play one here.

    ``NARRATOR_PLAYER`` names a player command explicitly (it is used as given);
    otherwise the first of ffplay, paplay and aplay found, if a sound device exists.
    """
    explicit = os.environ.get("NARRATOR_PLAYER")
    if explicit:
        return tuple(explicit.split())
    if not sound_device_present():
        return None
    for command in PLAYERS:
        found = shutil.which(command[0])
        if found:
            return (found, *command[1:])
    return None


def play(path: Path) -> bool:
    """Play a WAV file; False if no player or device could play it."""
    player = find_player()
    if player is None:
        return False
    try:
        result = subprocess.run(
            [*player, str(path)],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        return False
    return result.returncode == 0 and not _PLAYER_FAILURE.search(result.stderr)
