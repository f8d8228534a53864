"""Read a script file, decode it, and drop the lines a narrator must never say."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from narrator.errors import ScriptError


@dataclass(frozen=True)
class Rule:
    """A named cleaning rule: a whole line it matches is not spoken."""

    name: str
    description: str
    pattern: re.Pattern[str]

    def matches(self, line: str) -> bool:
        """Return True when the whole (stripped) line is noise under this rule."""
        return self.pattern.fullmatch(line.strip()) is not None


@dataclass(frozen=True)
class DroppedLine:
    """A source line that cleaning removed, and the rule that removed it."""

    line: int
    text: str
    rule: str


@dataclass(frozen=True)
class Paragraph:
    """Spoken text of one paragraph, hard wraps joined; ``line`` is where it starts."""

    line: int
    text: str


@dataclass(frozen=True)
class Script:
    """A cleaned script: what will be spoken, and what was left out."""

    source: str
    encoding: str
    paragraphs: tuple[Paragraph, ...]
    dropped: tuple[DroppedLine, ...]


def _rule(name: str, description: str, pattern: str) -> Rule:
    return Rule(name, description, re.compile(pattern, re.IGNORECASE))


# Each rule matches a whole line. They are deliberately narrow: a narrative sentence
# that mentions a date or property in passing ends in sentence punctuation and is kept.
RULES: tuple[Rule, ...] = (
    _rule(
        "image-caption",
        "an image caption scraped with the text (ends in 'click to enlarge')",
        r"(?:date\s+[\d./-]+\s*)?[^.!?]{0,120}?\bclick\s+to\s+enlarge\b[\s.:)\]]*",
    ),
    _rule(
        "date-stamp",
        "a bare date stamp such as 'date 2017-07-26'",
        r"date\s*:?\s*\d{4}-\d{1,2}-\d{1,2}",
    ),
    _rule(
        "watermark",
        "an ownership watermark ('... IS THE INTELLECTUAL PROPERTY OF ...') without "
        "sentence punctuation",
        r"[^.!?]*\bis\s+the\s+intellectual\s+property\s+of\b[^.!?]*",
    ),
)

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Windows-1252 is what Western-European Windows editors and web pastes produce. It is
# tried first: charset-normalizer alone guesses Baltic or DOS code pages for a short
# English line with curly quotes. Text in another script (Cyrillic, Greek) read as
# cp1252 comes out as mostly accented Latin letters, which gives it away.
_MOST_ACCENTED = 0.3


def decode(data: bytes, source: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode script bytes; return (text, encoding name).

    Honours a UTF-8 or UTF-16 byte order mark, then tries strict UTF-8, then
    detects a legacy code page. Raises ScriptError for binary or undecodable data.
    """
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise ScriptError(f"{source}: unknown encoding '{encoding}'") from None
        except UnicodeDecodeError as exc:
            raise ScriptError(
                f"{source}: byte {exc.start} is not valid {encoding}; check the --encoding value"
            ) from None
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ScriptError(
                f"{source}: has a UTF-8 mark but byte {exc.start} is not UTF-8; "
                "re-save the file as UTF-8"
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ScriptError(f"{source}: broken UTF-16 text; re-save it as UTF-8") from None
    if b"\x00" in data:
        raise ScriptError(f"{source}: looks like a binary file, not a text script")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data, source)


def _decode_legacy(data: bytes, source: str) -> tuple[str, str]:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        pass
    else:
        letters = [c for c in text if c.isalpha()]
        accented = sum(1 for c in letters if not c.isascii())
        if accented <= _MOST_ACCENTED * len(letters):
            return text, "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ScriptError(
            f"{source}: cannot tell the text encoding; save it as UTF-8 or pass --encoding"
        )
    return str(best), best.encoding


def normalize_line(line: str) -> str:
    """NFC-normalize a line, drop invisible characters and fold runs of spaces."""
    line = unicodedata.normalize("NFC", line).translate(_INVISIBLE)
    return _SPACES.sub(" ", line).strip()


def clean(text: str, source: str, rules: Sequence[Rule] = RULES) -> Script:
    """Split decoded text into paragraphs and drop noise lines; pure.

    Blank lines separate paragraphs; single line breaks are hard wraps and are
    joined. A dropped line also ends the paragraph it interrupts. A line that a
    hard wrap joins to its neighbour is narration, whatever rule it matches.
    """
    paragraphs: list[Paragraph] = []
    dropped: list[DroppedLine] = []
    current: list[str] = []
    start = 0

    def flush() -> None:
        if current:
            paragraphs.append(Paragraph(start, " ".join(current)))
            current.clear()

    lines = [normalize_line(raw) for raw in text.splitlines()]
    for index, line in enumerate(lines):
        number = index + 1
        if not line:
            flush()
            continue
        rule = next((r for r in rules if r.matches(line)), None)
        if rule is not None and not _hard_wrapped(lines, index, bool(current)):
            flush()
            dropped.append(DroppedLine(number, line, rule.name))
            continue
        if not current:
            start = number
        current.append(line)
    flush()
    return Script(source, "", tuple(paragraphs), tuple(dropped))


_SENTENCE_END = re.compile(r"[.!?…:;][\"'’”)\]]*$")


def _hard_wrapped(lines: Sequence[str], index: int, continues_text: bool) -> bool:
    """True when the line is part of a wrapped sentence, so no whole-line rule applies.

    A sentence runs on into the next line when that line starts in lower case, or
    began on the previous kept line when that one has no closing punctuation and
    this one starts in lower case.
    """
    line = lines[index]
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if following[:1].islower() and not _SENTENCE_END.search(line):
        return True
    previous = lines[index - 1] if index else ""
    return continues_text and line[:1].islower() and not _SENTENCE_END.search(previous)


def read_script(path: Path, encoding: str | None = None) -> Script:
    """Read, decode and clean the script at ``path``.

    Raises ScriptError when the file is missing, unreadable, not text, or has
    nothing left to say after cleaning.
    """
    source = str(path)
    if not path.exists():
        raise ScriptError(f"{source}: no such file")
    if path.is_dir():
        raise ScriptError(f"{source}: is a directory; give the path of a script file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"{source}: cannot read: {exc.strerror}") from None
    text, used = decode(data, source, encoding)
    script = clean(text, source)
    if not script.paragraphs:
        if script.dropped:
            raise ScriptError(
                f"{source}: nothing to say: every line was dropped by cleaning rules "
                f"({_rule_summary(d.rule for d in script.dropped)})"
            )
        raise ScriptError(f"{source}: nothing to say: the script is empty")
    return Script(source, used, script.paragraphs, script.dropped)


def _rule_summary(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names)))
