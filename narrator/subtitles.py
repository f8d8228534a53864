"""Write timed cues as SubRip (SRT) subtitles with the srt library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from narrator.cues import TimedCue, milliseconds
from narrator.segment import CueLimits, break_lines


def cue_lines(text: str, limits: CueLimits) -> str:
    """The cue's text laid out in its lines (one or two), joined by a newline."""
    lines = break_lines(text, limits)
    return "\n".join(lines) if lines else text


def compose_srt(cues: Sequence[TimedCue], rate: int, limits: CueLimits = CueLimits()) -> str:
    """Return the SRT document for cues timed in samples at ``rate``."""
    import srt

    subtitles = [
        srt.Subtitle(
            index=number,
            start=timedelta(milliseconds=milliseconds(cue.start, rate)),
            end=timedelta(milliseconds=milliseconds(cue.end, rate)),
            content=cue_lines(cue.text, limits),
        )
        for number, cue in enumerate(cues, start=1)
    ]
    text: str = srt.compose(subtitles, reindex=False)
    return text
