"""What the user sees at the end of a render: every file, counts that match them, named stages."""

from __future__ import annotations

from pathlib import Path

import pytest
import srt
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.render import RenderSettings, render
from narrator.summary import duration, plural

runner = CliRunner()

SCRIPT = """\
# Harbour

The ferry left at nine. It came back at noon.

# Market

Stalls opened along the quay. Fish sold out by ten.
"""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0:00.000"),
        (59.9996, "1:00.000"),
        (61.5, "1:01.500"),
        (3599.999, "59:59.999"),
        (3600.0, "1:00:00.000"),
        (4458.4, "1:14:18.400"),
        (36_000.25, "10:00:00.250"),
    ],
)
def test_durations_over_an_hour_read_as_hours(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_plurals() -> None:
    assert [plural(n, "cue") for n in (0, 1, 2)] == ["0 cues", "1 cue", "2 cues"]
    assert plural(1, "paragraph") == "1 paragraph"


def test_summary_lists_every_file_with_counts_that_match_them(
    tools: None, tmp_path: Path
) -> None:
    script = tmp_path / "harbour.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    out = tmp_path / "out"
    shown = runner.invoke(
        app, ["render", str(script), "-o", str(out), "--engine", "espeak", "-f", "mp3"]
    )
    assert shown.exit_code == 0, shown.stderr
    lines = [
        line for line in shown.stdout.splitlines() if not line.startswith(("left out", "speech"))
    ]
    assert "speech     4 sentences synthesized, 0 from the clip cache" in shown.stdout
    written = sorted(p.name for p in out.iterdir())
    listed = sorted(Path(line.split()[1]).name for line in lines)
    assert listed == written
    extensions = ("ass", "chapters.txt", "html", "json", "mp3", "srt", "vtt")
    assert written == [f"harbour.{ext}" for ext in extensions]
    by_kind = {line.split()[0]: line for line in lines}
    cues = len(list(srt.parse((out / "harbour.srt").read_text(encoding="utf-8"))))
    subtitles = list(srt.parse((out / "harbour.srt").read_text(encoding="utf-8")))
    fastest = max(len(c.content.replace("\n", " ")) / (c.end - c.start).total_seconds()
                  for c in subtitles)  # fmt: skip
    for kind in ("subtitles", "webvtt"):
        head, _, speed = by_kind[kind].rpartition(", read at most ")
        assert head.endswith(f" {plural(cues, 'cue')}") and speed.endswith(" characters/s")
        # The SRT keeps milliseconds, the summary counts samples.
        assert float(speed.split()[0]) == pytest.approx(fastest, abs=0.06)
    chapters = (out / "harbour.chapters.txt").read_text(encoding="utf-8").splitlines()
    assert by_kind["chapters"].endswith(f" {plural(len(chapters), 'chapter')}")
    assert by_kind["manifest"].endswith(" 2 paragraphs, 4 sentences")
    assert by_kind["karaoke"].endswith(f" {plural(cues, 'cue')}, word by word")


def test_a_one_sentence_script_reads_in_the_singular(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "one.txt"
    script.write_text("Hello.\n", encoding="utf-8")
    shown = runner.invoke(app, ["render", str(script), "-o", str(tmp_path), "--engine", "espeak"])
    assert shown.exit_code == 0, shown.stderr
    assert "1 cue" in shown.stdout and "1 cues" not in shown.stdout
    assert "1 paragraph, 1 sentence" in shown.stdout


def test_progress_names_every_stage_and_ends_each(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "harbour.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    calls: list[tuple[str, int, int]] = []
    settings = RenderSettings(
        out_dir=tmp_path / "out", audio_format="opus", voice=VoiceSettings(engine="espeak")
    )
    render(script, settings, lambda news: calls.append((news.stage, news.done, news.total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == ["synthesizing", "encoding opus"]
    for stage in stages:
        last = [c for c in calls if c[0] == stage][-1]
        assert last[1] == last[2], f"{stage} never reached its total"
