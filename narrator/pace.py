"""How long an engine takes to say a text: the duration estimate behind check and preview; pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The rate the coefficients are measured at; other rates scale inversely.
REFERENCE_WPM = 175

_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
# Marks where eSpeak pauses inside a sentence (a dash only when spaced, not in "well-known").
_PAUSE = re.compile(r"[,;:()—–]|\s-\s")


@dataclass(frozen=True)
class Pace:
    """Seconds of speech at REFERENCE_WPM, per letter, per digit, per pause mark, per sentence.

    It weighs the spoken form (numbers already in words), where digits are rare
    ("10km"); a weight the calibration texts cannot measure is 0. The coefficients
    come from ``scripts/calibrate_pace.py``, a least-squares fit over rendered sentences.
    """

    letter: float
    digit: float
    pause: float
    sentence: float

    def seconds(self, sentence: str, rate_wpm: int) -> float:
        """Estimated speaking time of one sentence, never negative."""
        weights = (self.letter, self.digit, self.pause, self.sentence)
        at_reference = sum(w * n for w, n in zip(weights, features(sentence), strict=True))
        return max(0.0, at_reference) * REFERENCE_WPM / rate_wpm


def features(sentence: str) -> tuple[int, int, int, int]:
    """The counts a Pace weighs: letters, digits, pause marks and one for the sentence."""
    return (
        len(_LETTER.findall(sentence)),
        len(_DIGIT.findall(sentence)),
        len(_PAUSE.findall(sentence)),
        1,
    )
