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


def strip_regions(browser: Any) -> list[dict[str, float]]:
    return list(
        browser.execute_script(
            "return Array.from(document.querySelectorAll('#waveform rect.region'), (r) => {"
            "  const b = r.getBoundingClientRect(); return {left: b.left, width: b.width}; });"
        )
    )


@pytest.mark.parametrize("share", [0.1, 0.5, 0.83])
def test_clicking_the_waveform_seeks_there(browser: Any, rendered: Renderer, share: float) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    result = rendered(SAMPLE)
    open_page(browser, result)
    strip = browser.find_element(By.ID, "waveform")
    assert len(strip_regions(browser)) == len(result.cues)
    assert browser.find_elements(By.CSS_SELECTOR, "#waveform path.wave")
    width = strip.rect["width"]
    # Selenium's offsets are from the element's centre.
    offset = round(share * width - width / 2)
    ActionChains(browser).move_to_element_with_offset(strip, offset, 0).click().perform()
    clicked = (offset + width / 2) / width
    pixel = result.duration / width
    WebDriverWait(browser, 5).until(
        lambda d: (
            abs(
                d.execute_script("return document.getElementById('audio').currentTime")
                - clicked * result.duration
            )
            <= pixel
        )
    )
    assert severe_console_messages(browser) == []


def test_the_cue_regions_sit_where_the_cues_are(browser: Any, rendered: Renderer) -> None:
    from selenium.webdriver.common.by import By

    result = rendered(SAMPLE)
    open_page(browser, result)
    box = browser.find_element(By.ID, "waveform").rect
    pixel = result.duration / box["width"]
    for cue, region in zip(result.cues, strip_regions(browser), strict=True):
        start = (region["left"] - box["x"]) / box["width"] * result.duration
        length = region["width"] / box["width"] * result.duration
        assert start == pytest.approx(result.timeline.seconds(cue.start), abs=pixel)
        assert length == pytest.approx(result.timeline.seconds(cue.end - cue.start), abs=pixel)


# The time, and the highlighted word's range and text (a line break inside it as a space).
CURRENT_WORD = """
const audio = document.getElementById('audio');
const word = document.querySelector('#caption .word.current');
return word ? [audio.currentTime, Number(word.dataset.start), Number(word.dataset.end),
               word.textContent.replace(/\\n/g, " ")] : [audio.currentTime, null, null, null];
"""


def test_the_word_being_spoken_is_highlighted(browser: Any, rendered: Renderer) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    result = rendered(SAMPLE)
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    cues = [c for p in manifest["paragraphs"] for s in p["sentences"] for c in s["cues"]]
    open_page(browser, result)
    # Paused inside a word: that word and no other is highlighted.
    for cue, k in ((cues[2], 3), (cues[5], 0), (cues[5], len(cues[5]["words"]) - 1)):
        word = cue["words"][k]
        middle = (word["start"] + word["end"]) / 2
        browser.execute_script(f"document.getElementById('audio').currentTime = {middle};")
        expected = [word["start"], word["end"], word["text"]]
        WebDriverWait(browser, 5).until(
            lambda d, e=expected: d.execute_script(CURRENT_WORD)[1:] == e
        )
        count = browser.execute_script(
            "return document.querySelectorAll('#caption .word.current').length"
        )
        assert count == 1
    # Playing: the highlight follows the speech, word after word.
    browser.execute_script(
        "const a = document.getElementById('audio'); a.currentTime = 0; a.play();"
    )
    seen: list[str] = []
    for _ in range(400):
        now, start, end, text = browser.execute_script(CURRENT_WORD)
        if text is not None:
            # Read at the same moment as the time, up to the frame not yet drawn.
            assert start - 0.05 <= now < end + 0.05, (now, text, start, end)
            if not seen or seen[-1] != text:
                seen.append(text)
        if len(seen) >= 6:
            break
        browser.execute_script("return new Promise((done) => setTimeout(done, 20));")
    browser.execute_script("document.getElementById('audio').pause();")
    assert len(seen) >= 6, seen
    words = [w["text"] for c in cues for w in c["words"]]
    assert seen == words[: len(seen)], "words skipped or out of order"
    assert severe_console_messages(browser) == []


def test_without_word_times_the_caption_is_plain_text(browser: Any, rendered: Renderer) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    result = rendered(SAMPLE, "pyttsx3")
    open_page(browser, result)
    cue = result.cues[1]
    middle = result.timeline.seconds((cue.start + cue.end) // 2)
    browser.execute_script(f"document.getElementById('audio').currentTime = {middle};")
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "caption").text.replace("\n", " ") == cue.text
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#caption .word") == []
    assert len(strip_regions(browser)) == len(result.cues)
    assert severe_console_messages(browser) == []
