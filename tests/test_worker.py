"""The worker against the real engine on the demo places: back up, cancel, pause, quit, reload."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from megabackup.demo import build_places
from megabackup.engine import CycleOptions, run_cycle
from megabackup.engine.status import read_status
from megabackup.locations import AppPaths
from megabackup.notify import Notice
from megabackup.settings import load
from megabackup.tray import menu
from megabackup.tray.icons import IconState
from megabackup.tray.state import TrayState
from megabackup.tray.worker import (
    BackupNow,
    Cancel,
    Pause,
    Quit,
    ReloadSettings,
    Resume,
    Worker,
)

pytestmark = [pytest.mark.realtools, pytest.mark.timeout(120)]


class Recorder:
    """Collects what the worker publishes and notifies, and waits for a condition on it."""

    def __init__(self) -> None:
        self.snapshots: list[TrayState] = []
        self.notices: list[Notice] = []
        self._changed = threading.Condition()

    def publish(self, snapshot: TrayState) -> None:
        with self._changed:
            self.snapshots.append(snapshot)
            self._changed.notify_all()

    def notify(self, notice: Notice) -> None:
        with self._changed:
            self.notices.append(notice)
            self._changed.notify_all()

    def wait(self, what: str, check: Callable[[], object], timeout: float = 60) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(check()), timeout):
                raise AssertionError(f"timed out waiting for {what}; last: {self.last}")

    @property
    def last(self) -> TrayState | None:
        return self.snapshots[-1] if self.snapshots else None


class Setup:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.settings = build_places(root / "places")
        self.paths = AppPaths(root / "state")
        self.recorder = Recorder()
        self.workers: list[Worker] = []

    def worker(self, **kwargs) -> Worker:
        kwargs.setdefault("schedule", False)
        worker = Worker(
            self.settings,
            self.paths,
            publish=self.recorder.publish,
            notify=self.recorder.notify,
            **kwargs,
        )
        seen = len(self.recorder.snapshots)
        worker.start()
        self.workers.append(worker)
        self.recorder.wait("its first snapshot", lambda: len(self.recorder.snapshots) > seen)
        return worker

    def runs(self) -> list[tuple[str, str]]:
        """(trigger, outcome) of each run, oldest first. Read-only and raw: opening History()
        here would race the engine's first creation of the file."""
        if not self.paths.history.exists():
            return []
        try:
            with sqlite3.connect(f"file:{self.paths.history}?mode=ro", uri=True) as db:
                return db.execute("SELECT trigger, outcome FROM runs ORDER BY id").fetchall()
        except sqlite3.Error:
            return []  # not created yet


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = Setup(tmp_path)
    yield made
    for worker in made.workers:
        worker.submit(Quit())
        assert worker.join(60), "a worker did not stop after Quit"


def _cycles_done(setup: Setup, count: int = 1) -> Callable[[], bool]:
    """True once `count` cycles are in the history and the worker shows none running."""

    def done() -> bool:
        runs = setup.runs()
        last = setup.recorder.last
        finished = len(runs) >= count and runs[-1][1] != "running"
        return finished and last is not None and not last.running

    return done


def _started(setup: Setup) -> Callable[[], bool]:
    return lambda: any(s.running for s in setup.recorder.snapshots)


def _worker_in_a_cycle(setup: Setup) -> Worker:
    worker = setup.worker()
    worker.submit(BackupNow())
    setup.recorder.wait("the cycle to start", _started(setup))
    return worker


def _last(setup: Setup) -> TrayState:
    last = setup.recorder.last
    assert last is not None
    return last


def test_back_up_now_runs_a_cycle_reports_progress_and_notifies(setup: Setup) -> None:
    worker = setup.worker()
    first = setup.recorder.last
    assert first is not None and first.last_outcome is None and not first.running
    worker.submit(BackupNow())
    setup.recorder.wait("the cycle to finish", _cycles_done(setup))

    running = [s for s in setup.recorder.snapshots if s.running]
    steps = [s.progress.index for s in running if s.progress is not None]
    # every step was shown; the first round of snapshots runs side by side, so 1 and 3 overlap
    assert set(steps) >= {1, 2, 3, 4, 5, 6} and steps[-1] == 6
    assert running[-1].progress is not None and running[-1].progress.total == 6
    last = setup.recorder.last
    assert last is not None
    assert (last.last_outcome, last.running, last.last_log is not None) == ("ok", False, True)
    assert setup.runs() == [("tray", "ok")]
    assert [n.title for n in setup.recorder.notices] == ["Backup finished"]


def test_cancel_stops_the_cycle_and_the_next_one_is_good(setup: Setup) -> None:
    worker = _worker_in_a_cycle(setup)
    worker.submit(Cancel())
    setup.recorder.wait("the cancelled cycle", _cycles_done(setup))
    assert setup.runs() == [("tray", "cancelled")]
    assert any(s.cancelling for s in setup.recorder.snapshots)
    assert setup.recorder.notices == []  # the person cancelled; no news to tell

    worker.submit(BackupNow())
    setup.recorder.wait("the second cycle", _cycles_done(setup, 2))
    assert setup.runs()[-1] == ("tray", "ok")


def test_quit_during_a_cycle_cancels_it_and_leaves_nothing_the_next_cycle_cannot_repair(
    setup: Setup,
) -> None:
    worker = _worker_in_a_cycle(setup)
    worker.submit(Quit())
    assert worker.join(60)
    last = setup.recorder.last
    assert last is not None and last.stopped and last.quitting
    assert setup.runs() == [("tray", "cancelled")]
    assert not read_status(setup.paths).running  # the cycle lock is free again
    again = run_cycle(load(setup.settings), setup.paths, options=CycleOptions(trigger="test"))
    assert again.outcome == "ok", again.summary()


def test_pause_shows_at_once_persists_across_a_restart_and_resume_clears_it(setup: Setup) -> None:
    worker = setup.worker()
    until = time.time() + 3600
    worker.submit(Pause(until))
    setup.recorder.wait("the pause", lambda: _last(setup).paused)
    assert _last(setup).paused_until == until
    assert json.loads(setup.paths.state.read_text())["pause"] == {"paused": True, "until": until}
    worker.submit(Quit())
    assert worker.join(30)

    restarted = setup.worker()
    assert restarted.snapshot.paused and restarted.snapshot.paused_until == until
    restarted.submit(Resume())
    setup.recorder.wait("the resume", lambda: not _last(setup).paused)
    assert json.loads(setup.paths.state.read_text())["pause"]["paused"] is False


def test_pause_during_a_cycle_shows_within_a_second_and_back_up_now_still_works(
    setup: Setup,
) -> None:
    worker = _worker_in_a_cycle(setup)
    asked = time.monotonic()
    worker.submit(Pause(None))
    setup.recorder.wait("the pause", lambda: _last(setup).paused, timeout=1)
    assert time.monotonic() - asked < 1
    setup.recorder.wait("the cycle to end", _cycles_done(setup))
    worker.submit(BackupNow())  # a pause holds the schedule, not the person
    setup.recorder.wait("the second cycle", _cycles_done(setup, 2))
    assert [outcome for _, outcome in setup.runs()] == ["ok", "ok"]


def test_the_schedule_starts_the_first_cycle_by_itself(setup: Setup) -> None:
    setup.worker(schedule=True, settle_seconds=0.2, tick_seconds=0.2)
    setup.recorder.wait("a scheduled cycle", _cycles_done(setup))
    assert setup.runs()[0] == ("schedule", "ok")
    last = setup.recorder.last
    assert last is not None and last.next_due is not None
    assert last.next_due.reason == "scheduled"


class FakeClock:
    """The worker's clock, moved on by the test: minutes pass in an instant."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _found_by_its_marker(setup: Setup, extra: str = "") -> Path:
    """The drive found on the mounted drives by its marker (no external.path), as most people
    set it up; returns the drive's root, which the fake drive list names."""
    text = setup.settings.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if not line.startswith("path = ")]
    setup.settings.write_text("\n".join(kept) + "\n" + extra, encoding="utf-8")
    return setup.settings.parent / "usb-drive"


def _plugged_in_and_out(setup: Setup, extra: str = "") -> tuple[Worker, FakeClock, Path]:
    usb = _found_by_its_marker(setup, extra)
    unplugged = usb.with_name("usb-unplugged")
    usb.rename(unplugged)
    worker, clock = _watching(setup, usb)
    return worker, clock, unplugged


def _watching(
    setup: Setup, usb: Path | None = None, back_up_now: bool = True
) -> tuple[Worker, FakeClock]:
    """A scheduling worker on a fake clock (with the drive list [usb] when given), after one
    "Back up now" cycle if asked. The start-up settle of the schedule is set far away: only
    what the test does starts a cycle."""
    clock = FakeClock()
    worker = setup.worker(
        schedule=True,
        settle_seconds=10**7,
        tick_seconds=0.05,
        clock=clock,
        drive_roots=None if usb is None else lambda: [usb],
    )
    if back_up_now:
        worker.submit(BackupNow())
        setup.recorder.wait("the first cycle", _cycles_done(setup))
    return worker, clock


def test_an_unplugged_drive_is_waited_for_without_a_retry_or_a_notification(
    setup: Setup,
) -> None:
    _plugged_in_and_out(setup)
    last = _last(setup)
    assert setup.runs() == [("tray", "away")]
    assert last.last_outcome == "away" and not last.retrying
    assert last.next_due is not None and last.next_due.reason == "scheduled"  # in 4 hours
    view = menu.view(last)
    assert view.state is IconState.WAITING
    assert view.line.startswith("USB drive not connected since ")
    assert "this PC was backed up at" in view.line
    assert setup.recorder.notices == []  # an ordinary afternoon is not news


def test_plugging_the_drive_in_catches_up_within_two_minutes(setup: Setup) -> None:
    _worker, clock, unplugged = _plugged_in_and_out(setup)
    unplugged.rename(unplugged.with_name("usb-drive"))
    plugged_at = clock.now
    for _ in range(6):  # half a minute at a time, as the worker ticks through it
        clock.advance(30)
        time.sleep(0.3)
        if len(setup.runs()) > 1:
            break
    setup.recorder.wait("the catch-up", _cycles_done(setup, 2))
    assert setup.runs() == [("tray", "away"), ("returned", "ok")]
    assert clock.now - plugged_at <= 120
    assert menu.view(_last(setup)).state is IconState.OK


def test_with_the_setting_off_plugging_the_drive_in_starts_nothing(setup: Setup) -> None:
    _worker, clock, unplugged = _plugged_in_and_out(
        setup, "[schedule]\non_drive_connected = false\n"
    )
    unplugged.rename(unplugged.with_name("usb-drive"))
    for _ in range(8):
        clock.advance(30)
        time.sleep(0.2)
    assert setup.runs() == [("tray", "away")]


def _ticks(clock: FakeClock, count: int, until: Callable[[], bool] = lambda: False) -> None:
    """Half a minute of the fake clock at a time, with real time for the worker to tick."""
    for _ in range(count):
        clock.advance(30)
        time.sleep(0.3)
        if until():
            return


def test_a_server_back_from_away_is_caught_up_within_two_minutes(setup: Setup) -> None:
    server = setup.settings.parent / "server" / "home"
    out_of_reach = server.with_name("home-out-of-reach")
    server.rename(out_of_reach)
    _worker, clock = _watching(setup)
    assert setup.runs() == [("tray", "away")]
    _ticks(clock, 6)  # three minutes still away: looked for, not started
    assert setup.runs() == [("tray", "away")]
    assert menu.view(_last(setup)).line.startswith("Server not reachable since ")

    out_of_reach.rename(server)
    back_at = clock.now
    _ticks(clock, 6, until=lambda: len(setup.runs()) > 1)
    setup.recorder.wait("the catch-up", _cycles_done(setup, 2))
    assert setup.runs() == [("tray", "away"), ("returned", "ok")]
    assert clock.now - back_at <= 120
    assert menu.view(_last(setup)).state is IconState.OK


def test_the_drive_plugged_back_in_after_a_complete_cycle_starts_nothing(setup: Setup) -> None:
    usb = _found_by_its_marker(setup)
    _worker, clock = _watching(setup, usb)
    unplugged = usb.with_name("usb-unplugged")
    usb.rename(unplugged)
    _ticks(clock, 3)  # seen unplugged
    unplugged.rename(usb)
    _ticks(clock, 8)
    # nothing waited for it and the last complete cycle is minutes old: no backup to catch up
    assert setup.runs() == [("tray", "ok")]


def test_the_drive_plugged_in_when_the_last_backup_is_older_than_the_interval_starts_one(
    setup: Setup,
) -> None:
    usb = _found_by_its_marker(setup)
    options = CycleOptions(trigger="test", drive_roots=[usb])
    run_cycle(load(setup.settings), setup.paths, options=options)
    with sqlite3.connect(setup.paths.history) as db:  # that complete cycle was five hours ago
        db.execute("UPDATE runs SET started = started - 18000, finished = finished - 18000")
    unplugged = usb.with_name("usb-unplugged")
    usb.rename(unplugged)
    _worker, clock = _watching(setup, usb, back_up_now=False)  # the overdue one waits too
    _ticks(clock, 3)  # seen unplugged
    assert setup.runs() == [("test", "ok")]
    unplugged.rename(usb)
    _ticks(clock, 6, until=lambda: len(setup.runs()) > 1)
    setup.recorder.wait("the backup the drive started", _cycles_done(setup, 2))
    assert setup.runs() == [("test", "ok"), ("returned", "ok")]


def test_a_scheduled_backup_waits_for_mains_power_and_back_up_now_does_not(
    setup: Setup,
) -> None:
    text = setup.settings.read_text(encoding="utf-8")
    setup.settings.write_text(text + "[schedule]\non_battery = false\n", encoding="utf-8")
    battery = [True]
    worker = setup.worker(
        schedule=True, settle_seconds=0.2, tick_seconds=0.05, on_battery=lambda: battery[0]
    )
    setup.recorder.wait("the hold", lambda: _last(setup).power_hold)
    time.sleep(1.0)
    assert setup.runs() == []  # due, but on battery
    assert "on battery, the next backup waits for power" in menu.view(_last(setup)).line
    battery[0] = False  # plugged in
    setup.recorder.wait("the scheduled cycle", _cycles_done(setup))
    assert setup.runs() == [("schedule", "ok")]
    battery[0] = True
    worker.submit(BackupNow())  # the person asked: it runs on battery too
    setup.recorder.wait("the asked-for cycle", _cycles_done(setup, 2))
    assert setup.runs()[-1] == ("tray", "ok")


def test_a_place_away_longer_than_away_hours_is_told_once(setup: Setup) -> None:
    server = setup.settings.parent / "server" / "home"
    server.rename(server.with_name("home-out-of-reach"))
    result = run_cycle(load(setup.settings), setup.paths, options=CycleOptions(trigger="test"))
    assert result.outcome == "away"
    a_day_later = time.time() + 25 * 3600
    setup.worker(clock=lambda: a_day_later, tick_seconds=0.05)
    setup.recorder.wait("the notice", lambda: setup.recorder.notices)
    time.sleep(0.5)  # ten more ticks
    (notice,) = setup.recorder.notices
    assert notice.title == "Server home away for 25 hours"
    assert notice.message.startswith(f"The server home {server} is not reachable since ")
    assert notice.kind == "away"
    assert menu.view(_last(setup)).line.startswith("Server not reachable since ")


def test_invalid_settings_are_announced_and_the_last_good_ones_stay(setup: Setup) -> None:
    worker = setup.worker()
    good = setup.settings.read_text(encoding="utf-8")
    setup.settings.write_text(good + "[schedule]\nevery_hours = 0\n", encoding="utf-8")
    worker.submit(ReloadSettings())
    setup.recorder.wait("the settings notice", lambda: setup.recorder.notices)
    notice = setup.recorder.notices[0]
    assert (notice.title, "schedule.every_hours" in notice.message) == (
        "Settings have a problem",
        True,
    )
    setup.recorder.wait("the problem in the status", lambda: _last(setup).settings_problem)
    assert "schedule.every_hours" in _last(setup).settings_problem
    worker.submit(ReloadSettings())  # e.g. "Open settings": the same old problem is not news
    worker.submit(BackupNow())
    setup.recorder.wait("the cycle", _cycles_done(setup))
    assert setup.runs() == [("tray", "ok")]  # it ran with the last good settings
    assert [n.title for n in setup.recorder.notices] == [
        "Settings have a problem",
        "Backup finished",
    ]

    setup.settings.write_text(good, encoding="utf-8")
    worker.submit(ReloadSettings())
    setup.recorder.wait("the problem to clear", lambda: not _last(setup).settings_problem)


def test_with_no_good_settings_at_all_back_up_now_explains_why_not(setup: Setup) -> None:
    setup.settings.write_text("[desktop]\nhome = 3\n", encoding="utf-8")
    worker = setup.worker()
    assert not worker.snapshot.settings_usable
    assert [n.title for n in setup.recorder.notices] == ["Settings have a problem"]
    worker.submit(BackupNow())
    setup.recorder.wait("the explanation", lambda: len(setup.recorder.notices) == 2)
    assert setup.recorder.notices[1].title == "Backup cannot run"
    assert "desktop.home" in setup.recorder.notices[1].message
    assert setup.runs() == []


def test_a_cycle_running_elsewhere_is_waited_out(setup: Setup) -> None:
    import filelock

    setup.paths.ensure()
    lock = filelock.FileLock(str(setup.paths.cycle_lock))
    lock.acquire()
    try:
        worker = setup.worker()
        worker.submit(BackupNow())
        setup.recorder.wait("the busy state", lambda: _last(setup).busy_elsewhere)
    finally:
        lock.release()
    assert setup.runs() == []
    assert setup.recorder.notices == []  # the other cycle will tell its own news


def test_a_damaged_history_does_not_take_the_tray_down(setup: Setup) -> None:
    setup.paths.ensure()
    setup.paths.history.write_bytes(b"this is not a database" * 100)
    worker = setup.worker()
    assert worker.alive and not _last(setup).stopped
    assert _last(setup).last_outcome is None


def test_an_overdue_place_is_told_even_while_paused(setup: Setup) -> None:
    run_cycle(load(setup.settings), setup.paths, options=CycleOptions(trigger="test"))
    ten_days_later = time.time() + 10 * 86_400
    setup.paths.state.write_text(json.dumps({"pause": {"paused": True, "until": None}}))
    setup.worker(clock=lambda: ten_days_later, tick_seconds=0.05)
    setup.recorder.wait("the reminder", lambda: setup.recorder.notices)
    time.sleep(0.5)  # ten more ticks
    titles = [n.title for n in setup.recorder.notices]
    assert titles[0].startswith("No good snapshot of ") and titles[0].endswith(" for 10 days")
    assert _last(setup).paused and _last(setup).overdue
    assert len(titles) == 1  # once, not at every tick


def test_overdue_is_told_per_place_while_the_server_is_away(setup: Setup) -> None:
    run_cycle(load(setup.settings), setup.paths, options=CycleOptions(trigger="test"))
    with sqlite3.connect(setup.paths.history) as db:  # that complete cycle was ten days ago
        db.execute("UPDATE runs SET started = started - 864000, finished = finished - 864000")
        db.execute("UPDATE steps SET started = started - 864000, finished = finished - 864000")
    server = setup.settings.parent / "server" / "home"
    server.rename(server.with_name("home-out-of-reach"))
    assert run_cycle(load(setup.settings), setup.paths).outcome == "away"  # the PC: today
    setup.worker(tick_seconds=0.05)
    setup.recorder.wait("the reminder", lambda: setup.recorder.notices)
    time.sleep(0.5)  # ten more ticks
    # the PC is fresh, so only the server home is overdue; away for minutes is no news yet
    assert [n.title for n in setup.recorder.notices] == [
        "No good snapshot of server home for 10 days"
    ]
    assert [place for place, _days in _last(setup).overdue] == ["server home"]


def test_a_held_sync_waits_until_the_person_allows_the_deletions(setup: Setup) -> None:
    home = setup.settings.parent / "desktop" / "home" / "Documents"
    for index in range(30):
        (home / f"old-{index:02}.txt").write_text(f"old {index}\n")
    server_copy = setup.settings.parent / "server" / "home" / "Documents" / "old-07.txt"
    worker = setup.worker()
    worker.submit(BackupNow())
    setup.recorder.wait("the first cycle", _cycles_done(setup, 1))
    assert server_copy.is_file()
    for index in range(30):
        (home / f"old-{index:02}.txt").unlink()

    worker.submit(BackupNow())
    setup.recorder.wait("the held cycle", _cycles_done(setup, 2))

    assert _last(setup).deletions_waiting == 30
    assert server_copy.is_file(), "the deletions wait for the person's OK"
    assert setup.recorder.notices[-1].title == "The sync waits for your OK"
    worker.submit(BackupNow(allowed_deletions=30))
    setup.recorder.wait("the allowed cycle", _cycles_done(setup, 3))
    assert not server_copy.exists()
    assert _last(setup).deletions_waiting == 0
