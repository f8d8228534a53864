"""See before you render: what would be spoken, how it would be cut, and what was left out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.engines import ENGINES
from narrator.plan import Plan, read_plan
from narrator.script import Chapter, ScriptSource, cleaning_report
from narrator.segment import chunk_sentence, planning_seconds, tokenize
from narrator.settings import RenderSettings
from narrator.spoken import cue_may_begin
from narrator.summary import plural
from narrator.timeline import (
    Cue,
    Provenance,
    Source,
    TimedParagraph,
    TimedSentence,
    Timeline,
    chapter_marks,
    clock,
)


@dataclass(frozen=True)
class Inspection:
    """A script as narrator would speak it, without any synthesis."""

    plan: Plan
    #: Cue texts of each sentence, per paragraph, as planned from the text alone.
    cues: tuple[tuple[tuple[str, ...], ...], ...]
    estimated_seconds: float

    @property
    def settings(self) -> RenderSettings:
        """The settings the script was planned with."""
        return self.plan.settings


# An estimated timeline counts milliseconds: finer would promise a precision it lacks.
ESTIMATE_RATE = 1000


def estimated_timeline(plan: Plan) -> Timeline:
    """A Timeline of the plan from estimates alone: sentences where they would roughly be heard.

    Each sentence lasts its spoken form at the engine's pace; it has one cue, the
    sentence. The provenance's fingerprint is "estimated".
    """
    settings = plan.settings
    pace = ENGINES[settings.voice.engine].pace
    clock = 0
    paragraphs = []
    for paragraph in plan.paragraphs:
        sentences = []
        for s in paragraph.sentences:
            start = clock + s.silence_ms
            clock = start + round(pace.seconds(s.spoken, settings.voice.rate) * ESTIMATE_RATE)
            cue = Cue(s.segment, s.text, start, clock)
            sentences.append(TimedSentence(s.segment, s.text, s.spoken, start, clock, (cue,)))
        paragraphs.append(
            TimedParagraph(paragraph.line, sentences[0].start, clock, tuple(sentences))
        )
    script = plan.script
    return Timeline(
        sample_rate=ESTIMATE_RATE,
        samples=clock + plan.trailing_ms,
        paragraphs=tuple(paragraphs),
        chapters=chapter_marks(script.chapters, paragraphs, clock + plan.trailing_ms),
        provenance=Provenance(
            engine=settings.voice.engine,
            voice=None,
            rate_wpm=settings.voice.rate,
            fingerprint="estimated",
            sentence_pause_ms=settings.sentence_pause_ms,
            paragraph_pause_ms=settings.paragraph_pause_ms,
            lexicon=settings.lexicon.entries,
        ),
        source=Source(script.source, script.encoding, script.dropped, script.altered),
    )


def inspect(script_path: Path | ScriptSource, settings: RenderSettings) -> Inspection:
    """Read, clean and split a script; estimate its duration. Raises ScriptError like render."""
    plan = read_plan(script_path, settings)
    # Cues are cut exactly as an engine without word timing will cut them: from the
    # text alone, never inside a span said as a whole.
    cues = tuple(
        tuple(
            chunk_sentence(
                s.text,
                settings.limits,
                planning_seconds(settings.voice.rate),
                cue_may_begin(tokenize(s.text), s.said),
            )
            for s in p.sentences
        )
        for p in plan.paragraphs
    )
    return Inspection(plan, cues, estimated_timeline(plan).duration)


def as_data(inspection: Inspection) -> dict[str, Any]:
    """The inspection as plain data for ``--json``."""
    script = inspection.plan.script
    return {
        "source": script.source,
        "encoding": script.encoding,
        "estimated_seconds": round(inspection.estimated_seconds, 1),
        "rate_wpm": inspection.settings.voice.rate,
        "paragraphs": [
            {
                "line": paragraph.line,
                "sentences": [
                    {
                        "text": s.text,
                        # None: said as written.
                        "spoken": s.spoken if s.spoken != s.text else None,
                        "pause_before_ms": s.pause_mark_ms,
                        "cues": list(cues),
                    }
                    for s, cues in zip(paragraph.sentences, sentence_cues, strict=True)
                ],
                "pause_after_ms": paragraph.pause_after_ms,
            }
            for paragraph, sentence_cues in zip(
                inspection.plan.paragraphs, inspection.cues, strict=True
            )
        ],
        "chapters": [{"title": c.title, "line": c.line} for c in script.chapters],
        **cleaning_report(script.dropped, script.altered),
    }


def as_text(inspection: Inspection) -> str:
    """The inspection as a readable report."""
    script = inspection.plan.script
    paragraphs = inspection.plan.paragraphs
    sentences = len(inspection.plan.sentences)
    cue_count = sum(len(c) for p in inspection.cues for c in p)
    out = [
        f"{script.source}: {plural(len(paragraphs), 'paragraph')}, "
        f"{plural(sentences, 'sentence')}, {plural(cue_count, 'cue')}, "
        f"about {clock(inspection.estimated_seconds)} "
        f"(estimated at {inspection.settings.voice.rate} wpm)",
    ]
    chapters: dict[int, list[Chapter]] = {}
    for chapter in script.chapters:
        chapters.setdefault(chapter.paragraph, []).append(chapter)
    for number, (paragraph, sentence_cues) in enumerate(
        zip(paragraphs, inspection.cues, strict=True)
    ):
        for chapter in chapters.pop(number, []):
            out += ["", f"# {chapter.title}  (line {chapter.line})"]
        out += ["", f"¶{number + 1}  line {paragraph.line}"]
        sentence_rows = zip(paragraph.sentences, sentence_cues, strict=True)
        for k, (sentence, cues) in enumerate(sentence_rows):
            if sentence.pause_mark_ms is not None:
                out.append(f"    [pause {sentence.pause_mark_ms} ms]")
            out.append(f"  {k + 1}. {sentence.text}")
            if sentence.spoken != sentence.text:
                out.append(f"       said: {sentence.spoken}")
            if len(cues) > 1:
                out += [f"       cue: {cue}" for cue in cues]
        if paragraph.pause_after_ms is not None:
            out.append(f"    [pause {paragraph.pause_after_ms} ms]")
    for chapter in (c for remaining in chapters.values() for c in remaining):
        out += ["", f"# {chapter.title}  (line {chapter.line}, nothing after it)"]
    if script.dropped or script.altered:
        out += ["", "Left out or changed:"]
        rows = [(d.line, "dropped", d.rule, d.text) for d in script.dropped] + [
            (a.line, "altered", "+".join(a.rules), f"{a.before}  →  {a.after}")
            for a in script.altered
        ]
        out += [
            f"  line {n:<5} {kind:<8} {rule:<22} {text}" for n, kind, rule, text in sorted(rows)
        ]
    return "\n".join(out) + "\n"
