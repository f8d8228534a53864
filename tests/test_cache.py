"""The clip cache: entries verify or are misses, LRU under a size limit, faults never raise."""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from narrator import cache
from narrator.cache import HEADER, CacheInfo, ClipCache, cache_key, format_size, parse_size
from narrator.errors import SettingError
from tests.conftest import ROOT

A, B, C, D = (cache_key("sentence", name) for name in "ABCD")
PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes
ENTRY = HEADER.size + len(PAYLOAD)


def _entry(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.clip"


def _temporary(folder: Path, key: str, age: float = 0.0) -> Path:
    """A temporary file as a put killed mid-write leaves it, last written ``age`` seconds ago."""
    path = folder / key[:2] / f".{key}.4242-0badcafe.tmp"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half an entry")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- keys and sizes ---------------------------------------------------------------


def test_cache_key_is_a_hex_digest_and_unambiguous() -> None:
    assert cache_key("piper", "joe", "Hello.") == cache_key("piper", "joe", "Hello.")
    assert len(cache_key("x")) == 64
    assert int(cache_key("x"), 16) >= 0
    distinct = [("ab", "c"), ("a", "bc"), ("abc",), ("a", "b", "c"), ("a",), ("a", ""), ("",), ()]
    assert len({cache_key(*parts) for parts in distinct}) == len(distinct)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("0", 0),
        ("123456", 123_456),
        ("2GB", 2_000_000_000),
        ("500 MB", 500_000_000),
        ("2G", 2_000_000_000),
        ("1.5GiB", 1_610_612_736),
        ("512kb", 512_000),
        ("64 KiB", 65_536),
        ("3 mib", 3 * 1024**2),
        ("1TB", 10**12),
        (" 7 B ", 7),
        ("0.5 KB", 500),
        ("-0", 0),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "GB", "two GB", "2 XB", "2GBs", "1e9", "1,000", "2 G B", "nan", "-1", "-2GB"]
)
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(SettingError) as caught:
        parse_size(text)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(text) in message
    assert "e.g. 2GB" in message
    assert ("negative" in message) == text.startswith("-")


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 KB"),
        (1500, "1.5 KB"),
        (512_000, "512 KB"),
        (999_999, "1 MB"),
        (1_390_000_000, "1.4 GB"),
        (2 * 1000**3, "2 GB"),
        (25_300_000_000, "25 GB"),
        (3 * 10**15, "3000 TB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


@given(st.integers(min_value=0, max_value=10**15))
def test_format_size_reads_back_within_its_rounding(size: int) -> None:
    assert abs(parse_size(format_size(size)) - size) <= max(size * 0.05, 1)


def test_default_dir_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NARRATOR_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.default_dir() == tmp_path / "mine"
    monkeypatch.setenv("NARRATOR_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_dir() == tmp_path / "xdg" / "narrator" / "clips"
    assert not (tmp_path / "xdg").exists()


# --- round trip and verification ----------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, len(PAYLOAD), 1_000_000])
def test_round_trip(tmp_path: Path, size: int) -> None:
    payload = os.urandom(size)
    clips = ClipCache(tmp_path / "clips")
    clips.put(A, payload)
    assert clips.get(A) == payload
    assert ClipCache(tmp_path / "clips").get(A) == payload  # another process would see it too
    assert _files(tmp_path / "clips") == sorted([f"{A[:2]}/{A}.clip", ".lock"])
    assert clips.problem is None


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=5000), st.text(max_size=20))
def test_any_payload_round_trips(payload: bytes, text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clips = ClipCache(Path(folder))
        clips.put(cache_key(text), payload)
        assert clips.get(cache_key(text)) == payload


def test_put_replaces_an_entry(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path)
    clips.put(A, b"first")
    clips.put(A, b"second")
    assert clips.get(A) == b"second"
    assert clips.info().entries == 1


def test_miss_creates_nothing(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path / "clips")
    assert clips.get(A) is None
    assert not (tmp_path / "clips").exists()
    clips.put(A, PAYLOAD)
    assert clips.get(B) is None


def test_a_key_not_from_cache_key_is_refused(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path)
    for bad in ("", "../../etc/passwd", A.upper(), A[:-1], A + "0"):
        with pytest.raises(ValueError, match="not a cache key"):
            clips.get(bad)
        with pytest.raises(ValueError, match="not a cache key"):
            clips.put(bad, b"x")


@pytest.mark.parametrize(
    "keep", [0, 1, 8, HEADER.size - 1, HEADER.size, HEADER.size + 1, ENTRY - 1]
)
def test_truncated_entry_is_a_miss_and_deleted(tmp_path: Path, keep: int) -> None:
    clips = ClipCache(tmp_path)
    clips.put(A, PAYLOAD)
    path = _entry(tmp_path, A)
    path.write_bytes(path.read_bytes()[:keep])
    assert clips.get(A) is None
    assert not path.exists()


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("offset", [HEADER.size, HEADER.size + len(PAYLOAD) // 2, ENTRY - 1])
def test_flipped_payload_byte_is_a_miss(tmp_path: Path, offset: int) -> None:
    clips = ClipCache(tmp_path)
    clips.put(A, PAYLOAD)
    _flip(_entry(tmp_path, A), offset)
    assert clips.get(A) is None
    assert not _entry(tmp_path, A).exists()


# magic, version, payload length (low and high byte), digest (first and last byte)
@pytest.mark.parametrize("offset", [0, 7, 8, 12, 19, 20, HEADER.size - 1])
def test_flipped_header_byte_is_a_miss(tmp_path: Path, offset: int) -> None:
    clips = ClipCache(tmp_path)
    clips.put(A, PAYLOAD)
    _flip(_entry(tmp_path, A), offset)
    assert clips.get(A) is None
    assert not _entry(tmp_path, A).exists()


def test_foreign_files_under_an_entry_name_are_misses(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path)
    clips.put(B, PAYLOAD)
    path = _entry(tmp_path, A)
    path.parent.mkdir(parents=True, exist_ok=True)
    foreign = [
        b"RIFF....WAVEfmt a wave file someone saved here",
        _entry(tmp_path, B).read_bytes(),  # a whole, valid entry, but of another key
        _entry(tmp_path, B).read_bytes() + b"trailing",
        b"\0" * ENTRY,
    ]
    for data in foreign:
        path.write_bytes(data)
        assert clips.get(A) is None
        assert not path.exists()
    assert clips.get(B) == PAYLOAD


def test_a_folder_under_an_entry_name_is_a_miss(tmp_path: Path) -> None:
    _entry(tmp_path, A).mkdir(parents=True)
    assert ClipCache(tmp_path).get(A) is None


# --- size limit and recency -------------------------------------------------------------


def test_eviction_is_least_recently_used_not_written(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path, limit=int(3.5 * ENTRY))  # 90% of it still holds three
    for age, key in zip((300, 200, 100), (A, B, C), strict=True):
        clips.put(key, PAYLOAD)
        _age(_entry(tmp_path, key), age)  # written in that order, minutes apart
    assert clips.get(A) == PAYLOAD  # A is now the most recently used of the three
    clips.put(D, PAYLOAD)  # over the limit: the least recently used goes
    assert [_entry(tmp_path, k).exists() for k in (A, B, C, D)] == [True, False, True, True]
    assert clips.info().size_bytes <= clips.limit


def test_a_hit_refreshes_recency(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path)
    clips.put(A, PAYLOAD)
    _age(_entry(tmp_path, A), 3600)
    clips.get(A)
    assert time.time() - _entry(tmp_path, A).stat().st_mtime < 60


def test_limit_holds_over_many_puts(tmp_path: Path) -> None:
    limit = 10 * ENTRY
    clips = ClipCache(tmp_path, limit=limit)
    keys = [cache_key(str(n)) for n in range(60)]
    for n, key in enumerate(keys):
        clips.put(key, PAYLOAD)
        _age(_entry(tmp_path, key), 1000 - n)  # distinct times, oldest first
        assert ClipCache(tmp_path).info().size_bytes <= limit
    assert clips.get(keys[-1]) == PAYLOAD  # the newest survive, the oldest went
    assert clips.get(keys[0]) is None
    assert clips.problem is None


def test_the_limit_counts_entries_other_processes_wrote(tmp_path: Path) -> None:
    for n in range(8):
        key = cache_key("other", str(n))
        ClipCache(tmp_path).put(key, PAYLOAD)
        _age(_entry(tmp_path, key), 100)
    clips = ClipCache(tmp_path, limit=5 * ENTRY)
    clips.put(A, PAYLOAD)  # the first put scans the folder once
    assert clips.info().size_bytes <= 5 * ENTRY
    assert clips.get(A) == PAYLOAD


def test_limit_zero_stores_nothing(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path / "clips", limit=0)
    clips.put(A, PAYLOAD)
    clips.put(B, b"")
    assert clips.get(A) is None
    assert not (tmp_path / "clips").exists()
    assert clips.problem is None


def test_a_negative_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="negative"):
        ClipCache(tmp_path, limit=-1)


def test_eviction_goes_on_where_flock_is_unsupported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no_locks(handle: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    clips = ClipCache(tmp_path, limit=3 * ENTRY)
    for key in (A, B, C, D):
        clips.put(key, PAYLOAD)
    assert clips.problem is None
    assert clips.info().size_bytes <= 3 * ENTRY


# --- temporary files, info, clear --------------------------------------------------------


def test_stale_temporaries_are_swept_and_fresh_ones_kept(tmp_path: Path) -> None:
    stale = _temporary(tmp_path, B, age=2 * 3600)
    fresh = _temporary(tmp_path, C, age=60)  # perhaps a put of another process, under way
    clips = ClipCache(tmp_path)
    assert clips.info() == CacheInfo(tmp_path, 0, 0, cache.DEFAULT_LIMIT)
    clips.put(A, PAYLOAD)  # the first put sweeps
    assert not stale.exists()
    assert fresh.exists()
    assert clips.info() == CacheInfo(tmp_path, 1, ENTRY, cache.DEFAULT_LIMIT)


def test_info_on_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet"
    assert ClipCache(folder, limit=5).info() == CacheInfo(folder, 0, 0, 5)
    assert not (tmp_path / "not").exists()


def test_clear_removes_only_the_caches_own_files(tmp_path: Path) -> None:
    clips = ClipCache(tmp_path)
    for key in (A, B, C):
        clips.put(key, PAYLOAD)
    stale = _temporary(tmp_path, D, age=2 * 3600)
    fresh = _temporary(tmp_path, A, age=10)
    theirs = [
        tmp_path / "notes.txt",
        tmp_path / A[:2] / "notes.txt",
        tmp_path / A[:2] / f"{A}.clip.bak",
        tmp_path / "zz" / f"{A}.clip",
        tmp_path / ("ff" if A[:2] != "ff" else "00") / f"{A}.clip",  # not in its own shard
    ]
    for path in theirs:
        path.parent.mkdir(exist_ok=True)
        path.write_text("mine, not the cache's")
    assert clips.info().entries == 3
    assert clips.clear() == 3
    assert all(clips.get(key) is None for key in (A, B, C))
    assert not stale.exists()
    assert fresh.exists()
    assert all(path.read_text() == "mine, not the cache's" for path in theirs)
    assert tmp_path.is_dir()
    assert clips.info().entries == 0
    assert clips.clear() == 0


def test_clear_of_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    assert ClipCache(tmp_path / "clips").clear() == 0
    assert not (tmp_path / "clips").exists()


# --- faults never raise ------------------------------------------------------------------


def test_a_file_in_the_way_of_the_folder_turns_writing_off(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.write_text("not a folder")
    clips = ClipCache(folder)
    clips.put(A, PAYLOAD)
    assert clips.problem == f"{folder}: a file is in the way of the cache folder"
    assert clips.get(A) is None
    assert clips.info().entries == 0
    assert folder.read_text() == "not a folder"


def test_a_full_disk_turns_writing_off_and_leaves_no_temporary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clips = ClipCache(tmp_path)
    clips.put(A, PAYLOAD)
    real_write = os.write

    def full(handle: int, data: bytes) -> int:
        real_write(handle, bytes(data)[:100])  # part of it fits, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    clips.put(B, PAYLOAD)
    assert clips.problem == f"{tmp_path}: No space left on device"
    monkeypatch.undo()
    clips.put(C, PAYLOAD)  # space again, but the cache has stopped trying
    assert clips.problem == f"{tmp_path}: No space left on device"
    assert _files(tmp_path) == sorted([f"{A[:2]}/{A}.clip", ".lock"])
    assert clips.get(A) == PAYLOAD


# --- processes ----------------------------------------------------------------------------

_HAMMER = textwrap.dedent(
    """
    import hashlib, random, sys
    from pathlib import Path
    from narrator.cache import ClipCache, cache_key

    def torn(cache, path, inode):
        sys.exit(f"found a bad entry at {path}: a reader saw a partial write")

    ClipCache._discard = torn  # a whole entry or none: a bad one is never even seen

    folder, writer = Path(sys.argv[1]), sys.argv[2]
    keys = [cache_key("hammer", str(i)) for i in range(6)]

    def payload(i, w, n):
        head = f"{i}|{w}|{n}|".encode()
        size = 1 + int(hashlib.sha256(head).hexdigest(), 16) % 150_000
        return head + (hashlib.sha256(head).digest() * (size // 32 + 1))[:size]

    clips = ClipCache(folder, limit=600_000)  # small: eviction runs all the time
    rng, hits, theirs = random.Random(writer), 0, 0
    print("ready", flush=True)
    sys.stdin.readline()  # both start together
    for n in range(300):
        i = rng.randrange(len(keys))
        if rng.random() < 0.5:
            clips.put(keys[i], payload(i, writer, n))
            continue
        got = clips.get(keys[i])
        if got is None:
            continue
        j, w, m = got.split(b"|", 3)[:3]
        if int(j) != i or got != payload(i, w.decode(), int(m)):
            sys.exit(f"wrong or partial payload for key {i}: {got[:40]!r}, {len(got)} bytes")
        hits += 1
        theirs += w.decode() != writer
    if clips.problem is not None:
        sys.exit(clips.problem)
    print(hits, theirs)
    """
)


def test_two_processes_hammering_the_same_keys_never_see_a_bad_payload(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, str(tmp_path), name],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("one", "two")
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [worker.communicate(timeout=60) for worker in workers]
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        hits, theirs = map(int, out.split())
        assert hits >= theirs > 0  # it read the other's entries, not only its own
    assert ClipCache(tmp_path).info().size_bytes <= 600_000
    assert list(tmp_path.rglob("*.tmp")) == []


def test_source_digest_follows_the_modules_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clip cache key holds a digest of narrator's own processing code: an edit of
    the break rules must not bring back cues cut by the old ones."""
    (tmp_path / "rules_here.py").write_text("PENALTY = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = cache.source_digest(["rules_here"])
    assert cache.source_digest(["rules_here"]) == before
    (tmp_path / "rules_here.py").write_text("PENALTY = 2\n", encoding="utf-8")
    assert cache.source_digest(["rules_here"]) != before
    assert cache.source_digest(["no_such_module_here"]) != before  # counted by its name


def test_the_sentence_key_holds_the_processing_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    from narrator import synthesis
    from narrator.plan import make_plan
    from narrator.script import read_script_bytes
    from narrator.settings import RenderSettings

    settings = RenderSettings()
    plan = make_plan(read_script_bytes(b"The ferry left.\n", "k.txt"), settings)
    (sentence,) = plan.sentences
    key = synthesis.sentence_key("f", sentence, settings.limits)
    monkeypatch.setattr(synthesis, "processing_digest", lambda: "another version of the rules")
    assert synthesis.sentence_key("f", sentence, settings.limits) != key
