"""Split paragraphs into sentences, and sentences into readable subtitle cues; pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

MAX_LINE = 42
MAX_LINES = 2
MAX_SECONDS = 7.0
MIN_SECONDS = 5 / 6
MAX_CPS = 20.0


@dataclass(frozen=True)
class CueLimits:
    """Readability limits every cue must respect."""

    max_line: int = MAX_LINE
    max_lines: int = MAX_LINES
    max_seconds: float = MAX_SECONDS
    min_seconds: float = MIN_SECONDS
    max_cps: float = MAX_CPS

    @property
    def max_chars(self) -> int:
        """Most characters a cue can hold, counting one space per line break."""
        return self.max_line * self.max_lines + self.max_lines - 1


@dataclass(frozen=True)
class Token:
    """A word as written (with its punctuation) and its character span in the sentence."""

    text: str
    start: int
    end: int


_HAS_WORD = re.compile(r"\w")
# A full stop inside a sentence ends an abbreviation ("U.S.", "Mr."), not a clause:
# the sentence splitter has already cut at real sentence ends.
_CLAUSE_END = re.compile(r"[!?;:…]['\"’”)\]]*$")
_SOFT_END = re.compile(r"[,)\]]['\"’”]*$")
_DASHES = frozenset({"-", "–", "—", "--"})
_CONJUNCTIONS = frozenset(
    "and but or nor so yet because although though while whilst which who whom whose "
    "that where when whereas if unless until since as than".split()
)
_PREPOSITIONS = frozenset(
    "in on at by for from with without of to into onto over under between against "
    "through during after before about across along around toward towards despite "
    "near among amid beyond within upon via".split()
)
# A line or cue must not end on one of these: it strands the word from its phrase.
_CLINGING = frozenset(
    "a an the this that these those my your his her its our their of to in on at by "
    "for from with and or but mr mrs ms dr st no".split()
)


# Breaking right after one of these splits a verb from its participle or object.
_AUXILIARIES = frozenset(
    "am is are was were be been being has have had do does did will would shall should "
    "can could may might must".split()
)


def split_sentences(paragraph: str, language: str = "en") -> tuple[str, ...]:
    """Split a paragraph into sentences with sentencex (knows "Mr.", "U.S.", "No. 7").

    A piece without any letter or digit (a stray dash, an ellipsis) is joined to
    the sentence before it, so every returned sentence has something to say.
    """
    import sentencex

    sentences: list[str] = []
    for piece in sentencex.segment(language, paragraph):
        text = " ".join(piece.split())
        if not text:
            continue
        if sentences and not (_HAS_WORD.search(text) and _HAS_WORD.search(sentences[-1])):
            sentences[-1] = f"{sentences[-1]} {text}"
        else:
            sentences.append(text)
    return tuple(sentences)


def tokenize(sentence: str, max_len: int = MAX_LINE) -> tuple[Token, ...]:
    """Split a sentence on whitespace; a word longer than ``max_len`` is cut into pieces."""
    tokens: list[Token] = []
    for match in re.finditer(r"\S+", sentence):
        word, start = match.group(), match.start()
        for offset in range(0, len(word), max_len):
            piece = word[offset : offset + max_len]
            tokens.append(Token(piece, start + offset, start + offset + len(piece)))
    return tuple(tokens)


def _bare(word: str) -> str:
    return word.strip("\"'“”‘’()[],.;:!?").lower()


def break_penalty(before: str, after: str) -> float:
    """Cost of a cue or line break between two words; 0 is a clause boundary."""
    if _CLAUSE_END.search(before):
        return 0.0
    if _SOFT_END.search(before) or before in _DASHES or after in _DASHES or after[:1] in "([":
        return 1.0
    if _bare(before) in _CLINGING:
        return 12.0
    if _bare(before) in _AUXILIARIES:
        return 8.0
    following = _bare(after)
    if following in _CONJUNCTIONS:
        return 2.5
    if following in _PREPOSITIONS:
        return 3.5
    return 6.0


def join_tokens(tokens: Sequence[Token]) -> str:
    """The text of consecutive tokens with single spaces."""
    return " ".join(t.text for t in tokens)


def break_lines(text: str, limits: CueLimits = CueLimits()) -> tuple[str, ...] | None:
    """Lay a cue's text out in at most two lines, broken at a natural phrase boundary.

    Returns None when the text cannot fit. Text that fits on one line stays on one.
    """
    words = text.split()
    if len(text) <= limits.max_line:
        return (text,)
    if limits.max_lines < 2:
        return None
    return _best_two_lines(tuple(words), limits.max_line)


@lru_cache(maxsize=4096)
def _best_two_lines(words: tuple[str, ...], max_line: int) -> tuple[str, ...] | None:
    best: tuple[float, int] | None = None
    total = sum(len(w) for w in words) + len(words) - 1
    first = -1
    for k in range(1, len(words)):
        first += len(words[k - 1]) + 1
        second = total - first - 1
        if first > max_line or second > max_line:
            continue
        # Balance matters less than a good break: 1 point per 8 characters of difference.
        score = break_penalty(words[k - 1], words[k]) + abs(first - second) / 8
        if best is None or score < best[0]:
            best = (score, k)
    if best is None:
        return None
    k = best[1]
    return (" ".join(words[:k]), " ".join(words[k:]))


def choose_cuts(
    tokens: Sequence[Token],
    fits: Callable[[int, int], bool],
    allowed: Callable[[int], bool] = lambda _k: True,
) -> tuple[tuple[int, int], ...]:
    """Partition tokens into cues; return (start, end) token index pairs.

    Dynamic programming over cut points: each cue costs a constant, each cut its
    break penalty, and very short cues a little more, so cuts land on clause
    punctuation first, then on phrase boundaries. ``fits(i, j)`` says whether
    tokens[i:j] may form one cue; ``allowed(k)`` whether a cue may start at token k.
    A single token always forms a cue, so a partition always exists.
    """
    n = len(tokens)
    inf = float("inf")
    cost = [0.0] + [inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if cost[i] == inf or (i > 0 and not allowed(i)):
                continue
            fitting = j - i == 1 or fits(i, j)
            if not fitting and cost[j] < inf:
                # Spans only grow as i falls: once one no longer fits, none will.
                break
            chars = tokens[j - 1].end - tokens[i].start
            step = 10.0 if fitting else 1000.0
            if i:
                step += break_penalty(tokens[i - 1].text, tokens[i].text)
            if chars < 16 and n > j - i:
                step += 4.0
            if cost[i] + step < cost[j]:
                cost[j] = cost[i] + step
                back[j] = i
    cuts: list[tuple[int, int]] = []
    j = n
    while j > 0:
        i = back[j]
        cuts.append((i, j))
        j = i
    return tuple(reversed(cuts))


def text_fits(text: str, limits: CueLimits) -> bool:
    """True when the text can be laid out within the line limits (``break_lines`` succeeds)."""
    size, line = len(text), limits.max_line
    if size <= line:
        return True
    if size > limits.max_chars or limits.max_lines < 2:
        return False
    # Two lines fit when some space leaves at most ``line`` characters on each side.
    return text.find(" ", size - 1 - line, line + 1) != -1


def chunk_sentence(
    sentence: str,
    limits: CueLimits,
    seconds: Callable[[str], float],
) -> tuple[str, ...]:
    """Split a sentence into cue texts from its text alone.

    ``seconds`` estimates how long a text takes to speak; a chunk must fit the
    line limits and be estimated under the on-screen maximum. Joined with spaces
    the chunks give back the sentence (whitespace folded).
    """
    tokens = tokenize(sentence, limits.max_line)

    def fits(i: int, j: int) -> bool:
        text = join_tokens(tokens[i:j])
        return text_fits(text, limits) and seconds(text) <= limits.max_seconds

    return tuple(join_tokens(tokens[i:j]) for i, j in choose_cuts(tokens, fits))
