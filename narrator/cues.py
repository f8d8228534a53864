"""Time subtitle cues against the spoken audio: display windows from sample counts; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from narrator.segment import CueLimits


@dataclass(frozen=True)
class SpokenSpan:
    """Where a cue's words are heard: first sample of speech and first sample after it."""

    text: str
    start: int
    speech_end: int


@dataclass(frozen=True)
class TimedCue:
    """A cue's display window in samples of the programme."""

    text: str
    start: int
    end: int


def display_windows(
    spans: Sequence[SpokenSpan], total: int, rate: int, limits: CueLimits = CueLimits()
) -> tuple[TimedCue, ...]:
    """Give each spoken span its on-screen window; return cues in order.

    A cue appears when its speech starts and stays at least as long as its words
    are heard. Where the pause after it leaves room, it stays longer so that it
    is on screen for at least ``min_seconds`` and is read at no more than
    ``max_cps``; it never runs into the next cue, past the end of the audio, or
    beyond ``max_seconds``. Spans must be sorted and not overlap.
    """
    cues: list[TimedCue] = []
    longest = round(limits.max_seconds * rate)
    for k, span in enumerate(spans):
        limit = spans[k + 1].start if k + 1 < len(spans) else total
        reading = max(limits.min_seconds, len(span.text) / limits.max_cps)
        wanted = max(span.speech_end, span.start + round(reading * rate))
        end = min(wanted, span.start + longest, limit)
        cues.append(TimedCue(span.text, span.start, max(end, span.start + 1)))
    return tuple(cues)


def seconds(samples: int, rate: int) -> float:
    """Samples as seconds to the millisecond, rounded exactly as ``milliseconds``."""
    return milliseconds(samples, rate) / 1000


def milliseconds(samples: int, rate: int) -> int:
    """Samples as whole milliseconds, rounded half up so order is preserved."""
    return (samples * 1000 * 2 + rate) // (2 * rate)
