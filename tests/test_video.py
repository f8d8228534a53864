"""The YouTube mp4: its streams read by ffprobe, its pictures decoded, its playback in Chromium."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import pytest
import srt

from narrator.ass import centiseconds
from narrator.container import HEIGHT, VIDEO_RATE, WIDTH, chapter_spans
from narrator.formats import AudioFormat
from narrator.render import RenderResult
from narrator.stitch import Packaging, encode
from tests.conftest import require_program
from tests.test_container import TAGS, chaptered, probe
from tests.test_page import browser

__all__ = ["browser", "chaptered"]  # fixtures, used by name

#: ffmpeg keeps the AAC encoder's priming (1024 samples) in the mp4, since YouTube
#: asks for no edit lists: every track starts that much later than the timeline.
PRIMING = 1024 / VIDEO_RATE
MILLISECOND = 0.001
#: The muxer rounds that shift to its video timescale and the movie's length to the
#: millisecond: an mp4 may last this much longer than its timeline.
LONGER = PRIMING + 2 * MILLISECOND
VIDEO = "const v = document.getElementById('v');"


@pytest.fixture(scope="module")
def soft(chaptered: RenderResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mp4 with title cards and the SRT as its soft track."""
    target = tmp_path_factory.mktemp("soft") / "tide.mp4"
    packaging = Packaging(TAGS, chaptered.timeline, subtitles=chaptered.subtitles)
    encode(chaptered.audio, target, AudioFormat.MP4, packaging)
    return target


@pytest.fixture(scope="module")
def burned(chaptered: RenderResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mp4 with the cues drawn into its picture."""
    target = tmp_path_factory.mktemp("burned") / "tide.mp4"
    packaging = Packaging(TAGS, chaptered.timeline, subtitles=chaptered.subtitles, burn=True)
    encode(chaptered.audio, target, AudioFormat.MP4, packaging)
    return target


def streams(found: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in found["streams"] if s["codec_type"] == kind]


def subtitle_packet_sizes(path: Path) -> list[int]:
    command = [require_program("ffprobe"), "-v", "error", "-select_streams", "s"]
    found = subprocess.run(
        [*command, "-show_entries", "packet=size", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(line) for line in found.stdout.split()]


def test_mp4_has_h264_aac_a_soft_english_track_and_the_chapters(
    chaptered: RenderResult, soft: Path
) -> None:
    found = probe(soft, "-count_packets")
    (video,) = streams(found, "video")
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert (video["width"], video["height"]) == (WIDTH, HEIGHT)
    assert video["color_space"] == "bt709"
    (audio,) = streams(found, "audio")
    assert (audio["codec_name"], audio["profile"], int(audio["sample_rate"])) == (
        "aac",
        "LC",
        VIDEO_RATE,
    )
    (subtitles,) = streams(found, "subtitle")
    assert subtitles["codec_name"] == "mov_text"
    assert subtitles["tags"]["language"] == "eng"
    cues = list(srt.parse(chaptered.subtitles.read_text(encoding="utf-8")))
    # The muxer fills the gaps between cues with empty samples (2 bytes: no text),
    # as 3GPP timed text needs; every other packet is one cue.
    sizes = subtitle_packet_sizes(soft)
    assert int(subtitles["nb_read_packets"]) == len(sizes)
    assert len([size for size in sizes if size > 2]) == len(cues)
    timeline = chaptered.timeline
    rate = timeline.sample_rate
    spans = chapter_spans(timeline)
    assert [c["tags"]["title"] for c in found["chapters"]] == [s.title for s in spans]
    for chapter, span in zip(found["chapters"], spans, strict=True):
        assert float(chapter["start_time"]) == pytest.approx(span.start / rate, abs=PRIMING)
    assert found["format"]["tags"]["title"] == TAGS.title
    duration = float(found["format"]["duration"])
    assert timeline.duration <= duration <= timeline.duration + LONGER
    for stream in (video, audio):
        assert float(stream["duration"]) == pytest.approx(duration, abs=PRIMING)
    assert b"moov" in soft.read_bytes()[:4096]  # +faststart: the index comes first
    assert b"elst" not in soft.read_bytes()  # YouTube: no edit lists


def test_mp4_plays_to_its_end_in_chromium(
    browser: Any, chaptered: RenderResult, soft: Path
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    page = soft.with_name("play.html")
    page.write_text(
        f'<!doctype html><video id="v" muted src="{soft.name}"></video>', encoding="utf-8"
    )
    browser.get(page.as_uri())
    loaded = f"{VIDEO} return v.readyState >= 1 || v.error"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(loaded))
    duration, width, error = browser.execute_script(
        f"{VIDEO} return [v.duration, v.videoWidth, v.error && v.error.code];"
    )
    assert error is None
    assert width == WIDTH
    timeline = chaptered.timeline
    assert timeline.duration <= duration <= timeline.duration + LONGER
    browser.execute_script(f"{VIDEO} v.currentTime = v.duration - 1.5; v.play();")
    done = f"{VIDEO} return v.ended || v.error"
    WebDriverWait(browser, 15).until(lambda d: d.execute_script(done))
    ended, at, error = browser.execute_script(
        f"{VIDEO} return [v.ended, v.currentTime, v.error && v.error.code];"
    )
    assert error is None and ended
    assert at == pytest.approx(duration, abs=0.05)


def frame_times(path: Path) -> list[float]:
    command = [require_program("ffprobe"), "-v", "error", "-select_streams", "v"]
    found = subprocess.run(
        [*command, "-show_entries", "frame=pts_time", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(line.strip(",")) for line in found.stdout.split()]


def lower_third(path: Path, number: int) -> bytes:
    """Grey pixels of the lower third of frame ``number``."""
    pick = f"select=eq(n\\,{number}),crop={WIDTH}:{HEIGHT // 3}:0:{HEIGHT * 2 // 3},format=gray"
    ffmpeg = require_program("ffmpeg")
    raw = ["-frames:v", "1", "-f", "rawvideo", "-"]
    grabbed = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-vf", pick, *raw], capture_output=True, check=True
    )
    assert len(grabbed.stdout) == WIDTH * (HEIGHT // 3)
    return grabbed.stdout


def shown_at(times: list[float], seconds: float) -> int:
    """The number of the frame on screen at ``seconds``: the last one started."""
    return max(n for n, t in enumerate(times) if t <= seconds)


def bright(pixels: bytes) -> int:
    """Pixels as light as subtitle text on the dark card."""
    return sum(1 for value in pixels if value > 200)


def test_burned_cues_show_in_the_lower_third_only_while_they_last(
    chaptered: RenderResult, burned: Path
) -> None:
    timeline = chaptered.timeline
    rate = timeline.sample_rate
    cues = timeline.cues
    times = frame_times(burned)
    checked = 0
    for cue, following in itertools.pairwise(cues):
        if following.start - cue.end < rate // 5:
            continue  # no gap worth looking into
        during = shown_at(times, PRIMING + (cue.start + cue.end) / 2 / rate)
        between = shown_at(times, PRIMING + (cue.end + following.start) / 2 / rate)
        assert bright(lower_third(burned, during)) > 2000, cue.text
        assert bright(lower_third(burned, between)) == 0
        # A frame starts the cue where the ASS file times it (to the centisecond):
        # the cue is on it, and not on the frame before.
        start = PRIMING + centiseconds(following.start, rate) / 100
        first = min(n for n, t in enumerate(times) if t >= start)
        assert times[first] == pytest.approx(start, abs=MILLISECOND)
        assert bright(lower_third(burned, first)) > 2000
        assert bright(lower_third(burned, first - 1)) == 0
        checked += 1
    assert checked >= 3
    found = probe(burned)
    # Burned instead of soft: an mp4's first subtitle track is always enabled.
    assert streams(found, "subtitle") == []
    assert [c["tags"]["title"] for c in found["chapters"]] == [
        s.title for s in chapter_spans(timeline)
    ]


def test_the_cover_fills_the_picture_with_its_aspect_kept(
    chaptered: RenderResult, tmp_path: Path
) -> None:
    from PIL import Image

    cover = tmp_path / "cover.png"
    Image.new("RGB", (400, 400), (230, 20, 20)).save(cover)
    target = tmp_path / "tide.mp4"
    packaging = Packaging(timeline=chaptered.timeline, cover=cover)
    encode(chaptered.audio, target, AudioFormat.MP4, packaging)
    still = tmp_path / "still.png"
    ffmpeg = require_program("ffmpeg")
    first_frame = ["-frames:v", "1", str(still)]
    subprocess.run([ffmpeg, "-v", "error", "-i", str(target), *first_frame], check=True)
    with Image.open(still) as frame:
        assert frame.size == (WIDTH, HEIGHT)
        red, green, _ = frame.convert("RGB").getpixel((WIDTH // 2, HEIGHT // 2))
        assert red > 200 and green < 60  # the cover, scaled to the full height
        assert frame.convert("RGB").getpixel((WIDTH // 2, 5))[0] > 200
        assert max(frame.convert("RGB").getpixel((100, HEIGHT // 2))) < 20  # pillarbox
