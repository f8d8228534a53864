"""Cue times against the real audio: every cue after a pause starts at the speech onset."""

from __future__ import annotations

import audioop
from pathlib import Path

import pytest

from narrator.cues import GAP_MS
from narrator.render import RenderResult
from tests.conftest import SAMPLE, Renderer, read_pcm

WINDOW_MS = 5
# Peak below which a 5 ms window counts as silence (about -50 dBFS); eSpeak's silence is
# digital zero, and a breathy onset such as "He" starts far below normal speech level.
QUIET = 100
# A cue "follows a pause" when this much silence comes right before its start.
PAUSE_MS = 120
TOLERANCE_MS = 40


def loud_windows(pcm: bytes, rate: int) -> list[bool]:
    """For each 5 ms window: does it hold speech? An independent, simple energy detector."""
    step = rate * WINDOW_MS // 1000
    return [
        audioop.max(pcm[2 * s : 2 * (s + step)], 2) >= QUIET for s in range(0, len(pcm) // 2, step)
    ]


def onsets(loud: list[bool]) -> list[int]:
    """Window indexes where speech starts after at least PAUSE_MS of silence (or at 0)."""
    quiet_run = PAUSE_MS // WINDOW_MS
    found, silent = [], quiet_run
    for k, is_loud in enumerate(loud):
        if is_loud and silent >= quiet_run:
            found.append(k)
        silent = 0 if is_loud else silent + 1
    return found


def check_onsets(result: RenderResult) -> int:
    pcm, rate = read_pcm(result.audio)
    loud = loud_windows(pcm, rate)
    step = rate * WINDOW_MS // 1000  # whole samples: a window is not exactly 5 ms
    starts = [k * step * 1000 / rate for k in onsets(loud)]
    checked = 0
    for cue in result.cues:
        start_ms = cue.start * 1000 / rate
        window = cue.start // step
        before = loud[max(0, window - PAUSE_MS // WINDOW_MS) : window]
        if any(before):
            continue  # mid-speech cue: no pause before it
        nearest = min(starts, key=lambda s: abs(s - start_ms))
        assert abs(nearest - start_ms) <= TOLERANCE_MS, (
            f"cue {cue.index} {cue.text!r} starts at {start_ms:.0f} ms, speech at {nearest} ms"
        )
        checked += 1
    # Every detected onset after a pause belongs to a cue that starts with it.
    cue_starts = [c.start * 1000 / rate for c in result.cues]
    for onset in starts:
        assert min(abs(onset - s) for s in cue_starts) <= TOLERANCE_MS or _inside_speech_cue(
            onset, result, rate
        ), f"speech at {onset} ms has no cue starting there"
    return checked


def check_speech_is_subtitled(result: RenderResult) -> None:
    """No speech is heard while no cue is on screen (5 ms windows, the guard aside)."""
    pcm, rate = read_pcm(result.audio)
    step = rate * WINDOW_MS // 1000
    shown = sorted((c.start, c.end) for c in result.cues)
    k = 0
    for window, is_loud in enumerate(loud_windows(pcm, rate)):
        if not is_loud:
            continue
        start = window * step
        while k < len(shown) and shown[k][1] <= start:
            k += 1
        # A window that touches a cue counts: cues start within the onset tolerance. The
        # gap between two cues (GAP_MS, as subtitlers require) may fall on the last
        # sound of the one before: the first cue ends early, the next never starts late.
        near = [
            c
            for c in shown[max(0, k - 1) : k + 2]
            if c[0] - (TOLERANCE_MS + GAP_MS) * rate // 1000 <= start + step and start < c[1]
        ]
        assert near, f"speech at {start * 1000 / rate:.0f} ms with no cue on screen"


def _inside_speech_cue(onset_ms: float, result: RenderResult, rate: int) -> bool:
    """An onset after a short pause inside one cue's own speech (a comma) needs no cue."""
    for paragraph in result.paragraphs:
        for sentence in paragraph.sentences:
            for cue in sentence.cues:
                if cue.start * 1000 / rate < onset_ms < sentence.end * 1000 / rate and (
                    cue.end * 1000 / rate > onset_ms
                ):
                    return True
    return False


@pytest.mark.parametrize("engine", ["espeak", "pyttsx3", "piper"])
@pytest.mark.parametrize("which", ["sample", "seed"])
def test_cues_after_pauses_start_at_speech_onsets(
    rendered: Renderer, seed: Path, engine: str, which: str
) -> None:
    result = rendered(SAMPLE if which == "sample" else seed, engine)
    check_speech_is_subtitled(result)
    sentences = sum(len(p.sentences) for p in result.paragraphs)
    # At least every sentence start follows a pause, so at least that many cues are checked.
    assert check_onsets(result) >= sentences


@pytest.mark.parametrize("engine", ["espeak", "piper"])
def test_no_drift_over_a_long_script(rendered: Renderer, tmp_path: Path, engine: str) -> None:
    """Forty paragraphs: the last cue still starts at its onset (times come from samples)."""
    text = "\n\n".join(
        f"Paragraph {n} begins here. It has a second sentence, with a comma, and it ends."
        for n in range(1, 41)
    )
    script = tmp_path / "long.txt"
    script.write_text(text, encoding="utf-8")
    result = rendered(script, engine)
    check_speech_is_subtitled(result)
    assert check_onsets(result) >= 80
    # The cue texts join back to what was written.
    for paragraph in result.paragraphs:
        for sentence in paragraph.sentences:
            assert " ".join(c.text for c in sentence.cues) == " ".join(sentence.text.split())
