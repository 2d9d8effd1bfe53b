"""What `megabackup status` and the tray show: last run, each place's freshness, open conflicts."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from megabackup.engine.plan import SYNC_HOME
from megabackup.files import find_shown, lock_held
from megabackup.history import ConflictRow, History, HistoryDamaged, HistoryError, RunRow
from megabackup.locations import AppPaths
from megabackup.outcome import Outcome, Resolution
from megabackup.places import SOURCES, Place


@dataclass(frozen=True)
class PlaceFreshness:
    place: str
    last_good: float | None  # epoch seconds of the newest good snapshot, None if never

    def age_days(self, now: float) -> float | None:
        return None if self.last_good is None else (now - self.last_good) / 86_400


@dataclass(frozen=True)
class AwayPlace:
    """A place the last cycle found away: since when (the first cycle in a row that did)."""

    place: str
    since: float
    reason: str


@dataclass(frozen=True)
class Status:
    last_run: RunRow | None
    places: tuple[PlaceFreshness, ...]
    open_conflicts: tuple[ConflictRow, ...]
    running: bool
    away: tuple[AwayPlace, ...] = ()  # what the newest cycle found away
    last_complete: float | None = None  # the newest cycle with every place there, and done
    problem: str = ""  # the history could not be read: why


FUTURE_SLACK = 600.0  # a step dated later than now by more than this: a clock ran ahead


def read_status(
    paths: AppPaths, places: Sequence[Place] = SOURCES, now: float | None = None
) -> Status:
    """Reads only; works with no history yet (a fresh install). A snapshot the history dates in
    the future (the clock ran ahead then) does not count as fresh, or "overdue" never fires."""
    now = time.time() if now is None else now
    running = is_cycle_running(paths)
    unknown = tuple(PlaceFreshness(p.name, None) for p in places)
    if not paths.history.exists():
        return Status(None, unknown, (), running)
    try:
        history = History(paths.history)
        last = history.last_run()
        freshness = tuple(
            PlaceFreshness(
                place.name, history.last_success(place.snapshot_steps, now + FUTURE_SLACK)
            )
            for place in places
        )
        conflicts = tuple(open_conflicts(history))
        away = away_places(history)
        last_complete = history.last_complete()
    except (HistoryError, sqlite3.DatabaseError) as exc:
        problem = readable_history_problem(exc)
        return Status(None, unknown, (), running, problem=problem)
    if last is not None and last.outcome == Outcome.RUNNING and not running:
        last = dataclasses.replace(last, outcome=Outcome.INTERRUPTED)
    return Status(last, freshness, conflicts, running, away, last_complete)


def readable_history_problem(exc: Exception) -> str:
    """Why the history cannot be read, and what happens next, in one sentence."""
    if isinstance(exc, HistoryError) and not isinstance(exc, HistoryDamaged):
        return str(exc)
    text = str(exc) if isinstance(exc, HistoryDamaged) else f"the history file is damaged ({exc})"
    return text + "; the next backup keeps it aside and starts a new one"


def away_places(history: History) -> tuple[AwayPlace, ...]:
    """The places the newest finished (or cut-off) cycle found away, each with since when."""
    last = next((run for run in history.runs(limit=5) if run.outcome != Outcome.RUNNING), None)
    if last is None:
        return ()
    found = []
    for place, reason in history.away(last.id).items():
        since = history.away_since(place)
        found.append(AwayPlace(place, since if since is not None else last.started, reason))
    return tuple(found)


def open_conflicts(history: History, limit_runs: int = 200) -> list[ConflictRow]:
    """Kept-both conflicts whose copy is still there, and conflicts the newest sync left alone."""
    runs = history.runs(limit=limit_runs)
    newest_sync_run = next(
        (
            run.id
            for run in runs
            if any(s.id == SYNC_HOME and s.status.good for s in history.steps(run.id))
        ),
        None,
    )
    oldest = runs[-1].id - 1 if runs else 0
    latest: dict[str, ConflictRow] = {}
    for row in history.conflicts(since_run=oldest):
        latest[row.path] = row  # newest report of each path wins
    found = []
    for row in latest.values():
        kept_both = row.resolution == Resolution.KEPT_BOTH
        copy_left = kept_both and any(_exists(c) for c in row.copies)
        # Left alone, or "kept both" with no copy found: open while the newest sync says so.
        unsettled = not kept_both or not row.copies
        if copy_left or (unsettled and row.run_id == newest_sync_run):
            found.append(row)
    return found


def _exists(shown_path: str) -> bool:
    """A path as the history keeps it (words.shown): as it is, or with odd bytes escaped."""
    if os.path.lexists(shown_path):
        return True
    anchor = Path(shown_path).anchor
    return bool(anchor) and find_shown(Path(anchor), shown_path[len(anchor) :]) is not None


def is_cycle_running(paths: AppPaths) -> bool:
    return lock_held(paths.cycle_lock)
