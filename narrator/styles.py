"""Subtitle house styles: named sets of cue limits, and the checks that keep them possible."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from narrator.cues import GAP_FRAMES
from narrator.errors import SettingError
from narrator.segment import CueLimits

# Longer than any English word a script is likely to hold in one line (a line must
# take at least one word: words are never cut).
SHORTEST_LINE = 12


@dataclass(frozen=True)
class SubtitleStyle:
    """A house style: its name, the cue limits, and the least gap between cues in frames."""

    name: str
    limits: CueLimits
    min_gap_frames: int = GAP_FRAMES

    def recorded(self) -> tuple[tuple[str, float], ...]:
        """Every limit by its config key, as the manifest records them."""
        values = dataclasses.asdict(self.limits) | {"min_gap_frames": self.min_gap_frames}
        return tuple((key, values[key]) for key in LIMIT_KEYS)


#: The presets. Netflix's English guide: 42 characters a line, 2 lines, 5/6 s to 7 s,
#: 20 characters a second for adults. The BBC's: 37 characters a line (about 68% of the
#: screen's width), 2 lines. Shorts: one line of about 20 characters (2 to 4 words), as
#: vertical-video captions are made by hand, on screen as briefly as the words are said.
STYLES: dict[str, SubtitleStyle] = {
    "netflix": SubtitleStyle("netflix", CueLimits()),
    "bbc": SubtitleStyle("bbc", CueLimits(max_line=37)),
    "shorts": SubtitleStyle(
        "shorts",
        CueLimits(
            max_line=20, max_lines=1, min_seconds=0.5, max_seconds=3.0, split_at_pauses=True
        ),
    ),
}
DEFAULT_STYLE = "netflix"

#: The limits a config file (or the CLI) may set one by one, with their types.
LIMIT_KEYS: dict[str, type] = {
    "max_line": int,
    "max_lines": int,
    "max_cps": float,
    "min_seconds": float,
    "max_seconds": float,
    "min_gap_frames": int,
}


def style(name: str, **limits: float) -> SubtitleStyle:
    """The preset ``name`` with some of its limits changed; SettingError naming the key.

    An impossible combination is refused: a line shorter than SHORTEST_LINE (a word
    would not fit), not 1 or 2 lines, a minimum above the maximum, a speed or a
    length that is not positive.
    """
    base = STYLES.get(name.strip().lower())
    if base is None:
        raise SettingError(
            f"unknown subtitle style '{name}': choose one of {', '.join(STYLES)}"
        )
    for key in limits:
        if key not in LIMIT_KEYS:
            raise SettingError(f"unknown subtitle limit '{key}': give {', '.join(LIMIT_KEYS)}")
    gap = int(limits.pop("min_gap_frames", base.min_gap_frames))
    chosen = dataclasses.replace(base.limits, **limits)  # type: ignore[arg-type]
    _check(chosen, gap)
    return SubtitleStyle(base.name, chosen, gap)


def _check(limits: CueLimits, gap: int) -> None:
    if limits.max_line < SHORTEST_LINE:
        raise SettingError(
            f"max_line {limits.max_line} is shorter than a long word: give at least "
            f"{SHORTEST_LINE} characters"
        )
    if limits.max_lines not in (1, 2):
        raise SettingError(f"max_lines {limits.max_lines}: give 1 or 2")
    if not limits.max_cps > 0:
        raise SettingError(f"max_cps {limits.max_cps}: give a reading speed above 0")
    if not 0 < limits.max_seconds <= 60:
        raise SettingError(f"max_seconds {limits.max_seconds}: give 0 to 60 seconds")
    if not 0 <= limits.min_seconds <= limits.max_seconds:
        raise SettingError(
            f"min_seconds {limits.min_seconds} is above max_seconds {limits.max_seconds}: "
            "give a minimum at most the maximum"
        )
    if not 0 <= gap <= 12:
        raise SettingError(f"min_gap_frames {gap}: give 0 to 12 frames")
