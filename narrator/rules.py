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
from enum import StrEnum
from typing import Literal


class Scope(StrEnum):
    """Which lines a rule is about."""

    LINE = "line"  # any line, on its own
    #: A Markdown heading, or a title line standing alone at the top of the script.
    TITLE = "title"
    #: A speaker's turn (a labelled line and the unlabelled lines that continue its
    #: paragraph), and only in a script whose narration is labelled.
    TURN = "turn"


@dataclass(frozen=True)
class Rule:
    """A drop rule: a line it matches (after edits, stripped) is not spoken."""

    name: str
    description: str
    pattern: re.Pattern[str]
    #: An extra condition on the line, for what a pattern cannot say cleanly.
    condition: Callable[[str], bool] | None = field(default=None, compare=False)
    scope: Scope = Scope.LINE

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
    scope: Scope = Scope.LINE


Condition = Callable[[str], bool]
#: One form of a rule: a pattern that is always noise, or a pattern and the
#: condition a matching line must also meet.
Form = str | tuple[str, Condition]


def _rule(name: str, description: str, *forms: Form) -> Rule:
    """A case-insensitive drop rule that matches when any one of its forms does.

    ``Rule.pattern`` is the union of the forms; when some form carries a
    condition, the rule's condition checks each form with its own condition, so
    a loose form cannot borrow the strict form's licence.
    """
    compiled = [
        (re.compile(form, re.IGNORECASE), None)
        if isinstance(form, str)
        else (re.compile(form[0], re.IGNORECASE), form[1])
        for form in forms
    ]
    union = re.compile("|".join(f"(?:{p.pattern})" for p, _ in compiled), re.IGNORECASE)
    if all(check is None for _, check in compiled):
        return Rule(name, description, union)

    def condition(line: str) -> bool:
        return any(
            p.fullmatch(line) is not None and (check is None or check(line))
            for p, check in compiled
        )

    return Rule(name, description, union, condition)


_SENTENCE_END = re.compile(r"[.!?…][\"'’”)\]]*$")


def _no_sentence_end(line: str) -> bool:
    return _SENTENCE_END.search(line) is None


def _shouting(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _shouting_or_no_sentence_end(line: str) -> bool:
    return _no_sentence_end(line) or _shouting(line)


def _after_label_words(limit: int) -> Condition:
    """A credit names someone in a few words ('Credit: Reuters/Omar Sanadiki.');
    a longer sentence after the label is narration."""

    def check(line: str) -> bool:
        return _no_sentence_end(line) or len(line.partition(":")[2].split()) <= limit

    return check


_THIS_WORK = re.compile(
    r"\b(?:this|our|all)\s+(?:narration\s+)?(?:content|material|text|article|story|script|"
    r"narration|transcript|video|footage|film|documentary|episode|podcast|recording|audio|"
    r"site|website|page|work|publication|programme|program|broadcast|report|analysis)\b",
    re.IGNORECASE,
)


def _names_this_work(line: str) -> bool:
    """An ownership notice is about the work it sits in, or is shouted."""
    return _shouting(line) or _THIS_WORK.search(line) is not None


_NOTICE_WORDING = re.compile(
    r"\b(?:unauthori[sz]ed|in\s+whole\s+or\s+in\s+part|strictly\s+(?:prohibited|forbidden)"
    r"|without\s+(?:the\s+)?(?:prior\s+)?(?:express\s+)?(?:written\s+)?(?:permission|consent)"
    r"(?:\s+(?:of|from)\s+[^.!?]{1,80})?[.!]?$)",
    re.IGNORECASE,
)


_PAST = re.compile(r"\b(?:was|were|had)\b", re.IGNORECASE)
_OWNERSHIP_WORDING = re.compile(r"\b(?:intellectual|exclusive|sole)\s+property\b", re.IGNORECASE)


def _notice(line: str) -> bool:
    """A republication notice is shouted, uses a notice's wording, or forbids copying
    this work in the present tense.

    Narration about a ban ('Republication of the cables was forbidden by the
    court.', 'Copying this report was forbidden') does none of these.
    """
    if _shouting(line) or _NOTICE_WORDING.search(line) is not None:
        return True
    return _THIS_WORK.search(line) is not None and _PAST.search(line) is None


def _ownership(line: str) -> bool:
    """A watermark is shouted, or claims this work in a notice's words or without a
    sentence end; 'This story is the property of everyone who lived it.' is narration."""
    if _shouting(line):
        return True
    return _THIS_WORK.search(line) is not None and (
        _no_sentence_end(line) or _OWNERSHIP_WORDING.search(line) is not None
    )


_COOKIE_CONTEXT = re.compile(
    r"\b(?:web)?site\b|\bbrows(?:e|er|ing)\b|\bexperience\b|\bconsent\b|\bprivacy\b"
    r"|\bpersonali[sz]|\banalytics\b|\btraffic\b|\badvertising\b|\bads\b|\bpolicy\b"
    r"|\baccept\b|\bagree\b|\bopt[- ]?out\b|\bpreferences\b|\bsettings\b|\bdevice\b",
    re.IGNORECASE,
)


def _about_a_website(line: str) -> bool:
    """'We use cookies, the baker joked' is narration; a banner talks about the site."""
    return _COOKIE_CONTEXT.search(line) is not None


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue(?:s)?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?"
_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})"
    rf"|(?:{_WEEKDAY}\s+)?(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|(?:{_WEEKDAY}\s+)?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_ZONE = r"(?:utc|gmt|est|edt|cst|cdt|pst|pdt|bst|cet|cest|eet|eest|msk|ast)(?:\s*[+-]\d{1,2})?"
_TIME = rf"(?:at\s+)?\d{{1,2}}[:.]\d{{2}}(?:\s*(?:am|pm|a\.m\.|p\.m\.))?(?:\s*{_ZONE})?"
_STAMP_WORD = (
    r"(?:dated?|posted|published|updated|last\s+updated|last\s+modified|modified|released)"
)
_AGO = r"\d+\s+(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago"
_URL = r"(?:https?://|www\.)\S+"
# Words after 'By' that start narration, not an author's name: 'By Monday the city…',
# 'By March', 'By now', 'By God'. Month and day names only in full: 'By Mar. 5' is rare.
_NOT_AUTHORS = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march"
    r"|april|may|june|july|august|september|october|november|december|now|then|nightfall"
    r"|dawn|dusk|noon|midnight|contrast|comparison|god)\b"
)
_NAME_WORD = r"(?-i:[A-Z][\w.'’-]*)"
_NAME = (
    rf"(?!(?i:{_NOT_AUTHORS})){_NAME_WORD}"
    rf"(?:\s+(?:{_NAME_WORD}|(?-i:de|van|von|der|den|al|el|bin|ibn|abu|da|di|del|la|le)))"
    r"{0,4}"
)
_SOCIAL = r"(?:facebook|twitter|x|linkedin|whatsapp|telegram|email|e-mail|pinterest|reddit|vk)"
# Arrows and guillemets that web pages put around navigation links.
_DECOR = r"[\s:.…»›>→↑↓←«‹<|-]*"


DROP_RULES: tuple[Rule, ...] = (
    _rule(
        "image-caption",
        "an image caption or credit ('… click to enlarge', 'Photo: …', 'Image credit …')",
        r"(?:date\s+[\d./-]+\s*)?[^.!?]{0,120}?\b(?:click|tap)\s+(?:here\s+|on\s+)?"
        r"(?:(?:the|this)\s+)?(?:(?:image|photo|picture|map)\s+)?to\s+(?:enlarge|zoom)\b"
        r"[\s.:)\]]*",
        r"[(\[]?enlarge\s+(?:this\s+)?(?:image|photo|picture|map)[\s.)\]]*",
        # A label and a colon is a caption however it ends ('Photo: Troops near
        # Palmyra, July 2017.'); narration does not open with 'Photo:'.
        r"[(\[]?(?:photo(?:graph)?|image|picture|illustration|graphic|map|video|caption"
        r"|pictured|screenshot|screengrab|file\s+photo|featured\s+image|"
        r"(?:photo|image|picture)\s+(?:credits?|courtesy|source))s?\s*:\s*.{1,200}",
        (
            r"[(\[]?(?:photo(?:graph)?|image|picture|illustration|graphic|map|video)s?"
            r"(?:\s+credits?)?\s*[–—|-]\s*.{1,200}",
            _no_sentence_end,
        ),
        r"[(\[]?(?:photo(?:graph)?|image|picture|illustration|video|footage)s?\s+"
        r"courtesy\s+(?:of\s+)?.{1,200}",
        (
            r"[(\[]?(?:photo(?:graph)?|image|picture|illustration|video|footage)s?\s+"
            r"(?:credits?|by|source|via)\b.{0,200}",
            _no_sentence_end,
        ),
        r"[(\[]?file\s+(?:photo|picture|image)[\s.)\]]*",
        (
            r"(?:credits?|source)\s*:(?!\s*[<(\[]?(?:https?://|www\.))\s*.{1,200}",
            _after_label_words(4),
        ),
    ),
    _rule(
        "date-stamp",
        "a bare date, or a 'Posted on' / 'Published' / 'Updated' stamp",
        rf"(?:{_STAMP_WORD}(?:\s+on)?\s*:?\s*)?(?:on\s+)?{_DATE}(?:\s*[,|·•–—-]?\s*{_TIME})?"
        r"(?:\s+by\s+[^.!?]{1,60}|\s*[|·•–—]\s*[^.!?]{1,80})?[\s.]*",
        rf"(?:{_STAMP_WORD}\s*:?\s*)?{_AGO}[\s.]*",
    ),
    _rule(
        "byline",
        "an author line: 'By Jane Doe', 'By Jane Doe | Staff Writer'",
        (
            r"(?-i:[Bb]y|BY|(?:[Ww]ritten|[Ww]ords|[Pp]osted|[Rr]eported|[Ss]tory|[Tt]ext)"
            r"\s+by|(?:WRITTEN|WORDS|POSTED|REPORTED|STORY|TEXT)\s+BY)"
            rf"\s+{_NAME}(?:\s+(?:and|&)\s+{_NAME})?"
            # After a comma only a title in capitals ('By Jane Doe, Staff Writer'):
            # 'By God, they fought' is narration.
            rf"(?:\s*,\s*{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|of|for|the|and|at|&)){{0,6}}"
            r"|\s*[|•·–—-]\s*.{0,80})?",
            _no_sentence_end,
        ),
    ),
    _rule(
        "comment-box",
        "comment-form furniture: 'Leave a Reply', 'Your email address will not be published…'",
        r"leave\s+a\s+(?:reply|comment)\W*|post\s+(?:a\s+)?comment\W*"
        r"|(?:\d+\s+)?(?:comments?|responses?|replies)\s*(?:[(\[]\s*\d+\s*[)\]])?\W*"
        r"|no\s+(?:comments|responses)(?:\s+yet)?\W*|comments\s+are\s+closed\W*"
        r"|\d+\s+(?:thoughts?|responses?|replies|comments?)\s+(?:on|to)\s+[\"“‘'].{0,150}"
        r"|your\s+email\s+address\s+will\s+not\s+be\s+published.*"
        r"|required\s+fields\s+are\s+marked.*|(?:click\s+here\s+to\s+)?cancel\s+reply\W*"
        r"|save\s+my\s+name,?\s+email.*|reply\W*|log\s+in\s+to\s+reply\W*"
        r"|you\s+must\s+be\s+logged\s+in\s+to\s+post\s+a\s+comment\W*"
        r"|notify\s+me\s+of\s+(?:follow-?up\s+comments|new\s+(?:posts|comments)).*"
        r"|this\s+site\s+uses\s+akismet\s+to\s+reduce\s+spam.*|join\s+the\s+discussion\W*",
    ),
    _rule(
        "navigation",
        "page navigation and sharing: 'Back to top', 'Share this', 'Related posts', …",
        rf"{_DECOR}(?:back\s+to\s+top|skip\s+to\s+(?:main\s+)?(?:content|navigation)"
        r"|share\s+this(?:\s+(?:article|story|post|page|video))?"
        rf"|share\s+(?:on|via)\s*:?\s*{_SOCIAL}(?:\s*(?:[|,/•·]|and)?\s*{_SOCIAL})*"
        rf"|{_SOCIAL}(?:\s*[|,/•·]?\s*{_SOCIAL})+"
        r"|related\s+(?:posts|articles|stories|reading|content|videos)"
        r"|you\s+(?:might|may)\s+also\s+(?:like|enjoy)|read\s+next|read\s+more|read\s+also"
        r"|see\s+also|continue\s+reading|(?:next|previous|prev|older|newer)\s+(?:post|article"
        r"|story|entry|page)s?|more\s+stories|recommended(?:\s+for\s+you)?"
        r"|advertisement|sponsored(?:\s+content)?|print\s+this\s+(?:page|article)"
        r"|\d+\s+min(?:ute)?s?\s+read|like\s+this|loading|menu|search|share|tweet|related"
        r"|privacy\s+policy|terms\s+(?:of\s+(?:use|service)|and\s+conditions)"
        r"|(?:sign\s+up\s+for|subscribe\s+to)\s+(?:our|the)\s+newsletter[^.!?]{0,80}"
        r"|follow\s+us\s+on\s+[^.!?]{1,60}"
        rf"|home\s*(?:[»›>/|→]\s*[^.!?»›>/|→]{{1,60}}){{1,6}}"
        # Buttons and links that differ from the phrases above by a word or two.
        r"|(?:scroll|go|return|jump)\s+(?:back\s+)?to\s+(?:the\s+)?top|top\s*[↑⇧▲]"
        r"|subscribe(?:\s+now)?|print(?:\s+(?:this\s+)?(?:page|article|story|post))?"
        r"|e-?mail\s+this(?:\s+(?:article|story|page|post))?|like|donate(?:\s+now)?"
        r"|sign\s+(?:up|in)|log\s+(?:in|out)|(?:show|view|hide|load)\s+(?:all\s+|more\s+)?comments"
        rf"|click\s+to\s+(?:share|print|e-?mail)(?:\s+(?:on|via)\s+{_SOCIAL})?"
        r"|listen\s+to\s+this\s+(?:article|story|post)|download\s+(?:as\s+|the\s+)?pdf)"
        r"(?:\s+(?:button|link|icon))?\s*(?:[(\[]\s*\d+\s*[)\]])?"
        r"(?:\s*\(\s*opens\s+in\s+(?:a\s+)?new\s+(?:window|tab)\s*\))?"
        rf"{_DECOR}",
        # Tags and categories are comma lists: 'Tags: the soldiers wore them.' is not.
        r"(?:tags?|filed\s+under|categor(?:y|ies))\s*:[^.!?]{0,200}",
    ),
    _rule(
        "cookie-notice",
        "a cookie banner ('This website uses cookies …', 'Accept all cookies')",
        (
            r".{0,200}\b(?:(?:this|our)\s+(?:web)?site\s+uses\s+cookies|we\s+use\s+cookies"
            r"|by\s+continuing\s+to\s+(?:browse|use)\s+(?:this|our)\s+(?:web)?site)\b.{0,300}",
            _about_a_website,
        ),
        r"(?:accept|allow|reject|decline)\s+(?:all\s+)?cookies\W*"
        r"|(?:cookie|cookies)\s+(?:policy|settings|preferences|consent|notice)\W*"
        r"|we\s+value\s+your\s+privacy\W*|manage\s+(?:cookie\s+)?(?:consent|preferences)\W*",
    ),
    _rule(
        "url",
        "a line that is only a link, or 'Read more: <link>' / 'Source: <link>'",
        r"(?:(?:read\s+more|source|sources|more|via|link|see|watch|full\s+story|original"
        r"|follow\s+us\s+on\s+\w+)\s*(?::|at|on|here|-)?\s*)?"
        rf"[<(\[]?{_URL}[>)\]]?(?:[\s,|]+[<(\[]?{_URL}[>)\]]?)*[\s.]*",
        # A Markdown reference definition: '[1]: https://…'.
        rf"\[[^\]]+\]:\s*{_URL}.*",
    ),
    _rule(
        "watermark",
        "an ownership watermark: '… IS THE INTELLECTUAL PROPERTY OF …'",
        (
            r".*\b(?:is|are)\s+the\s+(?:sole\s+|exclusive\s+)?(?:intellectual\s+)?property"
            r"\s+of\b.*",
            _ownership,
        ),
        (
            r"(?:the\s+)?(?:sole\s+|exclusive\s+)?(?:intellectual\s+)?property\s+of\s+.{1,80}",
            _shouting_or_no_sentence_end,
        ),
    ),
    _rule(
        "copyright",
        "a copyright notice: '© 2017 …', 'Copyright 2017 …', '… All rights reserved'",
        r"(?:copyright\s*)?(?:©|\(c\)(?=\s*\d{4})|℗).{0,200}",
        r"copyright\s+\d{4}.{0,200}",
        r".{0,200}\ball\s+rights\s+reserved[\s.!]*",
        (
            r"(?:copyright\b|all\s+rights\s+reserved).{0,200}"
            r"|.{0,200}\ball\s+rights\s+reserved\b.{0,100}",
            _names_this_work,
        ),
    ),
    _rule(
        "republication",
        "a notice forbidding republication or reproduction of this work",
        (
            r".{0,200}\b(?:republication|republishing|redistribution|reproduction|reprinting"
            r"|copying|reposting|re-?uploading)\b.{0,200}\b(?:prohibited|forbidden"
            r"|not\s+permitted|not\s+allowed|without\s+(?:the\s+)?(?:prior\s+)?(?:express\s+)?"
            r"(?:written\s+)?(?:permission|consent))\b.{0,100}",
            _notice,
        ),
        (
            r"(?:please\s+)?do\s+not\s+(?:republish|reproduce|redistribute|copy|repost|re-?upload)"
            r"\b.{0,200}",
            _notice,
        ),
        r"not\s+for\s+(?:republication|redistribution|reproduction|resale)\W*",
    ),
    _rule(
        "direction",
        "a whole-line stage or sound direction in brackets or parentheses",
        r"\[[^\[\]]*\]",
        # "(This was, of course, a lie.)" is an aside to be read: a direction has
        # no sentence punctuation of its own, or opens with a direction word or a
        # label ('(Beat.)', '(Cut to: the map.)'), or is in capitals.
        (r"\([^()]*\)", lambda line: _direction(line[1:-1].strip())),
        # Screenplay cues without brackets, only in capitals: 'MUSIC: slow strings'.
        r"(?-i:(?:MUSIC|SFX|FX|SOUND|SOUND EFFECTS?|AMBIENCE|B-?ROLL|GRAPHICS?|ON-?SCREEN"
        r"|SUPER|LOWER THIRD|VISUALS?|TITLE CARD|CUT TO|FADE (?:IN|OUT|TO(?: BLACK)?)"
        r"|DISSOLVE TO)\s*:.{0,200}|(?:CUT TO|FADE (?:IN|OUT|TO BLACK)|DISSOLVE TO)\W*)",
    ),
    _rule(
        "markdown-rule",
        "a Markdown horizontal rule ('---', '***') or an empty heading ('#')",
        r"(?:[-*_]\s*){3,}|={3,}|#{1,6}(?:\s+#*)?",
    ),
    Rule(
        "no-words",
        "a line with no letter or digit to say: emoji, symbols, decoration ('🎬✨', '* * *')",
        re.compile(r"[\W_]*"),
    ),
    Rule(
        "blob",
        "a line that is one unbroken run of 80 or more ASCII characters: encoded data, a "
        "hash, a pasted token; no word is that long (Chinese or Thai, written without "
        "spaces, is not ASCII)",
        re.compile(r"[!-~]{80,}"),
    ),
    Rule(
        "other-speaker",
        "in a script whose narration is labelled ('NARRATOR:', 'VO:'), a line labelled for "
        "someone else ('JOHN:', 'SOT:', 'INTERVIEWEE (…):') and the lines that continue it",
        re.compile(r".+"),
        lambda line: _other_speaker(line),
        Scope.TURN,
    ),
)


# A label in capitals ('SFX:', 'V.O.:') or a direction word. A label in lower case is
# not enough: '(He said: we will win.)' is an aside.
_DIRECTION_START = re.compile(
    r"(?:(?-i:[A-Z][A-Z .'’-]{0,20}):|(?:translator|editor)['’]?s\s+note|note:"
    r"|beat|pause|silence|laughs?|sighs?|music|sfx|fx|sound\s+(?:of|effects?)"
    r"|cut\s+to|fade\s+(?:in|out|to)|dissolve|b-?roll|v\.?o\.?|voice-?over|on[- ]?screen"
    r"|archive\s+footage|footage\s+(?:of|shows)|(?:aerial|wide|close|establishing|tracking"
    r"|drone)[- ]?(?:shot|up|view)|camera|end\s+of)\b",
    re.IGNORECASE,
)


def _direction(inner: str) -> bool:
    return _no_sentence_end(inner) or _shouting(inner) or bool(_DIRECTION_START.match(inner))


# Speaker labels: a known role in any case, or a name in capitals, then a colon.
_ROLES = (
    r"narrator|vo|v\.o\.|voice[- ]?over|host|presenter|announcer|reporter|anchor|"
    r"interviewer|correspondent|speaker"
)
# Capitalised words before a colon that are not speakers: captions, stamps and
# cues that a drop rule must still see whole, and notes that are read as written.
_NOT_SPEAKERS = (
    r"(?:PHOTO(?:GRAPH)?S?|IMAGES?|PICTURES?|PICTURED|ILLUSTRATION|GRAPHICS?|MAPS?|VIDEO"
    r"|CAPTION|CREDITS?|SOURCES?|SCREENSHOT|DATED?|POSTED|PUBLISHED|UPDATED?|TAGS?"
    r"|CATEGOR(?:Y|IES)|FILED UNDER|READ MORE|READ NEXT|SEE ALSO|RELATED|LIKE THIS|SHARE"
    r"|MUSIC|SFX|FX|SOUND(?: EFFECTS?)?|AMBIENCE"
    r"|B-?ROLL|ON-?SCREEN|SUPER|LOWER THIRD|VISUALS?|TITLE CARD|CUT TO|FADE (?:IN|OUT|TO)"
    r"|DISSOLVE TO|NOTE|NB|N\.B\.|PS|P\.S\.|TODO|FIXME|WARNING|UPDATE|BREAKING"
    r"|EDITOR'?’?S NOTE)"
)

def _label(after: str) -> re.Pattern[str]:
    return re.compile(
        rf"^\s*(?:(?i:{_ROLES})|(?!{_NOT_SPEAKERS}(?!\w))"
        # A name in capitals has at least three characters ('ABU OMAR', 'DR. AHMED'),
        # so 'US:' and 'UN:' stay.
        rf"[A-Z][A-Z.'’-]{{2,}}(?:\s+[A-Z][A-Z.'’-]+){{0,2}}(?=\s*(?:\([^()]*\))?\s*:{after}))"
        # Whatever the parenthesis says ('(V.O.)', '(Dr. Jane Roe, historian)'), it is
        # part of the label and never spoken.
        r"(?:\s*\([^()]{1,80}\))?\s*:\s*"
    )


# In prose, the words after a label do not start in lower case: 'ISIS: the name
# alone spread fear' is a sentence, not a line of dialogue. In a script whose
# narration is labelled, 'SOT: crowd noise' is a label all the same.
_LABEL = _label(r"(?!\s*[a-z]|//)")
_LABEL_IN_LABELLED = _label(r"(?!//)")
# The labels under which the narrator speaks; any other label is someone else's.
_NARRATION = re.compile(
    r"\s*(?:narrator|vo|v\.o\.|voice[- ]?over|host|presenter|announcer|anchor)(?!\w)",
    re.IGNORECASE,
)


def speaker(line: str, labelled: bool = False) -> Literal["narrator", "other"] | None:
    """Whose words a line is labelled as ('NARRATOR:', '> **JOHN:**'), or None without a label.

    ``labelled``: the script labels its narration, so a label followed by a word
    in lower case ('SOT: crowd noise') is still a label.
    """
    line = _strip_inline_markdown(_BULLET.sub("", _QUOTE.sub("", line)))
    label = (_LABEL_IN_LABELLED if labelled else _LABEL).match(line)
    if label is None:
        return None
    return "narrator" if _NARRATION.match(label.group(0)) else "other"


def unlabel(line: str) -> str:
    """The line without its speaker label, in a script whose narration is labelled."""
    return _LABEL_IN_LABELLED.sub("", line, count=1)


def _other_speaker(line: str) -> bool:
    return speaker(line) == "other"


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_BULLET = re.compile(
    # Not a thematic break ('- - -', '* * *'): that is the markdown-rule drop rule's.
    r"^\s*(?!(?:[-*_]\s*){3,}$)(?:[-*+•]|\d{1,2}[.)])\s+(?:\[[ xX]\]\s+)?"
)
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<((?:https?://|www\.)[^>\s]+)>")
# One to three markers ('*a*', '**a**', '***a***'), not inside a word ('snake_case',
# '5*3') and not opened by a space ('*** WARNING ***' is decoration, not emphasis).
_EMPHASIS = re.compile(
    r"(?<![\w*])(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s*])\1(?![\w*])"
    r"|(?<![\w_])(_{1,3})(?=[^\s_])(.+?)(?<=[^\s_])\3(?![\w_])"
)
_CODE = re.compile(r"`([^`]+)`")


def heading(line: str) -> str | None:
    """The title of a Markdown heading line ('# Title'), or None."""
    match = _HEADING.match(line)
    return match.group(2).strip() if match and match.group(2).strip() else None


def _strip_inline_markdown(line: str) -> str:
    line = _IMAGE.sub("", line)
    line = _LINK.sub(r"\1", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _EMPHASIS.sub(lambda m: m.group(2) if m.group(1) else m.group(4), line)
    return _CODE.sub(r"\1", line)


# Drafting notes at the end of a title: '(draft 2)', '[DRAFT]', 'rev. B', 'v2', 'FINAL',
# 'final v3', '– script'. 'Final', 'draft' and 'version' as plain words are left alone:
# '# The Final Draft' and '# Version Two' are titles.
_DRAFT_WORD = (
    r"(?:(?:first|second|third|1st|2nd|3rd|\d+th|rough|final|working)\s+)?"
    r"(?:draft|rev(?:ision)?\.?|version|ver\.?|v|final|wip|for\s+review|not\s+final|locked)"
)
_BRACKETED_NOTE = rf"[(\[]\s*(?i:{_DRAFT_WORD})\s*(?:#?\s*[\w.]{{1,6}})?\s*[)\]]"
_LEADING_NOTE = re.compile(rf"^\s*{_BRACKETED_NOTE}\s*")
_DRAFT_NOTE = (
    rf"{_BRACKETED_NOTE}"
    r"|(?i:draft|rev(?:ision)?\.?)\s*#?\s*(?:\d+|(?-i:[A-Z]))(?!\w)"
    r"|(?:(?-i:v)|(?i:ver\.|version))\s*\d+(?:\.\d+)*(?!\w)"
    r"|(?-i:FINAL|DRAFT|WIP)(?!\w)|(?i:final)(?=\s+(?:v\s*\d|ver\.|version|draft|rev))"
    r"|[–—-]\s*(?i:(?:(?:narration|vo|voice-?over)\s+)?(?:script|draft))(?!\w)"
)
_DRAFT_NOTES = re.compile(rf"(?:[\s,:;|–—-]*(?<!\w)(?:{_DRAFT_NOTE}))+[\s,:;|–—-]*$")


def _without_drafting_notes(title: str) -> str:
    """A title without its trailing drafting notes; a title that is only notes stays whole."""
    bare = _DRAFT_NOTES.sub("", title)
    # A bracketed note may also stand in front: '[DRAFT] Episode 4'.
    bare = _LEADING_NOTE.sub("", bare)
    return bare.strip() if any(c.isalnum() for c in bare) else title


EDITS: tuple[Edit, ...] = (
    Edit("markdown-quote", "a Markdown quote marker ('> ')", lambda line: _QUOTE.sub("", line)),
    Edit(
        "markdown-list",
        "a Markdown bullet or number ('- ', '* ', '1. '), and a task box ('- [ ] ')",
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
    Edit(
        "draft-note",
        "a drafting note on a title ('(draft 2)', 'FINAL v2', '– script'): stripped from a "
        "heading's chapter title; a title line at the top of the script that carries one "
        "is not spoken",
        _without_drafting_notes,
        Scope.TITLE,
    ),
)

#: The rules a config file may switch off. Notes, comments and headings are the
#: writer's own syntax, not rules (headings are spoken with speak_headings).
RULE_NAMES: frozenset[str] = frozenset([r.name for r in DROP_RULES] + [e.name for e in EDITS])


def select(
    disabled: Sequence[str] = (), extra: Sequence[Rule] = ()
) -> tuple[tuple[Rule, ...], tuple[Edit, ...]]:
    """The active drop rules and edits: built-ins minus ``disabled``, plus ``extra`` drop rules."""
    off = set(disabled)
    return (
        tuple(r for r in DROP_RULES if r.name not in off) + tuple(extra),
        tuple(e for e in EDITS if e.name not in off),
    )
