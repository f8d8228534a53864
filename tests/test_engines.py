"""The engines on the real eSpeak NG, and the sentence speaker's logic on a fake engine."""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest

from narrator.engines import Clip, SpeechEngine, Voice, VoiceSettings, open_engine
from narrator.lexicon import PhonemeAlphabet
from narrator.segment import CueLimits
from narrator.stitch import conform
from narrator.synth import SentenceSpeaker, speech_bounds, trim

TEXTS = (
    "The keeper climbed the stairs at dusk.",
    "Fog rolled in from the northern channel, thick and grey, before midnight.",
    "No. 7 was the last box on the shelf.",
)


@pytest.fixture(scope="module")
def espeak(tools: None) -> Iterator[SpeechEngine]:
    engine = open_engine(VoiceSettings(engine="espeak"))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def pyttsx3(tools: None) -> Iterator[SpeechEngine]:
    engine = open_engine(VoiceSettings(engine="pyttsx3"))
    yield engine
    engine.close()


def test_espeak_word_marks_point_at_words(espeak: SpeechEngine) -> None:
    text = TEXTS[1]
    clip = espeak.synthesize(text)
    assert clip.sample_rate == 22050
    offsets = [m.offset for m in clip.words]
    samples = [m.sample for m in clip.words]
    assert offsets == sorted(offsets) and samples == sorted(samples)
    assert all(text[o].isalnum() and (o == 0 or not text[o - 1].isalnum()) for o in offsets)
    # eSpeak joins a few short words ("in from") into one event; most words get a mark.
    assert len(offsets) >= 0.8 * len(text.split())
    assert samples[-1] < clip.samples


def test_espeak_rate_changes_length(tools: None) -> None:
    slow = open_engine(VoiceSettings(engine="espeak", rate=120)).synthesize(TEXTS[1])
    fast = open_engine(VoiceSettings(engine="espeak", rate=300)).synthesize(TEXTS[1])
    assert slow.samples > 1.8 * fast.samples


def _varied_sentences(count: int) -> list[str]:
    """Deterministic sentences of 5 to 24 words, all different."""
    words = (
        "the keeper rang a bell by the river channel in fog at night while harbour "
        "lights and ships passed stone villages on the mountain road"
    ).split()
    return [
        " ".join(words[(n * 7 + k * 3) % len(words)] for k in range(5 + n % 20)).capitalize()
        + f" number {n}."
        for n in range(count)
    ]


def test_pyttsx3_is_reliable_and_quiet(tools: None, capfd: pytest.CaptureFixture[str]) -> None:
    """Many different sentences in a row: no retries needed, each clip its own length.

    Before the worker waited for eSpeak to go idle, most clips after the first
    dozen came back empty (the driver cancelled them) and the rate was lost.
    """
    engine = open_engine(VoiceSettings(engine="pyttsx3", rate=140))
    try:
        texts = _varied_sentences(150)
        paces = []
        for text in texts:
            pcm, _ = trim(engine.synthesize(text))
            paces.append(len(pcm) / 2 / len(text))
        retries = engine.retries  # type: ignore[attr-defined]  (pyttsx3 engine only)
        # Only the pace safety net may ask again (text full of numbers reads slower).
        assert set(retries) <= {"speaking rate ignored"}, retries
        assert sum(retries.values()) <= 3, retries
        usual = statistics.median(paces)
        assert all(0.6 * usual <= pace <= 1.6 * usual for pace in paces)
        # The same text twice gives the same length, within eSpeak's ~11 ms jitter.
        again = [len(trim(engine.synthesize(t))[0]) // 2 for t in (TEXTS[1], TEXTS[1])]
        assert abs(again[0] - again[1]) <= 0.03 * 22050
    finally:
        engine.close()
    captured = capfd.readouterr()
    assert "Audio saved" not in captured.out
    assert captured.out == ""


def test_pyttsx3_recovers_from_a_killed_driver(tools: None) -> None:
    engine = open_engine(VoiceSettings(engine="pyttsx3"))
    try:
        first = engine.synthesize(TEXTS[0])
        worker = engine._worker  # type: ignore[attr-defined]
        worker.process.kill()
        worker.process.wait()
        again = engine.synthesize(TEXTS[0])
        assert abs(again.samples - first.samples) <= 0.05 * 22050
    finally:
        engine.close()


def test_pyttsx3_honours_rate_and_voice(tools: None) -> None:
    slow = open_engine(VoiceSettings(engine="pyttsx3", rate=120))
    fast = open_engine(VoiceSettings(engine="pyttsx3", rate=300, voice="gmw/en-US"))
    try:
        assert slow.synthesize(TEXTS[1]).samples > 1.8 * fast.synthesize(TEXTS[1]).samples
    finally:
        slow.close()
        fast.close()


def test_trim_cuts_padding_and_keeps_speech(pyttsx3: SpeechEngine) -> None:
    clip = pyttsx3.synthesize(TEXTS[0])
    bounds = speech_bounds(clip.pcm, clip.sample_rate)
    assert bounds is not None
    pcm, cut = trim(clip)
    # Through pyttsx3, eSpeak pads 240-400 ms at the end; trimming keeps a 30 ms guard.
    assert clip.samples - len(pcm) // 2 - cut >= 0.2 * 22050
    assert cut <= bounds[0] and cut + len(pcm) // 2 >= bounds[1]


def test_conform_resamples_and_scales_marks(espeak: SpeechEngine) -> None:
    clip = espeak.synthesize(TEXTS[0])
    doubled = conform(clip, 44100)
    assert doubled.sample_rate == 44100
    assert abs(doubled.samples - 2 * clip.samples) <= 2
    assert [m.sample for m in doubled.words] == [2 * m.sample for m in clip.words]


class FakeEngine:
    """Deterministic engine for logic tests: 1,000 samples of tone per character."""

    name = "fake"
    word_timing = False
    phonemes = PhonemeAlphabet.NONE
    voice = None
    sample_rate = 8000

    def __init__(self, per_char: int = 1000) -> None:
        self.per_char = per_char
        self.spoken: list[str] = []

    def fingerprint(self) -> str:
        return "fake"

    def voices(self) -> list[Voice]:
        return []

    def synthesize(self, text: str) -> Clip:
        self.spoken.append(text)
        tone = (b"\x00\x10\x00\xf0") * (self.per_char * len(text) // 2)
        return Clip(b"\0\0" * 400 + tone + b"\0\0" * 2000, self.sample_rate)

    def close(self) -> None:
        pass


def test_pieces_that_overrun_seven_seconds_are_spoken_again_in_halves() -> None:
    # 1,000 samples per character at 8 kHz: 8 characters a second, far slower than
    # the planning estimate, so planned pieces come back too long and must be split.
    engine = FakeEngine()
    speaker = SentenceSpeaker(engine, 175, CueLimits(), conform)
    sentence = "The keeper rang the bell, every two minutes, through every night of the fog."
    spoken = speaker.speak(sentence)
    assert " ".join(s.text for s in spoken.spans) == sentence
    for span in spoken.spans:
        assert (span.speech_end - span.start) / engine.sample_rate <= 7.0
    assert len(spoken.spans) >= 2
    starts = [s.start for s in spoken.spans]
    assert starts == sorted(set(starts))


def test_leading_silence_is_trimmed_for_engines_without_timing() -> None:
    engine = FakeEngine(per_char=100)
    speaker = SentenceSpeaker(engine, 175, CueLimits(), conform)
    spoken = speaker.speak("A short line.")
    assert spoken.spans[0].start == 0
    # 400 samples of leading silence minus the 5 ms guard were cut away.
    assert spoken.pcm[: 2 * 40] == b"\0\0" * 40
    assert spoken.pcm[2 * 40 : 2 * 41] != b"\0\0"


def test_espeak_voices_by_id_name_language_and_variant(tools: None) -> None:
    for asked, resolved in [
        ("gmw/en-US", "gmw/en-US"),
        ("English (Great Britain)", "gmw/en"),
        ("en-gb", "gmw/en"),
        ("en-us+f3", "gmw/en-US+f3"),
    ]:
        engine = open_engine(VoiceSettings(engine="espeak", voice=asked))
        assert engine.voice == resolved
        assert engine.synthesize("Hello.").samples > 0


class MuteStartEngine(FakeEngine):
    """Says nothing for text that starts with 'Hush': an engine that skips a piece."""

    def synthesize(self, text: str) -> Clip:
        if text.startswith("Hush"):
            self.spoken.append(text)
            return Clip(b"\0\0" * 4000, self.sample_rate)
        return super().synthesize(text)


def test_a_piece_that_comes_out_silent_keeps_its_words_in_the_next_cue() -> None:
    engine = MuteStartEngine(per_char=50)
    speaker = SentenceSpeaker(engine, 175, CueLimits(), conform)
    sentence = (
        "Hush now, the words of this first piece are long enough to need a cue of their own, "
        "and the second piece follows them until the end."
    )
    spoken = speaker.speak(sentence)
    assert len(engine.spoken) == 2  # two planned pieces, the first one silent
    assert [s.text for s in spoken.spans] == [sentence]
    assert spoken.spans[0].start == 0


def test_the_pyttsx3_child_replaces_the_driver_loop_it_knows() -> None:
    """pyttsx3's own loop sleeps 10 ms after every utterance; the installed pyttsx3 must
    still have the loop narrator's child replaces, or the replacement silently lapses."""
    from pyttsx3.drivers.espeak import EspeakDriver

    from narrator.engines import _pyttsx3_worker

    _pyttsx3_worker._prompt_loop()
    assert EspeakDriver.startLoop.__module__ == "narrator.engines._pyttsx3_worker"
