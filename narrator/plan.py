"""The Plan: what will be said, in which order, with which silences; pure, from the script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from narrator.engines import ENGINES
from narrator.lexicon import Respelled
from narrator.script import Chapter, Script, ScriptSource, as_source
from narrator.segment import PlannedParagraph, plan_paragraph
from narrator.settings import RenderSettings
from narrator.spoken import spoken_form


@dataclass(frozen=True)
class PlanSentence:
    """A sentence to speak: its segment number, text, spoken form and the silence before it."""

    #: Numbered 1, 2, ... through the script: the one numbering of segments.
    segment: int
    text: str
    #: What the engine is given, with the map back to the written text.
    said: Respelled
    #: Milliseconds of silence before it, automatic or asked for.
    silence_ms: int
    #: The pause the writer wrote before it ([pause 2s]), None if none.
    pause_mark_ms: int | None = None

    @property
    def spoken(self) -> str:
        """The text handed to the engine."""
        return self.said.spoken


@dataclass(frozen=True)
class PlanParagraph:
    """A paragraph's sentences, its first line in the source, and any pause written after it."""

    line: int
    sentences: tuple[PlanSentence, ...]
    pause_after_ms: int | None = None


@dataclass(frozen=True)
class Plan:
    """A script planned for speech with one engine's phonemes; no synthesis done."""

    script: Script
    paragraphs: tuple[PlanParagraph, ...]
    #: Milliseconds of silence after the last sentence (a pause written at the end).
    trailing_ms: int
    settings: RenderSettings

    @cached_property
    def sentences(self) -> tuple[PlanSentence, ...]:
        """Every sentence in order (asked for once per sentence heard: kept)."""
        return tuple(s for p in self.paragraphs for s in p.sentences)

    @property
    def chapters(self) -> tuple[Chapter, ...]:
        """The script's headings."""
        return self.script.chapters


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


def make_plan(script: Script, settings: RenderSettings) -> Plan:
    """Plan a cleaned script: sentences, silences, spoken forms and segment numbers."""
    planned = tuple(plan_paragraph(p) for p in script.paragraphs)
    gaps, trailing = silences(planned, settings.sentence_pause_ms, settings.paragraph_pause_ms)
    mastering = settings.mastering
    if mastering is not None and gaps:
        # The room tone a store asks for at the head and the tail (ACX), never less than
        # a pause the writer put there.
        gaps = ((max(gaps[0][0], mastering.head_ms), *gaps[0][1:]), *gaps[1:])
        trailing = max(trailing, mastering.tail_ms)
    alphabet = ENGINES[settings.voice.engine].phonemes
    paragraphs = []
    segment = 0
    for paragraph, before in zip(planned, gaps, strict=True):
        sentences = []
        for sentence, gap in zip(paragraph.sentences, before, strict=True):
            segment += 1
            said = spoken_form(sentence.text, settings.lexicon, alphabet)
            sentences.append(
                PlanSentence(segment, sentence.text, said, gap, sentence.pause_before_ms)
            )
        paragraphs.append(PlanParagraph(paragraph.line, tuple(sentences), paragraph.pause_after_ms))
    return Plan(script, tuple(paragraphs), trailing, settings)


def read_plan(script: Path | ScriptSource, settings: RenderSettings) -> Plan:
    """Read, clean and plan a script; raises ScriptError for a script it cannot use."""
    source = as_source(script)
    return make_plan(source.read(settings.encoding, settings.cleaning), settings)
