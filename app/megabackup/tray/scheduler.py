"""When the next cycle is due, and the pause that holds it back.

The due-time rules are pure functions of plain numbers, so the tests can walk through sleeps,
clock jumps and retries without waiting. `Scheduler` keeps the little state they need between
the worker's ticks (no thread of its own: the worker's wait on its queue is the timer). The
pause is saved in state.json so that it survives a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

from megabackup.files import write_json

SETTLE_SECONDS = 90.0  # after start-up or wake: let the network and the drives come up first
FIRST_RETRY_SECONDS = 5 * 60.0
WAKE_TOLERANCE_SECONDS = 60.0  # a tick that came this much later than asked means we slept
TOMORROW_HOUR = 8  # "pause until tomorrow" ends at this hour, local time


@dataclass(frozen=True)
class Due:
    at: float
    reason: str  # first | scheduled | catch-up | retry


def retry_delay(failures: int, every_hours: float) -> float:
    """5, 10, 20, 40 ... minutes after a cycle that missed a place, capped at the interval."""
    interval = every_hours * 3600
    return min(FIRST_RETRY_SECONDS * 2 ** max(0, failures - 1), interval)


def due_time(
    last_finished: float | None,
    every_hours: float,
    *,
    failures: int,
    now: float,
    watching_since: float,
    settle: float = SETTLE_SECONDS,
) -> Due:
    """When the next cycle should start.

    `watching_since` is when the app last started or woke up: a cycle that fell due before then
    was missed (the machine was off or asleep), so it runs `settle` seconds after that instead of
    at once, when the network may still be down. A last run in the future means a clock was
    wrong; it is not trusted (a stuck schedule is worse than one early backup).
    """
    if last_finished is None:
        return Due(watching_since + settle, "first")
    if last_finished > now + WAKE_TOLERANCE_SECONDS:
        return Due(max(now, watching_since + settle), "catch-up")
    if failures > 0:
        due = Due(last_finished + retry_delay(failures, every_hours), "retry")
    else:
        due = Due(last_finished + every_hours * 3600, "scheduled")
    if due.at < watching_since:
        return Due(watching_since + settle, "catch-up")
    return due


def slept(previous_tick: float, now: float, asked_seconds: float) -> bool:
    """True when the wall clock moved much further than the wait we asked for (sleep, or a jump).

    Compared on the wall clock only: on Windows the monotonic clock also runs during sleep.
    """
    return now - previous_tick > asked_seconds + WAKE_TOLERANCE_SECONDS or now < previous_tick


def pause_end(choice: str, now: float) -> float | None:
    """The end of a pause chosen in the menu: 30m, 1h, 4h, tomorrow, or None (until resumed)."""
    seconds = {"30m": 1800, "1h": 3600, "4h": 4 * 3600}
    if choice in seconds:
        return now + seconds[choice]
    if choice == "tomorrow":
        today = dt.datetime.fromtimestamp(now).date()
        morning = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(TOMORROW_HOUR))
        return morning.timestamp()
    if choice == "resume":
        return None
    raise ValueError(f"unknown pause choice {choice!r}")


@dataclass(frozen=True)
class PauseState:
    paused: bool = False
    until: float | None = None  # None while paused means until the person resumes

    def active(self, now: float) -> bool:
        return self.paused and (self.until is None or now < self.until)


def load_pause(path: Path) -> PauseState:
    """The saved pause; a missing or damaged file means not paused (never a reason to skip one)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pause = data.get("pause") or {}
        until = pause.get("until")
        if until is not None and not (isinstance(until, (int, float)) and math.isfinite(until)):
            return PauseState()
        return PauseState(bool(pause.get("paused")), None if until is None else float(until))
    except (OSError, ValueError, AttributeError):
        return PauseState()


def save_pause(path: Path, pause: PauseState) -> None:
    """Write state.json atomically: a crash mid-write leaves the old file, never half a file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data["pause"] = {"paused": pause.paused, "until": pause.until}
    write_json(path, data)


class Scheduler:
    """The schedule's memory between ticks: last cycle, failures in a row, pause, sleep gaps."""

    def __init__(self, state_file: Path, now: float, settle: float = SETTLE_SECONDS) -> None:
        self.state_file = state_file
        self.settle = settle
        self.watching_since = now
        self.last_tick = now
        self.last_finished: float | None = None
        self.failures = 0
        self.pause = load_pause(state_file)

    def tick(self, now: float, asked_seconds: float) -> bool:
        """Note the time after a wait; True if the machine slept (or the clock jumped) meanwhile."""
        gap = slept(self.last_tick, now, asked_seconds)
        if gap:
            self.watching_since = now
        self.last_tick = now
        if self.pause.paused and not self.pause.active(now):
            self.set_pause(PauseState())  # the pause ran out
        return gap

    def record(self, finished: float, needs_retry: bool) -> None:
        self.last_finished = finished
        self.failures = self.failures + 1 if needs_retry else 0

    def set_pause(self, pause: PauseState) -> None:
        self.pause = pause
        save_pause(self.state_file, pause)

    def due(self, every_hours: float, now: float) -> Due | None:
        """The next start, or None while paused until the person resumes."""
        due = due_time(
            self.last_finished,
            every_hours,
            failures=self.failures,
            now=now,
            watching_since=self.watching_since,
            settle=self.settle,
        )
        if self.pause.active(now):
            if self.pause.until is None:
                return None
            return Due(max(due.at, self.pause.until), due.reason)
        return due
