"""Preview: list a script's segments with their times, and hear a few of them at once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.engines import resolve_voice
from narrator.errors import NarratorError, SettingError
from narrator.plan import Plan, PlanParagraph
from narrator.settings import RenderSettings
from narrator.timeline import Provenance, Timeline

if TYPE_CHECKING:
    from narrator.cache import ClipCache


@dataclass(frozen=True)
class SegmentTable:
    """A script's segments on a Timeline; ``measured`` when it comes from an up-to-date render."""

    timeline: Timeline
    measured: bool
    manifest: Path


def segment_table(plan: Plan, manifest: Path) -> SegmentTable:
    """Segments timed by ``manifest`` if it is a render of this text with these settings.

    Otherwise the times are estimated from the text and the pauses.
    """
    from narrator.check import estimated_timeline

    measured = _measured(manifest, plan)
    if measured is not None:
        return SegmentTable(measured, True, manifest)
    return SegmentTable(estimated_timeline(plan), False, manifest)


def _measured(manifest: Path, plan: Plan) -> Timeline | None:
    """The manifest's Timeline if it speaks the plan's sentences with its settings; else None."""
    from narrator.manifest import read_timeline

    settings = plan.settings
    try:
        timeline = read_timeline(json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    made = timeline.provenance
    same = (
        made.engine == settings.voice.engine
        and made.rate_wpm == settings.voice.rate
        and made.sentence_pause_ms == settings.sentence_pause_ms
        and made.paragraph_pause_ms == settings.paragraph_pause_ms
        and [s.text for s in timeline.sentences] == [s.text for s in plan.sentences]
    )
    # The fingerprint names the voice without opening the engine; only a voice spelled
    # otherwise than in the render ('en' for 'gmw/en-US') needs the engine's list.
    return timeline if same and _same_voice(made, settings) else None


def _same_voice(made: Provenance, settings: RenderSettings) -> bool:
    from narrator.engines import fingerprint

    try:
        return made.fingerprint == fingerprint(settings.voice) or (
            made.voice == resolve_voice(settings.voice)
        )
    except NarratorError:
        return False


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


def speak_segments(
    plan: Plan, selection: range, target: Path, cache: ClipCache | None = None
) -> float:
    """Synthesize the selected segments, with the render's pauses between them, into ``target``.

    Uses the same engine, voice, rate and lexicon as a render, and the same clip
    cache: a segment already rendered is not synthesized again. Writes
    atomically; returns the clip's duration in seconds. Raises like render (a
    missing engine, a synthesis failure, an unwritable folder).
    """
    from narrator.engines import fingerprint
    from narrator.files import Staging
    from narrator.stitch import Programme
    from narrator.synthesis import Synthesis

    settings = plan.settings
    chosen = replace(
        plan, paragraphs=(PlanParagraph(0, tuple(plan.sentences[n - 1] for n in selection)),)
    )
    with (
        Staging(target.parent) as staging,
        Synthesis([(chosen, fingerprint(settings.voice))], cache, jobs=1) as synthesis,
    ):
        programme: Programme | None = None
        try:
            for k, heard in enumerate(synthesis.hear(0)):
                if programme is None:
                    programme = Programme(staging.path(target.name), heard.sample_rate)
                if k:
                    programme.pause(heard.sentence.silence_ms)
                programme.add(heard.spoken.pcm)
        finally:
            if programme is not None:
                programme.close()
        assert programme is not None, "a selection has a segment"
        duration = programme.position / programme.rate
        staging.commit()
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
