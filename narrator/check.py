"""See before you render: what would be spoken, how it would be cut, and what was left out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.engines import ENGINES
from narrator.manifest import cleaning_report, clock
from narrator.render import RenderSettings, plan, silences
from narrator.script import Chapter, Script, ScriptSource, as_source
from narrator.segment import PlannedParagraph, chunk_sentence, planning_seconds, tokenize
from narrator.spoken import cue_may_begin, spoken_form
from narrator.summary import plural


@dataclass(frozen=True)
class Inspection:
    """A script as narrator would speak it, without any synthesis."""

    script: Script
    paragraphs: tuple[PlannedParagraph, ...]
    #: Cue texts of each sentence, per paragraph, as planned from the text alone.
    cues: tuple[tuple[tuple[str, ...], ...], ...]
    #: What the engine would be given for each sentence, per paragraph.
    spoken: tuple[tuple[str, ...], ...]
    estimated_seconds: float
    settings: RenderSettings


def speaking_seconds(text: str, settings: RenderSettings) -> float:
    """How long the engine in ``settings`` takes to say the written ``text``.

    Timed from what the engine is given: "£240,000" takes as long as its six words.
    """
    engine = ENGINES[settings.voice.engine]
    said = spoken_form(text, settings.lexicon, engine.phonemes).spoken
    return engine.pace.seconds(said, settings.voice.rate)


def inspect(script_path: Path | ScriptSource, settings: RenderSettings) -> Inspection:
    """Read, clean and split a script; estimate its duration. Raises ScriptError like render."""
    script = as_source(script_path).read(settings.encoding, settings.cleaning)
    paragraphs = plan(script)
    engine = ENGINES[settings.voice.engine]
    said = tuple(
        tuple(spoken_form(s.text, settings.lexicon, engine.phonemes) for s in p.sentences)
        for p in paragraphs
    )
    # Cues are cut exactly as an engine without word timing will cut them: from the
    # text alone, never inside a span said as a whole.
    cues = tuple(
        tuple(
            chunk_sentence(
                s.text,
                settings.limits,
                planning_seconds(settings.voice.rate),
                cue_may_begin(tokenize(s.text), form),
            )
            for s, form in zip(p.sentences, forms, strict=True)
        )
        for p, forms in zip(paragraphs, said, strict=True)
    )
    gaps, trailing = silences(paragraphs, settings.sentence_pause_ms, settings.paragraph_pause_ms)
    # As speaking_seconds, with each sentence's spoken form computed once.
    spoken = sum(
        engine.pace.seconds(form.spoken, settings.voice.rate) for forms in said for form in forms
    )
    quiet = (sum(sum(g) for g in gaps) + trailing) / 1000
    spoken_texts = tuple(tuple(r.spoken for r in forms) for forms in said)
    return Inspection(script, paragraphs, cues, spoken_texts, spoken + quiet, settings)


def as_data(inspection: Inspection) -> dict[str, Any]:
    """The inspection as plain data for ``--json``."""
    script = inspection.script
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
                        "spoken": said if said != s.text else None,
                        "pause_before_ms": s.pause_before_ms,
                        "cues": list(cues),
                    }
                    for s, cues, said in zip(
                        paragraph.sentences, sentence_cues, sentence_said, strict=True
                    )
                ],
                "pause_after_ms": paragraph.pause_after_ms,
            }
            for paragraph, sentence_cues, sentence_said in zip(
                inspection.paragraphs, inspection.cues, inspection.spoken, strict=True
            )
        ],
        "chapters": [{"title": c.title, "line": c.line} for c in script.chapters],
        **cleaning_report(script),
    }


def as_text(inspection: Inspection) -> str:
    """The inspection as a readable report."""
    script = inspection.script
    sentences = sum(len(p.sentences) for p in inspection.paragraphs)
    cue_count = sum(len(c) for p in inspection.cues for c in p)
    out = [
        f"{script.source}: {plural(len(inspection.paragraphs), 'paragraph')}, "
        f"{plural(sentences, 'sentence')}, {plural(cue_count, 'cue')}, "
        f"about {clock(inspection.estimated_seconds)} "
        f"(estimated at {inspection.settings.voice.rate} wpm)",
    ]
    chapters: dict[int, list[Chapter]] = {}
    for chapter in script.chapters:
        chapters.setdefault(chapter.paragraph, []).append(chapter)
    for number, (paragraph, sentence_cues, sentence_said) in enumerate(
        zip(inspection.paragraphs, inspection.cues, inspection.spoken, strict=True)
    ):
        for chapter in chapters.pop(number, []):
            out += ["", f"# {chapter.title}  (line {chapter.line})"]
        out += ["", f"¶{number + 1}  line {paragraph.line}"]
        sentence_rows = zip(paragraph.sentences, sentence_cues, sentence_said, strict=True)
        for k, (sentence, cues, said) in enumerate(sentence_rows):
            if sentence.pause_before_ms is not None:
                out.append(f"    [pause {sentence.pause_before_ms} ms]")
            out.append(f"  {k + 1}. {sentence.text}")
            if said != sentence.text:
                out.append(f"       said: {said}")
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
