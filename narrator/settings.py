"""What a render is asked for: its settings, validated when built."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.container import Tags
from narrator.cues import FRAME_RATES, Frames
from narrator.defaults import (
    DEFAULT_FORMAT,
    DEFAULT_PARAGRAPH_PAUSE_MS,
    DEFAULT_SENTENCE_PAUSE_MS,
)
from narrator.engines import VoiceSettings
from narrator.errors import SettingError
from narrator.formats import AudioFormat
from narrator.lexicon import Lexicon
from narrator.script import Cleaning
from narrator.segment import CueLimits
from narrator.styles import DEFAULT_STYLE, STYLES, SubtitleStyle

if TYPE_CHECKING:
    from narrator.loudness import Preset

MAX_GAP_MS = 10_000  # the automatic sentence and paragraph gaps


_DEFAULT_FORMAT = AudioFormat(DEFAULT_FORMAT)


@dataclass(frozen=True)
class RenderSettings:
    """Everything a render needs besides the script; validated when built."""

    out_dir: Path = Path("output")
    audio_format: AudioFormat = _DEFAULT_FORMAT
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    sentence_pause_ms: int = DEFAULT_SENTENCE_PAUSE_MS
    paragraph_pause_ms: int = DEFAULT_PARAGRAPH_PAUSE_MS
    style: SubtitleStyle = field(default_factory=lambda: STYLES[DEFAULT_STYLE])
    encoding: str | None = None
    cleaning: Cleaning = field(default_factory=Cleaning)
    lexicon: Lexicon = field(default_factory=Lexicon)
    #: The video frame rate cues are timed to, as --fps spells it; None: none.
    fps: str | None = None
    #: The loudness preset as given: off, podcast, youtube, audiobook or a LUFS number.
    loudness: str = "off"
    #: Tags written into the audio file; a title left out is the script's first heading.
    tags: Tags = field(default_factory=Tags)
    #: Cover art embedded in mp3, m4a and m4b, and the picture of an mp4.
    cover: Path | None = None
    #: Draw the cues into the mp4's picture instead of carrying them as a soft track.
    burn_subtitles: bool = False

    @property
    def mastering(self) -> Preset | None:
        """The loudness preset the audio is mastered to; None for off."""
        from narrator.loudness import preset

        return preset(self.loudness)

    @property
    def limits(self) -> CueLimits:
        """The subtitle style's cue limits."""
        return self.style.limits

    @property
    def frames(self) -> Frames | None:
        """The frame grid cues are timed to, if any, with the style's gap."""
        if self.fps is None:
            return None
        return Frames(FRAME_RATES[self.fps], self.style.min_gap_frames)

    def __post_init__(self) -> None:
        # A plain string is accepted and checked, so that callers may write "mp3".
        object.__setattr__(self, "audio_format", AudioFormat.parse(str(self.audio_format)))
        for option, value in (
            ("--sentence-pause", self.sentence_pause_ms),
            ("--paragraph-pause", self.paragraph_pause_ms),
        ):
            if not 0 <= value <= MAX_GAP_MS:
                raise SettingError(f"{option} {value} is out of range: give 0 to {MAX_GAP_MS} ms")
        if self.fps is not None and self.fps not in FRAME_RATES:
            raise SettingError(
                f"--fps {self.fps} is not a frame rate narrator knows: "
                f"give one of {', '.join(FRAME_RATES)}"
            )
        self.mastering  # noqa: B018 (raises SettingError for an unknown preset)
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise SettingError(
                    f"unknown encoding '{self.encoding}': give a Python codec name such as cp1252"
                ) from None

    def check_pictures(self) -> None:
        """Refuse a cover or burned cues the format cannot carry, and a cover that is no image.

        Checked by a render (before synthesis), not by check or preview, which write
        no audio.
        """
        from narrator.container import PICTURE_FORMATS

        fmt = self.audio_format
        if self.burn_subtitles and fmt is not AudioFormat.MP4:
            raise SettingError(
                f"--burn-subtitles draws the cues into a video: add --format mp4 (not {fmt})"
            )
        if self.cover is None:
            return
        if fmt not in PICTURE_FORMATS:
            raise SettingError(
                f"--cover {self.cover}: {fmt} files carry no cover art: "
                "use --format mp3, m4a, m4b or mp4"
            )
        from narrator.cards import check_cover

        check_cover(self.cover)
