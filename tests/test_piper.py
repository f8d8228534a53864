"""The Piper engine: word starts from phoneme alignments, voices, level, and errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import VoiceSettings, open_engine
from narrator.engines.phoneme_words import phoneme_starts, sounding, word_starts
from narrator.engines.piper import BUNDLED, VOICES_ENV, resolve
from narrator.errors import ExitCode, SettingError
from narrator.lexicon import Entry, Lexicon
from narrator.render import RenderSettings, render
from tests.conftest import ROOT, read_pcm

runner = CliRunner()


@pytest.fixture(scope="module")
def phonemize() -> object:
    """The bundled voice's own phonemizer (eSpeak inside piper-tts): deterministic."""
    try:
        _, model, config = resolve(None)
    except Exception as exc:
        pytest.fail(f"the Piper voice is missing ({exc}): run scripts/setup.sh", pytrace=False)
    from narrator.engines.piper import _load

    voice = _load(model, config).voice

    def run(text: str) -> list[str]:
        return [p for sentence in voice.phonemize(text) for p in sentence]

    return run


def starts_for(phonemize: object, spoken: str) -> dict[str, int | None]:
    """Word -> index of the sentence phoneme it starts at, with every phoneme 1 sample long."""
    assert callable(phonemize)
    sentence = phonemize(spoken)
    words = spoken.split()
    # One sample per phoneme: a start is then the index of the phoneme in the sentence.
    starts = word_starts([phonemize(w) for w in words], phoneme_starts([(p, 1) for p in sentence]))
    return dict(zip(words, starts, strict=True))


def at(phonemize: object, spoken: str, sample: int | None) -> str:
    """The sounding phonemes from ``sample`` on (stress and length marks left out)."""
    assert callable(phonemize) and sample is not None
    return "".join(p for p in phonemize(spoken)[sample:] if p in sounding([p]))


def test_merged_function_words_each_get_their_start(phonemize: object) -> None:
    # eSpeak writes "of the war" as one group: ʌvðə wˈɔːɹ, no space between "of" and "the".
    starts = starts_for(phonemize, "the end of the war")
    assert at(phonemize, "the end of the war", starts["of"]).startswith("ʌv")
    assert at(phonemize, "the end of the war", starts["war"]).startswith("wɔɹ")
    # "the" appears twice: the mapping keeps them in order.
    assert starts["end"] is not None and starts["of"] is not None
    assert starts_for(phonemize, "the end")["the"] == 0


def test_a_dash_has_no_start_and_does_not_shift_the_words_after_it(phonemize: object) -> None:
    text = "Deir Ezzor — the longest siege"
    starts = starts_for(phonemize, text)
    assert starts["—"] is None
    assert at(phonemize, text, starts["longest"]).startswith("lɔŋ")
    assert at(phonemize, text, starts["siege"]).startswith("sidʒ")


def test_a_number_spoken_as_several_words_starts_at_its_first(phonemize: object) -> None:
    text = "ended in 2017, after three years"
    starts = starts_for(phonemize, text)
    assert at(phonemize, text, starts["2017,"]).startswith("tuθaʊzənd")  # "two thousand seventeen"
    assert at(phonemize, text, starts["after"]).startswith("æftɚ")


def test_inline_phonemes_are_a_word_of_their_own(phonemize: object) -> None:
    text = "they fought [[ˈaɪsɪs]] there"
    starts = starts_for(phonemize, text)
    assert at(phonemize, text, starts["[[ˈaɪsɪs]]"]).startswith("aɪsɪs")
    assert at(phonemize, text, starts["there"]).startswith("ðɛɹ")


def test_a_respelled_lexicon_phrase_maps_word_by_word(phonemize: object) -> None:
    # "Deir Ezzor" respelled "Dare ez Zor": three spoken words for two written ones.
    text = "the defenders of Dare ez Zor held the airport"
    starts = starts_for(phonemize, text)
    assert at(phonemize, text, starts["Dare"]).startswith("dɛɹ")
    assert at(phonemize, text, starts["Zor"]).startswith("zɔɹ")
    assert at(phonemize, text, starts["held"]).startswith("hɛld")


def test_a_lexicon_phrase_gives_no_cue_start_inside_it(tools: None, tmp_path: Path) -> None:
    """End to end: the phrase is said as respelled and shown as written, never split.

    (The cutter refuses a start inside it whatever the marks say; the mapping itself
    is tested above.)"""
    script = tmp_path / "siege.txt"
    script.write_text(
        "For three long years the defenders of Deir Ezzor held the airport, the hospital, "
        "the bakery and the bridge against every assault that came across the river plain.\n",
        encoding="utf-8",
    )
    lexicon = Lexicon((Entry("Deir Ezzor", say="Dare ez Zor"),))
    result = render(
        script,
        RenderSettings(out_dir=tmp_path, voice=VoiceSettings("piper"), lexicon=lexicon),
    )
    assert len(result.cues) >= 2
    assert not any(c.text.startswith("Ezzor") for c in result.cues)
    assert "Deir Ezzor" in " ".join(c.text for c in result.cues)
    assert "Dare ez Zor" in result.paragraphs[0].sentences[0].spoken


def test_word_starts_never_go_backwards() -> None:
    # A word aligned before the previous one is a misalignment and gets no start.
    starts = word_starts([["a"], ["b"], ["c"]], [("b", 0), ("a", 10), ("c", 20)])
    assert starts[0] is not None and starts[2] == 20
    assert starts[1] is None or starts[1] >= starts[0]


def test_the_level_is_fixed_not_normalised_per_sentence(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "level.txt"
    script.write_text(
        "Hush.\n\nTHE GATES ARE OPEN! Run to the river, all of you, now!\n\n"
        "And then, quietly, the city slept.\n",
        encoding="utf-8",
    )
    result = render(script, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("piper")))
    pcm, _ = read_pcm(result.audio)
    import audioop

    peaks = []
    for paragraph in result.paragraphs:
        for sentence in paragraph.sentences:
            piece = pcm[2 * sentence.start : 2 * sentence.end]
            peaks.append(audioop.max(piece, 2))
    assert max(peaks) < 32767, "clipped"
    # Piper's own normalisation puts every sentence's peak at full scale.
    assert len(set(peaks)) == len(peaks) and min(peaks) < 0.95 * 32767


def test_voices_lists_the_bundled_voice_and_the_users(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, model, config = resolve(None)
    (tmp_path / "my-narrator.onnx").symlink_to(model)
    (tmp_path / "my-narrator.onnx.json").symlink_to(config)
    (tmp_path / "no-config.onnx").symlink_to(model)  # not a voice without its .json
    monkeypatch.setenv(VOICES_ENV, str(tmp_path))
    shown = runner.invoke(app, ["voices", "--engine", "piper"])
    assert shown.exit_code == 0, shown.stderr
    ids = [line.split("\t")[0] for line in shown.stdout.splitlines()]
    assert ids == [BUNDLED, "my-narrator"]
    engine = open_engine(VoiceSettings("piper", "my-narrator"))
    assert engine.voice == "my-narrator"
    assert open_engine(VoiceSettings("piper", "en-us")).voice == BUNDLED


def test_a_voice_given_by_path_is_used(tools: None, tmp_path: Path) -> None:
    _, model, config = resolve(None)
    shutil.copy(config, tmp_path / "copy.onnx.json")
    (tmp_path / "copy.onnx").symlink_to(model)
    engine = open_engine(VoiceSettings("piper", str(tmp_path / "copy.onnx")))
    assert engine.voice == str(tmp_path / "copy.onnx")
    assert engine.synthesize("Hello there.").samples > 0


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda d: d / "absent.onnx", "absent.onnx: no such file"),
        (lambda d: _touch(d / "lonely.onnx"), "lonely.onnx.json is missing"),
        (lambda d: _broken(d), "broken.onnx: cannot be loaded"),
    ],
)
def test_a_missing_or_broken_voice_is_one_line(tmp_path: Path, make: object, said: str) -> None:
    assert callable(make)
    path = make(tmp_path)
    out = tmp_path / "out"
    script = tmp_path / "talk.txt"
    script.write_text("Hello.\n", encoding="utf-8")
    shown = runner.invoke(
        app, ["render", str(script), "-o", str(out), "--engine", "piper", "--voice", str(path)]
    )
    assert shown.exit_code == ExitCode.BAD_SETTING
    lines = shown.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("narrator: error: Piper voice ")
    assert said in lines[0]
    assert not out.exists()


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _broken(folder: Path) -> Path:
    _, _, config = resolve(None)
    model = folder / "broken.onnx"
    model.write_bytes(b"this is not an onnx model")
    shutil.copy(config, folder / "broken.onnx.json")
    return model


def test_an_unknown_voice_name_says_how_to_list_them() -> None:
    with pytest.raises(SettingError, match="narrator voices --engine piper"):
        resolve("nobody-here")


def test_without_piper_installed_the_error_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, *a):\n"
        "        if name.split('.')[0] in ('piper', 'onnx', 'onnxruntime'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib.util\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] in "
        "('piper', 'onnx', 'onnxruntime') else real(n, *a)\n"
        "from narrator.cli import main\n"
        "sys.argv = ['narrator', 'voices', '--engine', 'piper']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == ExitCode.MISSING_TOOL, done.stderr
    assert "pip install 'narrator[piper]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_lexicon_entry_in_ipa_is_what_piper_says(tools: None, tmp_path: Path) -> None:
    """Piper reads [[IPA]]; eSpeak mnemonics are for the espeak engine and ignored here."""
    script = tmp_path / "name.txt"
    script.write_text("The village of Qaryatayn fell in the spring.\n", encoding="utf-8")
    lexicon = Lexicon((Entry("Qaryatayn", phonemes="k'arjat'ajn", ipa="kˈɑːɹjɐtˌaɪn"),))
    result = render(
        script, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("piper"), lexicon=lexicon)
    )
    sentence = result.paragraphs[0].sentences[0]
    assert "[[kˈɑːɹjɐtˌaɪn]]" in sentence.spoken
    assert "k'arjat'ajn" not in sentence.spoken
    assert "Qaryatayn" in result.subtitles.read_text(encoding="utf-8")


def test_a_long_sentence_is_cut_into_pieces_at_clauses() -> None:
    from narrator.engines.piper import MAX_WORDS, pieces

    text = " ".join(f"w{i}" + ("," if i % 25 == 24 else "") for i in range(130)) + "."
    cut = pieces(text)
    assert len(cut) == 3
    assert all(len(piece.split()) <= MAX_WORDS for _, piece in cut)
    assert all(piece.endswith(",") for _, piece in cut[:-1])  # after a clause
    assert " ".join(piece for _, piece in cut) == text
    assert all(text[offset:].startswith(piece) for offset, piece in cut)
    assert pieces("A short one.") == [(0, "A short one.")]


def test_an_ipa_phrase_is_one_word_for_the_alignment(phonemize: object) -> None:
    from narrator.engines.piper import WORD

    spoken = "they held [[dˈɛɹ ɛzˈɔːɹ]], the city"
    words = [m.group() for m in WORD.finditer(spoken)]
    assert words == ["they", "held", "[[dˈɛɹ ɛzˈɔːɹ]],", "the", "city"]
    assert callable(phonemize)
    starts = word_starts(
        [phonemize(w) for w in words], phoneme_starts([(p, 1) for p in phonemize(spoken)])
    )
    assert at(phonemize, spoken, starts[2]).startswith("dɛɹɛzɔɹ")
    assert at(phonemize, spoken, starts[3]).startswith("ðə")


def test_a_very_long_sentence_is_spoken_whole_with_every_cue_timed(
    tools: None, tmp_path: Path
) -> None:
    words = " ".join(
        f"the column passed the {n}th milestone, and the dust rose behind the trucks"
        for n in range(1, 15)
    )
    script = tmp_path / "long.txt"
    script.write_text(words.capitalize() + ".\n", encoding="utf-8")
    result = render(script, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("piper")))
    sentence = result.paragraphs[0].sentences[0]
    assert len(sentence.cues) > 10
    starts = [c.start for c in sentence.cues]
    assert starts == sorted(set(starts))
    assert " ".join(c.text for c in sentence.cues) == sentence.text


def test_a_sentence_that_would_clip_is_turned_down_alone(
    tools: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audioop

    from narrator.engines import piper

    engine = open_engine(VoiceSettings("piper"))
    quiet = engine.synthesize("And then, quietly, the city slept.")
    monkeypatch.setattr(piper, "GAIN", 4.0)  # every sentence would clip at this gain
    loud = engine.synthesize("And then, quietly, the city slept.")
    assert audioop.max(loud.pcm, 2) == pytest.approx(piper.PEAK * 32767, abs=2)
    assert audioop.max(quiet.pcm, 2) < piper.PEAK * 32767


def test_a_corrupt_pace_cache_is_replaced_not_fatal(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from narrator.engines import piper

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = piper._pace_file()
    assert cache is not None and cache.is_relative_to(tmp_path)
    _, model, config = resolve(None)
    pace = tuple((scale, 10.0 * scale) for scale in piper.PACE_SCALES)
    for garbage in ("[1, 2]", '{"a": ', "7", ""):
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(garbage, encoding="utf-8")
        assert piper._cached_pace(model, config) is None
        piper._cache_pace(model, config, pace)
        assert piper._cached_pace(model, config) == pace
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]


def test_a_voice_that_fails_to_speak_is_named_when_it_loads(tmp_path: Path) -> None:
    import json

    _, model, config = resolve(None)
    data = json.loads(config.read_text(encoding="utf-8"))
    data["espeak"]["voice"] = "xx-nonexistent"
    (tmp_path / "odd.onnx").symlink_to(model)
    (tmp_path / "odd.onnx.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SettingError, match=r"Piper voice .*odd\.onnx: cannot be loaded"):
        open_engine(VoiceSettings("piper", str(tmp_path / "odd.onnx")))


def test_a_voice_folder_name_given_with_its_extension_is_found(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, model, config = resolve(None)
    (tmp_path / "mine.onnx").symlink_to(model)
    (tmp_path / "mine.onnx.json").symlink_to(config)
    monkeypatch.setenv(VOICES_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    assert resolve("mine.onnx")[1] == tmp_path / "mine.onnx"


def test_voices_are_listed_without_the_bundled_voice_installed(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from narrator.engines import piper

    _, model, config = resolve(None)
    (tmp_path / "own.onnx").symlink_to(model)
    (tmp_path / "own.onnx.json").symlink_to(config)
    monkeypatch.setenv(VOICES_ENV, str(tmp_path))
    monkeypatch.setattr(piper, "_bundled", lambda: None)
    shown = runner.invoke(app, ["voices", "--engine", "piper"])
    assert shown.exit_code == 0, shown.stderr
    assert [line.split("\t")[0] for line in shown.stdout.splitlines()] == ["own"]
