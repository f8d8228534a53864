"""What a render is asked for: its settings, validated when built."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

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
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise SettingError(
                    f"unknown encoding '{self.encoding}': give a Python codec name such as cp1252"
                ) from None
