"""Measure each engine's pace and print the Pace coefficients for narrator/engines/__init__.py.

Renders calibration texts (the bundled sample, the shared seed script and a
generated 10-minute narration) at the reference rate with every engine, reads
each sentence's measured duration and the text its engine was given (its spoken
form) from the manifest, and fits the Pace weights
by least squares. The test scripts that check the estimate use other texts.

Usage: .venv/bin/python scripts/calibrate_pace.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench

from narrator.engines import ENGINES
from narrator.pace import REFERENCE_WPM, Pace, features

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION_SEED = 3  # not the benchmark's or the tests' seed


def solve(rows: list[tuple[int, ...]], targets: list[float]) -> list[float]:
    """Least squares by the normal equations and Gaussian elimination (4 unknowns).

    A feature no row has (digits, once the spoken form says numbers in words) gets
    weight 0.
    """
    used = [i for i in range(len(rows[0])) if any(row[i] for row in rows)]
    weights = _solve([tuple(row[i] for i in used) for row in rows], targets)
    full = [0.0] * len(rows[0])
    for i, weight in zip(used, weights, strict=True):
        full[i] = weight
    return full


def _solve(rows: list[tuple[int, ...]], targets: list[float]) -> list[float]:
    n = len(rows[0])
    a = [[sum(r[i] * r[j] for r in rows) for j in range(n)] for i in range(n)]
    b = [sum(r[i] * t for r, t in zip(rows, targets, strict=True)) for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda k: abs(a[k][col]))
        a[col], a[pivot], b[col], b[pivot] = a[pivot], a[col], b[pivot], b[col]
        for k in range(n):
            if k != col and a[col][col]:
                factor = a[k][col] / a[col][col]
                a[k] = [x - factor * y for x, y in zip(a[k], a[col], strict=True)]
                b[k] -= factor * b[col]
    return [b[i] / a[i][i] for i in range(n)]


def sentences(manifest: Path) -> list[tuple[str, float]]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [
        (s["spoken"], s["end"] - s["start"]) for p in data["paragraphs"] for s in p["sentences"]
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        generated = work / "generated.txt"
        generated.write_text(bench.narration(10, seed=CALIBRATION_SEED), encoding="utf-8")
        texts = [ROOT / "narrator" / "samples" / "sample.txt", generated]
        seed = ROOT.parent / "shared" / "seed-script.txt"
        if seed.is_file():
            texts.append(seed)
        for engine in ENGINES:
            measured: list[tuple[str, float]] = []
            for text in texts:
                out = work / engine
                subprocess.run(
                    [sys.executable, "-m", "narrator", "render", str(text), "-o", str(out),
                     "-q", "--engine", engine, "--rate", str(REFERENCE_WPM)],
                    check=True,
                )
                measured += sentences(out / f"{text.stem}.json")
            weights = solve([features(t) for t, _ in measured], [d for _, d in measured])
            pace = Pace(*(round(w, 4) for w in weights))
            total = sum(d for _, d in measured)
            estimate = sum(pace.seconds(t, REFERENCE_WPM) for t, _ in measured)
            print(f"{engine}: {pace}  ({len(measured)} sentences, estimate/measured "
                  f"{estimate / total:.3f})")


if __name__ == "__main__":
    main()
