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


def vtt_time(milliseconds_total: int) -> str:
    """A WebVTT timestamp, HH:MM:SS.mmm."""
    hours, rest = divmod(milliseconds_total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def compose_vtt(cues: Sequence[TimedCue], rate: int, limits: CueLimits = CueLimits()) -> str:
    """Return the WebVTT document for the same cues, times and line breaks as the SRT."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        start = vtt_time(milliseconds(cue.start, rate))
        end = vtt_time(milliseconds(cue.end, rate))
        # "-->" may not appear in cue text; '&' and '<' are markup in WebVTT.
        text = cue_lines(cue.text, limits).replace("&", "&amp;").replace("<", "&lt;")
        blocks.append(f"{number}\n{start} --> {end}\n{text.replace('-->', '--&gt;')}")
    return "\n\n".join(blocks) + "\n"
