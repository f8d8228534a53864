"""Shared fixtures: real tools (never skipped), the bundled sample, and rendered outputs."""

from __future__ import annotations

import ctypes
import shutil
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from narrator.engines import VoiceSettings
from narrator.render import RenderResult, RenderSettings, render

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "narrator" / "samples" / "sample.txt"
SEED = ROOT.parent / "shared" / "seed-script.txt"
INSTALL = "run scripts/setup.sh, or: sudo apt-get install -y libespeak-ng1 espeak-ng ffmpeg"


def require_program(name: str) -> str:
    """Path of a program the tests need; fails (never skips) with how to install it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {INSTALL}", pytrace=False)
    return found


@pytest.fixture(autouse=True)
def own_clip_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets an empty clip cache of its own, never the user's (CLI and subprocesses)."""
    folder = tmp_path_factory.mktemp("clips")
    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(folder))
    monkeypatch.delenv("NARRATOR_CACHE_LIMIT", raising=False)
    return folder


@pytest.fixture(scope="session")
def tools() -> None:
    """The real engine library and ffmpeg must be present."""
    for program in ("espeak-ng", "ffmpeg", "ffprobe"):
        require_program(program)
    try:
        ctypes.CDLL("libespeak-ng.so.1")
    except OSError:
        pytest.fail(f"libespeak-ng.so.1 is missing: {INSTALL}", pytrace=False)


@pytest.fixture(scope="session")
def seed() -> Path:
    """The real pasted script from shared/; a missing file is a setup error, not a skip."""
    if not SEED.is_file():
        pytest.fail(f"{SEED} is missing: the tests need the shared seed script", pytrace=False)
    return SEED


Renderer = Callable[..., RenderResult]


@pytest.fixture(scope="session")
def rendered(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    """Render a script once per (script, engine, format) for the whole session."""
    cache: dict[tuple[Path, str, str], RenderResult] = {}

    def run(script: Path, engine: str = "espeak", audio_format: str = "wav") -> RenderResult:
        key = (script, engine, audio_format)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{script.stem}-{engine}-{audio_format}")
            settings = RenderSettings(
                out_dir=out, audio_format=audio_format, voice=VoiceSettings(engine=engine)
            )
            cache[key] = render(script, settings)
        return cache[key]

    return run


def read_pcm(path: Path) -> tuple[bytes, int]:
    """Mono 16-bit samples and rate of a WAV file."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        return wav.readframes(wav.getnframes()), wav.getframerate()
