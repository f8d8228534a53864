"""Decoding and cleaning of narration scripts (narrator.script)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator.errors import NarratorError, ScriptError
from narrator.script import (
    DroppedLine,
    Paragraph,
    Script,
    clean,
    decode,
    read_script,
    read_script_bytes,
)

CAPTION = "date 2017-07-26 click to enlarge"
WATERMARK = "THIS NARRATION SCRIPT IS THE INTELLECTUAL PROPERTY OF SOME STUDIO"

LONG_ENGLISH = """The harbour at dawn

By six o’clock the fishing boats had gone out – all but one. Its owner, a man the
village called “the Captain,” sat on the quay mending a net and watching the fog.

‘There’s no hurry,’ he told the boy who brought his coffee from the café. ‘The fish
will still be there tomorrow, and so will I.’

Nobody remembered when he had last sailed. Some said 1962; others swore it was
during the war – the first one – when the harbour was still full of “proper” ships.
"""

RUSSIAN = """Глава первая

Это было холодное утро. Поезд прибыл на станцию с опозданием,
и пассажиры долго ждали на платформе.

«Где же носильщик?» — спросила дама в сером пальто.
"""


def texts(script: Script) -> list[str]:
    return [p.text for p in script.paragraphs]


# --- decode -----------------------------------------------------------------------------


def test_decode_plain_utf8() -> None:
    text = "The café’s owner – Zoë – said “never”.\n"
    assert decode(text.encode("utf-8"), "a.txt") == (text, "utf-8")


def test_decode_utf8_with_bom_drops_the_mark() -> None:
    text = "Naïve “readers” – beware.\n"
    decoded, encoding = decode(codecs.BOM_UTF8 + text.encode("utf-8"), "a.txt")
    assert decoded == text
    assert encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_decode_utf16_with_bom(codec: str) -> None:
    text = "Über den Fluss – “ganz” langsam.\nSecond line.\n"
    data = text.encode(codec)
    if codec != "utf-16":
        bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
        data = bom + data
    decoded, encoding = decode(data, "a.txt")
    assert decoded.lstrip("\ufeff") == text
    assert encoding == "utf-16"


def test_crlf_line_endings_read_like_lf(tmp_path: Path) -> None:
    text = "First line of the first\nparagraph.\n\nSecond paragraph.\n"
    lf = tmp_path / "lf.txt"
    crlf = tmp_path / "crlf.txt"
    lf.write_bytes(text.encode("utf-8"))
    crlf.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    got = read_script(crlf)
    assert got.paragraphs == read_script(lf).paragraphs
    assert texts(got) == ["First line of the first paragraph.", "Second paragraph."]
    assert all("\r" not in p.text for p in got.paragraphs)


@pytest.mark.parametrize(
    "text",
    [
        "“Welcome,” said the guide – and the tour began at the old ‘café’.",
        "The café opened in 1887 – ‘the best coffee in town,’ wrote one critic.",
        "She called it “home” – the café on the corner, where ‘everyone’ met.",
        "At the café – the one on Rue Cler – he ordered “the usual” and ‘a croissant’.",
        "‘Café society’ – as the papers called it – was “over,” he said.",
    ],
)
def test_decode_cp1252_curly_quotes_dash_and_accent(text: str) -> None:
    decoded, encoding = decode(text.encode("cp1252"), "a.txt")
    assert decoded == text, f"decoded as {encoding}: {decoded!r}"
    assert encoding == "cp1252"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_decode_longer_cp1252_english(newline: str) -> None:
    text = LONG_ENGLISH.replace("\n", newline)
    decoded, encoding = decode(text.encode("cp1252"), "a.txt")
    assert decoded == text
    assert encoding == "cp1252"


def test_decode_cp1251_russian() -> None:
    decoded, encoding = decode(RUSSIAN.encode("cp1251"), "a.txt")
    assert decoded == RUSSIAN
    assert encoding == "cp1251"


def test_read_cp1252_script_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "harbour.txt"
    path.write_bytes(LONG_ENGLISH.encode("cp1252"))
    script = read_script(path)
    assert script.encoding == "cp1252"
    assert script.source == str(path)
    assert texts(script)[0] == "The harbour at dawn"
    assert "a man the village called “the Captain,” sat" in texts(script)[1]


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03PNG\x00\x00IHDR\x00\x00",
        b"Looks\x00\x00like\x00\x00text\x00\x00but\x00is\x00not\n",
        bytes(range(256)),
    ],
)
def test_decode_binary_is_a_script_error(data: bytes) -> None:
    with pytest.raises(ScriptError, match=r"^blob\.bin: "):
        decode(data, "blob.bin")


def test_forced_wrong_encoding_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "russian.txt"
    path.write_bytes(RUSSIAN.encode("cp1251"))
    with pytest.raises(ScriptError) as info:
        read_script(path, encoding="utf-8")
    message = str(info.value)
    assert message.startswith(str(path))
    assert "utf-8" in message
    assert "\n" not in message


def test_forced_unknown_encoding_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"Plain text.\n")
    with pytest.raises(ScriptError) as info:
        read_script(path, encoding="no-such-codec")
    assert str(info.value).startswith(str(path))
    assert "no-such-codec" in str(info.value)


def test_forced_encoding_is_honoured() -> None:
    text = "Кафе закрыто."
    assert decode(text.encode("cp1251"), "a.txt", encoding="cp1251") == (text, "cp1251")


def test_script_error_is_a_narrator_error() -> None:
    assert issubclass(ScriptError, NarratorError)


# --- paragraphs -------------------------------------------------------------------------


def test_paragraphs_split_at_blank_lines_and_join_hard_wraps() -> None:
    text = (
        "The valley was quiet that spring,\n"  # 1
        "and the river ran low between\n"  # 2
        "its stony banks.\n"  # 3
        "\n"  # 4
        "   \n"  # 5
        "Then the rain came.\n"  # 6
        "\n"  # 7
        "\t\n"  # 8
        "  It did not stop for a week,\n"  # 9
        "  not once.  \n"  # 10
    )
    script = clean(text, "valley.txt")
    assert script.paragraphs == (
        Paragraph(
            1, "The valley was quiet that spring, and the river ran low between its stony banks."
        ),
        Paragraph(6, "Then the rain came."),
        Paragraph(9, "It did not stop for a week, not once."),
    )
    assert script.dropped == ()
    assert script.source == "valley.txt"


def test_paragraph_line_is_one_based_after_leading_blank_lines() -> None:
    script = clean("\n\n\nFirst words.\n", "a.txt")
    assert script.paragraphs == (Paragraph(4, "First words."),)


def test_runs_of_spaces_and_tabs_fold_to_one_space() -> None:
    script = clean("Too    many\t\tspaces   here.\n", "a.txt")
    assert texts(script) == ["Too many spaces here."]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello\u00a0world.", "Hello world."),
        ("A\u202fnarrow\u2009thin\u3000wide space.", "A narrow thin wide space."),
        ("co\u200boperate and re\u00adenter.", "cooperate and reenter."),
        ("\ufeffStarts with a stray mark.", "Starts with a stray mark."),
        ("Joined\u200d\u2060words\u200c.", "Joinedwords."),
        ("cafe\u0301 au lait.", "café au lait."),
        ("\u00a0\u00a0Indented\u00a0\u00a0text.\u00a0", "Indented text."),
    ],
)
def test_invisible_and_unusual_spaces_are_normalized(raw: str, expected: str) -> None:
    assert texts(clean(raw, "a.txt")) == [expected]


def test_line_of_only_invisible_characters_separates_paragraphs() -> None:
    script = clean("One.\n\u200b\u00a0\nTwo.\n", "a.txt")
    assert script.paragraphs == (Paragraph(1, "One."), Paragraph(3, "Two."))


# --- cleaning rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (CAPTION, "image-caption"),
        ("Date 2020-1-5 Click To Enlarge", "image-caption"),
        ("The old mill in winter - click to enlarge.", "image-caption"),
        ("(click to enlarge)", "image-caption"),
        ("date 2017-07-26", "date-stamp"),
        ("DATE: 2019-12-01", "date-stamp"),
        (WATERMARK, "watermark"),
        ("This text is the intellectual property of Northwind Films", "watermark"),
    ],
)
def test_noise_line_is_dropped_with_its_rule(line: str, rule: str) -> None:
    script = clean(f"Before it.\n{line}\nAfter it.\n", "a.txt")
    assert script.dropped == (DroppedLine(2, line, rule),)
    assert texts(script) == ["Before it.", "After it."]


@pytest.mark.parametrize(
    "line",
    [
        "The patent became the intellectual property of the university in 1998.",
        "Readers were told to click to enlarge the map, and most of them did.",
        "On 2017-07-26 the convoy left.",
        "Is the idea the intellectual property of its author? Many said no.",
        "The date 2017-07-26 was chosen for the launch.",
        "Nobody thought to click to enlarge the tiny photograph!",
    ],
)
def test_look_alike_narration_is_kept(line: str) -> None:
    script = clean(line + "\n", "a.txt")
    assert texts(script) == [line]
    assert script.dropped == ()


@pytest.mark.parametrize(
    "text",
    [
        "Since 1998 the patent is the intellectual property of the\n"
        "university, which licenses it to anyone who asks.\n",
        "Readers of the old edition were told to click to enlarge\nthe map, and most did.\n",
    ],
)
def test_look_alike_narration_hard_wrapped_is_kept(text: str) -> None:
    # A hard wrap can leave the sentence punctuation on the next line; the first
    # line is still narration, and the paragraph must come out whole.
    script = clean(text, "a.txt")
    assert script.dropped == ()
    assert texts(script) == [" ".join(text.split())]


def test_dropped_lines_carry_line_numbers_and_split_paragraphs() -> None:
    text = (
        "The ferry left at nine.\n"  # 1
        f"{CAPTION}\n"  # 2
        "It reached the island by noon,\n"  # 3
        "in thick fog.\n"  # 4
        "\n"  # 5
        f"  {WATERMARK}  \n"  # 6
        "\n"  # 7
        "The crew went ashore.\n"  # 8
        "date 2018-03-04\n"  # 9
    )
    script = clean(text, "ferry.txt")
    assert script.dropped == (
        DroppedLine(2, CAPTION, "image-caption"),
        DroppedLine(6, WATERMARK, "watermark"),
        DroppedLine(9, "date 2018-03-04", "date-stamp"),
    )
    assert script.paragraphs == (
        Paragraph(1, "The ferry left at nine."),
        Paragraph(3, "It reached the island by noon, in thick fog."),
        Paragraph(8, "The crew went ashore."),
    )


def test_clean_with_no_rules_keeps_everything() -> None:
    script = clean(f"{CAPTION}\n{WATERMARK}\n", "a.txt", rules=())
    assert script.dropped == ()
    assert texts(script) == [f"{CAPTION} {WATERMARK}"]


# --- read_script errors -----------------------------------------------------------------


def assert_one_line_error_about(path: Path, info: pytest.ExceptionInfo[ScriptError]) -> str:
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert "\r" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.txt"
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert "no such file" in assert_one_line_error_about(path, info)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScriptError) as info:
        read_script(tmp_path)
    assert "directory" in assert_one_line_error_about(tmp_path, info)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"  \r\n\t\r\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert "empty" in assert_one_line_error_about(path, info)


def test_file_with_only_noise_lines(tmp_path: Path) -> None:
    path = tmp_path / "noise.txt"
    path.write_text(f"{CAPTION}\n\n{WATERMARK}\n", encoding="utf-8")
    with pytest.raises(ScriptError) as info:
        read_script(path)
    message = assert_one_line_error_about(path, info)
    assert "image-caption" in message
    assert "watermark" in message


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert "binary" in assert_one_line_error_about(path, info)


def test_read_script_reports_encoding_and_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ok.txt"
    path.write_bytes(codecs.BOM_UTF8 + f"{WATERMARK}\nIt began in “May”.\n".encode())
    script = read_script(path)
    assert script.encoding == "utf-8-sig"
    assert script.paragraphs == (Paragraph(2, "It began in “May”."),)
    assert script.dropped == (DroppedLine(1, WATERMARK, "watermark"),)


# --- property: nothing is lost silently -------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèüöñçßÆøœ0123456789"
_WORD = st.text(alphabet=_LETTERS + "’'\",;:-()!?.–“”", min_size=1, max_size=12).filter(
    lambda w: any(c.isalnum() for c in w)
)
_GAP = st.sampled_from([" ", " ", " ", "  ", "\t", "\u00a0"])
_NOISE = st.sampled_from(
    [
        CAPTION,
        WATERMARK,
        "date 2021-11-02",
        "Photo of the harbour, click to enlarge",
        "ALL TEXT IS THE INTELLECTUAL PROPERTY OF ACME PICTURES",
    ]
)


@st.composite
def _narration_line(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=10))
    gaps = [draw(_GAP) for _ in words]
    lead = draw(st.sampled_from(["", "", " ", "\t"]))
    trail = draw(st.sampled_from(["", "", " ", "\u00a0"]))
    return lead + "".join(w + g for w, g in zip(words, gaps, strict=True)).rstrip() + trail


_LINE = st.one_of(
    _narration_line(),
    _narration_line(),
    _narration_line(),
    _NOISE,
    st.sampled_from(["", " ", "\t", "\u00a0"]),
)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_LINE, min_size=1, max_size=30), newline=st.sampled_from(["\n", "\r\n"]))
def test_cleaning_never_loses_text_silently(lines: list[str], newline: str) -> None:
    script = clean(newline.join(lines) + newline, "gen.txt")

    dropped = {d.line: d for d in script.dropped}
    # An edited line (a Markdown marker, a speaker label) is reported with what is kept.
    altered = {a.line: a for a in script.altered}
    kept: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        folded = " ".join(line.split())
        if not folded:
            assert number not in dropped
            continue
        if number in dropped:
            assert dropped[number].text == folded
            continue
        if number in altered:
            assert altered[number].before == folded
            folded = altered[number].after
        assert any(folded in p.text for p in script.paragraphs), (number, folded)
        kept[number] = folded

    # Stronger: the paragraphs are exactly the runs of consecutive kept lines.
    expected: list[Paragraph] = []
    run: list[int] = []
    for number in [*range(1, len(lines) + 1), 0]:
        if number in kept:
            run.append(number)
            continue
        if run:
            expected.append(Paragraph(run[0], " ".join(kept[n] for n in run)))
            run = []
    assert list(script.paragraphs) == expected
    assert len(script.dropped) == len(dropped)
    assert [d.line for d in script.dropped] == sorted(dropped)


def test_prose_with_a_stray_nul_is_text_and_loses_the_nul() -> None:
    """A bad paste can leave a NUL in a UTF-8 script: it is a control character, not binary."""
    data = b"The ferry left at nine.\x00 It came back at noon.\n"
    script = read_script_bytes(data, "talk.txt")
    assert [p.text for p in script.paragraphs] == ["The ferry left at nine. It came back at noon."]
