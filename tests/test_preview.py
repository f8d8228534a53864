"""narrator preview: the segment table, and speaking chosen segments on the real engine."""

from __future__ import annotations

import json
import stat
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.errors import ExitCode
from narrator.render import RenderSettings, render
from tests.conftest import SAMPLE

runner = CliRunner()


def rows(output: str) -> list[list[str]]:
    return [line.split(None, 2) for line in output.splitlines() if line[:1].strip().isdigit()]


def seconds(clock: str) -> float:
    minutes, rest = clock.split(":")
    return int(minutes) * 60 + float(rest)


@pytest.fixture()
def no_player(monkeypatch: pytest.MonkeyPatch) -> None:
    """No player and no sound device, as in CI: preview must write the clip instead."""
    monkeypatch.delenv("NARRATOR_PLAYER", raising=False)
    monkeypatch.setattr("narrator.preview.sound_device_present", lambda: False)


def test_table_is_estimated_then_measured_after_a_render(tools: None, tmp_path: Path) -> None:
    before = runner.invoke(app, ["preview", str(SAMPLE), "-o", str(tmp_path)])
    assert before.exit_code == 0, before.stderr
    assert before.stdout.rstrip().endswith("times estimated (no render of this text)")
    estimated = rows(before.stdout)
    assert [int(r[0]) for r in estimated] == list(range(1, 9))

    result = render(SAMPLE, RenderSettings(out_dir=tmp_path))
    after = runner.invoke(app, ["preview", str(SAMPLE), "-o", str(tmp_path)])
    assert "times measured in" in after.stdout
    measured = rows(after.stdout)
    sentences = [s for p in result.paragraphs for s in p.sentences]
    for row, sentence in zip(measured, sentences, strict=True):
        start, end = row[1].split("–")
        assert seconds(start) == pytest.approx(sentence.start / result.sample_rate, abs=0.051)
        assert seconds(end) == pytest.approx(sentence.end / result.sample_rate, abs=0.051)
    # The estimate is in the right range: within 25% of the real end.
    assert seconds(estimated[-1][1].split("–")[1]) == pytest.approx(result.duration, rel=0.25)


def test_an_edited_script_falls_back_to_estimates(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "talk.txt"
    script.write_text("The ferry left at nine. It came back at noon.\n", encoding="utf-8")
    render(script, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("espeak")))
    script.write_text("The ferry left at ten. It came back at noon.\n", encoding="utf-8")
    out = runner.invoke(app, ["preview", str(script), "-o", str(tmp_path)]).stdout
    assert "estimated" in out


@pytest.mark.parametrize("engine", ["pyttsx3", "espeak"])
def test_one_segment_is_written_when_nothing_can_play_it(
    tools: None, tmp_path: Path, no_player: None, engine: str
) -> None:
    result = render(SAMPLE, RenderSettings(out_dir=tmp_path, voice=VoiceSettings(engine)))
    out = runner.invoke(
        app, ["preview", str(SAMPLE), "-o", str(tmp_path), "--engine", engine, "-s", "4"]
    )
    assert out.exit_code == 0, out.stderr
    clip = tmp_path / "sample.seg4.wav"
    assert out.stdout.startswith(f"wrote {clip}")
    assert "no sound device or player" in out.stderr
    sentence = [s for p in result.paragraphs for s in p.sentences][3]
    with wave.open(str(clip)) as wav:
        frames, rate = wav.getnframes(), wav.getframerate()
    # Same engine and settings as the render: the same sentence, within eSpeak's jitter.
    assert frames / rate == pytest.approx((sentence.end - sentence.start) / rate, abs=0.05)


def test_a_range_keeps_the_render_pauses(tools: None, tmp_path: Path, no_player: None) -> None:
    result = render(SAMPLE, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("espeak")))
    out = runner.invoke(
        app, ["preview", str(SAMPLE), "-o", str(tmp_path), "--engine", "espeak", "-s", "4-5"]
    )
    assert out.exit_code == 0, out.stderr
    sentences = [s for p in result.paragraphs for s in p.sentences]
    with wave.open(str(tmp_path / "sample.seg4-5.wav")) as wav:
        length = wav.getnframes() / wav.getframerate()
    # Sentences 4 and 5 sit in different paragraphs: the 900 ms paragraph gap between.
    expected = (sentences[4].end - sentences[3].start) / result.sample_rate
    assert length == pytest.approx(expected, abs=0.05)


def test_a_player_is_used_when_there_is_one(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "played.txt"
    player = tmp_path / "fake-player"
    player.write_text(f'#!/bin/sh\necho "$@" > {log}\n', encoding="utf-8")
    player.chmod(player.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("NARRATOR_PLAYER", str(player))
    out = runner.invoke(app, ["preview", str(SAMPLE), "-o", str(tmp_path), "-s", "1"])
    assert out.exit_code == 0, out.stderr
    clip = tmp_path / "sample.seg1.wav"
    assert out.stdout.startswith(f"played {clip}")
    assert log.read_text(encoding="utf-8").split() == [str(clip)]
    assert out.stderr == ""


@pytest.mark.parametrize("selection", ["0", "9", "3-12", "5-3", "two", "1-"])
def test_bad_segments_are_one_line_errors(tools: None, tmp_path: Path, selection: str) -> None:
    out = runner.invoke(app, ["preview", str(SAMPLE), "-o", str(tmp_path), "-s", selection])
    assert out.exit_code == ExitCode.BAD_SETTING
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("narrator: error: --segment")
    assert list(tmp_path.iterdir()) == []


def test_preview_of_a_script_with_nothing_to_say(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "empty.txt"
    script.write_text("// just a note\n", encoding="utf-8")
    out = runner.invoke(app, ["preview", str(script), "-o", str(tmp_path), "-s", "1"])
    assert out.exit_code == ExitCode.BAD_INPUT
    assert "nothing to say" in out.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["empty.txt"]


def test_manifest_numbers_segments_as_preview_does(tools: None, tmp_path: Path) -> None:
    result = render(SAMPLE, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("espeak")))
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    numbers = [s["segment"] for p in manifest["paragraphs"] for s in p["sentences"]]
    assert numbers == list(range(1, 9))


def test_a_render_with_other_settings_is_not_taken_as_measured(tools: None, tmp_path: Path) -> None:
    render(SAMPLE, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("espeak")))
    same = runner.invoke(app, ["preview", str(SAMPLE), "-o", str(tmp_path), "--engine", "espeak"])
    assert "times measured" in same.stdout
    for extra in (["--rate", "300"], ["--sentence-pause", "0"], []):
        engine = [] if not extra else ["--engine", "espeak"]
        out = runner.invoke(app, ["preview", str(SAMPLE), "-o", str(tmp_path), *engine, *extra])
        assert "times estimated" in out.stdout, extra  # [] means the default engine, pyttsx3


def test_the_estimated_table_agrees_with_check(tmp_path: Path) -> None:
    """One estimate: preview and check time what the engine is given ('£240,000' as words)."""
    from narrator.check import inspect
    from narrator.plan import read_plan
    from narrator.preview import segment_table

    script = tmp_path / "money.txt"
    script.write_text(
        "The estate sold for £240,000 in 1998. By 2021 it was worth $1.5 million.\n\n"
        "The 800th visitor came on 6 May at 6 p.m., 45% later than planned.\n",
        encoding="utf-8",
    )
    settings = RenderSettings(out_dir=tmp_path, voice=VoiceSettings(engine="espeak"))
    table = segment_table(read_plan(script, settings), tmp_path / "money.json")
    assert not table.measured
    assert table.timeline.duration == pytest.approx(inspect(script, settings).estimated_seconds)
