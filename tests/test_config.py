"""narrator.toml: loading, validation messages, and precedence over defaults and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator import config
from narrator.cli import app
from narrator.errors import ExitCode, SettingError
from narrator.script import read_script

runner = CliRunner()


def project(tmp_path: Path, toml: str, text: str = "Hello there.\n") -> Path:
    script = tmp_path / "talk.txt"
    script.write_text(text, encoding="utf-8")
    (tmp_path / "narrator.toml").write_text(toml, encoding="utf-8")
    return script


def test_no_file_means_defaults(tmp_path: Path) -> None:
    script = tmp_path / "talk.txt"
    script.write_text("Hello.\n", encoding="utf-8")
    loaded = config.load(script)
    assert loaded.path is None
    settings = config.settings(loaded, config.Overrides())
    assert (settings.voice.engine, settings.voice.rate, settings.audio_format) == (
        "pyttsx3",
        175,
        "wav",
    )


def test_command_line_over_file_over_defaults(tmp_path: Path) -> None:
    script = project(
        tmp_path,
        '[render]\nengine = "espeak"\nrate = 150\nformat = "mp3"\nout_dir = "renders"\n'
        "sentence_pause = 500\n",
    )
    loaded = config.load(script)
    from_file = config.settings(loaded, config.Overrides())
    assert from_file.voice.engine == "espeak"
    assert from_file.voice.rate == 150
    assert from_file.audio_format == "mp3"
    assert from_file.sentence_pause_ms == 500
    assert from_file.paragraph_pause_ms == 900  # default
    assert from_file.out_dir == (tmp_path / "renders").resolve()  # relative to the file
    given = config.settings(loaded, config.Overrides(rate=200, audio_format="ogg"))
    assert (given.voice.rate, given.audio_format, given.voice.engine) == (200, "ogg", "espeak")


def test_explicit_config_file(tmp_path: Path) -> None:
    script = tmp_path / "talk.txt"
    script.write_text("Hello.\n", encoding="utf-8")
    other = tmp_path / "settings" / "voice.toml"
    other.parent.mkdir()
    other.write_text("[render]\nrate = 120\n", encoding="utf-8")
    assert config.settings(config.load(script, other), config.Overrides()).voice.rate == 120
    with pytest.raises(SettingError, match="no such config file"):
        config.load(script, tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("toml", "needles"),
    [
        ("[render\nrate = 1", ["not valid TOML"]),
        ("[render]\nspeed = 3\n", ["render.speed", "unknown key"]),
        ("[voice]\nrate = 3\n", ["voice", "unknown key"]),
        ('[render]\nrate = "fast"\n', ["render.rate", "whole number"]),
        ("[render]\nrate = true\n", ["render.rate", "whole number"]),
        ("[render]\nrate = 5\n", ["render.rate", "out of range"]),
        ('[render]\nengine = "sapi"\n', ["render.engine", "unknown engine"]),
        ('[render]\nformat = "aiff"\n', ["render.format", "unknown format"]),
        ("[render]\nparagraph_pause = -4\n", ["render.paragraph_pause", "out of range"]),
        ('[clean]\ndisable = ["bylines"]\n', ["clean.disable[0]", "unknown rule 'bylines'"]),
        ('[clean]\ndisable = ["note"]\n', ["clean.disable[0]", "unknown rule 'note'"]),
        ('[render]\nencoding = "bogus"\n', ["render.encoding", "unknown encoding"]),
        ('[[clean.drop]]\nname = "x"\n', ["clean.drop[0].pattern", "missing"]),
        (
            '[[clean.drop]]\nname = "ads"\npattern = "Sponsored (by"\n',
            ["clean.drop[0].pattern", "invalid regular expression"],
        ),
        ('[[clean.drop]]\npattern = "x"\n', ["clean.drop[0].name", "expected a string"]),
        ('[[lexicon]]\nword = "Deir"\n', ["lexicon[0]", "say", "phonemes", "ipa"]),
        ('[[lexicon]]\nword = "Deir"\nipa = 3\n', ["lexicon[0].ipa", "expected a string"]),
        ('[[lexicon]]\nword = "Deir"\nipa = "[[deɪr]]"\n', ["lexicon[0].ipa", "without [[ ]]"]),
        ('[[lexicon]]\nword = ""\nsay = "x"\n', ["lexicon[0].word", "empty"]),
        ('[[lexicon]]\nword = "a"\nsay = "b"\ncolour = 1\n', ["lexicon[0].colour"]),
    ],
)
def test_bad_files_name_the_file_and_key(tmp_path: Path, toml: str, needles: list[str]) -> None:
    script = project(tmp_path, toml)
    with pytest.raises(SettingError) as raised:
        config.load(script)
    message = str(raised.value)
    assert message.startswith(str(tmp_path / "narrator.toml"))
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_bad_config_through_the_cli_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    script = project(tmp_path, '[[clean.drop]]\nname = "x"\npattern = "(("\n')
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", str(script), "-o", str(out)])
    assert result.exit_code == ExitCode.BAD_SETTING
    assert result.stderr.count("\n") == 1
    assert "narrator.toml: clean.drop[0].pattern: invalid regular expression" in result.stderr
    assert not out.exists()


def test_extra_and_disabled_rules_apply(tmp_path: Path) -> None:
    text = "Sponsored by Acme Ferries\n\nBy Jane Doe | Staff\n\nThe ferry left at nine.\n"
    script = project(
        tmp_path,
        '[clean]\ndisable = ["byline"]\n'
        '[[clean.drop]]\nname = "sponsor"\npattern = "sponsored by .*"\n',
        text,
    )
    cleaned = read_script(script, cleaning=config.load(script).cleaning)
    assert [(d.line, d.rule) for d in cleaned.dropped] == [(1, "sponsor")]
    assert [p.text for p in cleaned.paragraphs] == [
        "By Jane Doe | Staff",
        "The ferry left at nine.",
    ]


def test_speak_headings_from_file_and_flag(tmp_path: Path) -> None:
    text = "# The Crossing\n\nThe ferry left at nine.\n"
    script = project(tmp_path, "[render]\nspeak_headings = true\n", text)
    settings = config.settings(config.load(script), config.Overrides())
    assert [p.text for p in read_script(script, cleaning=settings.cleaning).paragraphs] == [
        "The Crossing",
        "The ferry left at nine.",
    ]
    quiet = config.settings(config.load(script), config.Overrides(speak_headings=False))
    assert [p.text for p in read_script(script, cleaning=quiet.cleaning).paragraphs] == [
        "The ferry left at nine."
    ]


def test_lexicon_entries_load(tmp_path: Path) -> None:
    script = project(
        tmp_path,
        '[[lexicon]]\nword = "Deir Ezzor"\nsay = "Dare ez Zor"\n'
        '[[lexicon]]\nword = "ISIS"\nphonemes = "\'aIsIs"\ncase_sensitive = true\n',
    )
    entries = config.load(script).lexicon.entries
    assert [(e.written, e.say, e.phonemes, e.case_sensitive) for e in entries] == [
        ("Deir Ezzor", "Dare ez Zor", None, False),
        ("ISIS", None, "'aIsIs", True),
    ]


def test_lexicon_entries_may_carry_ipa_for_piper(tmp_path: Path) -> None:
    script = project(
        tmp_path,
        '[[lexicon]]\nword = "Deir"\nipa = "deɪɹ"\n'
        '[[lexicon]]\nword = "Ezzor"\nsay = "ez Zor"\nphonemes = "\'Ez3r"\nipa = "ˈɛzɔɹ"\n',
    )
    entries = config.load(script).lexicon.entries
    assert [(e.written, e.say, e.phonemes, e.ipa) for e in entries] == [
        ("Deir", None, None, "deɪɹ"),
        ("Ezzor", "ez Zor", "'Ez3r", "ˈɛzɔɹ"),
    ]
