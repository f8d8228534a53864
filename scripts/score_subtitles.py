"""Score a rendered SRT: forbidden line and cue breaks by kind, and reading speed.

Usage: .venv/bin/python scripts/score_subtitles.py [--json] out/script.srt
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
from datetime import timedelta
from pathlib import Path

import srt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from narrator.segment import BREAK_RULES, FORBIDDEN, forbidden_break

# Cues closer than this, the first not ending a sentence, are one sentence cut in two.
SAME_SENTENCE_GAP = timedelta(seconds=0.3)
SENTENCE_END = re.compile(r"[.!?…]['\"’”)\]]*$")
MAX_CPS = 20.0
KINDS = tuple(kind for kind, _words, penalty in BREAK_RULES if penalty >= FORBIDDEN)


def score(
    subtitles: list[srt.Subtitle],
) -> tuple[dict[str, int], list[str], dict[str, float]]:
    """Forbidden breaks by kind (line and cue breaks, with examples) and reading speed."""
    counts = dict.fromkeys(KINDS, 0)
    examples: list[str] = []

    def check(before: str, after: str, where: str) -> None:
        kind = forbidden_break(before, after)
        if kind is not None:
            counts[kind] += 1
            examples.append(f"{where}: {kind}: {before} | {after}")

    cps: list[float] = []
    longest = 0
    over_two = 0
    for k, cue in enumerate(subtitles):
        lines = [line for line in cue.content.splitlines() if line.strip()]
        longest = max([longest, *(len(line) for line in lines)])
        over_two += len(lines) > 2
        for top, bottom in itertools.pairwise(lines):
            check(top.split()[-1], bottom.split()[0], f"cue {cue.index} line break")
        seconds = (cue.end - cue.start).total_seconds()
        chars = len(" ".join(lines))
        if seconds > 0:
            cps.append(chars / seconds)
        if k + 1 < len(subtitles) and lines:
            following = subtitles[k + 1]
            after = following.content.split()
            last = lines[-1].split()[-1]
            if (
                after
                and following.start - cue.end < SAME_SENTENCE_GAP
                and not SENTENCE_END.search(last)
            ):
                check(last, after[0], f"cues {cue.index}-{following.index}")
    return counts, examples, {
        "cues": len(subtitles),
        "cps_mean": round(statistics.fmean(cps), 2) if cps else 0.0,
        "cps_median": round(statistics.median(cps), 2) if cps else 0.0,
        "cps_max": round(max(cps), 2) if cps else 0.0,
        "cues_over_cps": sum(rate > MAX_CPS for rate in cps),
        "max_line": longest,
        "cues_over_two_lines": over_two,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("srt", type=Path, help="the SRT file to score")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    counts, examples, result = score(list(srt.parse(args.srt.read_text(encoding="utf-8-sig"))))
    total = sum(counts.values())
    if args.json:
        whole = {"forbidden": counts, "forbidden_total": total, "examples": examples, **result}
        print(json.dumps(whole, indent=2))
        return 0
    print(f"{args.srt}: {result['cues']:g} cues")
    print(f"forbidden breaks: {total}")
    for kind, count in counts.items():
        print(f"  {kind:<12} {count}")
    for example in examples:
        print(f"    {example}")
    print(
        f"reading speed (chars/s): mean {result['cps_mean']}, median {result['cps_median']},"
        f" max {result['cps_max']}, cues over {MAX_CPS:g}: {result['cues_over_cps']}"
    )
    print(
        f"longest line: {result['max_line']} chars;"
        f" cues over two lines: {result['cues_over_two_lines']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
