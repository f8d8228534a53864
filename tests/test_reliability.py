"""A corpus of hostile and odd inputs and environments, each run through the real CLI.

Every row states the exit code and a fragment of what the user is told, and is
checked for the same promises: a failure is one `narrator: error:` line, no
traceback, nothing half-written left in the output folder, and an earlier
render's files untouched. Rows that need a process of their own (environment,
locale, signals, a full disk, concurrency) run `python -m narrator`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from narrator.cli import app
from narrator.errors import ExitCode
from tests.conftest import ROOT

runner = CliRunner()

NARRATION = "The ferry left the harbour at nine. It came back at noon with the post.\n"
EARLIER = "an earlier render\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
    b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01"
)


def utf16_le(text: str) -> bytes:
    return text.encode("utf-16-le")


def _huge_line() -> bytes:
    sentences = [
        f"Wave {n} broke against the harbour wall and the spray rose over the quay."
        for n in range(1, 121)
    ]
    return (" ".join(sentences) + "\n").encode()


def _many_paragraphs() -> bytes:
    return "\n\n".join(f"Paragraph {n} is short." for n in range(5000)).encode() + b"\n"


@dataclass(frozen=True)
class Case:
    """One hostile input or environment and what narrator must answer."""

    name: str
    script: bytes | None  # written to talk.txt; None: no file is written
    code: int
    said: str  # a fragment of stderr on failure, of stdout on success
    args: tuple[str, ...] = ()  # after 'render SCRIPT -o OUT'; {script}/{out} are replaced
    command: tuple[str, ...] = ("render", "{script}", "-o", "{out}")
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset
    stdin: bytes | None = None
    prepare: Callable[[Path], None] | None = None  # given the case's folder
    process: bool = False  # run the real CLI in a process of its own
    #: Checks on the files written when the render succeeded.
    check: Callable[[Path], None] | None = None


INVISIBLE = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


def _no_controls(out: Path) -> None:
    for path in out.iterdir():
        if path.suffix in {".srt", ".vtt", ".html", ".json", ".txt"}:
            text = path.read_text(encoding="utf-8")
            bad = [c for c in text if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0]
            bad += [c for c in text if c in INVISIBLE]
            assert not bad, (path.name, bad)


def _says(*words: str, stem: str = "talk") -> Callable[[Path], None]:
    def check(out: Path) -> None:
        srt = (out / f"{stem}.srt").read_text(encoding="utf-8")
        for word in words:
            assert word in srt, (word, srt)

    return check


def _output_is_a_file(folder: Path) -> None:
    (folder / "out" / "talk.srt").unlink()
    (folder / "out").rmdir()
    (folder / "out").write_text("not a folder\n", encoding="utf-8")


def _read_only_output(folder: Path) -> None:
    (folder / "out" / "talk.srt").chmod(0o444)


def _folder_in_the_way(folder: Path) -> None:
    (folder / "out" / "talk.json").mkdir()


def _broken_config(folder: Path) -> None:
    (folder / "narrator.toml").write_text("[render\nrate = 150\n", encoding="utf-8")


def _script_is_a_folder(folder: Path) -> None:
    (folder / "talk.txt").mkdir()


CASES = [
    Case("empty file", b"", ExitCode.BAD_INPUT, "empty"),
    Case("blank lines only", b"\n \n\t\n", ExitCode.BAD_INPUT, "empty"),
    Case("binary", b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00", ExitCode.BAD_INPUT, "binary"),
    Case("png renamed to .txt", PNG, ExitCode.BAD_INPUT, "binary"),
    Case("no such file", None, ExitCode.BAD_INPUT, "no such file"),
    Case("script is a folder", None, ExitCode.BAD_INPUT, "is a directory",
         prepare=_script_is_a_folder),
    Case("huge single line", _huge_line(), ExitCode.OK, "cues", args=("--engine", "espeak")),
    Case("one 100,000-character word", b"A" * 100_000 + b"\n", ExitCode.BAD_INPUT, "dropped"),
    Case("5,000 paragraphs", _many_paragraphs(), ExitCode.OK, "5000 paragraphs",
         command=("check", "{script}")),
    Case("emoji only", "🎬🎥✨ 🙂\n".encode(), ExitCode.BAD_INPUT, "dropped"),
    Case("only web noise", b"Share on Facebook\nPrint this page\n", ExitCode.BAD_INPUT,
         "every line was dropped"),
    Case("control, zero-width and bidi characters",
         "The fer\u200bry\x07 left at \u202enine\u202c.\x00 It came\u2066 back.\x1b\n".encode(),
         ExitCode.OK, "cues", args=("--engine", "espeak"), check=_no_controls),
    Case("NUL bytes forced in with --encoding", utf16_le(NARRATION), ExitCode.OK, "cues",
         args=("--engine", "espeak", "--encoding", "latin-1"), check=_no_controls),
    Case("UTF-16 without a byte-order mark", utf16_le(NARRATION), ExitCode.OK, "cues",
         args=("--engine", "espeak"), check=_says("ferry", "harbour")),
    Case("UTF-16 with a byte-order mark", "\ufeff".encode("utf-16-le") + utf16_le(NARRATION),
         ExitCode.OK, "cues", args=("--engine", "espeak"), check=_says("ferry")),
    Case("legacy cp1252", "The café’s owner said “no”.\n".encode("cp1252"), ExitCode.OK,
         "1 cue", args=("--engine", "espeak"), check=_says("café’s", "“no”")),
    Case("unclosed comment", b"First line.\n<!-- draft note\nSecond line.\n",
         ExitCode.BAD_INPUT, "talk.txt: line 2: '<!--' is never closed"),
    Case("unknown voice", NARRATION.encode(), ExitCode.BAD_SETTING, "unknown voice 'xx-nope'",
         args=("--engine", "espeak", "--voice", "xx-nope")),
    Case("rate out of range", NARRATION.encode(), ExitCode.BAD_SETTING, "--rate 5",
         args=("--rate", "5")),
    Case("rate not a number", NARRATION.encode(), ExitCode.USAGE, "--rate",
         args=("--rate", "fast"), process=True),
    Case("unknown option", NARRATION.encode(), ExitCode.USAGE, "no such option '--rat'",
         args=("--rat", "150"), process=True),
    Case("rate faster than the Piper voice can speak", NARRATION.encode(), ExitCode.BAD_SETTING,
         "faster than the Piper voice", args=("--engine", "piper", "--rate", "450")),
    Case("unknown engine", NARRATION.encode(), ExitCode.BAD_SETTING, "unknown engine",
         args=("--engine", "festival")),
    Case("unknown format", NARRATION.encode(), ExitCode.BAD_SETTING, "unknown format",
         args=("--format", "aiff")),
    Case("unknown encoding", NARRATION.encode(), ExitCode.BAD_SETTING, "unknown encoding",
         args=("--encoding", "klingon")),
    Case("broken narrator.toml", NARRATION.encode(), ExitCode.BAD_SETTING, "narrator.toml",
         prepare=_broken_config),
    Case("output folder is a file", NARRATION.encode(), ExitCode.OUTPUT, "out",
         args=("--engine", "espeak"), prepare=_output_is_a_file),
    Case("an output name is taken by a folder", NARRATION.encode(), ExitCode.OUTPUT,
         "is a folder", args=("--engine", "espeak"), prepare=_folder_in_the_way),
    Case("read-only earlier output", NARRATION.encode(), ExitCode.OUTPUT, "read-only",
         args=("--engine", "espeak"), prepare=_read_only_output),
    Case("the script is one of its own outputs", None, ExitCode.OUTPUT,
         "talk.srt is the script itself", command=("render", "{out}/talk.srt", "-o", "{out}")),
    Case("script from standard input", None, ExitCode.OK, "stdin.srt",
         command=("render", "-", "-o", "{out}", "--engine", "espeak"),
         stdin=NARRATION.encode(), check=_says("ferry", stem="stdin")),
    Case("standard input with --name", None, ExitCode.OK, "ferry.srt",
         command=("render", "-", "--name", "ferry", "-o", "{out}", "--engine", "espeak"),
         stdin=NARRATION.encode()),
    Case("check from standard input, one of everything", None, ExitCode.OK,
         "<stdin>: 1 paragraph, 1 sentence, 1 cue,", command=("check", "-"), stdin=b"Hello.\n"),
    Case("preview from standard input", None, ExitCode.OK, "Hello there.",
         command=("preview", "-", "-o", "{out}"), stdin=b"Hello there.\n"),
    Case("empty standard input", None, ExitCode.BAD_INPUT, "empty",
         command=("render", "-", "-o", "{out}"), stdin=b""),
    Case("script name starting with a dash", None, ExitCode.OK, "-intro.srt",
         command=("render", "-o", "{out}", "--engine", "espeak", "--", "{folder}/-intro.txt"),
         prepare=lambda folder: (folder / "-intro.txt").write_text(NARRATION, encoding="utf-8")),
    Case("HOME unset", NARRATION.encode(), ExitCode.OK, "cues", env={"HOME": None},
         process=True),
    Case("HOME unset, pyttsx3", NARRATION.encode(), ExitCode.OK, "cues",
         env={"HOME": None, "XDG_RUNTIME_DIR": None}, process=True),
    Case("LC_ALL=C with accented text", "Déjà vu at the café. Naïve, but true.\n".encode(),
         ExitCode.OK, "cues", args=("--engine", "espeak"),
         env={"LC_ALL": "C", "LANG": None, "PYTHONIOENCODING": None, "PYTHONUTF8": None},
         process=True, check=_says("Déjà vu", "café")),
    Case("missing ffmpeg for mp3", NARRATION.encode(), ExitCode.MISSING_TOOL, "ffmpeg not found",
         args=("--engine", "espeak", "-f", "mp3"), env={"PATH": "{folder}/empty-bin"},
         prepare=lambda folder: (folder / "empty-bin").mkdir(), process=True),
]


def _fill(value: str, folder: Path) -> str:
    return value.format(script=folder / "talk.txt", out=folder / "out", folder=folder)


def _run(case: Case, folder: Path) -> tuple[int, str, str]:
    args = [_fill(a, folder) for a in (*case.command, *case.args)]
    if not case.process:
        result = runner.invoke(app, args, input=case.stdin, env=case.env)
        return result.exit_code, result.stdout, result.stderr
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = _fill(value, folder)
    done = subprocess.run(
        [sys.executable, "-m", "narrator", *args],
        input=case.stdin or b"",
        capture_output=True,
        env=env,
        cwd=folder,
        check=False,
        timeout=120,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def assert_one_line_error(stderr: str, fragment: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("narrator: error: "), stderr
    assert fragment in lines[0], stderr
    assert "Traceback" not in stderr


def assert_no_litter(folder: Path) -> None:
    """No staged, scratch or hidden file anywhere under the case's folder."""
    litter = [p for p in folder.rglob(".*") if p.is_file()]
    assert not litter, litter


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(tools: None, tmp_path: Path, case: Case) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "talk.srt").write_text(EARLIER, encoding="utf-8")
    if case.script is not None:
        (tmp_path / "talk.txt").write_bytes(case.script)
    if case.prepare is not None:
        case.prepare(tmp_path)

    code, stdout, stderr = _run(case, tmp_path)

    assert code == case.code, (stdout, stderr)
    if code == ExitCode.OK:
        assert case.said in stdout, stdout
        assert "Traceback" not in stderr
        if case.check is not None:
            case.check(out)
    else:
        assert_one_line_error(stderr, case.said)
        if out.is_dir():
            # Nothing new and nothing half-written; the earlier render is untouched.
            assert sorted(p.name for p in out.iterdir() if p.name != "talk.json") == ["talk.srt"]
            srt = out / "talk.srt"
            assert srt.read_text(encoding="utf-8") == EARLIER
    assert_no_litter(tmp_path)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_two_renders_into_one_folder_at_once(tools: None, tmp_path: Path) -> None:
    """Two processes render the same script into one folder: both succeed, and the
    files left are one render's complete, consistent set."""
    script = tmp_path / "talk.txt"
    script.write_text(NARRATION * 6, encoding="utf-8")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "narrator", "render", str(script), "-o", str(out),
             "--engine", engine, "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        for engine in ("espeak", "pyttsx3")
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    import json
    import wave

    manifest = json.loads((out / "talk.json").read_text(encoding="utf-8"))
    with wave.open(str(out / "talk.wav"), "rb") as wav:
        assert wav.getnframes() == manifest["audio"]["samples"]
    srt = (out / "talk.srt").read_text(encoding="utf-8")
    assert srt.count(" --> ") == manifest["subtitles"]["cues"]
    assert_no_litter(tmp_path)


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_render_is_one_line_and_leaves_nothing(
    tools: None, tmp_path: Path, sent: signal.Signals
) -> None:
    script = tmp_path / "talk.txt"
    script.write_text(NARRATION * 200, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "talk.srt").write_text(EARLIER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.Popen(
        [sys.executable, "-m", "narrator", "render", str(script), "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    # Wait until synthesis has begun: the staged WAV exists.
    deadline = time.monotonic() + 60
    while not list(out.glob(".talk.wav.*")) and time.monotonic() < deadline:
        assert run.poll() is None, run.communicate()
        time.sleep(0.02)
    run.send_signal(sent)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 128 + sent, err.decode()
    assert_one_line_error(err.decode(), "narrator: error: ")
    assert sorted(p.name for p in out.iterdir()) == ["talk.srt"]
    assert (out / "talk.srt").read_text(encoding="utf-8") == EARLIER


def test_a_render_waits_for_another_runs_commit_into_the_same_folder(
    tools: None, tmp_path: Path
) -> None:
    """Renames into a folder are serialised by a lock on the folder itself, so two
    renders of one script can never leave a mix of both."""
    import fcntl

    script = tmp_path / "talk.txt"
    script.write_text(NARRATION, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    held = os.open(out, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # as another run's commit would
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.Popen(
        [sys.executable, "-m", "narrator", "render", str(script), "-o", str(out),
         "--engine", "espeak", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(".talk.json.*.part")) and time.monotonic() < deadline:
            assert run.poll() is None, run.communicate()
            time.sleep(0.02)
        time.sleep(0.3)  # time to rename, if it did not wait
        assert run.poll() is None
        assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == []
    finally:
        os.close(held)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 0, err.decode()
    assert {p.name for p in out.iterdir()} == {
        f"talk.{ext}" for ext in ("wav", "srt", "vtt", "ass", "html", "json")
    }
