"""The render pipeline: script file in, audio, subtitles and manifest out, atomically."""

from __future__ import annotations

import codecs
import dataclasses
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from narrator.cues import SpokenSpan, TimedCue, display_windows
from narrator.defaults import (
    DEFAULT_FORMAT,
    DEFAULT_PARAGRAPH_PAUSE_MS,
    DEFAULT_SENTENCE_PAUSE_MS,
)
from narrator.engines import VoiceSettings
from narrator.errors import SettingError, SynthesisError
from narrator.lexicon import Lexicon
from narrator.script import Cleaning, Script, ScriptSource, as_source
from narrator.segment import CueLimits, PlannedParagraph, plan_paragraph
from narrator.stitch import FORMATS

AUDIO_FORMATS = tuple(FORMATS)
MAX_GAP_MS = 10_000  # the automatic sentence and paragraph gaps

if TYPE_CHECKING:
    from narrator.stitch import Programme
    from narrator.synth import SentenceSpeaker

#: Called as work advances: the stage ("synthesizing", "encoding mp3"), done, total.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RenderSettings:
    """Everything a render needs besides the script; validated when built."""

    out_dir: Path = Path("output")
    audio_format: str = DEFAULT_FORMAT
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    sentence_pause_ms: int = DEFAULT_SENTENCE_PAUSE_MS
    paragraph_pause_ms: int = DEFAULT_PARAGRAPH_PAUSE_MS
    limits: CueLimits = field(default_factory=CueLimits)
    encoding: str | None = None
    cleaning: Cleaning = field(default_factory=Cleaning)
    lexicon: Lexicon = field(default_factory=Lexicon)

    def __post_init__(self) -> None:
        if self.audio_format not in AUDIO_FORMATS:
            raise SettingError(
                f"unknown format '{self.audio_format}': choose one of {', '.join(AUDIO_FORMATS)}"
            )
        for option, value in (
            ("--sentence-pause", self.sentence_pause_ms),
            ("--paragraph-pause", self.paragraph_pause_ms),
        ):
            if not 0 <= value <= MAX_GAP_MS:
                raise SettingError(f"{option} {value} is out of range: give 0 to {MAX_GAP_MS} ms")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise SettingError(
                    f"unknown encoding '{self.encoding}': give a Python codec name such as cp1252"
                ) from None


@dataclass(frozen=True)
class CueRecord:
    """A subtitle cue: its number in the SRT, text and display window in samples."""

    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class SentenceRecord:
    """A spoken sentence: where its speech starts and ends, and its cues."""

    text: str
    start: int
    end: int
    cues: tuple[CueRecord, ...]
    #: The text handed to the engine (see SpokenSentence.spoken).
    spoken: str


@dataclass(frozen=True)
class ParagraphRecord:
    """A paragraph: its first line in the source, its span, and its sentences."""

    line: int
    start: int
    end: int
    sentences: tuple[SentenceRecord, ...]


@dataclass(frozen=True)
class ChapterRecord:
    """A chapter mark: its title, source line and start in samples."""

    title: str
    line: int
    start: int


@dataclass(frozen=True)
class RenderResult:
    """What a render produced, with every time in samples at ``sample_rate``."""

    script: Script
    settings: RenderSettings
    engine_fingerprint: str
    voice: str | None
    sample_rate: int
    samples: int
    audio: Path
    subtitles: Path
    webvtt: Path
    page: Path
    manifest: Path
    paragraphs: tuple[ParagraphRecord, ...]
    chapters: tuple[ChapterRecord, ...] = ()
    chapter_list: Path | None = None
    #: Outputs of an earlier render of the same stem that this one no longer
    #: writes (say ``talk.mp3`` after rendering ``--format wav``), now deleted.
    removed: tuple[Path, ...] = ()

    @property
    def duration(self) -> float:
        """Exact length of the audio in seconds."""
        return self.samples / self.sample_rate

    @property
    def cues(self) -> tuple[CueRecord, ...]:
        """All cues in order."""
        return tuple(c for p in self.paragraphs for s in p.sentences for c in s.cues)


def plan(script: Script) -> tuple[PlannedParagraph, ...]:
    """Sentences of each paragraph, in order, with the pauses the writer asked for."""
    return tuple(plan_paragraph(p) for p in script.paragraphs)


def silences(
    paragraphs: Sequence[PlannedParagraph], sentence_ms: int, paragraph_ms: int
) -> tuple[tuple[tuple[int, ...], ...], int]:
    """Milliseconds of silence before each sentence, and after the last one; pure.

    The automatic gaps are ``sentence_ms`` within a paragraph and ``paragraph_ms``
    between paragraphs. Where the writer put pauses, the silence there is exactly
    what they asked for (pauses at one place add up), and nothing automatic.
    """
    before: list[tuple[int, ...]] = []
    carried: int | None = None
    for number, paragraph in enumerate(paragraphs):
        gaps = []
        for k, sentence in enumerate(paragraph.sentences):
            explicit = sentence.pause_before_ms
            if k == 0 and carried is not None:
                explicit = carried + (explicit or 0)
            if explicit is not None:
                gaps.append(explicit)
            elif k:
                gaps.append(sentence_ms)
            else:
                gaps.append(paragraph_ms if number else 0)
        before.append(tuple(gaps))
        carried = paragraph.pause_after_ms
    return tuple(before), carried or 0


def render(
    script_path: Path | ScriptSource, settings: RenderSettings, progress: Progress | None = None
) -> RenderResult:
    """Render a script (a file, or a ScriptSource) into ``settings.out_dir``; return the result.

    Writes ``<stem>.<format>``, ``<stem>.srt``, ``<stem>.vtt``, ``<stem>.html``,
    ``<stem>.json`` and, when the script has headings, ``<stem>.chapters.txt``,
    together or not at all, and deletes the outputs of an earlier render of the
    same stem that this one does not write (see ``RenderResult.removed``).
    Raises a NarratorError subclass for bad input, settings or tools, before
    synthesis when an output is read-only or a folder.
    """
    from narrator.engines import open_engine
    from narrator.files import Staging
    from narrator.manifest import compose_chapters, manifest_json
    from narrator.page import compose_page
    from narrator.stitch import Programme, conform, encode, ffmpeg
    from narrator.subtitles import compose_srt, compose_vtt
    from narrator.synth import SentenceSpeaker

    source = as_source(script_path)
    script = source.read(settings.encoding, settings.cleaning)
    planned = plan(script)
    gaps, trailing = silences(planned, settings.sentence_pause_ms, settings.paragraph_pause_ms)
    if settings.audio_format != "wav":
        ffmpeg()
    stem = source.stem
    folder = settings.out_dir
    with Staging(folder) as staging:
        outputs = [
            f"{stem}.{extension}"
            for extension in (settings.audio_format, *_TEXT_OUTPUTS, "chapters.txt")
        ]
        staging.check(outputs, keep=source.path)
        engine = open_engine(settings.voice)
        try:
            rate = engine.sample_rate
            speaker = SentenceSpeaker(
                engine, settings.voice.rate, settings.limits, conform, settings.lexicon
            )
            if settings.audio_format == "wav":
                wav = staging.path(f"{stem}.wav")
            else:
                wav = staging.scratch(f"{stem}.wav")
            with Programme(wav, rate) as programme:
                spans, layout = _speak(script, planned, gaps, speaker, programme, progress)
                programme.pause(trailing)
                samples = programme.position
            timed = display_windows(spans, samples, rate, settings.limits)
            paragraphs = tuple(
                _paragraph_record(p.line, rows, timed)
                for p, rows in zip(script.paragraphs, layout, strict=True)
            )
            chapters = tuple(
                ChapterRecord(
                    c.title,
                    c.line,
                    paragraphs[c.paragraph].start if c.paragraph < len(paragraphs) else samples,
                )
                for c in script.chapters
            )
            audio = folder / f"{stem}.{settings.audio_format}"
            if settings.audio_format != "wav":
                stage = f"encoding {settings.audio_format}"
                if progress is not None:
                    progress(stage, 0, 1)
                encode(wav, staging.path(audio.name), settings.audio_format)
                if progress is not None:
                    progress(stage, 1, 1)
            result = RenderResult(
                script=script,
                settings=settings,
                engine_fingerprint=engine.fingerprint(),
                voice=engine.voice,
                sample_rate=rate,
                samples=samples,
                audio=audio,
                subtitles=folder / f"{stem}.srt",
                webvtt=folder / f"{stem}.vtt",
                page=folder / f"{stem}.html",
                manifest=folder / f"{stem}.json",
                paragraphs=paragraphs,
                chapters=chapters,
            )
            chapter_text = compose_chapters(result)
            if chapter_text:
                result = dataclasses.replace(result, chapter_list=folder / f"{stem}.chapters.txt")
            staging.write_text(result.subtitles.name, compose_srt(timed, rate, settings.limits))
            staging.write_text(result.webvtt.name, compose_vtt(timed, rate, settings.limits))
            staging.write_text(result.page.name, compose_page(result))
            if result.chapter_list is not None:
                staging.write_text(result.chapter_list.name, chapter_text)
            staging.write_text(result.manifest.name, manifest_json(result))
            # Decided under the folder's lock: another render may commit just before.
            removed = staging.commit(retire=lambda writing: _superseded(folder, stem, writing))
            return dataclasses.replace(result, removed=removed)
        finally:
            engine.close()


_TEXT_OUTPUTS = ("srt", "vtt", "html", "json")


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


# Per paragraph: text, spoken text, speech end, span range.
_Row = tuple[str, str, int, int, int]
_Layout = list[list[_Row]]


def _speak(
    script: Script,
    planned: Sequence[PlannedParagraph],
    gaps: Sequence[Sequence[int]],
    speaker: SentenceSpeaker,
    programme: Programme,
    progress: Progress | None,
) -> tuple[list[SpokenSpan], _Layout]:
    """Speak every sentence into the programme; return cue spans and where sentences lie."""
    total = sum(len(p.sentences) for p in planned)
    spans: list[SpokenSpan] = []
    layout: _Layout = []
    done = 0
    for paragraph, before in zip(planned, gaps, strict=True):
        layout.append([])
        for k, (sentence, gap) in enumerate(zip(paragraph.sentences, before, strict=True)):
            programme.pause(gap)
            spoken = speaker.speak(sentence.text)
            if not spoken.spans:
                raise SynthesisError(
                    f"{script.source}: paragraph at line {paragraph.line}, sentence {k + 1}: "
                    f"the engine produced no speech for {sentence.text[:50]!r}"
                )
            offset = programme.add(spoken.pcm)
            first = len(spans)
            spans.extend(
                SpokenSpan(s.text, offset + s.start, offset + s.speech_end) for s in spoken.spans
            )
            layout[-1].append(
                (sentence.text, spoken.spoken, offset + spoken.samples, first, len(spans))
            )
            done += 1
            if progress is not None:
                progress("synthesizing", done, total)
    return spans, layout


def _paragraph_record(
    line: int, rows: list[_Row], timed: tuple[TimedCue, ...]
) -> ParagraphRecord:
    sentences = []
    for text, said, speech_end, first, last in rows:
        cues = tuple(
            CueRecord(k + 1, timed[k].text, timed[k].start, timed[k].end)
            for k in range(first, last)
        )
        sentences.append(SentenceRecord(text, cues[0].start, speech_end, cues, said))
    return ParagraphRecord(line, sentences[0].start, sentences[-1].end, tuple(sentences))
