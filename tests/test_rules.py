"""The cleaning rules (narrator.rules), checked through the real pipeline (script.clean).

Every drop rule and edit has noise it must remove and look-alike narration it must keep;
the fixture scripts in tests/fixtures/ are cleaned and compared with their expected
results; a property test checks that cleaning never loses text that no rule reports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.errors import ScriptError
from narrator.rules import DROP_RULES, EDITS, RULE_NAMES, Scope
from narrator.script import (
    AlteredLine,
    Chapter,
    DroppedLine,
    Paragraph,
    PauseMark,
    Script,
    clean,
    normalize_line,
    reported_line,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed-script.txt"
BEFORE = "The ferry left at nine."
AFTER = "It reached the island by noon."
PAUSE = re.compile(r"\[\s*pause\b[^\]]*\]", re.IGNORECASE)


def texts(script: Script) -> list[str]:
    return [p.text for p in script.paragraphs]


def between_paragraphs(line: str, **options: Any) -> Script:
    """Clean ``line`` as a paragraph of its own, on line 3."""
    return clean(f"{BEFORE}\n\n{line}\n\n{AFTER}\n", "rules.txt", **options)


def inside_paragraph(line: str) -> Script:
    """Clean ``line`` between two narration lines of one paragraph, on line 2."""
    return clean(f"{BEFORE}\n{line}\n{AFTER}\n", "rules.txt")


# --- drop rules -------------------------------------------------------------------------

NOISE: dict[str, list[str]] = {
    "image-caption": [
        "date 2017-07-26 click to enlarge",
        "Date 2020-1-5 Click To Enlarge",
        "The old mill in winter - click to enlarge.",
        "(click to enlarge)",
        "Click here to enlarge",
        "(Click image to enlarge)",
        "Photo: Reuters",
        "PHOTO: AP Photo/Hassan Ammar",
        "Photo: Syrian Army soldiers near al-Sukhnah, July 2017.",
        "Photo by Jane Doe on Unsplash",
        "Photo - Reuters",
        "Image credit: NASA/JPL-Caltech",
        "Image Credit NASA",
        "image courtesy of the Syrian Arab News Agency.",
        "Photograph: Getty Images",
        "Credit: Reuters/Omar Sanadiki.",
        "Source: Wikimedia Commons",
        "Pictured: the city walls of Deir Ezzor",
        "Map: Institute for the Study of War",
        "[Photo: AFP]",
        "(Photo: AFP)",
        "File photo",
        "**Photo:** Reuters",
    ],
    "date-stamp": [
        "date 2017-07-26",
        "DATE: 2019-12-01",
        "Posted on July 26, 2017",
        "Posted on July 26, 2017.",
        "Posted on 26 July 2017 at 14:05",
        "POSTED ON JULY 26, 2017 BY ADMIN",
        "Published: 12 March 2019",
        "Updated: March 12, 2019 10:41 am EST",
        "last updated on Tuesday, 4 April 2017",
        "Wednesday, July 26, 2017",
        "26/07/2017",
        "Jul. 26, 2017",
        "26.07.2017 | 14:05",
        "Date: 26th July 2017",
        "Published 3 hours ago",
    ],
    "byline": [
        "By Jane Doe",
        "By Jane Doe | Staff Writer",
        "BY JOHN SMITH, SENIOR CORRESPONDENT",
        "by Brandon Turbeville",
        "Written by Oz Analysis",
        "Posted by Admin",
        "By Jean-Luc de la Fontaine • 5 min read",
        "By Jane Doe and John Smith",
    ],
    "comment-box": [
        "Leave a Reply",
        "LEAVE A COMMENT",
        "Your email address will not be published. Required fields are marked *",
        "Required fields are marked *",
        "Cancel reply",
        "Save my name, email, and website in this browser for the next time I comment.",
        "5 Comments",
        "Comments (12)",
        "No comments yet.",
        "Reply",
        "You must be logged in to post a comment.",
        "Comments are closed.",
        "3 thoughts on “The Battle for Deir Ezzor”",
        "Notify me of follow-up comments by email.",
    ],
    "navigation": [
        "Back to top",
        "BACK TO TOP ↑",
        "↑ Back to top",
        "Skip to content",
        "Share this:",
        "Share this article",
        "Share on Facebook | Twitter",
        "Facebook Twitter LinkedIn",
        "Related posts",
        "Related Posts:",
        "You might also like",
        "YOU MAY ALSO LIKE...",
        "Read More »",
        "Continue reading →",
        "« Previous post",
        "Next Post »",
        "Tags: Syria, ISIS, Deir Ezzor",
        "Filed under: Middle East",
        "Subscribe to our newsletter",
        "Advertisement",
        "Home » News » Syria",
        "Loading...",
        "[Read more](https://example.com/more)",
    ],
    "cookie-notice": [
        "This website uses cookies to improve your experience. We'll assume you're ok with "
        "this, but you can opt-out if you wish. Accept Read More",
        "We use cookies to ensure that we give you the best experience on our website.",
        "ACCEPT ALL COOKIES",
        "Cookie Policy",
        "By continuing to use this site, you agree to the use of cookies.",
        "We value your privacy",
    ],
    "url": [
        "https://www.example.com/article/123",
        "www.southfront.org",
        "Read more: https://example.com/a",
        "READ MORE: HTTPS://EXAMPLE.COM/A",
        "Source: https://www.sana.sy/en/?p=1234",
        "<https://example.com>",
        "(https://example.com)",
        "Read more at https://example.com/x",
        "Follow us on Twitter: https://twitter.com/oz",
        "https://example.com/a https://example.com/b",
        "[1]: https://example.com/report",
    ],
    "watermark": [
        "THIS NARRATION SCRIPT IS THE INTELLECTUAL PROPERTY OF OZ ANALYSIS",
        "This text is the intellectual property of Northwind Films",
        "this script is the intellectual property of oz analysis.",
        "All content on this site is the exclusive property of Acme Media",
        "PROPERTY OF NORTHWIND FILMS",
    ],
    "copyright": [
        "© 2017 Oz Analysis. All rights reserved.",
        "Copyright © 2017 South Front",
        "(c) 2019 Northwind Films",
        "All Rights Reserved",
        "ALL RIGHTS RESERVED.",
        "Copyright 2017 by Oz Analysis. All rights reserved.",
        "Oz Analysis 2017 - all rights reserved",
    ],
    "republication": [
        "REPUBLICATION OF THIS SCRIPT IS STRICTLY PROHIBITED",
        "Republication or redistribution of this content is prohibited without prior "
        "written consent.",
        "Reproduction in whole or in part without permission is prohibited.",
        "Any republishing of this material without the express written permission of the "
        "author is forbidden.",
        "Do not republish without permission.",
        "Not for republication",
        "Unauthorised reproduction is prohibited",
    ],
    "direction": [
        "[MUSIC: slow strings]",
        "[END OF SEGMENT ONE]",
        "[Music fades out.]",
        "(Aerial shot of the Euphrates valley)",
        "(SFX: distant artillery)",
        "(Cut to: map of eastern Syria.)",
        "(Beat.)",
        "(laughs)",
        "(Translator’s note: the word means “martyr”.)",
        "MUSIC: slow strings",
        "CUT TO:",
    ],
    "markdown-rule": ["---", "***", "___", "- - -", "* * *", "#"],
    "no-words": ["🎬🎥✨ 🙂", "♪ ♪ ♪", "→ → →", "~~ ❦ ~~", "¶", "👏👏👏"],
    "blob": [
        "A" * 100_000,
        "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBsb25nIGJhc2U2NCBzdHJpbmcgdGhhdCBzb21lb25lIHBhc3RlZA==",
        "d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e98009",
    ],
}

LOOK_ALIKES: dict[str, list[str]] = {
    "image-caption": [
        "A photo of the bridge, taken in 2015, was all that was left.",
        "Photo credit went to a local stringer, who was never paid.",
        "Map - it showed the front line, and nothing else.",
        "Credit: the whole team deserves it.",
        "Image credit is rarely given to the local photographers who take the risks.",
        "Click to enlarge is a phrase every web editor knows.",
        "Readers were told to click to enlarge the map, and most of them did.",
        "Picture the scene: a convoy stretched along the desert road.",
        "Source: a senior officer told us the city would fall within days.",
    ],
    "date-stamp": [
        "July 26, 2017 was the hottest day on record.",
        "On July 26, 2017, the convoy left Palmyra.",
        "The date 2017-07-26 was chosen for the launch.",
        "Posted on the wall was a list of the dead.",
        "Published in 1859, the book changed everything.",
        "Posted at the checkpoint for three years, he knew every face",
        "Updated figures from the ministry tell a different story",
        "March 2017 brought the first rains",
    ],
    "byline": [
        "By now, the front had collapsed.",
        "By nightfall the convoy had reached the river",
        "By Monday the city was surrounded",
        "By God, they fought",
        "By March, the army had retreated",
        "By Deir Ezzor the army had stopped",
        "Written by hand, the letter survived the siege.",
    ],
    "comment-box": [
        "Leave a reply to the soldiers, he said, and walk away.",
        "No comments from the ministry were forthcoming.",
        "Reply came there none.",
        "Comment, he said, was unnecessary",
    ],
    "navigation": [
        "Back to top of the hill they climbed, exhausted.",
        "Share this burden, the general told them.",
        "You might also like to know that the siege lasted three years.",
        "Read more about the siege in the second part.",
        "Tags: the soldiers wore them around their necks.",
        "Facebook and Twitter were full of rumours.",
        "Home was a tent on the edge of the camp.",
        "Search parties found nothing",
    ],
    "cookie-notice": [
        "Cookies were baked for the soldiers every Sunday.",
        "We use cookies, the baker joked, as currency.",
        "The cookie jar sat on the shelf, untouched since the siege.",
    ],
    "url": [
        "The full report is at https://example.com/report.",
        "See www.un.org for the figures.",
        "He typed www.google.com into the browser and waited.",
    ],
    "watermark": [
        "The patent became the intellectual property of the university in 1998.",
        "Is the idea the intellectual property of its author? Many said no.",
        "The oil fields were the property of the state until 2011.",
        "The land is the property of the Assad family, locals say",
        "This story is the property of everyone who lived it.",
    ],
    "copyright": [
        "Copyright law in Syria dates back to 1924.",
        "All rights reserved, the contract said, but nobody enforced it.",
        "The copyright on the film expired in 2015.",
    ],
    "republication": [
        "Reproduction of the old maps was prohibited under the mandate.",
        "Republication of the leaked cables was forbidden by the court.",
        "Copying the keys without permission was forbidden in the barracks",
        "Reproduction of this report was forbidden by the regime.",
    ],
    "direction": [
        "(This was, of course, a lie.)",
        "(And nobody, not even the generals, knew it.)",
        "The city (2012 census) had 800,000 people.",
        "(2012 census) The city had 800,000 people.",
        "(He said: we will win.)",
        "Music: it was the one thing the siege could not stop.",
    ],
    "markdown-rule": [
        "-- the end --",
        "The score was 3 - 2 at half time.",
        "2 * 3 * 4 = 24",
    ],
    "no-words": ["1914", "🎬 Action.", "A ✨", "42 ♪"],
    "blob": [
        "Donaudampfschifffahrtsgesellschaftskapitänswitwe was the word they laughed at.",
        "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
        "The password was " + "x" * 30 + ", or so he claimed.",
        # Written without spaces, and longer than 80 characters: narration all the same.
        "这是一个关于围城的长句子，讲述了守军如何在没有补给的情况下坚持了整整三年，直到最后一批援军终于穿过沙漠抵达城下，"
        "城中的百姓走上街头迎接他们，许多人流下了眼泪。",
        "กองทัพเดินทางข้ามทะเลทรายเป็นเวลาสามวันโดยไม่มีน้ำและอาหารจนกระทั่งมาถึงแม่น้ำในตอนเช้าของวันที่สี่",
    ],
}


def cases(table: dict[str, list[str]]) -> list[Any]:
    return [
        pytest.param(rule, line, id=f"{rule}:{line[:40]}")
        for rule, lines in table.items()
        for line in lines
    ]


def test_every_drop_rule_has_noise_and_look_alikes() -> None:
    # A speaker's turn is judged in a whole script: see tests/test_text_cleaning.py.
    names = {rule.name for rule in DROP_RULES if rule.scope is Scope.LINE}
    assert set(NOISE) == names
    assert set(LOOK_ALIKES) == names
    assert all(len(NOISE[n]) >= 3 and len(LOOK_ALIKES[n]) >= 3 for n in names)


@pytest.mark.parametrize(("rule", "line"), cases(NOISE))
def test_noise_line_is_dropped_with_its_rule(rule: str, line: str) -> None:
    script = between_paragraphs(line)
    assert script.dropped == (DroppedLine(3, line, rule),)
    assert script.altered == ()
    assert texts(script) == [BEFORE, AFTER]


@pytest.mark.parametrize(("rule", "line"), cases(NOISE))
def test_noise_line_inside_a_paragraph_is_dropped_and_splits_it(rule: str, line: str) -> None:
    script = inside_paragraph(line)
    assert script.dropped == (DroppedLine(2, line, rule),)
    assert script.paragraphs == (Paragraph(1, BEFORE), Paragraph(3, AFTER))


@pytest.mark.parametrize(("rule", "line"), cases(NOISE))
def test_noise_line_shouted_is_still_noise(rule: str, line: str) -> None:
    shouted = line.upper()
    script = between_paragraphs(shouted)
    assert script.dropped == (DroppedLine(3, shouted, rule),)
    assert texts(script) == [BEFORE, AFTER]


@pytest.mark.parametrize(("rule", "line"), cases(LOOK_ALIKES))
def test_look_alike_narration_is_kept_unchanged(rule: str, line: str) -> None:
    script = between_paragraphs(line)
    assert texts(script) == [BEFORE, line, AFTER], rule
    assert script.dropped == ()
    assert script.altered == ()


def test_a_hard_wrapped_look_alike_is_kept_whole() -> None:
    text = (
        "The city had 800,000 people\n"
        "(2012 census)\n"
        "and most of them fled. Readers of the old edition were told to click to enlarge\n"
        "the map.\n"
    )
    script = clean(text, "wrap.txt")
    assert script.dropped == ()
    assert texts(script) == [" ".join(text.split())]


def test_disabling_a_rule_keeps_its_lines() -> None:
    rules = tuple(r for r in DROP_RULES if r.name != "byline")
    script = clean(f"By Jane Doe\n\n{BEFORE}\n", "a.txt", rules=rules)
    assert texts(script) == ["By Jane Doe", BEFORE]


# --- edits ------------------------------------------------------------------------------

EDITED: list[tuple[str, str, tuple[str, ...]]] = [
    ("- The army advanced.", "The army advanced.", ("markdown-list",)),
    ("* The army advanced.", "The army advanced.", ("markdown-list",)),
    ("+ The army advanced.", "The army advanced.", ("markdown-list",)),
    ("• The army advanced.", "The army advanced.", ("markdown-list",)),
    ("1. The army advanced.", "The army advanced.", ("markdown-list",)),
    ("12) The army advanced.", "The army advanced.", ("markdown-list",)),
    ("- [x] Dozens of oil wells.", "Dozens of oil wells.", ("markdown-list",)),
    ("> The army advanced.", "The army advanced.", ("markdown-quote",)),
    ("> > Nobody believed him.", "Nobody believed him.", ("markdown-quote",)),
    ("**The army** advanced.", "The army advanced.", ("markdown-inline",)),
    ("__The army__ advanced.", "The army advanced.", ("markdown-inline",)),
    ("*The army* advanced.", "The army advanced.", ("markdown-inline",)),
    ("_The army_ advanced.", "The army advanced.", ("markdown-inline",)),
    ("***Never*** again, they said.", "Never again, they said.", ("markdown-inline",)),
    ("He said *what?*", "He said what?", ("markdown-inline",)),
    (
        "The army advanced [to the river](https://example.com/river).",
        "The army advanced to the river.",
        ("markdown-inline",),
    ),
    (
        'See [the maps](https://example.com/maps "Maps") for detail.',
        "See the maps for detail.",
        ("markdown-inline",),
    ),
    (
        "The army advanced ![map](map.png) to the river.",
        "The army advanced to the river.",
        ("markdown-inline",),
    ),
    ("Type `deir-ezzor` in the box.", "Type deir-ezzor in the box.", ("markdown-inline",)),
    (
        "See <https://example.com/report> for the full report.",
        "See https://example.com/report for the full report.",
        ("markdown-inline",),
    ),
    ("NARRATOR: The war began in 2011.", "The war began in 2011.", ("speaker-label",)),
    ("Narrator: The war began in 2011.", "The war began in 2011.", ("speaker-label",)),
    ("narrator: the war began.", "the war began.", ("speaker-label",)),
    ("VO: The city fell.", "The city fell.", ("speaker-label",)),
    ("V.O.: The city fell.", "The city fell.", ("speaker-label",)),
    ("NARRATOR (V.O.): The city fell.", "The city fell.", ("speaker-label",)),
    ("Narrator (cont'd): The city fell.", "The city fell.", ("speaker-label",)),
    ("Host: Welcome back.", "Welcome back.", ("speaker-label",)),
    ("NARRATOR:The city fell.", "The city fell.", ("speaker-label",)),
    ("DR. AHMED: The wounded kept coming.", "The wounded kept coming.", ("speaker-label",)),
    ("ABU OMAR: “We stayed.”", "“We stayed.”", ("speaker-label",)),
    (
        "> - **NARRATOR:** The siege was over.",
        "The siege was over.",
        ("markdown-quote", "markdown-list", "markdown-inline", "speaker-label"),
    ),
]

UNEDITED: dict[str, list[str]] = {
    "markdown-list": [
        "2017. It was the year the siege broke.",
        "I - for one - disagree.",
        "-5 degrees, and the night was long.",
    ],
    "markdown-quote": ["The ratio was 3 > 2, the officer said."],
    "markdown-inline": [
        "The 5*3 formation held.",
        "The snake_case_names file and other_name stay.",
        "2 * 3 * 4 = 24",
        "*** WARNING ***",
        "[sic] was printed in the margin, and nobody corrected it.",
    ],
    "speaker-label": [
        "ISIS: the name alone spread fear.",
        "US: The coalition hesitated.",
        "NOTE: this was before the ceasefire.",
        "TODO: Check the casualty figures.",
        "P.S.: We were wrong.",
        "The reason was simple: nobody wanted the city.",
        "The narrator: a man who never gave his name.",
        "At 5:30 the shelling began.",
    ],
}


def test_every_edit_has_cases_and_look_alikes() -> None:
    # Title edits apply to headings and a title line: see tests/test_text_cleaning.py.
    names = {edit.name for edit in EDITS if edit.scope is Scope.LINE}
    assert {name for _, _, rules in EDITED for name in rules} == names
    assert set(UNEDITED) == names


@pytest.mark.parametrize(("line", "after", "rules"), EDITED, ids=[c[0][:40] for c in EDITED])
def test_edit_removes_markup_and_keeps_the_words(
    line: str, after: str, rules: tuple[str, ...]
) -> None:
    script = between_paragraphs(line)
    assert script.altered == (AlteredLine(3, line, after, rules),)
    assert script.dropped == ()
    assert texts(script) == [BEFORE, after, AFTER]


@pytest.mark.parametrize(("rule", "line"), cases(UNEDITED))
def test_look_alike_of_markup_is_left_alone(rule: str, line: str) -> None:
    script = between_paragraphs(line)
    assert script.altered == (), rule
    assert script.dropped == ()
    assert texts(script) == [BEFORE, line, AFTER]


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("NARRATOR:", "speaker-label"),
        ("![Map of eastern Syria](images/map.png)", "markdown-inline"),
        ("NARRATOR: [MUSIC: strings swell]", "direction"),
        ("> Photo: Reuters", "image-caption"),
        ("- Back to top", "navigation"),
    ],
)
def test_line_left_empty_or_noisy_by_an_edit_is_dropped(line: str, rule: str) -> None:
    script = between_paragraphs(line)
    assert script.dropped == (DroppedLine(3, line, rule),)
    assert texts(script) == [BEFORE, AFTER]


# --- headings, notes, comments, pauses --------------------------------------------------


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("# The Battle for Deir Ezzor", "The Battle for Deir Ezzor"),
        ("## Part two ##", "Part two"),
        ("###   The gas fields   ", "The gas fields"),
        ("   # Indented heading", "Indented heading"),
        ("# **Bold** title", "Bold title"),
    ],
)
def test_heading_becomes_a_chapter_and_is_not_spoken(line: str, title: str) -> None:
    script = between_paragraphs(line)
    assert script.dropped == (DroppedLine(3, normalize_line(line), "markdown-heading"),)
    assert script.chapters == (Chapter(title, 3, 1),)
    assert texts(script) == [BEFORE, AFTER]


def test_heading_is_spoken_with_speak_headings() -> None:
    script = between_paragraphs("## Part two ##", speak_headings=True)
    assert script.altered == (AlteredLine(3, "## Part two ##", "Part two", ("markdown-heading",)),)
    assert script.chapters == (Chapter("Part two", 3, 1),)
    assert texts(script) == [BEFORE, "Part two", AFTER]


@pytest.mark.parametrize(
    "line", ["#hashtags spread the news.", "#5 on the list was the bridge.", "Route #66 ran east."]
)
def test_hash_without_a_space_is_not_a_heading(line: str) -> None:
    script = between_paragraphs(line)
    assert script.chapters == ()
    assert texts(script) == [BEFORE, line, AFTER]


@pytest.mark.parametrize(
    "line",
    ["// check the casualty figures", "//TODO: add the map", "  // indented note", "//"],
)
def test_note_line_is_never_spoken(line: str) -> None:
    script = inside_paragraph(line)
    assert script.dropped == (DroppedLine(2, normalize_line(line), "note"),)
    # A note is not a paragraph break: the narration around it stays one paragraph.
    assert texts(script) == [f"{BEFORE} {AFTER}"]


@pytest.mark.parametrize(
    "line",
    [
        "He wrote 10 // 2 on the board.",
        "The old address, http://example.com//archive, still worked.",
        "/ A single slash is just a slash.",
    ],
)
def test_slashes_not_at_a_line_start_are_spoken(line: str) -> None:
    assert texts(between_paragraphs(line)) == [BEFORE, line, AFTER]


def test_comment_block_is_never_spoken() -> None:
    text = (
        "<!-- Editor: check the dates -->\n"  # 1
        "The siege began in 2014.\n"  # 2
        "<!--\n"  # 3
        "Alternative line, not used.\n"  # 4
        "-->\n"  # 5
        "It lasted three years <!-- or four? --> in all.\n"  # 6
        "Ends here. <!-- a note that\n"  # 7
        "runs on -->\n"  # 8
    )
    script = clean(text, "c.txt")
    assert script.dropped == (
        DroppedLine(1, "<!-- Editor: check the dates -->", "comment"),
        DroppedLine(3, "<!--", "comment"),
        DroppedLine(4, "Alternative line, not used.", "comment"),
        DroppedLine(5, "-->", "comment"),
        DroppedLine(8, "runs on -->", "comment"),
    )
    assert script.altered == (
        AlteredLine(
            6,
            "It lasted three years <!-- or four? --> in all.",
            "It lasted three years in all.",
            ("comment",),
        ),
        AlteredLine(7, "Ends here. <!-- a note that", "Ends here.", ("comment",)),
    )
    assert texts(script) == ["The siege began in 2014. It lasted three years in all. Ends here."]


@pytest.mark.parametrize(
    "line", ["The arrow <-- pointed left.", "Traffic flowed A --> B.", "<!- not a comment ->"]
)
def test_arrow_look_alikes_are_not_comments(line: str) -> None:
    script = between_paragraphs(line)
    assert script.dropped == ()
    assert texts(script) == [BEFORE, line, AFTER]


@pytest.mark.parametrize(
    ("mark", "ms"),
    [
        ("[pause 1.5s]", 1500),
        ("[pause 800ms]", 800),
        ("[Pause 2 sec]", 2000),
        ("[PAUSE 2 seconds]", 2000),
        ("[ pause 0.5 s ]", 500),
    ],
)
def test_pause_mark_inline_and_on_its_own_line(mark: str, ms: int) -> None:
    inline = clean(f"The siege began. {mark} It lasted.\n", "p.txt")
    assert inline.paragraphs == (Paragraph(1, "The siege began. It lasted.", (PauseMark(17, ms),)),)
    assert inline.dropped == () and inline.altered == ()
    alone = clean(f"{BEFORE}\n\n{mark}\n\n{AFTER}\n", "p.txt")
    assert alone.paragraphs == (Paragraph(1, BEFORE), Paragraph(5, AFTER, (PauseMark(0, ms),)))
    assert alone.dropped == () and alone.altered == ()


@pytest.mark.parametrize(
    "line",
    ["He paused for 1.5s, then went on.", "The pause button (pause 2s) did nothing."],
)
def test_pause_look_alikes_are_spoken(line: str) -> None:
    script = between_paragraphs(line)
    assert texts(script) == [BEFORE, line, AFTER]
    assert all(p.pauses == () for p in script.paragraphs)


@pytest.mark.parametrize("mark", ["[pause]", "[pause forever]", "[pause 90s]"])
def test_malformed_pause_is_an_error_naming_the_line(mark: str) -> None:
    with pytest.raises(ScriptError, match=r"^p\.txt: line 3: "):
        clean(f"{BEFORE}\n\nWait. {mark}\n", "p.txt")


# --- fixture corpus ---------------------------------------------------------------------


def _fixture_sources() -> list[Path]:
    return sorted(
        p for p in FIXTURES.iterdir() if p.is_file() and not p.name.endswith(".expected.json")
    )


def _result(script: Script) -> dict[str, list[Any]]:
    """The cleaned script in the layout of a ``<name>.expected.json`` file."""
    return {
        "paragraphs": texts(script),
        "dropped": [[d.line, d.rule] for d in script.dropped],
        "altered": [[a.line, a.after, list(a.rules)] for a in script.altered],
        "chapters": [[c.title, c.line, c.paragraph] for c in script.chapters],
        "pauses": [
            [index, mark.offset, mark.ms]
            for index, paragraph in enumerate(script.paragraphs)
            for mark in paragraph.pauses
        ],
    }


@pytest.mark.parametrize("source", _fixture_sources(), ids=lambda p: p.name)
def test_fixture_cleans_to_its_expected_result(source: Path) -> None:
    expected_path = source.with_name(source.name.split(".")[0] + ".expected.json")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    text = source.read_text(encoding="utf-8")
    script = clean(text, source.name)
    assert _result(script) == expected
    lines = text.splitlines()
    assert all(d.text == reported_line(lines[d.line - 1]) for d in script.dropped)
    assert all(a.before == reported_line(lines[a.line - 1]) for a in script.altered)


# What cleaning may report: every switchable rule, the writer's own syntax, and the
# removal of characters that must never reach an output.
REPORTED = RULE_NAMES | {"note", "comment", "markdown-heading", "control-characters"}


def test_fixture_corpus_covers_every_rule() -> None:
    sources = _fixture_sources()
    assert len(sources) >= 5
    assert all(s.with_name(s.name.split(".")[0] + ".expected.json").is_file() for s in sources)
    seen: set[str] = set()
    for source in sources:
        script = clean(source.read_text(encoding="utf-8"), source.name)
        seen.update(d.rule for d in script.dropped)
        seen.update(rule for a in script.altered for rule in a.rules)
    assert seen == REPORTED


# --- the seed script --------------------------------------------------------------------


def test_seed_script_drops_only_its_two_noise_lines() -> None:
    if not SEED.is_file():
        pytest.fail(f"{SEED} is missing: the tests need the shared seed script", pytrace=False)
    text = SEED.read_text(encoding="utf-8")
    script = clean(text, SEED.name)
    assert [(d.line, d.rule) for d in script.dropped] == [(1, "image-caption"), (5, "watermark")]
    assert script.altered == ()
    assert script.chapters == ()
    source_paragraphs = [
        normalize_line(line)
        for number, line in enumerate(text.splitlines(), 1)
        if number not in (1, 5)
    ]
    assert texts(script) == [p for p in source_paragraphs if p]
    assert len(script.paragraphs) == 5


# --- formerly known gaps in script.clean -------------------------------------------------


def test_pause_mark_in_a_spoken_heading_is_a_pause() -> None:
    script = clean("# Part one [pause 2s]\n\nText.\n", "h.txt", speak_headings=True)
    assert texts(script) == ["Part one", "Text."]
    assert script.chapters == (Chapter("Part one", 1, 0),)


def test_noise_wrapped_onto_a_noise_line_is_dropped() -> None:
    # Each line alone is dropped (see NOISE); the README keeps a line only when a hard
    # wrap joins it to narration.
    script = clean(f"{BEFORE}\n\nCopyright 2017 South Front\nall rights reserved\n", "w.txt")
    assert [(d.line, d.rule) for d in script.dropped] == [(3, "copyright"), (4, "copyright")]
    assert texts(script) == [BEFORE]


def test_empty_heading_before_a_lower_case_line_is_not_spoken() -> None:
    script = clean("#\nthe army advanced.\n", "h.txt")
    assert texts(script) == ["the army advanced."]


# --- property: nothing disappears that no rule reports ----------------------------------

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñçßøœ0123456789"
_WORD = st.one_of(
    # Words that noise rules and edits look for, so that generated narration brushes
    # against them.
    st.sampled_from(
        "the army Palmyra river by photo property of Reply 2017-07-26 July 26, (2012 census) "
        "www.example.com café “Home” – it’s Share this NARRATOR: ISIS at 12:30".split()
    ),
    st.text(alphabet=_ALPHABET + "’'\",;:-()!?.–“”*_#>", min_size=1, max_size=10),
).filter(lambda w: any(c.isalnum() for c in w))
_FIRST_WORD = st.text(alphabet=_ALPHABET, min_size=1, max_size=10)
# Not the empty heading '#' while test_empty_heading_before_a_lower_case_line_is_not_spoken
# fails: a lower-case line after it makes it spoken text.
_ALL_NOISE = [line for lines in NOISE.values() for line in lines if line != "#"]


@st.composite
def _narration(draw: st.DrawFn) -> str:
    words = [draw(_FIRST_WORD), *draw(st.lists(_WORD, max_size=8))]
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(words) - 1))
        words[at] = draw(
            st.sampled_from(
                [
                    f"**{words[at]}**",
                    f"*{words[at]}*",
                    f"[{words[at]}](https://example.com/x)",
                    f"`{words[at]}`",
                    f"{words[at]} [pause 1s]",
                    f"{words[at]} [pause 250ms]",
                    f"{words[at]} <!-- aside -->",
                ]
            )
        )
    end = draw(st.sampled_from(["", ".", ".", "!", "?", ":", "…"]))
    prefix = draw(
        st.sampled_from(
            ["", "", "", "- ", "* ", "1. ", "> ", "NARRATOR: ", "Narrator: ", "VO: ", "JOHN: "]
        )
    )
    return prefix + " ".join(words) + end


@st.composite
def _block(draw: st.DrawFn) -> list[str]:
    kind = draw(
        st.sampled_from(
            ["narration"] * 5
            + ["noise"] * 3
            + ["blank"] * 3
            + ["heading", "pause", "note"]
            + ["comment", "comment block"]
        )
    )
    words = " ".join(draw(st.lists(_FIRST_WORD, min_size=1, max_size=4)))
    if kind == "narration":
        return [draw(_narration())]
    if kind == "noise":
        noise = draw(st.sampled_from(_ALL_NOISE))
        return [draw(st.sampled_from([noise, noise, noise.upper(), f"  {noise}\t"]))]
    if kind == "blank":
        return [draw(st.sampled_from(["", " ", "\t"]))]
    if kind == "heading":
        return [draw(st.sampled_from(["# ", "## ", "### "])) + words]
    if kind == "pause":
        return [draw(st.sampled_from(["[pause 1.5s]", "[pause 800ms]", "  [PAUSE 2s]  "]))]
    if kind == "note":
        return [draw(st.sampled_from(["// ", "//", "  // "])) + words]
    if kind == "comment":
        return [f"<!-- {words} -->"]
    # HTML comments do not nest, so the lines inside hold no comment of their own.
    inner = draw(st.lists(_narration().filter(lambda line: "<!--" not in line), max_size=3))
    return [f"<!-- {words}", *inner, "-->"]


def _spoken(text: str) -> str:
    return " ".join(PAUSE.sub(" ", text).split())


@settings(max_examples=300, deadline=None)
@given(blocks=st.lists(_block(), min_size=1, max_size=25), speak_headings=st.booleans())
def test_cleaning_never_removes_text_that_no_rule_reports(
    blocks: list[list[str]], speak_headings: bool
) -> None:
    lines = [line for block in blocks for line in block]
    script = clean("\n".join(lines) + "\n", "gen.txt", speak_headings=speak_headings)

    dropped = {d.line: d for d in script.dropped}
    altered = {a.line: a for a in script.altered}
    assert len(dropped) == len(script.dropped) and len(altered) == len(script.altered)
    # Only a heading is in both: not spoken, and its chapter title lost a drafting note.
    for number in dropped.keys() & altered.keys():
        assert dropped[number].rule == "markdown-heading"
        assert altered[number].rules == ("draft-note",)

    contributions: list[str] = []  # what each kept line says, pause marks and all
    for number, line in enumerate(lines, start=1):
        folded = normalize_line(line)
        if number in dropped:
            assert dropped[number].text == folded
            assert dropped[number].rule in REPORTED
        elif number in altered:
            assert altered[number].before == folded
            assert set(altered[number].rules) <= REPORTED
            contributions.append(altered[number].after)
        elif folded:
            contributions.append(folded)

    spoken = [_spoken(c) for c in contributions]
    assert " ".join(p.text for p in script.paragraphs) == " ".join(s for s in spoken if s)

    for said in spoken:
        assert not said.startswith("//")
    for paragraph in script.paragraphs:
        assert "[pause" not in paragraph.text.lower()
        assert "<!--" not in paragraph.text
        assert not paragraph.text.startswith("#")
        assert all(0 <= mark.offset <= len(paragraph.text) for mark in paragraph.pauses)
    if script.paragraphs:
        # A pause written in another speaker's turn still counts, as on a noise line.
        turns = [d.text for d in script.dropped if d.rule == "other-speaker"]
        marks = sum(len(PAUSE.findall(c)) for c in contributions + turns)
        assert sum(len(p.pauses) for p in script.paragraphs) == marks
