"""Loudness: presets and reports, and real espeak speech mastered and measured against ffmpeg."""

from __future__ import annotations

import math
import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from narrator import loudness
from narrator.engines import VoiceSettings
from narrator.errors import OutputError, SettingError
from narrator.formats import AudioFormat
from narrator.loudness import Check, LoudnessReport, Measurement, Preset
from narrator.render import RenderSettings, render
from tests.conftest import Renderer, require_program

# --- helpers -----------------------------------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (int16) and rate of a mono 16-bit WAV."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data, wav.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write int16 samples as a mono WAV; return the path."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


def scaled(samples: np.ndarray, db: float) -> np.ndarray:
    """Samples times a gain in dB, clipped to 16 bits as a recorder would."""
    louder = np.rint(samples.astype(np.float64) * 10 ** (db / 20))
    return np.clip(louder, -32768, 32767).astype(np.int16)


def ffmpeg_ebur128(path: Path) -> dict[str, float]:
    """ffmpeg's own R128 measurement: I and LRA (LUFS, LU) and true peak (dBTP), to 0.001.

    The per-frame metadata carries three decimals where the summary has one; the
    last frame's values are those of the whole file.
    """
    ffmpeg = require_program("ffmpeg")
    graph = "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-"
    command = [ffmpeg, "-nostats", "-hide_banner", "-i", str(path), "-af", graph, "-f", "null", "-"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    last: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("lavfi.r128."):
            key, _, value = line.removeprefix("lavfi.r128.").partition("=")
            last[key] = float(value)
    peak = last["true_peak"]
    return {
        "I": last["I"],
        "LRA": last["LRA"],
        "TP": 20 * math.log10(peak) if peak > 0 else -math.inf,
    }


def ffmpeg_astats(path: Path, end: float | None = None) -> dict[str, float]:
    """ffmpeg astats' overall RMS level and peak level (dB), of the file or its first ``end`` s."""
    ffmpeg = require_program("ffmpeg")
    graph = "astats=measure_perchannel=none:measure_overall=RMS_level+Peak_level"
    if end is not None:
        graph = f"atrim=end={end},{graph}"
    command = [ffmpeg, "-nostats", "-hide_banner", "-i", str(path), "-af", graph, "-f", "null", "-"]
    err = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    found: dict[str, float] = {}
    for line in err.splitlines():
        for name, key in (("RMS level dB:", "rms"), ("Peak level dB:", "peak")):
            if name in line:
                found[key] = float(line.split(name)[1])
    return found


def resampled(source: Path, target: Path, rate: int) -> Path:
    """``source`` resampled by ffmpeg to ``rate`` as a mono 16-bit WAV."""
    ffmpeg = require_program("ffmpeg")
    command = [
        ffmpeg,
        "-v",
        "error",
        "-y",
        "-i",
        str(source),
        "-ar",
        str(rate),
        "-c:a",
        "pcm_s16le",
    ]
    subprocess.run([*command, str(target)], check=True)
    return target


def lag(original: np.ndarray, mastered: np.ndarray, most: int = 20) -> int:
    """The shift (samples) at which ``mastered`` lines up best with ``original``."""
    a = original.astype(np.float64)
    b = mastered.astype(np.float64)
    shifts = range(-most, most + 1)
    scores = [
        float(np.dot(a[most : len(a) - most], b[most + s : len(b) - most + s])) for s in shifts
    ]
    return shifts[int(np.argmax(scores))]


def quiet_runs(samples: np.ndarray, length: int) -> list[tuple[int, int]]:
    """Start and end of every run of at least ``length`` zero samples."""
    zero = np.concatenate(([False], samples == 0, [False]))
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    pairs = list(zip(edges[::2], edges[1::2], strict=True))
    return [(int(a), int(b)) for a, b in pairs if b - a >= length]


# --- the speech under test ---------------------------------------------------------

#: The seed's first paragraphs: an image caption, a paragraph, a watermark line.
SEED_PARAGRAPHS = 3


@pytest.fixture(scope="module")
def speech(tools: None, seed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The start of the seed rendered by espeak, and a quiet and a loud copy of it.

    The render goes through narrator's cleaning (the caption and the watermark
    are dropped) and its pauses; the quiet copy is 20 dB down, the loud one 12 dB
    up and clipped, as a hot recording would be.
    """
    folder = tmp_path_factory.mktemp("loudness-speech")
    text = "\n\n".join(seed.read_text(encoding="utf-8").split("\n\n")[:SEED_PARAGRAPHS])
    script = folder / "seed-start.txt"
    script.write_text(text + "\n", encoding="utf-8")
    settings = RenderSettings(
        out_dir=folder / "render",
        audio_format=AudioFormat.WAV,
        voice=VoiceSettings(engine="espeak"),
    )
    result = render(script, settings)
    samples, rate = read_wav(result.audio)
    return {
        "seed": result.audio,
        "quiet": write_wav(folder / "quiet.wav", scaled(samples, -20.0), rate),
        "loud": write_wav(folder / "loud.wav", scaled(samples, 12.0), rate),
    }


@pytest.fixture
def copy_of(speech: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of one of the speech files, to master in place."""

    def make(name: str) -> Path:
        return Path(shutil.copy(speech[name], tmp_path / f"{name}.wav"))

    return make


# --- presets -----------------------------------------------------------------------


def test_named_presets_and_numbers() -> None:
    assert loudness.preset("off") is None
    assert loudness.preset(" Podcast ") == loudness.PODCAST
    podcast, youtube = loudness.PODCAST, loudness.YOUTUBE
    assert (podcast.target, podcast.ceiling_db) == (-16.0, -1.0)
    assert (youtube.target, youtube.ceiling_db) == (-14.0, -1.0)
    book = loudness.preset("audiobook")
    assert book is not None and book.basis is loudness.Basis.RMS
    assert (book.rms_range, book.ceiling_db, book.noise_floor_db) == ((-23.0, -18.0), -3.0, -60.0)
    assert 500 <= book.head_ms <= 1000 and 1000 <= book.tail_ms <= 5000
    assert book.room_tone_db is not None and book.room_tone_db <= -65
    for spec, target in (("-18", -18.0), ("-18.5", -18.5), ("-23 LUFS", -23.0), ("-5", -5.0)):
        chosen = loudness.preset(spec)
        assert chosen is not None
        assert (chosen.basis, chosen.target, chosen.ceiling_db) == (
            loudness.Basis.LUFS,
            target,
            -1.0,
        )
        assert chosen.name == f"{target:g} LUFS"


@pytest.mark.parametrize("spec", ["loud", "-4", "-41", "0", "nan", "inf", "", "podcasts"])
def test_unknown_presets_name_the_choices(spec: str) -> None:
    with pytest.raises(SettingError) as caught:
        loudness.preset(spec)
    message = str(caught.value)
    assert "\n" not in message
    for choice in ("off", "podcast", "youtube", "audiobook", "LUFS"):
        assert choice in message


def test_headroom_out_of_range_is_a_setting_error(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="headroom"):
        loudness.master(tmp_path / "none.wav", loudness.PODCAST, headroom_db=-1)


# --- checks and reports ------------------------------------------------------------


def measured(**levels: float) -> Measurement:
    values: dict[str, float] = {
        "integrated_lufs": -16.0,
        "loudness_range_lu": 4.0,
        "true_peak_dbtp": -1.3,
        "sample_peak_dbfs": -1.5,
        "rms_db": -20.0,
        "noise_floor_db": -70.0,
        "head_s": 0.8,
        "tail_s": 2.6,
    }
    values.update(levels)
    return Measurement(rate=22050, samples=22050 * 60, **values)


def verdicts(preset: Preset, found: Measurement) -> dict[str, bool]:
    return {check.name: check.passed for check in loudness.checks(preset, found)}


def test_lufs_checks_hold_loudness_and_true_peak() -> None:
    podcast = loudness.PODCAST
    assert verdicts(podcast, measured()) == {"integrated loudness": True, "true peak": True}
    assert not verdicts(podcast, measured(integrated_lufs=-16.6))["integrated loudness"]
    assert verdicts(podcast, measured(integrated_lufs=-15.5))["integrated loudness"]
    assert not verdicts(podcast, measured(true_peak_dbtp=-0.9))["true peak"]
    assert not verdicts(podcast, measured(integrated_lufs=-math.inf))["integrated loudness"]


def test_acx_checks_rms_peak_noise_room_tone_head_and_tail() -> None:
    book = loudness.AUDIOBOOK
    fine = {"true_peak_dbtp": -3.2}
    assert verdicts(book, measured(**fine)) == dict.fromkeys(
        ("RMS", "peak", "noise floor", "room tone", "head", "tail"), True
    )
    failing = {
        "RMS": {"rms_db": -17.5},
        "peak": {"true_peak_dbtp": -2.9},
        "noise floor": {"noise_floor_db": -55.0},
        "room tone": {"noise_floor_db": -math.inf},
        "head": {"head_s": 0.2},
        "tail": {"tail_s": 6.0},
    }
    for name, levels in failing.items():
        result = verdicts(book, measured(**{**fine, **levels}))
        assert [n for n, ok in result.items() if not ok] == [name]


def report(preset: str | None, checks: tuple[Check, ...] = (), **levels: float) -> LoudnessReport:
    values = {
        "integrated_lufs": -16.04,
        "loudness_range_lu": 4.13,
        "true_peak_dbtp": -1.26,
        "sample_peak_dbfs": -1.5,
        "rms_db": -19.04,
        "noise_floor_db": -math.inf,
        "gain_db": 5.237,
        "limiter_db": -3.1,
    }
    values.update(levels)
    basis = None if preset is None else loudness.PRESETS[preset].basis
    gains = {name: values.pop(name) for name in ("gain_db", "limiter_db")}
    measured = Measurement(rate=22050, samples=22050, head_s=0.0, tail_s=0.0, **values)
    return LoudnessReport(
        preset=preset, target="-16 LUFS", basis=basis, measured=measured, checks=checks, **gains
    )


def test_report_line_is_one_line_for_the_summary() -> None:
    passing = (Check("true peak", -1.26, "<= -1 dBTP", True),)
    line = loudness.report_line(report("podcast", passing))
    assert line == "loudness   podcast: -16.0 LUFS, LRA 4.1 LU, true peak -1.3 dBTP: pass"
    failing = (*passing, Check("integrated loudness", -17.0, "-16 +/- 0.5 LUFS", False))
    assert loudness.report_line(report("podcast", failing)).endswith(": FAIL (integrated loudness)")
    book = (Check("RMS", -20.0, "-23 to -18 dB", True),)
    assert loudness.report_line(report("audiobook", book, noise_floor_db=-70.04)) == (
        "loudness   audiobook: RMS -19.0 dB, peak -1.3 dB, noise floor -70.0 dB: pass"
    )
    silent = report(None, integrated_lufs=-math.inf, true_peak_dbtp=-math.inf)
    assert loudness.report_line(silent) == (
        "loudness   -inf LUFS, LRA 4.1 LU, true peak -inf dBTP (not mastered)"
    )


def test_report_data_rounds_and_turns_silence_into_null() -> None:
    checks = (Check("true peak", -1.2649, "<= -1 dBTP", True),)
    data = loudness.report_data(report("podcast", checks))
    assert data["integrated_lufs"] == -16.04 and data["gain_db"] == 5.24
    assert data["noise_floor_db"] is None
    assert data["checks"] == [
        {"name": "true peak", "value": -1.26, "limit": "<= -1 dBTP", "passed": True}
    ]
    assert data["passed"] is True
    assert loudness.report_data(report(None))["passed"] is None


# --- the filters -------------------------------------------------------------------


def test_k_weighting_at_48k_is_bs1770s_own() -> None:
    """BS.1770-4 Table 1 and 2 give the two filters' coefficients at 48 kHz."""
    shelf, highpass = loudness.k_weighting(48000)
    published_shelf = [1.53512485958697, -2.69169618940638, 1.19839281085285]
    published_shelf += [1.0, -1.69065929318241, 0.73248077421585]
    published_highpass = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]
    assert shelf == pytest.approx(published_shelf, abs=1e-8)
    assert highpass == pytest.approx(published_highpass, abs=1e-8)


def test_interpolators_keep_samples_and_constants() -> None:
    filters = loudness.interpolators()
    assert filters.shape == (loudness.OVERSAMPLING - 1, 2 * loudness.HALF_TAPS)
    assert filters.sum(axis=1) == pytest.approx(1.0)
    # The middle phase is symmetric: the half-way point weighs both sides alike.
    middle = filters[loudness.OVERSAMPLING // 2 - 1]
    assert middle == pytest.approx(middle[::-1])
    assert 1.0 < loudness.peak_bound(filters) < 4.0


@pytest.mark.parametrize("state", [0.0, -4.0])
def test_limiter_envelope_holds_every_peak_and_moves_smoothly(state: float) -> None:
    limiter = loudness.Limiter.at(22050)
    rng = np.random.default_rng(7)
    count = 4000
    peaks = np.full(count + limiter.lead + limiter.lag, -np.inf)
    loud = rng.choice(np.arange(limiter.lead, count + limiter.lead), 120, replace=False)
    peaks[loud] = rng.uniform(-6.0, 6.0, len(loud))
    threshold = -1.0
    gain = limiter.envelope(peaks, threshold, state)
    assert len(gain) == count and (gain <= 0).all()
    # Every peak, and every step around it an interpolator reaches (and the one
    # after, towards which the gain is interpolated), is held under.
    reach = -(-loudness.HALF_TAPS // limiter.step)
    for step in loud - limiter.lead:
        for near in range(step - reach, step + reach + 2):
            if 0 <= near < count:
                assert gain[near] + peaks[step + limiter.lead] <= threshold + 1e-9
    # Falls no faster than the attack allows, recovers no faster than the release.
    worst_cut = threshold - peaks[loud].max()
    assert np.diff(gain).min() >= worst_cut / (limiter.attack + 1) - 1e-9
    assert (gain[1:] <= gain[:-1] * math.exp(limiter.release) + 1e-9).all()


def test_limiter_envelope_is_the_recursion_it_stands_for() -> None:
    limiter = loudness.Limiter.at(16000)
    rng = np.random.default_rng(11)
    peaks = np.full(600, -np.inf)
    peaks[rng.choice(600, 25, replace=False)] = rng.uniform(-3.0, 3.0, 25)
    gain = limiter.envelope(peaks, -1.0, -2.0)
    cut = np.minimum(0.0, -1.0 - peaks)
    width = limiter.after + limiter.attack + limiter.before + 1
    held = [cut[i : i + width].min() for i in range(len(cut) - width + 1)]
    falling = [np.mean(held[j : j + limiter.attack + 1]) for j in range(len(gain))]
    expected, previous = [], -2.0
    for fall in falling:
        previous = min(fall, previous * math.exp(limiter.release))
        expected.append(previous)
    assert gain == pytest.approx(expected, abs=1e-9)


# --- measuring against ffmpeg ------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 22050, 48000])
def test_measure_agrees_with_ffmpeg(speech: dict[str, Path], tmp_path: Path, rate: int) -> None:
    wav = speech["loud"]
    if rate != 22050:
        wav = resampled(wav, tmp_path / f"loud-{rate}.wav", rate)
    ours = loudness.measure(wav)
    theirs, stats = ffmpeg_ebur128(wav), ffmpeg_astats(wav)
    assert ours.rate == rate
    assert ours.integrated_lufs == pytest.approx(theirs["I"], abs=0.02)
    assert ours.loudness_range_lu == pytest.approx(theirs["LRA"], abs=0.05)
    assert ours.true_peak_dbtp == pytest.approx(theirs["TP"], abs=0.05)
    assert ours.sample_peak_dbfs == pytest.approx(stats["peak"], abs=0.01)
    assert ours.rms_db == pytest.approx(stats["rms"], abs=0.01)
    # Clipped: the true peak stands over the flattened samples.
    assert ours.true_peak_dbtp > ours.sample_peak_dbfs + 0.3


def test_a_true_peak_between_lower_samples_is_found(tmp_path: Path) -> None:
    """A sine at a quarter of the rate, sampled 45 degrees off its crests, peaks
    between samples 3 dB over them; a louder single sample elsewhere must not
    hide it."""
    rate = 22050
    crest = 0.95
    time = np.arange(rate // 2)
    sine = crest * np.sin(np.pi / 2 * time + np.pi / 4) * np.hanning(len(time)) ** 0.05
    spike = np.zeros(rate // 2)
    spike[rate // 4] = 0.9
    samples = np.rint(np.concatenate((spike, np.zeros(rate // 2), sine)) * 32767)
    wav = write_wav(tmp_path / "hidden.wav", samples.astype(np.int16), rate)
    found = loudness.measure(wav)
    assert found.sample_peak_dbfs == pytest.approx(20 * math.log10(0.9), abs=0.01)
    assert found.true_peak_dbtp == pytest.approx(20 * math.log10(crest), abs=0.05)
    assert found.true_peak_dbtp == pytest.approx(ffmpeg_ebur128(wav)["TP"], abs=0.05)


def test_noise_floor_is_the_quietest_half_second(tmp_path: Path) -> None:
    rate = 16000
    rng = np.random.default_rng(3)
    loud = np.rint(rng.normal(0, 3000, rate * 3)).astype(np.int16)
    hush = np.rint(rng.normal(0, 10, rate)).astype(np.int16)  # about -70 dB, for a second
    wav = write_wav(tmp_path / "floor.wav", np.concatenate((loud, hush, loud)), rate)
    level = 10 * math.log10(np.mean((hush / 32768.0) ** 2))
    assert loudness.measure(wav).noise_floor_db == pytest.approx(level, abs=0.3)
    # A stretch of digital silence is what ACX's checker flags: -inf, not skipped.
    dead = np.zeros_like(hush)
    wav = write_wav(tmp_path / "dead.wav", np.concatenate((loud, dead, loud)), rate)
    assert loudness.measure(wav).noise_floor_db == -math.inf


def test_silence_measures_as_nothing_and_masters_without_noise(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "silent.wav", np.zeros(22050 * 3, dtype=np.int16), 22050)
    found = loudness.measure(wav)
    for value in (found.integrated_lufs, found.true_peak_dbtp, found.rms_db, found.noise_floor_db):
        assert value == -math.inf
    data = loudness.report_data(loudness.measure_report(wav))
    assert data["integrated_lufs"] is None and data["true_peak_dbtp"] is None
    result = loudness.master(wav, loudness.PODCAST)
    assert result.gain_db == 0.0 and not result.passed
    samples, _ = read_wav(wav)
    assert len(samples) == 22050 * 3 and not samples.any()


def test_a_file_that_is_not_mono_16_bit_pcm_is_an_output_error(tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(b"\0\0" * 2000)
    with pytest.raises(OutputError, match="mono 16-bit"):
        loudness.measure(stereo)
    text = tmp_path / "text.wav"
    text.write_text("not audio")
    with pytest.raises(OutputError, match="not a WAV"):
        loudness.master(text, loudness.PODCAST)


# --- mastering, checked by ffmpeg --------------------------------------------------


@pytest.mark.parametrize("name", ["seed", "quiet", "loud"])
@pytest.mark.parametrize("spec", ["podcast", "youtube", "-18"])
def test_master_hits_the_target_by_ffmpegs_measure(
    copy_of: Callable[[str], Path], name: str, spec: str
) -> None:
    preset = loudness.preset(spec)
    assert preset is not None
    wav = copy_of(name)
    report = loudness.master(wav, preset)
    theirs = ffmpeg_ebur128(wav)
    assert theirs["I"] == pytest.approx(preset.target, abs=0.5)
    assert theirs["TP"] <= preset.ceiling_db
    # Our own figures are ffmpeg's, and within the tighter aim.
    assert report.measured.integrated_lufs == pytest.approx(theirs["I"], abs=0.05)
    assert report.measured.integrated_lufs == pytest.approx(preset.target, abs=0.2)
    assert report.measured.true_peak_dbtp == pytest.approx(theirs["TP"], abs=0.05)
    assert report.passed, loudness.report_line(report)


def test_a_wrong_guess_of_the_level_still_lands_on_target(
    copy_of: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trials are aimed from a guess made on a few chunks; a programme whose
    sampled chunks mislead it is mastered by the search of its own."""
    guess = loudness._guess

    def misled(source: loudness.WavReader, basis: loudness.Basis) -> loudness.Guess:
        found = guess(source, basis)
        return loudness.Guess(found.level - 6.0, found.peak_db)

    searched: list[float] = []
    choose = loudness._choose_gain

    def search(*args: object) -> tuple[float, loudness.Peaks]:
        found = choose(*args)  # type: ignore[arg-type]
        searched.append(found[0])
        return found

    writes: list[float] = []
    write = loudness._write

    def counted(*args: object) -> loudness.Applied:
        writes.append(1.0)
        return write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(loudness, "_guess", misled)
    monkeypatch.setattr(loudness, "_choose_gain", search)
    monkeypatch.setattr(loudness, "_write", counted)
    wav = copy_of("seed")
    report = loudness.master(wav, loudness.PODCAST)
    # The search found the gain by itself: one master written, no second try.
    assert len(searched) == 1 and len(writes) == 1
    assert report.measured.integrated_lufs == pytest.approx(-16.0, abs=0.2)
    theirs = ffmpeg_ebur128(wav)
    assert theirs["I"] == pytest.approx(-16.0, abs=0.5) and theirs["TP"] <= -1.0
    assert report.passed


def test_headroom_lowers_the_ceiling(copy_of: Callable[[str], Path]) -> None:
    wav = copy_of("seed")
    report = loudness.master(wav, loudness.PODCAST, headroom_db=1.0)
    theirs = ffmpeg_ebur128(wav)
    assert theirs["TP"] <= -2.0
    assert theirs["I"] == pytest.approx(-16.0, abs=0.5)
    assert report.passed


@pytest.mark.parametrize("name", ["quiet", "loud"])
def test_master_moves_no_sample_in_time(
    speech: dict[str, Path], copy_of: Callable[[str], Path], name: str
) -> None:
    before, rate = read_wav(speech[name])
    wav = copy_of(name)
    loudness.master(wav, loudness.YOUTUBE)
    after, rate_after = read_wav(wav)
    assert (len(after), rate_after) == (len(before), rate)
    assert lag(before, after) == 0
    # The pauses narrator put between sentences are still digital silence, from
    # the same sample to the same sample.
    pauses = quiet_runs(before, rate // 20)
    assert len(pauses) >= 5
    assert quiet_runs(after, rate // 20) == pauses


@pytest.mark.parametrize("rate", [16000, 48000])
def test_master_at_other_rates(speech: dict[str, Path], tmp_path: Path, rate: int) -> None:
    wav = resampled(speech["seed"], tmp_path / f"seed-{rate}.wav", rate)
    frames = read_wav(wav)[0].size
    report = loudness.master(wav, loudness.PODCAST)
    theirs = ffmpeg_ebur128(wav)
    assert theirs["I"] == pytest.approx(-16.0, abs=0.5)
    assert theirs["TP"] <= -1.0
    assert read_wav(wav)[0].size == frames
    assert report.passed


def test_audiobook_meets_acx_by_ffmpegs_measure(speech: dict[str, Path], tmp_path: Path) -> None:
    book = loudness.AUDIOBOOK
    samples, rate = read_wav(speech["seed"])
    # The plan puts the head and the tail in as silence; mastering fills them.
    head = np.zeros(book.head_ms * rate // 1000, dtype=np.int16)
    tail = np.zeros(book.tail_ms * rate // 1000, dtype=np.int16)
    wav = write_wav(tmp_path / "book.wav", np.concatenate((head, samples, tail)), rate)
    report = loudness.master(wav, book)
    assert report.passed, loudness.report_line(report)
    stats, theirs = ffmpeg_astats(wav), ffmpeg_ebur128(wav)
    assert -23.0 <= stats["rms"] <= -18.0
    assert stats["rms"] == pytest.approx(-20.0, abs=0.3)
    assert stats["peak"] <= -3.0 and theirs["TP"] <= -3.0
    # The head is room tone: neither dead silence nor anywhere near -60 dB.
    tone = ffmpeg_astats(wav, end=book.head_ms / 2000)
    assert -75.0 <= tone["rms"] <= -65.0
    assert -75.0 <= report.measured.noise_floor_db <= -65.0
    after = read_wav(wav)[0]
    assert len(after) == len(head) + len(samples) + len(tail)
    assert np.count_nonzero(after[: len(head)]) > 0.9 * len(head)


def test_audiobook_room_tone_is_the_same_every_time(
    speech: dict[str, Path], tmp_path: Path
) -> None:
    first, second = (Path(shutil.copy(speech["quiet"], tmp_path / f"{n}.wav")) for n in "ab")
    loudness.master(first, loudness.AUDIOBOOK)
    loudness.master(second, loudness.AUDIOBOOK)
    assert first.read_bytes() == second.read_bytes()


def test_the_whole_seed_for_a_podcast(rendered: Renderer, seed: Path, tmp_path: Path) -> None:
    wav = Path(shutil.copy(rendered(seed).audio, tmp_path / "seed.wav"))
    report = loudness.master(wav, loudness.PODCAST)
    theirs = ffmpeg_ebur128(wav)
    assert theirs["I"] == pytest.approx(-16.0, abs=0.5) and theirs["TP"] <= -1.0
    assert report.passed


def test_a_failed_master_leaves_the_audio_untouched(
    speech: dict[str, Path], copy_of: Callable[[str], Path], tmp_path: Path
) -> None:
    wav = copy_of("seed")
    with pytest.raises(OutputError, match="cannot master"):
        loudness.master(wav, loudness.PODCAST, scratch=tmp_path / "missing" / "x.tmp")
    assert wav.read_bytes() == speech["seed"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.wav"]


def test_master_leaves_no_temporary_file(copy_of: Callable[[str], Path]) -> None:
    wav = copy_of("quiet")
    loudness.master(wav, loudness.PODCAST)
    assert sorted(p.name for p in wav.parent.iterdir()) == ["quiet.wav"]
