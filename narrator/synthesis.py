"""The synthesis stage: the Plan's sentences as audio, from the clip cache or worker processes.

Sentences missing from the cache go to a pool of workers (``narrator.workers``),
each with its own engine; the stage hands every sentence back strictly in
script order, so the stitcher can write the programme as it goes.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from narrator import __version__
from narrator.cues import SpokenSpan
from narrator.engines import ENGINES, VoiceSettings
from narrator.errors import NarratorError
from narrator.lexicon import Lexicon, Respelled
from narrator.segment import CueLimits
from narrator.timeline import Word

if TYPE_CHECKING:
    from narrator.cache import ClipCache
    from narrator.plan import Plan, PlanSentence
    from narrator.synth import SentenceSpeaker, SpokenSentence

# Bumped whenever the entry's layout changes (2: each span's words). What narrator's
# own code makes of a sentence (trimming, cue cutting, an engine's word marks, the
# words fitted to their span) is in the key too, as a digest of the modules that do
# it: an edit of the break rules must not bring back cues cut by the old ones, even
# without a new version number.
CACHE_FORMAT = "sentence-2"
PROCESSING_MODULES = ("narrator.synth", "narrator.segment", "narrator.spoken", "narrator.cues")
# Fewer sentences to synthesize than this are spoken in-process: starting workers
# (each loads its engine) costs more than it saves.
POOL_MIN_SENTENCES = 8
# Sentences given out ahead of the one being stitched, per worker: a few seconds
# of audio each, so memory stays small whatever the script's length.
WINDOW_PER_WORKER = 4


@dataclass(frozen=True)
class SpeakerSpec:
    """What a worker needs to build a SentenceSpeaker; picklable and hashable."""

    voice: VoiceSettings
    limits: CueLimits
    lexicon: Lexicon


@dataclass(frozen=True)
class Heard:
    """One sentence of a Plan as audio, and whether it came from the cache."""

    sentence: PlanSentence
    spoken: SpokenSentence
    sample_rate: int
    cached: bool


def open_speaker(spec: SpeakerSpec) -> SentenceSpeaker:
    """A SentenceSpeaker with a freshly opened engine."""
    from narrator.engines import open_engine
    from narrator.stitch import conform
    from narrator.synth import SentenceSpeaker

    engine = open_engine(spec.voice)
    try:
        return SentenceSpeaker(engine, spec.voice.rate, spec.limits, conform, spec.lexicon)
    except BaseException:
        engine.close()
        raise


#: A worker's state: a speaker for each voice it was asked for, opened on first use.
Speakers = dict[SpeakerSpec, "SentenceSpeaker"]
#: A job: who speaks, the written sentence and its spoken form.
Job = tuple[SpeakerSpec, str, Respelled]
#: What a job gives back: the audio and its sample rate, or the error it met.
Outcome = tuple["SpokenSentence", int] | NarratorError


def no_speakers(_: None) -> Speakers:
    """A worker's state before its first job."""
    return {}


def close_speakers(speakers: Speakers) -> None:
    """Release every engine a worker opened."""
    for speaker in speakers.values():
        speaker.engine.close()


def speak_job(speakers: Speakers, job: Job) -> Outcome:
    """Speak one sentence; a NarratorError is returned, not raised, so the pool goes on."""
    spec, text, said = job
    try:
        if spec not in speakers:
            speakers[spec] = open_speaker(spec)
        speaker = speakers[spec]
        return speaker.speak(text, said), speaker.rate
    except NarratorError as exc:
        return exc


def sentence_key(fingerprint: str, sentence: PlanSentence, limits: CueLimits) -> str:
    """The cache key of a sentence: everything that changes its audio or its cues."""
    from narrator.cache import cache_key

    return cache_key(
        CACHE_FORMAT,
        __version__,
        processing_digest(),
        fingerprint,
        sentence.text,
        repr(sentence.said),
        repr(limits),
    )


@functools.cache
def processing_digest(modules: tuple[str, ...] = PROCESSING_MODULES) -> str:
    """A digest of the source of the modules that make a cached sentence; once a process.

    The engine modules count as well (their word marks become the cue cuts).
    """
    from narrator.cache import source_digest

    names = (*modules, *sorted({info.module for info in ENGINES.values()}))
    return source_digest(names)


def pack(spoken: SpokenSentence, rate: int) -> bytes:
    """A sentence's audio and spans as a cache payload."""
    header = json.dumps(
        {
            "rate": rate,
            "spoken": spoken.spoken,
            "spans": [
                [s.text, s.start, s.speech_end, [[w.text, w.start, w.end] for w in s.words]]
                for s in spoken.spans
            ],
        },
        ensure_ascii=False,
    ).encode()
    return len(header).to_bytes(4, "little") + header + spoken.pcm


def unpack(payload: bytes) -> tuple[SpokenSentence, int]:
    """The sentence a cache payload holds, and its sample rate; ValueError if malformed."""
    from narrator.synth import SpokenSentence

    size = int.from_bytes(payload[:4], "little")
    try:
        header = json.loads(payload[4 : 4 + size])
        spans = tuple(
            SpokenSpan(str(t), int(a), int(b), _words(ws))
            for t, a, b, ws in header["spans"]
        )
        spoken = SpokenSentence(payload[4 + size :], spans, str(header["spoken"]))
        return spoken, int(header["rate"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed cache entry: {exc}") from None


def _words(rows: Any) -> tuple[Word, ...]:
    return tuple(Word(str(text), int(start), int(end)) for text, start, end in rows)


def worker_count(engine: str, jobs: int | None) -> int:
    """How many worker processes an engine gets: ``jobs``, else one per core, capped."""
    wanted = jobs if jobs is not None else (os.cpu_count() or 1)
    cap = ENGINES[engine].max_jobs
    return max(1, min(wanted, cap) if cap is not None else wanted)


class Synthesis:
    """The audio of a batch of plans, sentence by sentence in script order, from one pool.

    Sentences found in ``cache`` are read from it (an entry that fails
    verification is synthesized again on the spot); the rest go to one pool of
    worker processes (``jobs``, default one per core, capped by each engine's
    registry entry; in-process when few) and are stored in the cache as they
    arrive. Take the plans' sentences with ``hear`` in plan order; a plan whose
    sentences are not all taken (its render failed) is skipped over. Close it
    when done: that stops the workers.
    """

    def __init__(
        self,
        work: Sequence[tuple[Plan, str]],
        cache: ClipCache | None,
        jobs: int | None = None,
    ) -> None:
        from narrator.workers import ordered_map

        self.work = work
        self.cache = cache
        self.keys = [
            [sentence_key(fingerprint, s, plan.settings.limits) for s in plan.sentences]
            for plan, fingerprint in work
        ]
        # A sentence said twice with the same voice is synthesized once: the second
        # time it is read from the cache (where the first was just stored).
        wanted: set[str] = set()
        self.missing = []
        for keys in self.keys:
            missing = []
            for k, key in enumerate(keys):
                if cache is None or (key not in wanted and not cache.contains(key)):
                    missing.append(k)
                    wanted.add(key)
            self.missing.append(missing)
        processes = min((worker_count(p.settings.voice.engine, jobs) for p, _ in work), default=1)
        if sum(len(m) for m in self.missing) < POOL_MIN_SENTENCES:
            processes = 1
        #: Worker processes used (1: in this process).
        self.processes = processes
        # Workers start at once: they open their engines while this process reads
        # what the cache has (all the first half, when resuming a killed render).
        self._results = ordered_map(
            no_speakers,
            None,
            speak_job,
            self._jobs(),
            processes,
            window=WINDOW_PER_WORKER * processes,
            teardown=close_speakers,
            start_now=processes > 1,
        )
        self._taken = [0] * len(work)
        self._broken: NarratorError | None = None
        self._at = 0
        self._local: Speakers = {}

    def _jobs(self) -> Iterator[Job]:
        for (plan, _), missing in zip(self.work, self.missing, strict=True):
            spec = _spec(plan)
            for k in missing:
                sentence = plan.sentences[k]
                yield spec, sentence.text, sentence.said

    def _next(self, index: int) -> Outcome:
        self._taken[index] += 1
        if self._broken is not None:
            raise self._broken
        try:
            return next(self._results)
        except NarratorError as exc:  # the pool itself failed (a worker died): no more results
            self._broken = exc
            raise

    def hear(self, index: int) -> Iterator[Heard]:
        """The sentences of plan ``index`` as audio, in order; raises the first NarratorError."""
        assert index >= self._at, "plans are heard in order"
        for earlier in range(self._at, index):
            # A plan whose render failed: its sentences still serve later renders.
            left = self.missing[earlier][self._taken[earlier] :]
            for k in left:
                self._store(self.keys[earlier][k], self._next(earlier))
        self._at = index
        plan, _ = self.work[index]
        missing = set(self.missing[index])
        for k, sentence in enumerate(plan.sentences):
            key = self.keys[index][k]
            if k in missing:
                outcome = self._next(index)
                if isinstance(outcome, NarratorError):
                    raise outcome
                self._store(key, outcome)
                yield Heard(sentence, *outcome, cached=False)
                continue
            assert self.cache is not None
            found = self._cached(key)
            if found is not None:
                yield Heard(sentence, *found, cached=True)
                continue
            # Gone or damaged since it was looked up: speak it here and now.
            outcome = speak_job(self._local, (_spec(plan), sentence.text, sentence.said))
            if isinstance(outcome, NarratorError):
                raise outcome
            self._store(key, outcome)
            yield Heard(sentence, *outcome, cached=False)

    def _store(self, key: str, outcome: Outcome) -> None:
        """Keep a sentence's audio in the cache; not an error, nor audio without speech."""
        if self.cache is None or isinstance(outcome, NarratorError) or not outcome[0].spans:
            return
        self.cache.put(key, pack(*outcome))

    def _cached(self, key: str) -> tuple[SpokenSentence, int] | None:
        assert self.cache is not None
        payload = self.cache.get(key)
        if payload is None:
            return None
        try:
            return unpack(payload)
        except ValueError:
            return None

    def close(self) -> None:
        """Stop the workers and release every engine opened here."""
        close = getattr(self._results, "close", None)
        if close is not None:
            close()
        close_speakers(self._local)
        self._local.clear()

    def __enter__(self) -> Synthesis:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _spec(plan: Plan) -> SpeakerSpec:
    settings = plan.settings
    return SpeakerSpec(settings.voice, settings.limits, settings.lexicon)
