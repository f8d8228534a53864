"""eSpeak NG through libespeak-ng directly (ctypes, synchronous), with word positions."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any

from narrator import signals
from narrator.engines import ENGINES, Clip, Voice, VoiceSettings, WordMark, check_voice
from narrator.errors import MissingToolError, SettingError, SynthesisError

LIBRARY = "libespeak-ng.so.1"
INSTALL_HINT = ENGINES["espeak"].install_hint

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES = 0x100  # read [[...]] as eSpeak phoneme mnemonics
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_RATE = 1
_BUFFER_MS = 500


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class _Library:
    """The process-wide libespeak-ng: it can be initialised only once per process."""

    def __init__(self) -> None:
        try:
            self.lib: Any = ctypes.CDLL(LIBRARY)
        except OSError:
            raise MissingToolError(
                f"eSpeak NG library {LIBRARY} not found: {INSTALL_HINT}"
            ) from None
        # Audio comes back in chunks of this many ms: fewer, larger callbacks cost less.
        # The library starts a thread, which must never take a Ctrl-C or SIGTERM
        # meant for the main thread: it inherits these signals blocked.
        with signals.held():
            self.sample_rate: int = self.lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None, 0
            )
        if self.sample_rate <= 0:
            raise MissingToolError(
                f"eSpeak NG could not start (data files missing?): {INSTALL_HINT}"
            )
        self.lib.espeak_Info.restype = ctypes.c_char_p
        data_path = ctypes.c_char_p()
        self.version: str = self.lib.espeak_Info(ctypes.byref(data_path)).decode()
        self.data_path = Path((data_path.value or b"").decode())
        self.lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self.chunks: list[bytes] = []
        self.marks: list[tuple[int, int]] = []
        self.callback = _Callback(self._on_audio)
        self.lib.espeak_SetSynthCallback(self.callback)
        self.lock = threading.Lock()

    def _on_audio(self, wav: Any, count: int, events: Any) -> int:
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD and event.length > 0:
                self.marks.append((event.text_position - 1, event.sample))
            i += 1
        if count > 0:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def variants(self) -> set[str]:
        """Names of the voice variants ('+f3', '+Annie') installed with eSpeak NG."""
        folder = self.data_path / "voices" / "!v"
        return {p.name.lower() for p in folder.iterdir()} if folder.is_dir() else set()

    def voices(self) -> list[Voice]:
        found: list[Voice] = []
        table = self.lib.espeak_ListVoices(None)
        i = 0
        while table[i]:
            voice = table[i].contents
            # languages: a priority byte, then a NUL-terminated language name.
            language = ctypes.string_at(voice.languages + 1).decode(errors="replace")
            identifier = voice.identifier.decode()
            i += 1
            if identifier.startswith("mb/"):
                continue  # MBROLA voices need separate diphone packages
            found.append(Voice(identifier, voice.name.decode(errors="replace"), language))
        return found

    def speak(self, text: str, voice: str, rate: int) -> Clip:
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SettingError(f"eSpeak NG refused voice '{voice}'")
            self.lib.espeak_SetParameter(_RATE, rate, 0)
            self.chunks, self.marks = [], []
            data = text.encode("utf-8")
            # A Ctrl-C or SIGTERM handled during the call would raise inside the audio
            # callback, where ctypes drops it: it waits for the sentence to end.
            with signals.held():
                status = self.lib.espeak_Synth(
                    data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _PHONEMES, None, None
                )
            if status != 0:
                raise SynthesisError(f"eSpeak NG failed (status {status}) on: {text[:60]!r}")
            words = tuple(WordMark(offset, sample) for offset, sample in self.marks)
            return Clip(b"".join(self.chunks), self.sample_rate, words)


_library: _Library | None = None


def library() -> _Library:
    """The loaded library; raises MissingToolError with an install hint when absent."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


class Engine:
    """The ``espeak`` engine: libespeak-ng in-process, word-accurate timing."""

    name = "espeak"
    word_timing = True
    phonemes = ENGINES["espeak"].phonemes

    def __init__(self, settings: VoiceSettings) -> None:
        self._lib = library()
        self.sample_rate = self._lib.sample_rate
        self.rate = settings.rate
        wanted = settings.voice or ENGINES[self.name].default_voice or ""
        self.voice: str | None = check_voice(
            VoiceSettings(settings.engine, wanted, settings.rate), self._lib.voices()
        )
        variant = wanted.partition("+")[2]
        if variant and variant.lower() not in self._lib.variants():
            raise SettingError(
                f"unknown voice variant '+{variant}' for engine espeak: the variants are the "
                f"files in {self._lib.data_path / 'voices' / '!v'}"
            )

    def fingerprint(self) -> str:
        """Library version, voice and rate."""
        return f"espeak-ng {self._lib.version}|{self.voice}|{self.rate}"

    def voices(self) -> list[Voice]:
        """Every voice eSpeak NG has installed."""
        return self._lib.voices()

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` synchronously; word marks come from eSpeak's word events."""
        assert self.voice is not None, "resolved when the engine opened"
        return self._lib.speak(text, self.voice, self.rate)

    def close(self) -> None:
        """Nothing to release: the library stays loaded for the process."""


def fingerprint(settings: VoiceSettings) -> str:
    """The fingerprint of the engine ``settings`` open (cheap: the library is in-process)."""
    return Engine(settings).fingerprint()
