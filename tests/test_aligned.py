"""`narrator align` end to end: a Piper "narrator", reshaped by ffmpeg, timed by espeak."""

from __future__ import annotations

import difflib
import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.errors import ExitCode
from narrator.render import RenderResult, RenderSettings, render
from tests.conftest import require_program

SCRIPT = """# The Harbour

The harbour light was lit for the first time in the spring of 1891. Its keeper wrote
every night in a leather logbook, and most of the pages still survive.

One winter the fog lasted eleven days. The bell was rung by hand, every two minutes,
through every night, until the ships could see the light again.

## Today

Today the light is automatic, and the logbooks rest in the county archive, where
anyone may read them.
"""
OTHER = """A recipe for bread needs flour, water, salt and time. Knead the dough for ten
minutes, then leave it covered in a warm kitchen until it has doubled in size.
"""
HEAD_S = 2.0
TEMPO = 1.2

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ffmpeg(*args: str) -> None:
    subprocess.run([require_program("ffmpeg"), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RenderResult]:
    """The script, and Piper reading it with long pauses between paragraphs: the narrator."""
    folder = tmp_path_factory.mktemp("aligned")
    script = folder / "harbour.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    reading = render(
        script,
        RenderSettings(
            out_dir=folder / "piper", voice=VoiceSettings("piper"), paragraph_pause_ms=3000
        ),
    )
    return script, reading


@pytest.fixture(scope="module")
def recording(spoken: tuple[Path, RenderResult]) -> Path:
    """The reading as a home recording: silence at the head, 20% faster, room noise, stereo
    44.1 kHz m4a."""
    _, reading = spoken
    target = reading.audio.parent.parent / "take.m4a"
    ffmpeg(
        "-i", str(reading.audio),
        "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.004:sample_rate=22050:seed=1887",
        "-filter_complex",
        f"[0]adelay={int(HEAD_S * 1000)},atempo={TEMPO}[v];"
        "[v][1]amix=inputs=2:duration=first:normalize=0",
        "-ac", "2", "-ar", "44100", str(target),
    )  # fmt: skip
    return target


def cues(manifest: Path) -> list[dict[str, Any]]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [c for p in data["paragraphs"] for s in p["sentences"] for c in s["cues"]]


def cue_starts(manifest: Path) -> list[tuple[str, float]]:
    return [(c["text"], c["start"]) for c in cues(manifest)]


def word_starts(manifest: Path) -> list[tuple[str, float]]:
    return [(w["text"], w["start"]) for c in cues(manifest) for w in c["words"]]


def test_align_times_every_cue_from_the_recording(
    spoken: tuple[Path, RenderResult], recording: Path, tmp_path: Path
) -> None:
    script, reading = spoken
    code, out, err = invoke("align", str(script), str(recording), "-o", str(tmp_path))
    assert code == 0, err
    assert "aligned    5 sentences to take.m4a" in out
    truth = cue_starts(reading.manifest)
    found = cue_starts(tmp_path / "harbour.json")
    assert [text for text, _ in found] == [text for text, _ in truth]
    pairs = zip(truth, found, strict=True)
    errors = [abs(at - (HEAD_S + start) / TEMPO) for (_, start), (_, at) in pairs]
    assert statistics.median(errors) <= 0.040, errors
    # A cue that starts a sentence follows a pause: within 60 ms of the speech onset.
    firsts = {
        s["cues"][0]["index"]
        for p in json.loads(reading.manifest.read_text(encoding="utf-8"))["paragraphs"]
        for s in p["sentences"]
    }
    assert all(e <= 0.060 for k, e in enumerate(errors, start=1) if k in firsts), errors
    # The words too: karaoke from the recording.
    heard = [(w, (HEAD_S + at) / TEMPO) for w, at in word_starts(reading.manifest)]
    moved = word_starts(tmp_path / "harbour.json")
    # espeak and Piper group a few words otherwise ("for the"): the words both have.
    same = difflib.SequenceMatcher(a=[w for w, _ in moved], b=[w for w, _ in heard])
    pairs_of_words = [
        (moved[i + k][1], heard[j + k][1])
        for i, j, n in same.get_matching_blocks()
        for k in range(n)
    ]
    assert len(pairs_of_words) >= 0.8 * len(heard)
    word_errors = [abs(a - b) for a, b in pairs_of_words]
    assert statistics.median(word_errors) <= 0.060, word_errors
    data = json.loads((tmp_path / "harbour.json").read_text(encoding="utf-8"))
    assert data["alignment"]["recording"] == "take.m4a"
    assert all(0 <= s["confidence"] <= 1 for p in data["paragraphs"] for s in p["sentences"])
    # The recording itself is the audio, copied as it is: never re-timed.
    assert (tmp_path / "take.m4a").exists() is False
    assert (tmp_path / "harbour.m4a").read_bytes() == recording.read_bytes()
    assert data["audio"]["sample_rate"] == 44100
    for name in ("harbour.srt", "harbour.vtt", "harbour.html", "harbour.ass"):
        assert (tmp_path / name).is_file()
    assert (tmp_path / "harbour.chapters.txt").read_text(encoding="utf-8").startswith("0:00 ")


def test_align_re_encodes_to_a_format(
    spoken: tuple[Path, RenderResult], recording: Path, tmp_path: Path
) -> None:
    script, _ = spoken
    code, _, err = invoke("align", str(script), str(recording), "-o", str(tmp_path), "-f", "mp3")
    assert code == 0, err
    data = json.loads((tmp_path / "harbour.json").read_text(encoding="utf-8"))
    assert data["audio"]["file"] == "harbour.mp3"
    assert data["audio"]["chapters_inside"] is True
    # Re-encoded, not remixed: the take is stereo, and so is its mp3.
    probed = subprocess.run(
        [require_program("ffprobe"), "-v", "error", "-show_entries", "stream=channels",
         "-of", "csv=p=0", str(tmp_path / "harbour.mp3")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probed.stdout.split() == ["2"]


def test_a_recording_of_another_text_is_one_line_error(
    spoken: tuple[Path, RenderResult], tmp_path: Path
) -> None:
    script, _ = spoken
    other = tmp_path / "other.txt"
    other.write_text(OTHER * 3, encoding="utf-8")
    wrong = render(other, RenderSettings(out_dir=tmp_path / "wrong", voice=VoiceSettings("piper")))
    out = tmp_path / "out"
    code, _, err = invoke("align", str(script), str(wrong.audio), "-o", str(out))
    assert code == ExitCode.BAD_INPUT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("narrator: error: ") and "other.wav" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("make", "needle", "code"),
    [
        ("missing", "no such recording", ExitCode.BAD_INPUT),
        ("folder", "a folder, not a recording", ExitCode.BAD_INPUT),
        ("short", "lasts 0.3 s, too short to be a reading", ExitCode.BAD_INPUT),
        ("text", "not a recording ffmpeg can read", ExitCode.BAD_INPUT),
        ("pyttsx3", "reports no word times", ExitCode.BAD_SETTING),
    ],
)
def test_bad_recordings_and_engines_are_one_line(
    spoken: tuple[Path, RenderResult], recording: Path, tmp_path: Path, make: str, needle: str,
    code: int,
) -> None:  # fmt: skip
    script, _ = spoken
    given = {"missing": tmp_path / "none.wav", "text": script, "folder": tmp_path}.get(
        make, recording
    )
    if make == "short":
        given = tmp_path / "short.wav"
        ffmpeg("-i", str(recording), "-t", "0.3", str(given))
    extra = ["--engine", "pyttsx3"] if make == "pyttsx3" else []
    out = tmp_path / "out"
    found, _, err = invoke("align", str(script), str(given), "-o", str(out), *extra)
    assert found == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert not out.exists()


def test_the_config_engine_speaks_the_reference_when_it_has_word_times(
    spoken: tuple[Path, RenderResult], recording: Path, tmp_path: Path
) -> None:
    """narrator.toml's piper and its voice are the reference (its voice was handed to espeak,
    an error); an engine without word times gives way to espeak."""
    script, _ = spoken
    for engine, voice, reference in (
        ("piper", "en_US-joe-medium", "piper"),
        ("pyttsx3", "en_US-joe-medium", "espeak"),
    ):
        config = tmp_path / f"{engine}.toml"
        config.write_text(f'[render]\nengine = "{engine}"\nvoice = "{voice}"\n', encoding="utf-8")
        out = tmp_path / engine
        code, _, err = invoke(
            "align", str(script), str(recording), "-o", str(out), "-c", str(config), "-q"
        )
        assert code == 0, err
        data = json.loads((out / "harbour.json").read_text(encoding="utf-8"))
        assert data["alignment"]["reference"].startswith(f"{reference} "), data["alignment"]


def test_the_recording_is_never_an_output(
    spoken: tuple[Path, RenderResult], recording: Path, tmp_path: Path
) -> None:
    """The recording beside the script, aligned into their own folder: refused, untouched."""
    script, _ = spoken
    here = tmp_path / "harbour.m4a"
    here.write_bytes(recording.read_bytes())
    for extra in ([], ["-f", "m4a"]):
        code, _, err = invoke("align", str(script), str(here), "-o", str(tmp_path), *extra)
        assert code == ExitCode.OUTPUT, err
        assert "is the recording itself" in err and len(err.strip().splitlines()) == 1
        assert here.read_bytes() == recording.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["harbour.m4a"]


def test_a_phrase_left_out_is_an_unsure_stretch_where_it_was(
    spoken: tuple[Path, RenderResult], tmp_path: Path
) -> None:
    """Seven words cut from "The bell was rung by hand, every two minutes, ...": the summary
    and the manifest name a stretch, in seconds of the recording, around the cut."""
    script, reading = spoken
    timeline = reading.timeline
    sentence = next(s for s in timeline.sentences if s.text.startswith("The bell"))
    words = [w for cue in sentence.cues for w in cue.words]
    rate = timeline.sample_rate
    cut_from, cut_to = words[2].start / rate, words[9].start / rate
    take = tmp_path / "cut.wav"
    ffmpeg(
        "-i", str(reading.audio), "-filter_complex",
        f"[0:a]asplit[a][b];[a]atrim=end={cut_from:.3f}[x];"
        f"[b]atrim=start={cut_to:.3f},asetpts=PTS-STARTPTS[y];[x][y]concat=n=2:v=0:a=1",
        str(take),
    )  # fmt: skip
    code, out, err = invoke("align", str(script), str(take), "-o", str(tmp_path / "out"))
    assert code == 0, err
    data = json.loads((tmp_path / "out" / "harbour.json").read_text(encoding="utf-8"))
    ((start, end),) = [(u["start"], u["end"]) for u in data["alignment"]["unsure"]]
    assert start <= cut_from <= end <= cut_from + 15, (start, end, cut_from)
    assert "unsure" in out


def test_a_video_copied_as_it_is_keeps_its_sound_s_rate(
    spoken: tuple[Path, RenderResult], tmp_path: Path
) -> None:
    """A phone video of the reading (22.05 kHz sound), copied: the manifest says 22050 Hz,
    not the 48 kHz narrator's own mp4s have."""
    script, reading = spoken
    video = tmp_path / "phone.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=160x120:r=5", "-i", str(reading.audio),
        "-shortest", "-c:v", "libx264", "-c:a", "aac", str(video),
    )  # fmt: skip
    code, _, err = invoke("align", str(script), str(video), "-o", str(tmp_path / "out"), "-q")
    assert code == 0, err
    data = json.loads((tmp_path / "out" / "harbour.json").read_text(encoding="utf-8"))
    assert data["audio"]["file"] == "harbour.mp4"
    assert data["audio"]["sample_rate"] == 22050
    assert (tmp_path / "out" / "harbour.mp4").read_bytes() == video.read_bytes()


def test_the_config_s_loudness_masters_a_re_encode_only(
    spoken: tuple[Path, RenderResult], recording: Path, tmp_path: Path
) -> None:
    """narrator.toml's loudness: the recording re-encoded is mastered to it (and measured
    there); copied as it is, it is left alone."""
    script, _ = spoken
    config = tmp_path / "narrator.toml"
    config.write_text('[render]\nloudness = "podcast"\n', encoding="utf-8")
    mastered, copied = tmp_path / "mastered", tmp_path / "copied"
    for out, extra in ((mastered, ["-f", "wav"]), (copied, [])):
        code, _, err = invoke(
            "align", str(script), str(recording), "-o", str(out), "-c", str(config), "-q", *extra
        )
        assert code == 0, err
    data = json.loads((mastered / "harbour.json").read_text(encoding="utf-8"))
    assert abs(data["audio"]["loudness"]["integrated_lufs"] - (-16.0)) <= 1.0, data["audio"]
    copy = json.loads((copied / "harbour.json").read_text(encoding="utf-8"))
    assert copy["audio"]["loudness"] is None
    assert (copied / "harbour.m4a").read_bytes() == recording.read_bytes()
