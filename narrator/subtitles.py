"""Write a Timeline's cues as SubRip (SRT, with the srt library) and WebVTT subtitles."""

from __future__ import annotations

from datetime import timedelta

from narrator.timeline import Timeline, milliseconds


def compose_srt(timeline: Timeline) -> str:
    """The SRT document of the timeline's cues."""
    import srt

    rate = timeline.sample_rate
    subtitles = [
        srt.Subtitle(
            index=cue.index,
            start=timedelta(milliseconds=milliseconds(cue.start, rate)),
            end=timedelta(milliseconds=milliseconds(cue.end, rate)),
            content=cue.shown,
        )
        for cue in timeline.cues
    ]
    text: str = srt.compose(subtitles, reindex=False)
    return text


def vtt_time(milliseconds_total: int) -> str:
    """A WebVTT timestamp, HH:MM:SS.mmm."""
    hours, rest = divmod(milliseconds_total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def compose_vtt(timeline: Timeline) -> str:
    """The WebVTT document for the same cues, times and line breaks as the SRT."""
    rate = timeline.sample_rate
    blocks = ["WEBVTT"]
    for cue in timeline.cues:
        start = vtt_time(milliseconds(cue.start, rate))
        end = vtt_time(milliseconds(cue.end, rate))
        # "-->" may not appear in cue text; '&' and '<' are markup in WebVTT.
        text = cue.shown.replace("&", "&amp;").replace("<", "&lt;")
        blocks.append(f"{cue.index}\n{start} --> {end}\n{text.replace('-->', '--&gt;')}")
    return "\n\n".join(blocks) + "\n"
