"""The cleaning rules: named patterns for lines a narrator must never say, and markup to strip.

Two kinds of rule. A *drop* rule matches a whole line that is noise (web-page
furniture, ownership notices, stage directions). An *edit* rule removes syntax
from a line (Markdown markers, a speaker label) and keeps its words. Both are
deliberately narrow: a narrative sentence that mentions a date, a URL or
property in passing is kept, and each rule's tests hold look-alike narration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """A drop rule: a line it matches (after edits, stripped) is not spoken."""

    name: str
    description: str
    pattern: re.Pattern[str]
    #: An extra condition on the line, for what a pattern cannot say cleanly.
    condition: Callable[[str], bool] | None = field(default=None, compare=False)

    def matches(self, line: str) -> bool:
        """True when the whole stripped line is noise under this rule."""
        line = line.strip()
        if self.pattern.fullmatch(line) is None:
            return False
        return self.condition is None or self.condition(line)


@dataclass(frozen=True)
class Edit:
    """An edit rule: removes markup from a line and keeps the words."""

    name: str
    description: str
    apply: Callable[[str], str] = field(compare=False)


def _rule(
    name: str, description: str, pattern: str, condition: Callable[[str], bool] | None = None
) -> Rule:
    return Rule(name, description, re.compile(pattern, re.IGNORECASE), condition)


_SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*$")


def _no_sentence_end(line: str) -> bool:
    return _SENTENCE_END.search(line) is None


def _shouting_or_no_sentence_end(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return _no_sentence_end(line) or (bool(letters) and all(c.isupper() for c in letters))


def _names_this_work(line: str) -> bool:
    return _shouting_or_no_sentence_end(line) or bool(_THIS_WORK.search(line))


_THIS_WORK = re.compile(
    r"\b(?:this|our)\s+(?:content|material|article|story|script|narration|video|site|"
    r"website|page|work|publication|programme|program|broadcast)\b",
    re.IGNORECASE,
)
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}"
    r"|(?:\w+day,?\s+)?\d{1,2}(?:st|nd|rd|th)?\s+[a-z]{3,9}\.?,?\s+\d{4}"
    r"|(?:\w+day,?\s+)?[a-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
)
_URL = r"(?:https?://|www\.)\S+"


DROP_RULES: tuple[Rule, ...] = (
    _rule(
        "image-caption",
        "an image caption or credit ('… click to enlarge', 'Photo: …', 'Image credit …')",
        r"(?:date\s+[\d./-]+\s*)?[^.!?]{0,120}?\bclick\s+(?:here\s+)?to\s+enlarge\b[\s.:)\]]*"
        r"|[(\[]?(?:photo(?:graph)?|image|picture|illustration|video|graphic|map)s?"
        r"(?:\s+credits?)?\s*(?::|–|—|-|\|)\s*.{1,200}"
        r"|[(\[]?(?:photo|image|picture|illustration)\s+(?:credits?|courtesy|by|source)\b.{0,200}"
        r"|credits?\s*:\s*.{1,200}",
    ),
    _rule(
        "date-stamp",
        "a bare date, or a 'Posted on' / 'Published' / 'Updated' stamp",
        rf"(?:date|posted|published|updated|last\s+updated|posted\s+on|published\s+on)?"
        rf"\s*:?\s*(?:on\s+)?{_DATE}(?:\s+(?:at\s+)?\d{{1,2}}[:.]\d{{2}}\s*(?:am|pm|a\.m\.|p\.m\.)?"
        rf"(?:\s*[a-z]{{2,4}})?)?[\s.]*"
        r"|(?:posted|published|updated|last\s+updated)\s+(?:on|at|by)\b.{0,80}",
        condition=_no_sentence_end,
    ),
    Rule(
        "byline",
        "an author line: 'By Jane Doe', 'By Jane Doe | Staff Writer'",
        re.compile(
            r"(?:[Bb]y|BY|[Ww]ritten\s+by|[Ww]ords\s+by|[Pp]osted\s+by)\s+"
            r"[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|de|van|von|al|bin|da|la|le)){0,4}"
            r"\s*(?:[|,•·–—-]\s*.{0,80})?"
        ),
        _no_sentence_end,
    ),
    _rule(
        "comment-box",
        "comment-form furniture: 'Leave a Reply', 'Your email address will not be published…'",
        r"leave\s+a\s+(?:reply|comment)\W*|post\s+(?:a\s+)?comment\W*"
        r"|(?:\d+\s+)?comments?\s*(?:\(\d+\))?\W*|no\s+comments(?:\s+yet)?\W*"
        r"|your\s+email\s+address\s+will\s+not\s+be\s+published.*"
        r"|required\s+fields\s+are\s+marked.*|cancel\s+reply\W*"
        r"|save\s+my\s+name,\s+email.*|reply\W*|log\s+in\s+to\s+reply\W*",
    ),
    _rule(
        "navigation",
        "page navigation and sharing: 'Back to top', 'Share this', 'Related posts', …",
        r"(?:back\s+to\s+top|skip\s+to\s+(?:main\s+)?content|share\s+this(?:\s+(?:article|story|post|page))?"
        r"|share\s+on\s+\w+(?:\s*[|,/]\s*\w+)*|related\s+(?:posts|articles|stories|reading)"
        r"|you\s+(?:might|may)\s+also\s+like|read\s+next|read\s+more|continue\s+reading"
        r"|next\s+(?:post|article|story)|previous\s+(?:post|article|story)|more\s+stories"
        r"|recommended(?:\s+for\s+you)?|advertisement|sponsored(?:\s+content)?|print\s+this\s+page"
        r"|tags?\s*:.{0,200}|filed\s+under\s*:?.{0,200}|categor(?:y|ies)\s*:.{0,200}"
        r"|(?:sign\s+up\s+for|subscribe\s+to)\s+(?:our|the)\s+newsletter.{0,80}"
        r"|(?:facebook|twitter|x|linkedin|whatsapp|email|pinterest|reddit)"
        r"(?:\s*[|,/•·]\s*(?:facebook|twitter|x|linkedin|whatsapp|email|pinterest|reddit))+)"
        r"[\s:.»›>→]*",
    ),
    _rule(
        "cookie-notice",
        "a cookie banner ('This website uses cookies …', 'Accept all cookies')",
        r".{0,200}\b(?:(?:this|our)\s+(?:web)?site\s+uses\s+cookies|we\s+use\s+cookies"
        r"|accept\s+(?:all\s+)?cookies|cookie\s+(?:policy|settings|preferences|consent)"
        r"|by\s+continuing\s+to\s+(?:browse|use)\s+(?:this|our)\s+(?:web)?site)\b.{0,300}",
    ),
    _rule(
        "url",
        "a line that is only a link, or 'Read more: <link>' / 'Source: <link>'",
        rf"(?:(?:read\s+more|source|more|via|link|see|watch|full\s+story)\s*(?::|at|on|-)?\s*)?"
        rf"[<(\[]?{_URL}[>)\]]?[\s.]*",
    ),
    _rule(
        "watermark",
        "an ownership watermark: '… IS THE INTELLECTUAL PROPERTY OF …' (no sentence end)",
        r".*\bis\s+the\s+(?:intellectual\s+)?property\s+of\b.*",
        condition=_shouting_or_no_sentence_end,
    ),
    _rule(
        "copyright",
        "a copyright or republication notice: '© 2017 …', 'All rights reserved', "
        "'Republication … prohibited'",
        r"(?:©|\(c\)|copyright\b|all\s+rights\s+reserved).{0,200}"
        r"|.{0,200}\ball\s+rights\s+reserved\b.{0,100}",
        condition=_names_this_work,
    ),
    _rule(
        "republication",
        "a notice forbidding republication or reproduction of this work",
        r".{0,200}\b(?:republication|republishing|redistribution|reproduction|reprinting|copying)"
        r"\b.{0,200}\b(?:prohibited|forbidden|not\s+permitted|strictly\s+prohibited|without\s+"
        r"(?:the\s+)?(?:prior\s+)?(?:express\s+)?(?:written\s+)?(?:permission|consent))\b.{0,100}",
        condition=_names_this_work,
    ),
    _rule(
        "direction",
        "a whole-line stage or sound direction in brackets or parentheses",
        r"\[[^\[\]]*\]|\([^()]*\)",
        # "(This was, of course, a lie.)" is an aside to be read; a direction has no
        # sentence punctuation of its own.
        condition=lambda line: _no_sentence_end(line[1:-1].strip()) or line.startswith("["),
    ),
    _rule(
        "markdown-rule",
        "a Markdown horizontal rule ('---', '***')",
        r"(?:[-*_]\s*){3,}",
    ),
)


# Speaker labels: a known role in any case, or a name in capitals, then a colon.
_ROLES = (
    r"narrator|vo|v\.o\.|voice[- ]?over|host|presenter|announcer|reporter|anchor|"
    r"interviewer|correspondent|speaker"
)
_LABEL = re.compile(
    rf"^\s*(?:(?i:{_ROLES})|[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){{0,2}})"
    r"(?:\s*\((?i:v\.?o\.?|o\.?s\.?|cont'?d|voice[- ]?over|off)\))?\s*:\s*"
)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<((?:https?://|www\.)[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(
    r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)([^_]+?)(?<=\S)_(?!\w)"
)
_CODE = re.compile(r"`([^`]+)`")


def heading(line: str) -> str | None:
    """The title of a Markdown heading line ('# Title'), or None."""
    match = _HEADING.match(line)
    return match.group(2).strip() if match and match.group(2).strip() else None


def _strip_inline_markdown(line: str) -> str:
    line = _IMAGE.sub("", line)
    line = _LINK.sub(r"\1", line)
    line = _STRONG.sub(r"\2", line)
    line = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), line)
    return _CODE.sub(r"\1", line)


EDITS: tuple[Edit, ...] = (
    Edit("markdown-quote", "a Markdown quote marker ('> ')", lambda line: _QUOTE.sub("", line)),
    Edit(
        "markdown-list",
        "a Markdown bullet or number ('- ', '* ', '1. ')",
        lambda line: _BULLET.sub("", line),
    ),
    Edit(
        "markdown-inline",
        "Markdown emphasis, link and code syntax (the text is kept)",
        _strip_inline_markdown,
    ),
    Edit(
        "speaker-label", "a speaker label ('NARRATOR:', 'VO:')", lambda line: _LABEL.sub("", line)
    ),
)

RULE_NAMES: frozenset[str] = frozenset(
    [r.name for r in DROP_RULES] + [e.name for e in EDITS] + ["markdown-heading", "note", "comment"]
)


def select(
    disabled: Sequence[str] = (), extra: Sequence[Rule] = ()
) -> tuple[tuple[Rule, ...], tuple[Edit, ...]]:
    """The active drop rules and edits: built-ins minus ``disabled``, plus ``extra`` drop rules."""
    off = set(disabled)
    return (
        tuple(r for r in DROP_RULES if r.name not in off) + tuple(extra),
        tuple(e for e in EDITS if e.name not in off),
    )
