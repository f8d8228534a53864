"""Speech engines behind one small Protocol, and the registry that opens them by name."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from narrator.defaults import DEFAULT_ENGINE, DEFAULT_RATE
from narrator.errors import SettingError

MIN_RATE, MAX_RATE = 80, 450

# name -> module holding an ``Engine`` class that implements SpeechEngine.
ENGINES: dict[str, str] = {
    "pyttsx3": "narrator.engines.pyttsx3_engine",
    "espeak": "narrator.engines.espeak",
}


@dataclass(frozen=True)
class VoiceSettings:
    """Which engine speaks, with which voice, how fast (words per minute)."""

    engine: str = DEFAULT_ENGINE
    voice: str | None = None
    rate: int = DEFAULT_RATE

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise SettingError(
                f"unknown engine '{self.engine}': choose one of {', '.join(ENGINES)}"
            )
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise SettingError(
                f"--rate {self.rate} is out of range: "
                f"give {MIN_RATE} to {MAX_RATE} words per minute"
            )


@dataclass(frozen=True)
class Voice:
    """A voice an engine offers."""

    id: str
    name: str
    language: str


@dataclass(frozen=True)
class WordMark:
    """Where a word starts: its character offset in the text, and its first audio sample."""

    offset: int
    sample: int


@dataclass(frozen=True)
class Clip:
    """Mono 16-bit little-endian PCM for one utterance, with word marks if the engine has them."""

    pcm: bytes
    sample_rate: int
    words: tuple[WordMark, ...] = ()

    @property
    def samples(self) -> int:
        """Number of samples in the clip."""
        return len(self.pcm) // 2


class SpeechEngine(Protocol):
    """What the pipeline needs from a speech engine."""

    name: str
    #: True when ``synthesize`` reports where each word starts in the audio.
    word_timing: bool
    sample_rate: int
    #: True when the engine reads eSpeak phonemes written as [[...]] in the text.
    phonemes: bool
    #: The voice id in use; None means the platform's default voice.
    voice: str | None

    def fingerprint(self) -> str:
        """A string that changes whenever the same text would sound different."""
        ...

    def voices(self) -> list[Voice]:
        """The voices this engine offers."""
        ...

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` (never empty) into a clip; raise SynthesisError on failure."""
        ...

    def close(self) -> None:
        """Release the engine's resources."""
        ...


def open_engine(settings: VoiceSettings) -> SpeechEngine:
    """Open the engine named in ``settings`` with its voice and rate.

    Raises MissingToolError when the engine's library is not installed (the
    message says how to install it) and SettingError for an unknown voice.
    """
    module = importlib.import_module(ENGINES[settings.engine])
    engine: SpeechEngine = module.Engine(settings)
    return engine


def list_voices(engine: str) -> list[Voice]:
    """The voices of the named engine; raises like ``open_engine``."""
    opened = open_engine(VoiceSettings(engine=engine))
    try:
        return opened.voices()
    finally:
        opened.close()


def check_voice(settings: VoiceSettings, voices: list[Voice]) -> str:
    """Return the voice id to use, or raise SettingError naming how to list voices."""
    assert settings.voice is not None, "callers resolve the default voice first"
    base, plus, variant = settings.voice.partition("+")
    wanted = base.lower()
    for field in ("id", "name", "language"):
        for voice in voices:
            if getattr(voice, field).lower() == wanted:
                return voice.id + plus + variant
    raise SettingError(
        f"unknown voice '{settings.voice}' for engine {settings.engine}: "
        f"run 'narrator voices --engine {settings.engine}' to list them"
    )
