"""Alignment of a human recording to a synthesized reference: features, chunked DTW, onsets.

The reference is the script spoken by an engine whose times are known; the
recording is the narrator's own reading, decoded to mono 16 kHz int16. Both become
log-mel cepstra at 100 frames a second; dynamic time warping over windows of the
reference, each against a stretch of the recording that starts where the last
window's core ended, maps every reference frame to a recording frame. Time and
memory grow linearly with the length: only one window's int8 back-pointers live at
a time, and no full-length float matrix is ever made.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import numpy.typing as npt

from narrator.errors import ScriptError
from narrator.timeline import Timeline

RECORDING_RATE = 16_000
#: Feature frames per second: a 25 ms window every 10 ms.
FRAME_RATE = 100
FRAME_SAMPLES = RECORDING_RATE // FRAME_RATE
WINDOW_SECONDS = 0.025
MEL_BANDS = 40
#: Cepstra c1..c8 are compared (c0, loudness, is dropped): the envelope's broad shape,
#: what a word sounds like in any voice. The finer ones tell voices apart more than
#: sounds: with c1..c12, a LibriVox reader of Shakespeare's first sonnet was mapped up
#: to 850 ms off against espeak; with c1..c8, 153 ms at worst (c1..c6: 153, c1..c10: 560).
CEPSTRA = 9
#: The mel filterbank stops below the recording's Nyquist frequency.
MEL_LOW_HZ, MEL_HIGH_HZ = 60.0, 7600.0
PRE_EMPHASIS = 0.97
#: Frames per block when computing features: 10 s of audio, a few MB at a time.
FEATURE_BLOCK = 1000

#: Reference frames per DTW window, and how many of them (the core) are kept.
WINDOW_FRAMES = 4000
CORE_FRAMES = 3000
#: Recording rows per window: this many times the window, plus the slack for pauses.
ROW_FACTOR = 2.0
ROW_SLACK = 2000
#: The first window may also begin with this much music or silence at the head.
HEAD_ROWS = 6000
#: A first sentence heard over this many times longer than the median tempo gives it
#: has music before it spread over it: its start is looked for again (_late_start).
HEAD_STRETCH = 2.5
HEAD_MARGIN = 1.5
#: A silence of the reference longer than this many frames is shortened to it, so
#: that a narrator's shorter pause can still be matched with at most three frames a row.
KEEP_SILENCE = 6

#: Step penalties, in units of the median distance between random speech frames:
#: a recording frame on the same reference frame (a pause, slow speech), and one
#: reference frame skipped (fast speech) or two.
STAY_PENALTY = 0.05
SKIP1_PENALTY = 0.15
SKIP2_PENALTY = 0.4
#: The cost of a recording frame outside the path (before a free start, after an
#: open end): between that of matched speech and that of unrelated frames.
GARBAGE_COST = 1.0
#: The cost of a recording frame of speech after the path's open end: under that of
#: staying on a reference frame of other speech (about 1 + STAY_PENALTY), or the path
#: would rather stretch over all the rows a window offers than end where the reading
#: does; in a recording of repeated material it went on into the next repetition.
TAIL_COST = 0.6
#: The cost of a frame silent in both streams, in the same unit.
SILENCE_COST = 0.1

#: Added to the cost of a frame that is speech in one stream and silence in the other:
#: the edges of pauses are the surest landmarks.
MISMATCH_COST = 0.5
#: A frame is speech when its energy is this many dB above the stream's noise floor.
SPEECH_DB = 12.0
#: A frame this quiet (an RMS under about 1.4 of 32768) is digital silence.
DIGITAL_SILENCE_DB = 3.0
#: The noise floor around a frame: this percentile of the quietest levels of the
#: seconds within FLOOR_SPAN of it.
FLOOR_SPAN = 30
FLOOR_PERCENTILE = 20
#: Gaps in speech shorter than this many frames count as speech.
GAP_FRAMES = 12
#: Confidence is judged against the recording's own matched speech, not against fixed
#: costs (a voice's timbre, a room, a tempo move them all): a sentence's excess is how
#: far its mean path cost (in units of the random-pair median) lies above that of the
#: recording's better sentences (their MATCHED_PERCENTILE), plus SKIP_WEIGHT times how far
#: the share of its reference frames the path stepped over does. A phrase left out is
#: rushed through: its frames are skipped, and those landed on cost more. Piper's readings
#: of the test script (tempo 0.8 and 1.2, noise, a tone; three renders) had excesses up
#: to 0.18, espeak's en-gb reading of it six times over up to 0.12; the sentence with six
#: words cut, 0.42 to 0.44. (Ratios fail: a close voice's costs and skips are small.)
MATCHED_PERCENTILE = 25
SKIP_WEIGHT = 1.5
#: The excess at which confidence is 1 and 0: 0.5 halfway between those two.
GOOD_EXCESS, BAD_EXCESS = 0.15, 0.45
LOW_CONFIDENCE = 0.5
#: This many consecutive sentences under LOW_CONFIDENCE (or all, if fewer) is no match.
FAILED_RUN = 3
#: A recording matches when its sentences' median path cost, as a share of the cost
#: of the reference played backwards (the first BASELINE_FRAMES of it), plus the spread
#: of its sentences' tempi (the standard deviation of the log of each one's length in
#: the recording over its length in the reference) is at most MATCH_SCORE. Readings of
#: the script: Piper's (tempo, a tone, echo, a 2 kHz low-pass, pitch) 0.86-0.93, and
#: under pink noise at 0.05 (6 dB under the speech) 1.105; espeak's other voices 0.44-0.78;
#: LibriVox readers of Austen 0.86 and of Shakespeare's first sonnet (its number said
#: first, pauses inside lines) 1.03. Another text: 1.22-1.37 (two scripts against each
#: other's recordings, and against recordings up to three times their length, where the
#: path can pick the frames most like the script's: by cost alone they came to 0.98-0.99
#: of the baseline, hardly above the sonnet's 0.93). Halfway between 1.105 and 1.22.
MATCH_SCORE = 1.16
#: FAILED_RUN sentences in a row with a median score over this (each sentence's cost
#: over the baseline plus its tempo's distance from the median) are no reading of the
#: script, even when the whole matched: readings of the script came to 1.10 at most (the
#: sonnet at 0.8x), two paragraphs of the script then another text to 1.30-1.36 over it.
STRETCH_SCORE = 1.22
#: Sentences before such a stretch read as the script if their median score is at most
#: this: two paragraphs of the script before another text, 0.93; another text from the
#: start, 1.10 to 1.15 before the squeeze at its end.
PREFIX_SCORE = 1.0
#: Sentences shorter than this many frames of speech are left out of the tempo spread.
SPREAD_FRAMES = 30
#: A recording with less speech than this share of the reference's is mostly silence.
SPEECH_SHARE = 0.3
#: A recording that does not match, with less speech than this share of the reference's,
#: may be a reading of the script's start (_read_part).
READ_SHARE = 0.75
BASELINE_FRAMES = 2 * WINDOW_FRAMES
#: Onsets: energy on a 2.5 ms hop over a 10 ms window.
ONSET_HOP, ONSET_WINDOW = 40, 160
ONSET_DB = 10.0
#: The least quiet before an onset: longer than a stop or a fricative inside a word.
PAUSE_SECONDS = 0.15
#: An onset reaches within ONSET_PEAK_DB of the loudest level of its window and the
#: ONSET_AHEAD seconds after it before it falls quiet, within ONSET_REACH seconds of
#: rising. A LibriVox reader's breaths before a line rose out of the pause 13-20 dB under
#: the words that followed; an 'f' or a 'th' leads its vowel by under 100 ms.
ONSET_PEAK_DB = 12.0
ONSET_REACH = 0.25
#: Quiet this long ends a sound (a breath, before its words); a shorter dip does not
#: (between an 'f' and its vowel, under noise).
ONSET_GAP = 0.05
ONSET_AHEAD = 0.3

Float32Array = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class AlignmentError(ScriptError):
    """The recording does not match the script (another text, silence, music)."""


@dataclass(frozen=True)
class Features:
    """A stream's normalised cepstra, frame energies in dB and speech flags, 100 a second."""

    cepstra: Float32Array
    energy: Float32Array
    speech: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Reference:
    """The script as an engine spoke it: its features and its sentences' spans in samples."""

    heard: Features
    rate: int
    #: Each sentence's first and one-past-last sample of speech, in order.
    sentences: tuple[tuple[int, int], ...]
    #: Each sentence's segment number and text, for the error that names one.
    segments: tuple[int, ...] = ()
    texts: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        pcm: npt.NDArray[np.int16],
        rate: int,
        sentences: tuple[tuple[int, int], ...],
        segments: tuple[int, ...] = (),
        texts: tuple[str, ...] = (),
    ) -> Reference:
        """The reference of mono int16 samples at ``rate``."""
        return cls(features(pcm, rate), rate, sentences, segments, texts)

    @classmethod
    def from_wav(
        cls,
        path: Path,
        sentences: tuple[tuple[int, int], ...],
        segments: tuple[int, ...] = (),
        texts: tuple[str, ...] = (),
    ) -> Reference:
        """The reference of a mono 16-bit WAV file, read a block at a time (never whole)."""
        with wave.open(str(path), "rb") as source:

            def read(start: int, stop: int) -> npt.NDArray[np.int16]:
                source.setpos(start)
                return np.frombuffer(source.readframes(stop - start), dtype="<i2")

            rate = source.getframerate()
            heard = _features(read, source.getnframes(), rate)
        return cls(heard, rate, sentences, segments, texts)

    @classmethod
    def from_timeline(cls, timeline: Timeline, pcm: npt.NDArray[np.int16]) -> Reference:
        """The reference of a synthesis: its programme's samples and its Timeline."""
        sentences = timeline.sentences
        return cls.of(
            pcm,
            timeline.sample_rate,
            tuple((s.start, s.end) for s in sentences),
            tuple(s.segment for s in sentences),
            tuple(s.text for s in sentences),
        )

    @cached_property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Each sentence's first and one-past-last feature frame (10 ms), in order."""
        return tuple(
            (start * FRAME_RATE // self.rate, end * FRAME_RATE // self.rate)
            for start, end in self.sentences
        )

    def name(self, index: int) -> str:
        """'segment 48, "The fog lasted..."' for the sentence at ``index``."""
        number = self.segments[index] if index < len(self.segments) else index + 1
        if index >= len(self.texts):
            return f"segment {number}"
        words = self.texts[index].split()
        quoted = " ".join(words[:4]) + ("..." if len(words) > 4 else "")
        return f'segment {number}, "{quoted}"'


@dataclass(frozen=True)
class Alignment:
    """Where each reference sample is heard in the recording, and how sure that is."""

    reference_rate: int
    #: The recording frame (10 ms) at which each reference frame is heard; non-decreasing.
    frames: IntArray
    recording: npt.NDArray[np.int16] = field(repr=False)
    #: Each sentence's confidence, 0 (no match) to 1 (matched speech).
    sentence_confidence: tuple[float, ...]
    #: Recording-sample ranges where the match is poor.
    low_confidence: tuple[tuple[int, int], ...]
    #: The recording's noise floor in dB at each frame (noise_floors), for onsets in
    #: windows with no pause of their own.
    floors: Float32Array = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def to_recording(self, reference_sample: int) -> int:
        """The recording sample (16 kHz) where ``reference_sample`` is heard."""
        position = reference_sample * FRAME_RATE / self.reference_rate
        last = len(self.frames) - 1
        if last < 0:
            return 0
        below = min(max(int(np.floor(position)), 0), last)
        above = min(below + 1, last)
        share = min(max(position - below, 0.0), 1.0)
        low, high = int(self.frames[below]), int(self.frames[above])
        return round((low + share * (high - low)) * RECORDING_RATE / FRAME_RATE)

    def onset(self, recording_sample: int, before: int, after: int) -> int:
        """The speech onset nearest ``recording_sample`` in a window around it, or itself.

        An onset is where the energy rises out of a pause of at least PAUSE_SECONDS
        (a stop or a quiet 'f' inside a word is shorter) and comes within
        ONSET_PEAK_DB of the loudest speech around before it falls quiet for ONSET_GAP
        or ONSET_REACH has passed (a breath before a sentence rises out of the pause
        too, but stays far quieter than the words after it); the one nearest the
        mapped time between ``before`` samples back and ``after`` samples on wins.
        With no such onset there, the mapped time stands.
        """
        start = max(recording_sample - before, 0)
        stop = min(recording_sample + after, len(self.recording))
        if stop - start < ONSET_WINDOW * 2:
            return recording_sample
        pause = round(PAUSE_SECONDS * RECORDING_RATE / ONSET_HOP)
        # Levels from a pause's length before the window: a rise at its start must have
        # its quiet heard. Only the recording's own start counts as quiet before it.
        back = min(pause, start // ONSET_HOP)
        look = start - back * ONSET_HOP
        ahead = min(stop + round(ONSET_AHEAD * RECORDING_RATE), len(self.recording))
        level = _onset_levels(self.recording[look:ahead])
        audible = level[level > DIGITAL_SILENCE_DB]
        floor = float(np.percentile(audible, 10)) if len(audible) else 0.0
        if len(self.floors):
            here = min(start // FRAME_SAMPLES, len(self.floors) - 1)
            floor = min(floor, float(self.floors[here]))
        peak = float(level.max())
        loud = level > max(floor + ONSET_DB, peak - 40.0)
        reach = round(ONSET_REACH * RECORDING_RATE / ONSET_HOP)
        unheard = pause - back
        quiet = np.concatenate((np.ones(unheard, dtype=np.int64), (~loud).astype(np.int64)))
        total = np.concatenate(([0], np.cumsum(quiet)))
        window = (stop - start - ONSET_WINDOW) // ONSET_HOP + 1
        hops = np.arange(back, min(back + window, len(loud)))
        # Quiet hops in the ``pause`` before each hop of the window.
        before_each = total[hops + unheard] - total[hops + unheard - pause]
        rising = hops[loud[hops] & (before_each == pause)]
        gap = round(ONSET_GAP * RECORDING_RATE / ONSET_HOP)
        strong = [
            int(r)
            for r in rising
            if _run_peak(level, loud, int(r), reach, gap) >= peak - ONSET_PEAK_DB
        ]
        if not strong:
            return recording_sample
        at = (recording_sample - look) / ONSET_HOP
        nearest = min(strong, key=lambda r: abs(r - at))
        return look + nearest * ONSET_HOP + ONSET_WINDOW // 2


def _run_peak(
    level: Float32Array, loud: npt.NDArray[np.bool_], rise: int, reach: int, gap: int
) -> float:
    """The loudest level from ``rise`` to the next ``gap`` quiet hops, or ``reach`` hops on."""
    quiet = np.concatenate(([0], np.cumsum(~loud[rise : rise + reach])))
    falls = np.flatnonzero(quiet[gap:] - quiet[:-gap] == gap)
    length = int(falls[0]) if len(falls) else reach
    return float(level[rise : rise + max(length, 1)].max())


def _onset_levels(pcm: npt.NDArray[np.int16]) -> Float32Array:
    """Energy in dB of 10 ms windows every 2.5 ms."""
    count = (len(pcm) - ONSET_WINDOW) // ONSET_HOP + 1
    index = np.arange(count)[:, None] * ONSET_HOP + np.arange(ONSET_WINDOW)[None, :]
    frames = pcm[index].astype(np.float32)
    power = np.mean(frames * frames, axis=1) + 1.0
    levels: Float32Array = (10.0 * np.log10(power)).astype(np.float32)
    return levels


# --- features ------------------------------------------------------------------------


def _mel_filters(rate: int, size: int) -> Float32Array:
    """Triangular mel filters over the bins of an rfft of ``size`` at ``rate``."""

    def mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_mel = np.linspace(mel(np.array(MEL_LOW_HZ)), mel(np.array(MEL_HIGH_HZ)), MEL_BANDS + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(size, 1.0 / rate)
    filters = np.zeros((MEL_BANDS, len(bins)), dtype=np.float32)
    for band in range(MEL_BANDS):
        low, mid, high = edges[band : band + 3]
        rising = (bins - low) / (mid - low)
        falling = (high - bins) / (high - mid)
        filters[band] = np.maximum(0.0, np.minimum(rising, falling))
    return filters


def _dct_matrix() -> Float32Array:
    """DCT-II rows 1..CEPSTRA-1 over the mel bands (c0 left out)."""
    bands = np.arange(MEL_BANDS)
    rows = np.arange(1, CEPSTRA)[:, None]
    return np.cos(np.pi * rows * (bands + 0.5) / MEL_BANDS).astype(np.float32)


def features(pcm: npt.NDArray[np.int16], rate: int) -> Features:
    """Cepstra, energies and speech flags of ``pcm`` at ``rate``, 100 frames a second."""
    return _features(lambda start, stop: pcm[start:stop], len(pcm), rate)


def _features(
    read: Callable[[int, int], npt.NDArray[np.int16]], length: int, rate: int
) -> Features:
    """The features of ``length`` samples at ``rate``, ``read(start, stop)`` a block at a time.

    Frames start at the nearest sample to each 10 ms, so a 22050 Hz reference and
    a 16 kHz recording need no resampling; the filterbank covers the same band in
    both. Worked out in blocks of FEATURE_BLOCK frames, in float32.
    """
    window = round(WINDOW_SECONDS * rate)
    size = 1 << (window - 1).bit_length()
    count = max((length - window) * FRAME_RATE // rate + 1, 0)
    filters, dct = _mel_filters(rate, size), _dct_matrix()
    taper = np.hamming(window).astype(np.float32)
    cepstra = np.empty((count, CEPSTRA - 1), dtype=np.float32)
    energy = np.empty(count, dtype=np.float32)
    offsets = np.arange(window)
    for first in range(0, count, FEATURE_BLOCK):
        frames_at = np.arange(first, min(first + FEATURE_BLOCK, count))
        starts = (frames_at * rate + FRAME_RATE // 2) // FRAME_RATE
        block = read(int(starts[0]), int(starts[-1]) + window)
        frames = block[(starts - starts[0])[:, None] + offsets[None, :]].astype(np.float32)
        energy[frames_at] = 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1.0)
        frames[:, 1:] -= PRE_EMPHASIS * frames[:, :-1]
        frames *= taper
        spectrum = np.abs(np.fft.rfft(frames, n=size, axis=1)).astype(np.float32)
        bands = np.log(spectrum * spectrum @ filters.T + 1.0)
        cepstra[frames_at] = bands @ dct.T
    speech = _speech(energy)
    chosen = cepstra[speech] if np.count_nonzero(speech) > 10 else cepstra
    if len(chosen):
        cepstra -= chosen.mean(axis=0)
        cepstra /= chosen.std(axis=0) + 1e-3
    return Features(cepstra, energy, speech)


def noise_floors(energy: Float32Array) -> Float32Array:
    """Each frame's noise floor in dB: the stream's quietest level around it.

    Each second's quietest frames (its 5th percentile), then over FLOOR_SPAN seconds
    either side the FLOOR_PERCENTILE of those: a floor that follows the room through
    an hour (a second session, a heater switched on) and passes over a few seconds of
    a quieter pre-roll, where one percentile over the whole made every pause of the
    reading speech and sent its cues seconds astray. Digital silence at the head or
    the tail is left out for the same reason; digital silence between words (a
    synthetic voice's pauses) is the floor and counts.
    """
    count = len(energy)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    audible = np.flatnonzero(energy > DIGITAL_SILENCE_DB)
    low, high = (int(audible[0]), int(audible[-1]) + 1) if len(audible) else (0, count)
    inner = energy[low:high]
    quietest = np.array(
        [np.percentile(inner[at : at + FRAME_RATE], 5) for at in range(0, len(inner), FRAME_RATE)]
    )
    around = np.array(
        [
            np.percentile(quietest[max(k - FLOOR_SPAN, 0) : k + FLOOR_SPAN + 1], FLOOR_PERCENTILE)
            for k in range(len(quietest))
        ]
    )
    floors = np.empty(count, dtype=np.float32)
    floors[low:high] = np.repeat(around, FRAME_RATE)[: high - low]
    floors[:low], floors[high:] = around[0], around[-1]
    return floors


def _speech(energy: Float32Array) -> npt.NDArray[np.bool_]:
    """Frames louder than the stream's noise floor by SPEECH_DB."""
    if len(energy) == 0:
        return np.zeros(0, dtype=bool)
    floor = noise_floors(energy)
    speech = np.asarray(energy > floor + SPEECH_DB)
    # A gap shorter than GAP_FRAMES between two stretches of speech is a stop or a
    # breath inside it, no pause: left silent, the path could spend a long pause of
    # the other stream on it instead of on the pause between the sentences.
    change = np.flatnonzero(np.diff(speech.astype(np.int8))) + 1
    falls, rises = change[~speech[change]], change[speech[change]]
    after = np.searchsorted(rises, falls)
    inside = after < len(rises)
    gaps_from, gaps_to = falls[inside], rises[after[inside]]
    short = gaps_to - gaps_from < GAP_FRAMES
    fill = np.zeros(len(speech) + 1, dtype=np.int64)
    np.add.at(fill, gaps_from[short], 1)
    np.add.at(fill, gaps_to[short], -1)
    return np.asarray(speech | (np.cumsum(fill)[:-1] > 0))


# --- DTW -----------------------------------------------------------------------------


def _distances(a: Float32Array, b: Float32Array) -> Float32Array:
    """Euclidean distances between every row of ``a`` and every row of ``b``."""
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    distances: Float32Array = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32)
    return distances


def _adjust(
    cost: Float32Array,
    rec_speech: npt.NDArray[np.bool_],
    ref_speech: npt.NDArray[np.bool_],
    unit: float,
) -> None:
    """Silence in both streams costs little; speech against silence costs more (in place)."""
    both_silent = ~rec_speech & ~ref_speech
    cost[...] = np.where(both_silent, np.minimum(cost, SILENCE_COST * unit), cost)
    cost += np.where(rec_speech != ref_speech, np.float32(MISMATCH_COST * unit), np.float32(0))


def _random_pair_cost(ref: Features, rec: Features) -> float:
    """The median distance between speech frames of the two streams picked at random."""
    rng = np.random.default_rng(12)
    a = np.flatnonzero(ref.speech) if np.any(ref.speech) else np.arange(len(ref.speech))
    b = np.flatnonzero(rec.speech) if np.any(rec.speech) else np.arange(len(rec.speech))
    pairs = 4000
    left = ref.cepstra[rng.choice(a, pairs)]
    right = rec.cepstra[rng.choice(b, pairs)]
    return float(np.median(np.sqrt(((left - right) ** 2).sum(axis=1))))


def _window(
    ref: Features,
    rec: Features,
    columns: IntArray,
    first_row: int,
    rows: int,
    free_start: bool,
    unit: float,
    tail_cost: float = TAIL_COST,
) -> tuple[IntArray, IntArray]:
    """DTW of reference frames ``columns`` against recording rows from ``first_row``.

    Rows are recording frames, each step consuming one: to the same column (a
    pause, slower speech), the next, or one or two further (faster speech). A
    step's cost is the distance where it lands weighted by the frames it moves
    over in both streams (1 + columns), so every path between two cells weighs
    the same and a path cannot get cheaper by skipping the reference. The
    path starts on the first column, at ``first_row`` or (``free_start``, music or
    silence at the head) any row, and ends on the last column at any row (open
    end); the recording frames left out before it cost GARBAGE_COST each, those
    after it TAIL_COST (SILENCE_COST if silent). Only int8 back-pointers are
    kept. Returns the path's rows (recording frames) and columns (indices into
    ``columns``).
    """
    width = len(columns)
    height = min(first_row + rows, len(rec.speech)) - first_row
    ref_cep, ref_silent = ref.cepstra[columns], ~ref.speech[columns]
    penalty = np.array([STAY_PENALTY, 0.0, SKIP1_PENALTY, SKIP2_PENALTY], np.float32) * unit
    penalty = penalty[:, None]
    back = np.empty((height, width), dtype=np.int8)
    ends = np.empty(height, dtype=np.float64)
    # What the recording frames outside the path cost: a pause's silence as little as
    # in a pause, anything else (music, a tone, other speech) GARBAGE_COST.
    outside = np.where(rec.speech[first_row : first_row + height], GARBAGE_COST, SILENCE_COST)
    garbage = np.concatenate(([0.0], np.cumsum(outside * unit)))
    tail = np.where(rec.speech[first_row : first_row + height], tail_cost, SILENCE_COST)
    after = np.concatenate((np.cumsum((tail * unit)[::-1])[::-1], [0.0]))
    previous = np.full(width + 3, np.inf, dtype=np.float32)
    current = np.full(width + 3, np.inf, dtype=np.float32)
    options = np.empty((4, width), dtype=np.float32)
    block = 500
    for top in range(0, height, block):
        bottom = min(top + block, height)
        recorded = slice(first_row + top, first_row + bottom)
        cost = _distances(rec.cepstra[recorded], ref_cep)
        _adjust(cost, rec.speech[recorded, None], ~ref_silent[None, :], unit)
        for offset in range(bottom - top):
            row = top + offset
            if row == 0:
                previous[3] = 0.0
            elif free_start:
                previous[3] = min(previous[3], garbage[row])
            here = cost[offset]
            np.add(previous[3:], here, out=options[0])
            np.add(previous[2:-1], 2.0 * here, out=options[1])
            np.add(previous[1:-2], 3.0 * here, out=options[2])
            np.add(previous[:-3], 4.0 * here, out=options[3])
            options += penalty
            step = np.argmin(options, axis=0)
            back[row] = step
            current[3:] = np.take_along_axis(options, step[None, :], axis=0)[0]
            ends[row] = current[-1] + after[row + 1]
            previous, current = current, previous
    end = int(np.argmin(ends))
    return _backtrack(back, end, width - 1, first_row, free_start)


def _backtrack(
    back: npt.NDArray[np.int8], row: int, column: int, first_row: int, free_start: bool
) -> tuple[IntArray, IntArray]:
    """Follow the back-pointers from (row, column) to the path's start: its rows and columns."""
    rows, columns = [], []
    while True:
        rows.append(row)
        columns.append(column)
        if row < 0 or (column == 0 and (free_start or row == 0)):
            break
        column -= int(back[row, column])
        row -= 1
    return (
        np.maximum(np.array(rows[::-1], dtype=np.int64), 0) + first_row,
        np.array(columns[::-1], dtype=np.int64),
    )


def _shorten(speech: npt.NDArray[np.bool_]) -> IntArray:
    """The reference frames the DTW sees: all speech, and the first and last few of each silence."""
    frames = np.arange(len(speech))
    silent = ~speech
    # Each silent frame's distance from the start and the end of its silence.
    boundary_before = np.maximum.accumulate(np.where(silent, -1, frames))
    boundary_after = np.minimum.accumulate(np.where(silent, len(speech), frames)[::-1])[::-1]
    edge = np.minimum(frames - boundary_before, boundary_after - frames)
    return np.flatnonzero(speech | (edge <= KEEP_SILENCE // 2))


def align(reference: Reference, recording: npt.NDArray[np.int16]) -> Alignment:
    """Align ``recording`` (mono 16 kHz int16) to ``reference``.

    Raises AlignmentError, naming the sentence and the time, where the recording
    stops matching the script (another text, silence, music).
    """
    ref = reference.heard
    rec = features(recording, RECORDING_RATE)
    if len(ref.speech) == 0 or not np.any(ref.speech):
        raise AlignmentError("the script's reference has no speech to align the recording to")
    seconds = len(recording) / RECORDING_RATE
    if len(rec.speech) < FRAME_RATE:
        raise AlignmentError(
            f"the recording lasts {seconds:.1f} s, too short to be a reading of the script"
        )
    heard, said = np.count_nonzero(rec.speech), np.count_nonzero(ref.speech)
    if heard < SPEECH_SHARE * said:
        raise AlignmentError(
            f"the recording has {heard / FRAME_RATE:.0f} s of speech in {_clock(seconds)}, "
            f"where the script has {said / FRAME_RATE:.0f} s: is it the right file, or is "
            "it mostly silence?"
        )
    unit = _random_pair_cost(ref, rec)
    kept = _shorten(ref.speech)
    walk = _pass(ref, rec, kept, unit)
    tries = []
    for later in _late_starts(reference, rec, walk.frames):
        tried = _pass(ref, rec, kept, unit, first_row=later)
        tries.append((_match_score(reference, ref, rec, tried, unit)[0], later, tried))
    if tries:
        walk = min(tries, key=lambda t: t[:2])[2]
    frames = walk.frames
    confidence = _confidence(reference, ref, walk, unit)
    # The match as a whole first: it names where another text starts; then a stretch
    # of sentences far worse than the rest of the recording.
    failed = _unmatched_at(reference, ref, rec, walk, unit)
    if failed is None:
        failed = _failed_at(confidence)
    if failed is not None:
        unread = _read_part(reference, ref, rec, kept, unit)
        if unread is not None:
            raise AlignmentError(
                f"the recording ends at {_clock(seconds)}, around {reference.name(unread)}: "
                "the rest of the script is not in it; record the rest, or align the part read"
            )
        start = reference.spans[failed][0]
        sample = int(frames[min(start, len(frames) - 1)]) * RECORDING_RATE // FRAME_RATE
        raise AlignmentError(_failure(reference, failed, sample))
    return Alignment(
        reference_rate=reference.rate,
        frames=frames,
        recording=recording,
        sentence_confidence=confidence,
        low_confidence=_low_ranges(reference, confidence, frames),
        floors=noise_floors(rec.energy),
    )


@dataclass(frozen=True)
class Walk:
    """One pass of the DTW, per reference frame: where it is first heard (-1 where the
    path stepped over it), the sum and count of the path's costs on it, how many
    times the path stepped over it, and the recording frame it maps to (``frames``)."""

    first_rows: IntArray
    cost_sum: npt.NDArray[np.float64]
    cost_count: IntArray
    skipped: IntArray
    frames: IntArray


def _pass(
    ref: Features,
    rec: Features,
    kept: IntArray,
    unit: float,
    limit: int | None = None,
    first_row: int = 0,
) -> Walk:
    """The windows of DTW over the reference frames ``kept`` (the first ``limit`` of them),
    the first free to start anywhere from recording frame ``first_row``."""
    first_rows = np.full(len(ref.speech), -1, dtype=np.int64)
    cost_sum = np.zeros(len(ref.speech), dtype=np.float64)
    cost_count = np.zeros(len(ref.speech), dtype=np.int64)
    skipped = np.zeros(len(ref.speech), dtype=np.int64)
    kept = kept[:limit]
    start, row = 0, first_row
    while start < len(kept):
        stop = min(start + WINDOW_FRAMES, len(kept))
        final = stop == len(kept)
        columns = kept[start:stop]
        span = int(columns[-1] - columns[0]) + 1
        rows = int(ROW_FACTOR * span) + ROW_SLACK + (HEAD_ROWS if start == 0 else 0)
        path_rows, path_columns = _window(
            ref, rec, columns, row, rows, start == 0, unit, GARBAGE_COST if final else TAIL_COST
        )
        core = len(columns) if final else CORE_FRAMES
        inside = path_columns < core
        _record(ref, rec, columns, path_rows[inside], path_columns[inside], unit,
                first_rows, cost_sum, cost_count, skipped)  # fmt: skip
        if final:
            break
        row = int(path_rows[np.argmax(path_columns >= core)])
        start += core
    return Walk(first_rows, cost_sum, cost_count, skipped, _fill(first_rows))


def _read_part(
    reference: Reference, ref: Features, rec: Features, kept: IntArray, unit: float
) -> int | None:
    """The first sentence not read, if the recording is a reading of the script's start.

    With less speech than READ_SHARE of the script's, the sentences its speech would
    cover (at the reference's tempo, a quarter slower or a fifth faster) are aligned
    on their own; the first such start that matches well (a score at most
    PREFIX_SCORE: another text shorter than the script can match a few sentences
    under MATCH_SCORE) says where the reading stopped.
    """
    speech = [int(np.count_nonzero(ref.speech[a:b])) for a, b in reference.spans]
    said, heard = np.cumsum(speech), np.count_nonzero(rec.speech)
    if len(said) == 0 or heard >= READ_SHARE * said[-1]:
        return None
    for tempo in (1.0, 1.25, 0.8):
        unread = int(np.searchsorted(said, heard / tempo, side="right"))
        if unread < FAILED_RUN or unread >= len(said):
            continue
        last = reference.spans[unread - 1][1]
        walk = _pass(ref, rec, kept, unit, limit=int(np.searchsorted(kept, last)))
        part = replace(reference, sentences=reference.sentences[:unread])
        if _match_score(part, ref, rec, walk, unit)[0] <= PREFIX_SCORE:
            return unread
    return None


def _late_starts(reference: Reference, rec: Features, frames: IntArray) -> list[int]:
    """Where to look again for the reading's start, if the first sentence took too long.

    Music before the reading can cost less to match to the script's first sounds
    than to leave out: a chord of 10 to 30 s was spread over the first sentence.
    When the first sentence lasts over HEAD_STRETCH times what the median tempo
    gives it, the reading may start HEAD_MARGIN times that length before the
    sentence's end, or after a pause (of PAUSE_SECONDS): the one nearest that length
    before the end, up to that length after it (the first pass may end the sentence
    where the reading begins). Each is tried; the better match wins.
    """
    spans = [
        (a, min(b, len(frames) - 1)) for a, b in reference.spans if min(b, len(frames) - 1) > a
    ]
    if len(spans) < 2:
        return []
    tempi = [max(int(frames[b] - frames[a]), 1) / (b - a) for a, b in spans]
    tempo = float(np.median(tempi))
    (first, end), heard = spans[0], tempi[0]
    if heard <= HEAD_STRETCH * tempo:
        return []
    begins, ends = int(frames[first]), int(frames[end])
    length = round(tempo * (end - first))
    quiet = ~rec.speech[begins : ends + length]
    pause = round(PAUSE_SECONDS * FRAME_RATE)
    # The first frame of speech after each run of ``pause`` quiet frames.
    runs = np.convolve(quiet.astype(np.int64), np.ones(pause, dtype=np.int64), "valid")
    after = np.flatnonzero(runs == pause) + pause
    after = after[after < len(quiet)]
    after = begins + after[~quiet[after]]
    starts = [max(ends - round(HEAD_MARGIN * length), 0)]
    if len(after):
        starts.append(int(after[np.argmin(np.abs(after - (ends - length)))]))
    return starts


def _unmatched_at(
    reference: Reference, ref: Features, rec: Features, walk: Walk, unit: float
) -> int | None:
    """None if the recording reads as this script; else the sentence where it stops.

    The match score decides (_match_score), and where it fails is the first of
    FAILED_RUN sentences in a row whose median score is over STRETCH_SCORE, from
    the first of them over MATCH_SCORE (one sentence with a phrase left out is not
    enough): where the reading turns into
    something else, even if the whole passed. A whole that fails, fails there only
    after FAILED_RUN sentences or more that read as the script (their median score
    at most PREFIX_SCORE), else at the start: the scores of a short recording of
    another text rise at its end, where the script's last sentences are squeezed
    into what is left of it.
    """
    score, scores = _match_score(reference, ref, rec, walk, unit)
    turn = None
    if len(scores) >= FAILED_RUN:
        windows = np.lib.stride_tricks.sliding_window_view(scores, FAILED_RUN)
        over = np.flatnonzero(np.median(windows, axis=1) > STRETCH_SCORE)
        if len(over):
            first = int(over[0])
            turn = first + int(np.argmax(scores[first : first + FAILED_RUN] > MATCH_SCORE))
    if score <= MATCH_SCORE:
        return turn
    matched = turn is not None and turn >= FAILED_RUN
    return turn if matched and np.median(scores[:turn]) <= PREFIX_SCORE else 0


def _match_score(
    reference: Reference, ref: Features, rec: Features, walk: Walk, unit: float
) -> tuple[float, npt.NDArray[np.float64]]:
    """How unlike a reading of this script the recording is: overall, and per sentence.

    A recording much longer than the script lets the path pick, out of another
    text, the frames most like the script's, so an absolute cut-off on cost passes
    it. The baseline is the same DTW against the script's reference played
    backwards (the same sounds in no order anyone speaks them), over its first
    BASELINE_FRAMES: the cost of a text that is not this one, for this voice and this
    room. A reading of another text is also warped out of shape: its sentences come
    out far longer or shorter than the script's, where a narrator keeps to a tempo.
    Overall: the sentences' median cost over the baseline plus the spread of their
    tempi; per sentence: its cost over the baseline plus its tempo's distance from
    the median tempo. Infinite with no baseline (no speech matched at all).
    """
    count = len(reference.sentences)
    backwards = Features(ref.cepstra[::-1], ref.energy[::-1], ref.speech[::-1])
    base = _pass(backwards, rec, _shorten(backwards.speech), unit, BASELINE_FRAMES)
    base_sum, base_count = base.cost_sum, base.cost_count
    cost_sum, cost_count, frames = walk.cost_sum, walk.cost_count, walk.frames
    speech = backwards.speech & (base_count > 0)
    if not np.any(speech) or count == 0:
        return float("inf"), np.full(count, np.inf)
    baseline = float(base_sum[speech].sum() / base_count[speech].sum())
    means = np.full(count, np.inf)
    tempo = np.full(count, np.nan)
    for index, (first, end) in enumerate(reference.spans):
        last = max(min(end, len(frames) - 1), first + 1)
        counted = ref.speech[first:last] & (cost_count[first:last] > 0)
        if np.any(counted):
            total = cost_sum[first:last][counted].sum()
            means[index] = total / cost_count[first:last][counted].sum() / baseline
        if np.count_nonzero(ref.speech[first:last]) >= SPREAD_FRAMES and last < len(frames):
            heard = max(int(frames[last] - frames[first]), 1)
            tempo[index] = np.log(heard / (last - first))
    known = tempo[~np.isnan(tempo)]
    spread = float(np.std(known)) if len(known) > 1 else 0.0
    centre = float(np.median(known)) if len(known) else 0.0
    scores = means + np.nan_to_num(np.abs(tempo - centre), nan=0.0)
    return float(np.median(means)) + spread, scores


def _record(
    ref: Features,
    rec: Features,
    columns: IntArray,
    path_rows: IntArray,
    path_columns: IntArray,
    unit: float,
    first_rows: IntArray,
    cost_sum: npt.NDArray[np.float64],
    cost_count: IntArray,
    skipped: IntArray,
) -> None:
    """Note each path cell: the first recording frame of each reference frame, its costs,
    and the reference frames the path stepped over."""
    frames = columns[path_columns]
    difference = rec.cepstra[path_rows] - ref.cepstra[frames]
    cost = np.sqrt((difference * difference).sum(axis=1))
    _adjust(cost, rec.speech[path_rows], ref.speech[frames], unit)
    np.add.at(cost_sum, frames, cost)
    np.add.at(cost_count, frames, 1)
    # A reference frame the path stepped over costs what the step that skipped it landed
    # on, as in the DTW: a phrase left out is rushed through, not left out of the mean.
    if len(path_columns):
        passed = np.setdiff1d(np.arange(path_columns[0], path_columns[-1] + 1), path_columns)
        landing = np.searchsorted(path_columns, passed)
        np.add.at(cost_sum, columns[passed], cost[landing])
        np.add.at(cost_count, columns[passed], 1)
        np.add.at(skipped, columns[passed], 1)
    first = np.ones(len(frames), dtype=bool)
    first[1:] = frames[1:] != frames[:-1]
    first_rows[frames[first]] = path_rows[first]


def _fill(first_rows: IntArray) -> IntArray:
    """Recording frames for every reference frame: interpolated where the path skipped one."""
    known = np.flatnonzero(first_rows >= 0)
    everywhere = np.arange(len(first_rows))
    filled = np.interp(everywhere, known, first_rows[known].astype(np.float64))
    return np.maximum.accumulate(np.round(filled).astype(np.int64))


def _confidence(
    reference: Reference, ref: Features, walk: Walk, unit: float
) -> tuple[float, ...]:
    """Each sentence's confidence from its excess over the recording's matched speech.

    A sentence's mean path cost and share of skipped reference frames (over its
    speech) are each less their MATCHED_PERCENTILE over the sentences: the
    recording's own well-matched speech, so a stretch of another text does not
    raise the bar. A recording of another text throughout is left to _unmatched_at.
    """
    cost_sum, cost_count, skipped = walk.cost_sum, walk.cost_count, walk.skipped
    means, shares = [], []
    for first, end in reference.spans:
        last = max(end, first + 1)
        speech = ref.speech[first:last]
        count = int(cost_count[first:last][speech].sum())
        frames = int(np.count_nonzero(speech))
        if count == 0 or frames == 0:
            means.append(np.nan)
            shares.append(np.nan)
            continue
        means.append(float(cost_sum[first:last][speech].sum()) / count / unit)
        shares.append(float(skipped[first:last][speech].sum()) / frames)
    mean, share = np.array(means), np.array(shares)
    known = ~np.isnan(mean)
    if not np.any(known):
        return tuple(0.0 for _ in means)
    typical_mean = float(np.percentile(mean[known], MATCHED_PERCENTILE))
    typical_share = float(np.percentile(share[known], MATCHED_PERCENTILE))
    excess = mean - typical_mean + SKIP_WEIGHT * (share - typical_share)
    scores = np.clip((BAD_EXCESS - excess) / (BAD_EXCESS - GOOD_EXCESS), 0.0, 1.0)
    return tuple(float(score) if ok else 0.0 for score, ok in zip(scores, known, strict=True))


def _low_ranges(
    reference: Reference, confidence: tuple[float, ...], frames: IntArray
) -> tuple[tuple[int, int], ...]:
    """Recording-sample ranges of the sentences under LOW_CONFIDENCE, neighbours merged."""
    ranges: list[tuple[int, int]] = []
    for (start, end), score in zip(reference.spans, confidence, strict=True):
        if score >= LOW_CONFIDENCE:
            continue
        first = frames[min(start, len(frames) - 1)]
        last = frames[min(end, len(frames) - 1)]
        span = (int(first) * RECORDING_RATE // FRAME_RATE, int(last) * RECORDING_RATE // FRAME_RATE)
        if ranges and span[0] <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], span[1]))
        else:
            ranges.append(span)
    return tuple(ranges)


def _failed_at(confidence: tuple[float, ...]) -> int | None:
    """The first sentence of the first run of FAILED_RUN low-confidence ones (all, if fewer)."""
    needed = min(FAILED_RUN, len(confidence))
    run = 0
    for index, score in enumerate(confidence):
        run = run + 1 if score < LOW_CONFIDENCE else 0
        if needed and run >= needed:
            return index - run + 1
    return None


def _clock(seconds: float) -> str:
    """'1:05' for 65 s, '1:02:05' from an hour on."""
    whole = int(seconds)
    minutes = f"{whole // 60 % 60:02d}" if whole >= 3600 else f"{whole // 60}"
    return f"{whole // 3600}:" * (whole >= 3600) + f"{minutes}:{whole % 60:02d}"


def _failure(reference: Reference, index: int, sample: int) -> str:
    """The one line saying where the recording stops matching the script."""
    at = _clock(sample / RECORDING_RATE)
    return (
        f"the recording stops matching the script at {at} ({reference.name(index)}): "
        "is it a reading of this script?"
    )
