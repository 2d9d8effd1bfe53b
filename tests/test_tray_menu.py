"""The menu model for every state, and the tray's callbacks, headless (pystray's dummy backend)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from megabackup.locations import AppPaths
from megabackup.notify import TOOLTIP_LIMIT
from megabackup.outcome import Outcome
from megabackup.tray import app as tray
from megabackup.tray import menu
from megabackup.tray.autostart import Autostart
from megabackup.tray.icons import IconState
from megabackup.tray.scheduler import Due
from megabackup.tray.state import Progress, TrayState
from megabackup.tray.worker import (
    BackupNow,
    Cancel,
    Pause,
    Quit,
    ReloadSettings,
    Resume,
)

NOW = dt.datetime(2026, 11, 30, 13, 0).timestamp()
AT_1530 = dt.datetime(2026, 11, 30, 15, 30).timestamp()
AT_0902 = dt.datetime(2026, 11, 30, 9, 2).timestamp()
AT_1230 = dt.datetime(2026, 11, 30, 12, 30).timestamp()
HOUR = 3600.0
GOOD = TrayState(
    taken=NOW, last_finished=NOW - 2 * HOUR, last_outcome=Outcome.OK, last_summary="All good"
)


def snap(**changes: Any) -> TrayState:
    return dataclasses.replace(GOOD, **changes)


# ---- the status line and icon, state by state ---------------------------------------------------
@pytest.mark.parametrize(
    ("snapshot", "state", "line"),
    [
        (GOOD, IconState.OK, "Last backup 2 hours ago, all good"),
        (
            snap(running=True, progress=Progress(3, 6, "syncing home")),
            IconState.RUNNING,
            "Backing up: step 3 of 6, syncing home",
        ),
        (snap(running=True), IconState.RUNNING, "Backing up: checking the places"),
        (snap(running=True, cancelling=True), IconState.RUNNING, "Cancelling the backup\u2026"),
        (snap(paused=True, paused_until=AT_1530), IconState.PAUSED, "Paused until 15:30"),
        (snap(paused=True, paused_until=None), IconState.PAUSED, "Paused until you resume"),
        (
            snap(paused=True, paused_until=AT_1530 + 24 * HOUR),
            IconState.PAUSED,
            "Paused until Tue 15:30",
        ),
        (snap(open_conflicts=2), IconState.WARNING, "2 conflicts need a look"),
        (snap(open_conflicts=1), IconState.WARNING, "1 conflict needs a look"),
        (
            snap(
                last_outcome=Outcome.FAILED,
                last_summary="Stopped before writing anything: the external drive is not connected",
                retrying=True,
                next_due=Due(AT_1530, "retry"),
            ),
            IconState.ERROR,
            "The external drive is not connected; trying again at 15:30",
        ),
        (
            snap(last_outcome=Outcome.INTERRUPTED, last_summary=""),
            IconState.ERROR,
            "The last backup was cut off; the next one repairs it",
        ),
        (
            snap(
                last_outcome=Outcome.WARNING,
                last_summary="Done with warnings: the external drive is not connected",
            ),
            IconState.WARNING,
            "Last backup 2 hours ago: the external drive is not connected",
        ),
        (
            snap(overdue=(("server data", 9),)),
            IconState.OVERDUE,
            "No good snapshot of server data for 9 days",
        ),
        (
            snap(last_finished=None, last_outcome=None, next_due=Due(AT_1530, "first")),
            IconState.OVERDUE,
            "No backup yet; the first one starts at 15:30",
        ),
        (
            snap(settings_usable=False, settings_problem="desktop.home: is missing"),
            IconState.ERROR,
            "Settings need fixing: desktop.home: is missing",
        ),
        (
            snap(settings_problem="schedule.every_hours = 0: too small"),
            IconState.WARNING,
            "Settings have a problem (the last good ones are used): "
            "schedule.every_hours = 0: too small",
        ),
        (snap(busy_elsewhere=True), IconState.RUNNING, "A backup started elsewhere is running"),
        (
            snap(last_outcome=Outcome.CANCELLED, next_due=Due(AT_1530, "scheduled")),
            IconState.WARNING,
            "The last backup was cancelled (2 hours ago); next at 15:30",
        ),
        (
            snap(stopped=True),
            IconState.ERROR,
            "MegaBackup stopped working; see the log and start it again",
        ),
        (snap(stopped=True, quitting=True), IconState.PAUSED, "MegaBackup has stopped"),
        (
            snap(
                last_outcome=Outcome.AWAY,
                away=(("server home", AT_0902),),
                backed_up=(("server home", AT_0902 - HOUR), ("desktop home", AT_1230)),
            ),
            IconState.WAITING,
            "Server not reachable since 09:02; this PC was backed up at 12:30",
        ),
        (
            snap(
                last_outcome=Outcome.AWAY,
                away=(("server data", AT_0902 + 60), ("server home", AT_0902)),
                backed_up=(("desktop home", AT_1230),),
            ),
            IconState.WAITING,
            "Server not reachable since 09:02; this PC was backed up at 12:30",
        ),
        (
            snap(
                last_outcome=Outcome.AWAY,
                away=(("desktop backup", AT_0902),),
                backed_up=(("server home", AT_1230), ("desktop home", AT_0902 - HOUR)),
            ),
            IconState.WAITING,
            "Backup disk not connected since 09:02; the server was backed up at 12:30",
        ),
        (
            snap(last_outcome=Outcome.AWAY, away=(("external drive", AT_0902),)),
            IconState.WAITING,
            "USB drive not connected since 09:02",
        ),
        (
            snap(power_hold=True),
            IconState.OK,
            "Last backup 2 hours ago, all good; on battery, the next backup waits for power",
        ),
    ],
)
def test_status_line_and_icon(snapshot: TrayState, state: IconState, line: str) -> None:
    view = menu.view(snapshot)
    assert (view.state, view.line) == (state, line)


def test_what_needs_the_person_wins_over_good_news() -> None:
    # A running cycle shows over everything; a failure over conflicts; conflicts over overdue.
    busy = snap(running=True, last_outcome=Outcome.FAILED, open_conflicts=3)
    assert menu.view(busy).state is IconState.RUNNING
    failed = snap(last_outcome=Outcome.FAILED, last_summary="x failed", open_conflicts=3)
    assert menu.view(failed).state is IconState.ERROR
    conflicted = snap(open_conflicts=3, overdue=(("server home", 8),))
    assert menu.view(conflicted).state is IconState.WARNING
    # A place away is ordinary: what needs the person (and an overdue place) shows over it
    away = {"last_outcome": Outcome.AWAY, "away": (("server home", AT_0902),)}
    assert menu.view(snap(**away)).state is IconState.WAITING
    assert menu.view(snap(**away, open_conflicts=1)).state is IconState.WARNING
    assert menu.view(snap(**away, overdue=(("server home", 8),))).state is IconState.OVERDUE
    other_warnings = snap(last_outcome=Outcome.WARNING, away=away["away"], last_summary="x")
    assert menu.view(other_warnings).state is IconState.WARNING
    held = snap(**away, last_summary="x", power_hold=True, running=True)
    assert "battery" not in menu.view(held).line  # running: nothing waits


def test_progress_fills_the_icon_ring_step_by_step() -> None:
    fractions = [
        menu.view(snap(running=True, progress=Progress(i, 4, "step"))).progress for i in (1, 3)
    ]
    assert fractions == [0.0, 0.5]


def test_the_tooltip_is_cut_to_127_characters() -> None:
    long = snap(last_outcome=Outcome.FAILED, last_summary="x" * 400)
    tooltip = menu.view(long).tooltip
    assert len(tooltip) == TOOLTIP_LIMIT and tooltip.endswith("\u2026")


# ---- the menu items ----------------------------------------------------------------------------
def _rows(items: tuple[menu.Item, ...]) -> list[tuple[str, str, bool, bool | None, bool]]:
    return [(i.text, i.action, i.enabled, i.checked, i.default) for i in items]


def test_the_menu_in_order_when_idle() -> None:
    items = menu.build(snap(last_log=Path("run.log")), autostart=False, platform="win32")
    assert _rows(items) == [
        ("Last backup 2 hours ago, all good", "", False, None, False),
        ("-", "", False, None, False),
        ("Back up now", "backup", True, None, True),
        ("Pause", "", True, None, False),
        ("-", "", False, None, False),
        ("Restore a file\u2026", "restore", True, None, False),
        ("History\u2026", "history", True, None, False),
        ("Open last log", "open-log", True, None, False),
        ("Settings\u2026", "settings", True, None, False),
        ("Start with Windows", "autostart", True, False, False),
        ("-", "", False, None, False),
        ("Quit", "quit", True, None, False),
    ]
    pause = items[3].submenu
    assert [(i.text, i.action) for i in pause] == [
        ("30 minutes", "pause:30m"),
        ("1 hour", "pause:1h"),
        ("4 hours", "pause:4h"),
        ("Until tomorrow", "pause:tomorrow"),
        ("Until I resume", "pause:forever"),
    ]


def test_while_running_back_up_now_becomes_cancel_and_is_not_the_click_action() -> None:
    items = menu.build(snap(running=True), autostart=True, platform="linux")
    assert _rows(items)[2] == ("Cancel backup", "cancel", True, None, False)
    assert not any(i.default for i in items)  # a stray click must not cancel a backup
    cancelling = menu.build(snap(running=True, cancelling=True), autostart=True)
    assert _rows(cancelling)[2] == ("Cancelling\u2026", "cancel", False, None, False)


def test_while_paused_the_pause_entry_reads_resume() -> None:
    items = menu.build(snap(paused=True), autostart=None)
    assert _rows(items)[3] == ("Resume", "resume", True, None, False)
    assert "Start" not in " ".join(i.text for i in items)  # no autostart where unsupported


def test_no_log_yet_and_a_backup_elsewhere_disable_their_items() -> None:
    items = menu.build(snap(last_log=None, busy_elsewhere=True), autostart=True, platform="linux")
    rows = {row[0]: row for row in _rows(items)}
    assert rows["Open last log"][2] is False
    assert rows["Back up now"][2] is False
    assert rows["Start at login"][3] is True


def test_menu_actions_map_to_worker_commands() -> None:
    assert menu.command_for("backup", NOW) == BackupNow()
    assert menu.command_for("cancel", NOW) == Cancel()
    assert menu.command_for("resume", NOW) == Resume()
    assert menu.command_for("quit", NOW) == Quit()
    assert menu.command_for("pause:30m", NOW) == Pause(NOW + 1800)
    assert menu.command_for("pause:4h", NOW) == Pause(NOW + 4 * HOUR)
    assert menu.command_for("pause:forever", NOW) == Pause(None)
    tomorrow = menu.command_for("pause:tomorrow", NOW)
    assert isinstance(tomorrow, Pause) and tomorrow.until is not None
    assert dt.datetime.fromtimestamp(tomorrow.until) == dt.datetime(2026, 12, 1, 8, 0)
    assert menu.command_for("open-log", NOW) is None
    assert menu.command_for("allow-deletions:41", NOW) == BackupNow(allowed_deletions=41)
    assert menu.command_for("restore", NOW) is None  # the tray opens the window itself
    assert menu.command_for("settings", NOW) is None and menu.command_for("history", NOW) is None


def test_a_held_sync_offers_to_allow_its_deletions() -> None:
    waiting = snap(deletions_waiting=41, last_outcome=Outcome.WARNING, last_summary="sync held")
    line = menu.view(waiting)
    assert (line.state, line.line) == (
        IconState.WARNING,
        "The sync waits for your OK to pass on 41 deletions",
    )
    rows = _rows(menu.build(waiting, autostart=None))
    assert rows[3] == ("Allow 41 deletions and sync", "allow-deletions:41", True, None, False)
    assert "Allow" not in " ".join(r[0] for r in _rows(menu.build(snap(), autostart=None)))


def test_the_first_run_welcomes_and_points_at_the_settings() -> None:
    from megabackup.tray.firstrun import FILL_IN

    first = menu.view(snap(settings_usable=False, settings_problem=FILL_IN))
    assert first.state == IconState.PAUSED  # nothing is wrong yet: nothing to back up
    assert first.line == f"Welcome! To start, {FILL_IN} (Settings\u2026)"
    broken = menu.view(snap(settings_usable=False, settings_problem="desktop.home: missing"))
    assert broken.state == IconState.ERROR


def test_restore_needs_usable_settings() -> None:
    rows = {r[0]: r for r in _rows(menu.build(snap(settings_usable=False), autostart=None))}
    assert rows["Restore a file\u2026"][2] is False


# ---- the tray's callbacks through real pystray menu objects --------------------------------------
@pytest.fixture
def pystray(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")  # the only backend that imports headless
    import pystray

    if pystray.Icon.__module__ != "pystray._base":
        pytest.skip(f"pystray was already imported with {pystray.Icon.__module__}")
    return pystray


class FakeWorker:
    """Stands in for the worker thread: records commands (the tray must only enqueue)."""

    def __init__(self, snapshot: TrayState) -> None:
        self.snapshot = snapshot
        self.commands: list[object] = []
        self.alive = True
        self.started = False

    def submit(self, command: object) -> None:
        self.commands.append(command)

    def start(self) -> None:
        self.started = True


def _icon_class(pystray: Any) -> Any:
    class RecordingIcon(pystray.Icon):
        """A test double for a tray backend (tool-facts: the dummy backend cannot run)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.calls: list[str] = []
            self.stopped = threading.Event()

        def _show(self) -> None:
            self.calls.append("show")

        def _hide(self) -> None:
            self.calls.append("hide")

        def _update_icon(self) -> None:
            self._icon_valid = True
            self.calls.append("icon")

        def _update_title(self) -> None:
            self.calls.append(f"title:{self.title}")

        def _update_menu(self) -> None:
            self.calls.append("menu")

        def _notify(self, message: str, title: str | None = None) -> None:
            self.calls.append(f"notify:{title}")

        def _remove_notification(self) -> None:
            pass

        def _run(self) -> None:
            self._mark_ready()
            self.stopped.wait(10)

        def _run_detached(self) -> None:
            self._mark_ready()

        def _stop(self) -> None:
            self.stopped.set()

    return RecordingIcon


@pytest.fixture
def app(pystray: Any, tmp_path: Path) -> tray.TrayApp:
    icon = _icon_class(pystray)("megabackup", Image.new("RGBA", (64, 64)), "MegaBackup")
    worker = FakeWorker(snap(last_log=tmp_path / "run-1.log"))
    opened: list[tuple[Path, bool]] = []
    windows: list[str] = []
    made = tray.TrayApp(
        pystray,
        icon,
        worker,  # type: ignore[arg-type]
        settings_path=tmp_path / "config" / "settings.toml",
        autostart=Autostart(["megabackup", "tray"], platform="linux", config_home=tmp_path),
        opener=lambda path, edit=False: opened.append((path, edit)),
        paths=AppPaths(tmp_path / "state"),
        show_window=windows.append,
    )
    made.opened = opened  # type: ignore[attr-defined]
    made.windows = windows  # type: ignore[attr-defined]
    made.redraw()
    return made


def _menu_item(app: tray.TrayApp, *texts: str) -> Any:
    items = app.icon.menu.items
    for text in texts:
        item = next(i for i in items if i.text == text)
        items = item.submenu.items if item.submenu else items
    return item


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("Back up now",), BackupNow()),
        (("Pause", "Until I resume"), Pause(None)),
        (("Quit",), Quit()),
    ],
)
def test_each_menu_callback_only_enqueues_its_command(
    app: tray.TrayApp, path: tuple[str, ...], expected: object
) -> None:
    _menu_item(app, *path)(app.icon)
    assert app.worker.commands == [expected]  # type: ignore[attr-defined]


def test_timed_pauses_enqueue_their_end(app: tray.TrayApp) -> None:
    before = time.time()
    _menu_item(app, "Pause", "1 hour")(app.icon)
    (command,) = app.worker.commands  # type: ignore[attr-defined]
    assert isinstance(command, Pause) and command.until is not None
    assert before + HOUR <= command.until <= time.time() + HOUR


def test_cancel_and_resume_from_their_states(app: tray.TrayApp) -> None:
    app.on_snapshot(snap(running=True, progress=Progress(2, 6, "snapshot of server data")))
    _menu_item(app, "Cancel backup")(app.icon)
    app.on_snapshot(snap(paused=True))
    _menu_item(app, "Resume")(app.icon)
    assert app.worker.commands == [Cancel(), Resume()]  # type: ignore[attr-defined]


def test_a_click_on_the_icon_runs_back_up_now(app: tray.TrayApp) -> None:
    app.icon.menu(app.icon)  # what a backend does on a click: run the default item
    assert app.worker.commands == [BackupNow()]  # type: ignore[attr-defined]


def test_snapshots_set_the_icon_tooltip_and_menu(app: tray.TrayApp) -> None:
    icon = app.icon
    before = icon.icon
    app.on_snapshot(snap(running=True, progress=Progress(4, 6, "syncing home")))
    assert icon.title == "Backing up: step 4 of 6, syncing home"
    assert icon.icon is not before and icon.icon.size == (64, 64)
    assert icon.menu.items[0].text == "Backing up: step 4 of 6, syncing home"
    assert not icon.menu.items[0].enabled
    calls = len(icon.calls)  # type: ignore[attr-defined]
    app.on_snapshot(snap(running=True, progress=Progress(4, 6, "syncing home"), taken=NOW + 1))
    assert len(icon.calls) == calls  # type: ignore[attr-defined]  # nothing changed, nothing redrawn


def test_an_ampersand_in_a_win32_menu_text_is_written_twice(pystray: Any, tmp_path: Path) -> None:
    # Win32 menus read "&" as the mark of a keyboard shortcut; pystray hands texts on unchanged
    summary = "Done with warnings: desktop home: 1 file(s) dated in the future: Tom & Jerry.txt"
    icon = _icon_class(pystray)("megabackup", Image.new("RGBA", (64, 64)), "MegaBackup")
    worker = FakeWorker(snap(last_outcome=Outcome.WARNING, last_summary=summary))
    made = tray.TrayApp(
        pystray,
        icon,
        worker,  # type: ignore[arg-type]
        settings_path=tmp_path / "settings.toml",
        autostart=None,
        platform="win32",
    )
    made.redraw()
    assert "Tom && Jerry.txt" in icon.menu.items[0].text
    assert "Tom & Jerry.txt" in icon.title  # a tooltip shows its text as it is
    assert menu.native_text("Tom & Jerry", platform="linux") == "Tom & Jerry"


def test_open_last_log_and_the_settings_and_history_windows(
    app: tray.TrayApp, tmp_path: Path
) -> None:
    _menu_item(app, "Open last log")(app.icon)
    _menu_item(app, "Settings\u2026")(app.icon)
    _menu_item(app, "History\u2026")(app.icon)
    assert app.opened == [(tmp_path / "run-1.log", False)]  # type: ignore[attr-defined]
    assert app.windows == ["setup", "history"]  # type: ignore[attr-defined]
    assert app.worker.commands == []  # type: ignore[attr-defined]  # a window is not a command


def test_the_set_up_window_reloads_the_worker_when_it_saves(app: tray.TrayApp) -> None:
    form = app.setup_form()
    assert form.settings_path == app.settings_path and form.paths == app.paths
    form.on_saved()
    assert app.worker.commands == [ReloadSettings()]  # type: ignore[attr-defined]
    assert app.history_model().history_path == app.paths.history


def test_a_window_that_cannot_open_falls_back_to_the_text_and_is_told(
    app: tray.TrayApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from megabackup.tray import setup_window

    def no_display(*args: Any) -> bool:
        raise RuntimeError("no display name and no $DISPLAY environment variable")

    monkeypatch.setattr(setup_window, "open_setup_window", no_display)
    told: list[Any] = []
    app.notify = told.append
    app.run_window("setup")
    settings = tmp_path / "config" / "settings.toml"
    assert app.opened == [(settings, True)]  # type: ignore[attr-defined]
    assert "[desktop]" in settings.read_text(encoding="utf-8")  # the template was put in place
    assert [n.title for n in told] == ["MegaBackup could not open that window"]


def test_start_at_login_is_a_checkable_switch(app: tray.TrayApp, tmp_path: Path) -> None:
    desktop_file = tmp_path / "autostart" / "megabackup.desktop"
    assert _menu_item(app, "Start at login").checked is False
    _menu_item(app, "Start at login")(app.icon)
    assert desktop_file.is_file()
    assert _menu_item(app, "Start at login").checked is True
    _menu_item(app, "Start at login")(app.icon)
    assert not desktop_file.exists()
    assert app.worker.commands == []  # type: ignore[attr-defined]


def test_quit_waits_for_the_worker_then_stops_the_icon(app: tray.TrayApp) -> None:
    icon = app.icon
    runner = threading.Thread(target=app.run)
    runner.start()
    # pystray's stop() does nothing before its loop is ready, and the tray's backstop would then
    # end the whole test run (os._exit) 5 s later: quit only once the loop runs, as a person can
    deadline = time.monotonic() + 30
    while not icon._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert icon._running, "the icon's loop did not start"
    _menu_item(app, "Quit")(icon)
    assert app.worker.commands == [Quit()]  # type: ignore[attr-defined]
    assert not icon.stopped.is_set()  # type: ignore[attr-defined]  # a cycle may still be ending
    app.on_snapshot(snap(stopped=True, quitting=True))  # the worker's last word
    runner.join(10)
    assert not runner.is_alive() and app.loop_ended.is_set()
    assert app.worker.started  # type: ignore[attr-defined]  # the setup callback started it


def test_requests_from_a_second_launch(app: tray.TrayApp) -> None:
    app.request("backup-now")
    app.request("pause-forever")
    app.request("reload")
    assert app.worker.commands == [BackupNow(), Pause(None), ReloadSettings()]  # type: ignore[attr-defined]
    app.request("settings")  # the only way to the windows where the tray has no menu (plain X)
    app.request("history")
    assert app.windows == ["setup", "history"]  # type: ignore[attr-defined]


def test_notifications_go_through_the_icon_first_where_it_has_them(app: tray.TrayApp) -> None:
    notifier = tray.notifier_for(app.icon)
    assert [c.__name__ for c in notifier.channels] == ["tray icon", "plyer"]


def test_a_failing_action_is_told_not_raised(app: tray.TrayApp) -> None:
    told: list[object] = []
    app.notify = told.append

    def broken(path: Path, edit: bool = False) -> None:
        raise OSError("no program is registered for .log files")

    app.opener = broken
    app.act("open-log")
    assert [getattr(n, "title", "") for n in told] == ["MegaBackup could not do that"]


def test_the_stuck_loop_backstop_only_guards_a_running_loop(
    app: tray.TrayApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(tray, "STUCK_LOOP_SECONDS", 0.05)
    monkeypatch.setattr(tray.os, "_exit", exits.append)
    app.stop_icon()  # no loop ever ran (as in a test, or a quit before the icon showed)
    time.sleep(0.3)
    assert exits == [], "leaving the process must never be armed for a loop that is not running"
    app.loop_running.set()  # a loop that runs and does not end when asked
    app.stop_icon()
    # waited for, not slept on: on a busy machine a timer that fires after the test has undone
    # its patch would end the test process itself, silently, with exit code 0
    deadline = time.monotonic() + 30
    while not exits and time.monotonic() < deadline:
        time.sleep(0.02)
    assert exits == [0]


def test_the_plain_x_icon_sends_a_latin1_title_so_an_ellipsis_cannot_end_its_thread() -> None:
    """python-xlib refuses a window name outside Latin-1 (UnicodeEncodeError), and pystray's
    plain-X backend sends the tooltip as the icon window's name."""
    pytest.importorskip("Xlib")  # pystray's plain-X backend needs it; Windows has neither

    class XWindow:
        def __init__(self) -> None:
            self.names: list[str] = []

        def change_attributes(self, **kwargs: Any) -> None:
            pass

        def set_wm_name(self, name: str, onerror: Any = None) -> None:
            name.encode("latin-1")  # what python-xlib does with a STRING property
            self.names.append(name)

    class Display:
        def flush(self) -> None:
            pass

    class PlainXIcon:  # the parts of pystray._xorg.Icon the fixes touch
        def __init__(self) -> None:
            self._window, self._display, self._systray_manager = XWindow(), Display(), None
            self.title = ""

        def _dock_window(self) -> None:
            pass

        def _update_title(self) -> None:
            self._window.set_wm_name(self.title)

        def _update_icon(self) -> None:
            pass

    PlainXIcon.__module__ = "pystray._xorg"
    icon = PlainXIcon()
    tray.fix_plain_x_icon(icon)
    icon.title = "Welcome! To start, fill in your three places in the settings (Settings\u2026)"
    icon._update_title()
    icon.title = "Cancelling the backup\u2026 \u2603"
    icon._update_title()
    assert icon._window.names == [
        "Welcome! To start, fill in your three places in the settings (Settings...)",
        "Cancelling the backup... ?",
    ]
