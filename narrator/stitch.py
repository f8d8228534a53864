"""Stitch spoken clips and pauses into one programme, streamed to disk, and encode it."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import wave
from pathlib import Path
from types import TracebackType

from narrator.engines import Clip, WordMark
from narrator.errors import MissingToolError, OutputError
from narrator.formats import AudioFormat

FFMPEG_HINT = "install it with 'sudo apt-get install ffmpeg' (or run scripts/setup.sh)"

# Opus encodes at 48 kHz only (ffmpeg would resample anyway); other formats keep the
# programme's rate.
OPUS_RATE = 48_000

# Output format -> ffmpeg codec arguments; WAV is written directly.
FORMATS: dict[AudioFormat, tuple[str, ...]] = {
    AudioFormat.WAV: (),
    AudioFormat.MP3: ("-c:a", "libmp3lame", "-q:a", "4"),
    AudioFormat.OGG: ("-c:a", "libvorbis", "-q:a", "5"),
    AudioFormat.OPUS: ("-c:a", "libopus", "-b:a", "48k", "-ar", str(OPUS_RATE)),
    AudioFormat.FLAC: ("-c:a", "flac"),
    AudioFormat.M4A: ("-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart"),
}


def output_rate(audio_format: AudioFormat, programme_rate: int) -> int:
    """The sample rate of the audio file a format is written at."""
    return OPUS_RATE if audio_format is AudioFormat.OPUS else programme_rate


def conform(clip: Clip, rate: int) -> Clip:
    """Resample a clip to ``rate`` with pydub, scaling its word marks to match."""
    from pydub import AudioSegment

    segment = AudioSegment(data=clip.pcm, sample_width=2, frame_rate=clip.sample_rate, channels=1)
    converted = segment.set_frame_rate(rate)
    words = tuple(WordMark(m.offset, m.sample * rate // clip.sample_rate) for m in clip.words)
    return Clip(converted.raw_data, rate, words)


class Programme:
    """A mono 16-bit WAV written as it grows: memory does not depend on its length.

    ``position`` counts samples written, so every time in the render is an exact
    integer sample offset into this file.
    """

    def __init__(self, path: Path, rate: int) -> None:
        self.path = path
        self.rate = rate
        self.position = 0
        self._wav: wave.Wave_write = wave.open(str(path), "wb")  # noqa: SIM115
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def add(self, pcm: bytes) -> int:
        """Append audio; return the sample where it starts."""
        start = self.position
        self._wav.writeframesraw(pcm)
        self.position += len(pcm) // 2
        return start

    def pause(self, milliseconds: int) -> None:
        """Append silence."""
        self.add(b"\0\0" * (milliseconds * self.rate // 1000))

    def close(self) -> None:
        """Finish the WAV header."""
        self._wav.close()

    def __enter__(self) -> Programme:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def ffmpeg() -> str:
    """Path of the ffmpeg binary; raises MissingToolError with an install hint."""
    found = shutil.which("ffmpeg")
    if found is None:
        raise MissingToolError(f"ffmpeg not found: {FFMPEG_HINT}")
    return found


def encode(wav: Path, target: Path, audio_format: AudioFormat) -> None:
    """Encode the programme WAV into ``target`` with ffmpeg.

    Raises DiskFullError when the disk or quota filled up (ffmpeg 5 exits 0
    after failing to write its trailer, so its messages are read too), and
    OutputError on any other failure. ffmpeg runs in its own process group, so
    a Ctrl-C at the terminal reaches only narrator, which then stops ffmpeg and
    waits for it: no encoder outlives an interrupted render.
    """
    from narrator.files import disk_full

    command = [
        ffmpeg(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(wav),
        *FORMATS[audio_format],
        "-f",
        _MUXERS.get(audio_format, audio_format.value),
        str(target),
    ]
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        process_group=0,
    ) as process:
        try:
            _, stderr = process.communicate()
        except BaseException:
            process.kill()
            process.wait()
            raise
    for errno_code, quota in ((errno.ENOSPC, False), (errno.EDQUOT, True)):
        if os.strerror(errno_code) in stderr:
            raise disk_full(target.parent, quota)
    if process.returncode != 0:
        detail = (stderr.strip().splitlines() or ["no message"])[-1]
        raise OutputError(f"ffmpeg could not encode {target.name} as {audio_format}: {detail}")


_MUXERS = {AudioFormat.M4A: "ipod", AudioFormat.OPUS: "ogg"}
