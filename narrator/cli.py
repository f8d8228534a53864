"""The narrator command line: parses options, calls the core, turns errors into one line."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from narrator import __version__
from narrator.defaults import (
    DEFAULT_ENGINE,
    DEFAULT_FORMAT,
    DEFAULT_PARAGRAPH_PAUSE_MS,
    DEFAULT_RATE,
    DEFAULT_SENTENCE_PAUSE_MS,
)
from narrator.engines import ENGINES
from narrator.errors import ExitCode, NarratorError, Stopped
from narrator.formats import format_names

if TYPE_CHECKING:
    from typer._click.exceptions import UsageError

    from narrator.cache import ClipCache
    from narrator.config import Overrides
    from narrator.preview import SegmentTable
    from narrator.render import Progress, RenderResult, Update
    from narrator.script import ScriptSource
    from narrator.settings import RenderSettings

# The engines the registry knows, for the help (narrator.engines is light to import).
_ENGINE_NAMES = ", ".join(ENGINES)
#: The engines that report word times: what `align` can speak its reference with.
_TIMED_ENGINES = " or ".join(name for name, info in ENGINES.items() if info.word_timing)

app = typer.Typer(
    name="narrator",
    help="Turn a narration script into a timed voice-over and its subtitles, offline.",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"narrator: error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """Turn every failure into one line on stderr and an exit code; never a traceback."""
    try:
        yield
    except NarratorError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt as exc:
        raise _stopped(exc) from None
    except BrokenPipeError:
        raise  # the reader went away (| head): Typer exits quietly
    except Exception as exc:
        if os.environ.get("NARRATOR_DEBUG"):
            raise
        raise _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; NARRATOR_DEBUG=1 shows the traceback)",
            ExitCode.INTERNAL,
        ) from None


# The signal that is stopping narrator, until it has been reported.
_signalled: KeyboardInterrupt | None = None
# Signals that stop narrator as Ctrl-C does, with their exceptions.
_RAISES: dict[signal.Signals, KeyboardInterrupt] = {
    signal.SIGINT: KeyboardInterrupt(),
    signal.SIGTERM: Stopped("SIGTERM", ExitCode.TERMINATED),
    signal.SIGHUP: Stopped("SIGHUP", ExitCode.HANGUP),
}


_STOP_CODES = {ExitCode.INTERRUPTED, ExitCode.TERMINATED, ExitCode.HANGUP}


def _stopped(exc: KeyboardInterrupt) -> typer.Exit:
    global _signalled
    _signalled = None
    if isinstance(exc, Stopped):
        return _fail(f"stopped by {exc.name}; no half-written file was left", exc.exit_code)
    return _fail("interrupted; no half-written file was left", ExitCode.INTERRUPTED)


def _on_signal(number: int, frame: FrameType | None) -> None:
    """Raise the signal's exception once; later signals wait for its clean-up to finish."""
    global _signalled
    if _signalled is None:
        _signalled = _RAISES[signal.Signals(number)]
        raise _signalled


@contextlib.contextmanager
def _signals_stop() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise in the main thread, so clean-up runs as on Ctrl-C.

    A signal the caller ignores (nohup, a background job) stays ignored.
    """
    previous = {}
    for number in _RAISES:
        if signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, _on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _usage_line(exc: UsageError) -> str:
    """A Click usage error as one line: what is wrong, and where the help is."""
    from typer._click.exceptions import NoSuchOption

    if isinstance(exc, NoSuchOption):
        text = f"no such option '{exc.option_name}'"
        if exc.possibilities:
            text += f" (did you mean {' or '.join(repr(p) for p in sorted(exc.possibilities))}?)"
        dashed = [a for a in sys.argv[1:] if a.startswith(exc.option_name) and Path(a).exists()]
        if dashed:
            text += f"; to read a script named {dashed[0]!r}, put '--' before it"
    else:
        text = " ".join(exc.format_message().split()).rstrip(".")
        text = text[:1].lower() + text[1:]
    if exc.ctx is not None:
        text += f"; see '{exc.ctx.command_path} --help'"
    return text


def _version(value: bool) -> None:
    if value:
        typer.echo(f"narrator {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Turn a narration script into a timed voice-over and its subtitles, offline."""


# Options shared by the commands that read a script. None means "not given": the
# value then comes from narrator.toml, or else from the defaults shown in the help.
ScriptArgument = Annotated[
    Path,
    typer.Argument(
        help="The script: a UTF-8 (or legacy) text file, or - for standard input.",
        show_default=False,
    ),
]
StyleOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--subtitle-style",
        help="Subtitle house style: netflix (42 x 2 lines), bbc (37 x 2) or shorts (one "
        "line of about 20 characters, for vertical video).  [default: netflix]",
    ),
]
ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--config", "-c", help="Config file (default: narrator.toml beside SCRIPT)."),
]
OutDirOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--out-dir", "-o", help="Folder for the outputs.  [default: output]"),
]
FormatOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--format",
        "-f",
        help=f"Audio format: {format_names()}.  [default: {DEFAULT_FORMAT}]",
    ),
]
EngineOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help=f"Speech engine: {_ENGINE_NAMES}.  [default: {DEFAULT_ENGINE}]"),
]
VoiceOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help="Voice id (see 'narrator voices').  [default: the engine's]"),
]
RateOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(help=f"Speaking rate in words per minute (80-450).  [default: {DEFAULT_RATE}]"),
]
SentencePauseOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--sentence-pause",
        help=f"Silence between sentences, ms.  [default: {DEFAULT_SENTENCE_PAUSE_MS}]",
    ),
]
ParagraphPauseOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--paragraph-pause",
        help=f"Silence between paragraphs, ms.  [default: {DEFAULT_PARAGRAPH_PAUSE_MS}]",
    ),
]
EncodingOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help="Force the script's text encoding.  [default: detected]"),
]
HeadingsOption = Annotated[
    Optional[bool],  # noqa: UP045
    typer.Option(
        "--speak-headings/--no-speak-headings",
        help="Speak Markdown headings as well as marking chapters.  [default: no]",
        show_default=False,
    ),
]


def _settings(script: Path, config: Path | None, given: Overrides) -> RenderSettings:
    """Settings from a command's options over the config file over the defaults."""
    from narrator import config as project_config

    return project_config.settings(project_config.load(script, config), given)


def _source(script: Path, name: str | None) -> ScriptSource:
    """The script to read: a file, or standard input for '-', with the outputs' stem."""
    from narrator.errors import SettingError
    from narrator.script import STDIN, ScriptSource

    if name is not None and (not name.strip() or name != Path(name).name or name[0] == "."):
        raise SettingError(
            f"--name {name!r}: give a plain file name without a folder or a leading dot"
        )
    if script == STDIN:
        if sys.stdin.isatty():
            typer.echo(
                "narrator: reading the script from the terminal; end it with Ctrl-D", err=True
            )
        return ScriptSource.stdin(sys.stdin.buffer.read(), name)
    return ScriptSource.file(script, name)


JobsOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        help="Worker processes for synthesis.  [default: one per core; 1 for piper]",
    ),
]
CacheDirOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--cache-dir",
        help="Clip cache folder.  [default: $NARRATOR_CACHE_DIR, else the user cache dir]",
    ),
]
CacheLimitOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--cache-limit",
        help="Keep the clip cache under this size, e.g. 2GB, 500MB; 0 stores nothing.  "
        "[default: $NARRATOR_CACHE_LIMIT, else 2GB]",
    ),
]


@app.command()
def render(
    script: Annotated[
        list[Path],
        typer.Argument(
            help="The scripts: UTF-8 (or legacy) text files, or - for standard input.",
            show_default=False,
        ),
    ],
    out_dir: OutDirOption = None,
    audio_format: FormatOption = None,
    engine: EngineOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
    sentence_pause_ms: SentencePauseOption = None,
    paragraph_pause_ms: ParagraphPauseOption = None,
    encoding: EncodingOption = None,
    speak_headings: HeadingsOption = None,
    subtitle_style: StyleOption = None,
    config: ConfigOption = None,
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--name",
            "-n",
            help="Name the outputs <name>.* instead of after the script (one script only).  "
            "[default: the script's stem, 'stdin' for -]",
        ),
    ] = None,
    fps: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--fps",
            help="Time every cue to this video frame rate (23.976, 24, 25, 29.97, 30, 50 "
            "or 60), 2 frames apart.  [default: none: 80 ms apart]",
        ),
    ] = None,
    loudness: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--loudness",
            "-L",
            help="Master the audio: podcast (-16 LUFS, true peak -1 dBTP), youtube (-14 LUFS), "
            "audiobook (ACX: RMS -23 to -18 dB, peaks -3 dB, room tone), a number in LUFS, "
            "or off.  [default: off]",
        ),
    ] = None,
    title: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Title tag.  [default: the first heading, else the script's stem]"),
    ] = None,
    artist: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Artist tag: the narrator or author."),
    ] = None,
    album: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Album tag: the series, podcast or book."),
    ] = None,
    year: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Year tag."),
    ] = None,
    cover: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--cover",
            help="Cover art (JPEG, PNG or any image Pillow reads) for mp3, m4a and m4b; "
            "the picture of an mp4.  [default: mp4 shows a title card]",
        ),
    ] = None,
    burn_subtitles: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option(
            "--burn-subtitles/--soft-subtitles",
            help="mp4: draw the cues into the picture, instead of a subtitle track a player "
            "can turn off.  [default: soft]",
            show_default=False,
        ),
    ] = None,
    jobs: JobsOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Synthesize everything; read and store no clip.")
    ] = False,
    cache_limit: CacheLimitOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Render each SCRIPT to OUT/<stem>.<format>, .srt, .vtt, .html, .json (.chapters.txt, .ass).

    Sentences already synthesized with the same engine, voice and rate come
    from the clip cache, so a re-render after an edit, or after an interrupted
    render, only synthesizes what is new. Several scripts share one pool of
    workers; each is reported on its own line, and one that fails does not
    stop the others.

    Example: narrator render talk.txt --format mp3 --engine espeak --rate 160

    Example: narrator render episode.txt -f m4a --loudness podcast --artist "A. Writer"

    Example: narrator render explainer.txt -f mp4 --cover art.png --engine piper

    Example: narrator render chapter*.md --out-dir book

    Example: pbpaste | narrator render - --name episode-4
    """
    code = 0
    with _reported():
        from narrator.config import Overrides
        from narrator.errors import SettingError
        from narrator.render import render_all

        scripts = script
        if name is not None and len(scripts) > 1:
            raise SettingError("--name names one script's outputs: give one script with it")
        if title is not None and len(scripts) > 1:
            raise SettingError(
                "--title names one script's audio: give one script with it (each script's "
                "first heading is its title, or set title in a narrator.toml beside it)"
            )
        if sum(1 for s in scripts if str(s) == "-") > 1:
            raise SettingError("standard input (-) can be read once: give - at most once")
        given = Overrides(
            out_dir=out_dir,
            audio_format=audio_format,
            engine=engine,
            voice=voice,
            rate=rate,
            sentence_pause_ms=sentence_pause_ms,
            paragraph_pause_ms=paragraph_pause_ms,
            encoding=encoding,
            speak_headings=speak_headings,
            subtitle_style=subtitle_style,
            fps=fps,
            loudness=loudness,
            cover=cover,
            burn_subtitles=burn_subtitles,
            title=title,
            artist=artist,
            album=album,
            year=year,
        )
        clips = _cache(cache_dir, cache_limit)  # checks the limit even with --no-cache
        cache = None if no_cache else clips
        work = [(_source(one, name), _settings(one, config, given)) for one in scripts]
        clash = _clash(work)
        if clash is not None:
            raise SettingError(clash)
        with _progress(enabled=not quiet and sys.stderr.isatty()) as progress:
            outcomes = render_all(work, progress, cache, jobs)
        if cache is not None and cache.problem is not None:
            typer.echo(
                f"narrator: warning: clip cache not written: {cache.problem}; "
                "the render is complete, but the next one will synthesize again",
                err=True,
            )
        if len(outcomes) == 1:
            (outcome,) = outcomes
            if isinstance(outcome, Exception):
                raise outcome
            if not quiet:
                _summary(outcome)
            return
        failed = [o for o in outcomes if isinstance(o, Exception)]
        for (source, _), outcome in zip(work, outcomes, strict=True):
            if isinstance(outcome, Exception):
                said = str(outcome)
                where = "" if said.startswith(source.label) else f"{source.label}: "
                typer.echo(f"narrator: error: {where}{said}", err=True)
            elif not quiet:
                mastered = ""
                if outcome.loudness is not None:
                    verdict = "pass" if outcome.loudness.passed else "FAIL"
                    mastered = f", loudness {outcome.loudness.preset}: {verdict}"
                typer.echo(
                    f"rendered   {outcome.audio}  {_clock(outcome.duration)}, "
                    f"{outcome.synthesized} synthesized, {outcome.cached} from the cache"
                    f"{mastered}"
                )
        if not quiet:
            from narrator.summary import no_karaoke

            # Once for the batch: the engine is what decides it.
            notes = {no_karaoke(o) for o in outcomes if not isinstance(o, Exception)}
            for note in sorted(n for n in notes if n is not None):
                typer.echo(note)
        if failed:
            codes = {getattr(f, "exit_code", ExitCode.INTERNAL) for f in failed}
            typer.echo(
                f"narrator: error: {len(failed)} of {len(outcomes)} scripts failed (see above)",
                err=True,
            )
            code = codes.pop() if len(codes) == 1 else ExitCode.BATCH
    if code:
        raise typer.Exit(code)


def _clash(work: list[tuple[ScriptSource, RenderSettings]]) -> str | None:
    """The message for two scripts of a batch that would write the same outputs, if any."""
    seen: dict[tuple[str, Path], str] = {}
    for source, settings in work:
        key = (source.stem, settings.out_dir.resolve())
        if key in seen:
            return (
                f"{seen[key]} and {source.label} would both write {settings.out_dir}/"
                f"{source.stem}.*: render them into different --out-dir folders"
            )
        seen[key] = source.label
    return None


def _clock(seconds: float) -> str:
    from narrator.summary import duration

    return duration(seconds)


def _cache_folder(folder: Path | None) -> Path:
    """The clip cache's folder: ``folder``, else the default; SettingError if it is a file."""
    from narrator.cache import default_dir
    from narrator.errors import SettingError

    chosen = folder if folder is not None else default_dir()
    if chosen.exists() and not chosen.is_dir():
        raise SettingError(f"clip cache {chosen} is a file: give a folder with --cache-dir")
    return chosen


def _cache(folder: Path | None, limit: str | None) -> ClipCache:
    """The clip cache in ``folder`` (else the default) under ``limit`` (else the default)."""
    from narrator.cache import CACHE_LIMIT_ENV, DEFAULT_LIMIT, ClipCache, default_dir, parse_size

    given = limit if limit is not None else os.environ.get(CACHE_LIMIT_ENV) or None
    size = parse_size(given) if given is not None else DEFAULT_LIMIT
    return ClipCache(folder if folder is not None else default_dir(), size)


@app.command()
def align(
    script: ScriptArgument,
    recording: Annotated[
        Path,
        typer.Argument(
            help="The narrator's recording of it: any file ffmpeg reads (wav, mp3, m4a, "
            "ogg, flac, a video's sound), any rate, mono or stereo.",
            show_default=False,
        ),
    ],
    out_dir: OutDirOption = None,
    audio_format: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--format",
            "-f",
            help=f"Write the recording as {format_names()}.  [default: copy it as it is, "
            "or WAV when narrator does not write its format]",
        ),
    ] = None,
    engine: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help=f"The engine that speaks the script to align against: {_TIMED_ENGINES}.  "
            "[default: narrator.toml's engine if it reports word times, else espeak]"
        ),
    ] = None,
    subtitle_style: StyleOption = None,
    fps: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--fps", help="Time every cue to this video frame rate (as for render)."),
    ] = None,
    encoding: EncodingOption = None,
    config: ConfigOption = None,
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--name", "-n", help="Name the outputs <name>.*.  [default: the script's]"),
    ] = None,
    title: Annotated[Optional[str], typer.Option(help="Title tag.")] = None,  # noqa: UP045
    artist: Annotated[Optional[str], typer.Option(help="Artist tag.")] = None,  # noqa: UP045
    jobs: JobsOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Synthesize the reference; use no clip cache.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Time the script to your own RECORDING: the same outputs as render, from your voice.

    The script is read as render reads it, spoken by espeak (or piper) as a
    reference, and the reference is aligned to the recording; every cue, word
    and chapter is timed from the recording. The audio output is the recording
    itself, copied or re-encoded, never re-timed.

    Example: narrator align talk.txt talk-take3.m4a

    Example: narrator align chapter1.md chapter1.flac --format mp3 -o book
    """
    with _reported():
        from dataclasses import replace

        from narrator.aligned import align_recording
        from narrator.config import Overrides
        from narrator.engines import VoiceSettings

        given = Overrides(
            out_dir=out_dir,
            audio_format=audio_format,
            engine=engine,
            encoding=encoding,
            subtitle_style=subtitle_style,
            fps=fps,
            title=title,
            artist=artist,
        )
        settings = _settings(script, config, given)
        if engine is None and not ENGINES[settings.voice.engine].word_timing:
            # The default engine (or narrator.toml's) reports no word times: espeak
            # speaks the reference, with its own default voice and rate.
            settings = replace(settings, voice=VoiceSettings("espeak"))
        with _progress(enabled=not quiet and sys.stderr.isatty()) as progress:
            aligned = align_recording(
                _source(script, name),
                recording,
                settings,
                keep_format=audio_format is None,
                progress=progress,
                cache=None if no_cache else _cache(cache_dir, None),
                jobs=jobs,
            )
        if not quiet:
            _summary(aligned.result)
            sentences = len(aligned.result.timeline.sentences)
            typer.echo(
                f"aligned    {sentences} sentences to {recording.name}, "
                f"lowest confidence {aligned.weakest:.2f}"
            )
            for start, end in aligned.unsure:
                typer.echo(
                    f"unsure     {_clock(start)} to {_clock(end)}: check these cues by ear"
                )


@app.command()
def check(
    script: ScriptArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    engine: EngineOption = None,
    rate: RateOption = None,
    sentence_pause_ms: SentencePauseOption = None,
    paragraph_pause_ms: ParagraphPauseOption = None,
    encoding: EncodingOption = None,
    speak_headings: HeadingsOption = None,
    subtitle_style: StyleOption = None,
    config: ConfigOption = None,
) -> None:
    """Show what SCRIPT would say, without synthesizing anything.

    Prints each paragraph's sentences and cues, an estimated duration, and every
    line that cleaning dropped or changed, with its line number and rule. Exits
    non-zero when nothing would be spoken.

    Example: narrator check talk.txt --json
    """
    with _reported():
        import json

        from narrator.check import as_data, as_text, inspect
        from narrator.config import Overrides

        given = Overrides(
            engine=engine,
            rate=rate,
            sentence_pause_ms=sentence_pause_ms,
            paragraph_pause_ms=paragraph_pause_ms,
            encoding=encoding,
            speak_headings=speak_headings,
            subtitle_style=subtitle_style,
        )
        settings = _settings(script, config, given)
        inspection = inspect(_source(script, None), settings)
        if as_json:
            typer.echo(json.dumps(as_data(inspection), ensure_ascii=False, indent=2))
        else:
            typer.echo(as_text(inspection), nl=False)


@app.command()
def preview(
    script: ScriptArgument,
    segment: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--segment", "-s", help="Speak segment N, or N-M, instead of listing."),
    ] = None,
    out_dir: OutDirOption = None,
    engine: EngineOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
    sentence_pause_ms: SentencePauseOption = None,
    paragraph_pause_ms: ParagraphPauseOption = None,
    encoding: EncodingOption = None,
    speak_headings: HeadingsOption = None,
    subtitle_style: StyleOption = None,
    config: ConfigOption = None,
    cache_dir: CacheDirOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Synthesize the segments; use no clip cache.")
    ] = False,
) -> None:
    """List SCRIPT's segments with their times, or hear some of them.

    Times are measured when OUT holds a render of this very text, estimated
    otherwise. With --segment the segments are taken from the clip cache, or
    synthesized, with the render's settings into OUT/<stem>.segN.wav and played
    with ffplay, paplay or aplay (or the command in NARRATOR_PLAYER) when there
    is a sound device.

    Example: narrator preview talk.txt --segment 3-4
    """
    with _reported():
        from narrator.config import Overrides
        from narrator.plan import read_plan
        from narrator.preview import parse_selection, play, segment_table, speak_segments

        given = Overrides(
            out_dir=out_dir,
            engine=engine,
            voice=voice,
            rate=rate,
            sentence_pause_ms=sentence_pause_ms,
            paragraph_pause_ms=paragraph_pause_ms,
            encoding=encoding,
            speak_headings=speak_headings,
            subtitle_style=subtitle_style,
        )
        settings = _settings(script, config, given)
        source = _source(script, None)
        plan = read_plan(source, settings)
        if segment is None:
            _print_segments(segment_table(plan, settings.out_dir / f"{source.stem}.json"))
            return
        chosen = parse_selection(segment, len(plan.sentences), str(script))
        label = f"{chosen[0]}" if len(chosen) == 1 else f"{chosen[0]}-{chosen[-1]}"
        target = settings.out_dir / f"{source.stem}.seg{label}.wav"
        cache = None if no_cache else _cache(cache_dir, None)
        duration = speak_segments(plan, chosen, target, cache)
        if play(target):
            typer.echo(f"played {target} ({duration:.1f} s)")
        else:
            typer.echo(f"wrote {target} ({duration:.1f} s)")
            typer.echo(
                "narrator: no sound device or player here (ffplay, paplay, aplay, or set "
                "NARRATOR_PLAYER); open the file in any player",
                err=True,
            )


def _print_segments(table: SegmentTable) -> None:
    def clock(seconds: float) -> str:
        minutes, rest = divmod(seconds, 60)
        return f"{int(minutes)}:{rest:04.1f}"

    timeline = table.timeline
    width = max(len(str(s.segment)) for s in timeline.sentences)
    for s in timeline.sentences:
        times = f"{clock(timeline.seconds(s.start))}–{clock(timeline.seconds(s.end))}"
        text = s.text if len(s.text) <= 72 else s.text[:71] + "…"
        typer.echo(f"{s.segment:>{width}}  {times:<15}  {text}")
    source = (
        f"measured in {table.manifest}" if table.measured else "estimated (no render of this text)"
    )
    typer.echo(f"times {source}")


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    """A callback that shows the render's progress on stderr with rich; None when disabled.

    One line per script (sentences done, how many came from the cache, elapsed
    time and an estimate of the time left), and one for the whole batch when
    there are several scripts.
    """
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bars

    bars = Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[cached]} cached"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    tasks: dict[int, Any] = {}  # by the script's place in the batch; -1: all of them

    def update(news: Update) -> None:
        if news.batch_total != news.total and -1 not in tasks:
            tasks[-1] = bars.add_task("all scripts", total=news.batch_total, cached=0)
        task = tasks.get(news.number)
        if task is None:
            task = tasks[news.number] = bars.add_task(news.script, total=news.total, cached=0)
        if news.stage == "synthesizing":
            bars.update(task, completed=news.done, cached=news.cached, description=news.script)
            if -1 in tasks:
                bars.update(tasks[-1], completed=news.batch_done)
        else:
            bars.update(task, description=f"{news.script}: {news.stage}")

    with bars:
        yield update


def _summary(result: RenderResult) -> None:
    from narrator.summary import summary_lines

    for line in summary_lines(result):
        typer.echo(line)


@app.command()
def voices(
    engine: Annotated[str, typer.Option(help=f"Speech engine: {_ENGINE_NAMES}.")] = DEFAULT_ENGINE,
) -> None:
    """List the voice ids an engine offers (id, language, name).

    Example: narrator voices --engine espeak
    """
    with _reported():
        from narrator.engines import VoiceSettings, list_voices

        settings = VoiceSettings(engine=engine)
        for voice in list_voices(settings.engine):
            typer.echo(f"{voice.id}\t{voice.language}\t{voice.name}")


cache_app = typer.Typer(
    help="Show or empty the clip cache (synthesized sentences reused by later renders).",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOption = None, cache_limit: CacheLimitOption = None) -> None:
    """Show where the clip cache is, how many sentences it holds, and its size and limit.

    Example: narrator cache info
    """
    with _reported():
        from narrator.cache import format_size

        found = _cache(_cache_folder(cache_dir), cache_limit).info()
        typer.echo(f"folder   {found.folder}")
        typer.echo(f"entries  {found.entries}")
        typer.echo(f"size     {format_size(found.size_bytes)} of {format_size(found.limit)}")


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOption = None) -> None:
    """Delete every clip in the cache; the next render synthesizes everything again.

    Example: narrator cache clear
    """
    with _reported():
        from narrator.cache import ClipCache
        from narrator.summary import plural

        clips = ClipCache(_cache_folder(cache_dir))
        removed = clips.clear()
        typer.echo(f"removed {plural(removed, 'clip')} from {clips.folder}")


def main() -> None:
    """Console entry point: every failure is one line on stderr and an exit code."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    with _signals_stop():
        try:
            code = app(prog_name="narrator", standalone_mode=False)
        except NoArgsIsHelpError as exc:
            exc.show()  # plain 'narrator': the help
            code = exc.exit_code
        except UsageError as exc:
            typer.echo(f"narrator: error: {_usage_line(exc)}", err=True)
            code = exc.exit_code
        except ClickException as exc:
            typer.echo(f"narrator: error: {' '.join(exc.format_message().split())}", err=True)
            code = exc.exit_code
        except KeyboardInterrupt as exc:
            code = _stopped(exc).exit_code
        if _signalled is not None:  # arrived outside a command, where Typer took it
            code = _stopped(_signalled).exit_code
    if code in _STOP_CODES:
        # Stopped, cleaned up and said so: leave now. Under load the interpreter's own
        # end turned the exit into a death by SIGINT (-2) one run in five, after the
        # message, with no traceback to say why.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code or 0)
