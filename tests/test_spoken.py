"""The spoken form: every row of the table, the offset map, and what real engines say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import srt
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import ENGINES, VoiceSettings, open_engine
from narrator.lexicon import Entry, Lexicon, PhonemeAlphabet, unspoken
from narrator.render import RenderSettings, render
from narrator.segment import CueLimits, tokenize
from narrator.spoken import RULES, Rule, spoken_form
from narrator.stitch import conform
from narrator.styles import SubtitleStyle
from narrator.synth import SentenceSpeaker
from tests.test_engines import FakeEngine

EXAMPLES = [(rule.name, w, s) for rule in RULES for w, s in rule.examples]
LEAVES = [(rule, w) for rule in RULES for w in rule.leaves]


@pytest.mark.parametrize(("rule", "written", "said"), EXAMPLES)
def test_each_row_says_its_examples(rule: str, written: str, said: str) -> None:
    assert spoken_form(written).spoken == said


def _fires(rule: Rule, text: str) -> bool:
    return any(rule.say(m) is not None for m in rule.pattern.finditer(text))


@pytest.mark.parametrize(("rule", "written"), LEAVES, ids=[f"{r.name}:{w}" for r, w in LEAVES])
def test_each_row_leaves_its_look_alikes(rule: Rule, written: str) -> None:
    assert not _fires(rule, written)


@pytest.mark.parametrize(
    "text",
    [
        "He said no.",
        "No, he said.",
        "Drake sailed no further.",
        "We took the St to town.",
        "Generation Z and Gen Z.",
        "Mrs. and Mr. were there.",
        "The standard is A4 and the plane a B-52 in 3D on 9/11.",
        "They drew on 2017-07-26 with version 2.0.1 and agent 007.",
        "COVID-19 spread.",
        "He is 5'10\" tall.",
    ],
)
def test_look_alikes_are_said_as_written(text: str) -> None:
    assert spoken_form(text).spoken == text


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("He lived on Baker St. The house.", "He lived on Baker Street. The house."),
        ("I saw the Dr. Later I went home.", "I saw the Doctor. Later I went home."),
        ("St. Paul St. Dr. Jones lives", "Saint Paul Street. Doctor Jones lives"),
        ("Then Dr. Jones came.", "Then Doctor Jones came."),
        ("The St. Lawrence froze.", "The Saint Lawrence froze."),
        ("We met at 6 p.m. Then we ate.", "We met at six PM. Then we ate."),
        ("Rice, beans etc. They keep.", "Rice, beans et cetera. They keep."),
        ("Ali vs. The Beatles, e.g. This one.", "Ali versus The Beatles, for example This one."),
        ("I met the Gen. Then I left.", "I met the Gen. Then I left."),
        ("Dr. A. Smith", "Doctor A. Smith"),
    ],
)
def test_a_full_stop_that_ends_a_sentence_is_kept(written: str, said: str) -> None:
    assert spoken_form(written).spoken == said


def test_a_sentence_of_everything() -> None:
    text = (
        "On 6 May 1984 at 6 p.m., Dr. Watson paid £240,000, approx. 45% of the $1.5 million "
        "raised since the '90s, for No. 7 St. Mary's Rd., not Baker St."
    )
    assert spoken_form(text).spoken == (
        "On six May nineteen eighty-four at six PM, Doctor Watson paid two hundred and forty "
        "thousand pounds, approximately forty-five percent of the one point five million "
        "dollars raised since the nineties, for number seven Saint Mary's Rd., not Baker Street."
    )


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Call +1 (555) 123-4567.", "Call plus one, five five five, one two three, four five six "
         "seven."),
        ("Call 555-1234.", "Call five five five, one two three four."),
        ("Ring 020 7946 0958 now.", "Ring oh two oh, seven nine four six, oh nine five eight now."),
        ("Ring +44 20 7946 0958.", "Ring plus four four, two oh, seven nine four six, oh nine five "
         "eight."),
        ("In 1984 2000 people came.", "In nineteen eighty-four two thousand people came."),
        ("From 100-1000 troops.", "From one hundred to one thousand troops."),
        ("In (1990) 2000 people.", "In (nineteen ninety) two thousand people."),
    ],
)
def test_phone_numbers_are_said_digit_by_digit(written: str, said: str) -> None:
    assert spoken_form(written).spoken == said


def test_years_and_amounts() -> None:
    said = spoken_form("In 1944, 1500 troops and 2,000 tanks landed; 1945 was worse.").spoken
    assert said == (
        "In nineteen forty-four, one thousand five hundred troops and two thousand tanks "
        "landed; nineteen forty-five was worse."
    )


def test_the_lexicon_wins_and_its_phrases_are_left_alone() -> None:
    lexicon = Lexicon(
        (
            Entry("Apollo 11", say="Apollo eleven"),
            Entry("St. Ives", say="Saint Eeves"),
            Entry("Mr. Zog", phonemes="m'Ist@ z'0g"),
        )
    )
    text = "Apollo 11 left St. Ives at 6 p.m. with Mr. Zog and 12 others."
    assert spoken_form(text, lexicon).spoken == (
        "Apollo eleven left Saint Eeves at six PM with Mister Zog and twelve others."
    )
    espeak = spoken_form(text, lexicon, PhonemeAlphabet.ESPEAK)
    assert "[[m'Ist@ z'0g]] and twelve" in espeak.spoken


def test_offsets_of_a_rewritten_sentence() -> None:
    text = "It cost £240,000 at 6 p.m. today."
    said = spoken_form(text)
    assert said.spoken == "It cost two hundred and forty thousand pounds at six PM today."
    assert said.spoken_start(text.index("£")) == said.spoken.index("two")
    assert said.spoken_end(text.index(" at")) == said.spoken.index(" at")
    assert said.spoken_start(text.index("p.m.")) is None  # inside "6 p.m."
    assert said.spoken_start(text.index("today")) == said.spoken.index("today")


COVERED = [w for _, w, _ in EXAMPLES]
PLAIN = ["the", "Harbour", "rose", "and", "fell,", "in", "May", "(", ")", "—", "🎉"]


@given(st.lists(st.sampled_from(COVERED + PLAIN), min_size=1, max_size=10))
def test_the_map_is_consistent(words: list[str]) -> None:
    text = " ".join(words)
    said = spoken_form(text)
    blanked = unspoken(text)  # pictographs are spaces
    written_ends = [0]
    spoken_ends = [0]
    for w_start, w_end, s_start, s_end in said.spans:
        assert w_start >= written_ends[-1] and s_start >= spoken_ends[-1]
        assert w_start < w_end and s_start < s_end
        # Outside the rewrites, the spoken text is the written text, place for place.
        assert said.spoken[spoken_ends[-1] : s_start] == blanked[written_ends[-1] : w_start]
        written_ends.append(w_end)
        spoken_ends.append(s_end)
    assert said.spoken[spoken_ends[-1] :] == blanked[written_ends[-1] :]
    starts = []
    for token in tokenize(text):
        start = said.spoken_start(token.start)
        inside = any(a < token.start < b for a, b, _, _ in said.spans)
        assert (start is None) == inside
        if start is not None:
            starts.append(start)
    assert starts == sorted(starts)
    # Every covered form is said in words: no digit reaches the engine.
    assert not re.search(r"\d", said.spoken)


CROWDED = (
    "At 6 p.m. on 4 May the council paid $1.5 million, then £3 billion, to No. 7 "
    "St. Mary's Road for the 1914 – 1918 archive, which is 45% larger than in the 1990s."
)


def test_pieces_never_begin_inside_a_rewrite() -> None:
    # Tight limits force a cut between almost every pair of words.
    engine = FakeEngine(per_char=10)
    limits = CueLimits(max_line=12, max_lines=1)
    spoken = SentenceSpeaker(engine, 175, limits, conform).speak(CROWDED)
    texts = [s.text for s in spoken.spans]
    assert " ".join(texts) == CROWDED
    said = spoken_form(CROWDED)
    starts = _cue_starts(CROWDED, texts)
    assert not [t for t, at in zip(texts, starts, strict=True) if _inside(said.spans, at)]
    # Each piece is said from the whole sentence's spoken form.
    assert " ".join(engine.spoken) == said.spoken == spoken.spoken
    assert not any(re.search(r"\d", piece) for piece in engine.spoken)


def _cue_starts(sentence: str, texts: list[str]) -> list[int]:
    starts, position = [], 0
    for text in texts:
        position = sentence.index(text, position)
        starts.append(position)
        position += len(text)
    return starts


def _inside(spans: tuple[tuple[int, int, int, int], ...], offset: int) -> bool:
    return any(a < offset < b for a, b, _, _ in spans)


def test_espeak_cues_never_begin_inside_a_rewrite(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "crowded.txt"
    script.write_text(CROWDED + "\n", encoding="utf-8")
    limits = CueLimits(max_line=16, max_lines=1)
    result = render(script, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("espeak"),
                                           style=SubtitleStyle("narrow", limits)))  # fmt: skip
    texts = [c.text for c in result.cues]
    assert " ".join(texts) == CROWDED and len(texts) >= 8
    spans = spoken_form(CROWDED).spans
    assert not [t for t, at in zip(texts, _cue_starts(CROWDED, texts), strict=True)
                if _inside(spans, at)]  # fmt: skip


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_money_is_said_in_words_and_shown_as_written(
    tools: None, tmp_path: Path, engine: str
) -> None:
    written = "The house sold for £240,000 last year."
    words = "The house sold for two hundred and forty thousand pounds last year."
    results = []
    for name, text in (("written", written), ("words", words)):
        script = tmp_path / f"{name}.txt"
        script.write_text(text + "\n", encoding="utf-8")
        settings = RenderSettings(out_dir=tmp_path / name, voice=VoiceSettings(engine))
        results.append(render(script, settings))
    said, spelled = results
    # The same text reaches the engine, so the same speech comes out (eSpeak alone says
    # "pound two hundred forty thousand").
    assert said.duration == pytest.approx(spelled.duration, abs=0.02)
    cues = [c.content.replace("\n", " ") for c in srt.parse(said.subtitles.read_text())]
    assert cues == [written]
    sentence = json.loads(said.manifest.read_text())["paragraphs"][0]["sentences"][0]
    assert sentence["text"] == written
    assert sentence["spoken"] == words


def test_check_shows_what_is_said_where_it_differs(tmp_path: Path) -> None:
    script = tmp_path / "talk.txt"
    script.write_text("It cost £5 at 6 p.m.\n\nThe harbour was quiet.\n", encoding="utf-8")
    runner = CliRunner()
    text = runner.invoke(app, ["check", str(script)])
    assert text.exit_code == 0, text.output
    assert "said: It cost five pounds at six PM." in text.stdout
    assert text.stdout.count("said:") == 1
    data = runner.invoke(app, ["check", str(script), "--json"])
    assert data.exit_code == 0, data.output
    sentences = [s for p in json.loads(data.stdout)["paragraphs"] for s in p["sentences"]]
    assert [s["spoken"] for s in sentences] == ["It cost five pounds at six PM.", None]


def test_check_shows_the_phonemes_of_the_engine(tmp_path: Path) -> None:
    script = tmp_path / "talk.txt"
    script.write_text("Zog waved.\n", encoding="utf-8")
    (tmp_path / "narrator.toml").write_text(
        '[[lexicon]]\nword = "Zog"\nsay = "Zogg"\nphonemes = "z\'0g"\n', encoding="utf-8"
    )
    for engine, said in (("espeak", "[[z'0g]] waved."), ("pyttsx3", "Zogg waved.")):
        out = CliRunner().invoke(app, ["check", str(script), "--json", "--engine", engine])
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["paragraphs"][0]["sentences"][0]["spoken"] == said


@pytest.mark.parametrize("name", list(ENGINES))
def test_the_registry_knows_each_engines_alphabet(tools: None, name: str) -> None:
    engine = open_engine(VoiceSettings(engine=name))
    try:
        assert engine.phonemes is ENGINES[name].phonemes
    finally:
        engine.close()


@given(st.text(alphabet="0123456789,.:/-–%£$€'’ stndrhpamPMNoDrSk", max_size=40))
@example("73.0–5€7")  # a decimal of four characters is no year
@example("1" + "0" * 5000 + "th")  # past num2words' range: left as digits
def test_any_text_of_digits_and_signs_is_mapped(text: str) -> None:
    said = spoken_form(text)
    rebuilt, position = [], 0
    for w_start, w_end, s_start, s_end in said.spans:
        assert w_start >= position
        rebuilt.append(text[position:w_start])
        rebuilt.append(said.spoken[s_start:s_end])
        position = w_end
    rebuilt.append(text[position:])
    assert "".join(rebuilt) == said.spoken
