"""The JSON manifest of a Timeline: what was spoken when, how, and what was left out; and back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from narrator import __version__
from narrator.container import CHAPTER_FORMATS, SAME_START, Tags, chapter_spans
from narrator.lexicon import Entry
from narrator.loudness import LoudnessReport, report_data
from narrator.script import AlteredLine, DroppedLine, cleaning_report
from narrator.timeline import (
    Cue,
    Provenance,
    Source,
    TimedChapter,
    TimedParagraph,
    TimedSentence,
    Timeline,
    Word,
    clock,
    seconds,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Outputs:
    """The names of the files a render writes beside its manifest."""

    audio: str
    audio_format: str
    #: The audio file's own sample rate (opus is always 48 kHz).
    audio_rate: int
    srt: str
    vtt: str
    page: str
    chapter_list: str | None = None
    #: The karaoke subtitles (ASS), written when the timeline has word times.
    karaoke: str | None = None
    #: The tags written into the audio file (None: a WAV, which carries none).
    tags: Tags | None = None
    #: The cover art's file name, when the audio file carries it.
    cover: str | None = None
    #: What the mastered programme measures; None when it was not mastered.
    loudness: LoudnessReport | None = None


def build_manifest(timeline: Timeline, outputs: Outputs) -> dict[str, Any]:
    """The manifest as plain data; times in seconds to the millisecond."""
    rate = timeline.sample_rate

    def span(start: int, end: int) -> dict[str, float]:
        return {"start": seconds(start, rate), "end": seconds(end, rate)}

    def cue_record(cue: Cue) -> dict[str, Any]:
        record: dict[str, Any] = {"index": cue.index, **span(cue.start, cue.end), "text": cue.text}
        if cue.words:
            record["words"] = [{"text": w.text, **span(w.start, w.end)} for w in cue.words]
        return record

    made = timeline.provenance
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"narrator {__version__}",
        "source": {"file": timeline.source.file, "encoding": timeline.source.encoding},
        "engine": {
            "name": made.engine,
            "voice": made.voice,
            "rate_wpm": made.rate_wpm,
            "fingerprint": made.fingerprint,
            "sentence_pause_ms": made.sentence_pause_ms,
            "paragraph_pause_ms": made.paragraph_pause_ms,
        },
        "audio": {
            "file": outputs.audio,
            "format": outputs.audio_format,
            "sample_rate": outputs.audio_rate,
            "samples": timeline.samples * outputs.audio_rate // rate,
            "duration": seconds(timeline.samples, rate),
            "tags": dict(outputs.tags.fields()) if outputs.tags is not None else None,
            "chapters_inside": bool(chapter_spans(timeline))
            and outputs.audio_format in CHAPTER_FORMATS,
            "cover": outputs.cover,
            # Measured on the mastered programme before it was encoded; null: not mastered.
            "loudness": report_data(outputs.loudness) if outputs.loudness is not None else None,
        },
        "subtitles": {
            "srt": outputs.srt,
            "vtt": outputs.vtt,
            # Karaoke (ASS, word by word): None when the engine gives no word times.
            "karaoke": outputs.karaoke,
            "cues": len(timeline.cues),
            # The video frame rate the cues are timed to (2 frames apart), or None (80 ms).
            "fps": timeline.provenance.fps,
            "style": timeline.provenance.style,
            "limits": dict(timeline.provenance.limits),
        },
        # For 'narrator align': the recording the times come from, and where it is unsure.
        "alignment": None
        if made.recording is None
        else {
            "recording": made.recording,
            "reference": f"{made.engine} {made.voice or 'default'} {made.rate_wpm} wpm",
            "unsure": [span(start, end) for start, end in made.unsure],
        },
        "page": outputs.page,
        "chapter_list": outputs.chapter_list,
        "paragraphs": [
            {
                "index": p_number,
                "line": paragraph.line,
                **span(paragraph.start, paragraph.end),
                "sentences": [
                    {
                        "index": s_number,
                        "segment": sentence.segment,
                        **span(sentence.start, sentence.end),
                        "text": sentence.text,
                        # Exactly what the engine was given; pieces joined by a space.
                        "spoken": sentence.spoken,
                        **(
                            {"confidence": round(sentence.confidence, 2)}
                            if sentence.confidence is not None
                            else {}
                        ),
                        "cues": [cue_record(cue) for cue in sentence.cues],
                    }
                    for s_number, sentence in enumerate(paragraph.sentences, start=1)
                ],
            }
            for p_number, paragraph in enumerate(timeline.paragraphs, start=1)
        ],
        "chapters": [
            {"title": c.title, "line": c.line, "start": seconds(c.start, rate)}
            for c in timeline.chapters
        ],
        **cleaning_report(timeline.source.dropped, timeline.source.altered),
        "lexicon": [
            {"word": e.written, "say": e.say, "phonemes": e.phonemes, "ipa": e.ipa}
            for e in made.lexicon
        ],
    }


def manifest_json(timeline: Timeline, outputs: Outputs) -> str:
    """The manifest as indented UTF-8 JSON text, each sentence on a line of its own.

    Indenting every word of an hour's programme makes a file of 100,000 lines and
    takes Python's slow indenting encoder half a second: a sentence, its cues and
    their words are one compact line instead.
    """
    data = build_manifest(timeline, outputs)
    paragraphs = data["paragraphs"]
    data["paragraphs"] = _PLACEHOLDER
    text = json.dumps(data, ensure_ascii=False, indent=2)
    rows = []
    for paragraph in paragraphs:
        head = {key: value for key, value in paragraph.items() if key != "sentences"}
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        sentences = ",\n".join(
            "      " + json.dumps(s, ensure_ascii=False) for s in paragraph["sentences"]
        )
        rows.append(f'    {opening}, "sentences": [\n{sentences}\n    ]}}')
    listed = "[\n" + ",\n".join(rows) + "\n  ]" if rows else "[]"
    return text.replace(json.dumps(_PLACEHOLDER), listed, 1) + "\n"


#: Stands in for the paragraphs while the rest of the manifest is indented.
_PLACEHOLDER = "\u0000paragraphs\u0000"


def read_timeline(data: dict[str, Any]) -> Timeline:
    """The Timeline a manifest records, at the audio file's sample rate (times to the ms).

    Raises KeyError, TypeError or ValueError for data that is not a narrator manifest.
    """
    if not str(data["generator"]).startswith("narrator "):
        raise ValueError("not a narrator manifest")
    rate = int(data["audio"]["sample_rate"])

    def at(value: Any) -> int:
        return round(float(value) * rate)

    paragraphs = tuple(
        TimedParagraph(
            int(p["line"]),
            at(p["start"]),
            at(p["end"]),
            tuple(
                TimedSentence(
                    int(s["segment"]),
                    str(s["text"]),
                    str(s["spoken"]),
                    at(s["start"]),
                    at(s["end"]),
                    tuple(
                        Cue(
                            int(c["index"]),
                            str(c["text"]),
                            at(c["start"]),
                            at(c["end"]),
                            words=tuple(
                                Word(str(w["text"]), at(w["start"]), at(w["end"]))
                                for w in c.get("words", ())
                            ),
                        )
                        for c in s["cues"]
                    ),
                    s.get("confidence"),
                )
                for s in p["sentences"]
            ),
        )
        for p in data["paragraphs"]
    )
    engine = data["engine"]
    return Timeline(
        sample_rate=rate,
        samples=int(data["audio"]["samples"]),
        paragraphs=paragraphs,
        chapters=tuple(
            TimedChapter(str(c["title"]), int(c["line"]), at(c["start"])) for c in data["chapters"]
        ),
        provenance=Provenance(
            engine=str(engine["name"]),
            voice=engine["voice"],
            rate_wpm=int(engine["rate_wpm"]),
            fingerprint=str(engine["fingerprint"]),
            sentence_pause_ms=int(engine["sentence_pause_ms"]),
            paragraph_pause_ms=int(engine["paragraph_pause_ms"]),
            fps=data["subtitles"].get("fps"),
            style=str(data["subtitles"].get("style", "netflix")),
            limits=tuple(data["subtitles"].get("limits", {}).items()),
            recording=(data.get("alignment") or {}).get("recording"),
            unsure=tuple(
                (at(u["start"]), at(u["end"]))
                for u in (data.get("alignment") or {}).get("unsure", ())
            ),
            lexicon=tuple(
                Entry(e["word"], e["say"], e["phonemes"], ipa=e["ipa"])
                for e in data.get("lexicon", [])
            ),
        ),
        source=Source(
            str(data["source"]["file"]),
            str(data["source"]["encoding"]),
            tuple(DroppedLine(int(d["line"]), d["text"], d["rule"]) for d in data["dropped"]),
            tuple(
                AlteredLine(int(a["line"]), a["before"], a["after"], tuple(a["rules"]))
                for a in data["altered"]
            ),
        ),
    )


def recorded_outputs(data: dict[str, Any]) -> list[str]:
    """The file names a manifest says its render wrote besides itself; [] if not ours.

    Raises KeyError or TypeError for a manifest of another shape.
    """
    if not str(data["generator"]).startswith("narrator "):
        return []
    names = [
        data["audio"]["file"],
        data["subtitles"]["srt"],
        data["subtitles"]["vtt"],
        data["subtitles"].get("karaoke"),
        data["page"],
        data["chapter_list"],
    ]
    return [name for name in names if isinstance(name, str)]


def compose_chapters(timeline: Timeline) -> str:
    """The chapter list as YouTube reads it: ``0:00 Title`` lines, the first at 0:00.

    A chapter that opens the script starts at 0:00 even after a leading pause;
    narration before the first heading becomes an 'Introduction' chapter.
    Headings that fall on the same second are merged into one line (YouTube
    rejects repeated times), and a heading with no narration after it is left
    out. Returns "" when no chapter remains.
    """
    rate = timeline.sample_rate
    entries: dict[str, list[str]] = {}
    for span in chapter_spans(timeline):
        entries.setdefault(clock(span.start / rate), []).append(span.title)
    return "".join(f"{time} {SAME_START.join(titles)}\n" for time, titles in entries.items())
