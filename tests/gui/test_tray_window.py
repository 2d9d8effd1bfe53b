"""The real tray in a real X server: click the icon, choose "Back up now", see what happens.

Starts its own desktop (tests/gui/desktop.py): Xvfb, trayer as the tray host, a private D-Bus
session with the fake notification server, and dunst on a second bus to draw what it receives.
`megabackup tray` runs as a child process on the demo places with the appindicator backend (a
GTK menu, as on a Linux desktop). Screenshots go to test-artifacts/gui/ (see docs/tray.md).
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from megabackup.demo import build_places

from .desktop import PACKAGES, Desktop, Window, missing_requirements, wait_for

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "gui"
MENU_TEXT_LINES = 9  # status, Back up now, Pause, Restore a file..., History..., Open last log,
# Settings..., Start at login, Quit
OK_BODY = (34, 150, 70)  # the "all good" icon's body colour (megabackup.tray.icons)
WAITING_BODY = (0, 128, 140)  # the "waiting for a place that is away" icon's


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    missing = missing_requirements()
    if missing:
        message = (
            f"the GUI test needs: {', '.join(missing)} (apt-get install {PACKAGES}; "
            "`make setup` installs all of it)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI must run it, never skip it quietly
        pytest.skip(message)
    faulthandler.dump_traceback_later(170, exit=False)  # show where it hung, if it does
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screen = Desktop(tmp_path / "desktop")
    try:
        screen.start()
        yield screen
    finally:
        screen.stop()
        faulthandler.cancel_dump_traceback_later()
        for log in (tmp_path / "desktop").glob("*.log"):  # kept beside the screenshots
            (ARTIFACTS / log.name).write_bytes(log.read_bytes())


def _start_tray(
    desktop: Desktop, tmp_path: Path, backend: str
) -> tuple[subprocess.Popen, list[str], dict[str, str], Path]:
    settings = build_places(tmp_path / "places")
    state = tmp_path / "state"
    env = desktop.env(
        MEGABACKUP_HOME=str(state),
        PYSTRAY_BACKEND=backend,  # fail loudly rather than fall back to another backend
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PYTHONFAULTHANDLER="1",
    )
    tray_argv = [sys.executable, "-m", "megabackup", "tray", "--settings", str(settings)]
    return desktop.spawn("tray", tray_argv, env), tray_argv, env, state


def _quit(app: subprocess.Popen, tray_argv: list[str], env: dict[str, str]) -> None:
    """Quit through a second launch (the only way on the plain-X backend, which has no menu)."""
    request = subprocess.run(
        [*tray_argv, "--send", "quit"], env=env, capture_output=True, text=True, timeout=30
    )
    assert request.returncode == 0, request.stderr
    try:
        assert app.wait(30) == 0
    except subprocess.TimeoutExpired:
        app.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER writes every thread's stack to its log
        app.wait(10)
        raise AssertionError("the tray did not quit within 30 s; see tray.log") from None


def test_click_back_up_now_runs_a_cycle_notifies_and_changes_the_icon(
    desktop: Desktop, tmp_path: Path
) -> None:
    app, tray_argv, env, state = _start_tray(desktop, tmp_path, "appindicator")
    icon = _wait_for_icon(desktop, app)
    assert icon.name.startswith("No backup yet"), icon.name  # the tooltip is the status line
    before = desktop.screenshot(ARTIFACTS / "1-tray-before.png")
    assert _icon_colour(before, icon) != pytest.approx(OK_BODY, abs=40)

    desktop.click(*icon.centre)
    menu = wait_for("the menu to open", lambda: _menu_window(desktop), timeout=10)
    assert isinstance(menu, Window)
    time.sleep(0.5)  # let GTK finish drawing it
    shot = desktop.screenshot(ARTIFACTS / "2-menu-open.png")
    rows = _text_rows(shot, menu)
    assert len(rows) == MENU_TEXT_LINES, f"expected {MENU_TEXT_LINES} menu lines, saw {rows}"
    back_up_now = rows[1]
    desktop.click(menu.x + 40, (back_up_now[0] + back_up_now[1]) // 2)

    runs = wait_for("the cycle to finish in the history", lambda: _finished_runs(state), 60)
    assert [(r[0], r[1]) for r in runs] == [("tray", "ok")]  # type: ignore[union-attr]

    received = wait_for("the notification", desktop.received, timeout=15)
    assert [n["summary"] for n in received] == ["Backup finished"]  # type: ignore[union-attr]
    assert received[0]["body"].startswith("All good")  # type: ignore[index]

    icon = wait_for(
        "the icon to say all is good",
        lambda: next((w for w in _icons(desktop) if w.name.startswith("Last backup")), None),
    )
    assert isinstance(icon, Window)
    assert icon.name == "Last backup just now, all good"
    time.sleep(1.0)  # dunst draws the forwarded notification
    after = desktop.screenshot(ARTIFACTS / "3-notification-and-icon-after.png")
    assert _icon_colour(after, icon) == pytest.approx(OK_BODY, abs=40)
    assert _dunst_shows_something(after), "dunst drew nothing in the top-right corner"

    # A second launch makes no second icon: it asks the running tray to back up now, and exits.
    second = subprocess.run(tray_argv, env=env, capture_output=True, text=True, timeout=30)
    assert second.returncode == 0, second.stderr
    assert "already running" in second.stdout
    wait_for("the second cycle", lambda: len(_finished_runs(state)) == 2, 60)
    assert len(_icons(desktop)) == 1

    _quit(app, tray_argv, env)
    wait_for("the icon to go away", lambda: not _icons(desktop), timeout=10)


def test_plain_x_icon_click_backs_up_and_plyer_notifies(desktop: Desktop, tmp_path: Path) -> None:
    """The xorg backend has no menu and no notifications of its own: a click must still run
    "Back up now" (tray.fix_plain_x_icon), and plyer must deliver the notification."""
    app, tray_argv, env, state = _start_tray(desktop, tmp_path, "xorg")
    icon = _wait_for_icon(desktop, app)
    desktop.click(*icon.centre)

    runs = wait_for("the cycle to finish in the history", lambda: _finished_runs(state), 60)
    assert runs == [("tray", "ok")]
    received = wait_for("the notification", desktop.received, timeout=15)
    assert [(n["app"], n["summary"]) for n in received] == [  # type: ignore[union-attr]
        ("MegaBackup", "Backup finished")
    ]
    icon = wait_for(
        "the icon to say all is good",
        lambda: next((w for w in _icons(desktop) if w.name.startswith("Last backup")), None),
    )
    assert isinstance(icon, Window)
    time.sleep(1.0)
    after = desktop.screenshot(ARTIFACTS / "4-plain-x-after-click.png")
    assert _icon_colour(after, icon) == pytest.approx(OK_BODY, abs=40)
    _quit(app, tray_argv, env)


def test_an_unplugged_drive_turns_the_icon_to_waiting_not_red(
    desktop: Desktop, tmp_path: Path
) -> None:
    app, tray_argv, env, state = _start_tray(desktop, tmp_path, "xorg")
    usb = tmp_path / "places" / "usb-drive"
    usb.rename(usb.with_name("usb-drive-unplugged"))
    icon = _wait_for_icon(desktop, app)
    desktop.click(*icon.centre)

    runs = wait_for("the cycle to finish in the history", lambda: _finished_runs(state), 60)
    assert runs == [("tray", "away")]
    icon = wait_for(
        "the icon to say what it waits for",
        lambda: next((w for w in _icons(desktop) if w.name.startswith("USB drive")), None),
    )
    assert isinstance(icon, Window)
    assert icon.name.startswith("USB drive not connected since "), icon.name
    assert "this PC was backed up at" in icon.name
    time.sleep(1.0)
    shot = desktop.screenshot(ARTIFACTS / "5-waiting-for-the-drive.png")
    assert _icon_colour(shot, icon) == pytest.approx(WAITING_BODY, abs=40)
    assert desktop.received() == []  # an unplugged drive is ordinary life: no notification
    _quit(app, tray_argv, env)


def _wait_for_icon(desktop: Desktop, app: subprocess.Popen) -> Window:
    def docked() -> Window | None:
        if app.poll() is not None:
            raise AssertionError(f"megabackup tray exited with {app.returncode}; see tray.log")
        # The icon's window exists a moment before the tray places it (off the screen until then)
        placed = [w for w in _icons(desktop) if w.x >= 0 and w.y >= 0 and desktop.mapped(w)]
        return placed[0] if placed else None

    found = wait_for("the tray icon to dock", docked, timeout=30)
    assert isinstance(found, Window)
    return found


def _icons(desktop: Desktop) -> list[Window]:
    # pystray names the icon window's class after the icon ("megabackup"); its name is the tooltip.
    return desktop.windows_of_class("megabackup")


def _menu_window(desktop: Desktop) -> Window | None:
    # The GTK menu is a new top-level popup, below the tray panel and wider than the icon.
    popups = desktop.windows(lambda w: w.y >= 30 and w.width > 100 and w.height > 100)
    visible = [w for w in popups if desktop.mapped(w)]
    return visible[0] if visible else None


def _text_rows(shot: Path, menu: Window) -> list[tuple[int, int]]:
    """The screen rows of each line of text in the menu (bands of rows with dark pixels)."""
    image = Image.open(shot).convert("L")
    bands: list[tuple[int, int]] = []
    start = None
    for y in range(menu.y + 2, menu.y + menu.height - 2):
        row = [image.getpixel((x, y)) for x in range(menu.x + 6, menu.x + menu.width - 30)]
        inked = sum(1 for v in row if v < 170) >= 2  # text, grey text too; not the separators
        if inked and start is None:
            start = y
        elif not inked and start is not None:
            bands.append((start, y))
            start = None
    merged: list[tuple[int, int]] = []
    for band in bands:  # a "y" or "g" leaves a light row between the line and its descender
        if merged and band[0] - merged[-1][1] <= 2:
            merged[-1] = (merged[-1][0], band[1])
        else:
            merged.append(band)
    return merged


def _icon_colour(shot: Path, icon: Window) -> tuple[float, float, float]:
    """The median colour of the middle of the icon's body, around its glyph."""
    image = Image.open(shot).convert("RGB")
    cx, cy = icon.centre
    samples = [image.getpixel((cx + dx, cy + dy)) for dx in (-9, -8, 8, 9) for dy in (-9, -8, 8)]
    channels = zip(*samples, strict=True)
    return tuple(sorted(values)[len(values) // 2] for values in channels)  # type: ignore[return-value]


def _dunst_shows_something(shot: Path) -> bool:
    image = Image.open(shot).convert("L")
    width, _ = image.size
    corner = image.crop((width - 380, 50, width, 160))
    return sum(corner.histogram()[:100]) > 50  # dark pixels: the text of a notification


def _finished_runs(state: Path) -> list[tuple[str, str]]:
    history = state / "history.sqlite3"
    if not history.exists():
        return []
    try:
        with sqlite3.connect(history) as db:
            rows = db.execute("SELECT trigger, outcome FROM runs ORDER BY id").fetchall()
    except sqlite3.Error:
        return []  # being written this instant
    return [(t, o) for t, o in rows if o != "running"]
