"""Time subtitle cues against the spoken audio: display windows from sample counts; pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from narrator.segment import CueLimits, break_lines
from narrator.timeline import Cue, Word

#: Frame rates a video editor uses, as --fps spells them, and exactly.
FRAME_RATES: dict[str, Fraction] = {
    "23.976": Fraction(24000, 1001),
    "24": Fraction(24),
    "25": Fraction(25),
    "29.97": Fraction(30000, 1001),
    "30": Fraction(30),
    "50": Fraction(50),
    "60": Fraction(60),
}
# The least gap between two cues: 2 frames at a frame rate (Netflix's rule), else this.
GAP_MS = 80
GAP_FRAMES = 2


@dataclass(frozen=True)
class SpokenSpan:
    """Where a cue's words are heard: first sample of speech and first sample after it."""

    text: str
    start: int
    speech_end: int
    #: Where each of its words is heard (see ``Cue.words``); empty without word timing.
    words: tuple[Word, ...] = ()

    def shifted(self, offset: int) -> SpokenSpan:
        """The same span ``offset`` samples later."""
        return SpokenSpan(
            self.text,
            self.start + offset,
            self.speech_end + offset,
            tuple(w.shifted(offset) for w in self.words),
        )


@dataclass(frozen=True)
class Frames:
    """A video's frame grid: cues start and end on frame boundaries, a gap of frames apart."""

    fps: Fraction
    #: The least gap between two cues, in frames.
    gap: int = GAP_FRAMES

    def boundary(self, frame: int, rate: int) -> int:
        """The first sample of ``frame``."""
        return round(frame * rate / self.fps)

    def nearest(self, sample: int, rate: int) -> int:
        """The frame whose first sample is nearest ``sample``."""
        return round(sample * self.fps / rate)


def cue_lines(text: str, limits: CueLimits) -> tuple[str, ...]:
    """The cue's text laid out in its lines (one or two); the text itself if it cannot be."""
    return break_lines(text, limits) or (text,)


def display_windows(
    spans: Sequence[SpokenSpan],
    total: int,
    rate: int,
    limits: CueLimits = CueLimits(),
    frames: Frames | None = None,
) -> tuple[Cue, ...]:
    """Give each spoken span its on-screen window; return cues in order, numbered from 1.

    A cue appears when its speech starts and stays at least as long as its words
    are heard. Where the pause after it leaves room, it stays longer so that it
    is on screen for at least ``min_seconds`` and is read at no more than
    ``max_cps``; it never runs past the end of the audio or beyond
    ``max_seconds``, and it leaves the next cue a gap of GAP_MS, or of
    ``frames.gap`` frames. With ``frames``, every start and end is a frame
    boundary: a start is the boundary nearest its onset (within half a frame),
    and only ends move to make the gap, never starts. A cue whose speech runs
    into the next one's gap is cut short there: the gap wins. Spans must be
    sorted and not overlap.
    """
    starts = [s.start if frames is None else _on_frame(s.start, rate, frames, total) for s in spans]
    cues: list[Cue] = []
    longest = round(limits.max_seconds * rate)
    for k, span in enumerate(spans):
        start = starts[k]
        limit = total
        if k + 1 < len(spans):
            limit = min(total, _latest_end(starts[k + 1], rate, frames))
        reading = max(limits.min_seconds, len(span.text) / limits.max_cps)
        wanted = max(span.speech_end, span.start + round(reading * rate))
        end = min(wanted, span.start + longest, limit)
        if frames is not None:
            end = _frame_end(start, end, limit, rate, frames)
        lines = cue_lines(span.text, limits)
        end = max(end, start + 1)
        cues.append(Cue(k + 1, span.text, start, end, lines, fit_words(span.words, start, end)))
    return tuple(cues)


def fit_words(words: Sequence[Word], start: int, end: int) -> tuple[Word, ...]:
    """``words`` moved inside the window from ``start`` to ``end``, strictly increasing.

    A word starting before the window starts with it; one that would not start
    after the word before it (two marks coincide), or not before the window's end
    (the gap to the next cue cut it short), is merged into that word, so the texts
    still join into the cue's. Each word ends where the next starts; the last
    where it ended, at the window's end at the latest.
    """
    if not words:
        return ()
    kept: list[tuple[str, int]] = []
    for word in words:
        at = max(word.start, start)
        if kept and (at <= kept[-1][1] or at >= end):
            kept[-1] = (f"{kept[-1][0]} {word.text}", kept[-1][1])
        else:
            kept.append((word.text, min(at, end - 1)))
    last = max(min(words[-1].end, end), kept[-1][1] + 1)
    ends = [at for _, at in kept[1:]] + [last]
    return tuple(Word(text, at, stop) for (text, at), stop in zip(kept, ends, strict=True))


def _on_frame(sample: int, rate: int, frames: Frames, total: int) -> int:
    """The frame boundary nearest ``sample``, or the one before if that is past the audio."""
    frame = frames.nearest(sample, rate)
    if frames.boundary(frame, rate) > total:
        frame -= 1
    return frames.boundary(frame, rate)


def _latest_end(next_start: int, rate: int, frames: Frames | None) -> int:
    """The last sample a cue may end at, given where the next one starts."""
    if frames is None:
        return next_start - GAP_MS * rate // 1000
    return frames.boundary(frames.nearest(next_start, rate) - frames.gap, rate)


def _frame_end(start: int, end: int, limit: int, rate: int, frames: Frames) -> int:
    """``end`` on a frame boundary: rounded up to whole frames unless that passes ``limit``.

    A cue lasts a frame at least, unless its neighbour is nearer than that (spans
    closer than the gap): it then ends at ``limit``, so it never overlaps the next
    cue or runs past the audio.
    """
    first = frames.nearest(start, rate) + 1
    last = max(first, frames.nearest(end, rate))
    if frames.boundary(last, rate) < end and frames.boundary(last + 1, rate) <= limit:
        last += 1
    while last > first and frames.boundary(last, rate) > limit:
        last -= 1
    return min(frames.boundary(last, rate), max(limit, start + 1))
