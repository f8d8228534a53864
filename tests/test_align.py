"""Alignment of a 'human' recording (Piper, edited with ffmpeg) to narrator's espeak reference."""

from __future__ import annotations

import difflib
import statistics
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from narrator.align import (
    RECORDING_RATE,
    Alignment,
    AlignmentError,
    Reference,
    align,
    features,
    noise_floors,
)
from narrator.aligned import ONSET_AFTER_MS, ONSET_BEFORE_MS
from narrator.engines import VoiceSettings
from narrator.render import RenderResult, RenderSettings, render
from narrator.timeline import Timeline
from tests.conftest import require_program

SCRIPT = """\
The lighthouse keeper climbed the narrow stairs every evening at dusk. He carried a lamp, \
a logbook and a small tin of oil. From the top he could see the whole harbour and the ships \
waiting beyond it.

In the winter of that year the fog arrived early. It lasted for eleven days without a break. \
The fishermen stayed at home and mended their nets by the fire. Nobody in the village could \
remember a longer fog.

When the weather finally cleared, the keeper wrote a long letter to the mainland. He asked \
for a new bell, a stronger lens and a second pair of hands. The answer came three months \
later. It said only that the request would be considered.
"""

OTHER = """\
Bread is made from flour, water, salt and yeast. The dough rests for an hour before it is \
shaped. Bakers in the old town started work at three in the morning.

A good oven holds its heat for a long time. Stones and bricks were used because they stay \
warm. The first loaves were sold before sunrise to the workers at the docks.
"""

#: The 'narrator' pauses 3 s between paragraphs where the reference pauses far less.
HUMAN_PARAGRAPH_PAUSE_MS = 3000
#: Where a cue that follows a pause is looked for around its mapped time: as narrator align looks.
BEFORE = ONSET_BEFORE_MS * RECORDING_RATE // 1000
AFTER = ONSET_AFTER_MS * RECORDING_RATE // 1000
HEAD_SECONDS = 4.0
NOISE = "anoisesrc=color=pink:amplitude=0.01:d=120:seed=1887[n]"  # the same noise each run


@dataclass(frozen=True)
class Renders:
    """The espeak reference, and Piper's readings of the script and of another text."""

    reference: Reference
    espeak: Timeline
    piper: RenderResult
    other: RenderResult
    #: OTHER read three times over: longer than the script, room for the path to pick.
    other3: RenderResult


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), np.int16), wav.getframerate()


def recording(source: Path, graph: str = "[0:a]anull") -> np.ndarray:
    """``source`` through an ffmpeg filter graph, decoded as narrator align decodes it."""
    command = ["ffmpeg", "-v", "error", "-i", str(source), "-filter_complex", graph]
    command += ["-ac", "1", "-ar", str(RECORDING_RATE), "-f", "s16le", "-"]
    out = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16)


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Renders:
    require_program("ffmpeg")
    folder = tmp_path_factory.mktemp("align")
    (folder / "story.txt").write_text(SCRIPT, encoding="utf-8")
    (folder / "other.txt").write_text(OTHER, encoding="utf-8")
    espeak = render(
        folder / "story.txt",
        RenderSettings(out_dir=folder / "espeak", voice=VoiceSettings("espeak")),
    )
    piper = render(
        folder / "story.txt",
        RenderSettings(
            out_dir=folder / "piper",
            voice=VoiceSettings("piper"),
            paragraph_pause_ms=HUMAN_PARAGRAPH_PAUSE_MS,
        ),
    )
    other = render(
        folder / "other.txt",
        RenderSettings(out_dir=folder / "other", voice=VoiceSettings("piper")),
    )
    (folder / "other3.txt").write_text("\n\n".join([OTHER.strip()] * 3) + "\n", encoding="utf-8")
    other3 = render(
        folder / "other3.txt",
        RenderSettings(out_dir=folder / "other3", voice=VoiceSettings("piper")),
    )
    pcm, _ = read_wav(espeak.audio)
    reference = Reference.from_timeline(espeak.timeline, pcm)
    return Renders(reference, espeak.timeline, piper, other, other3)


@dataclass(frozen=True)
class Pair:
    """A cue's start in the reference and in Piper's reading; whether a pause precedes it."""

    reference: int
    truth: int
    after_pause: bool


def cue_pairs(reference: Timeline, human: Timeline) -> list[Pair]:
    """Cues of the same text in both timelines (Piper may lay them out otherwise)."""
    ours, theirs = reference.cues, human.cues
    matcher = difflib.SequenceMatcher(
        a=[c.text for c in ours], b=[c.text for c in theirs], autojunk=False
    )
    firsts = {c.start for s in human.sentences for c in s.cues[:1]}
    return [
        Pair(
            ours[i + k].words[0].start,
            theirs[j + k].words[0].start,
            theirs[j + k].start in firsts,
        )
        for i, j, n in matcher.get_matching_blocks()
        for k in range(n)
    ]


def cue_errors(
    found: Alignment, pairs: list[Pair], rate: int, tempo: float, head: float
) -> list[tuple[float, bool]]:
    """Each cue start's error in seconds (onsets snapped after a pause), and the pause flag."""
    errors = []
    for pair in pairs:
        truth = pair.truth / rate / tempo + head
        at = found.to_recording(pair.reference)
        if pair.after_pause:
            at = found.onset(at, BEFORE, AFTER)
        errors.append((abs(at / RECORDING_RATE - truth), pair.after_pause))
    return errors


EDITS = {
    "slower": ("[0:a]atempo=0.8", 0.8, 0.0),
    "faster": ("[0:a]atempo=1.2", 1.2, 0.0),
    "silence and noise": (
        f"[0:a]adelay={HEAD_SECONDS * 1000:.0f}:all=1[d];{NOISE};"
        "[d][n]amix=inputs=2:duration=first:normalize=0",
        1.0,
        HEAD_SECONDS,
    ),
    # Room noise throughout, then a pre-roll: digital silence, or a quieter noise. A
    # noise floor taken over the whole recording sat under the room's, and every pause
    # of the reading was speech.
    "digital silence before room noise": (
        f"[0:a]anull[d];{NOISE};[d][n]amix=inputs=2:duration=first:normalize=0,"
        f"adelay={HEAD_SECONDS * 1000:.0f}:all=1",
        1.0,
        HEAD_SECONDS,
    ),
    "a quieter pre-roll before room noise": (
        f"[0:a]anull[d];{NOISE};[d][n]amix=inputs=2:duration=first:normalize=0[m];"
        f"anoisesrc=color=pink:amplitude=0.002:d={HEAD_SECONDS:g}:seed=5:r=22050[q];"
        "[q][m]concat=n=2:v=0:a=1",
        1.0,
        HEAD_SECONDS,
    ),
    # A chord (C major), then half a second's pause: the chord cost less to match to the
    # script's first sounds than to leave out.
    "20 s of a chord at the head": (
        "aevalsrc=0.1*sin(2*PI*261.63*t)+0.1*sin(2*PI*329.63*t)+0.1*sin(2*PI*392*t)"
        ":s=22050:d=19.5[c];anullsrc=r=22050:cl=mono:d=0.5[z];[c][z][0:a]concat=n=3:v=0:a=1",
        1.0,
        20.0,
    ),
    "a tone at the head": (
        f"sine=f=440:d={HEAD_SECONDS - 1:g}[t];anullsrc=r=22050:cl=mono:d=1[z];"
        "[t][z][0:a]concat=n=3:v=0:a=1",
        1.0,
        HEAD_SECONDS,
    ),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_cue_starts_land_on_the_recording(renders: Renders, edit: str) -> None:
    graph, tempo, head = EDITS[edit]
    found = align(renders.reference, recording(renders.piper.audio, graph))
    pairs = cue_pairs(renders.espeak, renders.piper.timeline)
    assert len(pairs) >= 10
    errors = cue_errors(found, pairs, renders.piper.timeline.sample_rate, tempo, head)
    after_pause = [e for e, paused in errors if paused]
    assert max(after_pause) <= 0.060, [round(e * 1000) for e, _ in errors]
    assert statistics.median(e for e, _ in errors) <= 0.040
    # Drift is judged on minutes of audio (test_minutes_of_repeated_material_align_to_the_end):
    # over four cues of a 50 s clip, a 10 ms difference of medians is the voices' noise.
    assert min(found.sentence_confidence) >= 0.5
    assert found.low_confidence == ()


def test_the_mapping_never_goes_back(renders: Renders) -> None:
    found = align(renders.reference, recording(renders.piper.audio, "[0:a]atempo=1.2"))
    times = [found.to_recording(s) for s in range(0, renders.espeak.samples, 997)]
    assert times == sorted(times)
    assert times[-1] <= len(found.recording)


def test_another_text_is_one_line_naming_where(renders: Renders) -> None:
    with pytest.raises(AlignmentError) as raised:
        align(renders.reference, recording(renders.other.audio))
    message = str(raised.value)
    assert "\n" not in message
    assert "stops matching the script at 0:" in message
    assert '(segment 1, "The lighthouse keeper climbed..."' in message


def test_another_text_longer_than_the_script_is_an_error(renders: Renders) -> None:
    with pytest.raises(AlignmentError) as raised:
        align(renders.reference, recording(renders.other3.audio))
    message = str(raised.value)
    assert "\n" not in message
    assert "stops matching the script at 0:" in message


def test_mostly_silence_is_an_error(renders: Renders) -> None:
    quiet = f"[0:a]volume=0[q];{NOISE};[q][n]amix=inputs=2:duration=first:normalize=0"
    with pytest.raises(AlignmentError, match=r"has 0 s of speech in 0:\d\d, .* mostly silence"):
        align(renders.reference, recording(renders.piper.audio, quiet))


def test_a_skipped_phrase_is_low_confidence_there_only(renders: Renders) -> None:
    human = renders.piper.timeline
    sentence = human.sentences[5]  # "The fishermen stayed at home and mended their nets ..."
    words = sentence.cues[0].words
    rate = human.sample_rate
    cut_from, cut_to = words[3].start / rate, words[9].start / rate
    graph = (
        f"[0:a]asplit[a][b];[a]atrim=end={cut_from:.3f}[x];"
        f"[b]atrim=start={cut_to:.3f},asetpts=PTS-STARTPTS[y];[x][y]concat=n=2:v=0:a=1"
    )
    found = align(renders.reference, recording(renders.piper.audio, graph))
    low = [i for i, score in enumerate(found.sentence_confidence) if score < 0.5]
    assert low == [5], found.sentence_confidence
    (start, end), = found.low_confidence
    cut = round(cut_from * RECORDING_RATE)
    assert start <= cut <= end
    # After the cut, cue starts land where Piper said them, less the cut.
    removed = cut_to - cut_from
    later = [p for p in cue_pairs(renders.espeak, human) if p.truth > words[-1].end]
    errors = cue_errors(found, later, rate, 1.0, -removed)
    assert statistics.median(e for e, _ in errors) <= 0.040


def test_minutes_of_repeated_material_align_to_the_end(tmp_path: Path) -> None:
    """Six readings of the script in a row: no window may slip into the next reading."""
    require_program("ffmpeg")
    script = tmp_path / "repeated.txt"
    script.write_text("\n\n".join([SCRIPT.strip()] * 6) + "\n", encoding="utf-8")
    ours = render(script, RenderSettings(out_dir=tmp_path / "ref", voice=VoiceSettings("espeak")))
    theirs = render(
        script,
        RenderSettings(
            out_dir=tmp_path / "human", voice=VoiceSettings("espeak", voice="en-gb", rate=150)
        ),
    )
    pcm, _ = read_wav(ours.audio)
    found = align(Reference.from_timeline(ours.timeline, pcm), recording(theirs.audio))
    assert min(found.sentence_confidence) >= 0.5
    rate = theirs.timeline.sample_rate
    errors = [
        abs(found.to_recording(a.start) / RECORDING_RATE - b.start / rate)
        for a, b in zip(ours.timeline.sentences, theirs.timeline.sentences, strict=True)
    ]
    assert statistics.median(errors) <= 0.040
    third = len(errors) // 3
    assert statistics.median(errors[-third:]) <= statistics.median(errors[:third]) + 0.010
    assert max(errors[-third:]) <= 0.100, [round(e * 1000) for e in errors]


def test_a_repeated_phrase_leaves_the_rest_in_place(renders: Renders) -> None:
    """A narrator says four words twice (a retake left in): the cues after it still land."""
    human = renders.piper.timeline
    sentence = human.sentences[5]  # "The fishermen stayed at home and mended their nets ..."
    words = sentence.cues[0].words
    rate = human.sample_rate
    again_from, again_to = words[2].start / rate, words[6].start / rate
    graph = (
        f"[0:a]asplit=3[a][b][c];[a]atrim=end={again_to:.3f}[x];"
        f"[b]atrim=start={again_from:.3f}:end={again_to:.3f},asetpts=PTS-STARTPTS[y];"
        f"[c]atrim=start={again_to:.3f},asetpts=PTS-STARTPTS[z];[x][y][z]concat=n=3:v=0:a=1"
    )
    found = align(renders.reference, recording(renders.piper.audio, graph))
    low = [i for i, score in enumerate(found.sentence_confidence) if score < 0.5]
    assert set(low) <= {5}, found.sentence_confidence
    pairs = cue_pairs(renders.espeak, human)
    before = [p for p in pairs if p.truth < words[0].start]
    later = [p for p in pairs if p.truth > words[-1].end]
    assert len(before) >= 4 and len(later) >= 4
    added = again_to - again_from
    for group, shift in ((before, 0.0), (later, added)):
        errors = cue_errors(found, group, rate, 1.0, shift)
        shown = [round(e * 1000) for e, _ in errors]
        assert statistics.median(e for e, _ in errors) <= 0.040, shown
        assert max(e for e, paused in errors if paused) <= 0.060


def test_a_breath_before_a_sentence_is_not_its_onset(renders: Renders) -> None:
    """A breath 80 ms before a paragraph's first word, 18 dB under the words: not the start."""
    human = renders.piper.timeline
    rate = human.sample_rate
    first = human.paragraphs[1].sentences[0].cues[0].words[0]  # "In the winter of that year"
    onset = round(first.start / rate * RECORDING_RATE)
    heard = recording(renders.piper.audio).astype(np.float64)
    words = heard[onset : onset + RECORDING_RATE]
    loudest = max(np.sqrt(np.mean(words[i : i + 160] ** 2)) for i in range(0, len(words) - 160, 40))
    breath = np.diff(np.random.default_rng(5).standard_normal(RECORDING_RATE * 9 // 100 + 1))
    breath *= loudest * 10 ** (-18 / 20) / np.sqrt(np.mean(breath**2))
    gap = RECORDING_RATE * 8 // 100
    heard[onset - gap - len(breath) : onset - gap] += breath
    found = align(renders.reference, heard.astype(np.int16))
    pair = next(p for p in cue_pairs(renders.espeak, human) if p.truth == first.start)
    ((error, after_pause),) = cue_errors(found, [pair], rate, 1.0, 0.0)
    assert after_pause
    assert error <= 0.060, round(error * 1000)


def test_a_reading_unlike_the_reference_is_followed_to_its_end() -> None:
    """Sounds matched at 0.9 of the random-pair distance (a person against espeak): the path
    runs to the recording's last frame, not ending early to leave the rest as a cheap tail."""
    import narrator.align as core

    rng = np.random.default_rng(3)
    frames = 1500
    sounds = np.repeat(rng.standard_normal((frames // 5, core.CEPSTRA - 1)), 5, axis=0)
    loud, speech = np.full(frames, 60, np.float32), np.ones(frames, dtype=bool)
    reference = core.Features(sounds.astype(np.float32), loud, speech)
    said = sounds + 3.0 * rng.standard_normal(sounds.shape)
    heard = core.Features(said.astype(np.float32), loud, speech)
    unit = core._random_pair_cost(reference, heard)
    mapped = core._pass(reference, heard, core._shorten(speech), unit).frames
    assert mapped[-1] >= frames - 10, mapped[-1]
    off = np.abs(mapped - np.arange(frames))
    assert off.max() <= 60, off.max()


def test_sentences_run_together_keep_their_mapped_starts(renders: Renders, tmp_path: Path) -> None:
    """A narrator who leaves no pause between sentences: no rise out of a pause to snap to,
    and the start of the window searched is none either (it was taken, 115 ms early)."""
    (tmp_path / "story.txt").write_text(SCRIPT, encoding="utf-8")
    run = render(
        tmp_path / "story.txt",
        RenderSettings(
            out_dir=tmp_path / "run-on",
            voice=VoiceSettings("piper"),
            sentence_pause_ms=0,
            paragraph_pause_ms=0,
        ),
    )
    found = align(renders.reference, recording(run.audio))
    rate = run.timeline.sample_rate
    errors = []
    for ours, theirs in zip(renders.espeak.sentences, run.timeline.sentences, strict=True):
        at = found.onset(found.to_recording(ours.cues[0].words[0].start), BEFORE, AFTER)
        errors.append(abs(at / RECORDING_RATE - theirs.cues[0].words[0].start / rate))
    shown = [round(e * 1000) for e in errors]
    assert statistics.median(errors) <= 0.040, shown
    # One start may miss by more: run on from "beyond it." "In the winter" maps 137 ms early.
    assert sorted(errors)[-2] <= 0.100, shown


def test_a_reading_that_turns_into_another_text_is_named_where_it_turns(
    renders: Renders, tmp_path: Path
) -> None:
    """Two paragraphs of the script, then another text: the error names the third
    paragraph's first sentence and the time the other text starts."""
    human = renders.piper.timeline
    turn = human.paragraphs[2].sentences[0]
    cut = turn.start / human.sample_rate - 0.5
    graph = (
        f"[0:a]atrim=end={cut:.3f}[x];[1:a]aresample={human.sample_rate}[y];"
        "[x][y]concat=n=2:v=0:a=1"
    )
    command = ["ffmpeg", "-v", "error", "-i", str(renders.piper.audio), "-i"]
    command += [str(renders.other.audio), "-filter_complex", graph]
    command += ["-ac", "1", "-ar", str(RECORDING_RATE), "-f", "s16le", "-"]
    heard = np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, np.int16)
    with pytest.raises(AlignmentError) as raised:
        align(renders.reference, heard)
    message = str(raised.value)
    named = int(message.split("(segment ")[1].split(",")[0])
    assert turn.segment - 1 <= named <= turn.segment + 1, message
    at = message.split(" at ")[1].split(" ")[0]
    minutes, seconds = at.split(":")
    assert abs(int(minutes) * 60 + int(seconds) - cut) <= 3, message


# --- the mapping and the onsets, on made-up numbers -----------------------------------


def test_a_reference_sample_between_frames_is_interpolated() -> None:
    found = Alignment(
        reference_rate=22050,
        frames=np.array([0, 10, 20]),
        recording=np.zeros(RECORDING_RATE, np.int16),
        sentence_confidence=(),
        low_confidence=(),
        floors=np.zeros(100, np.float32),
    )
    # 110 samples at 22050 Hz is 0.499 of a frame: 0.499 of the 10 frames to the next.
    assert found.to_recording(110) == 798
    assert found.to_recording(22050 * 2 // 100) == 20 * 160


def test_the_onset_nearest_the_mapped_time_wins_and_lands_on_the_sound() -> None:
    """Two bursts out of silence, at 0.30 s and 0.70 s: looked for from 0.68 s, the second,
    within 2.5 ms of where it starts."""
    rate = RECORDING_RATE
    pcm = np.zeros(rate, np.float64)
    noise = np.random.default_rng(2).standard_normal(rate)
    for start, end in ((0.30, 0.45), (0.70, 0.90)):
        pcm[round(start * rate) : round(end * rate)] = 8000 * noise[: round((end - start) * rate)]
    found = Alignment(
        reference_rate=rate,
        frames=np.arange(100),
        recording=pcm.astype(np.int16),
        sentence_confidence=(),
        low_confidence=(),
        floors=noise_floors(features(pcm.astype(np.int16), rate).energy),
    )
    at = found.onset(round(0.68 * rate), before=rate // 2, after=rate // 10)
    assert abs(at - round(0.70 * rate)) <= 40, at


def test_a_reading_of_the_script_s_start_says_where_it_ends(renders: Renders) -> None:
    """Two paragraphs of three read: the error says the recording ends, and around which
    sentence, not that it stops matching at 0:00."""
    human = renders.piper.timeline
    turn = human.paragraphs[2].sentences[0]
    cut = turn.start / human.sample_rate - 0.3
    with pytest.raises(AlignmentError) as raised:
        align(renders.reference, recording(renders.piper.audio, f"[0:a]atrim=end={cut:.3f}"))
    message = str(raised.value)
    assert message.startswith(f"the recording ends at 0:{int(cut):02d}, around segment "), message
    named = int(message.split("around segment ")[1].split(",")[0])
    assert turn.segment - 1 <= named <= turn.segment + 1, message
