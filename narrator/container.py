"""What goes inside an encoded file besides the sound: tags, chapters, the video's frames and cues.

Pure: each function takes values (a Timeline, Tags) and returns text or
ffmpeg arguments; ``stitch.encode`` writes them beside the programme and runs
ffmpeg.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

from narrator.ass import PLAY_RES, centiseconds
from narrator.errors import SettingError
from narrator.formats import AudioFormat
from narrator.timeline import Timeline, milliseconds

#: The name of narration before the first heading, as in the YouTube chapter list.
INTRODUCTION = "Introduction"
#: Joins headings that fall on the same sample into one chapter title.
SAME_START = " – "

# --- tags and chapters -------------------------------------------------------------

#: A year tag: 2026, or a date 2026-11 or 2026-11-25 (ID3 and MP4 take both).
_YEAR = re.compile(r"\d{4}(-\d\d(-\d\d)?)?")


@dataclass(frozen=True)
class Tags:
    """The tags written into an audio or video file; None leaves a tag out."""

    title: str | None = None
    #: The narrator or author.
    artist: str | None = None
    album: str | None = None
    year: str | None = None
    genre: str | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        # A tag given blank is a tag not given (then a title falls back to the heading).
        for tag in fields(self):
            value = getattr(self, tag.name)
            if value is not None:
                object.__setattr__(self, tag.name, value.strip() or None)
        if self.year is not None and not _YEAR.fullmatch(self.year):
            raise SettingError(
                f"year {self.year!r}: give a year such as 2026, or a date such as 2026-11-25"
            )

    def fields(self) -> tuple[tuple[str, str], ...]:
        """(ffmpeg metadata key, value) for each tag that is set."""
        keys = (
            ("title", self.title),
            ("artist", self.artist),
            ("album", self.album),
            # ffmpeg writes 'date' as TYER in ID3v2.3 and ©day in MP4.
            ("date", self.year),
            ("genre", self.genre),
            ("comment", self.comment),
        )
        return tuple((key, value) for key, value in keys if value is not None and value.strip())


def default_title(timeline: Timeline, stem: str) -> str:
    """The programme's title when none is given: its first heading, else the script's stem.

    A heading with no narration after it (see ``chapter_spans``) is no title.
    """
    if not timeline.paragraphs:
        return stem
    last_speech = timeline.paragraphs[-1].end
    return next((c.title for c in timeline.chapters if c.start < last_speech), stem)


@dataclass(frozen=True)
class ChapterSpan:
    """A chapter as a file carries it: title, first sample and one past its last sample."""

    title: str
    start: int
    end: int


def chapter_spans(timeline: Timeline) -> tuple[ChapterSpan, ...]:
    """Chapters covering the whole programme, for players that expect no gap.

    The rules of ``manifest.compose_chapters``, sample-exact: a heading that
    opens the script starts at 0 even after a leading pause; narration before
    the first heading becomes an 'Introduction' chapter; headings on the same
    sample merge into one title; a heading after the last speech is left out.
    Each chapter ends where the next starts, the last at the end of the audio.
    Empty when the script has no heading.
    """
    if not timeline.paragraphs:
        return ()
    first_speech = timeline.paragraphs[0].start
    last_speech = timeline.paragraphs[-1].end
    starts: dict[int, list[str]] = {}
    for chapter in timeline.chapters:
        if chapter.start >= last_speech:
            continue
        start = 0 if chapter.start <= first_speech else chapter.start
        if not starts and start > 0:
            starts[0] = [INTRODUCTION]
        starts.setdefault(start, []).append(chapter.title)
    ordered = sorted(starts)
    ends = [*ordered[1:], timeline.samples][: len(ordered)]
    return tuple(
        ChapterSpan(SAME_START.join(starts[start]), start, end)
        for start, end in zip(ordered, ends, strict=True)
    )


def escape_metadata(text: str) -> str:
    r"""A value as an FFMETADATA1 file spells it: ``=``, ``;``, ``#``, ``\`` and newlines escaped.

    >>> escape_metadata("A; B = #1\\2")
    'A\\; B \\= \\#1\\\\2'
    """
    escaped = "".join(f"\\{c}" if c in "=;#\\\n" else c for c in text)
    return escaped.replace("\r", "")


def compose_ffmetadata(tags: Tags, timeline: Timeline | None) -> str:
    """An FFMETADATA1 file: the tags, then the timeline's chapters in its own samples.

    ``TIMEBASE=1/<sample rate>`` keeps every chapter start sample-exact until
    the muxer rounds it to what its container stores (milliseconds in ID3 CHAP
    frames and MP4 chapter tracks).
    """
    lines = [";FFMETADATA1"]
    lines += [f"{key}={escape_metadata(value)}" for key, value in tags.fields()]
    if timeline is None:
        return "\n".join(lines) + "\n"
    for span in chapter_spans(timeline):
        lines += [
            "",
            "[CHAPTER]",
            f"TIMEBASE=1/{timeline.sample_rate}",
            f"START={span.start}",
            f"END={span.end}",
            f"title={escape_metadata(span.title)}",
        ]
    return "\n".join(lines) + "\n"


# --- ffmpeg arguments --------------------------------------------------------------

#: Formats whose ffmpeg muxer writes the chapters it is given, correctly. ffmpeg 5.1
#: writes Ogg chapters (CHAPTERxxx comments) a second late and FLAC ones not at all.
CHAPTER_FORMATS = frozenset(
    {AudioFormat.MP3, AudioFormat.M4A, AudioFormat.M4B, AudioFormat.MP4}
)
#: Formats that can hold cover art as an attached picture.
COVER_FORMATS = frozenset({AudioFormat.MP3, AudioFormat.M4A, AudioFormat.M4B})
#: Formats a --cover goes into: as cover art, or as the video's picture.
PICTURE_FORMATS = COVER_FORMATS | {AudioFormat.MP4}

#: YouTube's recommended upload settings: AAC-LC at 48 kHz, mono at 128 kb/s.
VIDEO_RATE = 48_000
VIDEO_AUDIO = ("-c:a", "aac", "-aac_coder", "fast", "-b:a", "128k", "-ar", str(VIDEO_RATE))
#: H.264 High profile, 4:2:0, no B-frames (so no reordering offsets), BT.709 as HD
#: players assume; 'stillimage' spends the bits on the text's edges.
VIDEO_PICTURE = (
    "-c:v", "libx264", "-preset", "superfast", "-tune", "stillimage", "-crf", "20",
    "-profile:v", "high", "-level:v", "4.0", "-pix_fmt", "yuv420p", "-bf", "0",
    "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
    "-fps_mode", "vfr",
)  # fmt: skip
#: A keyframe at least this often: seeking decodes at most this far.
KEYFRAME_SECONDS = 10


def metadata_arguments(audio_format: AudioFormat, metadata_input: int) -> list[str]:
    """Tags (and chapters where the format takes them) from the FFMETADATA1 input."""
    chapters = metadata_input if audio_format in CHAPTER_FORMATS else -1
    arguments = ["-map_metadata", str(metadata_input), "-map_chapters", str(chapters)]
    if audio_format is AudioFormat.MP3:
        arguments += ["-id3v2_version", "3"]
    return arguments


def cover_arguments(audio_format: AudioFormat, cover_input: int) -> list[str]:
    """Map the cover image input as the file's attached picture, copied as it is."""
    arguments = ["-map", f"{cover_input}:v", "-c:v", "copy", "-disposition:v", "attached_pic"]
    if audio_format is AudioFormat.MP3:
        arguments += ["-metadata:s:v", "title=Cover", "-metadata:s:v", "comment=Cover (front)"]
    return arguments


def video_arguments(subtitles_input: int | None, burn_filter: str | None) -> list[str]:
    """The picture, audio and soft-subtitle settings of the YouTube mp4 (inputs mapped first).

    Burned cues are drawn by libass (``burn_filter``). No edit lists, as YouTube
    asks: the muxer shifts every track by the AAC encoder's priming instead
    (1024 samples, 21 ms), keeping picture, sound and cues together.
    """
    arguments = [*VIDEO_PICTURE]
    arguments += ["-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})"]
    if burn_filter is not None:
        arguments += ["-vf", burn_filter]
    arguments += list(VIDEO_AUDIO)
    if subtitles_input is not None:
        arguments += ["-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
    return [*arguments, "-movflags", "+faststart", "-use_editlist", "0"]


# --- the video's frames ------------------------------------------------------------

#: Frame times are counted in these ticks per second (the y4m pictures' frame rate,
#: so the concat demuxer keeps them exact).
TICKS = 10_000
#: A frame at least this often, so players and YouTube's ingest never see a frame
#: minutes long; each costs a few milliseconds to encode.
FILL_SECONDS = 2


@dataclass(frozen=True)
class Frame:
    """A picture shown from ``start`` (in TICKS) until the next frame."""

    start: int
    picture: int


def change_tick(milliseconds_total: int) -> int:
    """Where a frame showing a change at a whole millisecond goes.

    Half a millisecond after it: libass truncates the frame's time to whole
    milliseconds, and a frame exactly at a cue's start may come out a hair
    early in floating point and miss the cue.
    """
    return 0 if milliseconds_total == 0 else milliseconds_total * (TICKS // 1000) + TICKS // 2000


def video_frames(
    timeline: Timeline | None, chapter_pictures: bool, burn: bool, samples: int, rate: int
) -> tuple[Frame, ...]:
    """The frames of the video: one where the picture or the burned cue changes, fill between.

    ``chapter_pictures``: picture ``n`` is the card of chapter span ``n``;
    otherwise there is one picture, 0. With ``burn``, a frame at each cue's
    start and end as the ASS file times them (centiseconds). The last frame
    sits one tick before the end of the audio, so the video ends with it.
    """
    end = samples * TICKS // rate
    changes: dict[int, int] = {0: 0}
    spans = chapter_spans(timeline) if timeline is not None and chapter_pictures else ()
    for number, span in enumerate(spans):
        changes[change_tick(milliseconds(span.start, rate))] = number
    if burn and timeline is not None:
        for cue in timeline.cues:
            for at in (cue.start, cue.end):
                changes.setdefault(change_tick(centiseconds(at, rate) * 10), -1)
    frames: list[Frame] = []
    picture = 0
    for start in sorted(t for t in changes if t < end - 1):
        if changes[start] >= 0:
            picture = changes[start]
        if frames:
            _fill(frames, start)
        frames.append(Frame(start, picture))
    _fill(frames, end - 1)
    if frames[-1].start < end - 1:
        frames.append(Frame(end - 1, frames[-1].picture))
    return tuple(frames)


def _fill(frames: list[Frame], until: int) -> None:
    """Repeat the last frame so that no frame before ``until`` lasts over FILL_SECONDS."""
    step = FILL_SECONDS * TICKS
    while until - frames[-1].start > step:
        frames.append(Frame(frames[-1].start + step, frames[-1].picture))


def compose_concat(frames: Sequence[Frame], names: Sequence[str], end: int) -> str:
    """An ffconcat list showing ``names[frame.picture]`` for each frame until the next.

    The last frame lasts until ``end`` (TICKS); the names are plain file names
    beside the list.
    """
    lines = ["ffconcat version 1.0"]
    for frame, following in zip(frames, [*frames[1:], None], strict=True):
        until = following.start if following is not None else end
        lines += [f"file {names[frame.picture]}", f"duration {_decimal(until - frame.start)}"]
    return "\n".join(lines) + "\n"


def _decimal(ticks: int) -> str:
    """TICKS as exact decimal seconds."""
    whole, part = divmod(ticks, TICKS)
    return f"{whole}.{part:04d}"


# --- burned subtitles --------------------------------------------------------------

#: The video's picture and the margins of its title-safe area (10 % each side, as
#: broadcast guidelines and YouTube's safe zone suggest); the burned cues' style is
#: ``ass.BURNED``.
WIDTH, HEIGHT = PLAY_RES
SAFE_X, SAFE_Y = WIDTH // 10, HEIGHT // 10
#: The name the burned cues' ASS script is written under, and the libass filter drawing it
#: (ffmpeg runs in the folder holding the file, so no path needs quoting).
BURN_FILE = "burn.ass"
BURN_FILTER = f"ass={BURN_FILE}"
