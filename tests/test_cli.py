"""The command line, in-process with Typer's CliRunner: exit codes, stdout and stderr apart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from narrator import __version__
from narrator.cli import app
from narrator.engines import ENGINES
from narrator.errors import ExitCode
from narrator.formats import AudioFormat
from narrator.stitch import FORMATS
from tests.conftest import SAMPLE

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("narrator: error: ")
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0]


def test_version() -> None:
    code, out, err = invoke("--version")
    assert (code, out, err) == (0, f"narrator {__version__}\n", "")


def _commands() -> list[list[str]]:
    """Every command path of the CLI, read from the app itself (groups included)."""
    import typer.main

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_the_help_test_sees_every_command() -> None:
    names = {" ".join(c) for c in _commands()}
    assert {"render", "check", "preview", "voices", "cache", "cache info", "cache clear"} <= names


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "narrator")
def test_every_command_has_help(command: list[str]) -> None:
    code, out, _ = invoke(*command, "--help")
    assert code == 0
    assert "Usage: narrator" in out
    if command and command != ["cache"]:  # a group: its commands have the examples
        assert "Example: narrator" in out
    if "--format" in out:
        assert all(f.value in out for f in AudioFormat), out
    if "--engine" in out:
        # The help names every engine the registry has (align: those with word times).
        timed = command == ["align"]
        names = [name for name, info in ENGINES.items() if info.word_timing or not timed]
        assert all(name in out for name in names), out


def test_every_format_has_its_encoder_arguments() -> None:
    assert set(FORMATS) == set(AudioFormat)


def test_python_dash_m_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "narrator", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout == f"narrator {__version__}\n"


def test_render_writes_outputs_and_a_summary(tools: None, tmp_path: Path) -> None:
    code, out, err = invoke("render", str(SAMPLE), "--out-dir", str(tmp_path), "--engine", "espeak")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sample.ass",
        "sample.html",
        "sample.json",
        "sample.srt",
        "sample.vtt",
        "sample.wav",
    ]
    assert "sample.wav" in out and "cues" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_quiet_prints_nothing(tools: None, tmp_path: Path) -> None:
    code, out, err = invoke(
        "render", str(SAMPLE), "-o", str(tmp_path), "--engine", "espeak", "--quiet"
    )
    assert (code, out, err) == (0, "", "")


def test_voices_lists_ids(tools: None) -> None:
    code, out, _ = invoke("voices", "--engine", "espeak")
    assert code == 0
    ids = [line.split("\t")[0] for line in out.splitlines()]
    assert "gmw/en-US" in ids


def _script(tmp_path: Path, text: str, name: str = "talk.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "extra", "code", "needles"),
    [
        (lambda d: d / "absent.txt", [], ExitCode.BAD_INPUT, ["absent.txt", "no such file"]),
        (lambda d: d, [], ExitCode.BAD_INPUT, ["is a directory"]),
        (lambda d: _script(d, ""), [], ExitCode.BAD_INPUT, ["talk.txt", "empty"]),
        (lambda d: _script(d, "\n  \n\t\n"), [], ExitCode.BAD_INPUT, ["empty"]),
        (
            lambda d: _script(d, "date 2020-01-02 click to enlarge\n"),
            [],
            ExitCode.BAD_INPUT,
            ["talk.txt", "every line was dropped", "image-caption"],
        ),
        (
            lambda d: _script(d, "Hello."),
            ["--voice", "xx-nope"],
            ExitCode.BAD_SETTING,
            ["unknown voice 'xx-nope'", "narrator voices"],
        ),
        (
            lambda d: _script(d, "Hello."),
            ["--voice", "en-gb+nosuch"],
            ExitCode.BAD_SETTING,
            ["unknown voice variant '+nosuch'"],
        ),
        (
            lambda d: _script(d, "Hello."),
            ["--engine", "nope"],
            ExitCode.BAD_SETTING,
            ["unknown engine 'nope'", "pyttsx3", "espeak"],
        ),
        (
            lambda d: _script(d, "Hello."),
            ["--format", "aiff"],
            ExitCode.BAD_SETTING,
            ["unknown format 'aiff'", "mp3"],
        ),
        (lambda d: _script(d, "Hello."), ["--rate", "5"], ExitCode.BAD_SETTING, ["--rate 5"]),
        (
            lambda d: _script(d, "Hello."),
            ["--sentence-pause", "-1"],
            ExitCode.BAD_SETTING,
            ["--sentence-pause"],
        ),
        (
            lambda d: d / "binary.txt",
            [],
            ExitCode.BAD_INPUT,
            ["binary.txt", "binary"],
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tools: None,
    tmp_path: Path,
    make: object,
    extra: list[str],
    code: int,
    needles: list[str],
) -> None:
    (tmp_path / "binary.txt").write_bytes(b"RIFF\x00\x00\x00\x00WAVE")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "talk.srt").write_text("an earlier render\n", encoding="utf-8")
    assert callable(make)
    script = make(tmp_path)
    exit_code, out, err = invoke(
        "render", str(script), "-o", str(out_dir), "--engine", "espeak", *extra
    )
    assert exit_code == code
    assert out == ""
    assert_one_line_error(err, *needles)
    # Nothing half-written, and what an earlier render produced is untouched.
    assert [p.name for p in out_dir.iterdir()] == ["talk.srt"]
    assert (out_dir / "talk.srt").read_text(encoding="utf-8") == "an earlier render\n"


def _run_with_empty_path(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI with a PATH on which no program (ffmpeg included) can be found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = dict(os.environ, PATH=str(bin_dir))
    command = [sys.executable, "-m", "narrator", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def test_missing_ffmpeg_is_reported(tools: None, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    result = _run_with_empty_path(
        tmp_path,
        "render",
        str(SAMPLE),
        "-o",
        str(out_dir),
        "-f",
        "mp3",
        "--engine",
        "espeak",
    )
    assert result.returncode == ExitCode.MISSING_TOOL
    assert_one_line_error(result.stderr, "ffmpeg not found", "apt-get install ffmpeg")
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_missing_espeak_library_is_reported(tmp_path: Path) -> None:
    """With the library made unloadable, both engines say how to install it."""
    for engine in ("espeak", "pyttsx3"):
        code = (
            "import ctypes, sys\n"
            "real = ctypes.CDLL\n"
            "def fake(name, *a, **k):\n"
            "    if 'espeak' in str(name): raise OSError('not found')\n"
            "    return real(name, *a, **k)\n"
            "ctypes.CDLL = fake\n"
            "from narrator.cli import main\n"
            f"sys.argv = ['narrator', 'render', {str(SAMPLE)!r}, '-o', {str(tmp_path)!r}, "
            f"'--engine', {engine!r}]\n"
            "main()\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
        assert result.returncode == ExitCode.MISSING_TOOL, result.stderr
        assert_one_line_error(result.stderr, "libespeak-ng", "apt-get install libespeak-ng1")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_the_way_of_an_output_is_one_line_and_changes_nothing(
    tools: None, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    (out_dir / "sample.json").mkdir(parents=True)
    (out_dir / "sample.srt").write_text("an earlier render\n", encoding="utf-8")
    code, _, err = invoke("render", str(SAMPLE), "-o", str(out_dir), "--engine", "espeak")
    assert code == ExitCode.OUTPUT
    assert_one_line_error(err, "sample.json", "is a folder")
    assert sorted(p.name for p in out_dir.iterdir()) == ["sample.json", "sample.srt"]
    assert (out_dir / "sample.srt").read_text(encoding="utf-8") == "an earlier render\n"


def test_a_failed_render_leaves_no_new_empty_folder(tools: None, tmp_path: Path) -> None:
    code, _, err = invoke("render", str(SAMPLE), "-o", str(tmp_path / "new"), "--voice", "xx-nope")
    assert code == ExitCode.BAD_SETTING, err
    assert not (tmp_path / "new").exists()


def test_unknown_encoding_is_a_setting_error(tmp_path: Path) -> None:
    code, _, err = invoke("render", str(SAMPLE), "-o", str(tmp_path), "--encoding", "bogus")
    assert code == ExitCode.BAD_SETTING
    assert_one_line_error(err, "unknown encoding 'bogus'")


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """The console entry point, in-process: exit code (stdout and stderr go to capsys)."""
    from narrator.cli import main

    monkeypatch.setattr(sys, "argv", ["narrator", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ["render", "--rat", "5", "talk.txt"],
            ["no such option '--rat' (did you mean", "'--rate'", "see 'narrator render --help'"],
        ),
        (["render"], ["missing argument 'script'", "see 'narrator render --help'"]),
        (
            ["render", "talk.txt", "--rate", "fast"],
            ["invalid value for '--rate'", "integer", "see 'narrator render --help'"],
        ),
        (["bogus"], ["no such command 'bogus'", "see 'narrator --help'"]),
        (["render", "talk.txt", "--engine"], ["option '--engine' requires an argument"]),
    ],
)
def test_a_usage_error_is_one_line_with_the_hint(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needles: list[str],
) -> None:
    code = run_main(monkeypatch, *args)
    out, err = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert out == ""
    assert "Usage:" not in err
    assert_one_line_error(err, *needles)


def test_main_keeps_help_version_and_bare_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "--version") == 0
    assert capsys.readouterr().out == f"narrator {__version__}\n"
    assert run_main(monkeypatch, "render", "--help") == 0
    assert "Example: narrator render" in capsys.readouterr().out
    assert run_main(monkeypatch) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert "Commands:" in out + err


def test_a_script_named_with_a_dash_is_read_after_double_dash(
    tools: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-intro.txt").write_text("Hello there.\n", encoding="utf-8")
    assert run_main(monkeypatch, "render", "-intro.txt") == ExitCode.USAGE
    assert_one_line_error(capsys.readouterr().err, "'-intro.txt'", "put '--' before it")
    code = run_main(
        monkeypatch, "render", "--engine", "espeak", "-o", "out", "-q", "--", "-intro.txt"
    )
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "-intro.wav").is_file()
