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

if TYPE_CHECKING:
    from typer._click.exceptions import UsageError

    from narrator.preview import SegmentTable
    from narrator.render import RenderResult, RenderSettings
    from narrator.script import ScriptSource

# The engines the registry knows, for the help (narrator.engines is light to import).
_ENGINE_NAMES = ", ".join(ENGINES)

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
        help=f"Audio format: wav, mp3, ogg, opus, flac or m4a.  [default: {DEFAULT_FORMAT}]",
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


def _settings(options: dict[str, Any]) -> RenderSettings:
    """Settings from a command's options over the config file over the defaults.

    ``options`` are the command's parameters (its ``locals()``): each parameter
    named like a field of config.Overrides is a setting, so every command maps
    its options the same way and none can be forgotten.
    """
    from narrator import config as project_config

    fields = project_config.Overrides.__dataclass_fields__
    given = project_config.Overrides(**{k: v for k, v in options.items() if k in fields})
    project = project_config.load(options["script"], options["config"])
    return project_config.settings(project, given)


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


@app.command()
def render(
    script: ScriptArgument,
    out_dir: OutDirOption = None,
    audio_format: FormatOption = None,
    engine: EngineOption = None,
    voice: VoiceOption = None,
    rate: RateOption = None,
    sentence_pause_ms: SentencePauseOption = None,
    paragraph_pause_ms: ParagraphPauseOption = None,
    encoding: EncodingOption = None,
    speak_headings: HeadingsOption = None,
    config: ConfigOption = None,
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--name",
            "-n",
            help="Name the outputs <name>.* instead of after the script.  "
            "[default: the script's stem, 'stdin' for -]",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Render SCRIPT to OUT/<stem>.<format>, .srt, .vtt, .html, .json (and .chapters.txt).

    Example: narrator render talk.txt --format mp3 --engine espeak --rate 160

    Example: pbpaste | narrator render - --name episode-4
    """
    with _reported():
        from narrator.render import render as run

        settings = _settings(locals())
        source = _source(script, name)
        with _progress(enabled=not quiet and sys.stderr.isatty()) as progress:
            result = run(source, settings, progress)
        if not quiet:
            _summary(result)


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

        settings = _settings(locals())
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
    config: ConfigOption = None,
) -> None:
    """List SCRIPT's segments with their times, or hear some of them.

    Times are measured when OUT holds a render of this very text, estimated
    otherwise. With --segment the segments are synthesized with the render's
    settings into OUT/<stem>.segN.wav and played with ffplay, paplay or aplay
    (or the command in NARRATOR_PLAYER) when there is a sound device.

    Example: narrator preview talk.txt --segment 3-4
    """
    with _reported():
        from narrator.preview import (
            parse_selection,
            plan_segments,
            play,
            segment_table,
            speak_segments,
        )

        settings = _settings(locals())
        source = _source(script, None)
        planned = plan_segments(source, settings)
        if segment is None:
            _print_segments(segment_table(planned, settings.out_dir / f"{source.stem}.json"))
            return
        chosen = parse_selection(segment, len(planned.sentences), str(script))
        label = f"{chosen[0]}" if len(chosen) == 1 else f"{chosen[0]}-{chosen[-1]}"
        target = settings.out_dir / f"{source.stem}.seg{label}.wav"
        duration = speak_segments(planned, chosen, target)
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

    width = max(len(str(s.number)) for s in table.segments)
    for s in table.segments:
        times = f"{clock(s.start)}–{clock(s.end)}"
        text = s.text if len(s.text) <= 72 else s.text[:71] + "…"
        typer.echo(f"{s.number:>{width}}  {times:<15}  {text}")
    source = (
        f"measured in {table.manifest}" if table.measured else "estimated (no render of this text)"
    )
    typer.echo(f"times {source}")


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A callback that drives a progress bar on stderr, one bar per stage of the render."""
    bar: Any = None
    shown = ""

    def close() -> None:
        if bar is not None:
            bar.__exit__(None, None, None)

    def update(stage: str, done: int, total: int) -> None:
        nonlocal bar, shown
        if not enabled:
            return
        if stage != shown:
            close()
            bar = typer.progressbar(length=total, label=stage.capitalize(), file=sys.stderr)
            bar.__enter__()
            shown = stage
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        close()


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
    sys.exit(code or 0)
