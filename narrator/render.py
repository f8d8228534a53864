"""The render pipeline: script -> Plan -> synthesis -> Timeline -> files, written atomically."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.errors import NarratorError, OutputError, SynthesisError
from narrator.formats import AudioFormat
from narrator.script import ScriptSource, as_source
from narrator.settings import RenderSettings
from narrator.timeline import (
    Cue,
    Provenance,
    Source,
    TimedChapter,
    TimedParagraph,
    TimedSentence,
    Timeline,
    chapter_marks,
)

if TYPE_CHECKING:
    from narrator.cache import ClipCache
    from narrator.cues import SpokenSpan
    from narrator.engines import VoiceSettings
    from narrator.files import Staging
    from narrator.loudness import LoudnessReport
    from narrator.plan import Plan
    from narrator.script import Script
    from narrator.synthesis import Heard
    from narrator.waveform import Waveform

__all__ = ["Progress", "RenderResult", "RenderSettings", "Update", "render", "render_all"]


@dataclass(frozen=True)
class Update:
    """How far a render has come: sentences done (of them from the cache) of the total.

    ``stage`` is "synthesizing" or, after it, "encoding mp3" and the like.
    """

    script: str
    stage: str
    done: int
    total: int
    cached: int = 0
    #: The script's place in the batch, from 0.
    number: int = 0
    #: Sentences done, and in all, over every script of the batch.
    batch_done: int = 0
    batch_total: int = 0


#: Called as work advances.
Progress = Callable[[Update], None]


@dataclass(frozen=True)
class RenderResult:
    """What a render produced: the Timeline, the files written, and the script it read."""

    timeline: Timeline
    script: Script
    settings: RenderSettings
    audio: Path
    subtitles: Path
    webvtt: Path
    page: Path
    manifest: Path
    chapter_list: Path | None = None
    #: The karaoke subtitles (ASS); None when the engine gives no word times.
    karaoke: Path | None = None
    #: What the mastered audio measures against its preset; None without --loudness.
    loudness: LoudnessReport | None = None
    #: Outputs of an earlier render of the same stem that this one no longer
    #: writes (say ``talk.mp3`` after rendering ``--format wav``), now deleted.
    removed: tuple[Path, ...] = ()
    #: Sentences read from the clip cache, and synthesized.
    cached: int = 0
    synthesized: int = 0

    @property
    def sample_rate(self) -> int:
        """The programme's sample rate."""
        return self.timeline.sample_rate

    @property
    def samples(self) -> int:
        """The programme's length in samples."""
        return self.timeline.samples

    @property
    def duration(self) -> float:
        """Exact length of the audio in seconds."""
        return self.timeline.duration

    @property
    def paragraphs(self) -> tuple[TimedParagraph, ...]:
        """The timeline's paragraphs."""
        return self.timeline.paragraphs

    @property
    def chapters(self) -> tuple[TimedChapter, ...]:
        """The timeline's chapters."""
        return self.timeline.chapters

    @property
    def cues(self) -> tuple[Cue, ...]:
        """All cues in order."""
        return self.timeline.cues

    @property
    def voice(self) -> str | None:
        """The voice id that spoke; None for the platform's default."""
        return self.timeline.provenance.voice

    @property
    def engine_fingerprint(self) -> str:
        """The engine's fingerprint (library version, voice, rate)."""
        return self.timeline.provenance.fingerprint


_TEXT_OUTPUTS = ("srt", "vtt", "ass", "html", "json")
#: Formats whose decoding gives back the samples mastered; the others (lossy) may
#: overshoot a little, so their true-peak ceiling keeps this much more room.
LOSSLESS = frozenset({AudioFormat.WAV, AudioFormat.FLAC})
LOSSY_HEADROOM_DB = 1.0
#: Formats that carry tags (WAV is written by narrator, without them).
TAGGED = frozenset(AudioFormat) - {AudioFormat.WAV}


def render(
    script_path: Path | ScriptSource,
    settings: RenderSettings,
    progress: Progress | None = None,
    cache: ClipCache | None = None,
    jobs: int | None = None,
) -> RenderResult:
    """Render a script (a file, or a ScriptSource) into ``settings.out_dir``; return the result.

    Writes ``<stem>.<format>``, ``<stem>.srt``, ``<stem>.vtt``, ``<stem>.html``,
    ``<stem>.json``, when the engine gives word times ``<stem>.ass`` (karaoke)
    and, when the script has headings, ``<stem>.chapters.txt``,
    together or not at all, and deletes the outputs of an earlier render of the
    same stem that this one does not write (see ``RenderResult.removed``).
    Sentences found in ``cache`` are not synthesized again; the others are
    synthesized by ``jobs`` worker processes (see ``narrator.synthesis``).
    Raises a NarratorError subclass for bad input, settings or tools, before
    synthesis when an output is read-only or a folder.
    """
    (outcome,) = render_all([(as_source(script_path), settings)], progress, cache, jobs)
    if isinstance(outcome, NarratorError):
        raise outcome
    return outcome


def render_all(
    work: Sequence[tuple[ScriptSource, RenderSettings]],
    progress: Progress | None = None,
    cache: ClipCache | None = None,
    jobs: int | None = None,
) -> list[RenderResult | NarratorError]:
    """Render several scripts with one pool of workers; each succeeds or fails on its own.

    Returns, for each script in order, its RenderResult or the NarratorError
    that stopped it. Ctrl-C and the like stop the whole batch.
    """
    from narrator.files import check_outputs
    from narrator.plan import make_plan
    from narrator.synthesis import Synthesis

    outcomes: list[RenderResult | NarratorError | None] = [None] * len(work)
    ready: list[tuple[int, Plan, ScriptSource, Provenance]] = []
    speakers: dict[VoiceSettings, Provenance] = {}  # who speaks, found once per voice
    for index, (source, settings) in enumerate(work):
        try:
            plan = make_plan(source.read(settings.encoding, settings.cleaning), settings)
            if settings.audio_format is not AudioFormat.WAV:
                from narrator.stitch import ffmpeg

                ffmpeg()
            settings.check_pictures()
            # Before any synthesis: a script whose outputs cannot be written costs nothing.
            check_outputs(settings.out_dir, output_names(source.stem, settings), source.path)
            if settings.voice not in speakers:
                speakers[settings.voice] = provenance_of(settings)
            provenance = as_set(speakers[settings.voice], settings)
            ready.append((index, plan, source, provenance))
        except NarratorError as exc:
            outcomes[index] = exc
    total = sum(len(plan.sentences) for _, plan, _, _ in ready)
    counter = StageCounter(progress, total)
    with Synthesis([(plan, made.fingerprint) for _, plan, _, made in ready], cache, jobs) as heard:
        for n, (index, plan, source, made) in enumerate(ready):
            try:
                outcomes[index] = _render_plan(plan, source, made, heard.hear(n), counter)
            except NarratorError as exc:
                outcomes[index] = exc
            counter.finish(plan)
    return [outcome for outcome in outcomes if outcome is not None]


class StageCounter:
    """Turns sentences heard into Updates, per script and for the whole batch."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.finished = 0
        self.number = 0  # the script being rendered

    def tell(self, script: str, stage: str, done: int, total: int, cached: int) -> None:
        if self.progress is not None:
            done_all = self.finished + (done if stage == "synthesizing" else 0)
            self.progress(
                Update(script, stage, done, total, cached, self.number, done_all, self.total)
            )

    def finish(self, plan: Plan) -> None:
        self.finished += len(plan.sentences)
        self.number += 1


def output_names(stem: str, settings: RenderSettings) -> list[str]:
    """Every file a render of ``stem`` may write."""
    return [
        f"{stem}.{extension}"
        for extension in (settings.audio_format, *_TEXT_OUTPUTS, "chapters.txt")
    ]


def as_set(speaker: Provenance, settings: RenderSettings) -> Provenance:
    """``speaker`` (provenance_of a voice) with the rest of one script's settings."""
    return replace(
        speaker,
        sentence_pause_ms=settings.sentence_pause_ms,
        paragraph_pause_ms=settings.paragraph_pause_ms,
        lexicon=settings.lexicon.entries,
        fps=settings.fps,
        style=settings.style.name,
        limits=settings.style.recorded(),
    )


def provenance_of(settings: RenderSettings) -> Provenance:
    """Who will speak: the engine's fingerprint and voice id, found without opening it."""
    from narrator.engines import fingerprint, resolve_voice

    return Provenance(
        engine=settings.voice.engine,
        voice=resolve_voice(settings.voice),
        rate_wpm=settings.voice.rate,
        fingerprint=fingerprint(settings.voice),
        sentence_pause_ms=settings.sentence_pause_ms,
        paragraph_pause_ms=settings.paragraph_pause_ms,
        lexicon=settings.lexicon.entries,
    )


@dataclass(frozen=True)
class Stitched:
    """A plan's sentences laid end to end in the programme, in its samples.

    ``spans`` are every cue's speech, in order; ``placed`` gives per sentence its
    first sample, its end, one past its last span, and the text the engine was given.
    """

    spans: tuple[SpokenSpan, ...]
    placed: tuple[tuple[int, int, int, str], ...]
    samples: int
    rate: int
    cached: int


def stitch(
    plan: Plan, heard: Iterator[Heard], wav: Path, tell: Callable[[int, int], None]
) -> Stitched:
    """Write the heard sentences and the plan's silences into ``wav``; where each one went.

    ``tell(done, cached)`` is called after each sentence.
    """
    from narrator.stitch import Programme

    spans: list[SpokenSpan] = []
    placed: list[tuple[int, int, int, str]] = []
    programme: Programme | None = None
    cached = 0
    try:
        for sentence in heard:
            if programme is None:
                programme = Programme(wav, sentence.sample_rate)
            elif sentence.sample_rate != programme.rate:
                raise SynthesisError(
                    f"{plan.script.source}: segment {sentence.sentence.segment}: the engine "
                    f"changed sample rate ({sentence.sample_rate} Hz, not {programme.rate} Hz)"
                )
            planned, spoken = sentence.sentence, sentence.spoken
            if not spoken.spans:
                raise SynthesisError(
                    f"{plan.script.source}: segment {planned.segment}: "
                    f"the engine produced no speech for {planned.text[:50]!r}"
                )
            programme.pause(planned.silence_ms)
            offset = programme.add(spoken.pcm)
            spans.extend(s.shifted(offset) for s in spoken.spans)
            placed.append((offset, offset + spoken.samples, len(spans), spoken.spoken))
            cached += sentence.cached
            tell(len(placed), cached)
        assert programme is not None, "a script always has a sentence"
        programme.pause(plan.trailing_ms)
    finally:
        if programme is not None:
            programme.close()
    return Stitched(tuple(spans), tuple(placed), programme.position, programme.rate, cached)


def _render_plan(
    plan: Plan,
    source: ScriptSource,
    provenance: Provenance,
    heard: Iterator[Heard],
    counter: StageCounter,
) -> RenderResult:
    """Stitch a plan's heard sentences into the programme and write every output."""
    from narrator.files import Staging

    settings = plan.settings
    stem = source.stem
    total = len(plan.sentences)
    with Staging(settings.out_dir) as staging:
        staging.check(output_names(stem, settings), keep=source.path)
        if settings.audio_format is AudioFormat.WAV:
            wav = staging.path(f"{stem}.wav")
        else:
            wav = staging.scratch(f"{stem}.wav")
        made = stitch(
            plan,
            heard,
            wav,
            lambda done, cached: counter.tell(stem, "synthesizing", done, total, cached),
        )
        timeline = assemble(plan, made.spans, made.placed, made.samples, made.rate, provenance)
        return publish(
            plan, source, timeline, wav, staging, counter, cached=made.cached, total=total
        )


def publish(
    plan: Plan,
    source: ScriptSource,
    timeline: Timeline,
    wav: Path,
    staging: Staging,
    counter: StageCounter,
    cached: int = 0,
    total: int = 0,
    audio_ready: Path | None = None,
    keep: tuple[Path, ...] = (),
) -> RenderResult:
    """Master the programme ``wav`` (staged), encode it, write every output, and commit.

    ``audio_ready``, when given, is the audio output already staged (a recording
    copied as it is): nothing is mastered or encoded, and it keeps its own rate.
    Files in ``keep`` (what the run reads) are never retired.
    """
    from narrator.ass import compose_ass, has_words
    from narrator.container import default_title
    from narrator.loudness import AUDIOBOOK
    from narrator.manifest import Outputs, compose_chapters, manifest_json
    from narrator.page import compose_page
    from narrator.stitch import Packaging, encode, output_rate
    from narrator.subtitles import compose_srt, compose_vtt

    settings = plan.settings
    audio_format = settings.audio_format
    stem = source.stem
    folder = settings.out_dir
    loudness = None
    mastering = settings.mastering if audio_ready is None else None
    acx = mastering == AUDIOBOOK  # an audiobook's mp3 as ACX takes it
    if mastering is not None:
        from narrator.loudness import master

        stage = f"mastering ({mastering.name})"
        counter.tell(stem, stage, 0, 1, 0)
        headroom = 0.0 if audio_format in LOSSLESS else LOSSY_HEADROOM_DB
        loudness = master(wav, mastering, headroom, staging.scratch(f"{stem}.master.wav"))
        counter.tell(stem, stage, 1, 1, 0)
    # From the programme as heard: after mastering rewrote the WAV.
    waveform = _waveform(wav)
    audio = folder / f"{stem}.{audio_format}"
    srt = staging.write_text(f"{stem}.srt", compose_srt(timeline))
    tags = replace(settings.tags, title=settings.tags.title or default_title(timeline, stem))
    if audio_format is not AudioFormat.WAV and audio_ready is None:
        stage = f"encoding {audio_format}"
        counter.tell(stem, stage, 0, 1, 0)
        packaging = Packaging(
            tags,
            timeline,
            settings.cover,
            subtitles=srt,
            burn=settings.burn_subtitles,
            acx=acx,
        )
        scratch = staging.scratch_folder(f"{stem}.encode")
        encode(wav, staging.path(audio.name), audio_format, packaging, scratch)
        counter.tell(stem, stage, 1, 1, 0)
    chapter_text = compose_chapters(timeline)
    outputs = Outputs(
        audio=audio.name,
        audio_format=audio_format,
        audio_rate=(
            timeline.sample_rate
            if audio_ready is not None
            else output_rate(audio_format, timeline.sample_rate, acx)
        ),
        srt=f"{stem}.srt",
        vtt=f"{stem}.vtt",
        page=f"{stem}.html",
        chapter_list=f"{stem}.chapters.txt" if chapter_text else None,
        karaoke=f"{stem}.ass" if has_words(timeline) else None,
        tags=tags if audio_format in TAGGED and audio_ready is None else None,
        # Settings refuse a WAV's cover; a recording copied as it is gets none.
        cover=settings.cover.name if settings.cover and audio_ready is None else None,
        loudness=loudness,
    )
    staging.write_text(outputs.vtt, compose_vtt(timeline))
    if outputs.karaoke is not None:
        staging.write_text(outputs.karaoke, compose_ass(timeline))
    staging.write_text(outputs.page, compose_page(timeline, outputs, waveform))
    if outputs.chapter_list is not None:
        staging.write_text(outputs.chapter_list, chapter_text)
    staging.write_text(f"{stem}.json", manifest_json(timeline, outputs))
    # Decided under the folder's lock: another render may commit just before.
    removed = staging.commit(
        retire=lambda writing: [
            old for old in _superseded(folder, stem, writing) if not _any_same(old, keep)
        ]
    )
    return RenderResult(
        timeline=timeline,
        script=plan.script,
        settings=settings,
        audio=audio,
        subtitles=folder / outputs.srt,
        webvtt=folder / outputs.vtt,
        page=folder / outputs.page,
        manifest=folder / f"{stem}.json",
        chapter_list=folder / outputs.chapter_list if outputs.chapter_list else None,
        karaoke=folder / outputs.karaoke if outputs.karaoke else None,
        loudness=loudness,
        removed=tuple(removed),
        cached=cached,
        synthesized=total - cached,
    )


def _waveform(wav: Path) -> Waveform:
    """The programme's waveform for the page; a WAV that cannot be read back is an OutputError."""
    import wave

    from narrator.waveform import measure_waveform

    try:
        return measure_waveform(wav)
    except (OSError, wave.Error) as exc:
        raise OutputError(f"{wav}: cannot read the audio back for its waveform ({exc})") from None


def assemble(
    plan: Plan,
    spans: Sequence[SpokenSpan],
    placed: Sequence[tuple[int, int, int, str]],
    samples: int,
    rate: int,
    provenance: Provenance,
) -> Timeline:
    """The Timeline of a synthesized plan; pure.

    ``spans`` are every cue's speech in programme samples, in order; ``placed``
    gives per sentence its first sample, its end, one past its last span, and
    the text the engine was given.
    """
    from narrator.cues import display_windows

    cues = display_windows(spans, samples, rate, plan.settings.limits, plan.settings.frames)
    paragraphs = []
    rows = iter(placed)
    first = 0
    for paragraph in plan.paragraphs:
        sentences = []
        for sentence in paragraph.sentences:
            _, end, last, spoken = next(rows)
            mine = cues[first:last]
            sentences.append(
                TimedSentence(sentence.segment, sentence.text, spoken, mine[0].start, end, mine)
            )
            first = last
        paragraphs.append(
            TimedParagraph(paragraph.line, sentences[0].start, sentences[-1].end, tuple(sentences))
        )
    script = plan.script
    return Timeline(
        sample_rate=rate,
        samples=samples,
        paragraphs=tuple(paragraphs),
        chapters=chapter_marks(script.chapters, paragraphs, samples),
        provenance=provenance,
        source=Source(script.source, script.encoding, script.dropped, script.altered),
    )


def _any_same(path: Path, others: tuple[Path, ...]) -> bool:
    """Whether ``path`` is one of the files ``others`` (by inode, not by name)."""
    for other in others:
        with contextlib.suppress(OSError):
            if path.samefile(other):
                return True
    return False


def _superseded(folder: Path, stem: str, writing: Collection[str]) -> list[Path]:
    """Outputs the earlier render's manifest lists that this render will not write.

    Only files unchanged since that render qualify: not modified, nor put in
    place, after its manifest was (the change time tells: ``mv``, ``cp -p`` and
    unzip keep an old modification time but not an old change time), and not
    read-only. A name that is not ``<stem>.<ext>``
    in ``folder`` is ignored, whatever the manifest says.
    """
    from narrator.files import read_only
    from narrator.manifest import recorded_outputs

    manifest = folder / f"{stem}.json"
    try:
        names = recorded_outputs(json.loads(manifest.read_text(encoding="utf-8")))
        status = manifest.stat()
    except (OSError, ValueError, KeyError, TypeError):
        return []
    found = []
    for name in names:
        if name in writing or name != Path(name).name:
            continue
        path = folder / name
        if not name.startswith(f"{stem}.") or read_only(path):
            continue
        try:
            if path.is_symlink() or not path.is_file():
                continue
            own = path.stat()
            if own.st_ctime_ns > status.st_ctime_ns or own.st_mtime_ns > status.st_mtime_ns:
                continue
        except OSError:
            continue
        found.append(path)
    return found
