"""Read a script file, decode it, and keep only what the narrator should say."""

from __future__ import annotations

import codecs
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from narrator.errors import ScriptError
from narrator.rules import DROP_RULES, EDITS, Edit, Rule, Scope, heading, speaker, unlabel


@dataclass(frozen=True)
class DroppedLine:
    """A source line that cleaning removed, and the rule that removed it."""

    line: int
    text: str
    rule: str


@dataclass(frozen=True)
class AlteredLine:
    """A source line whose markup cleaning removed; ``after`` is what is spoken."""

    line: int
    before: str
    after: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class PauseMark:
    """A silence the writer asked for, at a character offset of the paragraph's text."""

    offset: int
    ms: int


@dataclass(frozen=True)
class Paragraph:
    """Spoken text of one paragraph, hard wraps joined; ``line`` is where it starts."""

    line: int
    text: str
    pauses: tuple[PauseMark, ...] = ()


@dataclass(frozen=True)
class Chapter:
    """A heading: its title, source line, and the index of the paragraph it opens."""

    title: str
    line: int
    paragraph: int


@dataclass(frozen=True)
class Script:
    """A cleaned script: what will be spoken, and what was left out or changed."""

    source: str
    encoding: str
    paragraphs: tuple[Paragraph, ...]
    dropped: tuple[DroppedLine, ...]
    altered: tuple[AlteredLine, ...] = ()
    chapters: tuple[Chapter, ...] = ()


def cleaning_report(
    dropped: tuple[DroppedLine, ...], altered: tuple[AlteredLine, ...]
) -> dict[str, list[dict[str, Any]]]:
    """The lines cleaning dropped or changed, with line numbers and rules."""
    return {
        "dropped": [{"line": d.line, "text": d.text, "rule": d.rule} for d in dropped],
        "altered": [
            {"line": a.line, "before": a.before, "after": a.after, "rules": list(a.rules)}
            for a in altered
        ],
    }


# Control characters (Unicode Cc) and format characters (Cf: zero-width spaces and
# joiners, bidi marks, overrides and isolates, the soft hyphen, a stray byte-order mark)
# are invisible in an editor, so the writer cannot see what the engine would get. The
# few that stand for a break (vertical tab from a word processor, form feed, the
# separators, NEL, and Unicode's line and paragraph separators) become a space so the
# words on either side stay apart; the rest vanish. Tab, LF and CR are line structure.
_BREAKS = frozenset("\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_STRUCTURE = frozenset("\t\n\r")
CONTROL_CHARACTERS = "control-characters"  # how a line that lost any is reported


def _hidden(char: str) -> bool:
    return char in _BREAKS or (
        unicodedata.category(char) in ("Cc", "Cf") and char not in _STRUCTURE
    )


def _replace_hidden(line: str, replacement: Callable[[str], str]) -> str:
    if line.isprintable():  # the common case, without a look at each character
        return line
    return "".join(replacement(c) if _hidden(c) else c for c in line)


def _spoken(char: str) -> str:
    return " " if char in _BREAKS else ""


def _shown(char: str) -> str:
    return f"<U+{ord(char):04X}>"


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Windows-1252 is what Western-European Windows editors and web pastes produce. It is
# tried first: charset-normalizer alone guesses Baltic or DOS code pages for a short
# English line with curly quotes. Text in another script (Cyrillic, Greek) read as
# cp1252 comes out as mostly accented Latin letters, which gives it away.
_MOST_ACCENTED = 0.3


def decode(data: bytes, source: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode script bytes; return (text, encoding name).

    Honours a UTF-8 or UTF-16 byte order mark, recognises UTF-16 without one by
    its NUL bytes, then tries strict UTF-8, then detects a legacy code page.
    Raises ScriptError for binary or undecodable data.
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
        if data.count(0) <= max(2, _STRAY_NULS * len(data)):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                if sum(c.isalpha() for c in text) >= _STRAY_NUL_LETTERS * len(text):
                    return text, "utf-8"  # the NULs go with the other control characters
        return _decode_utf16_without_mark(data, source)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _decode_legacy(data, source)


# UTF-16 without a byte-order mark (some Windows tools write it) shows its NUL bytes in
# a pattern: the high byte of every ASCII character, so on odd offsets for little-endian
# and even ones for big-endian. Text in another script has fewer NULs (its spaces,
# digits and punctuation) but still all on one side; a binary file has them on both.
# A UTF-8 text with a stray NUL or two (a bad paste, a buggy exporter) is still text.
_STRAY_NULS = 0.01  # of the bytes
_STRAY_NUL_LETTERS = 0.5  # of its characters are letters, as in prose
_UTF16_MIN_NULS = 0.1  # of the code units, so a file in Greek or Cyrillic still counts
_UTF16_ONE_SIDE = 0.95  # of the NULs on the high-byte side
_UTF16_MOST_TEXT = 0.95  # of the decoded characters are letters, digits, marks, punctuation


def _decode_utf16_without_mark(data: bytes, source: str) -> tuple[str, str]:
    units = len(data) // 2
    even, odd = data[0::2].count(0), data[1::2].count(0)
    if len(data) % 2 == 0 and units:
        for codec, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if high >= _UTF16_MIN_NULS * units and high >= _UTF16_ONE_SIDE * (high + low):
                try:
                    text = data.decode(codec)
                except UnicodeDecodeError:
                    break
                if _mostly_text(text):
                    return text, codec
                break
    if max(even, odd) >= _UTF16_ONE_SIDE * (even + odd):
        raise ScriptError(
            f"{source}: looks like a binary file, or UTF-16 text without a byte-order mark; "
            "if it is text, pass --encoding utf-16-le (or utf-16-be)"
        )
    raise ScriptError(f"{source}: looks like a binary file, not a text script")


def _mostly_text(text: str) -> bool:
    usual = sum(1 for c in text if c.isprintable() or c in "\t\n\r")
    return usual >= _UTF16_MOST_TEXT * len(text)


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
    """NFC-normalize a line, drop control and format characters and fold runs of spaces."""
    line = unicodedata.normalize("NFC", _replace_hidden(line, _spoken))
    return _SPACES.sub(" ", line).strip()


def reported_line(line: str) -> str:
    """A source line as a report shows it: normalized, each hidden character as <U+XXXX>."""
    line = unicodedata.normalize("NFC", _replace_hidden(line, _shown))
    return _SPACES.sub(" ", line).strip()


_LINE_END = re.compile(r"\r\n|\r|\n")


def _split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: str.splitlines also breaks at form feeds,
    separators and NEL, which would shift every line number after one."""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


_COMMENT_OPEN, _COMMENT_CLOSE = "<!--", "-->"
_PAUSE = re.compile(r"\[\s*pause\b([^\]]*)\]", re.IGNORECASE)
_PAUSE_VALUE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?)\s*", re.IGNORECASE)
MAX_PAUSE_MARK_MS = 60_000  # the longest [pause] a writer may ask for


def _strip_comments(lines: Sequence[str], source: str) -> list[tuple[str, bool]]:
    """Each line without its ``<!-- … -->`` parts, and whether a comment touched it.

    Raises ScriptError for a comment that is never closed: silently dropping the
    rest of the script would lose narration nobody meant to cut.
    """
    result: list[tuple[str, bool]] = []
    inside = False
    opened = 0
    for number, line in enumerate(lines, start=1):
        kept: list[str] = []
        rest, touched = line, inside
        while rest:
            if inside:
                end = rest.find(_COMMENT_CLOSE)
                if end < 0:
                    rest = ""
                else:
                    rest, inside = rest[end + len(_COMMENT_CLOSE) :], False
            else:
                begin = rest.find(_COMMENT_OPEN)
                if begin < 0:
                    kept.append(rest)
                    rest = ""
                else:
                    kept.append(rest[:begin])
                    rest, inside, touched = rest[begin + len(_COMMENT_OPEN) :], True, True
                    opened = number
        result.append(("".join(kept), touched))
    if inside:
        raise ScriptError(
            f"{source}: line {opened}: '{_COMMENT_OPEN}' is never closed; "
            f"add '{_COMMENT_CLOSE}' or remove it"
        )
    return result


def _pauses(line: str, source: str, number: int) -> tuple[str, list[tuple[int, int]]]:
    """Remove ``[pause 1.5s]`` marks; return the text and (offset in it, ms) pairs."""
    pieces: list[str] = []
    marks: list[tuple[int, int]] = []
    length = 0
    position = 0
    for match in _PAUSE.finditer(line):
        piece = line[position : match.start()].strip()
        if piece:
            length += len(piece) + (1 if pieces else 0)
            pieces.append(piece)
        value = _PAUSE_VALUE.fullmatch(match.group(1))
        if value is None:
            raise ScriptError(
                f"{source}: line {number}: {match.group(0)!r} is not a pause; "
                "write it like [pause 1.5s] or [pause 800ms]"
            )
        amount = float(value.group(1))
        ms = round(amount if value.group(2).lower() == "ms" else amount * 1000)
        if ms > MAX_PAUSE_MARK_MS:
            raise ScriptError(
                f"{source}: line {number}: {match.group(0)!r} is longer than "
                f"{MAX_PAUSE_MARK_MS // 1000} s"
            )
        marks.append((length + (1 if pieces else 0), ms))
        position = match.end()
    tail = line[position:].strip()
    if tail:
        pieces.append(tail)
    text = " ".join(pieces)
    return text, [(min(offset, len(text)), ms) for offset, ms in marks]


class _Builder:
    """Collects lines into paragraphs, carrying pauses that stand between paragraphs."""

    def __init__(self) -> None:
        self.paragraphs: list[Paragraph] = []
        self.parts: list[str] = []
        self.marks: list[PauseMark] = []
        self.start = 0
        self.carried: list[int] = []

    def add(self, number: int, text: str, pauses: Sequence[tuple[int, int]]) -> None:
        if not self.parts and not self.marks:
            self.start = number
        base = sum(len(p) + 1 for p in self.parts)
        for offset, ms in pauses:
            self.marks.append(PauseMark(base + offset, ms))
        if text:
            self.parts.append(text)

    def flush(self) -> None:
        text = " ".join(self.parts)
        if text:
            leading = [PauseMark(0, ms) for ms in self.carried]
            marks = [PauseMark(min(m.offset, len(text)), m.ms) for m in self.marks]
            self.paragraphs.append(Paragraph(self.start, text, tuple(leading + marks)))
            self.carried = []
        else:
            self.carried.extend(m.ms for m in self.marks)
        self.parts, self.marks = [], []

    def finish(self) -> tuple[Paragraph, ...]:
        self.flush()
        if self.carried and self.paragraphs:
            last = self.paragraphs[-1]
            trailing = tuple(PauseMark(len(last.text), ms) for ms in self.carried)
            self.paragraphs[-1] = Paragraph(last.line, last.text, last.pauses + trailing)
        return tuple(self.paragraphs)


def clean(
    text: str,
    source: str,
    rules: Sequence[Rule] = DROP_RULES,
    edits: Sequence[Edit] = EDITS,
    speak_headings: bool = False,
) -> Script:
    """Split decoded text into paragraphs and apply the cleaning rules; pure.

    Control and format characters are removed first, so no later stage sees
    them. Blank lines separate paragraphs; single line breaks are hard wraps and
    are joined. ``<!-- … -->`` comments and ``//`` note lines are never spoken;
    ``[pause …]`` marks become pauses; Markdown headings become chapters (and
    are spoken only with ``speak_headings``), without their drafting notes.
    Edits strip markup from a line; a drop rule then removes a whole noise line,
    and also ends the paragraph it interrupts, unless a hard wrap joins the line
    to narration. In a script whose narration is labelled, another speaker's
    turn is left out. Every removed or changed line is reported with the rule
    responsible. Raises ScriptError for a malformed pause mark or an unclosed
    comment.
    """
    dropped: list[DroppedLine] = []
    altered: list[AlteredLine] = []
    chapters: list[Chapter] = []
    builder = _Builder()
    line_rules = tuple(r for r in rules if r.scope is Scope.LINE)
    turn_rule = next((r for r in rules if r.scope is Scope.TURN), None)
    line_edits = tuple(e for e in edits if e.scope is Scope.LINE)
    title_edits = tuple(e for e in edits if e.scope is Scope.TITLE)
    # A byte-order mark that a forced --encoding left in is not part of the first line.
    source_lines = _split_lines(text.removeprefix("\ufeff"))
    visible = [_replace_hidden(line, _spoken) for line in source_lines]

    def noise(line: str) -> bool:
        edited = _apply_edits(line, line_edits)[0]
        return any(r.matches(edited) for r in line_rules)

    uncommented = _strip_comments(visible, source)
    lines = [normalize_line(line) for line, _ in uncommented]
    labelled = turn_rule is not None and any(speaker(line) == "narrator" for line in lines)
    unlabelling = any(edit.name == "speaker-label" for edit in line_edits)
    title_at = _title_line(lines)
    in_turn = False  # inside another speaker's turn
    for index, line in enumerate(lines):
        number = index + 1
        touched = uncommented[index][1]
        hidden: tuple[str, ...] = (
            (CONTROL_CHARACTERS,) if visible[index] != source_lines[index] else ()
        )
        original = reported_line(source_lines[index]) if touched or hidden else line
        if touched and not line:
            if original:
                dropped.append(DroppedLine(number, original, "comment"))
            continue
        if not line:
            if hidden:
                dropped.append(DroppedLine(number, original, CONTROL_CHARACTERS))
            in_turn = False
            builder.flush()
            continue
        if line.startswith("//"):
            dropped.append(DroppedLine(number, original, "note"))
            continue
        title = heading(line)
        if title is not None:
            in_turn = False
            builder.flush()
            title, pauses = _pauses(_apply_edits(title, line_edits)[0] or title, source, number)
            title, notes = _apply_edits(title, title_edits)
            chapters.append(Chapter(title, number, len(builder.paragraphs)))
            if speak_headings:
                rules_applied = (*hidden, "markdown-heading", *notes)
                altered.append(AlteredLine(number, original, title, rules_applied))
                builder.add(number, title, pauses)
                builder.flush()
            else:
                dropped.append(DroppedLine(number, original, "markdown-heading"))
                if hidden or notes:
                    # Not spoken, but kept as the chapter title: report what it lost.
                    altered.append(AlteredLine(number, original, title, (*hidden, *notes)))
                builder.add(number, "", pauses)
            continue
        edited, applied = _apply_edits(line, line_edits)
        applied = (*hidden, *(("comment",) if touched else ()), *applied)
        spoken, pauses = _pauses(edited, source, number)
        if index == title_at:
            notes = _apply_edits(spoken, title_edits)[1]
            if notes:
                dropped.append(DroppedLine(number, original, notes[-1]))
                builder.add(number, "", pauses)
                continue
        # A label before a lower-case word ('SOT: crowd noise') counts where a new turn
        # may begin: at a paragraph's start or inside another speaker's turn; within
        # the narrator's own paragraph 'ISIS: the name…' stays narration.
        turn_may_begin = not builder.parts or in_turn
        who = speaker(line, labelled=turn_may_begin) if labelled else None
        if who is not None:
            in_turn = who == "other"
        if who == "narrator" and unlabelling and "speaker-label" not in applied:
            # 'VO: and so it began': a label in lower-case company, known as one only
            # because the script labels its narration.
            stripped = unlabel(spoken)
            if stripped != spoken:
                spoken, applied = stripped, (*applied, "speaker-label")
        rule = next((r for r in line_rules if r.matches(spoken)), None) if spoken else None
        if rule is not None and _hard_wrapped(lines, index, bool(builder.parts), noise):
            rule = None
        if turn_rule is not None and in_turn and (who == "other" or rule is None):
            rule = turn_rule
        if rule is not None:
            builder.flush()
            dropped.append(DroppedLine(number, original, rule.name))
            builder.add(number, "", pauses)  # a pause written on a noise line still counts
            continue
        if not spoken:
            if not pauses:
                dropped.append(DroppedLine(number, original, applied[-1] if applied else "empty"))
            builder.add(number, "", pauses)
            continue
        if applied:
            altered.append(AlteredLine(number, original, edited, applied))
        builder.add(number, spoken, pauses)
    paragraphs = builder.finish()
    return Script(source, "", paragraphs, tuple(dropped), tuple(altered), tuple(chapters))


def _title_line(lines: Sequence[str]) -> int | None:
    """The index of the script's title line: its first line of text, standing alone as
    a paragraph and without sentence punctuation at its end; None if there is none."""
    for index, line in enumerate(lines):
        if not line or line.startswith("//"):
            continue
        alone = index + 1 == len(lines) or not lines[index + 1]
        if alone and heading(line) is None and not _SENTENCE_END.search(line):
            return index
        return None
    return None


def _apply_edits(line: str, edits: Sequence[Edit]) -> tuple[str, tuple[str, ...]]:
    applied: list[str] = []
    for edit in edits:
        changed = " ".join(edit.apply(line).split())
        if changed != line:
            applied.append(edit.name)
            line = changed
    return line, tuple(applied)


_SENTENCE_END = re.compile(r"[.!?…:;][\"'’”)\]]*$")


def _hard_wrapped(
    lines: Sequence[str], index: int, continues_text: bool, noise: Callable[[str], bool]
) -> bool:
    """True when the line is part of a wrapped sentence, so no whole-line rule applies.

    A sentence runs on into the next line when that line starts in lower case and
    is narration itself, or began on the previous kept line when that one has no
    closing punctuation and this one starts in lower case. A line with no word
    in it (a lone '#') never joins narration.
    """
    line = lines[index]
    if not _WORD.search(line):
        return False
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if following[:1].islower() and not _SENTENCE_END.search(line) and not noise(following):
        return True
    previous = lines[index - 1] if index else ""
    return continues_text and line[:1].islower() and not _SENTENCE_END.search(previous)


_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Cleaning:
    """Which rules clean a script, and whether headings are spoken."""

    rules: tuple[Rule, ...] = DROP_RULES
    edits: tuple[Edit, ...] = EDITS
    speak_headings: bool = False


#: The script argument that means "read standard input".
STDIN = Path("-")
STDIN_SOURCE = "<stdin>"


@dataclass(frozen=True)
class ScriptSource:
    """Where a script comes from: a file, or bytes read from standard input.

    ``stem`` names the outputs: the file's stem, 'stdin', or what --name gave.
    """

    path: Path | None
    stem: str
    data: bytes | None = None

    @property
    def label(self) -> str:
        """How messages name it: the file's path, or 'standard input'."""
        return str(self.path) if self.path is not None else "standard input"

    @classmethod
    def file(cls, path: Path, stem: str | None = None) -> ScriptSource:
        """A script file; its outputs are named after it unless ``stem`` is given."""
        return cls(path, stem or path.stem)

    @classmethod
    def stdin(cls, data: bytes, stem: str | None = None) -> ScriptSource:
        """A script read from standard input; outputs are named 'stdin' by default."""
        return cls(None, stem or "stdin", data)

    def read(self, encoding: str | None = None, cleaning: Cleaning = Cleaning()) -> Script:
        """Decode and clean the script; raises ScriptError like read_script."""
        if self.data is not None:
            return read_script_bytes(self.data, STDIN_SOURCE, encoding, cleaning)
        assert self.path is not None
        return read_script(self.path, encoding, cleaning)


def as_source(script: Path | ScriptSource) -> ScriptSource:
    """A source for a script given as a path or already as a source."""
    return script if isinstance(script, ScriptSource) else ScriptSource.file(script)


def read_script(path: Path, encoding: str | None = None, cleaning: Cleaning = Cleaning()) -> Script:
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
    return read_script_bytes(data, source, encoding, cleaning)


def read_script_bytes(
    data: bytes, source: str, encoding: str | None = None, cleaning: Cleaning = Cleaning()
) -> Script:
    """Decode and clean script bytes read from ``source`` (a path, or '-' for stdin).

    Raises ScriptError when the bytes are not text or have nothing left to say
    after cleaning.
    """
    text, used = decode(data, source, encoding)
    script = clean(text, source, cleaning.rules, cleaning.edits, cleaning.speak_headings)
    if not script.paragraphs:
        if script.dropped:
            raise ScriptError(
                f"{source}: nothing to say: every line was dropped by cleaning rules "
                f"({_rule_summary(d.rule for d in script.dropped)})"
            )
        raise ScriptError(f"{source}: nothing to say: the script is empty")
    return dataclasses.replace(script, encoding=used)


def _rule_summary(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names)))
