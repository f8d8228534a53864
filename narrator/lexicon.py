"""Pronunciation lexicon: how written words are to be said; subtitles keep the written form."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class PhonemeAlphabet(StrEnum):
    """Which phoneme notation an engine reads inside ``[[...]]`` in its text."""

    NONE = "none"
    #: eSpeak mnemonics, as ``espeak-ng -x`` prints them.
    ESPEAK = "espeak"
    #: IPA, as Piper's phonemizer writes it.
    IPA = "ipa"


@dataclass(frozen=True)
class Entry:
    """One written word or phrase and how to say it.

    ``say`` is a respelling any engine can read; ``phonemes`` is eSpeak phoneme
    notation (as ``espeak-ng -x`` prints it) and ``ipa`` the same in IPA (Piper's
    alphabet), each used by the engines that read that alphabet.
    """

    written: str
    say: str | None = None
    phonemes: str | None = None
    case_sensitive: bool = False
    ipa: str | None = None

    def said(self, alphabet: PhonemeAlphabet) -> str | None:
        """How an engine reading ``alphabet`` is to say it; None: as written."""
        if alphabet is PhonemeAlphabet.ESPEAK and self.phonemes:
            return f"[[{self.phonemes}]]"
        if alphabet is PhonemeAlphabet.IPA and self.ipa:
            return f"[[{self.ipa}]]"
        return self.say or None


#: A span of a text, as (start, end), and what is said in its place.
Replacement = tuple[int, int, str]


@dataclass(frozen=True)
class Respelled:
    """Spoken text for a written text, and where each replaced span went."""

    written: str
    spoken: str
    #: (written start, written end, spoken start, spoken end) of each replacement, in order.
    spans: tuple[tuple[int, int, int, int], ...] = ()

    @classmethod
    def build(cls, written: str, text: str, replacements: Iterable[Replacement]) -> Respelled:
        """``text`` (``written`` with its pictographs blanked) with the replacements made.

        Replacements are (start, end, said) in ``text``, sorted and not overlapping.
        """
        pieces: list[str] = []
        spans: list[tuple[int, int, int, int]] = []
        position = length = 0
        for start, end, said in replacements:
            assert start >= position, "replacements must be sorted and not overlap"
            pieces.append(text[position:start])
            length += start - position
            spans.append((start, end, length, length + len(said)))
            pieces.append(said)
            length += len(said)
            position = end
        pieces.append(text[position:])
        return cls(written, "".join(pieces), tuple(spans))

    def spoken_start(self, offset: int) -> int | None:
        """Spoken position of a word starting at written ``offset``; None inside a replacement."""
        for w_start, w_end, s_start, _ in self.spans:
            if w_start < offset < w_end:
                return None
            if offset == w_start:
                return s_start
        return self.spoken_offset(offset)

    def spoken_end(self, offset: int) -> int:
        """Spoken position of a word ending at written ``offset`` (exclusive)."""
        for w_start, w_end, _, s_end in self.spans:
            if w_start < offset <= w_end:
                return s_end
        return self.spoken_offset(offset)

    def spoken_offset(self, offset: int) -> int:
        """Position in the spoken text of the written character at ``offset``.

        An offset inside a replaced span maps to the start of its replacement.
        """
        starts = [span[0] for span in self.spans]
        k = bisect.bisect_right(starts, offset) - 1
        if k < 0:
            return offset
        _, w_end, s_start, s_end = self.spans[k]
        if offset < w_end:
            return s_start
        return s_end + (offset - w_end)


# Pictographs (emoji, dingbats, symbols and their variation selectors) are shown in
# subtitles but never read out: eSpeak would say "party popper" mid-sentence. Each
# becomes a space, so positions in the spoken text stay those of the written text.
_UNSPOKEN = re.compile("[\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0e\ufe0f]")


@dataclass(frozen=True)
class Lexicon:
    """A set of entries, matched on word boundaries, longest first."""

    entries: tuple[Entry, ...] = ()
    _pattern: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)
    _ordered: tuple[Entry, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.entries:
            return
        ordered = sorted(self.entries, key=lambda e: len(e.written), reverse=True)
        alternatives = [
            f"(?P<e{k}>{re.escape(e.written)})"
            if e.case_sensitive
            else f"(?P<e{k}>(?i:{re.escape(e.written)}))"
            for k, e in enumerate(ordered)
        ]
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)")
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "_ordered", tuple(ordered))

    def respell(self, text: str, alphabet: PhonemeAlphabet = PhonemeAlphabet.NONE) -> Respelled:
        """Replace every entry in ``text`` by how it is said (see ``Entry.said``)."""
        blanked = unspoken(text)
        return Respelled.build(text, blanked, self.replacements(blanked, alphabet))

    def replacements(self, text: str, alphabet: PhonemeAlphabet) -> list[Replacement]:
        """Where entries match in ``text`` and what is said there, in order.

        An entry with nothing to say for ``alphabet`` is left as written.
        """
        if self._pattern is None:
            return []
        found: list[Replacement] = []
        for match in self._pattern.finditer(text):
            group = match.lastgroup
            assert group is not None
            said = self._ordered[int(group[1:])].said(alphabet)
            if said is not None:
                found.append((match.start(), match.end(), said))
        return found


def unspoken(text: str) -> str:
    """``text`` with every pictograph replaced by a space (same length, same offsets)."""
    return _UNSPOKEN.sub(" ", text)
