"""Faults never lose or litter: signals, kill -9, a full disk, stale and read-only outputs.

Signals and kills are sent to the real CLI in a subprocess. Every subprocess
carries a token in its environment, which its children (ffmpeg, the pyttsx3
worker) inherit, so a survivor is found by scanning /proc for the token.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.cli import app
from narrator.engines import VoiceSettings
from narrator.errors import ExitCode
from narrator.files import Staging
from narrator.render import RenderSettings, render
from tests.conftest import ROOT, require_program

runner = CliRunner()
EARLIER = "an earlier render\n"
LONG = "\n\n".join(
    f"Paragraph {p} begins here. The keeper climbed the stairs again, one hundred and "
    f"twelve steps, to trim the wick. Fog lay on the water for the {p}th night running."
    for p in range(1, 60)
)


def _script(folder: Path, text: str, name: str = "talk.txt") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _earlier(out: Path) -> None:
    """Put an earlier render's subtitles in the output folder."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "talk.srt").write_text(EARLIER, encoding="utf-8")


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _staged(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".part", ".tmp"))


def _processes_with(token: str) -> list[tuple[int, str]]:
    """Live processes whose environment holds ``token``: (pid, command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone, or not ours
        if f"NARRATOR_TEST_RUN={token}".encode() in environ.split(b"\0"):
            found.append((int(entry.name), cmdline))
    return found


class Run:
    """The real CLI in a subprocess, in its own session, with a fresh TMPDIR."""

    def __init__(self, tmp_path: Path, *args: str, path: str | None = None) -> None:
        self.token = uuid.uuid4().hex
        self.temp = tmp_path / f"temp-{self.token[:8]}"
        self.temp.mkdir()
        env = dict(os.environ, NARRATOR_TEST_RUN=self.token, TMPDIR=str(self.temp))
        if path is not None:
            env["PATH"] = path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "narrator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 60  # against a hang only
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"the render ended before {what}: {self.process.stderr.read()}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"timed out waiting for {what}")
            time.sleep(0.005)

    def children(self) -> list[tuple[int, str]]:
        return [p for p in _processes_with(self.token) if p[0] != self.process.pid]

    def finish(self) -> tuple[int, str]:
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err

    def wait_children_gone(self) -> None:
        """After a kill -9 of the CLI: its orphans must end by themselves."""
        deadline = time.monotonic() + 60  # against a hang only
        while self.children():
            if time.monotonic() > deadline:
                for pid, _ in self.children():
                    os.kill(pid, signal.SIGKILL)
                pytest.fail("an orphaned child of a killed render never ended")
            time.sleep(0.01)


def _assert_one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("narrator: error: "), err
    for needle in needles:
        assert needle in lines[0], err


def _ffmpeg_shim(tmp_path: Path, *, real_target: bool) -> str:
    """A PATH whose ffmpeg is the real one reading its input at playback speed
    (``-re``, so it is still running when the signal comes), or writing to
    /dev/full (a real "No space left on device" from ffmpeg)."""
    real = require_program("ffmpeg")
    folder = tmp_path / "shim"
    folder.mkdir(exist_ok=True)
    if real_target:
        argv = f"[{real!r}, '-re', *sys.argv[1:]]"
    else:
        argv = f"[{real!r}, *sys.argv[1:-1], '/dev/full']"
    shim = folder / "ffmpeg"
    shim.write_text(
        f"#!{sys.executable}\nimport os, sys\nos.execv({real!r}, {argv})\n", encoding="utf-8"
    )
    shim.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


# -- 1. SIGTERM, SIGINT and SIGHUP behave like Ctrl-C -------------------------------------------


@pytest.mark.parametrize(
    ("engine", "signum", "to_group"),
    [
        ("espeak", signal.SIGTERM, False),
        ("espeak", signal.SIGINT, False),
        ("espeak", signal.SIGHUP, False),
        ("pyttsx3", signal.SIGTERM, False),
        ("pyttsx3", signal.SIGINT, True),  # Ctrl-C at a terminal: the whole process group
        ("pyttsx3", signal.SIGTERM, True),
    ],
)
def test_a_signal_mid_synthesis_stops_cleanly(
    tools: None, tmp_path: Path, engine: str, signum: signal.Signals, to_group: bool
) -> None:
    out = tmp_path / "out"
    _earlier(out)
    script = _script(tmp_path, LONG)
    run = Run(tmp_path, "render", str(script), "-o", str(out), "--engine", engine)
    if engine == "pyttsx3":
        run.wait_for(
            "the worker started",
            lambda: any("_pyttsx3_worker" in c for _, c in run.children()),
        )
    run.wait_for("synthesis began", lambda: bool(_staged(out)))
    if to_group:
        os.killpg(run.process.pid, signum)
    else:
        run.process.send_signal(signum)
    code, err = run.finish()
    assert code == 128 + signum
    if signum == signal.SIGINT:
        _assert_one_line(err, "interrupted", "no half-written file was left")
    else:
        _assert_one_line(err, f"stopped by {signum.name}", "no half-written file was left")
    assert run.children() == []
    assert sorted(p.name for p in out.iterdir()) == ["talk.srt"]
    assert (out / "talk.srt").read_text(encoding="utf-8") == EARLIER
    assert list(run.temp.iterdir()) == []  # the pyttsx3 scratch folder too


def test_sigterm_while_ffmpeg_encodes_stops_ffmpeg(tools: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _earlier(out)
    script = _script(tmp_path, "The fog came in. It stayed for eleven days.")
    path = _ffmpeg_shim(tmp_path, real_target=True)
    run = Run(
        tmp_path,
        "render",
        str(script),
        "-o",
        str(out),
        "-f",
        "mp3",
        "--engine",
        "espeak",
        path=path,
    )
    run.wait_for(
        "ffmpeg started",
        lambda: any("ffmpeg" in c and "-re" in c for _, c in run.children()),
    )
    run.process.send_signal(signal.SIGTERM)
    code, err = run.finish()
    assert code == 143
    _assert_one_line(err, "stopped by SIGTERM")
    assert run.children() == []
    assert sorted(p.name for p in out.iterdir()) == ["talk.srt"]


# -- 2. kill -9: the next run removes a dead run's litter, never a live run's --------------------


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3"])
def test_the_next_render_removes_a_killed_render_s_litter(
    tools: None, tmp_path: Path, engine: str
) -> None:
    out = tmp_path / "out"
    _earlier(out)
    script = _script(tmp_path, LONG)
    run = Run(tmp_path, "render", str(script), "-o", str(out), "--engine", engine)
    run.wait_for("synthesis began", lambda: bool(_staged(out)))
    if engine == "pyttsx3":
        run.wait_for(
            "the engine's scratch folder",
            lambda: any(p.name.startswith("narrator-pyttsx3-") for p in run.temp.iterdir()),
        )
    run.process.kill()
    run.finish()
    run.wait_children_gone()
    assert _staged(out), "a kill -9 leaves the staged files"
    if engine == "pyttsx3":
        assert any(p.name.startswith("narrator-pyttsx3-") for p in run.temp.iterdir())

    short = _script(tmp_path, "Hello there.", name="short.txt")
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "narrator",
            "render",
            str(short),
            "-o",
            str(out),
            "-q",
            "--engine",
            engine,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, TMPDIR=str(run.temp)),
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert _hidden(out) == []
    assert list(run.temp.iterdir()) == []
    assert (out / "talk.srt").read_text(encoding="utf-8") == EARLIER


def test_a_live_run_s_staged_files_are_left_alone(tools: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Staging(out) as live:
        staged = live.write_text("talk.srt", "a render still under way\n")
        lock = [out / name for name in _hidden(out) if not name.startswith(".talk.srt.")]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "narrator",
                "render",
                str(_script(tmp_path, "Hello.")),
                "-o",
                str(out),
                "-q",
                "--engine",
                "espeak",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert staged.read_text(encoding="utf-8") == "a render still under way\n"
        assert all(path.exists() for path in lock)
        live.commit()
    assert _hidden(out) == []
    assert (out / "talk.srt").read_text(encoding="utf-8") == "a render still under way\n"


def test_a_dead_run_is_known_by_its_free_lock_not_by_its_pid(tmp_path: Path) -> None:
    """The pid in a name may be reused by a live process (here: this one); the lock decides."""
    tag = f"{os.getpid()}-0badc0de"
    litter = [tmp_path / f".talk.wav.narrator-{tag}.part", tmp_path / f".narrator-{tag}.lock"]
    for path in litter:
        path.write_bytes(b"")
    strangers = [tmp_path / ".talk.wav.abc123.part", tmp_path / "notes.part"]
    for path in strangers:
        path.write_bytes(b"")
    with Staging(tmp_path):
        assert not any(path.exists() for path in litter)
    assert all(path.exists() for path in strangers)


# -- 3. A full disk ------------------------------------------------------------------------------


def _rendered_earlier(tmp_path: Path, audio_format: str = "wav") -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    settings = RenderSettings(
        out_dir=out, audio_format=audio_format, voice=VoiceSettings(engine="espeak")
    )
    render(_script(tmp_path, "Hello there."), settings)
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def test_a_full_tmpfs_is_a_one_line_error_and_keeps_earlier_outputs(
    tools: None, tmp_path: Path
) -> None:
    """A tmpfs that holds the earlier outputs with 128 KiB to spare; the new WAV needs megabytes."""
    unshare = require_program("unshare")
    earlier, before = _rendered_earlier(tmp_path)
    page = 4096
    size = sum(-(-len(data) // page) * page for data in before.values()) + 128 * 1024
    mount_point, after = tmp_path / "small", tmp_path / "after"
    mount_point.mkdir()
    after.mkdir()
    (tmp_path / "new").mkdir()
    script = _script(tmp_path / "new", LONG)  # the same stem, much longer
    shell = (
        'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99\n'
        'cp -p "$3"/* "$2"/\n'
        '"$5" -m narrator render "$6" -o "$2" --engine espeak -q\n'
        "code=$?\n"
        'cp -a "$2"/. "$4"/\n'
        "exit $code\n"
    )
    result = subprocess.run(
        [
            unshare,
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            shell,
            "sh",
            str(size),
            str(mount_point),
            str(earlier),
            str(after),
            sys.executable,
            str(script),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 99, f"cannot mount a tmpfs with unshare: {result.stderr}"
    assert result.returncode == 8, result.stderr
    _assert_one_line(result.stderr, str(mount_point), "no space left on device", "free some space")
    assert {p.name: p.read_bytes() for p in after.iterdir()} == before


def _invoke_with_earlier(tmp_path: Path, *extra: str) -> tuple[Path, dict[str, bytes], int, str]:
    out, before = _rendered_earlier(tmp_path)
    result = runner.invoke(
        app,
        ["render", str(tmp_path / "talk.txt"), "-o", str(out), "--engine", "espeak", *extra],
    )
    return out, before, result.exit_code, result.stderr


def test_ffmpeg_finding_the_disk_full_is_a_disk_full_error(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ffmpeg 5 exits 0 when it cannot write its trailer; its message is what counts."""
    monkeypatch.setenv("PATH", _ffmpeg_shim(tmp_path, real_target=False))
    out, before, code, err = _invoke_with_earlier(tmp_path, "-f", "mp3")
    assert code == 8, err
    _assert_one_line(err, str(out), "no space left on device")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize(
    ("target", "number", "needle"),
    [
        ("pathlib.Path.write_text", errno.ENOSPC, "no space left on device"),
        ("wave.Wave_write.writeframesraw", errno.ENOSPC, "no space left on device"),
        ("wave.Wave_write.writeframesraw", errno.EDQUOT, "disk quota exceeded"),
        ("pathlib.Path.write_text", errno.EDQUOT, "disk quota exceeded"),
    ],
)
def test_a_full_disk_from_python_writes_is_a_disk_full_error(
    tools: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    number: int,
    needle: str,
) -> None:
    out, before = _rendered_earlier(tmp_path)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(target, full)
    result = runner.invoke(
        app, ["render", str(tmp_path / "talk.txt"), "-o", str(out), "--engine", "espeak"]
    )
    assert result.exit_code == 8, result.stderr
    _assert_one_line(result.stderr, str(out), needle, "choose another --out-dir")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# -- 4. A render replaces only what it writes; read-only outputs and folders in the way ----------

HEADINGS = "# Arrival\n\nThe fog came in.\n\n# Departure\n\nIt lifted on the twelfth day.\n"


def _settings(out: Path, audio_format: str) -> RenderSettings:
    return RenderSettings(
        out_dir=out, audio_format=audio_format, voice=VoiceSettings(engine="espeak")
    )


def test_a_render_removes_the_earlier_outputs_it_no_longer_writes(
    tools: None, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    script = _script(tmp_path, HEADINGS)
    first = render(script, _settings(out, "mp3"))
    assert first.chapter_list is not None and first.removed == ()
    (out / "talk.notes.txt").write_text("mine\n", encoding="utf-8")
    script.write_text("The fog came in.\n\nIt lifted on the twelfth day.\n", encoding="utf-8")
    second = render(script, _settings(out, "wav"))
    assert sorted(p.name for p in second.removed) == ["talk.chapters.txt", "talk.mp3"]
    assert sorted(p.name for p in out.iterdir()) == [
        "talk.ass",
        "talk.html",
        "talk.json",
        "talk.notes.txt",
        "talk.srt",
        "talk.vtt",
        "talk.wav",
    ]


def test_an_earlier_output_changed_since_or_read_only_is_kept(tools: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = _script(tmp_path, HEADINGS)
    render(script, _settings(out, "mp3"))
    chapters, mp3 = out / "talk.chapters.txt", out / "talk.mp3"
    later = (out / "talk.json").stat().st_mtime_ns + 1_000_000_000
    chapters.write_text("0:00 My own chapters\n", encoding="utf-8")
    os.utime(chapters, ns=(later, later))
    mp3.chmod(0o444)
    script.write_text("The fog came in.\n", encoding="utf-8")
    second = render(script, _settings(out, "wav"))
    assert second.removed == ()
    assert chapters.read_text(encoding="utf-8") == "0:00 My own chapters\n"
    assert mp3.exists()


def test_a_users_file_moved_in_with_an_old_date_is_kept(tools: None, tmp_path: Path) -> None:
    """mv, cp -p, rsync -t and unzip keep an old modification time: the change time
    still tells that the file arrived after the render that recorded its name."""
    out = tmp_path / "out"
    script = _script(tmp_path, HEADINGS)
    render(script, _settings(out, "mp3"))
    mine = tmp_path / "mine.mp3"
    mine.write_bytes(b"the user's own recording" * 100)
    os.utime(mine, ns=(0, 0))  # dated 1970, as an archive might restore it
    mine.replace(out / "talk.mp3")
    script.write_text("The fog came in.\n", encoding="utf-8")
    second = render(script, _settings(out, "wav"))
    assert (out / "talk.mp3").read_bytes() == b"the user's own recording" * 100
    assert out / "talk.mp3" not in second.removed


def test_a_manifest_cannot_point_a_removal_outside_its_outputs(tools: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = _script(tmp_path, "The fog came in.\n")
    render(script, _settings(out, "wav"))
    victims = [tmp_path / "victim.txt", out / "other.wav"]
    for victim in victims:
        victim.write_text("keep\n", encoding="utf-8")
    manifest = out / "talk.json"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(
        text.replace('"talk.vtt"', '"../victim.txt"').replace('"talk.html"', '"other.wav"'),
        encoding="utf-8",
    )
    os.utime(victims[0], ns=(0, 0))
    os.utime(victims[1], ns=(0, 0))
    result = render(script, _settings(out, "wav"))
    assert result.removed == ()
    assert all(victim.exists() for victim in victims)


def _no_synthesis(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        pytest.fail("the engine was opened before the outputs were checked")

    monkeypatch.setattr("narrator.engines.open_engine", refuse)


def test_a_read_only_output_is_refused_before_synthesis(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, before = _rendered_earlier(tmp_path)
    (out / "talk.srt").chmod(0o444)
    _no_synthesis(monkeypatch)
    result = runner.invoke(
        app, ["render", str(tmp_path / "talk.txt"), "-o", str(out), "--engine", "espeak"]
    )
    assert result.exit_code == ExitCode.OUTPUT
    _assert_one_line(
        result.stderr,
        f"{out / 'talk.srt'} is read-only",
        "chmod u+w",
        "choose another --out-dir",
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert (out / "talk.srt").stat().st_mode & 0o777 == 0o444


def test_a_folder_in_the_way_is_refused_before_synthesis(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    (out / "talk.wav").mkdir(parents=True)
    _no_synthesis(monkeypatch)
    result = runner.invoke(
        app, ["render", str(_script(tmp_path, "Hello.")), "-o", str(out), "--engine", "espeak"]
    )
    assert result.exit_code == ExitCode.OUTPUT
    _assert_one_line(result.stderr, "talk.wav is a folder", "move it away")
    assert sorted(p.name for p in out.iterdir()) == ["talk.wav"]


def test_an_output_folder_that_is_a_file_is_one_line(tools: None, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "some-file"
    not_a_folder.write_text("x\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["render", str(_script(tmp_path, "Hello.")), "-o", str(not_a_folder), "--engine", "espeak"],
    )
    assert result.exit_code == ExitCode.OUTPUT
    _assert_one_line(result.stderr, f"{not_a_folder} is a file", "choose another --out-dir")
    assert not_a_folder.read_text(encoding="utf-8") == "x\n"


def test_every_exit_code_is_in_the_readme_table() -> None:
    """Scripts branch on these numbers: each one the CLI can return is documented."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Errors") :]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    assert {int(code) for code in ExitCode if code not in (ExitCode.OK, ExitCode.INTERNAL)} <= (
        documented
    )


def test_a_full_temp_folder_under_pyttsx3_is_disk_full_at_once(tools: None, tmp_path: Path) -> None:
    """The pyttsx3 driver writes each clip into the system temp folder: when that is
    full, the render stops with exit 8 naming it, instead of retrying a silent driver."""
    unshare = require_program("unshare")
    mount_point, out = tmp_path / "tmp", tmp_path / "out"
    mount_point.mkdir()
    script = _script(tmp_path, "The fog came in over the harbour wall before dawn.\n")
    shell = (
        'mount -t tmpfs -o size=64k tmpfs "$1" || exit 99\n'
        'TMPDIR="$1" "$2" -m narrator render "$3" -o "$4" -q\n'
    )
    result = subprocess.run(
        [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", shell, "sh",
         str(mount_point), sys.executable, str(script), str(out)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode != 99, f"cannot mount a tmpfs with unshare: {result.stderr}"
    assert result.returncode == ExitCode.DISK_FULL, result.stderr
    _assert_one_line(result.stderr, str(mount_point), "no space left on device", "TMPDIR")
    assert not out.exists() or not any(out.iterdir())


def test_a_file_system_without_locks_still_renders(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some network and FUSE mounts answer flock with ENOLCK: render anyway, unlocked."""
    import errno
    import fcntl

    def no_locks(handle: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    out = tmp_path / "out"
    result = render(_script(tmp_path, "The fog came in.\n"), _settings(out, "wav"))
    assert result.audio.is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
