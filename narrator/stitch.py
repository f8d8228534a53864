"""Stitch spoken clips and pauses into one programme, streamed to disk, and encode it."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from narrator.container import VIDEO_AUDIO, VIDEO_RATE, Tags
from narrator.engines import Clip, WordMark
from narrator.errors import MissingToolError, OutputError
from narrator.files import shown_name
from narrator.formats import AudioFormat
from narrator.timeline import Timeline

FFMPEG_HINT = "install it with 'sudo apt-get install ffmpeg' (or run scripts/setup.sh)"

# Opus encodes at 48 kHz only (ffmpeg would resample anyway); other formats keep the
# programme's rate.
OPUS_RATE = 48_000

# Output format -> ffmpeg codec arguments (mp4: its sound; the picture is
# container.video_arguments); WAV is written directly.
FORMATS: dict[AudioFormat, tuple[str, ...]] = {
    AudioFormat.WAV: (),
    AudioFormat.MP3: ("-c:a", "libmp3lame", "-q:a", "4"),
    AudioFormat.OGG: ("-c:a", "libvorbis", "-q:a", "5"),
    AudioFormat.OPUS: ("-c:a", "libopus", "-b:a", "48k", "-ar", str(OPUS_RATE)),
    AudioFormat.FLAC: ("-c:a", "flac"),
    AudioFormat.M4A: ("-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart"),
    # An audiobook: the m4a with the brand Apple Books and iTunes look for.
    AudioFormat.M4B: ("-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-brand", "M4B "),
    AudioFormat.MP4: VIDEO_AUDIO,
}


#: The MP3 ACX takes for an audiobook: 192 kb/s constant bit rate at 44.1 kHz.
ACX_RATE = 44_100
ACX_MP3 = ("-c:a", "libmp3lame", "-b:a", "192k", "-ar", str(ACX_RATE))


def output_rate(audio_format: AudioFormat, programme_rate: int, acx: bool = False) -> int:
    """The sample rate of the audio file a format is written at (``acx``: for ACX)."""
    if audio_format is AudioFormat.OPUS:
        return OPUS_RATE
    if acx and audio_format is AudioFormat.MP3:
        return ACX_RATE
    return VIDEO_RATE if audio_format is AudioFormat.MP4 else programme_rate


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


@dataclass(frozen=True)
class Packaging:
    """What an encoded file carries besides the sound.

    ``timeline`` gives the chapters (and the video's cards and burned cues);
    ``cover`` is embedded in mp3, m4a and m4b and is the mp4's picture;
    ``subtitles`` is the SRT the mp4 carries as its soft track; ``burn`` draws
    the timeline's cues into the mp4's picture instead: ffmpeg 5.1 enables
    the first subtitle track of an mp4 whatever its disposition, so a soft
    track beside burned cues would show them twice.
    """

    tags: Tags = Tags()  # noqa: RUF009 (frozen: one shared empty value is safe)
    timeline: Timeline | None = None
    cover: Path | None = None
    subtitles: Path | None = None
    burn: bool = False
    #: Encode an mp3 as ACX takes an audiobook (192 kb/s CBR, 44.1 kHz).
    acx: bool = False

    def __post_init__(self) -> None:
        if self.burn and self.timeline is None:
            raise ValueError("burning subtitles needs the timeline")


def encode(
    wav: Path,
    target: Path,
    audio_format: AudioFormat,
    packaging: Packaging | None = None,
    scratch: Path | None = None,
) -> None:
    """Encode the programme WAV into ``target`` with ffmpeg, with tags, chapters and pictures.

    Raises DiskFullError when the disk or quota filled up (ffmpeg 5 exits 0
    after failing to write its trailer, so its messages are read too), and
    OutputError on any other failure. ffmpeg runs in its own process group, so
    a Ctrl-C at the terminal reaches only narrator, which then stops ffmpeg and
    waits for it: no encoder outlives an interrupted render. The files ffmpeg
    reads besides the WAV (tags, pictures, frame list) live in ``scratch``, an
    empty folder its owner removes (a render's staging, which a later render
    sweeps if this one is killed), else in a temporary folder beside ``target``,
    removed afterwards whatever happens.
    """
    from narrator.files import full_disk_error

    packaging = packaging or Packaging()
    try:
        with _scratch(scratch, target.parent) as folder:
            if audio_format is AudioFormat.MP4:
                command = _video_command(wav.absolute(), target.absolute(), packaging, folder)
            else:
                command = _audio_command(
                    wav.absolute(), target.absolute(), audio_format, packaging, folder
                )
            _run(command, folder, target, audio_format)
    except OSError as exc:
        raise full_disk_error(exc, target.parent) or OutputError(
            f"{shown_name(target)}: cannot prepare the encode: {exc.strerror or exc}"
        ) from None


@contextlib.contextmanager
def _scratch(given: Path | None, beside: Path) -> Iterator[Path]:
    """``given`` (an empty folder its owner removes), else a temporary folder in ``beside``."""
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=".narrator-encode-", dir=beside) as name:
        yield Path(name)


def _ffmpeg_head() -> list[str]:
    return [ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def _audio_command(
    wav: Path, target: Path, audio_format: AudioFormat, packaging: Packaging, folder: Path
) -> list[str]:
    """ffmpeg's arguments for an audio file: the sound, the tags and chapters, the cover."""
    from narrator.container import (
        COVER_FORMATS,
        compose_ffmetadata,
        cover_arguments,
        metadata_arguments,
    )

    (folder / "tags.txt").write_text(
        compose_ffmetadata(packaging.tags, packaging.timeline), encoding="utf-8"
    )
    inputs = ["-i", str(wav), "-f", "ffmetadata", "-i", "tags.txt"]
    maps = ["-map", "0:a", *metadata_arguments(audio_format, 1)]
    if packaging.cover is not None and audio_format in COVER_FORMATS:
        from narrator.cards import embeddable_cover

        inputs += ["-i", str(embeddable_cover(packaging.cover, folder).absolute())]
        maps += cover_arguments(audio_format, 2)
    muxer = _MUXERS.get(audio_format, audio_format.value)
    codec = ACX_MP3 if packaging.acx and audio_format is AudioFormat.MP3 else FORMATS[audio_format]
    return [*_ffmpeg_head(), *inputs, *maps, *codec, "-f", muxer, str(target)]


def _video_command(wav: Path, target: Path, packaging: Packaging, folder: Path) -> list[str]:
    """ffmpeg's arguments for the mp4: pictures and frame list written into ``folder``."""
    from narrator import cards
    from narrator.ass import BURNED, compose_ass
    from narrator.container import (
        BURN_FILE,
        BURN_FILTER,
        TICKS,
        chapter_spans,
        compose_concat,
        compose_ffmetadata,
        default_title,
        metadata_arguments,
        video_arguments,
        video_frames,
    )

    timeline = packaging.timeline
    if timeline is not None:
        samples, rate = timeline.samples, timeline.sample_rate
    else:
        with wave.open(str(wav), "rb") as sound:
            samples, rate = sound.getnframes(), sound.getframerate()
    if packaging.cover is not None:
        pictures = [cards.cover_picture(packaging.cover)]
    else:
        # Without a title given: the file's stem, even from a staged '.<stem>.mp4.<tag>.part'.
        stem = shown_name(target).split(".")[0]
        title = packaging.tags.title or (
            default_title(timeline, stem) if timeline is not None else stem
        )
        spans = chapter_spans(timeline) if timeline is not None else ()
        pictures = [cards.title_card(title, span.title) for span in spans]
        pictures = pictures or [cards.title_card(title, None)]
    names = [f"picture-{number}.y4m" for number in range(len(pictures))]
    for picture, picture_name in zip(pictures, names, strict=True):
        cards.write_y4m(picture, folder / picture_name, TICKS)
    frames = video_frames(timeline, packaging.cover is None, packaging.burn, samples, rate)
    (folder / "frames.txt").write_text(
        compose_concat(frames, names, samples * TICKS // rate), encoding="utf-8"
    )
    (folder / "tags.txt").write_text(
        compose_ffmetadata(packaging.tags, timeline), encoding="utf-8"
    )
    inputs = ["-i", str(wav), "-f", "ffmetadata", "-i", "tags.txt"]
    inputs += ["-f", "concat", "-i", "frames.txt"]
    maps = ["-map", "2:v", "-map", "0:a"]
    subtitles = None
    if packaging.subtitles is not None and not packaging.burn:
        inputs += ["-i", str(packaging.subtitles.absolute())]
        maps += ["-map", "3:s"]
        subtitles = 3
    burn = None
    if packaging.burn and timeline is not None:
        (folder / BURN_FILE).write_text(
            compose_ass(timeline, BURNED, karaoke=False), encoding="utf-8"
        )
        burn = BURN_FILTER
    arguments = video_arguments(subtitles, burn)
    meta = metadata_arguments(AudioFormat.MP4, 1)
    return [*_ffmpeg_head(), *inputs, *maps, *meta, *arguments, "-f", "mp4", str(target)]


def _run(command: list[str], folder: Path, target: Path, audio_format: AudioFormat) -> None:
    """Run ffmpeg in ``folder``; DiskFullError or OutputError when it fails."""
    from narrator.files import disk_full

    with subprocess.Popen(
        command,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        process_group=0,
        preexec_fn=_dying_with_parent(),
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
        raise OutputError(
            f"ffmpeg could not encode {shown_name(target)} as {audio_format}: {detail}"
        )


#: prctl's PR_SET_PDEATHSIG (Linux): the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def _dying_with_parent() -> Callable[[], None] | None:
    """What ffmpeg's process runs before it starts: be killed if narrator is (even by SIGKILL).

    ffmpeg runs in its own process group, away from the terminal's Ctrl-C, so without
    this a narrator killed outright would leave it encoding into deleted files. libc
    is loaded here, in narrator: the forked child only makes the call, importing and
    allocating nothing while other threads' locks may be held. None off Linux.
    """
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    kill = int(signal.SIGKILL)
    return lambda: prctl(_PR_SET_PDEATHSIG, kill)


_MUXERS = {
    AudioFormat.M4A: "ipod",
    AudioFormat.M4B: "ipod",
    AudioFormat.OPUS: "ogg",
    AudioFormat.MP4: "mp4",
}
