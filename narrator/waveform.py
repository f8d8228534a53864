"""The programme's waveform for the page: the peak of each column of time, read from its WAV."""

from __future__ import annotations

import audioop
import wave
from dataclasses import dataclass
from pathlib import Path

#: Columns the page draws: a few kilobytes in the page; a column is 0.04 s of a minute,
#: 2.4 s of an hour (the cue regions on the strip are drawn from the cues, not from it).
COLUMNS = 1500
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
    Each column is read and measured on its own (audioop, in C): the file is never
    held whole, and a render that does not master its audio imports no numpy for it.
    Raises OSError or wave.Error for a file that cannot be read.
    """
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise wave.Error(f"{path}: not 16-bit PCM")
        total, rate = wav.getnframes(), wav.getframerate()
        count = min(columns, total)
        peaks = []
        for column in range(count):
            frames = wav.readframes((column + 1) * total // count - column * total // count)
            loudest = audioop.max(frames, 2) if frames else 0
            peaks.append(min(SCALE, (loudest * SCALE + 16384) // 32768))
    return Waveform(tuple(peaks), total, rate)
