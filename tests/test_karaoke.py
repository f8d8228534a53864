"""Word by word: word times in cues and the manifest, karaoke ASS, and the waveform."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import wave
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.ass import compose_ass, escape, karaoke_durations
from narrator.cues import FRAME_RATES, Frames, SpokenSpan, display_windows, fit_words
from narrator.manifest import Outputs, build_manifest, read_timeline
from narrator.render import RenderSettings, render
from narrator.segment import CueLimits
from narrator.synth import LEAD_GUARD_MS, SpokenSentence, speech_bounds
from narrator.synthesis import CACHE_FORMAT, pack, unpack
from narrator.timeline import Cue, Timeline, Word
from narrator.waveform import SCALE, measure_waveform
from tests.conftest import SAMPLE, Renderer, read_pcm, require_program
from tests.test_cues import RATE, timeline_of

_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz’,.é", min_size=1, max_size=10)
_DIALOGUE = re.compile(r"^Dialogue: 0,(\d+):(\d\d):(\d\d)\.(\d\d),(\d+):(\d\d):(\d\d)\.(\d\d),")


@st.composite
def worded_spans(draw: st.DrawFn) -> tuple[list[SpokenSpan], int]:
    """Sorted spans with contiguous, strictly increasing words, and the programme length."""
    spans: list[SpokenSpan] = []
    at = draw(st.integers(min_value=0, max_value=RATE))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        texts = draw(st.lists(_WORD, min_size=1, max_size=12))
        steps = draw(st.lists(st.integers(min_value=1, max_value=RATE // 2), min_size=len(texts)))
        starts = [at]
        for step in steps[: len(texts) - 1]:
            starts.append(starts[-1] + step)
        speech_end = starts[-1] + steps[-1]
        ends = [*starts[1:], speech_end]
        words = tuple(Word(t, a, b) for t, a, b in zip(texts, starts, ends, strict=True))
        spans.append(SpokenSpan(" ".join(texts), at, speech_end, words))
        at = speech_end + draw(st.integers(min_value=0, max_value=RATE))
    return spans, at + draw(st.integers(min_value=0, max_value=2 * RATE))


def assert_words_fit(cue: Cue) -> None:
    """A cue's words: strictly increasing, contiguous, inside its window, its text."""
    assert cue.words, "a cue of an engine with word timing has words"
    assert " ".join(w.text for w in cue.words) == cue.text
    for word in cue.words:
        assert cue.start <= word.start < word.end <= cue.end, (cue, word)
    for before, after in itertools.pairwise(cue.words):
        assert before.end == after.start


@settings(max_examples=200, deadline=None)
@given(
    programme=worded_spans(),
    fps=st.sampled_from([None, *FRAME_RATES]),
    gap=st.integers(min_value=0, max_value=4),
)
def test_words_stay_inside_their_cue_on_any_frame_grid(
    programme: tuple[list[SpokenSpan], int], fps: str | None, gap: int
) -> None:
    spans, total = programme
    frames = Frames(FRAME_RATES[fps], gap) if fps is not None else None
    cues = display_windows(spans, total, RATE, CueLimits(), frames)
    for span, cue in zip(spans, cues, strict=True):
        assert_words_fit(cue)
        if frames is None:
            # Off the grid a cue's words start where the span's do; those the gap to
            # the next cue cuts off are merged into the last one left.
            starts = [w.start for w in cue.words]
            assert starts == [w.start for w in span.words][: len(starts)]
            assert cue.words[-1].end == min(span.words[-1].end, cue.end)


def test_a_word_the_window_cuts_off_joins_the_word_before() -> None:
    words = [Word("one", 0, 100), Word("two", 100, 200), Word("three", 200, 300)]
    assert fit_words(words, 0, 150) == (Word("one", 0, 100), Word("two three", 100, 150))
    assert fit_words(words, 120, 400) == (Word("one two", 120, 200), Word("three", 200, 300))
    assert fit_words([], 0, 10) == ()


@settings(max_examples=200, deadline=None)
@given(programme=worded_spans(), fps=st.sampled_from([None, "25", "29.97"]))
def test_karaoke_adds_up_to_each_cue_and_turns_within_10_ms(
    programme: tuple[list[SpokenSpan], int], fps: str | None
) -> None:
    spans, total = programme
    frames = Frames(FRAME_RATES[fps]) if fps is not None else None
    cues = display_windows(spans, total, RATE, CueLimits(), frames)
    dialogues = [
        line for line in compose_ass(timeline_of(cues, total)).splitlines()
        if line.startswith("Dialogue:")
    ]  # fmt: skip
    assert len(dialogues) == len(cues)
    for cue, line in zip(cues, dialogues, strict=True):
        found = _DIALOGUE.match(line)
        assert found is not None, line
        h1, m1, s1, c1, h2, m2, s2, c2 = (int(g) for g in found.groups())
        start = ((h1 * 60 + m1) * 60 + s1) * 100 + c1
        end = ((h2 * 60 + m2) * 60 + s2) * 100 + c2
        syllables = re.findall(r"\{\\k(\d+)\}([^{]*)", line.split(",,", 1)[1])
        durations = [int(d) for d, _ in syllables]
        assert sum(durations) == end - start == sum(karaoke_durations(cue, RATE))
        assert abs(start / 100 - cue.start / RATE) <= 0.005
        texts = [t for _, t in syllables]
        if texts[0] == "":  # a silent lead-in before the first word
            assert cue.words[0].start > cue.start
            lead, *durations = durations
            texts = texts[1:]
        else:
            lead = 0
        assert len(texts) == len(cue.words)
        turn = start + lead
        for word, duration in zip(cue.words, durations, strict=True):
            assert abs(turn / 100 - word.start / RATE) <= 0.010, (word, turn)
            turn += duration


def test_ass_breaks_lines_and_escapes_tags() -> None:
    half = RATE // 2
    words = (Word("a{b}", 2 * half, 3 * half), Word("c\\N", 3 * half, 4 * half))
    words += (Word("d", 4 * half, 6 * half),)
    cue = Cue(1, "a{b} c\\N d", half, 6 * half, ("a{b} c\\N", "d"), words)
    line = compose_ass(timeline_of((cue,), 4 * RATE)).splitlines()[-1]
    # The cue opens half a second before its first word: a silent lead-in. The word
    # joiner after the backslash keeps "\N" from being read as a line break.
    assert line.endswith(",,{\\k50}{\\k50}a\\{b\\} {\\k50}c\\\u2060N\\N{\\k100}d")
    assert escape("{\\k10}") == "\\{\\\u2060k10\\}"


def test_words_round_trip_through_the_manifest() -> None:
    words = (Word("One", RATE, RATE + 4410), Word("two.", RATE + 4410, 2 * RATE))
    cue = Cue(1, "One two.", RATE, 3 * RATE, ("One two.",), words)
    outputs = Outputs("t.wav", "wav", RATE, "t.srt", "t.vtt", "t.html", karaoke="t.ass")
    data = json.loads(json.dumps(build_manifest(timeline_of((cue,), 4 * RATE), outputs)))
    record = data["paragraphs"][0]["sentences"][0]["cues"][0]
    assert record["words"] == [
        {"text": "One", "start": 1.0, "end": 1.2},
        {"text": "two.", "start": 1.2, "end": 2.0},
    ]
    assert data["subtitles"]["karaoke"] == "t.ass"
    assert read_timeline(data).cues[0].words == words
    wordless = Cue(1, "One two.", RATE, 3 * RATE)
    data = build_manifest(timeline_of((wordless,), 4 * RATE), outputs)
    assert "words" not in data["paragraphs"][0]["sentences"][0]["cues"][0]


def test_the_clip_cache_keeps_words_and_refuses_older_entries() -> None:
    words = (Word("Hello", 0, 100), Word("there.", 100, 300))
    spoken = SpokenSentence(b"\1\0" * 300, (SpokenSpan("Hello there.", 0, 300, words),), "x")
    assert unpack(pack(spoken, RATE)) == (spoken, RATE)
    assert CACHE_FORMAT != "sentence-1"
    # An entry of the layout before words: never read back as a sentence without them.
    header = json.dumps({"rate": RATE, "spoken": "x", "spans": [["Hello there.", 0, 300]]})
    old = len(header).to_bytes(4, "little") + header.encode() + spoken.pcm
    with pytest.raises(ValueError):
        unpack(old)


@pytest.mark.parametrize("engine", ["espeak", "piper"])
def test_rendered_words_are_heard_where_the_cues_say(rendered: Renderer, engine: str) -> None:
    result = rendered(SAMPLE, engine)
    pcm, rate = read_pcm(result.audio)
    guard = LEAD_GUARD_MS * rate // 1000
    for sentence in result.timeline.sentences:
        for cue in sentence.cues:
            assert_words_fit(cue)
            for word in cue.words:
                if word.start == sentence.start:
                    continue
                # Each word starts at its speech onset (less the guard), not before.
                heard = speech_bounds(pcm[2 * word.start : 2 * word.end], rate)
                assert heard is not None, word
                assert heard[0] <= guard + rate // 1000, (word, heard)
    words = sum(len(c.words) for c in result.cues)
    assert words > 2 * len(result.cues)
    # The manifest lists the words; read back they are the Timeline's, to the ms.
    data = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert data["subtitles"]["karaoke"] == f"{SAMPLE.stem}.ass"
    again = read_timeline(data)
    for cue, back in zip(result.cues, again.cues, strict=True):
        assert [w.text for w in back.words] == [w.text for w in cue.words]
        for word, read in zip(cue.words, back.words, strict=True):
            assert abs(read.start - word.start) <= rate // 1000


def test_ffmpeg_reads_the_karaoke_and_libass_draws_it(rendered: Renderer) -> None:
    result = rendered(SAMPLE, "espeak")
    assert result.karaoke is not None and result.karaoke.is_file()
    parsed = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(result.karaoke), "-f", "webvtt", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0 and parsed.stderr == "", parsed.stderr
    assert parsed.stdout.count(" --> ") == len(result.cues)
    assert_libass_draws(result.karaoke, result.duration)


def assert_libass_draws(path: Path, duration: float) -> None:
    """libass (through ffmpeg's ass filter) renders every frame of the script without a word."""
    drawn = subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "warning", "-f", "lavfi",
            "-i", f"color=size=640x360:rate=5:d={duration:.2f}",
            "-vf", f"ass={path}", "-f", "null", "-",
        ],
        capture_output=True, text=True, check=False, cwd=path.parent,
    )  # fmt: skip
    assert drawn.returncode == 0 and drawn.stderr == "", drawn.stderr


def test_libass_draws_an_escaped_and_framed_karaoke(tools: None, tmp_path: Path) -> None:
    require_program("ffmpeg")
    script = tmp_path / "odd.txt"
    script.write_text(
        "The {braces} stay, and a back\\slash too.\n\nA second paragraph, short.\n",
        encoding="utf-8",
    )
    from narrator.engines import VoiceSettings

    settings = RenderSettings(out_dir=tmp_path / "out", voice=VoiceSettings("espeak"), fps="25")
    result = render(script, settings)
    assert result.karaoke is not None
    grid, rate = Frames(FRAME_RATES["25"]), result.sample_rate
    for cue in result.cues:
        assert_words_fit(cue)
        assert cue.start == grid.boundary(grid.nearest(cue.start, rate), rate)
    text = result.karaoke.read_text(encoding="utf-8")
    assert "\\{braces\\}" in text and "back\\\u2060slash" in text
    assert_libass_draws(result.karaoke, result.duration)


def test_an_engine_without_word_timing_writes_no_karaoke_and_says_so(
    rendered: Renderer,
) -> None:
    from narrator.summary import summary_lines

    result = rendered(SAMPLE, "pyttsx3")
    assert result.karaoke is None
    assert not (result.audio.parent / f"{SAMPLE.stem}.ass").exists()
    assert all(c.words == () for c in result.cues)
    data = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert data["subtitles"]["karaoke"] is None
    assert all("words" not in c for p in data["paragraphs"] for s in p["sentences"]
               for c in s["cues"])  # fmt: skip
    notes = [line for line in summary_lines(result) if "karaoke" in line]
    assert notes == ["karaoke    none: pyttsx3 gives no word times (espeak and piper do)"]


def test_a_karaoke_file_no_longer_written_is_removed(tools: None, tmp_path: Path) -> None:
    from narrator.engines import VoiceSettings

    script = tmp_path / "talk.txt"
    script.write_text("A short talk, in two parts.\n\nThe second part.\n", encoding="utf-8")
    out = tmp_path / "out"
    first = render(script, RenderSettings(out_dir=out, voice=VoiceSettings("espeak")))
    assert first.karaoke == out / "talk.ass" and first.karaoke.is_file()
    second = render(script, RenderSettings(out_dir=out, voice=VoiceSettings("pyttsx3")))
    assert second.karaoke is None
    assert out / "talk.ass" in second.removed
    assert not (out / "talk.ass").exists()


@pytest.mark.parametrize(
    ("frames", "columns"), [(10_007, 1500), (999, 1500), (48_000, 7), (5, 3), (1_000_003, 1500)]
)
def test_the_waveform_is_each_columns_peak(tmp_path: Path, frames: int, columns: int) -> None:
    import numpy as np

    rng = np.random.default_rng(frames + columns)
    pcm = (rng.standard_normal(frames) * 6000).clip(-32768, 32767).astype("<i2")
    pcm[frames // 3] = -32768  # full scale, negative: its magnitude does not overflow
    path = tmp_path / "x.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    found = measure_waveform(path, columns)
    count = min(columns, frames)
    bounds = [c * frames // count for c in range(count + 1)]
    expected = [
        round(int(np.abs(pcm[a:b].astype(np.int32)).max()) * SCALE / 32768)
        for a, b in itertools.pairwise(bounds)
    ]
    assert found.peaks == tuple(expected)
    assert (found.samples, found.sample_rate) == (frames, RATE)
    assert SCALE in found.peaks


def test_the_page_draws_the_waveform_of_the_audio(rendered: Renderer) -> None:
    result = rendered(SAMPLE, "espeak")
    page = result.page.read_text(encoding="utf-8")
    assert page.count('<rect class="region"') == len(result.cues)
    waveform = measure_waveform(result.audio)
    path = re.search(r'<path class="wave" d="([^"]+)"', page)
    assert path is not None
    points = re.findall(r"(-?[\d.]+) (-?[\d.]+)", path.group(1))
    # The top edge: one point per column, the loudest column reaching the top.
    top = [float(y) for _, y in points[1 : 1 + len(waveform.peaks)]]
    loudest = max(waveform.peaks)
    assert top == [round(50 - 50 * p / loudest, 1) for p in waveform.peaks]


def test_a_timeline_without_words_has_no_karaoke_syllables_per_word() -> None:
    cue = Cue(1, "Just text.", 0, RATE)
    timeline: Timeline = timeline_of((cue,), RATE)
    assert compose_ass(timeline).splitlines()[-1].endswith(",,{\\k100}Just text.")
