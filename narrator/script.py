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
# Windows-1252 is what Western-European Windows editors and web pastes produce; when
# the detector only knows the file is some single-byte Latin code page, it is the
# right guess (charset-normalizer alone picks cp1250 for English with curly quotes).
_LATIN_CODEPAGES = frozenset(
    {
        "cp1250",
        "cp1252",
        "cp1254",
        "cp1257",
        "latin_1",
        "iso8859_15",
        "iso8859_2",
        "iso8859_9",
        "iso8859_13",
        "mac_roman",
        "mac_latin2",
        "cp850",
        "cp437",
    }
)


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
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ScriptError(
            f"{source}: cannot tell the text encoding; save it as UTF-8 or pass --encoding"
        )
    name = best.encoding
    if name in _LATIN_CODEPAGES:
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
    return str(best), name


def normalize_line(line: str) -> str:
    """NFC-normalize a line, drop invisible characters and fold runs of spaces."""
    line = unicodedata.normalize("NFC", line).translate(_INVISIBLE)
    return _SPACES.sub(" ", line).strip()


def clean(text: str, source: str, rules: Sequence[Rule] = RULES) -> Script:
    """Split decoded text into paragraphs and drop noise lines; pure.

    Blank lines separate paragraphs; single line breaks are hard wraps and are
    joined. A dropped line also ends the paragraph it interrupts.
    """
    paragraphs: list[Paragraph] = []
    dropped: list[DroppedLine] = []
    current: list[str] = []
    start = 0

    def flush() -> None:
        if current:
            paragraphs.append(Paragraph(start, " ".join(current)))
            current.clear()

    for number, raw in enumerate(text.splitlines(), start=1):
        line = normalize_line(raw)
        if not line:
            flush()
            continue
        rule = next((r for r in rules if r.matches(line)), None)
        if rule is not None:
            flush()
            dropped.append(DroppedLine(number, line, rule.name))
            continue
        if not current:
            start = number
        current.append(line)
    flush()
    return Script(source, "", tuple(paragraphs), tuple(dropped))


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
