"""The Timeline: sentences, cues and chapters where they are heard, in samples, with provenance.

Synthesis (or, later, alignment of a recording) makes one; every writer reads
one and nothing else. Times are integer sample offsets into the programme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from narrator.lexicon import Entry
from narrator.script import AlteredLine, Chapter, DroppedLine


@dataclass(frozen=True)
class Word:
    """A written word (or words said as a whole) where it is heard: from its onset to the next's."""

    text: str
    start: int
    end: int

    def shifted(self, offset: int) -> Word:
        """The same word ``offset`` samples later."""
        return Word(self.text, self.start + offset, self.end + offset)


@dataclass(frozen=True)
class Cue:
    """A subtitle cue: its number, text, line layout and display window in samples."""

    index: int
    text: str
    start: int
    end: int
    #: The text as shown: one or two lines.
    lines: tuple[str, ...] = ()
    #: Its words, strictly increasing and inside the window, their texts joined by
    #: spaces the cue's text; empty when the engine gives no word timing.
    words: tuple[Word, ...] = ()

    @property
    def shown(self) -> str:
        """The cue's lines joined by newlines (its text when it has no layout)."""
        return "\n".join(self.lines) if self.lines else self.text

    def shown_words(self) -> tuple[tuple[str, str], ...]:
        """Each word as shown, with what follows it: a space, a line break, or nothing.

        A word said as a whole may hold a line break. One line when the layout is
        not the text broken at spaces; the words' own text when they do not join
        into the cue's (a hand-edited manifest).
        """
        shown, joined = self.shown, " ".join(w.text for w in self.words)
        if shown.replace("\n", " ") != self.text or joined != self.text:
            shown = joined
        pieces = []
        at = 0
        for word in self.words:
            after = at + len(word.text)
            pieces.append((shown[at:after], shown[after : after + 1]))
            at = after + 1
        return tuple(pieces)


@dataclass(frozen=True)
class TimedSentence:
    """A sentence where it is heard: first and one-past-last sample of its speech."""

    segment: int
    text: str
    #: What the engine was given (pieces spoken separately are joined by a space).
    spoken: str
    start: int
    end: int
    cues: tuple[Cue, ...]
    #: How surely a recording's alignment placed it, 0 to 1; None when synthesized.
    confidence: float | None = None


@dataclass(frozen=True)
class TimedParagraph:
    """A paragraph: its first line in the source, its span, and its sentences."""

    line: int
    start: int
    end: int
    sentences: tuple[TimedSentence, ...]


@dataclass(frozen=True)
class TimedChapter:
    """A chapter mark: its title, source line and start in samples."""

    title: str
    line: int
    start: int


@dataclass(frozen=True)
class Provenance:
    """How the audio came to be: which engine, voice and settings spoke it."""

    engine: str
    voice: str | None
    rate_wpm: int
    fingerprint: str
    sentence_pause_ms: int
    paragraph_pause_ms: int
    #: The pronunciation lexicon in force.
    lexicon: tuple[Entry, ...] = ()
    #: The video frame rate the cues are timed to (as --fps spells it), if any.
    fps: str | None = None
    #: The subtitle style's name and the limits it used (max_line, max_cps, ...).
    style: str = "netflix"
    limits: tuple[tuple[str, float], ...] = ()
    #: The recording the times come from (``narrator align``); the engine, voice and
    #: rate are then those of the reference it was aligned against. None: synthesized.
    recording: str | None = None
    #: Stretches of the recording, in samples, where the alignment is unsure.
    unsure: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Source:
    """The script the timeline speaks: its name, encoding, and what cleaning left out."""

    file: str
    encoding: str
    dropped: tuple[DroppedLine, ...] = ()
    altered: tuple[AlteredLine, ...] = ()


@dataclass(frozen=True)
class Timeline:
    """Everything a writer needs: every time in samples at ``sample_rate``."""

    sample_rate: int
    samples: int
    paragraphs: tuple[TimedParagraph, ...]
    chapters: tuple[TimedChapter, ...]
    provenance: Provenance
    source: Source

    @property
    def duration(self) -> float:
        """Exact length of the audio in seconds."""
        return self.samples / self.sample_rate

    @property
    def sentences(self) -> tuple[TimedSentence, ...]:
        """All sentences in order."""
        return tuple(s for p in self.paragraphs for s in p.sentences)

    @property
    def cues(self) -> tuple[Cue, ...]:
        """All cues in order."""
        return tuple(c for p in self.paragraphs for s in p.sentences for c in s.cues)

    def seconds(self, samples: int) -> float:
        """A sample offset of this timeline in seconds, to the millisecond."""
        return seconds(samples, self.sample_rate)


def chapter_marks(
    chapters: Sequence[Chapter], paragraphs: Sequence[TimedParagraph], end: int
) -> tuple[TimedChapter, ...]:
    """Each heading at the start of the paragraph it opens; at ``end`` if none follows."""
    return tuple(
        TimedChapter(c.title, c.line, paragraphs[c.paragraph].start)
        if c.paragraph < len(paragraphs)
        else TimedChapter(c.title, c.line, end)
        for c in chapters
    )


def clock(seconds_total: float) -> str:
    """A YouTube chapter time: M:SS, or H:MM:SS from an hour on (whole seconds, rounded down)."""
    whole = int(seconds_total)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def seconds(samples: int, rate: int) -> float:
    """Samples as seconds to the millisecond, rounded exactly as ``milliseconds``."""
    return milliseconds(samples, rate) / 1000


def milliseconds(samples: int, rate: int) -> int:
    """Samples as whole milliseconds, rounded half up so order is preserved."""
    return (samples * 1000 * 2 + rate) // (2 * rate)
