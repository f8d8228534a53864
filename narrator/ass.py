"""Karaoke subtitles: the Timeline as an Advanced SubStation Alpha (v4+) script, word by word."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from narrator.timeline import Cue, Timeline

#: The picture the styles are laid out for: full HD, as a video editor or ffmpeg burns it.
PLAY_RES = (1920, 1080)
#: Colours are &HAABBGGRR.
WHITE = "&H00FFFFFF"
BLACK = "&H00000000"


@dataclass(frozen=True)
class AssStyle:
    """An ASS style: font, colours, border and margins, for a 1920x1080 picture."""

    font: str
    size: int
    #: A word's colour once spoken (karaoke), or the text's colour.
    primary: str
    #: A word's colour before it is spoken (karaoke).
    secondary: str
    outline: str
    back: str
    #: 1: outline and drop shadow; 3: an opaque box behind each line.
    border_style: int
    border: int
    shadow: int
    margin_side: int
    margin_bottom: int

    def line(self) -> str:
        """The style's line in the [V4+ Styles] section, named Default, bottom centre."""
        fields = [
            "Default",
            self.font,
            str(self.size),
            self.primary,
            self.secondary,
            self.outline,
            self.back,
            *("0", "0", "0", "0", "100", "100", "0", "0"),
            str(self.border_style),
            str(self.border),
            str(self.shadow),
            "2",  # bottom centre
            str(self.margin_side),
            str(self.margin_side),
            str(self.margin_bottom),
            "1",
        ]
        return "Style: " + ",".join(fields)


# A sans font every Linux has (and libass finds a fallback elsewhere), large enough to
# read at a glance; two lines of 42 characters fit inside the margins. A word turns
# from white to gold when it is spoken; a black outline and a soft shadow keep both
# readable on any picture. Bottom centre inside the title-safe area: 10% of the width
# at each side, and clear of a player's controls at the bottom.
KARAOKE = AssStyle(
    font="DejaVu Sans",
    size=64,
    primary="&H0000D7FF",
    secondary=WHITE,
    outline=BLACK,
    back="&H80000000",
    border_style=1,
    border=4,
    shadow=2,
    margin_side=192,
    margin_bottom=96,
)
# Drawn into a video's picture: white on an opaque black box (libass paints the box in
# the outline colour, padded by the border), the highest contrast there is, inside the
# 10% title-safe margins.
BURNED = AssStyle(
    font="DejaVu Sans",
    size=56,
    primary=WHITE,
    secondary=WHITE,
    outline=BLACK,
    back=BLACK,
    border_style=3,
    border=10,
    shadow=0,
    margin_side=192,
    margin_bottom=108,
)

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


def compose_ass(timeline: Timeline, style: AssStyle = KARAOKE, karaoke: bool = True) -> str:
    """The timeline as an ASS script: one Dialogue per cue, its lines as laid out.

    With ``karaoke``, a ``{\\k}`` per word in centiseconds: a cue's karaoke
    durations add up to its display time exactly (both in centiseconds), each
    word turns when its rounded start comes, within 5 ms of when it is heard;
    a cue shown before its first word has a silent lead-in. Without, the plain
    cues (as burned into a video's picture).
    """
    width, height = PLAY_RES
    lines = [
        "[Script Info]",
        "; Written by narrator"
        + (": each word changes colour as it is spoken." if karaoke else "."),
        f"Title: {_one_line(PurePath(timeline.source.file).name)}",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        f"Format: {_STYLE_FIELDS}",
        style.line(),
        "",
        "[Events]",
        f"Format: {_EVENT_FIELDS}",
    ]
    rate = timeline.sample_rate
    for cue in timeline.cues:
        start, end = _window(cue, rate)
        text = "".join(_syllables(cue, rate)) if karaoke else escape(cue.shown)
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
