"""Time subtitle cues against the spoken audio: display windows from sample counts; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from narrator.segment import CueLimits, break_lines
from narrator.timeline import Cue


@dataclass(frozen=True)
class SpokenSpan:
    """Where a cue's words are heard: first sample of speech and first sample after it."""

    text: str
    start: int
    speech_end: int


def cue_lines(text: str, limits: CueLimits) -> tuple[str, ...]:
    """The cue's text laid out in its lines (one or two); the text itself if it cannot be."""
    return break_lines(text, limits) or (text,)


def display_windows(
    spans: Sequence[SpokenSpan], total: int, rate: int, limits: CueLimits = CueLimits()
) -> tuple[Cue, ...]:
    """Give each spoken span its on-screen window; return cues in order, numbered from 1.

    A cue appears when its speech starts and stays at least as long as its words
    are heard. Where the pause after it leaves room, it stays longer so that it
    is on screen for at least ``min_seconds`` and is read at no more than
    ``max_cps``; it never runs into the next cue, past the end of the audio, or
    beyond ``max_seconds``. Spans must be sorted and not overlap.
    """
    cues: list[Cue] = []
    longest = round(limits.max_seconds * rate)
    for k, span in enumerate(spans):
        limit = spans[k + 1].start if k + 1 < len(spans) else total
        reading = max(limits.min_seconds, len(span.text) / limits.max_cps)
        wanted = max(span.speech_end, span.start + round(reading * rate))
        end = min(wanted, span.start + longest, limit)
        cues.append(
            Cue(
                k + 1, span.text, span.start, max(end, span.start + 1), cue_lines(span.text, limits)
            )
        )
    return tuple(cues)
