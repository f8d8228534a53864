"""Settings change what is heard: rate, voice spellings and the duration estimate, per engine.

Every test here runs the real engines: a setting that the engine silently
ignores (pyttsx3 once spoke --rate 175 at 200 wpm) passes every test that only
checks that the output is valid.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import statistics
import sys
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.check import inspect
from narrator.cli import app
from narrator.engines import ENGINES, VoiceSettings, open_engine, resolve_voice
from narrator.plan import read_plan
from narrator.preview import speak_segments
from narrator.render import RenderResult, RenderSettings, render
from tests.conftest import ROOT, SAMPLE

RATES = (120, 175, 200, 300)
PARAGRAPH = (
    "The river carried salt and timber to the coast for three hundred years before "
    "anyone thought to build a bridge across it. When the first stone pier rose from "
    "the water, the ferrymen gathered on the bank and watched in silence."
)
runner = CliRunner()


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def assert_follows_rate(durations: dict[int, float]) -> None:
    """duration × rate is constant within 10%, and no two rates sound the same length."""
    products = {rate: seconds * rate for rate, seconds in durations.items()}
    mean = statistics.fmean(products.values())
    for rate, product in products.items():
        assert product == pytest.approx(mean, rel=0.10), (rate, durations)
    ordered = [durations[rate] for rate in sorted(durations)]
    # Faster is shorter, by a clear margin (eSpeak varies by about 11 ms per call).
    assert all(a > b * 1.05 for a, b in itertools.pairwise(ordered)), durations


def quiet_settings(out: Path, engine: str, rate: int) -> RenderSettings:
    """No automatic pauses, so the audio's length is speech alone."""
    return RenderSettings(
        out_dir=out,
        voice=VoiceSettings(engine=engine, rate=rate),
        sentence_pause_ms=0,
        paragraph_pause_ms=0,
    )


@pytest.mark.parametrize("engine", list(ENGINES))
def test_render_length_follows_the_rate(tools: None, tmp_path: Path, engine: str) -> None:
    script = tmp_path / "river.txt"
    script.write_text(PARAGRAPH + "\n", encoding="utf-8")
    durations = {}
    for rate in RATES:
        result = render(script, quiet_settings(tmp_path / str(rate), engine, rate))
        durations[rate] = wav_seconds(result.audio)
        assert json.loads(result.manifest.read_text())["engine"]["rate_wpm"] == rate
    assert_follows_rate(durations)


@pytest.mark.parametrize("engine", list(ENGINES))
def test_preview_segment_length_follows_the_rate(
    tools: None, tmp_path: Path, engine: str
) -> None:
    script = tmp_path / "river.txt"
    script.write_text(PARAGRAPH + "\n", encoding="utf-8")
    durations = {}
    for rate in RATES:
        planned = read_plan(script, quiet_settings(tmp_path, engine, rate))
        target = tmp_path / f"river.seg{rate}.wav"
        speak_segments(planned, range(1, len(planned.sentences) + 1), target)
        durations[rate] = wav_seconds(target)
    assert_follows_rate(durations)


OTHERS = [
    f"Sentence number {n} describes the {n}th lantern on the harbour wall at dusk."
    for n in range(1, 31)
]
REPEATED = "The keeper climbed the spiral stair and lit the great lamp once more."


@pytest.mark.parametrize(
    ("engine", "rate"),
    # Piper's timing is deterministic here (no duration noise): one rate shows it.
    [(e, r) for e in ENGINES for r in (175, 240) if (e, r) != ("piper", 240)],
)
def test_the_first_clip_sounds_like_the_hundredth(
    tools: None, tmp_path: Path, engine: str, rate: int
) -> None:
    script = tmp_path / "lamp.txt"
    script.write_text("\n\n".join([REPEATED, *OTHERS, REPEATED]) + "\n", encoding="utf-8")
    result = render(script, quiet_settings(tmp_path / "out", engine, rate))
    sentences = [s for p in result.paragraphs for s in p.sentences]
    first, last = sentences[0], sentences[-1]
    assert first.text == last.text == REPEATED
    assert first.end - first.start == pytest.approx(last.end - last.start, rel=0.03)


def test_pyttsx3_speaks_at_the_asked_rate_like_espeak(tools: None, tmp_path: Path) -> None:
    """Both engines drive eSpeak NG: same voice, same rate, about the same length.

    pyttsx3 keeps its default voice (eSpeak's "en", British English): choosing a
    voice used to reset eSpeak's rate and hide the bug this guards against.
    """
    script = tmp_path / "river.txt"
    script.write_text(PARAGRAPH + "\n", encoding="utf-8")
    for rate in (175, 200):
        lengths = []
        for engine in ENGINES:
            settings = dataclasses.replace(
                quiet_settings(tmp_path / engine, engine, rate),
                voice=VoiceSettings(
                    engine=engine, voice="en-gb" if engine == "espeak" else None, rate=rate
                ),
            )
            lengths.append(wav_seconds(render(script, settings).audio))
        assert lengths[0] == pytest.approx(lengths[1], rel=0.06), (rate, lengths)


SPELLINGS = {
    # spelling -> the id each engine resolves it to
    "en-gb": ("gmw/en", "gmw/en"),
    "gmw/en-GB": ("gmw/en", "gmw/en"),
    "EN_gb": ("gmw/en", "gmw/en"),
    "en": ("gmw/en", "gmw/en"),
    "English (Great Britain)": ("gmw/en", "gmw/en"),
    "en-US": ("gmw/en-us", "gmw/en-US"),
    "gmw/en-us": ("gmw/en-us", "gmw/en-US"),
    "English (America)": ("gmw/en-us", "gmw/en-US"),
}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_every_accepted_spelling_resolves_to_one_voice(tools: None, spelling: str) -> None:
    for engine, expected in zip(("pyttsx3", "espeak"), SPELLINGS[spelling], strict=True):
        assert resolve_voice(VoiceSettings(engine=engine, voice=spelling)) == expected


def test_a_language_code_selects_that_languages_voice(tools: None) -> None:
    """The README promises a language code works: "fr" speaks French, not English."""
    french = open_engine(VoiceSettings(engine="espeak", voice="fr"))
    english = open_engine(VoiceSettings(engine="espeak", voice="en"))
    assert french.voice == "roa/fr"
    text = "Bonjour tout le monde, merci beaucoup."
    assert french.synthesize(text).pcm != english.synthesize(text).pcm


def test_preview_finds_a_render_made_with_an_alias(tools: None, tmp_path: Path) -> None:
    render(
        SAMPLE,
        RenderSettings(out_dir=tmp_path, voice=VoiceSettings(engine="espeak", voice="en-gb")),
    )
    for spelling in ("gmw/en-GB", "en", "English (Great Britain)"):
        shown = runner.invoke(
            app,
            ["preview", str(SAMPLE), "-o", str(tmp_path), "--engine", "espeak",
             "--voice", spelling],
        )
        assert shown.exit_code == 0, shown.stderr
        assert "times measured in" in shown.stdout, spelling
    other = runner.invoke(
        app, ["preview", str(SAMPLE), "-o", str(tmp_path), "--engine", "espeak",
              "--voice", "en-us"],
    )
    assert "times estimated" in other.stdout


def _generated(folder: Path, minutes: int) -> Path:
    """Generated narration (not a text the pace was calibrated on)."""
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    script = folder / f"narration-{minutes}.txt"
    script.write_text(bench.narration(minutes), encoding="utf-8")
    return script


# Long enough to average over many sentences; Piper synthesizes about 30x faster
# than real time here, so it gets a shorter script than the eSpeak engines.
LONG_MINUTES = {"pyttsx3": 20, "espeak": 20, "piper": 3}


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("which", ["sample", "long"])
def test_check_estimates_the_rendered_length_within_ten_percent(
    tools: None, tmp_path: Path, engine: str, which: str
) -> None:
    script = SAMPLE if which == "sample" else _generated(tmp_path, LONG_MINUTES[engine])
    settings = RenderSettings(out_dir=tmp_path, voice=VoiceSettings(engine=engine))
    estimate = inspect(script, settings).estimated_seconds
    result: RenderResult = render(script, settings)
    assert estimate == pytest.approx(result.duration, rel=0.10)
