"""Speak each sentence with the engine and find where every cue's words are heard."""

from __future__ import annotations

import audioop
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from narrator.cues import SpokenSpan, fit_words
from narrator.engines import Clip, SpeechEngine
from narrator.lexicon import Lexicon, Respelled
from narrator.segment import (
    CueLimits,
    Token,
    choose_cuts,
    chunk_tokens,
    join_tokens,
    planning_seconds,
    tokenize,
)
from narrator.spoken import cue_may_begin, spoken_form
from narrator.timeline import Word

# A 1 ms window whose peak is below this is silence. eSpeak's padding is digital
# zero; the margin keeps faint noise from other engines out as well.
SILENCE_PEAK = 64
# Kept around trimmed speech: soft onsets and decays sit just under the threshold.
LEAD_GUARD_MS = 5
TAIL_GUARD_MS = 30
# How far a cue start may move forward from the engine's word mark to the onset.
SNAP_LIMIT_MS = 800
# Silence between pieces of one sentence that an engine without word timing
# speaks separately: about a comma's pause.
PIECE_GAP_MS = 150


@dataclass(frozen=True)
class SpokenSentence:
    """A sentence's trimmed audio and its cues' spans, in samples from the audio's start."""

    pcm: bytes
    spans: tuple[SpokenSpan, ...]
    #: The text handed to the engine (pieces spoken separately: joined by a space).
    spoken: str

    @property
    def samples(self) -> int:
        """Length of the audio in samples."""
        return len(self.pcm) // 2


def _window(rate: int) -> int:
    return max(1, rate // 1000)


def _loud(pcm: bytes, start: int, width: int) -> bool:
    return audioop.max(pcm[2 * start : 2 * (start + width)], 2) >= SILENCE_PEAK


def speech_bounds(pcm: bytes, rate: int) -> tuple[int, int] | None:
    """First and one-past-last sample of speech, to 1 ms; None for silence."""
    total, step = len(pcm) // 2, _window(rate)
    first = next((s for s in range(0, total, step) if _loud(pcm, s, step)), None)
    if first is None:
        return None
    last = next(s for s in range(total - total % step, -1, -step) if _loud(pcm, s, step))
    return first, min(total, last + step)


def trim(clip: Clip) -> tuple[bytes, int]:
    """Cut the engine's leading and trailing silence; return (pcm, samples cut at the start)."""
    bounds = speech_bounds(clip.pcm, clip.sample_rate)
    if bounds is None:
        return b"", 0
    rate = clip.sample_rate
    start = max(0, bounds[0] - LEAD_GUARD_MS * rate // 1000)
    end = min(clip.samples, bounds[1] + TAIL_GUARD_MS * rate // 1000)
    return clip.pcm[2 * start : 2 * end], start


def onset_at_or_after(pcm: bytes, sample: int, rate: int) -> int:
    """Where speech resumes at or after ``sample`` (minus the lead guard), within the snap limit."""
    step, total = _window(rate), len(pcm) // 2
    limit = min(total, sample + SNAP_LIMIT_MS * rate // 1000)
    for s in range(sample, limit, step):
        if _loud(pcm, s, step):
            return max(sample, s - LEAD_GUARD_MS * rate // 1000)
    return sample


def speech_end_before(pcm: bytes, sample: int, start: int, rate: int) -> int:
    """One past the last speech sample before ``sample`` and after ``start``."""
    step = _window(rate)
    s = sample - step
    while s > start:
        if _loud(pcm, s, step):
            return min(sample, s + step + TAIL_GUARD_MS * rate // 1000)
        s -= step
    return sample


class SentenceSpeaker:
    """Turns sentences into SpokenSentence with one engine at one programme sample rate.

    ``conform`` converts a clip to the programme rate (the stitcher provides it).
    """

    def __init__(
        self,
        engine: SpeechEngine,
        rate_wpm: int,
        limits: CueLimits,
        conform: Callable[[Clip, int], Clip],
        lexicon: Lexicon = Lexicon(),
    ) -> None:
        self.engine = engine
        self.lexicon = lexicon
        self.rate = engine.sample_rate
        self.limits = limits
        self.estimate = planning_seconds(rate_wpm)
        self.conform = conform

    def _respell(self, text: str) -> Respelled:
        return spoken_form(text, self.lexicon, self.engine.phonemes)

    def _clip(self, text: str) -> Clip:
        clip = self.engine.synthesize(text)
        if clip.sample_rate != self.rate:
            clip = self.conform(clip, self.rate)
        return clip

    def speak(self, sentence: str, said: Respelled | None = None) -> SpokenSentence:
        """Synthesize one sentence; its spans are sorted and start at speech onsets.

        ``said`` is the sentence's spoken form when the caller has it (the Plan does).
        """
        respelled = said if said is not None else self._respell(sentence)
        if self.engine.word_timing:
            return self._speak_whole(sentence, respelled)
        return self._speak_in_pieces(sentence, respelled)

    def _speak_whole(self, sentence: str, respelled: Respelled) -> SpokenSentence:
        clip = self._clip(respelled.spoken)
        pcm, cut = trim(clip)
        total = len(pcm) // 2
        tokens = tokenize(sentence)
        starts = _token_starts(tokens, respelled, clip, cut, total)
        longest = self.limits.max_seconds * self.rate

        def at(k: int) -> int | None:
            return total if k == len(tokens) else starts[k]

        def fits(i: int, j: int) -> bool:
            begin, end = at(i) if i else 0, at(j)
            return end is not None and begin is not None and end - begin <= longest

        def allowed(k: int) -> bool:
            mark = starts[k]
            return mark is not None and mark > 0

        paused = _pauses(pcm, starts, self.rate) if self.limits.split_at_pauses else set()

        def fits_here(i: int, j: int) -> bool:
            return fits(i, j) and not any(i < k < j for k in paused)

        cuts = choose_cuts(tokens, fits_here, allowed, self.limits, _reading(tokens, at, self))
        begins = [0] + [onset_at_or_after(pcm, starts[i] or 0, self.rate) for i, _ in cuts[1:]]
        onsets = _word_onsets(pcm, starts, self.rate)
        spans = []
        for k, (i, j) in enumerate(cuts):
            nxt = begins[k + 1] if k + 1 < len(cuts) else total
            end = speech_end_before(pcm, nxt, begins[k], self.rate) if nxt < total else total
            end = max(end, begins[k] + 1)
            words = _span_words(tokens[i:j], onsets[i:j], begins[k], end)
            spans.append(SpokenSpan(join_tokens(tokens[i:j]), begins[k], end, words))
        return SpokenSentence(pcm, tuple(_strictly_increasing(spans)), respelled.spoken)

    def _speak_in_pieces(self, sentence: str, respelled: Respelled) -> SpokenSentence:
        # The pieces are the cues ``narrator check`` shows: planned from the text alone,
        # never cut inside a span said as a whole ("£240,000", "6 p.m.", a lexicon phrase).
        tokens = tokenize(sentence)
        pieces: list[tuple[str, str, bytes]] = []
        may_begin = cue_may_begin(tokens, respelled)
        for i, j in chunk_tokens(tokens, self.limits, self.estimate, may_begin):
            self._speak_piece(tokens, i, j, respelled, pieces)
        gap = b"\0\0" * (PIECE_GAP_MS * self.rate // 1000)
        spans: list[SpokenSpan] = []
        chunks: list[bytes] = []
        position = 0
        carried = ""  # text of pieces that came out silent: shown with the next one
        for text, _, pcm in pieces:
            if not pcm:
                carried = f"{carried} {text}".strip()
                continue
            if chunks:
                chunks.append(gap)
                position += len(gap) // 2
            samples = len(pcm) // 2
            spans.append(SpokenSpan(f"{carried} {text}".strip(), position, position + samples))
            carried = ""
            chunks.append(pcm)
            position += samples
        if carried and spans:
            last = spans.pop()
            spans.append(SpokenSpan(f"{last.text} {carried}", last.start, last.speech_end))
        spoken = " ".join(said for _, said, _ in pieces)
        return SpokenSentence(b"".join(chunks), tuple(spans), spoken)

    def _speak_piece(
        self,
        tokens: Sequence[Token],
        i: int,
        j: int,
        respelled: Respelled,
        out: list[tuple[str, str, bytes]],
    ) -> None:
        """Speak tokens i..j-1 from the sentence's spoken form; append (written, said, pcm)."""
        begin = respelled.spoken_offset(tokens[i].start)
        said = respelled.spoken[begin : respelled.spoken_end(tokens[j - 1].end)]
        pcm, _ = trim(self._clip(said))
        may_begin = cue_may_begin(tokens, respelled)
        # The estimate was wrong for this text: speak it again in smaller pieces.
        if len(pcm) // 2 > self.limits.max_seconds * self.rate and j - i > 1:
            halves = _halve(tokens[i:j], self.limits, lambda k: may_begin(i + k))
            if len(halves) > 1:
                for a, b in halves:
                    self._speak_piece(tokens, i + a, i + b, respelled, out)
                return
        out.append((join_tokens(tokens[i:j]), said, pcm))


# A silence at least this long between two words is a pause a short cue must not span.
# Counted from the end of the tail guard: eSpeak NG's comma measures 120-140 ms so at
# 175 wpm, the silence between two words of a phrase nothing.
PAUSE_MS = 100
# Reading speed inside a sentence: each character per second a cue is faster than the
# sentence's own pace costs this much (about a tenth of a comma's preference), and each
# one above the style's maximum this much more.
UNEVEN_WEIGHT = 0.1
TOO_FAST_WEIGHT = 1.0


def _pauses(pcm: bytes, starts: Sequence[int | None], rate: int) -> set[int]:
    """The tokens heard after a pause of PAUSE_MS or more."""
    found = set()
    for k, start in enumerate(starts):
        if start is None or start <= 0:
            continue
        before = speech_end_before(pcm, start, 0, rate)
        if start - before >= PAUSE_MS * rate // 1000:
            found.add(k)
    return found


def _reading(
    tokens: Sequence[Token], at: Callable[[int], int | None], speaker: SentenceSpeaker
) -> Callable[[int, int], float]:
    """The cost of a cue's reading speed: faster than the sentence's, or than the limit."""
    # Called for every span the cut search weighs: lengths come from prefix sums.
    prefix = [0]
    for token in tokens:
        prefix.append(prefix[-1] + len(token.text) + 1)
    total = at(len(tokens))
    chars = prefix[-1] - 1
    if not total or chars <= 0:
        return lambda _i, _j: 0.0
    pace = chars * speaker.rate / total
    limit = speaker.limits.max_cps

    def cost(i: int, j: int) -> float:
        begin, end = at(i) if i else 0, at(j)
        if begin is None or end is None or end <= begin:
            return 0.0
        cps = (prefix[j] - prefix[i] - 1) * speaker.rate / (end - begin)
        return UNEVEN_WEIGHT * max(0.0, cps - pace) + TOO_FAST_WEIGHT * max(0.0, cps - limit)

    return cost


def _halve(
    tokens: Sequence[Token], limits: CueLimits, allowed: Callable[[int], bool]
) -> tuple[tuple[int, int], ...]:
    """Cut tokens into two or more pieces at the best breaks, none over two thirds long.

    One piece when no cut is allowed.
    """
    limit = max(1, len(tokens) * 2 // 3)
    return choose_cuts(tokens, lambda i, j: j - i <= limit, allowed, limits)


def _token_starts(
    tokens: Sequence[Token], respelled: Respelled, clip: Clip, cut: int, total: int
) -> list[int | None]:
    """Each written token's first audio sample from the engine's word marks.

    Marks are positions in the spoken text. None: no mark, or the token is
    inside a span said as a whole (a lexicon phrase, "6 p.m."), where a cue must
    not begin.
    """
    starts: list[int | None] = [None] * len(tokens)
    marks = iter(sorted(clip.words, key=lambda m: m.offset))
    mark = next(marks, None)
    for k, token in enumerate(tokens):
        begin = respelled.spoken_start(token.start)
        if begin is None:
            continue
        end = respelled.spoken_end(token.end)
        while mark is not None and mark.offset < begin:
            mark = next(marks, None)
        if mark is not None and mark.offset < end:
            starts[k] = min(total, max(0, mark.sample - cut))
    return starts


def _word_onsets(pcm: bytes, starts: Sequence[int | None], rate: int) -> list[int | None]:
    """Each token's mark moved forward to where its speech starts, never past the next mark."""
    onsets: list[int | None] = [None] * len(starts)
    following: int | None = None  # the next token's mark, walking backwards
    for k in range(len(starts) - 1, -1, -1):
        mark = starts[k]
        if mark is None:
            continue
        onset = onset_at_or_after(pcm, mark, rate)
        if following is not None and following > mark:
            onset = min(onset, following)
        onsets[k] = onset
        following = mark
    return onsets


def _span_words(
    tokens: Sequence[Token], onsets: Sequence[int | None], start: int, end: int
) -> tuple[Word, ...]:
    """A span's words from its tokens' onsets; the first starts with the span.

    A token without a time of its own (inside a span said as a whole) joins the
    word before it: its time is never invented.
    """
    words: list[Word] = []
    for token, onset in zip(tokens, onsets, strict=True):
        if words and (onset is None or onset <= words[-1].start or onset >= end):
            last = words.pop()
            words.append(Word(f"{last.text} {token.text}", last.start, last.end))
        else:
            words.append(Word(token.text, onset if words and onset is not None else start, end))
    return fit_words(words, start, end)


def _strictly_increasing(spans: list[SpokenSpan]) -> list[SpokenSpan]:
    """Merge a span into the one before it if it would not start later (duplicate marks)."""
    merged: list[SpokenSpan] = []
    for span in spans:
        if merged and span.start <= merged[-1].start:
            last = merged.pop()
            end = max(last.speech_end, span.speech_end)
            words = fit_words((*last.words, *span.words), last.start, end)
            span = SpokenSpan(f"{last.text} {span.text}", last.start, end, words)
        merged.append(span)
    return merged
