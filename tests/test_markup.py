"""Writer's markup on the real engine: pauses, chapters, notes, labels; and 'narrator check'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.errors import ExitCode
from narrator.render import RenderResult, RenderSettings, render
from tests.conftest import SAMPLE, Renderer

runner = CliRunner()

SCRIPT = """\
<!-- Draft 3: check the harbour dates with the archive -->
# The Harbour

NARRATOR: The harbour was quiet that morning. [pause 1.5s] Then the ferry sounded.
// TODO: find the ferry's name
[MUSIC: low strings]

[pause 800ms]

VO: The crossing took an hour.
<!-- a longer
   note that spans lines -->
## The Island

The island waited, as it always had.
"""


@pytest.fixture(scope="module")
def marked(tools: None, tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    folder = tmp_path_factory.mktemp("markup")
    script = folder / "harbour.md"
    script.write_text(SCRIPT, encoding="utf-8")
    return render(script, RenderSettings(out_dir=folder / "out", voice=VoiceSettings("espeak")))


def test_notes_labels_and_directions_are_never_spoken_or_subtitled(marked: RenderResult) -> None:
    subtitles = marked.subtitles.read_text(encoding="utf-8")
    spoken = " ".join(c.content.replace("\n", " ") for c in srt.parse(subtitles))
    assert spoken == (
        "The harbour was quiet that morning. Then the ferry sounded. "
        "The crossing took an hour. The island waited, as it always had."
    )
    manifest = json.loads(marked.manifest.read_text(encoding="utf-8"))
    assert {d["rule"] for d in manifest["dropped"]} == {
        "comment",
        "markdown-heading",
        "note",
        "direction",
    }
    assert sorted((a["line"], tuple(a["rules"])) for a in manifest["altered"]) == [
        (4, ("speaker-label",)),
        (10, ("speaker-label",)),
    ]


def test_pauses_are_exactly_the_silence_asked_for(marked: RenderResult) -> None:
    sentences = [s for p in marked.paragraphs for s in p.sentences]
    rate = marked.sample_rate
    # Inline [pause 1.5s] between the first two sentences of a paragraph.
    assert sentences[1].start - sentences[0].end == round(1.5 * rate)
    # A pause line between paragraphs replaces the 900 ms paragraph gap.
    assert sentences[2].start - sentences[1].end == round(0.8 * rate)
    # No pause: the automatic paragraph gap.
    assert sentences[3].start - sentences[2].end == round(0.9 * rate)


def test_chapters_file_and_manifest(marked: RenderResult) -> None:
    assert marked.chapter_list is not None
    lines = marked.chapter_list.read_text(encoding="utf-8").splitlines()
    island = next(c for c in marked.chapters if c.title == "The Island")
    seconds = int(island.start / marked.sample_rate)
    assert lines == ["0:00 The Harbour", f"0:{seconds:02d} The Island"]
    manifest = json.loads(marked.manifest.read_text(encoding="utf-8"))
    assert [(c["title"], c["line"]) for c in manifest["chapters"]] == [
        ("The Harbour", 2),
        ("The Island", 13),
    ]
    first_sentence_of_island = marked.paragraphs[-1].sentences[0]
    assert island.start == first_sentence_of_island.start


def test_no_chapters_file_without_headings(rendered: Renderer) -> None:
    result = rendered(SAMPLE)
    assert result.chapter_list is None
    assert not list(result.audio.parent.glob("*.chapters.txt"))


def test_bad_pause_is_a_one_line_error(tools: None, tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("One.\n\nTwo [pause forever] three.\n", encoding="utf-8")
    result = runner.invoke(app, ["render", str(script), "-o", str(tmp_path / "out")])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.strip().count("\n") == 0
    assert "bad.txt: line 3" in result.stderr and "[pause 1.5s]" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_check_prints_sentences_cues_and_what_was_left_out(tmp_path: Path) -> None:
    script = tmp_path / "harbour.md"
    script.write_text(SCRIPT, encoding="utf-8")
    result = runner.invoke(app, ["check", str(script)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "1. The harbour was quiet that morning." in out
    assert "[pause 1500 ms]" in out
    assert "# The Island  (line 13)" in out
    for line, rule in [(1, "comment"), (5, "note"), (6, "direction"), (2, "markdown-heading")]:
        assert any(
            row.split()[:4] == ["line", str(line), "dropped", rule] for row in out.splitlines()
        ), (line, rule)
    assert "NARRATOR: The harbour" in out and "speaker-label" in out
    assert list(tmp_path.iterdir()) == [script]  # nothing synthesized or written


def test_check_json(tmp_path: Path) -> None:
    script = tmp_path / "harbour.md"
    script.write_text(SCRIPT, encoding="utf-8")
    result = runner.invoke(app, ["check", str(script), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    texts = [s["text"] for p in data["paragraphs"] for s in p["sentences"]]
    assert texts[:2] == ["The harbour was quiet that morning.", "Then the ferry sounded."]
    assert data["paragraphs"][0]["sentences"][1]["pause_before_ms"] == 1500
    assert [c["title"] for c in data["chapters"]] == ["The Harbour", "The Island"]
    assert data["estimated_seconds"] > 5


def test_check_exits_non_zero_when_nothing_would_be_spoken(tmp_path: Path) -> None:
    script = tmp_path / "notes.txt"
    script.write_text("// only notes here\n[MUSIC: strings]\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(script)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "nothing to say" in result.stderr


def test_check_cues_match_the_render_for_engines_without_timing(
    tools: None, tmp_path: Path
) -> None:
    """For pyttsx3, check plans cues exactly as the render cuts them (unless a piece overruns)."""
    result = runner.invoke(app, ["check", str(SAMPLE), "--json"])
    planned = [
        c
        for p in json.loads(result.stdout)["paragraphs"]
        for s in p["sentences"]
        for c in s["cues"]
    ]
    rendered = render(SAMPLE, RenderSettings(out_dir=tmp_path, voice=VoiceSettings("pyttsx3")))
    assert [c.text for c in rendered.cues] == planned


def test_headings_on_one_time_are_merged_and_a_last_empty_one_is_left_out(
    tools: None, tmp_path: Path
) -> None:
    script = tmp_path / "parts.md"
    script.write_text(
        "# Part A\n\n# Part B\n\nHello world. Second.\n\n# Part C\n\nThird one.\n\n# Credits\n",
        encoding="utf-8",
    )
    result = render(script, RenderSettings(out_dir=tmp_path / "out", voice=VoiceSettings("espeak")))
    assert result.chapter_list is not None
    lines = result.chapter_list.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "0:00 Part A – Part B"
    assert [line.split(" ", 1)[1] for line in lines] == ["Part A – Part B", "Part C"]
    page = result.page.read_text(encoding="utf-8")
    for title in ("Part A", "Part B", "Part C", "Credits"):
        assert f'<li class="chapter">{title}</li>' in page
    checked = runner.invoke(app, ["check", str(script)]).stdout
    assert "# Part A" in checked and "# Part B" in checked and "# Credits" in checked


def test_check_estimates_for_the_engine_asked(tmp_path: Path) -> None:
    script = tmp_path / "list.txt"
    script.write_text("Oak, ash, elm, yew, fir, box, bay, lime, pine and beech grew there.\n" * 5)

    def estimate(*extra: str) -> float:
        result = runner.invoke(app, ["check", str(script), "--json", *extra])
        assert result.exit_code == 0, result.stderr
        return float(json.loads(result.stdout)["estimated_seconds"])

    # eSpeak speaking whole sentences keeps its comma pauses: a slower pace.
    assert estimate("--engine", "espeak") > estimate("--engine", "pyttsx3")
    assert estimate("--rate", "120") > estimate("--rate", "240")
