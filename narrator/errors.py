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
    DISK_FULL = 8
    BATCH = 9  # several scripts of one render failed, for different reasons
    HANGUP = 129  # 128 + SIGHUP: the terminal went away
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
    TERMINATED = 143  # 128 + SIGTERM: kill, systemd, a CI timeout


class NarratorError(Exception):
    """Base class of every error narrator reports to its user.

    The message is one line: what is wrong, where, and what to do about it.
    """

    exit_code: ExitCode = ExitCode.INTERNAL


class ScriptError(NarratorError):
    """The script cannot be read or has nothing to say."""

    exit_code = ExitCode.BAD_INPUT


class RecordingError(NarratorError):
    """A recording to align cannot be read, or does not match its script."""

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


class DiskFullError(OutputError):
    """The disk (or the user's quota) filled up while writing outputs."""

    exit_code = ExitCode.DISK_FULL


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: narrator stops as it does on Ctrl-C.

    A KeyboardInterrupt, not a NarratorError, so that it passes every ``except
    Exception`` and runs the same clean-up as Ctrl-C on its way out.
    """

    def __init__(self, name: str, exit_code: ExitCode) -> None:
        super().__init__(name)
        self.name = name
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type[Stopped], tuple[str, ExitCode], dict[str, object]]:
        # So that it crosses from a worker process unchanged, notes and all.
        return (type(self), (self.name, self.exit_code), self.__dict__)
