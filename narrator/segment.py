"""Split paragraphs into sentences, and sentences into readable subtitle cues; pure."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from narrator.script import Paragraph

MAX_LINE = 42
MAX_LINES = 2
MAX_SECONDS = 7.0
MIN_SECONDS = 5 / 6
MAX_CPS = 20.0
# Characters per second per word-per-minute of rate, on the slow side of eSpeak's
# measured pace, so cues planned from text alone rarely overrun the on-screen limit.
CPS_PER_WPM = 0.085
# Balance between the two lines of a cue matters less than a good break: one
# penalty point per this many characters of difference.
BALANCE_CHARS = 8
# Of two layouts equal but for which line is longer, the bottom-heavy one (the
# pyramid broadcasters prefer) wins; small enough never to outweigh one character
# of balance (1 / BALANCE_CHARS).
PYRAMID = 0.05
# Where a cue ends matters more than where its line breaks: a clause boundary
# between cues beats a slightly nicer line break inside one.
CUT_WEIGHT = 2.0


@dataclass(frozen=True)
class CueLimits:
    """Readability limits every cue must respect."""

    max_line: int = MAX_LINE
    max_lines: int = MAX_LINES
    max_seconds: float = MAX_SECONDS
    min_seconds: float = MIN_SECONDS
    max_cps: float = MAX_CPS
    #: A cue never spans a pause inside a sentence (where word timing shows one).
    split_at_pauses: bool = False

    @property
    def max_chars(self) -> int:
        """Most characters a cue can hold, counting one space per line break."""
        return self.max_line * self.max_lines + self.max_lines - 1


@dataclass(frozen=True)
class PlannedSentence:
    """A sentence to speak, and the silence the writer asked for before it (None: automatic)."""

    text: str
    pause_before_ms: int | None = None


@dataclass(frozen=True)
class PlannedParagraph:
    """A paragraph's sentences, and any silence asked for after its last one."""

    line: int
    sentences: tuple[PlannedSentence, ...]
    pause_after_ms: int | None = None


def plan_paragraph(paragraph: Paragraph, language: str = "en") -> PlannedParagraph:
    """Split a paragraph into sentences, cutting also where the writer put a pause.

    Text on either side of a ``[pause]`` is spoken separately with exactly that
    silence between; pauses at the same place add up.
    """
    pending: int | None = None
    sentences: list[PlannedSentence] = []
    position = 0
    cuts = sorted({p.offset for p in paragraph.pauses} | {len(paragraph.text)})
    for cut in cuts:
        piece = paragraph.text[position:cut]
        for k, text in enumerate(split_sentences(piece, language) if piece.strip() else ()):
            sentences.append(PlannedSentence(text, pending if k == 0 else None))
            pending = None
        here = [p.ms for p in paragraph.pauses if p.offset == cut]
        if here:
            pending = (pending or 0) + sum(here)
        position = cut
    return PlannedParagraph(paragraph.line, tuple(sentences), pending)


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


# Titles and abbreviations that stand before a name or a number and never end a
# sentence; sentencex does not know some of them ('Ms.', 'approx.'). Titles count in
# capitals ('DR.') but not in lower case: 'a sales rep.' may end a sentence. 'Jr.' and
# 'Sr.' are left to sentencex: they end a sentence before a capitalised word ('… King
# Jr. He left.') and not before a lower-case one ('King Jr. was born').
_NEVER_ENDS = re.compile(
    r"(?<![\w.])(?:(?=[A-Z])(?i:mr|mrs|ms|dr|prof|st|gen|col|lt|sgt|capt|sen|rep|gov|rev)"
    r"|(?i:vs|approx)|ca)\.$"
)
# A parenthesis or a double-quoted passage holding a sentence end: sentencex neither
# splits inside one nor after one ('(This was a lie.) Then…'), but a reader does, so
# it is shown to sentencex without its marks.
_ENCLOSED = re.compile(r"\([^()]*[.!?…][^()]*\)|“[^“”]*[.!?…][^“”]*”|\"[^\"]*[.!?…][^\"]*\"")


def split_sentences(paragraph: str, language: str = "en") -> tuple[str, ...]:
    """Split a paragraph into sentences with sentencex (knows "Mr.", "U.S.", "No. 7").

    Sentences inside parentheses and quotes are split too, each keeping its own
    bracket or quote mark; a title abbreviation ("Ms.", "Gen.", "approx.") never
    ends a sentence. A piece without any letter or digit (a stray dash, an
    ellipsis) is joined to the sentence before it, so every returned sentence has
    something to say.
    """
    sentences: list[str] = []
    for piece in _pieces(paragraph, language):
        text = " ".join(piece.split())
        if not text:
            continue
        if sentences and (
            not (_HAS_WORD.search(text) and _HAS_WORD.search(sentences[-1]))
            or _NEVER_ENDS.search(sentences[-1])
        ):
            sentences[-1] = f"{sentences[-1]} {text}"
        else:
            sentences.append(text)
    return tuple(sentences)


def _pieces(paragraph: str, language: str) -> list[str]:
    """sentencex's pieces of the paragraph, with enclosing marks hidden from it."""
    import sentencex

    masked = list(paragraph)
    openers: set[int] = set()
    closers: set[int] = set()
    for match in _ENCLOSED.finditer(paragraph):
        openers.add(match.start())
        closers.add(match.end() - 1)
    for at in openers | closers:
        masked[at] = " "
    if not openers:
        return list(sentencex.segment(language, paragraph))
    pieces = list(sentencex.segment(language, "".join(masked)))
    if sum(map(len, pieces)) != len(paragraph):  # not a partition: trust sentencex alone
        return list(sentencex.segment(language, paragraph))
    cuts = list(itertools.accumulate(len(piece) for piece in pieces[:-1]))
    kept = [0]
    for cut in cuts:
        cut = _move_cut(paragraph, cut, openers, closers)
        # '"Stop. Now." she said.': a closing mark before a lower-case word ends no sentence.
        mark = len(paragraph[:cut].rstrip()) - 1
        if not (mark in closers and paragraph[cut:].lstrip()[:1].islower()):
            kept.append(cut)
    kept.append(len(paragraph))
    return [paragraph[a:b] for a, b in itertools.pairwise(kept)]


def _move_cut(paragraph: str, cut: int, openers: set[int], closers: set[int]) -> int:
    """Put a cut after the closing marks and before the opening marks around it, which
    sentencex saw only as spaces."""
    start = cut
    while start > 0 and (paragraph[start - 1].isspace() or start - 1 in openers | closers):
        start -= 1
    end = cut
    while end < len(paragraph) and (paragraph[end].isspace() or end in openers | closers):
        end += 1
    closing = [at for at in range(start, end) if at in closers]
    opening = [at for at in range(start, end) if at in openers]
    after_closing = closing[-1] + 1 if closing else start
    return max(opening[0], after_closing) if opening else max(after_closing, min(cut, end))


def tokenize(sentence: str) -> tuple[Token, ...]:
    """Split a sentence into its whitespace-separated words with their character spans."""
    return tuple(Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", sentence))


def _bare(word: str) -> str:
    return word.strip("\"'“”‘’()[],.;:!?").lower()


# One table for every break rule: (kind, the words it applies to, penalty). A break
# between two words costs the penalty of the first row that matches; 0 is a clause
# boundary. Rows of penalty FORBIDDEN are breaks a subtitler never makes; they stay
# possible (a cue too long to keep whole must be cut somewhere) but cost far more
# than any allowed break, so they win only when no legal layout exists.
FORBIDDEN = 100.0
_ARTICLES = frozenset("a an the".split())
_POSSESSIVES = frozenset("my your his her its our their".split())
_INTENSIFIERS = frozenset(
    "very most so too quite rather really extremely fairly highly utterly deeply".split()
)
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million billion trillion dozen first second third "
    "fourth fifth sixth seventh eighth ninth tenth eleventh twelfth twentieth hundredth "
    "thousandth".split()
)
# A number's scale goes with it: "5 | million" splits one amount.
_SCALES = frozenset("hundred thousand million billion trillion dozen".split())
# Titles before a name: "Dr. | Jones" splits the name.
_TITLES = frozenset(
    "mr mrs ms mx dr prof sir dame lord lady gen col maj capt lt sgt cpl adm gov sen rep "
    "president minister general colonel major captain lieutenant sergeant admiral governor "
    "senator king queen prince princess pope saint st".split()
)
_PRONOUNS = frozenset("i you he she it we they me him us them".split())
# Common verbs that open a predicate: a break before one after a noun is the
# subject | verb boundary. A short list, not a tagger (see forbidden_break).
_VERBS = _AUXILIARIES | frozenset(
    "said says told reported announced added explained argued promised warned claimed "
    "began left arrived reached moved took made became remained".split()
)
BREAK_RULES: tuple[tuple[str, str, float], ...] = (
    ("clause", "after ; : ! ? … (a full stop inside a sentence ends an abbreviation)", 0.0),
    ("comma", "after a comma or closing bracket, around a dash, before an opening bracket", 1.0),
    ("conjunction", f"before a conjunction: {' '.join(sorted(_CONJUNCTIONS))}", 2.5),
    ("preposition-opens", "before a preposition that opens a phrase", 3.5),
    ("subject-verb", "before a common verb or auxiliary, after a noun", 4.5),
    ("plain", "between two other words", 6.0),
    ("auxiliary", "after an auxiliary verb, or after an abbreviation (U.S. | Navy)", 8.0),
    ("clinging", "after a demonstrative, a conjunction or a title (this, and, Mr)", 12.0),
    ("name", "inside a run of capitalised words or after an ordinal before one", FORBIDDEN),
    ("number-unit", "between a number and what it counts (2,500 | troops, 5 | p.m.)", FORBIDDEN),
    ("article", f"after {', '.join(sorted(_ARTICLES))}", FORBIDDEN),
    ("possessive", f"after {', '.join(sorted(_POSSESSIVES))}", FORBIDDEN),
    ("preposition", "after a preposition", FORBIDDEN),
    ("intensifier", f"after {', '.join(sorted(_INTENSIFIERS))}", FORBIDDEN),
    ("hyphen", "after a trailing hyphenated piece (pre- | and post-war)", FORBIDDEN),
)
_PENALTY = {kind: penalty for kind, _words, penalty in BREAK_RULES}
# Capitalised words that start a clause rather than a name ("The Syrian", "In Deir").
_FUNCTION_WORDS = (
    _ARTICLES | _POSSESSIVES | _PREPOSITIONS | _CONJUNCTIONS | _CLINGING | _PRONOUNS | _AUXILIARIES
)
_NUMBER = re.compile(r"^[$€£]?\d[\d,.:]*(?:st|nd|rd|th|s|%)?$")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")
_OPENERS = "\"'“‘(["


def _is_number(word: str) -> bool:
    """A number in digits (2,500, 10:30, $5, 3rd) or words (fifteen, twenty-five, third)."""
    if _NUMBER.match(word):
        return True
    return all(part in _NUMBER_WORDS for part in word.lower().split("-") if part)


def _is_capitalised(word: str) -> bool:
    """A word that may belong to a name: capitalised, and not a function word ("The", "I")."""
    core = word.lstrip(_OPENERS)
    return core[:1].isupper() and _bare(core) not in _FUNCTION_WORDS


def forbidden_break(before: str, after: str) -> str | None:
    """The kind of forbidden break between two words (a row of BREAK_RULES), or None.

    Rules, not a part-of-speech tagger: the words that must not end a line are a
    closed list, and names are told by their capitals. Known misses: a capitalised
    first word of a sentence followed by a name ("Yesterday | Syrian") counts as a
    name, and "her" as an object pronoun counts as a possessive.
    """
    if _CLAUSE_END.search(before) or _SOFT_END.search(before) or after[:1] in _OPENERS:
        return None
    if before in _DASHES or after in _DASHES:
        return None
    if before.endswith("-") or after.startswith("-"):
        return "hyphen"
    word = before.rstrip("'\"’”")
    if _is_capitalised(after) and (
        _is_capitalised(word) or _ORDINAL.match(word) or _bare(word) in _TITLES
    ):
        return "name"
    following = _bare(after)
    if (
        _is_number(word)
        and after[:1].isalpha()
        and following not in _FUNCTION_WORDS
        and (not _is_number(following) or following in _SCALES)
    ):
        return "number-unit"
    bare = _bare(before)
    for kind, words in (
        ("article", _ARTICLES),
        ("possessive", _POSSESSIVES),
        ("preposition", _PREPOSITIONS),
        ("intensifier", _INTENSIFIERS),
    ):
        # "most | of the troops": a quantifier, not an intensifier.
        if bare in words and not (kind == "intensifier" and following == "of"):
            return kind
    return None


def break_penalty(before: str, after: str) -> float:
    """Cost of a cue or line break between two words; 0 is a clause boundary.

    The penalty of the first matching row of BREAK_RULES.
    """
    return _PENALTY[break_kind(before, after)]


def break_kind(before: str, after: str) -> str:
    """The row of BREAK_RULES that prices a break between two words."""
    if _CLAUSE_END.search(before):
        return "clause"
    if _SOFT_END.search(before) or before in _DASHES or after in _DASHES or after[:1] in "([":
        return "comma"
    forbidden = forbidden_break(before, after)
    if forbidden is not None:
        return forbidden
    bare = _bare(before)
    if bare in _CLINGING:
        return "clinging"
    if bare in _AUXILIARIES or before.endswith("."):
        # Inside a sentence a full stop ends an abbreviation: "U.S. | Navy" splits a name.
        return "auxiliary"
    following = _bare(after)
    if following in _CONJUNCTIONS:
        return "conjunction"
    if following in _PREPOSITIONS:
        return "preposition-opens"
    if following in _VERBS and bare not in _FUNCTION_WORDS and bare not in _VERBS:
        return "subject-verb"
    return "plain"


def join_tokens(tokens: Sequence[Token]) -> str:
    """The text of consecutive tokens with single spaces."""
    return " ".join(t.text for t in tokens)


def break_lines(text: str, limits: CueLimits = CueLimits()) -> tuple[str, ...] | None:
    """Lay a cue's text out in at most two lines, broken at a natural phrase boundary.

    Text that fits on one line stays on one; so does a single word too long for
    any line (it is never cut: the words on screen are the words spoken).
    Returns None when the text cannot fit.
    """
    words = text.split()
    if len(text) <= limits.max_line or len(words) == 1:
        return (text,)
    prefix, penalty = _word_table(tuple(words))
    found = _two_lines(prefix, penalty, 0, len(words), limits)
    if found is None:
        return None
    k = found[1]
    return (" ".join(words[:k]), " ".join(words[k:]))


@lru_cache(maxsize=4096)
def _word_table(words: tuple[str, ...]) -> tuple[list[int], list[float]]:
    """Prefix lengths (each word plus a space) and the penalty of a break before each word."""
    prefix = [0]
    for word in words:
        prefix.append(prefix[-1] + len(word) + 1)
    penalty = [0.0] + [break_penalty(words[k - 1], words[k]) for k in range(1, len(words))]
    return prefix, penalty


def _two_lines(
    prefix: Sequence[int], penalty: Sequence[float], i: int, j: int, limits: CueLimits
) -> tuple[float, int] | None:
    """Best layout of words i..j-1: (penalty, index of the first word of line two).

    (0.0, j) when they fit on one line; None when no layout fits the limits.
    """
    size = prefix[j] - prefix[i] - 1
    if size <= limits.max_line:
        return 0.0, j
    if size > limits.max_chars or limits.max_lines < 2:
        return None
    best: tuple[float, int] | None = None
    for k in range(i + 1, j):
        first = prefix[k] - prefix[i] - 1
        if first > limits.max_line:
            break
        second = size - first - 1
        if second <= limits.max_line:
            score = penalty[k] + abs(first - second) / BALANCE_CHARS
            if first > second:
                score += PYRAMID
            if best is None or score < best[0]:
                best = (score, k)
    return best


def choose_cuts(
    tokens: Sequence[Token],
    fits: Callable[[int, int], bool] = lambda _i, _j: True,
    allowed: Callable[[int], bool] = lambda _k: True,
    limits: CueLimits = CueLimits(),
    extra: Callable[[int, int], float] = lambda _i, _j: 0.0,
) -> tuple[tuple[int, int], ...]:
    """Partition tokens into cues; return (start, end) token index pairs.

    Dynamic programming over cut points. A cue must lay out within the line limits
    and satisfy ``fits(i, j)`` (the caller's limit, such as time on screen); a cue
    may start at token k only if ``allowed(k)``. Each cue costs a constant, the
    penalty of the cut before it and of its own line break, and a little more if
    very short, so cuts land on clause punctuation first, then on phrase
    boundaries, and no cue needs an ugly line break; ``extra(i, j)`` adds the
    caller's own cost (uneven reading speed). A single token always forms
    a cue, so a partition always exists.
    """
    n = len(tokens)
    prefix, penalty = _word_table(tuple(t.text for t in tokens))

    inf = float("inf")
    cost = [0.0] + [inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            if cost[i] == inf or (i > 0 and not allowed(i)):
                continue
            layout = _two_lines(prefix, penalty, i, j, limits)
            fitting = j - i == 1 or (layout is not None and fits(i, j))
            if not fitting and cost[j] < inf:
                # Spans only grow as i falls: once one no longer fits, none will.
                break
            step = (10.0 if fitting else 1000.0) + CUT_WEIGHT * penalty[i]
            step += extra(i, j) if fitting else 0.0
            step += layout[0] if layout is not None else 0.0
            if prefix[j] - prefix[i] - 1 < 16 and n > j - i:
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


def planning_seconds(rate_wpm: int) -> Callable[[str], float]:
    """The speaking-time estimate used to plan cues from text: slow side of eSpeak's pace."""
    cps = rate_wpm * CPS_PER_WPM
    return lambda text: len(text) / cps


def chunk_sentence(
    sentence: str,
    limits: CueLimits,
    seconds: Callable[[str], float],
    allowed: Callable[[int], bool] = lambda _k: True,
) -> tuple[str, ...]:
    """Split a sentence into cue texts from its text alone.

    ``seconds`` estimates how long a text takes to speak; a chunk must fit the
    line limits and be estimated under the on-screen maximum, and may begin at
    token k only if ``allowed(k)`` (not inside a phrase said as a whole). Joined
    with spaces the chunks give back the sentence (whitespace folded).
    """
    tokens = tokenize(sentence)
    cuts = chunk_tokens(tokens, limits, seconds, allowed)
    return tuple(join_tokens(tokens[i:j]) for i, j in cuts)


def chunk_tokens(
    tokens: Sequence[Token],
    limits: CueLimits,
    seconds: Callable[[str], float],
    allowed: Callable[[int], bool] = lambda _k: True,
) -> tuple[tuple[int, int], ...]:
    """``chunk_sentence`` as (start, end) token index pairs."""

    def fits(i: int, j: int) -> bool:
        return seconds(join_tokens(tokens[i:j])) <= limits.max_seconds

    return choose_cuts(tokens, fits, allowed, limits)
