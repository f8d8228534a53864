"""The programme's waveform for the page: the peak of each column of time, read from its WAV."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

#: Columns the page draws: a few kilobytes in the page; a column is 0.04 s of a minute,
#: 2.4 s of an hour (the cue regions on the strip are drawn from the cues, not from it).
COLUMNS = 1500
# Frames read at a time: a 60-minute programme (160 MB) is never held whole.
CHUNK_FRAMES = 1 << 20
#: Peaks are given in thousandths of full scale.
SCALE = 1000


@dataclass(frozen=True)
class Waveform:
    """The loudest sample of each column (thousandths of full scale); columns are equal in time."""

    peaks: tuple[int, ...]
    samples: int
    sample_rate: int


def measure_waveform(path: Path, columns: int = COLUMNS) -> Waveform:
    """The peaks of a 16-bit PCM WAV file in ``columns`` columns (fewer if it is shorter).

    Column ``c`` holds samples ``c * n // columns`` up to ``(c + 1) * n // columns``.
    Raises OSError or wave.Error for a file that cannot be read.
    """
    import numpy as np

    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise wave.Error(f"{path}: not 16-bit PCM")
        channels, total, rate = wav.getnchannels(), wav.getnframes(), wav.getframerate()
        count = min(columns, total)
        peaks = np.zeros(count, dtype=np.int32)
        bounds = np.arange(count + 1, dtype=np.int64) * total // max(count, 1)
        position = 0
        while position < total:
            frames = wav.readframes(CHUNK_FRAMES)
            if not frames:
                break
            pcm = np.frombuffer(frames, dtype="<i2").astype(np.int32)
            level = np.abs(pcm.reshape(-1, channels)).max(axis=1)
            size = len(level)
            # Columns that begin inside this chunk split it; the first piece belongs
            # to the column that began before it (or at its first sample).
            first = int(np.searchsorted(bounds, position, side="right")) - 1
            inside = bounds[(bounds > position) & (bounds < position + size)] - position
            cuts = np.concatenate(([0], inside)).astype(np.intp)
            loudest = np.maximum.reduceat(level, cuts)
            span = slice(first, first + len(loudest))
            peaks[span] = np.maximum(peaks[span], loudest)
            position += size
    scaled = (peaks.astype(np.int64) * SCALE + 16384) // 32768
    return Waveform(tuple(int(p) for p in np.minimum(scaled, SCALE)), total, rate)
