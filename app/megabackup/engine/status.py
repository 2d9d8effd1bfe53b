"""What `megabackup status` and the tray show: last run, each place's freshness, open conflicts."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import filelock

from megabackup.engine.plan import SYNC_HOME
from megabackup.history import ConflictRow, History, RunRow
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


def read_status(paths: AppPaths, places: Sequence[Place] = SOURCES) -> Status:
    """Reads only; works with no history yet (a fresh install)."""
    running = is_cycle_running(paths)
    if not paths.history.exists():
        return Status(None, tuple(PlaceFreshness(p.name, None) for p in places), (), running)
    history = History(paths.history)
    last = history.last_run()
    if last is not None and last.outcome == Outcome.RUNNING and not running:
        last = dataclasses.replace(last, outcome=Outcome.INTERRUPTED)
    freshness = tuple(
        PlaceFreshness(place.name, history.last_success(place.snapshot_steps)) for place in places
    )
    conflicts = tuple(open_conflicts(history))
    away = away_places(history)
    return Status(last, freshness, conflicts, running, away, history.last_complete())


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
        copy_left = row.resolution == Resolution.KEPT_BOTH and any(
            Path(c).exists() for c in row.copies
        )
        still_skipped = row.resolution == Resolution.SKIPPED and row.run_id == newest_sync_run
        if copy_left or still_skipped:
            found.append(row)
    return found


def is_cycle_running(paths: AppPaths) -> bool:
    if not paths.cycle_lock.exists():
        return False
    probe = filelock.FileLock(str(paths.cycle_lock))
    try:
        probe.acquire(timeout=0)
    except filelock.Timeout:
        return True
    probe.release()
    return False
