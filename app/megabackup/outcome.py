"""How a step or a whole cycle ended, and the exit codes the command line gives for it. A leaf.

`Outcome` is a `str` enum: its values are the words the history's SQLite rows have always
held, so old history files read as they are, and a member compares equal to its word.
"""

from __future__ import annotations

from enum import Enum, IntEnum


class Outcome(str, Enum):
    """Steps end ok, warning, failed, skipped, not-needed, cancelled, held or away; cycles end
    ok, away, warning, failed or cancelled, and the history also says running or interrupted."""

    OK = "ok"
    WARNING = "warning"  # done, with something to look at (file errors, conflicts)
    FAILED = "failed"
    SKIPPED = "skipped"  # could not run in this cycle (a place missing, the sync's gates)
    NOT_NEEDED = "not-needed"  # a skip that is good news (the sync changed nothing there)
    CANCELLED = "cancelled"
    HELD = "held"  # a sync waiting for the person's OK (mass deletions)
    AWAY = "away"  # a step: a place it needs is away; a cycle: all the rest was done
    RUNNING = "running"  # history only: the cycle has not finished (or its process died)
    INTERRUPTED = "interrupted"  # history only: a running cycle whose process died

    @property
    def good(self) -> bool:
        """A step that did its job: its snapshot or sync exists."""
        return self in (Outcome.OK, Outcome.WARNING)

    @classmethod
    def read(cls, text: str) -> Outcome:
        """A word from the history; one this version does not know reads as failed, so a
        newer or damaged row is never taken for good news."""
        try:
            return cls(text)
        except ValueError:
            return cls.FAILED

    def __str__(self) -> str:
        return self.value


class ToolStatus(str, Enum):
    """How one run of a tool ended, in its own words, and the Outcome its step reports.

    Members are written `WORD = "word", Outcome.X`."""

    outcome: Outcome

    def __new__(cls, word: str, outcome: Outcome) -> ToolStatus:
        member = str.__new__(cls, word)
        member._value_ = word
        member.outcome = outcome
        return member

    def __str__(self) -> str:
        return self.value


class ExitCode(IntEnum):
    OK = 0  # all good
    WARNING = 1  # the cycle ran with warnings or conflicts, or a place was away
    USAGE = 2  # bad settings or usage
    FAILED = 3  # a step failed, or the cycle could not start

    @classmethod
    def of(cls, outcome: Outcome) -> ExitCode:
        if outcome is Outcome.OK:
            return cls.OK
        if outcome in (Outcome.WARNING, Outcome.AWAY):  # away is ordinary life, not a failure
            return cls.WARNING
        return cls.FAILED


class Resolution(str, Enum):
    """How a conflict (a file changed on both sides) was settled; both versions survive."""

    KEPT_BOTH = "kept-both"  # the newer in place, the other as a conflict copy beside it
    SKIPPED = "skipped"  # left alone on both sides

    @classmethod
    def read(cls, text: str) -> Resolution:
        try:
            return cls(text)
        except ValueError:
            return cls.SKIPPED  # unknown: say it still needs a look

    def __str__(self) -> str:
        return self.value
