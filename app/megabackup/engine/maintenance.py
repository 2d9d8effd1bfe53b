"""After the steps, still under the cycle lock: tidy old snapshots and verify the backups.

Retention runs once a day, or at once when a backup disk falls below its free-space limit; the
verify runs on its own schedule (settings.verify.every_days). Both cost rdiff-backup calls per
repository, which a cycle every few hours should not pay each time.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from megabackup.engine import retention, verify
from megabackup.engine.clocks import ClockVerdict
from megabackup.files import due, read_stamp, write_stamp
from megabackup.locations import AppPaths
from megabackup.runlog import RunLog
from megabackup.settings import Settings
from megabackup.tools.runner import CancelToken, Runner

RETENTION_EVERY_SECONDS = 86_400
RETENTION_STAMP = "retention"


@dataclass
class MaintenanceReport:
    notes: list[str] = field(default_factory=list)  # what was done, for the report and log
    warnings: list[str] = field(default_factory=list)  # what the person should know
    damaged: list[str] = field(default_factory=list)  # verify found damage: repository: files


def run_maintenance(
    settings: Settings,
    paths: AppPaths,
    drive: Path | None,
    runner: Runner,
    prefix: tuple[str, ...],
    clock: Callable[[], float],
    cancel: CancelToken,
    log: RunLog,
    clock_verdict: ClockVerdict | None = None,
) -> MaintenanceReport:
    report = MaintenanceReport()
    repositories = retention.repositories(settings, drive)
    now = clock()
    verdict = clock_verdict or ClockVerdict(None)
    aged_at = verdict.retention_now(now)  # never a clock in doubt (engine/clocks.py)
    due = _retention_due(paths, now) or _short_of_space(settings, repositories)
    if due and aged_at is None:
        report.notes.append("old snapshots: none removed while the clock is in doubt")
        log.write("retention: skipped, the clock is in doubt")
    elif due:
        tidy = retention.apply(
            settings, repositories, runner, lambda: aged_at, prefix=prefix, cancel=cancel
        )
        if not cancel.cancelled:
            write_stamp(paths.root, RETENTION_STAMP, now)
        if tidy.removed_count:
            report.notes.append("old snapshots: " + tidy.summary())
        report.warnings += [f"old snapshots: {problem}" for problem in tidy.problems]
        for line in tidy.lines():
            log.write(f"retention: {line}")
    last_verify = verify.last_run(paths)
    if last_verify is None:  # a fresh backup needs no check yet: the first is due a period on
        verify.record_run(paths, now)
    elif not cancel.cancelled and verify.is_due(last_verify, now, settings.verify.every_days):
        checked = verify.verify_all(repositories, runner, prefix, cancel)
        if not cancel.cancelled:
            verify.record_run(paths, now)
        report.notes.append("verify: " + checked.summary())
        report.damaged += [r.describe() for r in checked.damaged]
        report.warnings += [f"verify: {r.describe()}" for r in checked.problems if not r.damaged]
        log.write(f"verify: {checked.summary()}")
    return report


def _retention_due(paths: AppPaths, now: float) -> bool:
    last = read_stamp(paths.root, RETENTION_STAMP)
    if last is None:  # the first backup has nothing old to tidy: start the day's count
        write_stamp(paths.root, RETENTION_STAMP, now)
        return False
    return due(last, now, RETENTION_EVERY_SECONDS)


def _short_of_space(settings: Settings, repositories: list[Path]) -> bool:
    limit = settings.retention.min_free_percent
    for repository in repositories:
        try:
            usage = shutil.disk_usage(repository if repository.exists() else repository.parent)
        except OSError:
            continue
        if usage.total and 100.0 * usage.free / usage.total < limit:
            return True
    return False
