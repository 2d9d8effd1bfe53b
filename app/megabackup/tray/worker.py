"""The tray's worker: one thread that owns all state; commands in, tray states out.

The tray only enqueues commands and draws the states it is given. The worker decides when a
cycle runs (the schedule, the pause, "back up now", a place that is back, the battery), runs it,
notifies, and publishes an
immutable `TrayState` (tray/state.py) after every change. The engine is synchronous, so each
cycle runs on a short-lived helper thread whose events come back through the same queue: the
worker itself never blocks, and a pause or cancel shows within a second even in a long step.
Cancel and quit also trip the cycle's CancelToken at once, which ends the tools' process trees.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from megabackup import places, power
from megabackup.engine import (
    CancelToken,
    CycleBusy,
    CycleEvent,
    CycleOptions,
    CycleResult,
    run_cycle,
)
from megabackup.engine.status import Status, read_status
from megabackup.history import HistoryError
from megabackup.locations import AppPaths
from megabackup.notify import (
    Notice,
    NoticeKind,
    Repeats,
    away_notice,
    away_too_long,
    cycle_notice,
    overdue_notice,
    overdue_places,
)
from megabackup.outcome import Outcome
from megabackup.runlog import newest_log
from megabackup.settings import Settings
from megabackup.tray.lookout import DriveRoots, Lookout
from megabackup.tray.scheduler import Due, PauseState, Scheduler
from megabackup.tray.state import Facts, Progress, TrayState, tray_state
from megabackup.tray.watcher import SettingsWatcher

log = logging.getLogger(__name__)

KEPT_RESULTS = 20
TICK_SECONDS = 20.0  # the longest wait between looks at the clock (ages, sleep, settings file)
OVERDUE_REMINDER_SECONDS = 24 * 3600.0


# ---- commands (what the tray may ask) -------------------------------------------------------
@dataclass(frozen=True)
class BackupNow:
    trigger: str = "manual"
    allowed_deletions: int = 0  # the person allowed this many deletions that a held sync waits on


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Pause:
    until: float | None  # None: until the person resumes


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class ReloadSettings:
    pass


@dataclass(frozen=True)
class Quit:
    pass


Command = BackupNow | Cancel | Pause | Resume | ReloadSettings | Quit


@dataclass(frozen=True)
class _Event:  # from the cycle thread
    event: CycleEvent


@dataclass(frozen=True)
class _Done:  # from the cycle thread
    result: CycleResult | None
    error: str = ""
    busy: bool = False  # another cycle (a command-line run) holds the lock


Publish = Callable[[TrayState], None]
Notify = Callable[[Notice], object]


class Worker:
    def __init__(
        self,
        settings_path: Path,
        paths: AppPaths,
        *,
        publish: Publish | None = None,
        notify: Notify | None = None,
        options: CycleOptions | None = None,
        clock: Callable[[], float] = time.time,
        schedule: bool = True,
        settle_seconds: float | None = None,
        tick_seconds: float = TICK_SECONDS,
        drive_roots: DriveRoots | None = None,
        lookout: Lookout | None = None,
        on_battery: Callable[[], bool] = power.on_battery,
    ) -> None:
        self.settings_path = settings_path
        self.paths = paths
        self.publish: Publish = publish or (lambda snapshot: None)  # the tray connects later
        self._notify = notify or (lambda notice: None)
        self._options = options or CycleOptions()
        self._clock = clock
        self._schedule = schedule  # False: no cycle starts by itself (neither due nor a return)
        self._tick = tick_seconds
        self._drive_roots = drive_roots  # None: the mounted drives; tests give a list of theirs
        self._lookout = lookout or Lookout(drive_roots=drive_roots)
        self._on_battery = on_battery
        self._power_hold = False  # a backup is due but waits for mains power
        self._queue: queue.Queue[Command | _Event | _Done] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="megabackup-worker", daemon=True)
        self._lock = threading.Lock()  # guards the token and the snapshot between threads
        self._token: CancelToken | None = None
        self._cycle: threading.Thread | None = None
        self._trigger = ""
        self._progress: Progress | None = None
        self._cancelling = False
        self._quitting = False
        self._watcher = SettingsWatcher(settings_path, self._notify)
        self._repeats = Repeats()
        self._busy_elsewhere = False
        self._deletions_waiting = 0
        self._history: Status | None = None
        self._last_emit = 0.0
        self._overdue_told = -math.inf
        self._away_told: set[tuple[str, float]] = set()  # (place, since): once per absence
        now = clock()
        kwargs = {} if settle_seconds is None else {"settle": settle_seconds}
        self.scheduler = Scheduler(paths.state, now, **kwargs)
        self._snapshot = TrayState(taken=now)
        # this session's latest cycles, newest last (for the tests and the log); a tray that runs
        # for months must not keep every one
        self.results: collections.deque[CycleResult] = collections.deque(maxlen=KEPT_RESULTS)

    # ---- called from any thread ----
    def start(self) -> None:
        self._thread.start()

    def submit(self, command: Command) -> None:
        """Never blocks. Cancel and quit also stop a running cycle's tools straight away."""
        if isinstance(command, (Cancel, Quit)):
            with self._lock:
                if self._token is not None:
                    self._token.cancel()
        self._queue.put(command)

    @property
    def snapshot(self) -> TrayState:
        with self._lock:
            return self._snapshot

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end (after Quit); True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ---- the worker thread ----
    def _loop(self) -> None:
        try:
            self._load_settings()
            self._refresh_history()
            self._emit()
            while True:
                wait = self._wait_seconds()
                try:
                    message = self._queue.get(timeout=wait)
                except queue.Empty:
                    message = None
                if message is not None:
                    self._handle(message)
                if self._quitting and self._cycle is None:
                    break
                self._on_tick(wait)
        except Exception:  # a bug: say it in the log and in the tray, not silently
            log.exception("the worker stopped")
            raise
        finally:
            with self._lock:
                if self._token is not None:  # only after a bug: leave no tool running
                    self._token.cancel()
                self._snapshot = dataclasses.replace(self._snapshot, stopped=True)
            self.publish(self._snapshot)

    def _wait_seconds(self) -> float:
        wait = self._tick
        now = self._clock()
        due = self._due()
        if due is not None and self._cycle is None:
            wait = min(wait, max(0.0, due.at - now))
        if self._schedule:
            wait = min(wait, max(0.0, self._lookout.next_look(now) - now))
        return max(0.05, wait)

    def _due(self) -> Due | None:
        if not self._schedule or self._settings is None:
            return None
        return self.scheduler.due(self._settings.schedule.every_hours, self._clock())

    def _on_tick(self, asked: float) -> None:
        now = self._clock()
        if self.scheduler.tick(now, asked):
            log.info("the clock jumped or the machine slept; an overdue backup waits to settle")
        self._reload_if_changed()
        due = self._due()
        self._power_hold = False
        if due is not None and due.at <= now and self._cycle is None and not self._quitting:
            if self._held_by_battery():
                self._power_hold = True
            else:
                self._start_cycle(due.reason)
        self._catch_up_returns(now)
        self._tell_overdue(now)
        self._tell_away(now)
        self._emit()

    def _held_by_battery(self) -> bool:
        """A cycle that starts by itself waits for mains power when the settings say so."""
        settings = self._settings
        return settings is not None and not settings.schedule.on_battery and self._on_battery()

    def _catch_up_returns(self, now: float) -> None:
        """A place that was away is back: catch up what waited for it, if anything did."""
        if not self._schedule or self._settings is None:
            return
        back = self._lookout.back(self._settings, now)
        if not back or self._cycle is not None or self._quitting:
            return
        if self.scheduler.pause.active(now):
            return  # kept: it catches up once the pause ends
        if self._held_by_battery():
            self._power_hold = True
            return
        if self._catch_up_due(now):
            log.info("%s is back; catching up", ", ".join(back))
            self._start_cycle("returned")
        self._lookout.settled()

    def _catch_up_due(self, now: float) -> bool:
        """Something waited for a place (the last cycle found one away), or the last cycle that
        had every place is older than the schedule's interval."""
        status, settings = self._history, self._settings
        if status is None or settings is None or status.away:
            return True
        last = status.last_complete
        return last is None or now - last > settings.schedule.every_hours * 3600

    def _tell_away(self, now: float) -> None:
        """A place away for longer than notifications.away_hours is told, once per absence."""
        if self._history is None or self._settings is None:
            return
        hours = self._settings.notifications.away_hours
        for place in away_too_long(self._history.away, now, hours):
            key = (place.place, place.since)
            if key not in self._away_told:
                self._away_told.add(key)
                self._notify(away_notice(place, now))

    def _tell_overdue(self, now: float) -> None:
        """Backups that stopped must be told even when no cycle runs to tell it (paused, or
        the machine kept off): once on start-up and then at most once a day."""
        if self._cycle is not None or self._history is None or self._settings is None:
            return
        if now - self._overdue_told < OVERDUE_REMINDER_SECONDS:
            return
        days = self._settings.notifications.overdue_days
        overdue = overdue_places(self._history.places, now, days)
        if overdue:
            self._overdue_told = now
            self._notify(overdue_notice(overdue))

    def _handle(self, message: Command | _Event | _Done) -> None:
        if isinstance(message, BackupNow):
            if self._cycle is None and not self._quitting:
                self._start_cycle(message.trigger, allowed_deletions=message.allowed_deletions)
        elif isinstance(message, Cancel):
            if self._cycle is not None:
                self._cancelling = True
        elif isinstance(message, Pause):
            self.scheduler.set_pause(PauseState(True, message.until))
        elif isinstance(message, Resume):
            self.scheduler.set_pause(PauseState())
        elif isinstance(message, ReloadSettings):
            self._load_settings()
        elif isinstance(message, Quit):
            self._quitting = True
            self._cancelling = self._cycle is not None
        elif isinstance(message, _Event):
            self._on_event(message.event)
        elif isinstance(message, _Done):
            self._on_done(message)
        self._emit()

    # ---- settings ----
    @property
    def _settings(self) -> Settings | None:
        return self._watcher.settings

    def _load_settings(self) -> None:
        self._watcher.load()

    def _reload_if_changed(self) -> None:
        self._watcher.reload_if_changed()

    # ---- cycles ----
    def _start_cycle(self, trigger: str, *, allowed_deletions: int = 0) -> None:
        self._reload_if_changed()  # changes to the settings apply from the next cycle
        if self._settings is None:  # never loaded good settings: nothing to back up with
            why = f"The settings have a problem: {self._watcher.problem}."
            self._notify(Notice("Backup cannot run", why, NoticeKind.SETTINGS))
            return
        token = CancelToken()
        with self._lock:
            self._token = token
        self._trigger, self._progress, self._cancelling = trigger, None, False
        self._power_hold = False
        roots = self._drive_roots() if self._drive_roots is not None else self._options.drive_roots
        options = dataclasses.replace(
            self._options,
            trigger=_trigger_name(trigger),
            allowed_deletions=allowed_deletions,
            drive_roots=roots,
        )
        self._cycle = threading.Thread(
            target=self._cycle_body,
            args=(self._settings, token, options),
            name="megabackup-cycle",
            daemon=True,
        )
        self._cycle.start()

    def _cycle_body(self, settings: Settings, token: CancelToken, options: CycleOptions) -> None:
        try:
            result = run_cycle(
                settings,
                self.paths,
                events=lambda event: self._queue.put(_Event(event)),
                cancel=token,
                options=options,
            )
        except CycleBusy as exc:
            self._queue.put(_Done(None, str(exc), busy=True))
        except Exception as exc:  # the engine recorded it in the history; report it here
            log.exception("the cycle stopped with an error")
            self._queue.put(_Done(None, f"internal error: {exc!r}"))
        else:
            self._queue.put(_Done(result))

    def _on_event(self, event: CycleEvent) -> None:
        if event.kind == "step-started":
            self._progress = Progress(event.index, event.total, event.title)
        elif event.kind == "started":
            self._progress = Progress(0, event.total, "checking the places")

    def _on_done(self, done: _Done) -> None:
        if self._cycle is not None:
            self._cycle.join()
        self._cycle = None
        with self._lock:
            self._token = None
        asked = self._trigger == "manual"
        now = self._clock()
        result = done.result
        self._busy_elsewhere = done.busy
        if result is None:
            log.warning("cycle did not run: %s", done.error)
            self.scheduler.record(now, needs_retry=True)  # busy elsewhere too: look again soon
            if not self._busy_elsewhere:
                self._send(Notice("Backup failed", done.error, NoticeKind.FAILED), now, asked)
            self._refresh_history()
            return
        self.results.append(result)
        self._deletions_waiting = result.deletions_waiting
        self.scheduler.record(result.finished, needs_retry=_needs_retry(result))
        status = self._refresh_history()
        assert self._settings is not None
        days = self._settings.notifications.overdue_days
        overdue = overdue_places(status.places, now, days) if status else ()
        notice = cycle_notice(
            result, on_success=self._settings.notifications.on_success, overdue=overdue
        )
        if overdue:
            self._overdue_told = now  # told with this cycle's news
        if notice is not None and not (self._quitting and result.outcome == Outcome.CANCELLED):
            self._send(notice, now, asked)

    def _send(self, notice: Notice, now: float, asked: bool) -> None:
        if self._repeats.allow(notice, now, asked=asked):
            self._notify(notice)

    # ---- status ----
    def _refresh_history(self) -> Status | None:
        wanted = places.sources(self._settings) if self._settings else places.SOURCES
        try:
            status = read_status(self.paths, wanted)
        except (HistoryError, sqlite3.Error) as exc:  # the status must not take the tray down
            log.warning("cannot read the history: %s", exc)
            return self._history
        self._history = status
        self._lookout.expect(place.place for place in status.away)
        run = status.last_run
        if run is not None and self.scheduler.last_finished is None:
            # first look at the history after start-up: the schedule continues from it
            self.scheduler.record(run.finished or run.started, run.outcome == Outcome.FAILED)
        return status

    def _emit(self) -> None:
        now = self._clock()
        facts = Facts(
            now=now,
            history=self._history,
            overdue_days=self._settings.notifications.overdue_days if self._settings else 7,
            pause=self.scheduler.pause,
            next_due=self._due() if self._cycle is None else None,
            running=self._cycle is not None,
            cancelling=self._cancelling,
            progress=self._progress,
            retrying=self.scheduler.failures > 0,
            settings_problem=self._watcher.problem,
            settings_usable=self._settings is not None,
            busy_elsewhere=self._busy_elsewhere,
            deletions_waiting=self._deletions_waiting,
            last_log=newest_log(self.paths.logs),
            quitting=self._quitting,
            power_hold=self._power_hold,
        )
        state = tray_state(facts)
        with self._lock:
            changed = dataclasses.replace(state, taken=0) != dataclasses.replace(
                self._snapshot, taken=0
            )
            self._snapshot = state
        if changed or now - self._last_emit >= 60:  # ages ("2 hours ago") move once a minute
            self._last_emit = now
            self.publish(state)


def _needs_retry(result: CycleResult) -> bool:
    """A step failed or could not run: try again soon, not in every_hours. A place that is away
    is not retried: the lookout starts a cycle when it is back."""
    return result.outcome == Outcome.FAILED or any(
        s.status == Outcome.SKIPPED for s in result.steps
    )


def _trigger_name(trigger: str) -> str:
    return {"manual": "tray", "first": "schedule", "scheduled": "schedule"}.get(trigger, trigger)
