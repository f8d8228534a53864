"""The HTML check page in a real headless Chromium: track, click-to-seek, no console errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import srt

from narrator.render import RenderResult
from tests.conftest import SAMPLE, Renderer, require_program

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium = shutil.which("chromium") or require_program("chromium")
    driver_path = shutil.which("chromedriver") or require_program("chromedriver")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def open_page(browser: Any, result: RenderResult) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(result.page.as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return document.getElementById('audio').readyState >= 1")
    )


def severe_console_messages(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("which", ["sample", "seed"])
def test_track_has_every_cue(browser: Any, rendered: Renderer, seed: Path, which: str) -> None:
    result = rendered(SAMPLE if which == "sample" else seed)
    open_page(browser, result)
    count = browser.execute_script(
        "return document.getElementById('audio').textTracks[0].cues.length"
    )
    expected = list(srt.parse(result.subtitles.read_text(encoding="utf-8")))
    assert count == len(expected)
    first = browser.execute_script(
        "const c = document.getElementById('audio').textTracks[0].cues[0];"
        "return [c.startTime, c.endTime, c.text];"
    )
    assert first[0] == pytest.approx(expected[0].start.total_seconds(), abs=1e-3)
    assert first[1] == pytest.approx(expected[0].end.total_seconds(), abs=1e-3)
    assert first[2] == expected[0].content
    assert severe_console_messages(browser) == []


@pytest.mark.parametrize("name", ["bbc", "shorts"])
def test_each_subtitle_style_plays_in_the_page_and_loads_in_ffmpeg(
    tools: None, browser: Any, tmp_path: Path, name: str
) -> None:
    import subprocess

    from narrator.engines import VoiceSettings
    from narrator.render import RenderSettings, render
    from narrator.styles import STYLES

    result = render(
        SAMPLE,
        RenderSettings(
            out_dir=tmp_path, voice=VoiceSettings("espeak"), style=STYLES[name], fps="25"
        ),
    )
    cues = len(list(srt.parse(result.subtitles.read_text(encoding="utf-8"))))
    for subtitles in (result.subtitles, result.webvtt):
        # ffmpeg reads each file and writes its cues again: all of them, no complaint.
        probe = subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", str(subtitles), "-f", "webvtt", "-"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.returncode == 0 and probe.stderr == "", probe.stderr
        assert probe.stdout.count(" --> ") == cues
    open_page(browser, result)
    count = browser.execute_script(
        "return document.getElementById('audio').textTracks[0].cues.length"
    )
    assert count == cues
    assert severe_console_messages(browser) == []


def test_clicking_a_segment_moves_the_player_and_shows_its_cue(
    browser: Any, rendered: Renderer
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    result = rendered(SAMPLE)
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    sentences = [s for p in manifest["paragraphs"] for s in p["sentences"]]
    open_page(browser, result)
    for number in (5, 2):
        target = sentences[number - 1]
        item = browser.find_element(By.CSS_SELECTOR, f'#segments li[data-segment="{number}"]')
        item.click()
        WebDriverWait(browser, 5).until(
            lambda d, t=target: (
                abs(
                    d.execute_script("return document.getElementById('audio').currentTime")
                    - t["start"]
                )
                < 0.01
            )
        )
        assert "active" in item.get_attribute("class")
        # Seeking into the cue makes it the active one: the caption shows its text.
        WebDriverWait(browser, 5).until(
            lambda d, t=target: (
                d.find_element(By.ID, "caption").text.replace("\n", " ") == t["cues"][0]["text"]
            )
        )
    assert severe_console_messages(browser) == []


def test_dropped_lines_are_shown_with_their_reasons(browser: Any, rendered: Renderer) -> None:
    from selenium.webdriver.common.by import By

    result = rendered(SAMPLE)
    open_page(browser, result)
    rows = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".dropped li")]
    assert rows == [f"line {d.line} {d.rule} {d.text}" for d in result.script.dropped]
    colour = browser.execute_script(
        "return getComputedStyle(document.querySelector('.dropped li')).color"
    )
    body = browser.execute_script("return getComputedStyle(document.body).color")
    assert colour != body  # greyed
