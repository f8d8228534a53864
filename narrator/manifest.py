"""The JSON manifest: what was spoken when, with the settings and the dropped lines."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from narrator import __version__
from narrator.cues import seconds
from narrator.stitch import output_rate

if TYPE_CHECKING:
    from narrator.render import RenderResult
    from narrator.script import Script

SCHEMA_VERSION = 1


def build_manifest(result: RenderResult) -> dict[str, Any]:
    """The manifest as plain data; times in seconds to the millisecond."""
    rate = result.sample_rate

    def span(start: int, end: int) -> dict[str, float]:
        return {"start": seconds(start, rate), "end": seconds(end, rate)}

    settings = result.settings
    file_rate = output_rate(settings.audio_format, rate)
    segments = itertools.count(1)  # sentences numbered through the script, as in preview
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"narrator {__version__}",
        "source": {"file": result.script.source, "encoding": result.script.encoding},
        "engine": {
            "name": settings.voice.engine,
            "voice": result.voice,
            "rate_wpm": settings.voice.rate,
            "fingerprint": result.engine_fingerprint,
            "sentence_pause_ms": settings.sentence_pause_ms,
            "paragraph_pause_ms": settings.paragraph_pause_ms,
        },
        "audio": {
            "file": result.audio.name,
            "format": settings.audio_format,
            # The file's own rate (opus is always 48 kHz); its length in those samples.
            "sample_rate": file_rate,
            "samples": result.samples * file_rate // rate,
            "duration": seconds(result.samples, rate),
        },
        "subtitles": {
            "srt": result.subtitles.name,
            "vtt": result.webvtt.name,
            "cues": len(result.cues),
        },
        "page": result.page.name,
        "chapter_list": result.chapter_list.name if result.chapter_list else None,
        "paragraphs": [
            {
                "index": p_number,
                "line": paragraph.line,
                **span(paragraph.start, paragraph.end),
                "sentences": [
                    {
                        "index": s_number,
                        "segment": next(segments),
                        **span(sentence.start, sentence.end),
                        "text": sentence.text,
                        # Exactly what the engine was given; pieces joined by a space.
                        "spoken": sentence.spoken,
                        "cues": [
                            {"index": cue.index, **span(cue.start, cue.end), "text": cue.text}
                            for cue in sentence.cues
                        ],
                    }
                    for s_number, sentence in enumerate(paragraph.sentences, start=1)
                ],
            }
            for p_number, paragraph in enumerate(result.paragraphs, start=1)
        ],
        "chapters": [
            {"title": c.title, "line": c.line, "start": seconds(c.start, rate)}
            for c in result.chapters
        ],
        **cleaning_report(result.script),
        "lexicon": [
            {"word": e.written, "say": e.say, "phonemes": e.phonemes, "ipa": e.ipa}
            for e in settings.lexicon.entries
        ],
    }


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
        data["page"],
        data["chapter_list"],
    ]
    return [name for name in names if isinstance(name, str)]


def cleaning_report(script: Script) -> dict[str, list[dict[str, Any]]]:
    """The lines cleaning dropped or changed, with line numbers and rules."""
    return {
        "dropped": [{"line": d.line, "text": d.text, "rule": d.rule} for d in script.dropped],
        "altered": [
            {"line": a.line, "before": a.before, "after": a.after, "rules": list(a.rules)}
            for a in script.altered
        ],
    }


def clock(seconds_total: float) -> str:
    """A YouTube chapter time: M:SS, or H:MM:SS from an hour on (whole seconds, rounded down)."""
    whole = int(seconds_total)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def compose_chapters(result: RenderResult) -> str:
    """The chapter list as YouTube reads it: ``0:00 Title`` lines, the first at 0:00.

    A chapter that opens the script starts at 0:00 even after a leading pause;
    narration before the first heading becomes an 'Introduction' chapter.
    Headings that fall on the same second are merged into one line (YouTube
    rejects repeated times), and a heading with no narration after it is left
    out. Returns "" when no chapter remains.
    """
    rate = result.sample_rate
    if not result.paragraphs:
        return ""
    first_speech = result.paragraphs[0].start
    last_speech = result.paragraphs[-1].end
    entries: dict[str, list[str]] = {}
    for chapter in result.chapters:
        if chapter.start >= last_speech:
            continue
        start = 0 if chapter.start <= first_speech else chapter.start
        if not entries and start > 0:
            entries["0:00"] = ["Introduction"]
        entries.setdefault(clock(start / rate), []).append(chapter.title)
    return "".join(f"{time} {' – '.join(titles)}\n" for time, titles in entries.items())


def manifest_json(result: RenderResult) -> str:
    """The manifest as indented UTF-8 JSON text."""
    return json.dumps(build_manifest(result), ensure_ascii=False, indent=2) + "\n"
