"""The pronunciation lexicon: pure matching, and its effect on the real engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt
from hypothesis import given
from hypothesis import strategies as st

from narrator.engines import VoiceSettings
from narrator.lexicon import Entry, Lexicon, PhonemeAlphabet
from narrator.render import RenderSettings, render

LEXICON = Lexicon(
    (
        Entry("Deir Ezzor", say="Dare ez Zor"),
        Entry("Deir", say="Dare"),
        Entry("ISIS", say="eye sis", case_sensitive=True),
        Entry("al-Sukhnah", say="al Sook na"),
    )
)


def test_whole_words_only_and_longest_first() -> None:
    said = LEXICON.respell("Deir Ezzor, Deir and crisis: ISIS or isis near al-Sukhnah.")
    assert said.spoken == "Dare ez Zor, Dare and crisis: eye sis or isis near al Sook na."


def test_case_insensitive_unless_asked() -> None:
    assert LEXICON.respell("DEIR EZZOR").spoken == "Dare ez Zor"
    assert LEXICON.respell("Isis").spoken == "Isis"


def test_phonemes_only_for_engines_that_read_them() -> None:
    lexicon = Lexicon((Entry("Harrow", phonemes="h'ar@U"), Entry("Cape", say="Kayp")))
    assert lexicon.respell("Cape Harrow", PhonemeAlphabet.ESPEAK).spoken == "Kayp [[h'ar@U]]"
    assert lexicon.respell("Cape Harrow", PhonemeAlphabet.NONE).spoken == "Kayp Harrow"
    assert lexicon.respell("Cape Harrow", PhonemeAlphabet.IPA).spoken == "Kayp Harrow"


def test_each_engine_gets_its_alphabet_or_the_respelling() -> None:
    both = Entry("Harrow", say="Harro", phonemes="h'ar@U", ipa="ˈhæɹoʊ")
    espeak_only = Entry("Cape", say="Kayp", phonemes="k'eIp")
    ipa_only = Entry("Zog", ipa="zɔɡ")
    lexicon = Lexicon((both, espeak_only, ipa_only))
    text = "Cape Harrow and Zog"
    said = {alphabet: lexicon.respell(text, alphabet).spoken for alphabet in PhonemeAlphabet}
    assert said == {
        PhonemeAlphabet.ESPEAK: "[[k'eIp]] [[h'ar@U]] and Zog",
        PhonemeAlphabet.IPA: "Kayp [[ˈhæɹoʊ]] and [[zɔɡ]]",
        PhonemeAlphabet.NONE: "Kayp Harro and Zog",
    }


def test_offsets_map_written_words_to_spoken_ones() -> None:
    text = "The siege of Deir Ezzor went on."
    said = LEXICON.respell(text)
    start = text.index("Deir")
    assert said.spoken_start(start) == said.spoken.index("Dare")
    assert said.spoken_start(text.index("Ezzor")) is None  # inside the phrase
    assert said.spoken_end(text.index("Ezzor") + 5) == said.spoken.index(" went")
    went = text.index("went")
    assert said.spoken[said.spoken_offset(went) :].startswith("went on.")


WORDS = st.sampled_from(["Deir", "Ezzor", "ISIS", "isis", "al-Sukhnah", "the", "road", "crisis"])


@given(st.lists(WORDS, min_size=1, max_size=12))
def test_unreplaced_words_keep_their_place(words: list[str]) -> None:
    text = " ".join(words)
    said = LEXICON.respell(text)
    position = 0
    for word in words:
        start = text.index(word, position)
        spoken = said.spoken_start(start)
        if spoken is not None and not any(s[0] <= start < s[1] for s in said.spans):
            assert said.spoken[spoken : spoken + len(word)] == word
        position = start + len(word)
    starts = [s for s in (said.spoken_start(i) for i in range(len(text))) if s is not None]
    assert starts == sorted(starts)


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_lexicon_changes_the_audio_not_the_subtitles(
    tools: None, tmp_path: Path, engine: str
) -> None:
    script = tmp_path / "nato.txt"
    script.write_text("The NATO summit ended late.\n", encoding="utf-8")
    long_form = Lexicon((Entry("NATO", say="the North Atlantic Treaty Organisation"),))
    plain = render(script, RenderSettings(out_dir=tmp_path / "a", voice=VoiceSettings(engine)))
    said = render(
        script,
        RenderSettings(out_dir=tmp_path / "b", voice=VoiceSettings(engine), lexicon=long_form),
    )
    # The respelling adds about ten syllables: well over a second of speech.
    assert said.duration > plain.duration + 1.0
    for result in (plain, said):
        texts = [c.content.replace("\n", " ") for c in srt.parse(result.subtitles.read_text())]
        assert texts == ["The NATO summit ended late."]


def test_espeak_phonemes_are_spoken(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "name.txt"
    script.write_text("We met Mr. Zog at noon.\n", encoding="utf-8")
    # "Zog" said as a long made-up name in eSpeak phonemes.
    lexicon = Lexicon((Entry("Zog", phonemes="z'o@g@l@m'aIn@st@r"),))
    plain = render(script, RenderSettings(out_dir=tmp_path / "a", voice=VoiceSettings("espeak")))
    said = render(
        script,
        RenderSettings(out_dir=tmp_path / "b", voice=VoiceSettings("espeak"), lexicon=lexicon),
    )
    assert said.duration > plain.duration + 0.3
    assert "Zog" in said.subtitles.read_text()
    sentence = json.loads(said.manifest.read_text())["paragraphs"][0]["sentences"][0]
    # The written words everywhere; the phonemes only where the manifest says what was spoken.
    assert "[[" not in sentence["text"] + "".join(c["text"] for c in sentence["cues"])
    assert sentence["spoken"] == "We met Mister [[z'o@g@l@m'aIn@st@r]] at noon."


def test_pictographs_are_shown_but_never_said() -> None:
    for lexicon in (Lexicon(), LEXICON):
        respelled = lexicon.respell("Deir ✨ fell 🎉\ufe0f today ★.")
        assert "✨" not in respelled.spoken and "🎉" not in respelled.spoken
        assert "★" not in respelled.spoken and "\ufe0f" not in respelled.spoken
        assert respelled.written == "Deir ✨ fell 🎉\ufe0f today ★."
    # Not symbols a narrator reads: degrees, copyright, currency.
    assert Lexicon().respell("40° © £5").spoken == "40° © £5"


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_an_emoji_adds_nothing_to_the_audio_and_stays_in_the_subtitles(
    tools: None, tmp_path: Path, engine: str
) -> None:
    lengths = []
    for text in ("The harbour reopened today.", "The harbour 🎉 reopened today ✨."):
        script = tmp_path / "news.txt"
        script.write_text(text + "\n", encoding="utf-8")
        result = render(
            script, RenderSettings(out_dir=tmp_path / str(len(lengths)),
                                   voice=VoiceSettings(engine=engine))
        )
        lengths.append(result.duration)
    # "party popper" and "sparkles" would add about a second and a half.
    assert lengths[1] == pytest.approx(lengths[0], abs=0.15)
    assert "🎉" in result.subtitles.read_text(encoding="utf-8")
