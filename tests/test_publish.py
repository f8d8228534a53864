"""Ready to publish, through the render and the command line: mastering, tags, cover, video."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.cache import ClipCache
from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.errors import ExitCode
from narrator.render import RenderResult, RenderSettings, render
from narrator.timeline import seconds
from tests.conftest import read_pcm, require_program

SCRIPT = """# The Harbour Light

The harbour light was lit for the first time in the spring of 1891.
Its keeper wrote every night in a leather logbook.

## The Long Fog

One winter the fog lasted eleven days, and the bell was rung by hand.
"""

runner = CliRunner()
METER = ("-hide_banner", "-af", "ebur128=peak=true", "-f", "null", "-")
SHOW = ("-show_chapters", "-show_format", "-show_streams")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) as ffmpeg's own meter finds them."""
    done = subprocess.run(
        [require_program("ffmpeg"), "-nostats", "-i", str(path), *METER],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = done.stderr[done.stderr.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    assert integrated is not None and peak is not None, summary
    return float(integrated[1]), float(peak[1])


def probe(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [require_program("ffprobe"), "-v", "error", "-of", "json", *SHOW, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, object] = json.loads(done.stdout)
    return data


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("publish") / "harbour.txt"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def espeak(out: Path, audio_format: str = "wav", **more: object) -> RenderSettings:
    return RenderSettings(
        out_dir=out, audio_format=audio_format, voice=VoiceSettings("espeak"), **more
    )


def unmastered(script: Path, tmp_path: Path) -> RenderResult:
    """The script rendered unmastered, filling this test's clip cache (see ``cached``)."""
    return render(script, espeak(tmp_path / "plain"), cache=clips(tmp_path))


def clips(tmp_path: Path) -> ClipCache:
    """A clip cache for one test: two renders through it hear the same audio (eSpeak's
    length varies between calls)."""
    return ClipCache(tmp_path / "clips", 10**8)


def cached(script: Path, tmp_path: Path, settings: RenderSettings) -> RenderResult:
    """Render through the test's clip cache, after ``unmastered``: every sentence from it."""
    result = render(script, settings, cache=clips(tmp_path))
    assert result.synthesized == 0
    return result


def cue_times(result: RenderResult) -> list[tuple[int, int]]:
    return [(c.start, c.end) for c in result.cues]


@pytest.mark.parametrize(("preset", "target"), [("podcast", -16.0), ("-20", -20.0)])
def test_mastered_render_meets_its_target_and_keeps_every_time(
    script: Path, tmp_path: Path, preset: str, target: float
) -> None:
    plain = unmastered(script, tmp_path)
    mastered = cached(script, tmp_path, espeak(tmp_path, "m4a", loudness=preset))
    # Mastering moves no sample: the same length and the same cues as unmastered.
    assert mastered.samples == plain.samples
    assert cue_times(mastered) == cue_times(plain)
    integrated, peak = ebur128(mastered.audio)
    assert abs(integrated - target) <= 0.5
    assert peak <= -1.0
    report = json.loads(mastered.manifest.read_text(encoding="utf-8"))["audio"]["loudness"]
    assert report["passed"] is True
    assert abs(report["integrated_lufs"] - target) <= 0.5


def test_wav_master_is_exactly_as_long_as_the_manifest_says(script: Path, tmp_path: Path) -> None:
    plain = unmastered(script, tmp_path)
    mastered = cached(script, tmp_path, espeak(tmp_path, loudness="youtube"))
    pcm, rate = read_pcm(mastered.audio)
    manifest = json.loads(mastered.manifest.read_text(encoding="utf-8"))
    assert len(pcm) // 2 == manifest["audio"]["samples"] == plain.samples
    assert rate == manifest["audio"]["sample_rate"]
    integrated, peak = ebur128(mastered.audio)
    assert abs(integrated + 14.0) <= 0.5 and peak <= -1.0


def test_audiobook_has_room_tone_head_and_tail(script: Path, tmp_path: Path) -> None:
    plain = unmastered(script, tmp_path)
    from narrator.loudness import preset

    book = preset("audiobook")
    assert book is not None
    # ACX asks for 0.5 to 1 s of room tone at the head and 1 to 5 s at the tail.
    assert 500 <= book.head_ms <= 1000 and 1000 <= book.tail_ms <= 5000
    result = cached(script, tmp_path, espeak(tmp_path, "mp3", loudness="audiobook"))
    rate = result.sample_rate
    first_speech = result.paragraphs[0].sentences[0].start
    last_speech = result.paragraphs[-1].sentences[-1].end
    assert first_speech == book.head_ms * rate // 1000
    assert result.samples - last_speech == book.tail_ms * rate // 1000
    # Everything in between moved by the head, to the sample.
    shift = first_speech - plain.paragraphs[0].sentences[0].start
    assert [s + shift for s, _ in cue_times(plain)] == [s for s, _ in cue_times(result)]
    audio = json.loads(result.manifest.read_text(encoding="utf-8"))["audio"]
    report = audio["loudness"]
    assert report["passed"] is True, report
    assert -23 <= report["rms_db"] <= -18 and report["noise_floor_db"] <= -60
    # ACX takes an MP3 at 192 kb/s constant bit rate, 44.1 kHz.
    (stream,) = probe(result.audio)["streams"]  # type: ignore[misc]
    assert (stream["sample_rate"], stream["bit_rate"]) == ("44100", "192000")
    assert audio["sample_rate"] == 44100


def test_audio_file_carries_chapters_and_tags(script: Path, tmp_path: Path) -> None:
    (tmp_path / "narrator.toml").write_text(
        '[metadata]\nartist = "A. Keeper"\nalbum = "Coast"\nyear = 2026\n', encoding="utf-8"
    )
    local = tmp_path / script.name
    local.write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = invoke("render", str(local), "-o", str(out), "-f", "m4b", "--engine", "espeak")
    assert code == 0, err
    found = probe(out / "harbour.m4b")
    tags = found["format"]["tags"]  # type: ignore[index]
    # The title is the first heading; the rest comes from [metadata].
    assert tags["title"] == "The Harbour Light"
    assert (tags["artist"], tags["album"], tags["date"]) == ("A. Keeper", "Coast", "2026")
    manifest = json.loads((out / "harbour.json").read_text(encoding="utf-8"))
    chapters = found["chapters"]  # type: ignore[index]
    assert [c["tags"]["title"] for c in chapters] == [c["title"] for c in manifest["chapters"]]
    for inside, planned in zip(chapters, manifest["chapters"], strict=True):
        assert abs(float(inside["start_time"]) - planned["start"]) <= 1024 / 22050
    assert manifest["audio"]["chapters_inside"] is True
    assert manifest["audio"]["tags"]["title"] == "The Harbour Light"


def test_video_through_the_command_line(script: Path, tmp_path: Path) -> None:
    from PIL import Image

    cover = tmp_path / "cover.png"
    Image.new("RGB", (640, 640), (20, 90, 160)).save(cover)
    code, out, err = invoke(
        "render", str(script), "-o", str(tmp_path), "-f", "mp4", "--engine", "espeak",
        "--cover", str(cover), "--title", "Harbour", "--loudness", "youtube",
    )  # fmt: skip
    assert code == 0, err
    assert re.search(r"^loudness +youtube: .*: pass$", out, re.MULTILINE), out
    found = probe(tmp_path / "harbour.mp4")
    kinds = [s["codec_name"] for s in found["streams"]]  # type: ignore[index]
    assert kinds[:3] == ["h264", "aac", "mov_text"]
    assert found["format"]["tags"]["title"] == "Harbour"  # type: ignore[index]
    manifest = json.loads((tmp_path / "harbour.json").read_text(encoding="utf-8"))
    assert manifest["audio"]["cover"] == "cover.png"
    # Nothing of the encode is left beside the outputs.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("-f", "wav", "--cover", "COVER"), "wav files carry no cover art"),
        (("-f", "mp3", "--cover", "MISSING"), "no such image file"),
        (("-f", "mp3", "--cover", "SCRIPT"), "not an image"),
        (("-f", "m4a", "--burn-subtitles"), "add --format mp4"),
        (("--loudness", "loud"), "unknown loudness preset 'loud'"),
        (("--loudness", "-3"), "-3"),
        (("-f", "mp3", "--year", "20x6"), "year '20x6'"),
    ],
)
def test_impossible_publishing_options_are_one_line_errors(
    script: Path, tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    from PIL import Image

    cover = tmp_path / "cover.png"
    Image.new("RGB", (64, 64)).save(cover)
    named = {"COVER": str(cover), "MISSING": str(tmp_path / "none.png"), "SCRIPT": str(script)}
    given = [named.get(a, a) for a in args]
    out = tmp_path / "out"
    code, _, err = invoke("render", str(script), "-o", str(out), "--engine", "espeak", *given)
    assert code == ExitCode.BAD_SETTING
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("narrator: error: ") and needle in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[metadata]\nnarrator = "x"\n', "metadata.narrator"),
        ("[metadata]\ntitle = 3\n", "metadata.title"),
        ('[render]\nloudness = "loud"\n', "render.loudness"),
        ("[render]\nloudness = -50\n", "render.loudness"),
        ('[render]\nburn_subtitles = "yes"\n', "render.burn_subtitles"),
        ('[metadata]\nyear = "soon"\n', "metadata.year"),
    ],
)
def test_bad_publishing_keys_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "narrator.toml").write_text(toml, encoding="utf-8")
    script = tmp_path / "talk.txt"
    script.write_text("One sentence.\n", encoding="utf-8")
    code, _, err = invoke("check", str(script))
    assert code == ExitCode.BAD_SETTING, err
    assert f"narrator.toml: {key}:" in err


def test_config_loudness_may_be_a_number(tmp_path: Path) -> None:
    from narrator import config

    (tmp_path / "narrator.toml").write_text("[render]\nloudness = -18\n", encoding="utf-8")
    script = tmp_path / "talk.txt"
    script.write_text("One sentence.\n", encoding="utf-8")
    chosen = config.settings(config.load(script), config.Overrides())
    mastering = chosen.mastering
    assert mastering is not None and mastering.target == -18.0


def test_killed_encode_scratch_folder_is_swept(tmp_path: Path) -> None:
    """A render killed mid-encode leaves its encode folder; the next render removes it."""
    from narrator.files import LOCK_PREFIX, Staging

    dead = "999999-deadbeef"
    folder = tmp_path / f".talk.encode.narrator-{dead}.tmp"
    folder.mkdir()
    (folder / "picture-0.y4m").write_bytes(b"frame")
    (tmp_path / f"{LOCK_PREFIX}{dead}.lock").write_text("", encoding="utf-8")
    with Staging(tmp_path) as staging:
        scratch = staging.scratch_folder("talk.encode")
        assert scratch.is_dir()
        (scratch / "tags.txt").write_text("x", encoding="utf-8")
    assert not folder.exists() and not scratch.exists()
    assert list(tmp_path.iterdir()) == []


def test_page_and_manifest_agree_on_duration_after_mastering(
    script: Path, tmp_path: Path
) -> None:
    result = render(script, espeak(tmp_path, "flac", loudness="podcast"))
    found = probe(result.audio)
    duration = float(found["format"]["duration"])  # type: ignore[index]
    assert abs(duration - seconds(result.samples, result.sample_rate)) <= 0.002


def test_encoder_dies_with_a_killed_render(tmp_path: Path) -> None:
    """kill -9 of narrator mid-encode stops its ffmpeg too (it is in its own process group).

    The encoder is stood in for by ``sleep 600``, started the way ``stitch`` starts
    ffmpeg, from a process that is then killed outright.
    """
    import os
    import signal
    import sys
    import time

    starter = (
        "import subprocess, sys\n"
        "from narrator.stitch import _dying_with_parent\n"
        "child = subprocess.Popen(['sleep', '600'], process_group=0,\n"
        "                         preexec_fn=_dying_with_parent())\n"
        "print(child.pid, flush=True)\n"
        "child.wait()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    with parent, parent.stdout:
        encoder = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        try:
            status = Path(f"/proc/{encoder}/status").read_text()
        except OSError:
            break  # gone
        if "State:\tZ" in status:
            break  # dead, waiting for init to reap it
        if time.monotonic() > deadline:
            os.kill(encoder, signal.SIGKILL)
            pytest.fail("the encoder outlived the killed render")
        time.sleep(0.05)


def test_ffmpeg_is_started_to_die_with_narrator(monkeypatch: pytest.MonkeyPatch) -> None:
    from narrator import stitch

    seen: list[object] = []
    real = subprocess.Popen

    def spy(*args: object, **kwargs: object) -> subprocess.Popen[str]:
        seen.append(kwargs.get("preexec_fn"))
        return real(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(stitch.subprocess, "Popen", spy)
    with pytest.raises(Exception, match="ffmpeg could not encode"):
        stitch._run([require_program("ffmpeg"), "-nonsense"], Path.cwd(), Path("x.mp3"), "mp3")  # type: ignore[arg-type]
    assert len(seen) == 1 and callable(seen[0])


def test_a_heading_with_nothing_after_it_is_no_chapter_and_no_title(tmp_path: Path) -> None:
    script = tmp_path / "notes.txt"
    script.write_text("Some words are said here.\n\n# Trailing heading\n", encoding="utf-8")
    result = render(script, espeak(tmp_path, "mp3"))
    found = probe(result.audio)
    assert found["chapters"] == []
    assert found["format"]["tags"]["title"] == "notes"  # type: ignore[index]
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert manifest["audio"]["chapters_inside"] is False


def test_cover_named_like_a_sequence_and_turned_by_exif(tmp_path: Path) -> None:
    """'%03d' in a name is ffmpeg's image sequence; a phone photo is turned by its EXIF tag."""
    from PIL import Image

    cover = tmp_path / "art%03d.jpg"
    landscape = Image.new("RGB", (400, 200), (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show it rotated by 90 degrees
    landscape.save(cover, exif=exif)
    script = tmp_path / "talk.txt"
    script.write_text("A sentence to go with a picture.\n", encoding="utf-8")
    result = render(script, espeak(tmp_path / "out", "m4a", cover=cover))
    done = subprocess.run(
        [require_program("ffmpeg"), "-v", "error", "-i", str(result.audio), "-map", "0:v",
         "-frames:v", "1", "-f", "image2", "-c:v", "png", str(tmp_path / "x.png")],
        check=True,
    )
    assert done.returncode == 0
    with Image.open(tmp_path / "x.png") as embedded:
        assert embedded.size == (200, 400)  # upright: as tall as it was wide
    plain = tmp_path / "plain%d.png"  # copied as it is, under a name ffmpeg reads as one file
    Image.new("RGB", (300, 300)).save(plain)
    again = render(script, espeak(tmp_path / "again", "mp3", cover=plain))
    kinds = [s["codec_name"] for s in probe(again.audio)["streams"]]  # type: ignore[index]
    assert kinds == ["mp3", "png"]


def test_cmyk_and_oversized_covers_are_embedded_as_rgb_within_3000(tmp_path: Path) -> None:
    from PIL import Image

    from narrator.cards import COVER_SIDE, embeddable_cover

    cmyk = tmp_path / "print.jpg"
    Image.new("CMYK", (4000, 1000), (0, 80, 80, 0)).save(cmyk)
    made = embeddable_cover(cmyk, tmp_path)
    with Image.open(made) as image:
        assert image.mode == "RGB" and max(image.size) == COVER_SIDE
    fine = tmp_path / "fine.png"
    Image.new("RGB", (1400, 1400)).save(fine)
    into = tmp_path / "into"
    into.mkdir()
    assert embeddable_cover(fine, into).read_bytes() == fine.read_bytes()


def test_a_huge_cover_is_one_line_error_not_a_warning(tmp_path: Path) -> None:
    from PIL import Image

    huge = tmp_path / "huge.png"
    Image.new("1", (10000, 10000)).save(huge)  # 100 megapixels, a small file
    script = tmp_path / "x.txt"
    script.write_text("A sentence.\n", encoding="utf-8")
    import sys

    # In a process of its own: pytest turns warnings into errors, narrator's user would
    # see Pillow's warning printed.
    done = subprocess.run(
        [sys.executable, "-m", "narrator", "render", str(script), "--cover", str(huge),
         "-f", "mp3", "-o", str(tmp_path / "out"), "--engine", "espeak"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    code, err = done.returncode, done.stderr
    lines = err.strip().splitlines()
    assert code == ExitCode.BAD_SETTING
    assert len(lines) == 1 and "too large" in lines[0], err


def test_project_cover_and_burn_apply_only_where_they_fit(tmp_path: Path) -> None:
    """From narrator.toml, a cover and burned cues are defaults: check, preview and a WAV
    render go on without them; a missing cover names the key."""
    from PIL import Image

    Image.new("RGB", (64, 64)).save(tmp_path / "art.png")
    config = tmp_path / "narrator.toml"
    config.write_text(
        '[render]\ncover = "art.png"\nburn_subtitles = true\nengine = "espeak"\n',
        encoding="utf-8",
    )
    script = tmp_path / "talk.txt"
    script.write_text("A sentence with a picture.\n", encoding="utf-8")
    assert invoke("check", str(script))[0] == 0
    code, _, err = invoke("render", str(script), "-o", str(tmp_path / "out"), "-f", "wav")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "talk.json").read_text(encoding="utf-8"))
    assert manifest["audio"]["cover"] is None
    code, _, err = invoke("render", str(script), "-o", str(tmp_path / "mp3"), "-f", "mp3")
    assert code == 0, err
    assert [s["codec_name"] for s in probe(tmp_path / "mp3" / "talk.mp3")["streams"]] == [  # type: ignore[index]
        "mp3",
        "png",
    ]
    (tmp_path / "art.png").unlink()
    code, _, err = invoke("check", str(script))
    assert code == ExitCode.BAD_SETTING
    assert "narrator.toml: render.cover: " in err and "no such image file" in err


def test_manifest_text_is_the_manifest_data(script: Path, tmp_path: Path) -> None:
    """Sentences on a line each (quick to write for an hour) change nothing in the data."""
    from narrator.manifest import Outputs, build_manifest, manifest_json

    result = render(script, espeak(tmp_path))
    outputs = Outputs("harbour.wav", "wav", result.sample_rate, "a.srt", "a.vtt", "a.html")
    text = manifest_json(result.timeline, outputs)
    assert json.loads(text) == build_manifest(result.timeline, outputs)
    sentences = sum(len(p.sentences) for p in result.paragraphs)
    assert sum(1 for line in text.splitlines() if line.startswith('      {"index"')) == sentences
