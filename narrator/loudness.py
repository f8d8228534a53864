"""Loudness: measure a programme as BS.1770, EBU R128 and ACX do, and master it to a preset."""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import os
import secrets
import stat
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from narrator.errors import OutputError, SettingError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.floating[Any]]
    Ints = NDArray[np.int64]
    Pcm = NDArray[np.int16]

Number = TypeVar("Number", bound="np.generic")

# numpy and scipy.signal are imported where the audio is touched, never with this
# module: settings parse presets here, and 'narrator --help' must stay fast
# (scipy.signal alone takes 0.6 s to import).

# --- presets -----------------------------------------------------------------------

#: A number given as a preset is a target in LUFS within this range.
LUFS_RANGE = (-40.0, -5.0)
#: A LUFS preset passes when the integrated loudness is this close to its target.
#: Apple Podcasts asks for -16 LKFS "+/- 1 dB"; the mastering lands within 0.2 LU,
#: and the issue's tests hold ffmpeg's measurement to 0.5 LU, so the check does too.
LUFS_TOLERANCE = 0.5
#: ACX's room tone: 0.5 to 1 s at the head of each file, 1 to 5 s at its tail.
ACX_HEAD = (0.5, 1.0)
ACX_TAIL = (1.0, 5.0)
#: The room tone laid under an audiobook: far under ACX's -60 dB noise floor, yet
#: real noise, so that ACX's checker finds no dead digital silence (it rejects it).
ROOM_TONE_DB = -70.0
ROOM_TONE_SEED = 1887


class Basis(StrEnum):
    """What a preset's gain aims at."""

    LUFS = "integrated loudness"
    RMS = "RMS"


@dataclass(frozen=True)
class Preset:
    """A loudness target and the rules a master must meet.

    ``ceiling_db`` limits the true peak (dBTP), which also bounds the sample peak.
    ``head_ms`` and ``tail_ms`` are the silences the plan must put at the start and
    the end of the programme; mastering fills them (and every pause) with room
    tone at ``room_tone_db``. ``rms_range`` and ``noise_floor_db`` are ACX's rules.
    """

    name: str
    basis: Basis
    target: float
    ceiling_db: float
    rms_range: tuple[float, float] | None = None
    noise_floor_db: float | None = None
    room_tone_db: float | None = None
    head_ms: int = 0
    tail_ms: int = 0

    @property
    def description(self) -> str:
        """The target and its rules in a few words, for the report."""
        if self.basis is Basis.LUFS:
            return f"{self.target:g} LUFS integrated, true peak <= {self.ceiling_db:g} dBTP"
        low, high = self.rms_range or (self.target, self.target)
        return (
            f"ACX: RMS {low:g} to {high:g} dB, peaks <= {self.ceiling_db:g} dB, "
            f"noise floor <= {self.noise_floor_db:g} dB, room tone "
            f"{self.head_ms / 1000:g} s head and {self.tail_ms / 1000:g} s tail"
        )


PODCAST = Preset("podcast", Basis.LUFS, -16.0, -1.0)
YOUTUBE = Preset("youtube", Basis.LUFS, -14.0, -1.0)
AUDIOBOOK = Preset(
    "audiobook",
    Basis.RMS,
    -20.0,  # the middle of ACX's -23 to -18 dB
    -3.0,
    rms_range=(-23.0, -18.0),
    noise_floor_db=-60.0,
    room_tone_db=ROOM_TONE_DB,
    head_ms=750,  # ACX: 0.5 to 1 s
    tail_ms=2500,  # ACX: 1 to 5 s
)
PRESETS = {p.name: p for p in (PODCAST, YOUTUBE, AUDIOBOOK)}
CHOICES = (
    f"choose off, {', '.join(PRESETS)}, or a target in LUFS from "
    f"{LUFS_RANGE[0]:g} to {LUFS_RANGE[1]:g} such as -18"
)


def preset(spec: str) -> Preset | None:
    """The preset named ``spec`` ('off': None), or a LUFS target such as '-18'; SettingError."""
    name = spec.strip().lower()
    if name == "off":
        return None
    if name in PRESETS:
        return PRESETS[name]
    number = name.removesuffix("lufs").strip()
    try:
        target = float(number)
    except ValueError:
        raise SettingError(f"unknown loudness preset '{spec}': {CHOICES}") from None
    low, high = LUFS_RANGE
    if not low <= target <= high:  # also refuses nan and inf
        raise SettingError(f"loudness target {target:g} LUFS is out of range: {CHOICES}")
    return Preset(f"{target:g} LUFS", Basis.LUFS, target, PODCAST.ceiling_db)


# --- reports -----------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """A programme's levels; -inf where there is nothing to measure (silence).

    ``integrated_lufs`` and ``loudness_range_lu`` follow ITU-R BS.1770-4 and EBU
    Tech 3342; ``true_peak_dbtp`` is the peak of the signal oversampled 4 times,
    refined between the oversampled points; ``rms_db`` is the RMS of the whole
    file with full scale at 0 dB (a full-scale sine is -3 dB, as in Audacity and
    ACX's checker); ``noise_floor_db`` is the RMS of the quietest 500 ms, as ACX's
    checker measures it (digital silence counts, as -inf); ``head_s`` and
    ``tail_s`` are the quiet stretches before the first and after the last sample
    at or above SPEECH_DBFS.
    """

    rate: int
    samples: int
    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    sample_peak_dbfs: float
    rms_db: float
    noise_floor_db: float
    head_s: float
    tail_s: float


@dataclass(frozen=True)
class Check:
    """One rule of a preset, the value measured for it, and whether it holds."""

    name: str
    value: float
    limit: str
    passed: bool


@dataclass(frozen=True)
class LoudnessReport:
    """What mastering did and what the result measures, with a check per rule of its preset.

    A measure-only report (``measure_report``, for preset 'off') has no preset,
    no gain and no checks.
    """

    preset: str | None
    target: str
    #: What the gain aimed at; None for a measure-only report.
    basis: Basis | None
    #: What the result measures.
    measured: Measurement
    gain_db: float
    #: The deepest cut the true-peak limiter made (<= 0 dB).
    limiter_db: float
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Whether every check holds (True when there are none)."""
        return all(check.passed for check in self.checks)


def checks(preset: Preset, measured: Measurement) -> tuple[Check, ...]:
    """Each rule of ``preset`` against ``measured``."""
    peak = measured.true_peak_dbtp
    if preset.basis is Basis.LUFS:
        level = measured.integrated_lufs
        return (
            Check(
                "integrated loudness",
                level,
                f"{preset.target:g} +/- {LUFS_TOLERANCE:g} LUFS",
                abs(level - preset.target) <= LUFS_TOLERANCE,
            ),
            Check("true peak", peak, f"<= {preset.ceiling_db:g} dBTP", peak <= preset.ceiling_db),
        )
    low, high = preset.rms_range or (preset.target, preset.target)
    floor = measured.noise_floor_db
    most = preset.noise_floor_db if preset.noise_floor_db is not None else 0.0
    return (
        Check("RMS", measured.rms_db, f"{low:g} to {high:g} dB", low <= measured.rms_db <= high),
        Check("peak", peak, f"<= {preset.ceiling_db:g} dB (true peak)", peak <= preset.ceiling_db),
        Check("noise floor", floor, f"<= {most:g} dB", floor <= most),
        Check("room tone", floor, "not digital silence", floor > -math.inf),
        Check(
            "head",
            measured.head_s,
            f"{ACX_HEAD[0]:g} to {ACX_HEAD[1]:g} s",
            _within(measured.head_s, ACX_HEAD),
        ),
        Check(
            "tail",
            measured.tail_s,
            f"{ACX_TAIL[0]:g} to {ACX_TAIL[1]:g} s",
            _within(measured.tail_s, ACX_TAIL),
        ),
    )


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def _figure(value: float, unit: str) -> str:
    """'-16.0 LUFS', or '-inf LUFS' for silence."""
    return f"{value:.1f} {unit}" if math.isfinite(value) else f"-inf {unit}"


def report_line(report: LoudnessReport) -> str:
    """One line for the render summary, such as 'loudness   podcast: -16.0 LUFS, ...: pass'."""
    m = report.measured
    if report.basis is Basis.RMS:
        figures = (
            f"RMS {_figure(m.rms_db, 'dB')}, peak {_figure(m.true_peak_dbtp, 'dB')}, "
            f"noise floor {_figure(m.noise_floor_db, 'dB')}"
        )
    else:
        figures = (
            f"{_figure(m.integrated_lufs, 'LUFS')}, LRA {m.loudness_range_lu:.1f} LU, "
            f"true peak {_figure(m.true_peak_dbtp, 'dBTP')}"
        )
    if report.preset is None:
        return f"{'loudness':<10} {figures} (not mastered)"
    failed = [check.name for check in report.checks if not check.passed]
    verdict = f"FAIL ({', '.join(failed)})" if failed else "pass"
    return f"{'loudness':<10} {report.preset}: {figures}: {verdict}"


#: The levels of a Measurement the manifest reports.
REPORTED = (
    "integrated_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "rms_db",
    "noise_floor_db",
)


def _rounded(value: float) -> float | None:
    """``value`` to 0.01, or None for -inf (JSON has no infinities)."""
    return round(value, 2) if math.isfinite(value) else None


def report_data(report: LoudnessReport) -> dict[str, object]:
    """The report for the JSON manifest: levels to 0.01 dB, silence as null."""
    return {
        "preset": report.preset,
        "target": report.target,
        "basis": report.basis.value if report.basis is not None else None,
        **{name: _rounded(getattr(report.measured, name)) for name in REPORTED},
        "gain_db": _rounded(report.gain_db),
        "limiter_db": _rounded(report.limiter_db),
        "checks": [
            {
                "name": check.name,
                "value": _rounded(check.value),
                "limit": check.limit,
                "passed": check.passed,
            }
            for check in report.checks
        ],
        "passed": report.passed if report.preset is not None else None,
    }


def _report(
    preset: Preset | None, measured: Measurement, gain_db: float, limiter_db: float
) -> LoudnessReport:
    return LoudnessReport(
        preset=preset.name if preset is not None else None,
        target=preset.description if preset is not None else "measured only",
        basis=preset.basis if preset is not None else None,
        measured=measured,
        gain_db=gain_db,
        limiter_db=limiter_db,
        checks=checks(preset, measured) if preset is not None else (),
    )


# --- reading a WAV in pieces -------------------------------------------------------

FULL_SCALE = 32768.0


class WavReader:
    """A mono 16-bit PCM WAV file read in pieces, by position: never held whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise OutputError(f"{path}: cannot read the audio: {exc.strerror}") from None
        try:
            self.rate, self.data_offset, self.frames = _wav_layout(self._file, path)
        except BaseException:
            self._file.close()
            raise

    def read(self, start: int, stop: int) -> Pcm:
        """Samples ``start`` to ``stop``; zeros where that reaches outside the file."""
        import numpy as np

        out = np.zeros(stop - start, dtype="<i2")
        first, last = max(start, 0), min(stop, self.frames)
        if last > first:
            self._file.seek(self.data_offset + 2 * first)
            data = self._file.read(2 * (last - first))
            if len(data) != 2 * (last - first):
                raise OutputError(f"{self.path}: the audio ends before its header says")
            out[first - start : last - start] = np.frombuffer(data, dtype="<i2")
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> WavReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _wav_layout(handle: IO[bytes], path: Path) -> tuple[int, int, int]:
    """Rate, offset of the samples and their count in a mono 16-bit PCM WAV; OutputError."""
    header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise OutputError(f"{path}: not a WAV file")
    rate = 0
    while True:
        chunk = handle.read(8)
        if len(chunk) < 8:
            raise OutputError(f"{path}: a WAV file without audio data")
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"fmt ":
            fmt = handle.read(size + size % 2)
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
            if tag != 1 or channels != 1 or bits != 16:  # 1: integer PCM
                raise OutputError(
                    f"{path}: mastering reads mono 16-bit PCM WAV, not {channels} channel(s) "
                    f"of {bits}-bit audio (format {tag})"
                )
        elif kind == b"data":
            if not rate:
                raise OutputError(f"{path}: a WAV file without its format chunk")
            offset = handle.tell()
            available = os.fstat(handle.fileno()).st_size - offset
            return rate, offset, min(size, available) // 2
        else:
            handle.seek(size + size % 2, os.SEEK_CUR)


# --- K-weighting -------------------------------------------------------------------


def k_weighting(rate: int) -> Floats:
    """The BS.1770 K-weighting at ``rate`` as second-order sections (shelf, then high-pass).

    BS.1770 gives its coefficients at 48 kHz only. These come from the analog
    prototypes behind them (a 4 dB high shelf at 1682 Hz, a 38 Hz high-pass),
    through the bilinear transform pre-warped at each corner, as libebur128 and
    ffmpeg do, so every rate gets the same response.
    """
    import numpy as np

    shelf_hz, shelf_db, shelf_q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * shelf_hz / rate)
    high = 10 ** (shelf_db / 20)
    band = high**0.4996667741545416  # the shelf's mid-band gain, fitted to the 48 kHz filter
    norm = 1 + k / shelf_q + k * k
    shelf = [
        (high + band * k / shelf_q + k * k) / norm,
        2 * (k * k - high) / norm,
        (high - band * k / shelf_q + k * k) / norm,
        1.0,
        2 * (k * k - 1) / norm,
        (1 - k / shelf_q + k * k) / norm,
    ]
    pass_hz, pass_q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * pass_hz / rate)
    norm = 1 + k / pass_q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / norm, (1 - k / pass_q + k * k) / norm]
    return np.array([shelf, highpass])


# --- true peak ---------------------------------------------------------------------

OVERSAMPLING = 4
#: Taps on each side of an interpolated point, and their window: as long and as
#: steep as ffmpeg's resampler (32 taps, Kaiser 9), whose true peaks are the
#: reference; 16 taps read 0.1 dB low where the audio is rich near half the rate.
HALF_TAPS = 16
KAISER_BETA = 9.0
#: Between two of its points 4 times oversampled, a signal band-limited to half the
#: sample rate rises at most by 1/cos(pi/8) (0.69 dB); a refined peak is capped there.
REFINE_CAP = 1 / math.cos(math.pi / (2 * OVERSAMPLING))


def interpolators() -> Floats:
    """Kaiser-windowed sinc filters, one per fractional position 1/4, 2/4, 3/4.

    Row p - 1 gives the point p/4 of the way from sample n to n + 1 as a sum over
    samples n - HALF_TAPS + 1 to n + HALF_TAPS. Each row sums to 1, so a constant
    signal stays constant.
    """
    import numpy as np

    offsets = np.arange(-HALF_TAPS + 1, HALF_TAPS + 1, dtype=np.float64)
    rows = []
    for phase in range(1, OVERSAMPLING):
        t = offsets - phase / OVERSAMPLING
        window = np.i0(KAISER_BETA * np.sqrt(1 - (t / (HALF_TAPS + 1)) ** 2)) / np.i0(KAISER_BETA)
        row = np.sinc(t) * window
        rows.append(row / row.sum())
    return np.array(rows)


def peak_bound(filters: Floats) -> float:
    """How far a true peak can rise above the largest sample within HALF_TAPS of it.

    An interpolated point is a weighted sum of the samples around it, so it is at
    most the sum of its weights' magnitudes times their largest sample; the
    refinement adds at most REFINE_CAP. This is a bound, not an estimate: a stretch
    whose samples all lie below the best peak found divided by it cannot hold a
    higher true peak, so only the stretches above need oversampling.
    """
    return float(max(1.0, abs(filters).sum(axis=1).max())) * REFINE_CAP


def _runs(mask: NDArray[np.bool_]) -> tuple[Ints, Ints]:
    """Starts and stops of the runs of True in ``mask``."""
    import numpy as np

    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _aranges(starts: Ints, stops: Ints) -> Ints:
    """The concatenation of range(start, stop) for each pair, vectorized."""
    import numpy as np

    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shifts = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(total, dtype=np.int64) + shifts


#: Groups up to this wide are reduced column by column: numpy's own reduction of a
#: short inner axis is several times slower.
NARROW = 32


def group_max(values: NDArray[Number], size: int) -> NDArray[Number]:
    """The largest of each ``size`` consecutive values (a whole number of groups)."""
    import numpy as np

    groups = values.reshape(-1, size)
    if size > NARROW:
        return cast("NDArray[Number]", np.max(groups, axis=1))
    out = groups[:, 0].copy()
    for column in range(1, size):  # numpy reduces a short inner axis slowly
        np.maximum(out, groups[:, column], out=out)
    return out


def group_min(values: NDArray[Number], size: int) -> NDArray[Number]:
    """The smallest of each ``size`` consecutive values (a whole number of groups)."""
    import numpy as np

    groups = values.reshape(-1, size)
    out = groups[:, 0].copy()
    for column in range(1, size):
        np.minimum(out, groups[:, column], out=out)
    return out


def group_sum(values: Floats, size: int) -> Floats:
    """The sum of each ``size`` consecutive values (a whole number of groups)."""
    import numpy as np

    groups = values.reshape(-1, size)
    if size > NARROW:
        return cast("Floats", np.sum(groups, axis=1))
    out = groups[:, 0].copy()
    for column in range(1, size):
        np.add(out, groups[:, column], out=out)
    return out


def running_max(values: Floats, width: int) -> Floats:
    """The largest of each ``width`` consecutive values: len(values) - width + 1 of them."""
    import numpy as np

    count = len(values) - width + 1
    out = values[:count].copy()
    for shift in range(1, width):
        np.maximum(out, values[shift : shift + count], out=out)
    return out


def running_min(values: Floats, width: int) -> Floats:
    """The smallest of each ``width`` consecutive values: len(values) - width + 1 of them.

    Minima of 2, 4, 8... values, then two overlapping ones: log2(width) passes.
    """
    import numpy as np

    span, out = 1, values
    while 2 * span <= width:
        out = np.minimum(out[:-span], out[span:])
        span *= 2
    if span < width:
        out = np.minimum(out[: len(out) - (width - span)], out[width - span :])
    return out


def step_peaks(
    pcm: Pcm,
    margin: int,
    starts: Ints,
    stops: Ints,
    step: int,
    filters: Floats,
    floor: float,
) -> Floats:
    """The true peak (linear) of each step of the runs [start, stop) of ``step``-sample steps.

    ``pcm`` holds the audio with ``margin`` (> HALF_TAPS) samples of context
    before step 0 and after the last step. A step's peak covers the stretch from
    each of its samples to the next. Only points that may reach ``floor`` are refined.
    """
    import numpy as np

    if len(starts) == 0:
        return np.zeros(0)
    # Each run is computed from the sample before it to the sample after it, so
    # that every point of the run has both neighbours for the refinement.
    points = (stops - starts) * step
    first = starts * step - 1 - HALF_TAPS + 1 + margin
    # Single precision is exact for 16-bit samples and 32-term sums, and quicker.
    window = pcm[_aranges(first, first + points + 2 * HALF_TAPS + 1)] * np.float32(1 / FULL_SCALE)
    # Run r's outputs start at its taps' offset; its own points follow its first.
    offsets = np.concatenate(([0], np.cumsum(points + 2 * HALF_TAPS + 1)[:-1]))
    inner = _aranges(offsets + 1, offsets + 1 + points)
    count = len(window) - 2 * HALF_TAPS + 1
    phases = [window[HALF_TAPS - 1 : HALF_TAPS - 1 + count]]
    phases += [np.correlate(window, row.astype(np.float32), "valid") for row in filters]
    level = np.abs(phases[0])
    for phase in phases[1:]:
        np.maximum(level, np.abs(phase), out=level)
    peaks = level[inner]
    tops = group_max(peaks, step)
    # Only a point that, refined, could top its step and reach the floor is refined.
    reach = np.maximum(np.repeat(tops, step), floor)
    refine = np.flatnonzero(peaks * REFINE_CAP >= reach)
    if len(refine):
        peaks[refine] = _refined(phases, inner[refine])
        tops = group_max(peaks, step)
    return tops


def _refined(phases: list[Floats], points: Ints) -> Floats:
    """The top of each point's oversampled stretch, each local maximum raised to its parabola.

    The oversampled points straddle a peak; the parabola through the highest and
    its neighbours finds the top within a few hundredths of a dB of 16 times
    oversampling, at the cost of three points. Capped by REFINE_CAP.
    """
    import numpy as np

    # The point's four values, with the last of the point before and the first after.
    around = np.abs(
        np.stack(
            [phases[-1][points - 1], *(phase[points] for phase in phases), phases[0][points + 1]],
            axis=1,
        )
    )
    middle, before, after = around[:, 1:-1], around[:, :-2], around[:, 2:]
    curve = 2 * middle - before - after
    top = (middle >= before) & (middle >= after) & (curve > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.where(top, (after - before) ** 2 / (8 * curve), 0.0)
    return cast("Floats", np.max(np.minimum(middle + rise, middle * REFINE_CAP), axis=1))


# --- measuring ---------------------------------------------------------------------

#: Loudness is integrated over 100 ms sub-blocks: 4 make a gating block, 30 a
#: short-term window, 5 a noise-floor window.
SUBBLOCKS_PER_SECOND = 10
GATE_SUBBLOCKS = 4
SHORT_TERM_SUBBLOCKS = 30
NOISE_SUBBLOCKS = 5
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
LRA_RELATIVE_GATE = -20.0
LRA_PERCENTILES = (10, 95)
#: Samples at or above this level count as programme for the head and the tail.
SPEECH_DBFS = -45.0
#: The pieces a file is read in: 100 sub-blocks, 10 s.
CHUNK_SUBBLOCKS = 100


def _db(power: float) -> float:
    """10 log10 of a power, -inf for zero."""
    return 10 * math.log10(power) if power > 0 else -math.inf


def subblock_length(rate: int) -> int:
    """Samples in a 100 ms sub-block (as ffmpeg counts them: rate // 10)."""
    return max(1, rate // SUBBLOCKS_PER_SECOND)


def envelope_step(rate: int) -> int:
    """The limiter's envelope resolution: a divisor of the sub-block near 0.4 ms."""
    length = subblock_length(rate)
    wanted = max(1, round(rate / 2500))
    return max(d for d in range(1, wanted + 1) if length % d == 0)


class Meter:
    """Keeps, sub-block by sub-block, what a programme's levels are computed from.

    Fed in order with pieces whose lengths are whole sub-blocks (but the last).
    What it keeps grows by three numbers per 100 ms, never by sample.
    """

    def __init__(self, rate: int) -> None:
        import numpy as np

        self.rate = rate
        self.length = subblock_length(rate)
        self._sos = k_weighting(rate)
        self._state = np.zeros((2, 2))
        self._weighted: list[Floats] = []
        self._energy: list[Floats] = []
        self._peaks: list[Floats] = []
        self.samples = 0
        self.total_energy = 0.0
        self.peak = 0.0
        self._loud = 10 ** (SPEECH_DBFS / 20)
        self.first_loud: int | None = None
        self.last_loud: int | None = None

    def feed(self, pcm: Pcm) -> Floats:
        """Add the next samples; return them K-weighted."""
        import numpy as np
        from scipy.signal import sosfilt

        samples = pcm / FULL_SCALE
        weighted, self._state = sosfilt(self._sos, samples, zi=self._state)
        whole = len(pcm) // self.length * self.length
        rows = (-1, self.length)
        filtered, plain = weighted[:whole].reshape(rows), samples[:whole].reshape(rows)
        square = np.einsum("ij,ij->i", filtered, filtered)
        energy = np.einsum("ij,ij->i", plain, plain)
        high = pcm[:whole].reshape(rows).max(axis=1).astype(np.int32)
        low = pcm[:whole].reshape(rows).min(axis=1).astype(np.int32)
        peaks = np.maximum(high, -low) / FULL_SCALE
        if whole < len(pcm):  # the last, partial sub-block: its peak still counts
            rest = np.abs(pcm[whole:].astype(np.int32)).max() / FULL_SCALE
            peaks = np.concatenate((peaks, [rest]))
        self._weighted.append(square)
        self._energy.append(energy)
        self._peaks.append(peaks)
        self.total_energy += float(energy.sum()) + float(np.dot(samples[whole:], samples[whole:]))
        if len(peaks):
            self.peak = max(self.peak, float(peaks.max()))
        self._find_loud(pcm, peaks)
        self.samples += len(pcm)
        return cast("Floats", weighted)

    def _find_loud(self, pcm: Pcm, peaks: Floats) -> None:
        """Note the first and the last sample at or above SPEECH_DBFS, from the loud sub-blocks."""
        import numpy as np

        loud = np.flatnonzero(peaks >= self._loud)
        if len(loud) == 0:
            return
        threshold = self._loud * FULL_SCALE
        if self.first_loud is None:
            start = int(loud[0]) * self.length
            piece = np.abs(pcm[start : start + self.length].astype(np.int32)) >= threshold
            self.first_loud = self.samples + start + int(piece.argmax())
        start = int(loud[-1]) * self.length
        piece = np.abs(pcm[start : start + self.length].astype(np.int32)) >= threshold
        self.last_loud = self.samples + start + len(piece) - 1 - int(piece[::-1].argmax())

    def subblock_peaks(self) -> Floats:
        import numpy as np

        return np.concatenate(self._peaks) if self._peaks else np.zeros(0)

    def weighted_energy(self) -> Floats:
        """Sum of the squared K-weighted samples of each whole sub-block."""
        import numpy as np

        return np.concatenate(self._weighted) if self._weighted else np.zeros(0)

    def measurement(self, true_peak: float) -> Measurement:
        """The levels so far, with ``true_peak`` (linear) found separately."""
        import numpy as np

        weighted = self.weighted_energy()
        energy = np.concatenate(self._energy) if self._energy else np.zeros(0)
        samples = max(self.samples, 1)
        head = self.first_loud if self.first_loud is not None else self.samples
        tail = self.samples - 1 - self.last_loud if self.last_loud is not None else self.samples
        return Measurement(
            rate=self.rate,
            samples=self.samples,
            integrated_lufs=integrated_loudness(weighted, self.length),
            loudness_range_lu=loudness_range(weighted, self.length),
            true_peak_dbtp=20 * math.log10(true_peak) if true_peak > 0 else -math.inf,
            sample_peak_dbfs=20 * math.log10(self.peak) if self.peak > 0 else -math.inf,
            rms_db=_db(self.total_energy / samples),
            noise_floor_db=noise_floor(energy, self.length, self.total_energy / samples),
            head_s=head / self.rate,
            tail_s=tail / self.rate,
        )


def _windows(energy: Floats, width: int) -> Floats:
    """Sums of ``width`` consecutive sub-blocks, one per sub-block step."""
    import numpy as np

    if len(energy) < width:
        return np.zeros(0)
    total = np.concatenate(([0.0], np.cumsum(energy)))
    return total[width:] - total[:-width]


def _loudness(power: Floats) -> Floats:
    import numpy as np

    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def integrated_loudness(weighted: Floats, length: int) -> float:
    """BS.1770-4 gated loudness of 400 ms blocks every 100 ms; -inf when all are gated out."""
    power = _windows(weighted, GATE_SUBBLOCKS) / (GATE_SUBBLOCKS * length)
    loud = power[_loudness(power) >= ABSOLUTE_GATE]
    if len(loud) == 0:
        return -math.inf
    relative = -0.691 + _db(float(loud.mean())) + RELATIVE_GATE
    kept = loud[_loudness(loud) >= relative]
    return -0.691 + _db(float(kept.mean()))


def loudness_range(weighted: Floats, length: int) -> float:
    """EBU Tech 3342 loudness range of 3 s windows every 100 ms; 0 when too short or silent.

    Percentiles by nearest rank, as ffmpeg's ebur128 takes them.
    """
    import numpy as np

    power = _windows(weighted, SHORT_TERM_SUBBLOCKS) / (SHORT_TERM_SUBBLOCKS * length)
    loud = power[_loudness(power) >= ABSOLUTE_GATE]
    if len(loud) == 0:
        return 0.0
    relative = -0.691 + _db(float(loud.mean())) + LRA_RELATIVE_GATE
    levels = np.sort(_loudness(loud))
    levels = levels[levels >= relative]
    low, high = (max(0, int(p * len(levels) / 100 + 0.5) - 1) for p in LRA_PERCENTILES)
    return float(levels[high] - levels[low])


def noise_floor(energy: Floats, length: int, mean_power: float) -> float:
    """RMS of the quietest 500 ms (windows every 100 ms), as ACX's checker measures it.

    Digital silence gives -inf, which ACX's checker flags; a file shorter than the
    window gives its own RMS.
    """
    windows = _windows(energy, NOISE_SUBBLOCKS)
    if len(windows) == 0:
        return _db(mean_power)
    return _db(float(windows.min()) / (NOISE_SUBBLOCKS * length))


def _chunks(frames: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, frames, size):
        yield start, min(start + size, frames)


def _scan(source: WavReader) -> Meter:
    """One pass over ``source`` through a Meter."""
    meter = Meter(source.rate)
    for start, stop in _chunks(source.frames, CHUNK_SUBBLOCKS * meter.length):
        meter.feed(source.read(start, stop))
    return meter


class PeakFinder:
    """True peaks of the steps of a WavReader that may reach a floor, oversampled where they can."""

    def __init__(self, source: WavReader) -> None:
        self.source = source
        self.filters = interpolators()
        self.bound = peak_bound(self.filters)
        self.step = envelope_step(source.rate)
        # Steps whose samples reach into a step's points, and the context to read.
        self.reach = -(-HALF_TAPS // self.step)
        self.margin = self.reach * self.step + HALF_TAPS + 1

    def above(self, first: int, last: int, floor: float) -> tuple[Ints, Floats]:
        """Steps ``first`` to ``last`` (exclusive) that may peak above ``floor``, and their peaks.

        The peaks are linear, full scale 1.0; a step whose neighbourhood's samples,
        times the peak bound, stay under ``floor`` is not oversampled nor returned.
        """
        import numpy as np

        step, reach, margin = self.step, self.reach, self.margin
        pcm = self.source.read(first * step - margin, last * step + margin)
        count = last - first
        around = pcm[margin - reach * step : margin + (count + reach) * step]
        local = np.maximum(group_max(around, step), -group_min(around, step).astype(np.int32))
        near = running_max(local, 2 * reach + 1) / FULL_SCALE
        starts, stops = _runs(near * self.bound > floor)
        if len(starts) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        peaks = step_peaks(pcm, margin, starts, stops, step, self.filters, floor)
        return _aranges(starts, stops) + first, peaks


def true_peak(source: WavReader, subblock_peaks: Floats) -> float:
    """The largest true peak of ``source`` (linear), oversampling only where it can be.

    Chunks are visited loudest first; a chunk, or a step of one, whose samples
    around it, times the peak bound, cannot beat the best peak found so far is
    never oversampled.
    """
    import numpy as np

    if len(subblock_peaks) == 0 or subblock_peaks.max() == 0:
        return 0.0
    finder = PeakFinder(source)
    length = subblock_length(source.rate)
    per_step = length // finder.step
    total_steps = -(-source.frames // finder.step)
    best = float(subblock_peaks.max())
    # A chunk's points can reach the samples of the sub-blocks on either side of it.
    nearby = subblock_peaks.copy()
    nearby[1:] = np.maximum(nearby[1:], subblock_peaks[:-1])
    nearby[:-1] = np.maximum(nearby[:-1], subblock_peaks[1:])
    chunks = [nearby[i : i + CHUNK_SUBBLOCKS].max() for i in range(0, len(nearby), CHUNK_SUBBLOCKS)]
    for index in np.argsort(-np.array(chunks), kind="stable"):
        if chunks[index] * finder.bound <= best:
            break
        first = int(index) * CHUNK_SUBBLOCKS * per_step
        last = min(first + CHUNK_SUBBLOCKS * per_step, total_steps)
        _, peaks = finder.above(first, last, best)
        if len(peaks):
            best = max(best, float(peaks.max()))
    return best


def measure(wav: Path) -> Measurement:
    """Measure a mono 16-bit WAV file without changing it."""
    with WavReader(wav) as source:
        meter = _scan(source)
        return meter.measurement(true_peak(source, meter.subblock_peaks()))


def measure_report(wav: Path) -> LoudnessReport:
    """A report of ``wav`` as it is, with no preset: for --loudness off."""
    return _report(None, measure(wav), 0.0, 0.0)


# --- mastering ---------------------------------------------------------------------

#: The limiter aims this far under the ceiling: true peaks here read within 0.03 dB
#: of ffmpeg's, and the gain envelope bends a little inside an interpolator's reach.
MARGIN_DB = 0.1
#: The limiter's gain falls over ATTACK_MS before a peak (it looks ahead: the file is
#: all there) and recovers after it exponentially in dB with RELEASE_MS as time
#: constant: a deep cut recovers as fast as a shallow one, so the syllable after a
#: loud one is not dulled, and the gain never moves fast enough to pump or buzz.
ATTACK_MS = 3.0
RELEASE_MS = 50.0
#: Gains tried at once, from the one that would hit the target without limiting
#: up: the limiter takes loudness away, so the gain that hits it lies above, the
#: more so the farther the peaks stand over the ceiling (see _first_gains).
TRIALS = 6
#: The trials are aimed from a guess of the level made on GUESS_CHUNKS chunks spread
#: over the file, and reach GUESS_SLACK dB past it each way: a narration's level
#: hardly moves. A guess that misses costs a search of its own (_choose_gain).
GUESS_CHUNKS = 8
GUESS_SLACK = 0.5
#: Rounds of trials at most; after the first, each aims where the last pointed.
ROUNDS = 4
#: A master that lands farther than this from its target is made once more, with
#: the gain corrected by what was missed.
RETRY_LU = 0.1
#: A master whose true peak still breaks the ceiling is made once more with the
#: limiter aiming this much further under it than the excess.
OVERSHOOT_DB = 0.05
#: The room tone is this long a loop.
ROOM_TONE_SECONDS = 12.0
#: Room tone peaks stay under this many times its RMS (a 1-in-10^9 Gaussian excursion).
ROOM_TONE_CREST = 6.0


@dataclass(frozen=True)
class Limiter:
    """The limiter's shape, in envelope steps of ``step`` samples."""

    step: int
    attack: int
    #: Steps held at a peak's gain before and after its own step: every point an
    #: interpolator computes from the peak's samples sees that same gain.
    before: int
    after: int
    #: log of the share of a cut (in dB) left after one step of release.
    release: float

    @classmethod
    def at(cls, rate: int) -> Limiter:
        step = envelope_step(rate)
        reach = -(-HALF_TAPS // step)
        attack = max(1, round(ATTACK_MS / 1000 * rate / step))
        return cls(step, attack, reach, reach + 1, -step / (RELEASE_MS / 1000 * rate))

    @property
    def lead(self) -> int:
        """Steps of peaks needed before the first step of an envelope."""
        return self.attack + self.after

    @property
    def lag(self) -> int:
        """Steps of peaks needed after the last step of an envelope."""
        return self.attack + self.before

    def envelope(self, peaks_db: Floats, threshold_db: float, state: float) -> Floats:
        """Gain in dB (<= 0) of each step, from peaks ``lead`` steps before to ``lag`` after them.

        ``state`` is the gain of the step before the first. The gain at a peak's
        step, and ``before`` and ``after`` steps around it, holds the peak at the
        threshold; before that it falls linearly in dB over ``attack`` steps,
        after it the cut decays exponentially.
        """
        import numpy as np

        cut = np.minimum(0.0, threshold_db - peaks_db)
        held = running_min(cut, self.after + self.attack + self.before + 1)
        # held[i] holds for step i - attack; each step averages the attack before it.
        total = np.concatenate(([0.0], np.cumsum(held)))
        falling = (total[self.attack + 1 :] - total[: -self.attack - 1]) / (self.attack + 1)
        # The release: depth[j] = max(depth of the fall at j, depth[j - 1] * shrink).
        # Scaled by growth[j] = shrink ** -j, that is a running maximum. A chunk is
        # CHUNK_SUBBLOCKS / 10 s long, so growth stays under e ** (10 s / RELEASE_MS).
        growth = _growth(self.release, len(falling))
        start = -state * math.exp(self.release)
        depth = np.maximum.accumulate(np.maximum(-falling * growth, start)) / growth
        return -depth


@functools.lru_cache(maxsize=4)
def _growth(release: float, count: int) -> Floats:
    """exp(-release * j) for j = 0 .. count - 1: one chunk's release, undone."""
    import numpy as np

    return np.exp(-release * np.arange(count, dtype=np.float64))


@dataclass(frozen=True)
class Peaks:
    """True peaks (linear) of the steps that reach ``floor``, by step, sorted."""

    steps: NDArray[np.signedinteger[Any]]
    values: Floats
    floor: float

    def window_db(self, first: int, last: int) -> Floats:
        """Peaks of steps ``first`` to ``last`` in dBFS, -inf where under the floor."""
        import numpy as np

        out = np.full(last - first, -np.inf)
        low, high = np.searchsorted(self.steps, [first, last])
        with np.errstate(divide="ignore"):
            out[self.steps[low:high] - first] = 20 * np.log10(self.values[low:high])
        return out


def find_peaks(source: WavReader, subblock_peaks: Floats, floor: float) -> Peaks:
    """Every step of ``source`` whose true peak reaches ``floor`` (linear)."""
    import numpy as np

    finder = PeakFinder(source)
    per_chunk = CHUNK_SUBBLOCKS * (subblock_length(source.rate) // finder.step)
    total_steps = -(-source.frames // finder.step)
    nearby = subblock_peaks.copy()
    nearby[1:] = np.maximum(nearby[1:], subblock_peaks[:-1])
    nearby[:-1] = np.maximum(nearby[:-1], subblock_peaks[1:])
    steps: list[Ints] = []
    values: list[Floats] = []
    for number, first in enumerate(range(0, total_steps, per_chunk)):
        around = nearby[number * CHUNK_SUBBLOCKS : (number + 1) * CHUNK_SUBBLOCKS]
        if len(around) == 0 or around.max() * finder.bound <= floor:
            continue
        found, peaks = finder.above(first, min(first + per_chunk, total_steps), floor)
        loud = peaks >= floor
        steps.append(_compact_steps(found[loud]))
        values.append(peaks[loud].astype(np.float32))
    if not steps:
        return Peaks(np.zeros(0, dtype=np.int64), np.zeros(0), floor)
    return Peaks(np.concatenate(steps), np.concatenate(values), floor)


def _compact_steps(steps: Ints) -> NDArray[np.signedinteger[Any]]:
    """Step numbers in 32 bits while they fit (a day of 192 kHz audio does): peaks are kept
    for the whole file, so half the memory counts."""
    import numpy as np

    return steps.astype(np.int32) if len(steps) == 0 or steps[-1] < 2**31 else steps


@dataclass
class Trial:
    """What a gain would give: K-weighted energy by sub-block and total energy, before the gain."""

    gain_db: float
    threshold_db: float
    weighted: list[Floats]
    energy: float = 0.0
    state: float = 0.0
    #: Whether the limiter cut anything at this gain.
    limited: bool = False

    def level(self, basis: Basis, length: int, samples: int, extra_power: float) -> float:
        """The integrated loudness or RMS this gain gives."""
        import numpy as np

        scale = 10 ** (self.gain_db / 10)
        if basis is Basis.LUFS:
            weighted = np.concatenate(self.weighted) if self.weighted else np.zeros(0)
            return integrated_loudness(weighted * scale, length)
        return _db(self.energy * scale / max(samples, 1) + extra_power)


def _squares(values: Floats, size: int) -> Floats:
    """The sum of the squares of each ``size`` consecutive values."""
    import numpy as np

    rows = values.reshape(-1, size)
    return cast("Floats", np.einsum("ij,ij->i", rows, rows))


@dataclass(frozen=True)
class Piece:
    """One chunk's energies by step, K-weighted and plain, waiting for the peaks after it."""

    first: int
    steps: int
    #: Steps in the chunk's whole sub-blocks, which alone count for loudness.
    whole: int
    weighted: Floats
    plain: Floats


def _piece(
    first: int, whole: int, samples: Floats, weighted: Floats, step: int, raw: bool
) -> Piece:
    """A chunk's energies by step, padded to whole steps; plain ones only when ``raw``."""
    import numpy as np

    steps = -(-len(samples) // step)
    pad = steps * step - len(samples)
    if pad:
        samples, weighted = np.pad(samples, (0, pad)), np.pad(weighted, (0, pad))
    k_steps = _squares(weighted, step)
    return Piece(first, steps, whole, k_steps, _squares(samples, step) if raw else k_steps)


def _weigh(
    piece: Piece, peaks: Peaks, limiter: Limiter, trials: list[Trial], per_block: int
) -> None:
    """Add a chunk's energies to each trial, weighed by its gain's limiter envelope."""
    import numpy as np

    first, steps = piece.first, piece.steps
    around = peaks.window_db(first - limiter.lead, first + steps + 1 + limiter.lag)
    for trial in trials:
        if trial.state == 0 and around.max(initial=-np.inf) <= trial.threshold_db:
            squares = np.ones(steps)
        else:
            gain_db = limiter.envelope(around, trial.threshold_db, trial.state)
            trial.state = float(gain_db[-2])
            trial.limited = True
            power = 10 ** (gain_db / 10)
            squares = (power[:-1] + power[1:]) / 2  # the gain runs linearly between steps
        trial.weighted.append(group_sum((squares * piece.weighted)[: piece.whole], per_block))
        trial.energy += float((squares * piece.plain).sum())


def _try_gains(
    source: WavReader, peaks: Peaks, limiter: Limiter, trials: list[Trial], raw: bool
) -> None:
    """One pass over ``source``: each trial's energies with its gain's limiter envelope.

    The energy of the samples themselves is summed only when ``raw`` (for RMS).
    """
    import numpy as np
    from scipy.signal import sosfilt

    length = subblock_length(source.rate)
    step = limiter.step
    sos, state = k_weighting(source.rate), np.zeros((2, 2))
    for start, stop in _chunks(source.frames, CHUNK_SUBBLOCKS * length):
        samples = source.read(start, stop) / FULL_SCALE
        weighted, state = sosfilt(sos, samples, zi=state)
        whole = (stop - start) // length * length // step
        piece = _piece(start // step, whole, samples, weighted, step, raw)
        _weigh(piece, peaks, limiter, trials, length // step)


def _interpolate(
    points: list[tuple[float, float]], target: float, first_limited: bool = True
) -> float | None:
    """The gain at which a rising curve of (gain, level) points reaches ``target``; None: beyond.

    Under the first point the gain acts 1 for 1 only if the limiter cut nothing there.
    """
    if points[0][1] >= target:
        return None if first_limited else points[0][0] - (points[0][1] - target)
    for (g0, l0), (g1, l1) in itertools.pairwise(points):
        if l0 <= target <= l1:
            return g0 if l1 == l0 else g0 + (g1 - g0) * (target - l0) / (l1 - l0)
    return None


class RoomTone:
    """Seeded pink noise at ``level_db`` RMS, the same every time, as long as asked.

    One stretch of ROOM_TONE_SECONDS is made once, in the frequency domain, so
    that it is periodic: repeated, it joins without a seam. At -70 dB nobody hears
    it repeat; it costs one addition a sample.
    """

    def __init__(self, rate: int, level_db: float) -> None:
        import numpy as np

        count = max(1, round(ROOM_TONE_SECONDS * rate))
        random = np.random.default_rng(ROOM_TONE_SEED)
        spectrum = np.fft.rfft(random.standard_normal(count))
        hertz = np.fft.rfftfreq(count, 1 / rate)
        # Pink: power falls 3 dB an octave; nothing under 20 Hz, where it would be rumble.
        spectrum *= np.where(hertz >= 20.0, 1 / np.sqrt(np.maximum(hertz, 20.0)), 0.0)
        noise = np.fft.irfft(spectrum, count)
        rms = float(np.sqrt(np.mean(noise**2))) or 1.0
        self._noise = noise * (10 ** (level_db / 20) * FULL_SCALE / rms)
        self._position = 0

    def add_to(self, samples: Floats) -> None:
        """Add the next stretch of room tone (in sample units) to ``samples``."""
        done = 0
        while done < len(samples):
            piece = min(len(samples) - done, len(self._noise) - self._position)
            samples[done : done + piece] += self._noise[self._position : self._position + piece]
            self._position = (self._position + piece) % len(self._noise)
            done += piece


@dataclass(frozen=True)
class Applied:
    """The meter of a master written to disk, and the deepest cut its limiter made."""

    meter: Meter
    limiter_db: float


def _apply(
    source: WavReader,
    target: IO[bytes],
    gain_db: float,
    threshold_db: float,
    peaks: Peaks,
    limiter: Limiter,
    room_tone_db: float | None,
) -> Applied:
    """Write ``source`` with the gain and the limiter's envelope (and room tone) as a WAV."""
    import numpy as np

    meter = Meter(source.rate)
    step = limiter.step
    # Single precision: 16-bit samples times a gain stay exact to a thousandth of
    # a step of the output, and the arithmetic runs twice as fast.
    ramp = (np.arange(step) / step).astype(np.float32)
    gain = np.float32(10 ** (gain_db / 20))
    tone = RoomTone(source.rate, room_tone_db) if room_tone_db is not None else None
    state, deepest = 0.0, 0.0
    with wave.open(target, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(source.rate)
        for start, stop in _chunks(source.frames, CHUNK_SUBBLOCKS * meter.length):
            steps = -(-(stop - start) // step)
            first = start // step
            samples = source.read(start, start + steps * step) * gain
            around = peaks.window_db(first - limiter.lead, first + steps + 1 + limiter.lag)
            if state != 0 or around.max(initial=-np.inf) > threshold_db:
                gain_steps = limiter.envelope(around, threshold_db, state)
                state = float(gain_steps[-2])
                deepest = min(deepest, float(gain_steps.min()))
                linear = (10 ** (gain_steps / 20)).astype(np.float32)
                samples *= (linear[:-1, None] + np.diff(linear)[:, None] * ramp).reshape(-1)
            samples = samples[: stop - start]
            if tone is not None:
                tone.add_to(samples)
            np.rint(samples, out=samples)
            np.clip(samples, -FULL_SCALE, FULL_SCALE - 1, out=samples)
            pcm = samples.astype("<i2")
            out.writeframesraw(pcm.tobytes())
            meter.feed(pcm)
    return Applied(meter, deepest)


def _temporary(wav: Path) -> Path:
    """A fresh hidden path beside ``wav`` for its master."""
    return wav.with_name(f".{wav.name}.{os.getpid()}-{secrets.token_hex(4)}.loudness.tmp")


def master(
    wav: Path, preset: Preset, headroom_db: float = 0.0, scratch: Path | None = None
) -> LoudnessReport:
    """Master ``wav`` to ``preset`` in place and report what the result measures.

    One static gain reaches the preset's target and a true-peak limiter holds the
    peaks it pushes over the ceiling (the preset's, less ``headroom_db``, for
    codecs whose decoding overshoots). The limiter looks ahead and never delays:
    the file keeps its length to the sample and every sample its time. The gain is
    chosen with the limiter's loss of loudness counted. The result is written to
    ``scratch`` (default: a hidden file beside ``wav``), measured, and renamed
    over ``wav``. Raises SettingError for a bad headroom, OutputError (or
    DiskFullError) when the file cannot be read or written.
    """
    if not 0 <= headroom_db <= 6:
        raise SettingError(f"loudness headroom {headroom_db:g} dB is out of range: give 0 to 6 dB")
    temporary = scratch if scratch is not None else _temporary(wav)
    try:
        with WavReader(wav) as source:
            report = _master(source, temporary, preset, preset.ceiling_db - headroom_db)
        with contextlib.suppress(OSError):
            temporary.chmod(stat.S_IMODE(wav.stat().st_mode))
        temporary.replace(wav)
    except OSError as exc:
        from narrator.files import full_disk_error, shown_name

        raise full_disk_error(exc, wav.parent) or OutputError(
            f"{shown_name(wav)}: cannot master the audio: {exc.strerror}"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return report


def _master(
    source: WavReader, temporary: Path, preset: Preset, ceiling_db: float
) -> LoudnessReport:
    """Measure, choose the gain, write the master to ``temporary``; the master's report."""
    limiter = Limiter.at(source.rate)
    tone_power = 10 ** (preset.room_tone_db / 10) if preset.room_tone_db is not None else 0.0
    # The room tone adds to every peak: keep room for its largest excursions.
    ceiling = 10 ** ((ceiling_db - MARGIN_DB) / 20) - ROOM_TONE_CREST * math.sqrt(tone_power)
    ceiling_db_safe = 20 * math.log10(ceiling)
    guess = _guess(source, preset.basis)
    gains: list[float] = []
    if math.isfinite(guess.level):
        plain = preset.target - guess.level
        gains = _first_gains(plain, guess.peak_db + plain - ceiling_db_safe, GUESS_SLACK)
    raw = preset.basis is Basis.RMS
    before, peaks, trials = _analyse(source, limiter, ceiling_db_safe, gains, raw)
    measured = before.measurement(0.0)
    level = measured.integrated_lufs if preset.basis is Basis.LUFS else measured.rms_db
    if not math.isfinite(level):  # silence: nothing to aim at; room tone still goes in
        gain_db, peaks = 0.0, Peaks(*_empty_peaks(), floor=math.inf)
    else:
        length = subblock_length(source.rate)
        points = [
            (t.gain_db, t.level(preset.basis, length, source.frames, tone_power)) for t in trials
        ]
        found = _interpolate(points, preset.target, trials[0].limited) if points else None
        if found is not None:
            gain_db = found
        else:  # the guess was off, or the limiter takes more than it allowed for
            gain_db, peaks = _choose_gain(source, before, preset, level, limiter, ceiling_db_safe)
    aim = Aim(ceiling_db, ceiling_db_safe, level)
    return _finish(source, temporary, preset, aim, gain_db, peaks, limiter, before)


@dataclass(frozen=True)
class Aim:
    """The ceiling a master must keep, the one its limiter aims at, and the level it starts from."""

    ceiling_db: float
    threshold_db: float
    level: float


def _finish(
    source: WavReader,
    temporary: Path,
    preset: Preset,
    aim: Aim,
    gain_db: float,
    peaks: Peaks,
    limiter: Limiter,
    before: Meter,
) -> LoudnessReport:
    """Write the master, measure it, and once more if it missed; its report."""
    target, threshold = preset.target, aim.threshold_db
    applied = _write(source, temporary, gain_db, threshold, peaks, limiter, preset)
    result = _measured(temporary, applied.meter)
    achieved = result.integrated_lufs if preset.basis is Basis.LUFS else result.rms_db
    missed = math.isfinite(aim.level) and abs(achieved - target) > RETRY_LU
    over = result.true_peak_dbtp - aim.ceiling_db
    if missed or over > 0:
        # The search weighs the input's K-weighted energy by the envelope, and the
        # limiter holds each peak's gain only within an interpolator's reach: where
        # either falls short, the gain and the threshold make up the difference.
        if missed:
            gain_db += target - achieved
        threshold -= max(0.0, over + OVERSHOOT_DB)
        peaks = _peaks_for(source, before, peaks, gain_db, threshold)
        applied = _write(source, temporary, gain_db, threshold, peaks, limiter, preset)
        result = _measured(temporary, applied.meter)
    return _report(preset, result, gain_db, applied.limiter_db)


@dataclass(frozen=True)
class Guess:
    """A programme's level (integrated loudness or RMS) and loudest sample, from a share of it."""

    level: float
    peak_db: float


def _guess(source: WavReader, basis: Basis) -> Guess:
    """The level and peak of GUESS_CHUNKS chunks spread over the file, to aim the trials.

    Each chunk is K-weighted after a second of the audio before it, so that the
    filter has settled; a short file is read whole.
    """
    import numpy as np
    from scipy.signal import sosfilt

    length = subblock_length(source.rate)
    size = CHUNK_SUBBLOCKS * length
    count = -(-source.frames // size)
    settle = SUBBLOCKS_PER_SECOND * length
    sos = k_weighting(source.rate)
    weighted: list[Floats] = []
    energy, samples, peak = 0.0, 0, 0.0
    for number in range(0, count, max(1, count // GUESS_CHUNKS)):
        start, stop = number * size, min((number + 1) * size, source.frames)
        pcm = source.read(start - settle, stop) / FULL_SCALE
        filtered = sosfilt(sos, pcm)[settle:]
        pcm = pcm[settle:]
        whole = len(pcm) // length * length
        weighted.append(_squares(filtered[:whole], length))
        energy += float(np.dot(pcm, pcm))
        samples += len(pcm)
        peak = max(peak, float(np.abs(pcm).max(initial=0.0)))
    if basis is Basis.LUFS:
        level = integrated_loudness(np.concatenate(weighted), length)
    else:
        level = _db(energy / max(samples, 1))
    return Guess(level, 20 * math.log10(peak) if peak > 0 else -math.inf)


def _analyse(
    source: WavReader, limiter: Limiter, ceiling_db: float, gains: list[float], raw: bool
) -> tuple[Meter, Peaks, list[Trial]]:
    """One pass: the levels, the true peaks that reach the ceiling at the largest gain, and
    each of ``gains``' energies once limited."""
    import numpy as np

    meter = Meter(source.rate)
    finder = PeakFinder(source)
    length, step = meter.length, limiter.step
    floor = 10 ** ((ceiling_db - max(gains)) / 20) if gains else math.inf
    trials = [Trial(gain, ceiling_db - gain, []) for gain in gains]
    found: list[tuple[Ints, Floats]] = []
    waiting: Piece | None = None
    for start, stop in _chunks(source.frames, CHUNK_SUBBLOCKS * length):
        pcm = source.read(start, stop)
        weighted = meter.feed(pcm)
        if not trials:
            continue
        first = start // step
        steps, values = finder.above(first, -(-stop // step), floor)
        loud = values >= floor
        found.append((_compact_steps(steps[loud]), values[loud].astype(np.float32)))
        whole = (stop - start) // length * length // step
        piece = _piece(first, whole, pcm / FULL_SCALE, weighted, step, raw)
        # A chunk's envelope looks ahead into the next one's peaks: weigh it a chunk late.
        if waiting is not None:
            _weigh(waiting, _joined(found[-3:], floor), limiter, trials, length // step)
        waiting = piece
    if waiting is not None:
        _weigh(waiting, _joined(found[-2:], floor), limiter, trials, length // step)
    return meter, _joined(found, floor), trials


def _joined(parts: list[tuple[Ints, Floats]], floor: float) -> Peaks:
    """Peaks from consecutive chunks' parts."""
    import numpy as np

    if not parts:
        return Peaks(*_empty_peaks(), floor=floor)
    return Peaks(
        np.concatenate([steps for steps, _ in parts]),
        np.concatenate([values for _, values in parts]),
        floor,
    )


def _empty_peaks() -> tuple[Ints, Floats]:
    import numpy as np

    return np.zeros(0, dtype=np.int64), np.zeros(0)


def _peaks_for(
    source: WavReader, before: Meter, peaks: Peaks, gain_db: float, threshold_db: float
) -> Peaks:
    """``peaks`` if they reach down to what the limiter needs at ``gain_db``, else found anew."""
    floor = 10 ** ((threshold_db - gain_db) / 20)
    if floor >= peaks.floor:
        return peaks
    return find_peaks(source, before.subblock_peaks(), floor)


def _first_gains(plain: float, excess: float, slack: float = 0.0) -> list[float]:
    """The first gains to try: from ``plain`` up by about what the limiter will take.

    ``excess`` (dB) is how far the loudest sample would stand over the ceiling at
    ``plain``. The loudness the limiter takes grows faster than the excess: for
    espeak's speech (peaks 20 dB over its loudness) an excess of 3, 5 and 7 dB
    took 0.3, 1.3 and 4.9 dB of extra gain; a smoother voice takes less. The
    range widens by ``slack`` each way when ``plain`` is only a guess.
    """
    low, high = plain - slack, plain + max(1.0, excess - 1.5) + slack
    return [low + (high - low) * n / (TRIALS - 1) for n in range(TRIALS)]


def _next_gains(points: list[tuple[float, float]], target: float) -> list[float]:
    """Gains to try next when the last round fell short: past where its slope points."""
    (g0, l0), (g1, l1) = points[-2], points[-1]
    slope = max((l1 - l0) / (g1 - g0), 0.05)
    reach = (target - l1) / slope
    return [g1, g1 + reach, g1 + 2 * reach + 1.0]


def _choose_gain(
    source: WavReader,
    before: Meter,
    preset: Preset,
    level: float,
    limiter: Limiter,
    ceiling_db: float,
) -> tuple[float, Peaks]:
    """The gain that reaches the target once limited, and the peaks its limiter needs."""
    plain = preset.target - level
    length = subblock_length(source.rate)
    tone_power = 10 ** (preset.room_tone_db / 10) if preset.room_tone_db is not None else 0.0
    excess = 20 * math.log10(max(before.peak, 1 / FULL_SCALE)) + plain - ceiling_db
    gains = _first_gains(plain, excess)
    for _ in range(ROUNDS):
        peaks = find_peaks(source, before.subblock_peaks(), 10 ** ((ceiling_db - gains[-1]) / 20))
        if len(peaks.steps) == 0:  # nothing reaches the ceiling: no limiting at all
            return plain, peaks
        trials = [Trial(gain, ceiling_db - gain, []) for gain in gains]
        _try_gains(source, peaks, limiter, trials, raw=preset.basis is Basis.RMS)
        points = [
            (t.gain_db, t.level(preset.basis, length, source.frames, tone_power)) for t in trials
        ]
        found = _interpolate(points, preset.target)
        if found is not None:
            return found, peaks
        gains = _next_gains(points, preset.target)
    return gains[0], peaks  # out of reach under the ceiling: the loudest tried


def _write(
    source: WavReader,
    temporary: Path,
    gain_db: float,
    ceiling_db: float,
    peaks: Peaks,
    limiter: Limiter,
    preset: Preset,
) -> Applied:
    with temporary.open("wb") as handle:
        applied = _apply(
            source, handle, gain_db, ceiling_db - gain_db, peaks, limiter, preset.room_tone_db
        )
        handle.flush()
        os.fsync(handle.fileno())
    return applied


def _measured(path: Path, meter: Meter) -> Measurement:
    """The Measurement of a master just written, its true peak read back from the file."""
    with WavReader(path) as written:
        return meter.measurement(true_peak(written, meter.subblock_peaks()))
