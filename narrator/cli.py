"""The narrator command line: parses options, calls the core, turns errors into one line."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
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
from narrator.errors import ExitCode, NarratorError

if TYPE_CHECKING:
    from narrator.render import RenderResult

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
    except KeyboardInterrupt:
        raise _fail("interrupted; nothing was written", ExitCode.INTERRUPTED) from None
    except Exception as exc:
        if os.environ.get("NARRATOR_DEBUG"):
            raise
        raise _fail(
            f"internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; NARRATOR_DEBUG=1 shows the traceback)",
            ExitCode.INTERNAL,
        ) from None


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


@app.command()
def render(
    script: Annotated[Path, typer.Argument(help="The script: a UTF-8 (or legacy) text file.")],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-o", help="Folder for the outputs.")
    ] = Path("output"),
    audio_format: Annotated[
        str, typer.Option("--format", "-f", help="Audio format: wav, mp3, ogg, opus, flac or m4a.")
    ] = DEFAULT_FORMAT,
    engine: Annotated[str, typer.Option(help="Speech engine: pyttsx3 or espeak.")] = DEFAULT_ENGINE,
    voice: Annotated[
        Optional[str], typer.Option(help="Voice id (see 'narrator voices').")  # noqa: UP045
    ] = None,
    rate: Annotated[
        int, typer.Option(help="Speaking rate in words per minute (80-450).")
    ] = DEFAULT_RATE,
    sentence_pause: Annotated[
        int, typer.Option(help="Silence between sentences, in ms.")
    ] = DEFAULT_SENTENCE_PAUSE_MS,
    paragraph_pause: Annotated[
        int, typer.Option(help="Silence between paragraphs, in ms.")
    ] = DEFAULT_PARAGRAPH_PAUSE_MS,
    encoding: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Force the script's text encoding (default: detected)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
) -> None:
    """Render SCRIPT to OUT/<stem>.<format>, OUT/<stem>.srt and OUT/<stem>.json.

    Example: narrator render talk.txt --format mp3 --engine espeak --rate 160
    """
    with _reported():
        from narrator.engines import VoiceSettings
        from narrator.render import RenderSettings
        from narrator.render import render as run

        settings = RenderSettings(
            out_dir=out_dir,
            audio_format=audio_format.lower(),
            voice=VoiceSettings(engine=engine, voice=voice, rate=rate),
            sentence_pause_ms=sentence_pause,
            paragraph_pause_ms=paragraph_pause,
            encoding=encoding,
        )
        with _progress(enabled=not quiet and sys.stderr.isatty()) as progress:
            result = run(script, settings, progress)
        if not quiet:
            _summary(result)


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A callback that drives a progress bar on stderr, created once the total is known."""
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if not enabled:
            return
        if bar is None:
            bar = typer.progressbar(length=total, label="Synthesizing", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _summary(result: RenderResult) -> None:
    minutes, secs = divmod(result.duration, 60)
    typer.echo(f"audio      {result.audio}  ({int(minutes)}:{secs:06.3f})")
    typer.echo(f"subtitles  {result.subtitles}  ({len(result.cues)} cues)")
    typer.echo(f"manifest   {result.manifest}")
    if result.script.dropped:
        typer.echo(f"dropped    {len(result.script.dropped)} line(s): see the manifest")


@app.command()
def voices(
    engine: Annotated[str, typer.Option(help="Speech engine: pyttsx3 or espeak.")] = DEFAULT_ENGINE,
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
    """Console entry point."""
    app(prog_name="narrator")
