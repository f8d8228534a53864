"""Cue display windows and SRT composition (narrator.cues, narrator.subtitles)."""

from __future__ import annotations

import itertools
import string
from datetime import timedelta

import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.cues import (
    FRAME_RATES,
    GAP_MS,
    Frames,
    SpokenSpan,
    cue_lines,
    display_windows,
)
from narrator.segment import MAX_LINE, CueLimits, break_lines
from narrator.styles import STYLES
from narrator.subtitles import compose_srt
from narrator.timeline import (
    Cue,
    Provenance,
    Source,
    TimedParagraph,
    TimedSentence,
    Timeline,
    milliseconds,
    seconds,
)

RATE = 22050
LIMITS = CueLimits()
LONGEST = LIMITS.max_seconds * RATE
SHORTEST = LIMITS.min_seconds * RATE

_WORD = st.text(alphabet=string.ascii_letters + "’,.;!?-éü", min_size=1, max_size=14)


def timeline_of(cues: tuple[Cue, ...], samples: int) -> Timeline:
    """A one-sentence Timeline holding ``cues``: what the writers read."""
    paragraphs: tuple[TimedParagraph, ...] = ()
    if cues:
        text = " ".join(c.text for c in cues)
        sentence = TimedSentence(1, text, text, cues[0].start, cues[-1].end, cues)
        paragraphs = (TimedParagraph(1, sentence.start, sentence.end, (sentence,)),)
    made = Provenance("espeak", None, 175, "test", 350, 900)
    return Timeline(RATE, samples, paragraphs, (), made, Source("test.txt", "utf-8"))


@st.composite
def cue_texts(draw: st.DrawFn) -> str:
    """Cue-like text of 1 to 84 characters: words separated by single spaces."""
    words = draw(st.lists(_WORD, min_size=1, max_size=20))
    return " ".join(words)[:84].rstrip()


@st.composite
def programmes(draw: st.DrawFn) -> tuple[list[SpokenSpan], int]:
    """Sorted, non-overlapping spoken spans and the programme length in samples."""
    count = draw(st.integers(min_value=0, max_value=12))
    spans: list[SpokenSpan] = []
    at = draw(st.integers(min_value=0, max_value=2 * RATE))
    for _ in range(count):
        speech = draw(
            st.one_of(
                st.integers(min_value=1, max_value=RATE),
                st.integers(min_value=1, max_value=9 * RATE),
                st.sampled_from([1, round(LONGEST) - 1, round(LONGEST), round(LONGEST) + 1]),
            )
        )
        gap = draw(
            st.one_of(
                st.just(0),
                st.integers(min_value=0, max_value=RATE // 4),
                st.integers(min_value=0, max_value=4 * RATE),
            )
        )
        spans.append(SpokenSpan(draw(cue_texts()), at, at + speech))
        at += speech + gap
    last_end = spans[-1].speech_end if spans else 0
    total = last_end + draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=5 * RATE)))
    return spans, total


@settings(max_examples=200, deadline=None)
@given(programme=programmes())
def test_display_windows_properties(programme: tuple[list[SpokenSpan], int]) -> None:
    spans, total = programme
    cues = display_windows(spans, total, RATE)
    gap = GAP_MS * RATE // 1000

    assert len(cues) == len(spans)
    for k, (span, cue) in enumerate(zip(spans, cues, strict=True)):
        limit = spans[k + 1].start - gap if k + 1 < len(spans) else total
        room = limit - span.start
        duration = cue.end - cue.start
        speech = span.speech_end - span.start

        assert cue.text == span.text
        assert cue.start == span.start, "the start is the onset, never moved"
        assert cue.end > cue.start
        assert cue.end <= max(limit, cue.start + 1), "into the next cue's gap or past the audio"
        assert cue.end <= total
        assert duration <= LONGEST + 0.5, "on screen longer than max_seconds"
        if speech <= LONGEST:
            assert cue.end >= min(span.speech_end, limit), "hidden before its words are heard"
        else:
            assert duration >= min(LONGEST, room) - 0.5
        # Minimum display time and reading speed, as far as the room allows
        # (one sample of slack for rounding seconds to samples).
        assert duration >= min(SHORTEST, room, LONGEST) - 1
        reading = len(span.text) / LIMITS.max_cps * RATE
        assert duration >= min(reading, room, LONGEST) - 1

    for before, after in itertools.pairwise(cues):
        assert before.start < after.start, "not sorted"
        assert before.end <= after.start, "overlapping"
        if after.start - before.start > gap:
            assert after.start - before.end >= gap, "closer than the gap"


@settings(max_examples=150, deadline=None)
@given(
    programme=programmes(),
    fps=st.sampled_from(sorted(FRAME_RATES)),
    style=st.sampled_from(sorted(STYLES)),
    gap=st.integers(min_value=0, max_value=4),
)
def test_display_windows_on_frames(
    programme: tuple[list[SpokenSpan], int], fps: str, style: str, gap: int
) -> None:
    spans, total = programme
    frames = Frames(FRAME_RATES[fps], gap)
    cues = display_windows(spans, total, RATE, STYLES[style].limits, frames)
    frame = RATE / frames.fps

    def on_frame(sample: int) -> bool:
        return frames.boundary(frames.nearest(sample, RATE), RATE) == sample

    for span, cue in zip(spans, cues, strict=True):
        assert cue.end <= max(total, cue.start + 1), "past the end of the audio"
        # Half a frame at most; a whole one when the nearest frame is past the audio's end.
        moved = frame / 2 if span.start + frame / 2 <= total else frame
        assert abs(cue.start - span.start) <= moved + 1, "moved more than half a frame"
        assert cue.end > cue.start
    for before, after in itertools.pairwise(cues):
        # On the grid wherever the next cue leaves a frame and the gap (not when spans
        # crowd closer than that, where the end gives way).
        if after.start - before.start > (gap + 1) * frame + 1:
            assert on_frame(before.start) and on_frame(before.end), "off the frame grid"
    for before, after in itertools.pairwise(cues):
        if after.start - before.start >= (gap + 1) * frame:
            assert after.start - before.end >= gap * frame - 1, "closer than the gap"
        assert before.end <= max(after.start, before.start + 1), "overlapping"


def test_a_cue_on_frames_ends_on_the_frame_its_speech_ends_in() -> None:
    frames = Frames(FRAME_RATES["25"])
    # Speech from 1.00 s to 2.01 s, the next cue at 5 s: the end is 2.04 s, a whole frame.
    spans = [SpokenSpan("x" * 20, RATE, round(2.01 * RATE)), SpokenSpan("y", 5 * RATE, 6 * RATE)]
    first, _ = display_windows(spans, 7 * RATE, RATE, LIMITS, frames)
    assert (first.start, first.end) == (RATE, round(2.04 * RATE))


def test_chained_cues_get_two_frames_between_them() -> None:
    frames = Frames(FRAME_RATES["25"])
    spans = [SpokenSpan("x" * 20, 0, 2 * RATE), SpokenSpan("y" * 20, 2 * RATE, 4 * RATE)]
    first, second = display_windows(spans, 5 * RATE, RATE, LIMITS, frames)
    assert second.start == 2 * RATE  # the start stays; the end moves
    assert first.end == round(1.92 * RATE)


def test_display_windows_extends_a_short_cue_into_the_pause() -> None:
    # 40 characters at 20 chars/s need 2 s; speech lasts 1 s and the pause 3 s.
    span = SpokenSpan("x" * 40, RATE, 2 * RATE)
    (cue,) = display_windows([span], 10 * RATE, RATE)
    assert cue == Cue(1, "x" * 40, RATE, 3 * RATE, ("x" * 40,))


def test_display_windows_stops_at_the_next_cue() -> None:
    spans = [SpokenSpan("One.", 0, RATE // 10), SpokenSpan("Two.", RATE // 5, RATE // 2)]
    first, second = display_windows(spans, RATE, RATE)
    assert first.end == RATE // 5 - GAP_MS * RATE // 1000  # the gap before the next cue
    assert second.end == RATE  # minimum display time cut short by the end of the audio


def test_display_windows_caps_long_speech_at_max_seconds() -> None:
    span = SpokenSpan("A very long cue.", 0, 9 * RATE)
    (cue,) = display_windows([span], 20 * RATE, RATE)
    assert cue.end == round(LONGEST)


def test_display_windows_of_nothing_is_nothing() -> None:
    assert display_windows([], 0, RATE) == ()


# --- SRT --------------------------------------------------------------------------------


def _ms(delta: timedelta) -> int:
    return delta // timedelta(milliseconds=1)


@settings(max_examples=200, deadline=None)
@given(programme=programmes())
def test_compose_srt_round_trips(programme: tuple[list[SpokenSpan], int]) -> None:
    spans, total = programme
    cues = display_windows(spans, total, RATE)
    document = compose_srt(timeline_of(cues, total))
    parsed = list(srt.parse(document))

    assert len(parsed) == len(cues)
    for number, (cue, sub) in enumerate(zip(cues, parsed, strict=True), start=1):
        assert sub.index == number
        assert _ms(sub.start) == milliseconds(cue.start, RATE)
        assert _ms(sub.end) == milliseconds(cue.end, RATE)
        lines = break_lines(cue.text)
        expected = "\n".join(lines) if lines else cue.text
        assert sub.content == expected
        assert sub.content == "\n".join(cue_lines(cue.text, LIMITS))
        if lines is not None:
            assert all(len(line) <= MAX_LINE for line in sub.content.split("\n"))
            assert " ".join(sub.content.split("\n")) == cue.text
    for before, after in itertools.pairwise(parsed):
        assert before.start <= after.start
        assert before.end <= after.start
    for sub in parsed:
        assert sub.start <= sub.end


def test_compose_srt_exact_text() -> None:
    cues = [
        SpokenSpan("The ferry left at nine.", 0, RATE // 2),
        SpokenSpan("It reached the island by noon, in thick fog and rain.", RATE + 11, 4 * RATE),
    ]
    assert compose_srt(timeline_of(display_windows(cues, 4 * RATE, RATE), 4 * RATE)) == (
        "1\n00:00:00,000 --> 00:00:00,920\nThe ferry left at nine.\n\n"
        "2\n00:00:01,000 --> 00:00:04,000\nIt reached the island by noon,\n"
        "in thick fog and rain.\n\n"
    )


# --- sample-to-time conversion ----------------------------------------------------------

_RATES = st.sampled_from([8000, 11025, 16000, 22050, 24000, 44100, 48000])


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(min_value=0, max_value=10**9),
    b=st.integers(min_value=0, max_value=10**9),
    rate=st.one_of(_RATES, st.integers(min_value=1, max_value=192000)),
)
def test_milliseconds_is_monotonic_and_rounds(a: int, b: int, rate: int) -> None:
    low, high = sorted((a, b))
    assert milliseconds(low, rate) <= milliseconds(high, rate)
    # Within half a millisecond of the exact value, in exact integer arithmetic.
    assert abs(2 * milliseconds(a, rate) * rate - 2000 * a) <= rate


def test_milliseconds_rounds_half_up() -> None:
    assert milliseconds(8, 16000) == 1  # exactly 0.5 ms
    assert milliseconds(7, 16000) == 0
    assert milliseconds(RATE, RATE) == 1000


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
def test_seconds_agree_with_milliseconds(rate: int) -> None:
    # The manifest uses seconds() and the SRT milliseconds(): one cue must get the
    # same time in both, including at exact half milliseconds.
    mismatches = [
        (samples, seconds(samples, rate), milliseconds(samples, rate))
        for samples in range(2 * rate)
        if round(seconds(samples, rate) * 1000) != milliseconds(samples, rate)
    ]
    assert mismatches == [], f"{len(mismatches)} mismatches, first: {mismatches[:3]}"
