"""Issue 7: the text that goes in is what comes out, cleanly (narrator.script, narrator.rules,
narrator.segment): hidden characters, sentence ends, web controls, other speakers, drafting
notes, unclosed comments, UTF-16 without a mark, and reading from bytes."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.errors import ExitCode, ScriptError
from narrator.rules import select
from narrator.script import (
    AlteredLine,
    Chapter,
    Cleaning,
    DroppedLine,
    Script,
    clean,
    decode,
    read_script,
    read_script_bytes,
)
from narrator.segment import split_sentences

BEFORE = "The ferry left at nine."
AFTER = "It reached the island by noon."


def texts(script: Script) -> list[str]:
    return [p.text for p in script.paragraphs]


# --- 1. control, zero-width and bidi characters ------------------------------------------

HIDDEN = [
    "\x00", "\x07", "\x1b", "\x7f", "\x9b",  # C0, DEL, C1
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",  # zero-width, LRM, RLM
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",  # embeddings and overrides
    "\u2066", "\u2067", "\u2068", "\u2069",  # isolates
    "\u2060", "\ufeff", "\u00ad", "\u061c", "\U000e0041",  # WJ, BOM, SHY, ALM, tag
]  # fmt: skip


@pytest.mark.parametrize("char", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_hidden_character_is_removed_and_reported(char: str) -> None:
    script = clean(f"{BEFORE}\n\nThe ship{char} sank.\n", "h.txt")
    assert texts(script) == [BEFORE, "The ship sank."]
    shown = f"The ship<U+{ord(char):04X}> sank."
    assert script.altered == (AlteredLine(3, shown, "The ship sank.", ("control-characters",)),)


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_breaking_control_keeps_words_apart_and_line_numbers_as_an_editor_counts(
    char: str,
) -> None:
    script = clean(f"first{char}second.\nthird.\n\nLast.\n", "b.txt")
    assert texts(script) == ["first second. third.", "Last."]
    assert script.paragraphs[1].line == 4
    assert script.altered[0].rules == ("control-characters",)


def test_hidden_character_with_other_edits_is_reported_once_with_all_rules() -> None:
    script = clean("NARRATOR: The \u202ecity\u202c fell.\n", "h.txt")
    assert script.altered == (
        AlteredLine(
            1,
            "NARRATOR: The <U+202E>city<U+202C> fell.",
            "The city fell.",
            ("control-characters", "speaker-label"),
        ),
    )


def test_a_line_of_only_hidden_characters_is_reported_and_separates_paragraphs() -> None:
    script = clean("One.\n\x07\u200b\nTwo.\n", "h.txt")
    assert texts(script) == ["One.", "Two."]
    assert script.dropped == (DroppedLine(2, "<U+0007><U+200B>", "control-characters"),)


def test_nul_forced_in_by_a_wrong_encoding_never_reaches_the_text(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes("The ferry left.\nIt sank.\n".encode("utf-16-le"))
    script = read_script(path, encoding="latin-1")
    assert texts(script) == ["The ferry left. It sank."]
    assert all("\x00" not in p.text for p in script.paragraphs)
    assert {a.rules for a in script.altered} == {("control-characters",)}


def test_a_forced_utf8_mark_is_not_reported_as_a_hidden_character() -> None:
    script = read_script_bytes(b"\xef\xbb\xbfThe ferry left.\n", "m.txt", encoding="utf-8")
    assert texts(script) == ["The ferry left."]
    assert script.altered == ()


def _is_hidden(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r"


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.characters(codec="utf-8", exclude_categories=("Cs",)),
            st.sampled_from([*HIDDEN, "\n", "\r", "\t", " "]),
        ),
        max_size=120,
    )
)
def test_no_hidden_character_survives_reading(text: str) -> None:
    try:
        # The closing sentence leaves something to say when the first line is dropped
        # (as a title with a drafting note: "Said. v0").
        source = "Said. " + text + "\nThe end."
        script = read_script_bytes(source.encode(), "gen.txt", encoding="utf-8")
    except ScriptError as exc:
        assert "<!--" in text, exc  # the one error text can cause: an unclosed comment
        return
    outputs = [p.text for p in script.paragraphs]
    outputs += [c.title for c in script.chapters]
    outputs += [d.text for d in script.dropped]
    outputs += [a.before for a in script.altered] + [a.after for a in script.altered]
    outputs += [s for p in script.paragraphs for s in split_sentences(p.text)]
    for output in outputs:
        assert not any(_is_hidden(c) for c in output), output


# --- 2. sentence ends ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "He met Gen. Smith at the bridge.",
        "Later the Rev. Jones read the names aloud.",
        "It was Smith vs. Jones in the end.",
        "The camp lay approx. 40 km from the border.",
        "The mill was built ca. 1850 by the monks.",
        "He asked Ms. Lee for the key.",
        "Ask Capt. Hale, Sgt. Moss, Lt. Dunn and Col. Reyes.",
        "Sen. Warren, Rep. Lee and Gov. Hart signed.",
        "Prof. Aziz and Dr. Okafor met Mr. and Mrs. Dale on St. Mark Street.",
        "It cost approx. the price of a house.",
        "MS. LEE AND DR. OKAFOR ARRIVED.",
    ],
)
def test_a_title_abbreviation_never_ends_a_sentence(sentence: str) -> None:
    assert split_sentences(f"{sentence} Nobody came.") == (sentence, "Nobody came.")


def test_a_lower_case_abbreviation_that_is_not_a_title_may_end_a_sentence() -> None:
    assert split_sentences("He worked as a sales rep. He hated it.") == (
        "He worked as a sales rep.",
        "He hated it.",
    )


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "He met Martin Luther King Jr. He then left.",
            ("He met Martin Luther King Jr.", "He then left."),
        ),
        ("Martin Luther King Jr. was born in 1929. He died in 1968.", None),
    ],
)
def test_junior_ends_a_sentence_only_before_a_capitalised_word(
    paragraph: str, expected: tuple[str, ...] | None
) -> None:
    got = split_sentences(paragraph)
    assert got == (expected or ("Martin Luther King Jr. was born in 1929.", "He died in 1968."))


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "He paused. (The crowd was silent. Nobody moved.) Then he spoke.",
            ("He paused.", "(The crowd was silent.", "Nobody moved.)", "Then he spoke."),
        ),
        (
            "(This was, of course, a lie.) The reason was simple.",
            ("(This was, of course, a lie.)", "The reason was simple."),
        ),
        (
            "He wrote: “The city is lost. The army has fled.” Nobody answered.",
            ("He wrote: “The city is lost.", "The army has fled.”", "Nobody answered."),
        ),
        (
            '"Stop. Now." she said. Then it was quiet.',
            ('"Stop.', 'Now." she said.', "Then it was quiet."),
        ),
        ("It (as he said.) was fine. Next.", ("It (as he said.) was fine.", "Next.")),
        ("“Go!” he said. Nobody went.", ("“Go!” he said.", "Nobody went.")),
        ("The city (2012 census) had 800,000 people. Few stayed.", None),
    ],
)
def test_sentences_split_inside_parentheses_and_quotes_as_a_reader_would(
    paragraph: str, expected: tuple[str, ...] | None
) -> None:
    got = split_sentences(paragraph)
    if expected is None:
        expected = ("The city (2012 census) had 800,000 people.", "Few stayed.")
    assert got == expected
    assert " ".join(got) == paragraph


# --- 3. web controls that differ by a word or two -----------------------------------------

WEB_NOISE = [
    ("Subscribe button", "navigation"),
    ("Share [3]", "navigation"),
    ("Share (12)", "navigation"),
    ("Comments [7]", "comment-box"),
    ("Like (41)", "navigation"),
    ("Print this article ↑", "navigation"),
    ("Scroll to top ↑", "navigation"),
    ("Email this story »", "navigation"),
    ("Show comments (12)", "navigation"),
    ("Click to share on Telegram (Opens in new window)", "navigation"),
    ("Click to print (Opens in new window)", "navigation"),
    ("Listen to this article", "navigation"),
    ("Download PDF", "navigation"),
    ("Donate now »", "navigation"),
    ("Sign up", "navigation"),
    ("Top ↑", "navigation"),
    ("Tweet button", "navigation"),
]
WEB_LOOK_ALIKES = [
    "He pressed the red button and waited.",
    "Share on X was his only outlet after the ban.",
    "Print this page of history in your memory.",
    "Like the river, the front line moved every spring.",
    "Subscribe to nothing, his father used to say, and owe nobody.",
    "Comments (and there were many) poured in from the villages.",
    "Sign up for the militia was compulsory after 2013.",
    "Donate blood, the posters said, and thousands did.",
    "Email this to the general, the colonel ordered.",
    "Top brass in Damascus ignored the warning.",
    "Share [the bread] was all the note said.",
    "Listen to this story: the men walked for three days without water.",
]


@pytest.mark.parametrize(("line", "rule"), WEB_NOISE)
def test_a_web_control_with_a_count_arrow_or_button_is_dropped(line: str, rule: str) -> None:
    for variant in (line, line.upper()):
        script = clean(f"{BEFORE}\n\n{variant}\n\n{AFTER}\n", "w.txt")
        assert script.dropped == (DroppedLine(3, variant, rule),)
        assert texts(script) == [BEFORE, AFTER]


@pytest.mark.parametrize("line", WEB_LOOK_ALIKES)
def test_narration_using_the_same_words_is_spoken(line: str) -> None:
    script = clean(f"{BEFORE}\n\n{line}\n\n{AFTER}\n", "w.txt")
    assert texts(script) == [BEFORE, line, AFTER]
    assert script.dropped == () and script.altered == ()


# --- 4. other speakers in a labelled script ----------------------------------------------

LABELLED = (
    "NARRATOR: The ferry ran every Tuesday.\n"  # 1
    "\n"  # 2
    "INTERVIEWEE (Dr. Jane Roe, historian): The log is all we have.\n"  # 3
    "It survived by chance.\n"  # 4
    "\n"  # 5
    "NARRATOR (V.O.): Dr. Roe found it.\n"  # 6
    "JOHN: I was the cook.\n"  # 7
    "SOT: We left at dawn.\n"  # 8
    "V.O.: John was fifteen.\n"  # 9
    "INTERVIEWER: Did you see it?\n"  # 10
    "\n"  # 11
    "The harbour was empty.\n"  # 12
)


def test_other_speakers_are_left_out_of_a_labelled_script_with_their_continuations() -> None:
    script = clean(LABELLED, "l.txt")
    assert texts(script) == [
        "The ferry ran every Tuesday.",
        "Dr. Roe found it.",
        "John was fifteen.",
        "The harbour was empty.",
    ]
    assert [(d.line, d.rule) for d in script.dropped] == [
        (3, "other-speaker"),
        (4, "other-speaker"),
        (7, "other-speaker"),
        (8, "other-speaker"),
        (10, "other-speaker"),
    ]
    assert all("V.O." not in p.text and "(" not in p.text for p in script.paragraphs)


def test_other_speaker_can_be_switched_off_and_labels_are_still_not_spoken() -> None:
    rules, edits = select(["other-speaker"])
    script = clean(LABELLED, "l.txt", rules, edits)
    assert script.dropped == ()
    assert "The log is all we have. It survived by chance." in texts(script)
    assert not any("INTERVIEWEE" in t or "historian" in t for t in texts(script))


@pytest.mark.parametrize(
    "line",
    [
        "NOTE: Check the casualty figures.",
        "WARNING: The bridge is out.",
        "JOHN: I was the cook.",
        "SOT: We left at dawn.",
    ],
)
def test_in_an_unlabelled_script_labelled_lines_keep_their_words(line: str) -> None:
    script = clean(f"{BEFORE}\n\n{line}\n", "u.txt")
    assert script.dropped == ()
    assert len(texts(script)) == 2
    assert texts(script)[1].endswith(line.partition(": ")[2])


def test_a_parenthesis_in_any_label_is_never_spoken() -> None:
    script = clean("INTERVIEWEE (Dr. Jane Roe, historian): The log is all we have.\n", "p.txt")
    assert texts(script) == ["The log is all we have."]
    assert script.altered[0].rules == ("speaker-label",)


# --- 5. drafting notes on titles ---------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "The Siege of Deir Ezzor – script (draft 2)",
        "The Last Ferry [DRAFT]",
        "The Last Ferry rev. B",
        "The Last Ferry v2",
        "The Last Ferry FINAL",
        "The Last Ferry final v3",
    ],
)
def test_a_title_line_with_a_drafting_note_is_not_spoken(title: str) -> None:
    script = clean(f"{title}\n\n{BEFORE}\n", "t.txt")
    assert texts(script) == [BEFORE]
    assert script.dropped == (DroppedLine(1, title, "draft-note"),)


@pytest.mark.parametrize(
    "text",
    [
        "The final draft of the treaty was signed.\n",
        "The harbour at dawn\n\nThe boats had gone.\n",
        "The Final Draft\n\nThe treaty was signed.\n",
        "The Hunt for V2\n\nThe rockets fell.\n",
        f"{BEFORE}\n\nThe Last Ferry v2\n",
    ],
)
def test_titles_and_narration_without_a_drafting_note_are_spoken(text: str) -> None:
    script = clean(text, "t.txt")
    assert script.dropped == ()
    assert texts(script) == [p.replace("\n", " ") for p in text.strip().split("\n\n")]


def test_a_heading_keeps_its_chapter_without_the_drafting_note() -> None:
    script = clean(f"# Episode 4 FINAL v2\n\n{BEFORE}\n", "h.md")
    assert script.chapters == (Chapter("Episode 4", 1, 0),)
    assert script.dropped == (DroppedLine(1, "# Episode 4 FINAL v2", "markdown-heading"),)
    assert script.altered == (AlteredLine(1, "# Episode 4 FINAL v2", "Episode 4", ("draft-note",)),)
    spoken = clean(f"# Episode 4 FINAL v2\n\n{BEFORE}\n", "h.md", speak_headings=True)
    assert texts(spoken) == ["Episode 4", BEFORE]
    assert spoken.altered[0].rules == ("markdown-heading", "draft-note")


def test_draft_note_can_be_switched_off() -> None:
    rules, edits = select(["draft-note"])
    script = clean(
        f"# Episode 4 (draft 2)\n\nThe Last Ferry v2\n\n{BEFORE}\n", "h.md", rules, edits
    )
    assert script.chapters == (Chapter("Episode 4 (draft 2)", 1, 0),)
    assert texts(script) == ["The Last Ferry v2", BEFORE]


# --- 6. an unclosed comment --------------------------------------------------------------


def test_an_unclosed_comment_is_an_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text(f"{BEFORE}\n<!-- done -->\n\nIt sank. <!-- check this\n{AFTER}\n")
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert str(info.value) == f"{path}: line 4: '<!--' is never closed; add '-->' or remove it"
    assert info.value.exit_code is ExitCode.BAD_INPUT


# --- 7. UTF-16 without a byte-order mark -------------------------------------------------

ENGLISH = "The café – “ganz” langsam.\nSecond line.\n"
RUSSIAN = "Это было холодное утро.\nПоезд прибыл на станцию с опозданием.\n"


@pytest.mark.parametrize("text", [ENGLISH, RUSSIAN])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_mark_is_recognised(text: str, codec: str) -> None:
    assert decode(text.encode(codec), "w.txt") == (text, codec)


def test_utf16_with_a_broken_tail_names_the_encoding_to_try() -> None:
    data = ENGLISH.encode("utf-16-le") + b"\x00"
    with pytest.raises(ScriptError, match=r"^w\.txt: .*--encoding utf-16-le"):
        decode(data, "w.txt")


def test_a_real_binary_file_is_still_binary() -> None:
    with pytest.raises(ScriptError, match=r"^b\.bin: looks like a binary file, not a text"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "b.bin")


# --- 8. reading bytes --------------------------------------------------------------------


def test_read_script_bytes_cleans_like_read_script(tmp_path: Path) -> None:
    data = "NARRATOR: It began in “May”.\nJOHN: No.\n".encode("cp1252")
    path = tmp_path / "s.txt"
    path.write_bytes(data)
    cleaning = Cleaning()
    from_bytes = read_script_bytes(data, str(path), None, cleaning)
    assert from_bytes == read_script(path, None, cleaning)
    assert from_bytes.encoding == "cp1252"
    assert texts(from_bytes) == ["It began in “May”."]
    with pytest.raises(ScriptError, match=r"^-: nothing to say"):
        read_script_bytes(b"\n\n", "-")


def test_in_a_labelled_script_a_label_before_a_lower_case_word_is_still_a_label() -> None:
    script = clean(
        "NARRATOR: The war began.\n\nSOT: crowd noise\n\nVO: and so it ended.\n", "l.txt"
    )
    assert texts(script) == ["The war began.", "and so it ended."]
    assert script.dropped == (DroppedLine(3, "SOT: crowd noise", "other-speaker"),)
    # In prose the same shape stays a sentence.
    assert texts(clean("ISIS: the name alone spread fear.\n", "p.txt")) == [
        "ISIS: the name alone spread fear."
    ]
