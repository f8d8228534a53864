"""`narrator align`: a Timeline from a narrator's own recording, and every output from it.

The script is planned as a render plans it and spoken by an engine with word times
(the reference, through the clip cache); ``narrator.align`` maps the reference onto
the recording; the reference's cues and words, moved to where the recording says
them, make the Timeline; the writers are the render's. The audio output is the
recording itself, copied or re-encoded, never re-timed.
"""

from __future__ import annotations

import shutil
import tempfile
import wave
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.errors import SettingError
from narrator.formats import AudioFormat
from narrator.render import (
    RenderResult,
    StageCounter,
    as_set,
    assemble,
    output_names,
    provenance_of,
    publish,
    stitch,
)
from narrator.timeline import Timeline

if TYPE_CHECKING:
    from narrator.align import Alignment
    from narrator.cache import ClipCache
    from narrator.cues import SpokenSpan
    from narrator.plan import Plan
    from narrator.recording import Recording
    from narrator.render import Progress, Stitched
    from narrator.script import ScriptSource
    from narrator.settings import RenderSettings
    from narrator.timeline import Provenance

#: How far a cue start that follows a pause may move to the recording's speech onset.
ONSET_BEFORE_MS = 120
ONSET_AFTER_MS = 250


@dataclass(frozen=True)
class Aligned:
    """A render made from a recording: the result, and how sure the alignment is."""

    result: RenderResult
    #: The lowest sentence confidence, and the unsure stretches in seconds.
    weakest: float
    unsure: tuple[tuple[float, float], ...]


def align_recording(
    source: ScriptSource,
    recording_path: Path,
    settings: RenderSettings,
    keep_format: bool,
    progress: Progress | None = None,
    cache: ClipCache | None = None,
    jobs: int | None = None,
) -> Aligned:
    """Align ``recording_path`` to the script and write the render's outputs from it.

    ``keep_format``: no --format was given, so a recording in a format narrator
    writes is copied as it is (else it is written as ``settings.audio_format``).
    """
    from narrator.engines import ENGINES
    from narrator.files import Staging, check_outputs
    from narrator.plan import make_plan
    from narrator.recording import probe
    from narrator.synthesis import Synthesis

    if not ENGINES[settings.voice.engine].word_timing:
        raise SettingError(
            f"--engine {settings.voice.engine} reports no word times to align with: "
            "use espeak (the default for align) or piper"
        )
    recording = probe(recording_path)
    if keep_format:
        settings = replace(settings, audio_format=recording.audio_format or AudioFormat.WAV)
    settings.check_pictures()
    plan = make_plan(source.read(settings.encoding, settings.cleaning), settings)
    stem = source.stem
    check_outputs(settings.out_dir, output_names(stem, settings), source.path, recording.path)
    provenance = as_set(provenance_of(settings), settings)
    total = len(plan.sentences)
    counter = StageCounter(progress, total)
    with tempfile.TemporaryDirectory(prefix="narrator-align-") as folder:
        reference_wav = Path(folder) / "reference.wav"
        with Synthesis([(plan, provenance.fingerprint)], cache, jobs) as heard:
            made = stitch(
                plan,
                heard.hear(0),
                reference_wav,
                lambda done, cached: counter.tell(stem, "synthesizing", done, total, cached),
            )
        counter.tell(stem, "aligning", 0, 1, 0)
        alignment = _align(plan, made, reference_wav, recording)
        counter.tell(stem, "aligning", 1, 1, 0)
    with Staging(settings.out_dir) as staging:
        staging.check(output_names(stem, settings), source.path, recording.path)
        copy = keep_format and recording.audio_format is not None
        if settings.audio_format is AudioFormat.WAV and not copy:
            wav = staging.path(f"{stem}.wav")
        else:
            wav = staging.scratch(f"{stem}.wav")
        from narrator.recording import decode_wav

        # Mastering (narrator.toml's loudness, when re-encoding) reads mono.
        decode_wav(recording, wav, mono=settings.mastering is not None and not copy)
        with wave.open(str(wav), "rb") as decoded:
            samples, rate = decoded.getnframes(), decoded.getframerate()
        timeline = _timeline(plan, made, alignment, samples, rate, provenance, recording)
        ready = None
        if copy:
            ready = staging.path(f"{stem}.{settings.audio_format}")
            shutil.copyfile(recording.path, ready)
        result = publish(
            plan,
            source,
            timeline,
            wav,
            staging,
            counter,
            cached=made.cached,
            total=total,
            audio_ready=ready,
            keep=tuple(path for path in (source.path, recording.path) if path is not None),
        )
    confidence = [s.confidence for s in timeline.sentences if s.confidence is not None]
    unsure = tuple((start / rate, end / rate) for start, end in timeline.provenance.unsure)
    return Aligned(result, min(confidence, default=1.0), unsure)


def _align(
    plan: Plan, made: Stitched, reference_wav: Path, recording: Recording
) -> Alignment:
    """Map the reference programme onto the recording; RecordingError when it does not match."""
    from narrator.align import AlignmentError, Reference, align
    from narrator.errors import RecordingError
    from narrator.recording import listen

    sentences = plan.sentences
    spoken = Reference.from_wav(
        reference_wav,
        sentences=tuple((offset, end) for offset, end, _, _ in made.placed),
        segments=tuple(s.segment for s in sentences),
        texts=tuple(s.text for s in sentences),
    )
    try:
        return align(spoken, listen(recording, reference_wav.with_name("recording.raw")))
    except AlignmentError as exc:
        raise RecordingError(f"{recording.path}: {exc}") from None


def _timeline(
    plan: Plan,
    made: Stitched,
    alignment: Alignment,
    samples: int,
    rate: int,
    provenance: Provenance,
    recording: Recording,
) -> Timeline:
    """The reference's cues, words and sentences where the recording says them."""
    from narrator.align import RECORDING_RATE
    from narrator.timeline import Word

    def moved(reference_sample: int) -> int:
        heard = alignment.to_recording(reference_sample)
        return min(samples, heard * rate // RECORDING_RATE)

    def onset(reference_sample: int) -> int:
        heard = alignment.to_recording(reference_sample)
        snapped = alignment.onset(
            heard,
            ONSET_BEFORE_MS * RECORDING_RATE // 1000,
            ONSET_AFTER_MS * RECORDING_RATE // 1000,
        )
        return min(samples, snapped * rate // RECORDING_RATE)

    # A cue that starts a sentence follows a pause: its start is the recording's onset.
    firsts = {0} | {last for _, _, last, _ in made.placed[:-1]}
    spans: list[SpokenSpan] = []
    previous = -1
    for number, span in enumerate(made.spans):
        start = onset(span.start) if number in firsts else moved(span.start)
        start = min(max(start, previous + 1), samples - 1)
        end = max(moved(span.speech_end), start + 1)
        words = tuple(
            Word(w.text, max(start, moved(w.start)), max(start, moved(w.end))) for w in span.words
        )
        spans.append(replace(span, start=start, speech_end=end, words=words))
        previous = start
    placed = []
    for (offset, end, last, text), first in zip(
        made.placed, [0, *(p[2] for p in made.placed[:-1])], strict=True
    ):
        begin = spans[first].start if first < len(spans) else moved(offset)
        placed.append((begin, max(moved(end), begin + 1), last, text))
    unsure = tuple(
        (start * rate // RECORDING_RATE, end * rate // RECORDING_RATE)
        for start, end in alignment.low_confidence
    )
    made_by = replace(provenance, recording=recording.path.name, unsure=unsure)
    timeline = assemble(plan, spans, placed, samples, rate, made_by)
    confidence = iter(alignment.sentence_confidence)
    paragraphs = tuple(
        replace(
            p,
            sentences=tuple(replace(s, confidence=next(confidence, None)) for s in p.sentences),
        )
        for p in timeline.paragraphs
    )
    return replace(timeline, paragraphs=paragraphs)
