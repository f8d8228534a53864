"""The one exception tree of narrator and the exit codes the CLI maps it to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; a script can branch on them."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    BAD_INPUT = 3
    BAD_SETTING = 4
    MISSING_TOOL = 5
    SYNTHESIS = 6
    OUTPUT = 7
    INTERRUPTED = 130


class NarratorError(Exception):
    """Base class of every error narrator reports to its user.

    The message is one line: what is wrong, where, and what to do about it.
    """

    exit_code: ExitCode = ExitCode.INTERNAL


class ScriptError(NarratorError):
    """The script cannot be read or has nothing to say."""

    exit_code = ExitCode.BAD_INPUT


class SettingError(NarratorError):
    """An option or setting has a value narrator cannot use."""

    exit_code = ExitCode.BAD_SETTING


class MissingToolError(NarratorError):
    """A program or library narrator needs is not installed."""

    exit_code = ExitCode.MISSING_TOOL


class SynthesisError(NarratorError):
    """The speech engine failed to produce usable audio for a segment."""

    exit_code = ExitCode.SYNTHESIS


class OutputError(NarratorError):
    """An output file could not be written or encoded."""

    exit_code = ExitCode.OUTPUT
