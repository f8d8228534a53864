"""Speech engines behind one small Protocol, and the registry that opens them by name."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from narrator.defaults import DEFAULT_ENGINE, DEFAULT_RATE
from narrator.errors import SettingError
from narrator.lexicon import PhonemeAlphabet
from narrator.pace import Pace

MIN_RATE, MAX_RATE = 80, 450


@dataclass(frozen=True)
class EngineInfo:
    """What narrator knows of an engine before opening it."""

    #: Module holding an ``Engine`` class that implements SpeechEngine.
    module: str
    #: Its measured speaking pace (scripts/calibrate_pace.py), for estimates.
    pace: Pace
    #: The voice id used when none is asked for; None: the platform's default.
    default_voice: str | None = None
    #: The phonemes it reads in [[...]]; the same as the engine's ``phonemes``
    #: (a test holds them equal), known here so that ``check`` opens no engine.
    phonemes: PhonemeAlphabet = PhonemeAlphabet.NONE
    #: Whether it reports where each word starts (the engine's ``word_timing``).
    word_timing: bool = False
    #: How to install what it needs, for the MissingToolError that says so.
    install_hint: str = "run scripts/setup.sh"
    #: Most worker processes worth running; None: one per core. Piper's onnxruntime
    #: already uses every core, and each process would load the voice again.
    max_jobs: int | None = None


ENGINES: dict[str, EngineInfo] = {
    "pyttsx3": EngineInfo(
        "narrator.engines.pyttsx3_engine",
        Pace(letter=0.0637, digit=0.0, pause=0.138, sentence=-0.132),
        install_hint="run 'pip install pyttsx3' and "
        "'sudo apt-get install libespeak-ng1 espeak-ng' (or scripts/setup.sh)",
    ),
    "espeak": EngineInfo(
        "narrator.engines.espeak",
        Pace(letter=0.0616, digit=0.0, pause=0.2094, sentence=-0.1137),
        default_voice="gmw/en-US",
        phonemes=PhonemeAlphabet.ESPEAK,
        word_timing=True,
        install_hint="install it with 'sudo apt-get install libespeak-ng1 espeak-ng' "
        "(or run scripts/setup.sh)",
    ),
    "piper": EngineInfo(
        "narrator.engines.piper",
        Pace(letter=0.0653, digit=0.0, pause=0.2774, sentence=-0.2354),
        default_voice="en_US-joe-medium",
        phonemes=PhonemeAlphabet.IPA,
        word_timing=True,
        install_hint="install it with \"pip install 'narrator[piper]'\" (or run scripts/setup.sh)",
        max_jobs=1,
    ),
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
    #: The phoneme alphabet the engine reads when written as [[...]] in the text.
    phonemes: PhonemeAlphabet
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
    module = importlib.import_module(ENGINES[settings.engine].module)
    engine: SpeechEngine = module.Engine(settings)
    return engine


def fingerprint(settings: VoiceSettings) -> str:
    """What identifies the sound ``settings`` give, without opening the engine.

    The same as the opened engine's ``fingerprint()``; it names the library
    version, the voice and the rate. Raises like ``open_engine``.
    """
    module = importlib.import_module(ENGINES[settings.engine].module)
    found: str = module.fingerprint(settings)
    return found


def list_voices(engine: str) -> list[Voice]:
    """The voices of the named engine; raises like ``open_engine``.

    An engine module may list its voices without opening a voice (``available``):
    Piper's are files, and loading one costs a second and 700 MB.
    """
    module = importlib.import_module(ENGINES[engine].module)
    if hasattr(module, "available"):
        found: list[Voice] = module.available()
        return found
    opened = open_engine(VoiceSettings(engine=engine))
    try:
        return opened.voices()
    finally:
        opened.close()


def _candidates(wanted: str, voices: list[Voice]) -> Iterator[Voice]:
    """Voices that ``wanted`` may mean, best first; ``wanted`` is lower case."""
    for field in ("id", "name", "language"):
        yield from (v for v in voices if getattr(v, field).lower() == wanted)
    # "gmw/en-GB" names a language in eSpeak's family/code form, "en_GB" in POSIX form.
    code = wanted.rpartition("/")[2].replace("_", "-")
    yield from (v for v in voices if v.language.lower() == code)
    yield from (v for v in voices if v.id.lower().rpartition("/")[2] == code)
    # A bare language ("en", "fr"): its first regional voice.
    yield from (v for v in voices if v.language.lower().startswith(code + "-"))


def resolve_voice(settings: VoiceSettings) -> str | None:
    """The voice id a render with ``settings`` uses; lists the engine's voices if one is asked."""
    module = importlib.import_module(ENGINES[settings.engine].module)
    if hasattr(module, "voice_id"):  # an engine whose voices are not only names (Piper's files)
        chosen: str = module.voice_id(settings)
        return chosen
    if settings.voice is None:
        return ENGINES[settings.engine].default_voice
    return check_voice(settings, list_voices(settings.engine))


def check_voice(settings: VoiceSettings, voices: list[Voice]) -> str:
    """The one voice id that the spelling in ``settings`` means, with any "+variant".

    An id, a name or a language as 'narrator voices' lists them, eSpeak's
    "family/code" form ("gmw/en-GB"), a POSIX locale ("en_GB") and a bare language
    code ("en") are all accepted, in any case. Raises SettingError naming how to
    list the voices when nothing matches.
    """
    assert settings.voice is not None, "callers resolve the default voice first"
    base, plus, variant = settings.voice.partition("+")
    found = next(_candidates(base.strip().lower(), voices), None)
    if found is None:
        raise SettingError(
            f"unknown voice '{settings.voice}' for engine {settings.engine}: "
            f"run 'narrator voices --engine {settings.engine}' to list them"
        )
    return found.id + plus + variant
