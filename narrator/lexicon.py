"""Pronunciation lexicon: how written words are to be said; subtitles keep the written form."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    """One written word or phrase and how to say it.

    ``say`` is a respelling any engine can read; ``phonemes`` is eSpeak phoneme
    notation (as ``espeak-ng -x`` prints it), used by engines that accept it.
    """

    written: str
    say: str | None = None
    phonemes: str | None = None
    case_sensitive: bool = False


@dataclass(frozen=True)
class Respelled:
    """Spoken text for a written text, and where each replaced span went."""

    written: str
    spoken: str
    #: (written start, written end, spoken start, spoken end) of each replacement, in order.
    spans: tuple[tuple[int, int, int, int], ...] = ()

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
_UNSPOKEN = {
    code: " "
    for first, last in ((0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x1F000, 0x1FAFF), (0xFE0E, 0xFE0F))
    for code in range(first, last + 1)
}


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

    def respell(self, text: str, phonemes: bool = False) -> Respelled:
        """Replace every entry in ``text`` by how it is said.

        With ``phonemes`` (an engine that reads eSpeak phonemes), entries that
        have phonemes are given as ``[[…]]``; otherwise their ``say`` form is used,
        and an entry with neither for this engine is left as written.
        """
        written, text = text, text.translate(_UNSPOKEN)
        if self._pattern is None:
            return Respelled(written, text)
        ordered = self._ordered
        pieces: list[str] = []
        spans: list[tuple[int, int, int, int]] = []
        position = length = 0
        for match in self._pattern.finditer(text):
            group = match.lastgroup
            assert group is not None
            entry = ordered[int(group[1:])]
            if phonemes and entry.phonemes:
                said = f"[[{entry.phonemes}]]"
            elif entry.say:
                said = entry.say
            else:
                continue
            pieces.append(text[position : match.start()])
            length += match.start() - position
            spans.append((match.start(), match.end(), length, length + len(said)))
            pieces.append(said)
            length += len(said)
            position = match.end()
        pieces.append(text[position:])
        return Respelled(written, "".join(pieces), tuple(spans))
