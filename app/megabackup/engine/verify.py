"""Verification: check each repository's mirror against the SHA1 sums rdiff-backup recorded.

`rdiff-backup verify REPO` exits 4 and names each damaged file (`Computed SHA1 digest of file
<path> ... doesn't match`); it exits 8 when some files have no recorded digest. A repository
whose last backup was interrupted (two current_mirror markers) is not verified: rdiff-backup
would compare a half-written mirror, and the next backup repairs it anyway.

The scheduled verify (verify.every_days) runs after a cycle, under the cycle's lock; `is_due`
and the last-run record below tell the caller when.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from megabackup.files import read_stamp, write_stamp
from megabackup.locations import AppPaths
from megabackup.tools import rdiff
from megabackup.tools.runner import CancelToken, Runner

OK, DAMAGED, NEEDS_REPAIR, UNREADABLE, MISSING, CANCELLED = (
    "ok", "damaged", "needs-repair", "unreadable", "missing", "cancelled"
)  # fmt: skip
STAMP = "verify"
LAST_RUN_FILE = f"{STAMP}.json"
DAY = 86400


@dataclass(frozen=True)
class VerifyReport:
    repository: Path
    status: str  # ok | damaged | needs-repair | unreadable | missing | cancelled
    damaged: tuple[str, ...] = ()  # paths relative to the repository
    unchecked: int = 0  # files without a recorded digest (could not be compared)
    message: str = ""

    @property
    def problem(self) -> bool:
        """Something the person should hear about (a missing repository is not)."""
        return self.status in (DAMAGED, NEEDS_REPAIR, UNREADABLE)

    def describe(self) -> str:
        if self.status == OK:
            extra = f" ({self.unchecked} file(s) carry no checksum)" if self.unchecked else ""
            return f"{self.repository}: all files verified{extra}"
        if self.status == DAMAGED:
            shown = ", ".join(self.damaged[:10]) + (" ..." if len(self.damaged) > 10 else "")
            return (
                f"{self.repository}: {len(self.damaged)} damaged file(s): {shown}. The files "
                "on the desktop and the server are not affected, but these copies in the backup "
                "(and older snapshots of them) may not restore correctly; the disk may be failing"
            )
        return f"{self.repository}: {self.message}"


@dataclass
class VerifySummary:
    reports: list[VerifyReport] = field(default_factory=list)

    @property
    def damaged(self) -> list[VerifyReport]:
        return [r for r in self.reports if r.status == DAMAGED]

    @property
    def problems(self) -> list[VerifyReport]:
        return [r for r in self.reports if r.problem]

    def summary(self) -> str:
        """One line for a notification: what is damaged where, or that all is well."""
        if not self.problems:
            checked = sum(r.status == OK for r in self.reports)
            return f"all {checked} backup(s) verified, no damage found"
        return "; ".join(r.describe() for r in self.problems)


def verify_repository(
    repository: Path,
    runner: Runner,
    prefix: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
) -> VerifyReport:
    """Check one repository's newest mirror; never raises for a bad repository."""
    state = rdiff.inspect(repository)
    if not state.exists:
        if repository.exists() and any(repository.iterdir()):
            return VerifyReport(repository, UNREADABLE, message="holds no rdiff-backup data")
        return VerifyReport(repository, MISSING, message="no snapshot taken yet")
    if state.interrupted_first_backup:
        return VerifyReport(
            repository, NEEDS_REPAIR, message="its first backup was interrupted; the next "
            "backup starts it over"
        )  # fmt: skip
    if state.interrupted_backup:
        return VerifyReport(
            repository, NEEDS_REPAIR, message="its last backup was interrupted and must be "
            "rolled back before it can be verified; the next backup does that"
        )  # fmt: skip
    try:
        tool = rdiff.Rdiff(runner, prefix or rdiff.locate())
    except rdiff.RdiffMissing as exc:
        return VerifyReport(repository, UNREADABLE, message=str(exc))
    checked = tool.verify(repository, cancel)
    if checked.cancelled:
        return VerifyReport(repository, CANCELLED, message="cancelled")
    if checked.damaged:
        return VerifyReport(repository, DAMAGED, checked.damaged, checked.unchecked)
    if checked.failure:
        message = f"could not be verified: {checked.failure}"
        return VerifyReport(repository, UNREADABLE, message=message)
    unchecked = checked.unchecked
    return VerifyReport(repository, OK, unchecked=unchecked)


def verify_all(
    repositories: Sequence[Path],
    runner: Runner,
    prefix: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
) -> VerifySummary:
    summary = VerifySummary()
    for repository in repositories:
        if cancel is not None and cancel.cancelled:
            break
        summary.reports.append(verify_repository(repository, runner, prefix, cancel))
    return summary


# ---------------------------------------------------------------------------
# When the scheduled verify is due


def is_due(last_run: float | None, now: float, every_days: float) -> bool:
    """every_days 0 turns the scheduled verify off; a clock set back makes it due again."""
    if every_days <= 0:
        return False
    if last_run is None or last_run > now:
        return True
    return now - last_run >= every_days * DAY


def last_run(paths: AppPaths) -> float | None:
    return read_stamp(paths.root, STAMP)


def record_run(paths: AppPaths, when: float | None = None, clock: Callable[[], float] = time.time):
    """Remember when a verify finished."""
    write_stamp(paths.root, STAMP, clock() if when is None else when)
