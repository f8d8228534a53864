"""Karaoke subtitles: the Timeline as an Advanced SubStation Alpha (v4+) script, word by word."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import PurePath

from narrator.timeline import Cue, Timeline

#: The picture the style is laid out for: full HD, as a video editor or ffmpeg burns it.
PLAY_RES = (1920, 1080)
# A sans font every Linux has (and libass finds a fallback elsewhere), large enough
# to read at a glance; two lines of 42 characters fit inside the margins.
FONT = "DejaVu Sans"
FONT_SIZE = 64
# Colours are &HAABBGGRR. A word turns from white (secondary) to gold (primary) when
# it is spoken; a black outline and a soft shadow keep both readable on any picture.
SUNG = "&H0000D7FF"
UNSUNG = "&H00FFFFFF"
OUTLINE = "&H00000000"
SHADOW = "&H80000000"
# Bottom centre inside the title-safe area: 10% of the width at each side, and
# clear of a player's controls at the bottom.
MARGIN_SIDE = 192
MARGIN_BOTTOM = 96

_STYLE_FIELDS = (
    "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
    "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
)
_EVENT_FIELDS = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"
# libass reads "\{" and "\}" as literal braces; a backslash is kept literal by a word
# joiner after it (invisible), so "\N" in the text is not read as a line break.
_WORD_JOINER = "\u2060"


def has_words(timeline: Timeline) -> bool:
    """Whether the timeline knows when each word is spoken (the engine reports it)."""
    return any(cue.words for cue in timeline.cues)


def compose_ass(timeline: Timeline) -> str:
    """The karaoke script: one Dialogue per cue, a ``{\\k}`` per word in centiseconds.

    A cue's karaoke durations add up to its display time exactly (both in
    centiseconds), each word turns when its rounded start comes, within 5 ms of
    when it is heard; a cue shown before its first word has a silent lead-in.
    """
    width, height = PLAY_RES
    style = ",".join(
        [
            "Default",
            FONT,
            str(FONT_SIZE),
            SUNG,
            UNSUNG,
            OUTLINE,
            SHADOW,
            *("0", "0", "0", "0", "100", "100", "0", "0"),
            *("1", "4", "2", "2"),  # outline and drop shadow; bottom centre
            str(MARGIN_SIDE),
            str(MARGIN_SIDE),
            str(MARGIN_BOTTOM),
            "1",
        ]
    )
    lines = [
        "[Script Info]",
        "; Written by narrator: each word turns gold as it is spoken.",
        f"Title: {_one_line(PurePath(timeline.source.file).name)}",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: None",
        "",
        "[V4+ Styles]",
        f"Format: {_STYLE_FIELDS}",
        f"Style: {style}",
        "",
        "[Events]",
        f"Format: {_EVENT_FIELDS}",
    ]
    rate = timeline.sample_rate
    for cue in timeline.cues:
        start, end = _window(cue, rate)
        text = "".join(_syllables(cue, rate))
        lines.append(f"Dialogue: 0,{_clock(start)},{_clock(end)},Default,,0,0,0,,{text}")
    return "\n".join(lines) + "\n"


def centiseconds(samples: int, rate: int) -> int:
    """Samples as whole centiseconds, rounded half up so order is preserved."""
    return (samples * 200 + rate) // (2 * rate)


def karaoke_durations(cue: Cue, rate: int) -> list[int]:
    """The ``\\k`` durations of a cue in centiseconds: a lead-in (0 if none), then one per word.

    Each word's turn comes at its start rounded to the centisecond; the last
    word lasts to the cue's end, so the durations add up to the cue's display time.
    """
    start, end = _window(cue, rate)
    turns = [min(max(centiseconds(w.start, rate), start), end) for w in cue.words]
    bounds = [start, *turns, end]
    return [b - a for a, b in itertools.pairwise(bounds)]


def escape(text: str) -> str:
    """Text as ASS shows it literally: braces escaped, a backslash never starting a tag."""
    return (
        text.replace("\\", "\\" + _WORD_JOINER)
        .replace("{", "\\{")
        .replace("}", "\\}")
        .replace("\n", "\\N")
    )


def _window(cue: Cue, rate: int) -> tuple[int, int]:
    """A cue's start and end in centiseconds; it lasts one at least."""
    start = centiseconds(cue.start, rate)
    return start, max(start + 1, centiseconds(cue.end, rate))


def _syllables(cue: Cue, rate: int) -> Iterator[str]:
    """The cue's text as karaoke syllables, its lines broken with ``\\N``."""
    if not cue.words:
        start, end = _window(cue, rate)
        yield f"{{\\k{end - start}}}{escape(cue.shown)}"
        return
    lead, *durations = karaoke_durations(cue, rate)
    if lead:
        yield f"{{\\k{lead}}}"
    for (text, after), duration in zip(cue.shown_words(), durations, strict=True):
        yield f"{{\\k{duration}}}{escape(text + after)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clock(centis: int) -> str:
    """An ASS time: H:MM:SS.cc."""
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"
