"""What the tray shows, as plain facts: the TrayState the worker publishes after every change, and
the pure function that builds it from what the worker knows. The menu, icon and tooltip are
drawn from a TrayState alone (tray/menu.py), so every state is tested without a display."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from megabackup.engine.status import Status
from megabackup.notify import overdue_places
from megabackup.outcome import Outcome
from megabackup.tray.scheduler import Due, PauseState


@dataclass(frozen=True)
class Progress:
    index: int
    total: int
    title: str


@dataclass(frozen=True)
class TrayState:
    """Everything the menu, icon and tooltip need, as plain facts taken at `taken`."""

    taken: float
    running: bool = False
    cancelling: bool = False
    progress: Progress | None = None
    paused: bool = False
    paused_until: float | None = None
    last_finished: float | None = None
    last_outcome: Outcome | None = None  # None: no cycle has run yet
    last_summary: str = ""
    open_conflicts: int = 0
    overdue: tuple[tuple[str, int], ...] = ()
    away: tuple[tuple[str, float], ...] = ()  # places the last cycle found away, since when
    backed_up: tuple[tuple[str, float], ...] = ()  # each source's newest good snapshot
    next_due: Due | None = None
    retrying: bool = False
    settings_problem: str = ""  # first line of what is wrong with the settings file
    settings_usable: bool = True  # False when no good settings were ever loaded
    busy_elsewhere: bool = False  # a `megabackup run` from the command line holds the lock
    deletions_waiting: int = 0  # the last sync waits for an OK to pass on this many deletions
    last_log: Path | None = None
    quitting: bool = False
    stopped: bool = False  # the worker has ended (after Quit, or by a bug)
    power_hold: bool = False  # a backup is due, but waits for mains power (schedule.on_battery)


@dataclass(frozen=True)
class Facts:
    """What the worker knows at one moment, as it knows it."""

    now: float
    history: Status | None  # None: the history could not be read yet
    overdue_days: int
    pause: PauseState
    next_due: Due | None  # None while a cycle runs, or when nothing is scheduled
    running: bool = False
    cancelling: bool = False
    progress: Progress | None = None
    retrying: bool = False
    settings_problem: str = ""
    settings_usable: bool = True
    busy_elsewhere: bool = False
    deletions_waiting: int = 0
    last_log: Path | None = None
    quitting: bool = False
    power_hold: bool = False


def tray_state(facts: Facts) -> TrayState:
    now, status = facts.now, facts.history
    run = status.last_run if status else None
    overdue = overdue_places(status.places, now, facts.overdue_days) if status else ()
    paused = facts.pause.active(now)
    return TrayState(
        taken=now,
        running=facts.running,
        cancelling=facts.cancelling,
        progress=facts.progress if facts.running else None,
        paused=paused,
        paused_until=facts.pause.until if paused else None,
        last_finished=(run.finished or run.started) if run else None,
        last_outcome=run.outcome if run else None,
        last_summary=run.summary if run else "",
        open_conflicts=len(status.open_conflicts) if status else 0,
        overdue=tuple((p.place, p.days) for p in overdue),
        away=tuple((a.place, a.since) for a in status.away) if status else (),
        backed_up=tuple((p.place, p.last_good) for p in status.places if p.last_good is not None)
        if status
        else (),
        next_due=facts.next_due,
        retrying=facts.retrying,
        settings_problem=facts.settings_problem,
        settings_usable=facts.settings_usable,
        busy_elsewhere=facts.busy_elsewhere,
        deletions_waiting=facts.deletions_waiting,
        last_log=facts.last_log,
        quitting=facts.quitting,
        power_hold=facts.power_hold,
    )
