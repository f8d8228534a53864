"""A narrator's own recording, read through ffmpeg: any format it reads, any rate, stereo."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.errors import MissingToolError, RecordingError
from narrator.formats import AudioFormat
from narrator.stitch import FFMPEG_HINT, ffmpeg

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

#: What the alignment listens at: 16 kHz mono.
ALIGN_RATE = 16_000
_CANNOT = "give a recording ffmpeg reads: wav, mp3, m4a, ogg, flac, or a video with sound"


@dataclass(frozen=True)
class Recording:
    """A recording's first audio stream: where it is, its rate and channels, its length."""

    path: Path
    rate: int
    channels: int
    duration: float
    #: The narrator format its file name says, when it is one (for a copy as it is).
    audio_format: AudioFormat | None


def probe(path: Path) -> Recording:
    """What ffprobe finds in ``path``; RecordingError naming the file when it has no audio."""
    if path.is_dir():
        raise RecordingError(f"{path}: a folder, not a recording: give the recording's file")
    if not path.is_file():
        raise RecordingError(f"{path}: no such recording")
    tool = shutil.which("ffprobe")
    if tool is None:
        raise MissingToolError(f"ffprobe not found: {FFMPEG_HINT}")
    done = subprocess.run(
        [tool, "-v", "error", "-select_streams", "a:0", "-of", "json", "-show_entries",
         "stream=sample_rate,channels:format=duration", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        stdin=subprocess.DEVNULL,
    )
    found = json.loads(done.stdout or "{}") if done.returncode == 0 else {}
    streams = found.get("streams") or []
    if not streams:
        detail = (done.stderr.strip().splitlines() or ["no audio stream"])[-1]
        raise RecordingError(f"{path}: not a recording ffmpeg can read ({detail}): {_CANNOT}")
    stream = streams[0]
    try:
        duration = float(found.get("format", {}).get("duration", "nan"))
    except ValueError:
        duration = float("nan")
    try:
        audio_format: AudioFormat | None = AudioFormat(path.suffix.lower().lstrip("."))
    except ValueError:
        audio_format = None
    rate, channels = int(stream["sample_rate"]), int(stream["channels"])
    return Recording(path, rate, channels, duration, audio_format)


def _decoder(path: Path, rate: int, mono: bool = True) -> list[str]:
    """ffmpeg reading the first audio stream of ``path`` as 16-bit at ``rate``, mono or not."""
    return [
        ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
        "-map", "0:a:0", "-vn", *(["-ac", "1"] if mono else []), "-ar", str(rate),
        "-c:a", "pcm_s16le",
    ]  # fmt: skip


def decode_wav(recording: Recording, target: Path, mono: bool) -> None:
    """The recording as a 16-bit WAV at its own rate: what the page and the encode read.

    Its own channels, unless ``mono`` (mastering reads mono).
    """
    done = subprocess.run(
        [*_decoder(recording.path, recording.rate, mono), "-f", "wav", "-y", str(target)],
        capture_output=True,
        text=True,
        errors="replace",
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RecordingError(f"{recording.path}: ffmpeg could not read it ({detail}): {_CANNOT}")


def listen(recording: Recording, scratch: Path) -> NDArray[np.int16]:
    """The recording at ALIGN_RATE, mono, as 16-bit samples (115 MB for an hour).

    ffmpeg writes them to ``scratch``, read back in one piece: through a pipe they
    would be held twice over while the chunks are joined.
    """
    import numpy as np

    done = subprocess.run(
        [*_decoder(recording.path, ALIGN_RATE), "-f", "s16le", "-y", str(scratch)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        detail = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise RecordingError(f"{recording.path}: ffmpeg could not read it ({detail}): {_CANNOT}")
    try:
        return np.fromfile(scratch, dtype="<i2")
    finally:
        scratch.unlink()
