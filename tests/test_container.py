"""Tags, chapters and cover art inside encoded files: composed purely, then read back by ffprobe."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.ass import BURNED, centiseconds, compose_ass
from narrator.container import (
    FILL_SECONDS,
    INTRODUCTION,
    TICKS,
    ChapterSpan,
    Tags,
    change_tick,
    chapter_spans,
    compose_concat,
    compose_ffmetadata,
    default_title,
    escape_metadata,
    video_frames,
)
from narrator.errors import SettingError
from narrator.formats import AudioFormat
from narrator.render import RenderResult
from narrator.stitch import FORMATS, Packaging, encode
from narrator.timeline import (
    Cue,
    Provenance,
    Source,
    TimedChapter,
    TimedParagraph,
    TimedSentence,
    Timeline,
)
from tests.conftest import Renderer, require_program

#: A short script: narration before the first heading, headings with characters the
#: FFMETADATA format escapes, two headings in a row.
CHAPTERED = """\
A short welcome comes first. It has two sentences.

# The Harbour; at dawn = #1

The boats went out early. The gulls followed them.

# Back\\Home

They came back at night.
"""
TAGS = Tags(
    title="Tide = Time; #2",
    artist="Ada Reader",
    album="Coastal Notes",
    year="2024",
    genre="Speech",
    comment="first line\nsecond line",
)
#: Samples per coded frame: the most a chapter start may move in the container.
FRAME_SAMPLES = {AudioFormat.MP3: 1152, AudioFormat.M4A: 1024, AudioFormat.M4B: 1024}


@pytest.fixture(scope="module")
def chaptered(rendered: Renderer, tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    """The chaptered script rendered to WAV with the real espeak engine."""
    script = tmp_path_factory.mktemp("chaptered") / "tide.txt"
    script.write_text(CHAPTERED, encoding="utf-8")
    return rendered(script)


def probe(path: Path, *options: str) -> dict[str, Any]:
    """ffprobe's JSON for ``path``: format, streams and chapters."""
    command = [require_program("ffprobe"), "-v", "error", "-of", "json", *options]
    found = subprocess.run(
        [*command, "-show_format", "-show_streams", "-show_chapters", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(found.stdout)
    return data


# --- pure: a hand-made timeline -----------------------------------------------------

RATE = 1000


def timeline_of(
    speech: list[tuple[int, int]], chapters: list[tuple[str, int]], samples: int
) -> Timeline:
    """A timeline at 1000 samples/s: one paragraph, sentence and cue per speech span."""
    paragraphs = tuple(
        TimedParagraph(
            n + 1,
            start,
            end,
            (TimedSentence(n + 1, "s", "s", start, end, (Cue(n + 1, f"cue {n}", start, end),)),),
        )
        for n, (start, end) in enumerate(speech)
    )
    return Timeline(
        sample_rate=RATE,
        samples=samples,
        paragraphs=paragraphs,
        chapters=tuple(TimedChapter(title, 1, start) for title, start in chapters),
        provenance=Provenance("espeak", None, 175, "f", 300, 700),
        source=Source("x.txt", "utf-8"),
    )


def test_escape_follows_the_ffmetadata_spec() -> None:
    assert escape_metadata("a=b;c#d\\e\nf") == "a\\=b\\;c\\#d\\\\e\\\nf"
    assert escape_metadata("plain – text") == "plain – text"


def test_ffmetadata_has_tags_then_sample_exact_chapters() -> None:
    timeline = timeline_of([(100, 900), (1200, 2000)], [("One", 0), ("Two", 1100)], 2300)
    text = compose_ffmetadata(Tags(title="T", artist="A", year="1999"), timeline)
    assert text.startswith(";FFMETADATA1\ntitle=T\nartist=A\ndate=1999\n")
    assert "TIMEBASE=1/1000\nSTART=0\nEND=1100\ntitle=One" in text
    assert "TIMEBASE=1/1000\nSTART=1100\nEND=2300\ntitle=Two" in text
    assert compose_ffmetadata(Tags(), None) == ";FFMETADATA1\n"


def test_chapters_cover_the_programme_from_zero_to_the_end() -> None:
    # Narration before the first heading becomes an introduction; two headings on
    # one sample merge; a heading after the last speech is left out.
    timeline = timeline_of(
        [(50, 900), (1000, 1800), (2000, 2600)],
        [("A", 1000), ("B", 2000), ("C", 2000), ("Late", 2600)],
        3000,
    )
    assert chapter_spans(timeline) == (
        ChapterSpan(INTRODUCTION, 0, 1000),
        ChapterSpan("A", 1000, 2000),
        ChapterSpan("B – C", 2000, 3000),
    )
    # A heading that opens the script starts at 0, even after a leading pause.
    opening = timeline_of([(300, 900), (1000, 1800)], [("A", 300), ("B", 1000)], 2000)
    assert [s.start for s in chapter_spans(opening)] == [0, 1000]
    assert chapter_spans(timeline_of([(0, 500)], [], 600)) == ()


def test_default_title_is_the_first_heading_or_the_stem() -> None:
    with_headings = timeline_of([(0, 500)], [("First", 0), ("Second", 300)], 600)
    assert default_title(with_headings, "tide") == "First"
    assert default_title(timeline_of([(0, 500)], [], 600), "tide") == "tide"


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.integers(1, 9000), st.integers(1, 9000)), min_size=1, max_size=12),
    headings=st.lists(st.integers(0, 11), max_size=4),
    burn=st.booleans(),
)
def test_frames_change_where_the_picture_or_the_cue_changes(
    gaps: list[tuple[int, int]], headings: list[int], burn: bool
) -> None:
    speech, at = [], 0
    for pause, length in gaps:
        speech.append((at + pause, at + pause + length))
        at += pause + length
    samples = at + 500
    chapters = [(f"h{n}", speech[n][0]) for n in sorted(set(headings)) if n < len(speech)]
    timeline = timeline_of(speech, chapters, samples)
    frames = video_frames(timeline, True, burn, samples, RATE)
    end = samples * TICKS // RATE
    starts = [f.start for f in frames]
    assert starts[0] == 0 and starts[-1] == end - 1
    assert starts == sorted(set(starts))
    assert all(b - a <= FILL_SECONDS * TICKS for a, b in itertools.pairwise(starts))
    spans = chapter_spans(timeline)
    for number, span in enumerate(spans):
        # From its start (half a millisecond after, see change_tick) the chapter's card shows.
        shown = [f for f in frames if f.start <= span.start * TICKS // RATE + TICKS // 2000]
        first = max(shown, key=lambda f: f.start)
        assert first.picture == number
    if burn:
        for cue in timeline.cues:
            for edge in (cue.start, cue.end):
                tick = centiseconds(edge, RATE) * TICKS // 100
                if 0 < tick < end - 1:
                    assert tick + TICKS // 2000 in starts
    concat = compose_concat(frames, [f"p{n}.y4m" for n in range(len(spans) or 1)], end)
    durations = [line.split()[1] for line in concat.splitlines() if line.startswith("duration")]
    assert sum(round(float(d) * TICKS) for d in durations) == end


def test_a_frame_at_a_change_is_never_a_millisecond_early_for_libass() -> None:
    # ffmpeg's ass filter hands libass int(pts * time_base * 1000): a frame put exactly
    # on a cue's start comes out 1 ms early for 318 of the hour's centiseconds.
    early = [
        ms for ms in range(10, 3_600_000, 10) if int(change_tick(ms) * (1 / TICKS) * 1000) < ms
    ]
    assert early == []
    assert change_tick(0) == 0


def test_burned_cues_cannot_inject_ass_markup() -> None:
    cue = Cue(1, "odd", 0, 1500, ("a {\\b1} b", "c\\Nd"))
    sentence = TimedSentence(1, "odd", "odd", 0, 1500, (cue,))
    timeline = timeline_of([(0, 1500)], [], 2000)
    odd = Timeline(
        RATE,
        2000,
        (TimedParagraph(1, 0, 1500, (sentence,)),),
        (),
        timeline.provenance,
        timeline.source,
    )
    event = compose_ass(odd, BURNED, karaoke=False).splitlines()[-1]
    assert event.startswith("Dialogue: 0,0:00:00.00,0:00:01.50,Default,")
    # The layout's line break is the one '\N'; the cue's own backslashes stay text,
    # and every brace is escaped, so no override block opens.
    assert event.count("\\N") == 1 and "\\k" not in event
    assert event.count("{") == event.count("\\{") == 1


# --- real ffmpeg --------------------------------------------------------------------


@pytest.mark.parametrize("audio_format", [AudioFormat.MP3, AudioFormat.M4A, AudioFormat.M4B])
def test_chapters_tags_and_cover_inside_the_file(
    chaptered: RenderResult, tmp_path: Path, audio_format: AudioFormat
) -> None:
    from PIL import Image

    cover = tmp_path / "cover.webp"  # neither JPEG nor PNG: converted on the way in
    Image.new("RGB", (300, 300), (200, 30, 30)).save(cover)
    target = tmp_path / f"tide.{audio_format}"
    timeline = chaptered.timeline
    encode(chaptered.audio, target, audio_format, Packaging(TAGS, timeline, cover=cover))
    found = probe(target)
    rate = timeline.sample_rate
    spans = chapter_spans(timeline)
    assert [s.title for s in spans] == [
        INTRODUCTION,
        "The Harbour; at dawn = #1",
        "Back\\Home",
    ]
    assert [c["tags"]["title"] for c in found["chapters"]] == [s.title for s in spans]
    tolerance = FRAME_SAMPLES[audio_format] / rate
    for chapter, span in zip(found["chapters"], spans, strict=True):
        assert float(chapter["start_time"]) == pytest.approx(span.start / rate, abs=tolerance)
        assert float(chapter["end_time"]) == pytest.approx(span.end / rate, abs=tolerance)
    tags = found["format"]["tags"]
    for key, value in TAGS.fields():
        assert tags[key] == value, key
    pictures = [s for s in found["streams"] if s["disposition"]["attached_pic"] == 1]
    assert len(pictures) == 1 and pictures[0]["codec_name"] == "png"
    assert (pictures[0]["width"], pictures[0]["height"]) == (300, 300)
    if audio_format is AudioFormat.M4B:
        assert found["format"]["tags"]["major_brand"] == "M4B "


@pytest.mark.parametrize("audio_format", [AudioFormat.OGG, AudioFormat.OPUS, AudioFormat.FLAC])
def test_other_formats_carry_the_tags_but_no_chapters(
    chaptered: RenderResult, tmp_path: Path, audio_format: AudioFormat
) -> None:
    target = tmp_path / f"tide.{audio_format}"
    encode(chaptered.audio, target, audio_format, Packaging(TAGS, chaptered.timeline))
    found = probe(target)
    # Vorbis comments are the stream's tags in Ogg, the file's in FLAC.
    tags = found["format"].get("tags") or found["streams"][0]["tags"]
    assert tags["title"] == TAGS.title and tags["artist"] == TAGS.artist
    # ffmpeg 5.1 writes Ogg chapter comments a second late: none are better.
    assert found["chapters"] == []


def test_a_jpeg_cover_is_copied_byte_for_byte(chaptered: RenderResult, tmp_path: Path) -> None:
    from PIL import Image

    cover = tmp_path / "cover.jpg"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(cover, "JPEG")
    target = tmp_path / "tide.m4a"
    encode(chaptered.audio, target, AudioFormat.M4A, Packaging(cover=cover))
    extracted = tmp_path / "out.jpg"
    ffmpeg = require_program("ffmpeg")
    copy = ["-map", "0:v", "-c", "copy", "-f", "mjpeg", str(extracted)]
    subprocess.run([ffmpeg, "-v", "error", "-i", str(target), *copy], check=True)
    assert extracted.read_bytes() == cover.read_bytes()


def test_a_missing_or_unreadable_cover_is_one_line_naming_the_file(
    chaptered: RenderResult, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.png"
    with pytest.raises(SettingError, match=r"--cover .*nowhere\.png: no such image file"):
        encode(chaptered.audio, tmp_path / "a.mp3", AudioFormat.MP3, Packaging(cover=missing))
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture", encoding="utf-8")
    with pytest.raises(SettingError) as raised:
        encode(chaptered.audio, tmp_path / "a.mp3", AudioFormat.MP3, Packaging(cover=fake))
    message = str(raised.value)
    assert "fake.png" in message and "JPEG or PNG" in message and "\n" not in message
    assert not (tmp_path / "a.mp3").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".narrator")] == []


def test_every_format_has_its_ffmpeg_arguments() -> None:
    assert set(FORMATS) == set(AudioFormat)
    assert {"m4b", "mp4"} <= {f.value for f in AudioFormat}
