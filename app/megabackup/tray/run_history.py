"""The history window's model: the freshness picture of the last 30 days and the list of runs,
read from the history. No Tk here; tray/history_window.py draws it on a canvas and a table.

The picture has one row per place: this PC (the desktop home's snapshots), the share's home,
the share's data, and the USB drive (every snapshot written onto it). Each run leaves one mark
per row, its kind taken from that place's steps in the run: ok, warning, failed, or away (the
place or the drive was not there, so its snapshot was skipped). At each row's end stands the
age of that place's newest good snapshot, whenever it was.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from megabackup import places
from megabackup.engine.status import readable_history_problem
from megabackup.history import History, HistoryError, RunRow, StepRow
from megabackup.outcome import Outcome
from megabackup.runlog import KEEP_LOGS
from megabackup.words import age_text, duration_text, moment_text

DAYS = 30
DAY = 86_400.0
MIN_RUNS = 20  # the list shows at least this many runs, even older than the picture
OK, WARNING, FAILED, AWAY = "ok", "warning", "failed", "away"
MARK_KINDS = (OK, AWAY, WARNING, FAILED)  # drawn in this order: trouble stays on top
LINE_KINDS = {  # the colour of a run's line in the list, by how the whole cycle ended
    Outcome.WARNING: WARNING,
    Outcome.FAILED: FAILED,
    Outcome.INTERRUPTED: FAILED,
    Outcome.CANCELLED: AWAY,
}
ENDED = {
    Outcome.OK: "All good",
    Outcome.WARNING: "Warnings",
    Outcome.FAILED: "Failed",
    Outcome.CANCELLED: "Cancelled",
    Outcome.INTERRUPTED: "Cut off",
    Outcome.RUNNING: "Running",
}


@dataclass(frozen=True)
class PlaceRow:
    """One row of the picture: a place and the steps that snapshot it (or write onto it)."""

    label: str
    steps: tuple[str, ...]
    own_changes: bool = True  # the drive's changes are the share's: the list shows them once


def place_rows(with_data: bool = True) -> tuple[PlaceRow, ...]:
    """This PC, the share's home, the share's data (when there is one), the USB drive."""
    labels = {
        places.DESKTOP_HOME.name: "This PC",
        places.SERVER_HOME.name: "The share's home",
        places.SERVER_DATA.name: "The share's data",
    }
    rows = [
        PlaceRow(labels[p.name], p.snapshot_steps)
        for p in places.SOURCES
        if with_data or p is not places.SERVER_DATA
    ]
    onto_drive = tuple(
        step
        for p in places.SOURCES
        if p.target == places.EXTERNAL_DRIVE.name and (with_data or p is not places.SERVER_DATA)
        for step in p.snapshot_steps
    )
    rows.append(PlaceRow("The USB drive", onto_drive, own_changes=False))
    return tuple(rows)


@dataclass(frozen=True)
class Mark:
    when: float
    kind: str  # ok | warning | failed | away
    run_id: int


@dataclass(frozen=True)
class ChartRow:
    label: str
    marks: tuple[Mark, ...]
    last_good: float | None
    age: str  # "3 hours ago", "never"
    stale: bool  # older than notifications.overdue_days (or never)


@dataclass(frozen=True)
class RunLine:
    """One run in the list, ready to show."""

    run_id: int
    when: str
    ended: str
    took: str
    changes: tuple[str, ...]  # per place row but the drive: "+12 ~3 -1", "no change", "away"
    conflicts: str
    summary: str
    log: Path | None
    kind: str  # its mark kind overall, for the colour of the line


class HistoryModel:
    """Everything the history window shows and does, without the window."""

    def __init__(
        self,
        history_path: Path,
        *,
        rows: Sequence[PlaceRow] | None = None,
        overdue_days: float = 7,
        opener: Callable[[Path], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.history_path = history_path
        self.rows = tuple(rows or place_rows())
        self.overdue_days = overdue_days
        self.opener = opener or (lambda path: None)
        self.clock = clock
        self.chart: tuple[ChartRow, ...] = ()
        self.runs: tuple[RunLine, ...] = ()
        self.start = self.end = 0.0
        self.newest_run: int | None = None
        self.status = ""
        self.refresh()

    # --- reading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        now = self.clock()
        self.end, self.start = now, now - DAYS * DAY
        if not self.history_path.exists():
            self._empty("never", "No backup has run yet.")
            return
        try:
            self._read(History(self.history_path), now)
        except (HistoryError, sqlite3.DatabaseError) as exc:
            # A damaged file is the cycle's to keep aside; the window says so and shows nothing.
            self._empty("unknown", "The history cannot be read: " + readable_history_problem(exc))

    def _empty(self, age: str, status: str) -> None:
        self.chart = tuple(ChartRow(r.label, (), None, age, True) for r in self.rows)
        self.runs, self.newest_run = (), None
        self.status = status

    def _read(self, history: History, now: float) -> None:
        runs = _runs_since(history, self.start)
        oldest = runs[-1].id if runs else 0
        found = history.steps_since(oldest)
        steps = {run.id: found.get(run.id, []) for run in runs}
        conflicts: dict[int, int] = {}
        for conflict in history.conflicts(since_run=oldest - 1):
            conflicts[conflict.run_id] = conflicts.get(conflict.run_id, 0) + 1
        marks: dict[str, list[Mark]] = {row.label: [] for row in self.rows}
        for run in runs:
            if run.started < self.start:
                continue
            for row in self.rows:
                kind = _mark_kind(run, [s for s in steps[run.id] if s.id in row.steps])
                if kind:
                    marks[row.label].append(Mark(run.finished or run.started, kind, run.id))
        chart = []
        for row in self.rows:
            last = history.last_success(row.steps)
            stale = last is None or now - last > self.overdue_days * DAY
            age = "never" if last is None else age_text(max(0.0, now - last))
            chart.append(ChartRow(row.label, tuple(reversed(marks[row.label])), last, age, stale))
        self.chart = tuple(chart)
        self.runs = tuple(self._line(run, steps[run.id], conflicts.get(run.id, 0)) for run in runs)
        self.newest_run = runs[0].id if runs else None
        self.status = "" if runs else "No backup has run yet."

    def changed(self) -> bool:
        """A run started or ended since the last refresh (the window then refreshes)."""
        if not self.history_path.exists():
            return self.newest_run is not None
        try:
            newest = History(self.history_path).last_run()
        except (HistoryError, sqlite3.DatabaseError):
            return self.newest_run is not None  # shown once as unreadable; a new file is a change
        if newest is None:
            return self.newest_run is not None
        known = next((r for r in self.runs if r.run_id == newest.id), None)
        return known is None or known.ended != ENDED.get(newest.outcome, str(newest.outcome))

    def _line(self, run: RunRow, steps: list[StepRow], count: int) -> RunLine:
        changes = tuple(
            _changes(run, [s for s in steps if s.id in row.steps])
            for row in self.rows
            if row.own_changes
        )
        took = duration_text(run.finished - run.started) if run.finished else ""
        return RunLine(
            run.id,
            moment_text(run.started, seconds=False),
            ENDED.get(run.outcome, str(run.outcome)),
            took,
            changes,
            str(count) if count else "",
            run.summary,
            Path(run.log_path) if run.log_path else None,
            LINE_KINDS.get(run.outcome, OK),
        )

    # --- doing -------------------------------------------------------------------------------

    def open_log(self, run_id: int) -> bool:
        """Open that run's log (double-click); say so plainly when it is not kept any more."""
        line = next((r for r in self.runs if r.run_id == run_id), None)
        if line is None:
            return False
        if line.log is None or not line.log.is_file():
            self.status = (
                f"The log of the run of {line.when} is no longer kept "
                f"(MegaBackup keeps the newest {KEEP_LOGS})."
            )
            return False
        try:
            self.opener(line.log)
        except OSError as exc:
            self.status = f"Cannot open {line.log}: {exc.strerror or exc}"
            return False
        self.status = f"Opened the log of the run of {line.when}."
        return True

    def describe(self, run_id: int) -> str:
        line = next((r for r in self.runs if r.run_id == run_id), None)
        if line is None:
            return ""
        conflicts = f" {line.conflicts} conflict(s)." if line.conflicts else ""
        return (
            f"{line.when}: {line.summary or line.ended}.{conflicts} Double-click to open its log."
        )

    def fraction(self, when: float) -> float:
        """Where a moment sits across the picture, 0 (30 days ago) to 1 (now)."""
        span = self.end - self.start
        return min(1.0, max(0.0, (when - self.start) / span)) if span > 0 else 1.0


def _runs_since(history: History, start: float) -> list[RunRow]:
    """The runs of the picture's 30 days, newest first, and never fewer than MIN_RUNS."""
    limit = 200
    while True:
        runs = history.runs(limit=limit)
        if len(runs) < limit or runs[-1].started < start:
            break
        limit *= 2
    inside = [r for r in runs if r.started >= start]
    return inside if len(inside) >= MIN_RUNS else runs[: max(MIN_RUNS, len(inside))]


def _mark_kind(run: RunRow, steps: list[StepRow]) -> str:
    """How this run went for one place, from the place's steps in it."""
    statuses = {s.status for s in steps}
    if Outcome.FAILED in statuses:
        return FAILED
    if Outcome.WARNING in statuses:
        return WARNING
    if Outcome.OK in statuses:
        return OK
    if Outcome.SKIPPED in statuses:
        return AWAY
    if not steps and run.outcome in (Outcome.FAILED, Outcome.INTERRUPTED):
        return FAILED  # the cycle stopped before any snapshot: none was made
    return ""  # cancelled, not needed, or still running: no mark


def _changes(run: RunRow, steps: list[StepRow]) -> str:
    done = [s for s in steps if s.status.good]
    if not done:
        skipped = any(s.status == Outcome.SKIPPED for s in steps)
        return "away" if skipped else ""
    new = sum(s.new_files for s in done)
    changed = sum(s.changed_files for s in done)
    deleted = sum(s.deleted_files for s in done)
    if not (new or changed or deleted):
        return "no change"
    return f"+{new} ~{changed} \u2212{deleted}"
