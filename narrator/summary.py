"""What a render tells its user at the end: every file written, with counts that match them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from narrator.manifest import compose_chapters

if TYPE_CHECKING:
    from narrator.render import RenderResult


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 cue', '2 cues', '0 cues'; ``many`` for irregular plurals."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def duration(seconds_total: float) -> str:
    """M:SS.mmm, or H:MM:SS.mmm from an hour on."""
    millis = round(seconds_total * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}.{millis:03d}"
    return f"{minutes}:{secs:02d}.{millis:03d}"


def max_cps(result: RenderResult) -> float | None:
    """The fastest reading speed a cue asks for: its characters over its time on screen."""
    rate = result.sample_rate
    speeds = [len(c.text) * rate / (c.end - c.start) for c in result.cues if c.end > c.start]
    return max(speeds, default=None)


def summary_lines(result: RenderResult) -> list[str]:
    """One line per file written, then what was left out of the script."""
    cues = plural(len(result.cues), "cue")
    fastest = max_cps(result)
    if fastest is not None:
        cues += f", read at most {fastest:.1f} characters/s"
    sentences = sum(len(p.sentences) for p in result.paragraphs)
    rows = [
        ("audio", result.audio, duration(result.duration)),
        ("subtitles", result.subtitles, cues),
        ("webvtt", result.webvtt, cues),
        ("page", result.page, ""),
        (
            "manifest",
            result.manifest,
            f"{plural(len(result.paragraphs), 'paragraph')}, {plural(sentences, 'sentence')}",
        ),
    ]
    if result.karaoke is not None:
        rows.append(("karaoke", result.karaoke, f"{plural(len(result.cues), 'cue')}, word by word"))
    if result.chapter_list is not None:
        entries = compose_chapters(result.timeline).count("\n")
        rows.append(("chapters", result.chapter_list, plural(entries, "chapter")))
    width = max(len(str(path)) for _, path, _ in rows)
    sentences_line = (
        f"{plural(result.synthesized, 'sentence')} synthesized, "
        f"{result.cached} from the clip cache"
    )
    lines = [f"{kind:<10} {path!s:<{width}}  {detail}".rstrip() for kind, path, detail in rows]
    lines.append(f"speech     {sentences_line}")
    if result.loudness is not None:
        from narrator.loudness import report_line

        lines.append(report_line(result.loudness))
    lines += [
        f"removed    {path}  (an earlier render's, not written this time)"
        for path in result.removed
    ]
    missing = no_karaoke(result)
    if missing is not None:
        lines.append(missing)
    dropped = len(result.script.dropped)
    if dropped:
        lines.append(
            f"left out   {plural(dropped, 'line')} of the script: "
            "see the manifest or 'narrator check'"
        )
    return lines


def no_karaoke(result: RenderResult) -> str | None:
    """The line saying why a render wrote no karaoke file; None when it wrote one."""
    if result.karaoke is not None:
        return None
    from narrator.engines import ENGINES

    engine = result.timeline.provenance.engine
    timed = " and ".join(name for name, info in ENGINES.items() if info.word_timing)
    return f"karaoke    none: {engine} gives no word times ({timed} do)"
