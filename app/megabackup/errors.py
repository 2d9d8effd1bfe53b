"""The one base of every error MegaBackup expects and explains. A leaf.

Each error carries the exit code the command line gives for it and a message in plain words,
so the command line maps one type to one line on stderr and never shows a traceback for it.
"""

from __future__ import annotations

from megabackup.outcome import ExitCode


class MegaBackupError(Exception):
    """An expected failure with a plain message; `exit_code` says how the command line ends."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        """The whole message, as the person should read it (may span lines)."""
        return str(self)

    @property
    def one_line(self) -> str:
        text = str(self).strip()
        return text.splitlines()[0] if text else self.__class__.__name__


class UsageError(MegaBackupError):
    """Wrong use of a command, or a request that cannot be met as asked."""

    exit_code = ExitCode.USAGE
