"""Where each written word starts in Piper's audio, from per-phoneme sample counts; pure.

Piper reports how many samples each phoneme of a sentence lasts, but its phoneme
string does not mark words: eSpeak merges function words ("of the" is one
group), drops symbols (dashes) and writes punctuation as phonemes. So each
word is phonemized on its own and the words' phonemes, in order, are aligned
to the sentence's by edit distance; a word starts at the first sentence
phoneme its own phonemes are aligned to.
"""

from __future__ import annotations

from collections.abc import Sequence

# Marks that carry no sound of their own: stress, length, syllable and word
# breaks, and the punctuation eSpeak passes through as pause phonemes.
SILENT = frozenset("^$ˈˌː. ,;:!?…—–-\"'“”‘’()[]¡¿")
# Edit costs: a substitution is a word said a little differently in context
# ("the" as ðə or ði); a gap is a sound said in one place and not the other.
SUBSTITUTE = 1
GAP = 1


def sounding(phonemes: Sequence[str]) -> list[str]:
    """The phonemes that make a sound, in order."""
    return [p for p in phonemes if p not in SILENT]


def phoneme_starts(durations: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Each sounding phoneme with its first sample, from (phoneme, samples) in order."""
    starts = []
    position = 0
    for phoneme, samples in durations:
        if phoneme not in SILENT:
            starts.append((phoneme, position))
        position += samples
    return starts


def word_starts(
    words: Sequence[Sequence[str]], sentence: Sequence[tuple[str, int]]
) -> list[int | None]:
    """First sample of each word, given each word's own phonemes and the sentence's.

    ``sentence`` is (phoneme, first sample) for the sounding phonemes of the
    sentence in order (see ``phoneme_starts``). A word with no sounding phoneme,
    or none aligned to the sentence, has no start (None). Starts never decrease.
    """
    flat: list[str] = []
    owner: list[int] = []
    for k, word in enumerate(words):
        for phoneme in sounding(word):
            flat.append(phoneme)
            owner.append(k)
    aligned = _align(flat, [p for p, _ in sentence])
    starts: list[int | None] = [None] * len(words)
    for i, j in aligned:
        k = owner[i]
        if starts[k] is None:
            starts[k] = sentence[j][1]
    return _monotonic(starts)


def _align(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs (i, j) of a minimum-cost alignment of ``a`` to ``b`` (matches and substitutions)."""
    n, m = len(a), len(b)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i * GAP
    for j in range(1, m + 1):
        cost[0][j] = j * GAP
    for i in range(1, n + 1):
        row, above = cost[i], cost[i - 1]
        ai = a[i - 1]
        for j in range(1, m + 1):
            diagonal = above[j - 1] + (0 if ai == b[j - 1] else SUBSTITUTE)
            row[j] = min(diagonal, above[j] + GAP, row[j - 1] + GAP)
    pairs = []
    i, j = n, m
    while i and j:
        step = 0 if a[i - 1] == b[j - 1] else SUBSTITUTE
        if cost[i][j] == cost[i - 1][j - 1] + step:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + GAP:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _monotonic(starts: list[int | None]) -> list[int | None]:
    """Drop a start that would come before an earlier word's: it is a misalignment."""
    latest = -1
    result: list[int | None] = []
    for start in starts:
        if start is not None and start < latest:
            start = None
        if start is not None:
            latest = start
        result.append(start)
    return result
