"""End-to-end renders on the real engine and real ffmpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import srt

from tests.conftest import SAMPLE, Renderer, read_pcm

NOISE = ("click to enlarge", "INTELLECTUAL PROPERTY", "intellectual property", "2017-07-26")


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3", "piper"])
@pytest.mark.parametrize("which", ["sample", "seed"])
def test_render_writes_three_consistent_files(
    rendered: Renderer, seed: Path, engine: str, which: str
) -> None:
    script = SAMPLE if which == "sample" else seed
    result = rendered(script, engine)
    # Karaoke only from an engine that says when each word is spoken.
    karaoke = ("ass",) if engine != "pyttsx3" else ()
    assert sorted(p.name for p in result.audio.parent.iterdir()) == sorted(
        f"{script.stem}.{ext}" for ext in ("wav", "srt", "vtt", "html", "json", *karaoke)
    )
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    subtitles = result.subtitles.read_text(encoding="utf-8")

    # Noise never reaches the listener or the viewer; the manifest lists it as dropped.
    spoken = json.dumps(manifest["paragraphs"]) + subtitles
    for noise in NOISE:
        assert noise not in spoken
    assert [d["rule"] for d in manifest["dropped"]] == ["image-caption", "watermark"]

    # The audio is as long as the manifest says: exactly in samples, and per ffprobe.
    pcm, rate = read_pcm(result.audio)
    assert len(pcm) // 2 == manifest["audio"]["samples"] == result.samples
    assert rate == manifest["audio"]["sample_rate"]
    assert abs(ffprobe_duration(result.audio) - manifest["audio"]["duration"]) <= 1 / rate + 5e-4

    # SRT round-trips and matches the manifest's cues, in order, within the audio.
    cues = list(srt.parse(subtitles))
    assert srt.compose(cues, reindex=False) == subtitles
    flat = [c for p in manifest["paragraphs"] for s in p["sentences"] for c in s["cues"]]
    assert len(cues) == len(flat) == manifest["subtitles"]["cues"]
    for cue, entry in zip(cues, flat, strict=True):
        assert cue.index == entry["index"]
        assert cue.start.total_seconds() == pytest.approx(entry["start"], abs=1e-3)
        assert cue.end.total_seconds() == pytest.approx(entry["end"], abs=1e-3)
        assert " ".join(cue.content.split()) == entry["text"]
        assert cue.end.total_seconds() <= manifest["audio"]["duration"] + 1e-3

    # Nothing lost or repeated: cue texts give back the spoken sentences.
    for paragraph in manifest["paragraphs"]:
        for sentence in paragraph["sentences"]:
            joined = " ".join(c["text"] for c in sentence["cues"])
            assert joined == " ".join(sentence["text"].split())


def test_srt_converts_with_ffmpeg(rendered: Renderer, tmp_path: Path) -> None:
    result = rendered(SAMPLE)
    target = tmp_path / "sample.ass"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(result.subtitles), str(target)],
        check=True,
    )
    assert target.read_text(encoding="utf-8").count("Dialogue:") == len(result.cues)


def decoded_duration(path: Path, rate: int) -> float:
    """Length of what a player hears: ffmpeg honours the encoder-delay headers."""
    out = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return len(out.stdout) / 2 / rate


# One codec frame bounds how far a compressed file's decoded length can differ.
FRAME_TOLERANCE = {"mp3": 1152 / 22050, "ogg": 0.03, "opus": 0.025, "flac": 0.001, "m4a": 0.06}


@pytest.mark.parametrize("audio_format", sorted(FRAME_TOLERANCE))
def test_compressed_formats(rendered: Renderer, audio_format: str) -> None:
    result = rendered(SAMPLE, "espeak", audio_format)
    assert result.audio.suffix == f".{audio_format}"
    assert result.audio.is_file()
    assert not list(result.audio.parent.glob("*.wav")), "the intermediate WAV must not remain"
    assert not list(result.audio.parent.glob(".*")), "no temporary files remain"
    measured = decoded_duration(result.audio, result.sample_rate)
    assert abs(measured - result.duration) <= FRAME_TOLERANCE[audio_format] + 0.002


@pytest.mark.parametrize("audio_format", ["wav", *sorted(FRAME_TOLERANCE)])
def test_manifest_sample_rate_is_the_files(rendered: Renderer, audio_format: str) -> None:
    result = rendered(SAMPLE, "espeak", audio_format)
    probed = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
         "stream=sample_rate", "-of", "csv=p=0", str(result.audio)],
        capture_output=True, text=True, check=True,
    )
    audio = json.loads(result.manifest.read_text(encoding="utf-8"))["audio"]
    assert audio["sample_rate"] == int(probed.stdout)
    assert audio["samples"] / audio["sample_rate"] == pytest.approx(audio["duration"], abs=1e-3)


def test_cues_respect_readability_limits(rendered: Renderer, seed: Path) -> None:
    for script in (SAMPLE, seed):
        for engine in ("espeak", "pyttsx3", "piper"):
            result = rendered(script, engine)
            rate = result.sample_rate
            cues = result.cues
            for k, cue in enumerate(cues):
                lines = srt_lines(cue.text)
                assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), cue
                duration = (cue.end - cue.start) / rate
                assert duration <= 7.0 + 1e-9, cue
                room = (cues[k + 1].start if k + 1 < len(cues) else result.samples) - cue.start
                assert duration >= min(5 / 6, room / rate) - 1 / rate, cue
                if k + 1 < len(cues):
                    assert cue.end <= cues[k + 1].start


def srt_lines(text: str) -> list[str]:
    from narrator.segment import break_lines

    lines = break_lines(text)
    assert lines is not None
    return list(lines)
