"""A generated history of 30 days, written through the History API the engine itself uses: a
cycle every 4 hours with the life a person really has. The USB drive has not been plugged in
for the last nine days (its snapshots skipped, the cycles end with a warning), the NAS was
switched off one night (the cycles stopped before writing anything), a sync leaves a conflict
now and then, a file open in another program cannot be read, and one snapshot of the share's
data failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from megabackup.engine.plan import (
    RESNAPSHOT_DESKTOP_HOME,
    RESNAPSHOT_SERVER_HOME,
    SNAPSHOT_DESKTOP_HOME,
    SNAPSHOT_SERVER_DATA,
    SNAPSHOT_SERVER_HOME,
    SYNC_HOME,
)
from megabackup.history import ConflictRecord, History, StepRecord
from megabackup.outcome import Outcome, Resolution

DAY, HOUR = 86_400.0, 3_600.0
EVERY = 4 * HOUR
DRIVE_AWAY_DAYS = range(9)  # the last nine days: the drive was not plugged in
NAS_OFF = (20 * DAY + 2 * HOUR, 20 * DAY - 10 * HOUR)  # from, to (seconds before now)
DATA_FAILED_RUN = 80  # the 80th run from the newest: its data snapshot failed


@dataclass
class Generated:
    path: Path
    now: float
    runs: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    drive_away_runs: int = 0
    logs: list[Path] = field(default_factory=list)


def thirty_days(folder: Path, now: float, logs: Path | None = None) -> Generated:
    """History (and a small log file per run, in `logs`) for the 30 days before `now`."""
    path = folder / "history.sqlite3"
    history = History(path)
    made = Generated(path, now)
    starts = [now - 30 * DAY + 3 * HOUR + i * EVERY for i in range(int(30 * DAY // EVERY))]
    for number, started in enumerate(starts):
        ago = now - started
        from_newest = len(starts) - number
        log = ""
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            log_file = logs / f"run-{number:04d}.log"
            log_file.write_text(f"cycle {number}\n", encoding="utf-8")
            made.logs.append(log_file)
            log = str(log_file)
        run = history.start_run("schedule", started, log)
        if NAS_OFF[1] < ago < NAS_OFF[0]:  # the checks stop the cycle: no step runs
            summary = "Stopped before writing anything: the server home //nas/andy is missing"
            history.finish_run(run, Outcome.FAILED, summary, started + 4)
            made.outcomes["failed"] = made.outcomes.get("failed", 0) + 1
            made.runs += 1
            continue
        drive_away = int(ago // DAY) in DRIVE_AWAY_DAYS
        conflict = number % 17 == 5
        steps = _steps(started, drive_away, data_failed=from_newest == DATA_FAILED_RUN, busy=number)
        for position, step in enumerate(steps, start=1):
            history.record_step(run, position, step)
        if conflict:
            history.record_conflicts(
                run, [ConflictRecord("Documents/budget.xlsx", Resolution.KEPT_BOTH)]
            )
        failed = any(s.status == Outcome.FAILED for s in steps)
        warned = drive_away or conflict or any(s.status == Outcome.WARNING for s in steps)
        outcome = Outcome.FAILED if failed else Outcome.WARNING if warned else Outcome.OK
        summary = {
            Outcome.FAILED: "Snapshot of server data failed: rdiff-backup stopped (exit code 1)",
            Outcome.WARNING: "Done with warnings: the external drive is not connected"
            if drive_away
            else "Done with warnings: 1 conflict"
            if conflict
            else "Done with warnings: 1 file could not be read",
            Outcome.OK: "All good",
        }[outcome]
        history.finish_run(run, outcome, summary, started + 95 + number % 7 * 20)
        made.outcomes[outcome.value] = made.outcomes.get(outcome.value, 0) + 1
        made.drive_away_runs += drive_away
        made.runs += 1
    return made


def _steps(started: float, drive_away: bool, *, data_failed: bool, busy: int) -> list[StepRecord]:
    away = "the external drive is not connected"
    edits = busy % 5  # a few files change now and then

    def snap(step: str, at: float, status: Outcome = Outcome.OK, **counts: int) -> StepRecord:
        return StepRecord(step, step.replace("-", " "), status, started=at, finished=at + 20,
                          source_files=1200, **counts)  # fmt: skip

    drive_status = Outcome.SKIPPED if drive_away else Outcome.OK
    data_status = Outcome.FAILED if data_failed else drive_status
    unreadable = busy % 23 == 11  # a file open in another program could not be read
    desktop = Outcome.WARNING if unreadable else Outcome.OK
    return [
        snap(SNAPSHOT_SERVER_HOME, started + 5, drive_status, changed_files=edits % 2),
        snap(SNAPSHOT_SERVER_DATA, started + 10, data_status, new_files=edits // 2),
        snap(
            SNAPSHOT_DESKTOP_HOME,
            started + 15,
            desktop,
            new_files=edits,
            changed_files=edits // 2,
            deleted_files=int(edits == 4),
            errors=int(unreadable),
        ),
        StepRecord(
            SYNC_HOME,
            "syncing home",
            Outcome.SKIPPED if drive_away else Outcome.OK,
            away if drive_away else "",
        ),
        snap(
            RESNAPSHOT_SERVER_HOME,
            started + 60,
            Outcome.NOT_NEEDED if drive_away or not edits else Outcome.OK,
            new_files=edits,
        ),
        snap(RESNAPSHOT_DESKTOP_HOME, started + 70, Outcome.NOT_NEEDED),
    ]
