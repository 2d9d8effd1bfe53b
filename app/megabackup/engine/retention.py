"""Retention: drop snapshots older than retention.keep_days, and the oldest ones when a target
runs short of space; never the newest mirror (rdiff-backup cannot remove it, and we never ask).

Two rules, in this order, per repository:
1. age: `remove increments --older-than <then - keep_days>`, where "then" is now or, if that is
   earlier, the repository's newest snapshot (a clock that jumped ahead cannot age everything
   at once; the cycle never runs retention on a clock in doubt, engine/clocks.py); rc 2 means
   there was nothing to remove, which is not an error.
2. space: while a target's free space is below retention.min_free_percent, remove the oldest
   session of the repositories on that disk, one at a time, until there is room or only the
   mirrors are left (then the report says the disk is still short of space).

The clock and the disk-usage function are injectable: tests date backups in the past
(rdiff-backup --current-time) and simulate a small disk. Must run while no backup writes these
repositories: the cycle calls it under its lock, the command line takes the same lock.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from megabackup import places
from megabackup.settings import Settings
from megabackup.tools import rdiff
from megabackup.tools.runner import CancelToken, Runner
from megabackup.words import moment_text, size_text

DAY = 86400


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


DiskUsageFunction = Callable[[Path], DiskUsage]


def real_disk_usage(path: Path) -> DiskUsage:
    usage = shutil.disk_usage(path)
    return DiskUsage(usage.total, usage.used, usage.free)


@dataclass
class RepositoryRetention:
    repository: Path
    removed: list[float] = field(default_factory=list)  # session times removed, oldest first
    estimated_bytes: int = 0  # the size rdiff-backup gave for those sessions' increments
    kept_sessions: int = 0  # snapshots left, the mirror included
    problem: str = ""  # why it could not be pruned (or failed)
    note: str = ""

    def describe(self) -> str:
        if self.problem:
            return f"{self.repository}: not pruned: {self.problem}"
        if not self.removed:
            return f"{self.repository}: nothing to remove ({self.kept_sessions} snapshot(s) kept)"
        span = moment_text(self.removed[0])
        if len(self.removed) > 1:
            span += f" to {moment_text(self.removed[-1])}"
        return (
            f"{self.repository}: removed {len(self.removed)} old snapshot(s) ({span}), "
            f"about {size_text(self.estimated_bytes)}; {self.kept_sessions} kept"
        )


@dataclass
class RetentionReport:
    repositories: list[RepositoryRetention] = field(default_factory=list)
    bytes_freed: int = 0  # measured: free space after minus before, over every disk
    short_of_space: list[str] = field(default_factory=list)  # disks still below the limit

    @property
    def removed_count(self) -> int:
        return sum(len(r.removed) for r in self.repositories)

    @property
    def problems(self) -> list[str]:
        return [r.describe() for r in self.repositories if r.problem] + self.short_of_space

    def summary(self) -> str:
        """One line for a notification or the history."""
        if not self.removed_count and not self.problems:
            return "no old snapshots to remove"
        parts = []
        if self.removed_count:
            parts.append(
                f"removed {self.removed_count} old snapshot(s), freed "
                f"{size_text(max(self.bytes_freed, 0))}"
            )
        parts += self.problems
        return "; ".join(parts)

    def lines(self) -> list[str]:
        return [r.describe() for r in self.repositories] + self.short_of_space


def repositories(settings: Settings, drive: Path | None) -> list[Path]:
    """Every repository MegaBackup writes: the desktop backup, and the drive's when connected."""
    found = (place.repository(settings, drive) for place in places.sources(settings))
    return [repository for repository in found if repository is not None]


def apply(
    settings: Settings,
    repositories: Sequence[Path],
    runner: Runner,
    clock: Callable[[], float] = time.time,
    disk_usage: DiskUsageFunction = real_disk_usage,
    prefix: Sequence[str] | None = None,
    cancel: CancelToken | None = None,
) -> RetentionReport:
    """Apply both rules to the repositories that exist; missing ones are skipped silently."""
    keep_days = settings.retention.keep_days
    min_free = settings.retention.min_free_percent
    report = RetentionReport()
    present = [Path(r) for r in repositories if rdiff.inspect(Path(r)).exists]
    by_path = {r: RepositoryRetention(r) for r in present}
    report.repositories = list(by_path.values())
    try:
        prefix = tuple(prefix or rdiff.locate(settings.tools.rdiff_backup))
    except rdiff.RdiffMissing as exc:
        for record in report.repositories:
            record.problem = str(exc)
        return report
    pruner = _Pruner(rdiff.Rdiff(runner, prefix), cancel)
    disks = _group_by_disk(present)
    free_before = {key: disk_usage(group[0]).free for key, group in disks.items()}

    now = clock()
    for repository, record in by_path.items():
        # Age against the repository's own newest snapshot when it is older than "now": a
        # clock that jumped ahead after it cannot make every snapshot old at once.
        newest = (pruner.sessions(repository) or [now])[-1]
        pruner.remove_older_than(repository, min(now, newest) - keep_days * DAY, record)

    for key, group in disks.items():
        usable = [r for r in group if not by_path[r].problem]
        _make_room(pruner, usable, by_path, disk_usage, min_free, report)
        report.bytes_freed += disk_usage(group[0]).free - free_before[key]
    for repository, record in by_path.items():
        if not record.problem:
            record.kept_sessions = len(pruner.sessions(repository))
    return report


def _make_room(
    pruner: _Pruner,
    group: list[Path],
    records: dict[Path, RepositoryRetention],
    disk_usage: DiskUsageFunction,
    min_free: float,
    report: RetentionReport,
) -> None:
    if not group:
        return
    while True:
        usage = disk_usage(group[0])
        if usage.total <= 0 or usage.free * 100 >= min_free * usage.total:
            return
        candidates = [(pruner.sessions(r)[0], r) for r in group if len(pruner.sessions(r)) > 1]
        if not candidates:
            percent = usage.free * 100 / usage.total
            report.short_of_space.append(
                f"{group[0].parent}: only {percent:.1f}% free (less than {min_free:g}%) with "
                "only the newest snapshots left; free some space or use a larger drive"
            )
            return
        oldest, repository = min(candidates)
        record = records[repository]
        if not pruner.remove_older_than(repository, oldest + 1, record):
            return  # it failed (the record says why) or removed nothing: do not loop forever


class _Pruner:
    def __init__(self, tool: rdiff.Rdiff, cancel: CancelToken | None):
        self.rdiff = tool
        self.cancel = cancel
        self._sessions: dict[Path, list[rdiff.IncrementEntry]] = {}

    def sizes(self, repository: Path) -> list[rdiff.IncrementEntry]:
        if repository not in self._sessions:
            entries = self.rdiff.list_increments(repository, sizes=True, cancel=self.cancel)
            self._sessions[repository] = entries
        return self._sessions[repository]

    def sessions(self, repository: Path) -> list[float]:
        try:
            return [e.time for e in self.sizes(repository)]
        except rdiff.RdiffFailed:
            return []

    def remove_older_than(
        self, repository: Path, cutoff: float, record: RepositoryRetention
    ) -> bool:
        """Remove the sessions strictly older than cutoff (never the mirror); True if any went."""
        if record.problem:
            return False
        state = rdiff.inspect(repository)
        if state.interrupted_first_backup or state.interrupted_backup:
            record.problem = "its last backup was interrupted; the next backup repairs it first"
            return False
        try:
            before = self.sizes(repository)
        except rdiff.RdiffFailed as exc:
            record.problem = f"its snapshots could not be listed ({exc})"
            return False
        # The newest entry is the mirror: never pass a cutoff that reaches it.
        doomed = [e for e in before[:-1] if e.time < cutoff]
        if not doomed:
            return False
        cutoff = min(cutoff, before[-1].time)
        try:
            self.rdiff.remove_older_than(repository, cutoff, self.cancel)
        except rdiff.RdiffFailed as exc:
            record.problem = str(exc)
            return False
        finally:
            self._sessions.pop(repository, None)
        remaining = set(self.sessions(repository))
        gone = [e for e in doomed if e.time not in remaining]
        record.removed += [e.time for e in gone]
        record.removed.sort()
        record.estimated_bytes += sum(e.size or 0 for e in gone)
        return bool(gone)


def _group_by_disk(repositories: list[Path]) -> dict[object, list[Path]]:
    """Repositories on the same disk share its free space, so they are pruned together."""
    groups: dict[object, list[Path]] = {}
    for repository in repositories:
        try:
            key: object = repository.stat().st_dev
        except OSError:
            key = repository
        groups.setdefault(key, []).append(repository)
    return groups
