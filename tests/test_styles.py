"""Subtitle house styles: presets, limits in narrator.toml, impossible combinations, renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from narrator.cli import app
from narrator.config import load
from narrator.cues import SpokenSpan, display_windows
from narrator.errors import SettingError
from narrator.segment import break_lines
from narrator.styles import STYLES, style
from tests.conftest import SAMPLE

runner = CliRunner()
RATE = 22050


def test_the_presets() -> None:
    assert (STYLES["netflix"].limits.max_line, STYLES["netflix"].limits.max_lines) == (42, 2)
    assert (STYLES["bbc"].limits.max_line, STYLES["bbc"].limits.max_lines) == (37, 2)
    assert (STYLES["shorts"].limits.max_line, STYLES["shorts"].limits.max_lines) == (20, 1)
    assert style("BBC", max_cps=17.0).limits.max_cps == 17.0


@pytest.mark.parametrize(
    ("name", "limits", "needle"),
    [
        ("vertical", {}, "unknown subtitle style 'vertical'"),
        ("netflix", {"max_line": 5}, "max_line 5"),
        ("netflix", {"max_lines": 3}, "max_lines 3"),
        ("netflix", {"min_seconds": 9.0}, "min_seconds 9.0 is above max_seconds 7.0"),
        ("netflix", {"max_cps": 0.0}, "max_cps 0.0"),
        ("netflix", {"min_gap_frames": -1}, "min_gap_frames -1"),
        ("netflix", {"max_width": 3}, "unknown subtitle limit 'max_width'"),
    ],
)
def test_an_impossible_style_is_one_line_naming_the_key(
    name: str, limits: dict[str, float], needle: str
) -> None:
    with pytest.raises(SettingError, match=needle):
        style(name, **limits)


def test_the_style_and_its_limits_come_from_narrator_toml(tmp_path: Path) -> None:
    config = tmp_path / "narrator.toml"
    config.write_text('[subtitles]\nstyle = "bbc"\nmax_cps = 17\nmin_gap_frames = 3\n')
    project = load(tmp_path / "talk.txt")
    assert project.overrides.subtitle_style == "bbc"
    assert project.limits == {"max_cps": 17.0, "min_gap_frames": 3}
    config.write_text("[subtitles]\nmax_line = 4\n")
    with pytest.raises(SettingError, match=r"narrator.toml: subtitles.max_line: max_line 4"):
        load(tmp_path / "talk.txt")
    # Each limit is checked against the chosen style, not the default one.
    config.write_text('[render]\nfps = 29.97\n[subtitles]\nstyle = "shorts"\nmax_seconds = 0.7\n')
    project = load(tmp_path / "talk.txt")
    assert project.limits == {"max_seconds": 0.7}
    assert project.overrides.fps == "29.97"  # a number is read as the rate it spells
    config.write_text('[subtitles]\nmin_seconds = 8\n')
    with pytest.raises(SettingError, match=r"subtitles.min_seconds: min_seconds 8.0 is above"):
        load(tmp_path / "talk.txt")


@pytest.mark.parametrize("name", sorted(STYLES))
def test_a_render_in_each_style_keeps_its_limits(tools: None, tmp_path: Path, name: str) -> None:
    out = runner.invoke(
        app,
        ["render", str(SAMPLE), "-o", str(tmp_path), "--engine", "espeak",
         "--subtitle-style", name],
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    limits = STYLES[name].limits
    cues = list(srt.parse((tmp_path / "sample.srt").read_text(encoding="utf-8")))
    words = [w for c in cues for line in c.content.split("\n") for w in line.split()]
    for cue in cues:
        lines = cue.content.split("\n")
        assert len(lines) <= limits.max_lines, cue
        assert all(len(line) <= limits.max_line or " " not in line for line in lines), cue
    manifest = json.loads((tmp_path / "sample.json").read_text(encoding="utf-8"))
    assert manifest["subtitles"]["style"] == name
    assert manifest["subtitles"]["limits"]["max_line"] == limits.max_line
    assert manifest["subtitles"]["limits"]["min_gap_frames"] == STYLES[name].min_gap_frames
    assert len(words) > 50


def test_shorts_are_several_short_cues_per_sentence(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "one.txt"
    script.write_text(
        "The ferry crossed the wide grey bay in a little under two hours.\n", encoding="utf-8"
    )
    for name in ("netflix", "shorts"):
        runner.invoke(
            app,
            ["render", str(script), "-o", str(tmp_path / name), "--engine", "espeak",
             "--subtitle-style", name],
        )  # fmt: skip
    netflix = list(srt.parse((tmp_path / "netflix" / "one.srt").read_text(encoding="utf-8")))
    shorts = list(srt.parse((tmp_path / "shorts" / "one.srt").read_text(encoding="utf-8")))
    assert len(netflix) == 1 and len(shorts) >= 3
    assert all(len(c.content) <= 20 for c in shorts)


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(sorted(STYLES)),
    lengths=st.lists(st.integers(min_value=RATE // 10, max_value=4 * RATE), min_size=1),
)
def test_display_windows_hold_every_style(name: str, lengths: list[int]) -> None:
    limits = STYLES[name].limits
    spans, at = [], 0
    for k, length in enumerate(lengths):
        spans.append(SpokenSpan(f"word{k} x", at, at + length))
        at += length + RATE // 20
    cues = display_windows(spans, at, RATE, limits)
    for cue in cues:
        assert cue.end - cue.start <= limits.max_seconds * RATE + 1
        assert len(cue.lines) <= limits.max_lines
        assert break_lines(cue.text, limits) is not None


@pytest.mark.parametrize("engine", ["espeak", "piper"])
def test_a_shorts_cue_never_spans_a_pause(tools: None, tmp_path: Path, engine: str) -> None:
    script = tmp_path / "pauses.txt"
    script.write_text(
        "At nine, the ferry left, so we ran, and the gulls, as ever, followed.\n",
        encoding="utf-8",
    )
    out = runner.invoke(
        app,
        ["render", str(script), "-o", str(tmp_path), "--engine", engine,
         "--subtitle-style", "shorts"],
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    cues = [c.content for c in srt.parse((tmp_path / "pauses.srt").read_text(encoding="utf-8"))]
    # Every comma is a pause the engine makes: no cue goes on past one.
    assert all("," not in cue.rstrip(",") for cue in cues), cues
    assert " ".join(cues) == script.read_text(encoding="utf-8").strip()
