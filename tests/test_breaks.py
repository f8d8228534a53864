"""Breaks a subtitler accepts (issue 10): forbidden_break, the cost model, and a real render."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from narrator.engines import VoiceSettings
from narrator.render import RenderSettings, render
from narrator.segment import (
    BREAK_RULES,
    FORBIDDEN,
    CueLimits,
    break_kind,
    break_lines,
    break_penalty,
    choose_cuts,
    forbidden_break,
    join_tokens,
    planning_seconds,
    tokenize,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "tempting_breaks.txt"
SENTENCES = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
LIMITS = CueLimits()

# --- forbidden_break --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("Syrian", "Army", "name"),
        ("Dr.", "Jones", "name"),  # a title before a name (found in review)
        ("Mr.", "Smith", "name"),
        ("third", "year", "number-unit"),  # the "its third | year of besiegement"
        ("fifteen", "soldiers", "number-unit"),
        ("twenty-five", "soldiers", "number-unit"),
        ("$5", "million", "number-unit"),
        ("ten", "thousand", "number-unit"),
        ("10:30", "a.m.", "number-unit"),
        ("most", "of", None),  # "most of the troops": a quantifier
        ("most", "people", "intensifier"),
        ("Army", "High", "name"),
        ("High", "Command", "name"),
        ("Deir", "Ezzor", "name"),
        ("Syrian", "Army's", "name"),
        ("U.S.", "Navy", "name"),
        ("3rd", "Armoured", "name"),
        ("101st", "Airborne", "name"),
        ("2,500", "troops", "number-unit"),
        ("40", "km", "number-unit"),
        ("5", "p.m.", "number-unit"),
        ("seven", "hundred", "number-unit"),  # one amount: "seven | hundred" splits it
        ("hundred", "troops", "number-unit"),
        ("the", "river", "article"),
        ("a", "very", "article"),
        ("The", "Syrian", "article"),
        ("their", "fishing", "possessive"),
        ("its", "third", "possessive"),
        ("of", "the", "preposition"),
        ("toward", "the", "preposition"),
        ("very", "real", "intensifier"),
        ("rather", "dangerous", "intensifier"),
        ("pre-", "and", "hyphen"),
        # Allowed breaks.
        ("Army,", "Navy", None),
        ("Damascus;", "the", None),
        ("I", "Was", None),
        ("And", "Then", None),
        ("1998", "the", None),
        ("12", "and", None),
        ("river", "stone", None),
        ("Army", "was", None),
        ("war", "—", None),
        ("—", "the", None),
        ("Ezzor", "(the", None),
    ],
)
def test_forbidden_break_kinds(before: str, after: str, kind: str | None) -> None:
    assert forbidden_break(before, after) == kind


def test_every_forbidden_kind_costs_far_more_than_any_allowed_break() -> None:
    allowed = max(penalty for _kind, _words, penalty in BREAK_RULES if penalty < FORBIDDEN)
    assert 5 * allowed <= FORBIDDEN
    assert break_penalty("Syrian", "Army") == FORBIDDEN
    assert break_kind("Syrian", "Army") == "name"


def test_preferred_order_punctuation_conjunction_preposition_subject_verb() -> None:
    ladder = [
        break_penalty("days;", "the"),
        break_penalty("again,", "the"),
        break_penalty("river", "and"),
        break_penalty("river", "toward"),
        break_penalty("Command", "had"),
        break_penalty("river", "stone"),
        break_penalty("the", "river"),
    ]
    assert ladder == sorted(ladder) and len(set(ladder)) == len(ladder)
    assert break_kind("Command", "had") == "subject-verb"
    assert break_kind("they", "had") != "subject-verb"


# --- the cost model on the corpus -------------------------------------------------------


def forbidden_in(cues: list[str]) -> list[str]:
    """Every forbidden line or cue break in consecutive cues of one sentence."""
    found: list[str] = []
    for k, cue in enumerate(cues):
        lines = break_lines(cue, LIMITS)
        assert lines is not None, cue
        for top, bottom in itertools.pairwise(lines):
            kind = forbidden_break(top.split()[-1], bottom.split()[0])
            if kind:
                found.append(f"{kind}: {top} / {bottom}")
        if k + 1 < len(cues):
            kind = forbidden_break(cue.split()[-1], cues[k + 1].split()[0])
            if kind:
                found.append(f"{kind}: {cue} || {cues[k + 1]}")
    return found


def test_corpus_has_enough_sentences() -> None:
    assert len(SENTENCES) >= 20


@pytest.mark.parametrize("sentence", SENTENCES)
@pytest.mark.parametrize("budget", ["60 chars", "planned time"])
def test_choose_cuts_and_break_lines_avoid_forbidden_breaks(sentence: str, budget: str) -> None:
    tokens = tokenize(sentence)
    seconds = planning_seconds(175)

    def fits(i: int, j: int) -> bool:
        text = join_tokens(tokens[i:j])
        if budget == "60 chars":
            return len(text) <= 60
        return seconds(text) <= LIMITS.max_seconds

    cues = [join_tokens(tokens[i:j]) for i, j in choose_cuts(tokens, fits, limits=LIMITS)]
    assert " ".join(cues) == sentence
    assert forbidden_in(cues) == []


def test_when_no_legal_layout_exists_the_break_says_why() -> None:
    # The name alone is longer than a line: some break inside it is unavoidable.
    text = "the Royal Netherlands Meteorological Institute"
    lines = break_lines(text, LIMITS)
    assert lines is not None and len(lines) == 2
    assert forbidden_break(lines[0].split()[-1], lines[1].split()[0]) == "name"


# --- the pyramid ------------------------------------------------------------------------


def test_bottom_line_longer_on_a_tie() -> None:
    # After "dddd" or after "eeeee" the lines are 6 characters apart either way.
    text = "aaaa bbbb cccc dddd eeeee ffff gggg hhhh iiii"
    assert break_lines(text, CueLimits(max_line=25)) == (
        "aaaa bbbb cccc dddd",
        "eeeee ffff gggg hhhh iiii",
    )


def test_balance_still_beats_the_pyramid() -> None:
    # Top longer by 2 beats bottom longer by 8.
    text = "aaaaaa bbbb cccc dddd eeee ffff"
    assert break_lines(text, CueLimits(max_line=20)) == ("aaaaaa bbbb cccc", "dddd eeee ffff")


# --- end to end -------------------------------------------------------------------------


@pytest.mark.usefixtures("tools")
def test_rendered_corpus_has_no_forbidden_breaks(tmp_path: Path) -> None:
    result = render(CORPUS, RenderSettings(out_dir=tmp_path, voice=VoiceSettings(engine="espeak")))
    srt_path = tmp_path / f"{CORPUS.stem}.srt"
    assert srt_path.is_file(), result
    run = subprocess.run(
        [sys.executable, "scripts/score_subtitles.py", "--json", str(srt_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    score = json.loads(run.stdout)
    assert score["forbidden_total"] == 0, score["examples"]
    assert set(score["forbidden"]) == {
        kind for kind, _words, penalty in BREAK_RULES if penalty >= FORBIDDEN
    }
    assert score["max_line"] <= LIMITS.max_line
    assert score["cues_over_two_lines"] == 0
