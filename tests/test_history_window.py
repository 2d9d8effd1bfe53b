"""The history window under Xvfb: 30 days of generated runs and a real cycle that appears while
it is open; a click on a mark in the picture picks its run, a double-click opens a log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gui.xvfb import start_xvfb
from megabackup.engine import run_cycle
from megabackup.locations import AppPaths
from megabackup.outcome import Outcome
from megabackup.tray.history_window import COLOURS, HistoryWindow
from megabackup.tray.run_history import FAILED, HistoryModel
from support import Places
from thirty_days import thirty_days
from windowshot import screenshot

pytestmark = [pytest.mark.realtools, pytest.mark.timeout(180)]  # one real cycle
RED = COLOURS[FAILED]


def pump(window: HistoryWindow, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        window.root.update()
        time.sleep(0.02)


def click(display: str, window: HistoryWindow, x: int, y: int, times: int = 1) -> None:
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "--repeat", str(times),
                    "--delay", "80", "1"], env=env, check=True, timeout=30)  # fmt: skip
    pump(window)


def test_thirty_days_of_runs_and_a_new_one_as_it_happens(tmp_path: Path, tk_display: str) -> None:
    places = Places(tmp_path / "places")
    # the places as 30 days of backups leave them (the repositories there), then their history
    earlier = run_cycle(places.settings, AppPaths(tmp_path / "earlier"))
    assert earlier.outcome == Outcome.OK, earlier.summary()
    thirty_days(places.paths.root, time.time() - 60, logs=places.paths.logs)
    opened: list[Path] = []
    model = HistoryModel(places.paths.history, opener=opened.append)
    assert len(model.runs) == 180
    window = HistoryWindow(model, screen=tk_display)
    try:
        window.root.geometry("+0+0")
        pump(window, 1.0)
        assert len(window.table.get_children()) == 180
        drawn = window.picture.find_withtag("run:" + str(model.runs[0].run_id))
        assert len(drawn) == 4, "the newest run has a mark on each of the four rows"

        # a click on a failed mark of this PC's row picks that run in the list
        failed = next(m for m in model.chart[0].marks if m.kind == FAILED)
        canvas = window.picture
        x0, x1 = window.left, canvas.winfo_width() - window.right
        x = canvas.winfo_rootx() + round(x0 + model.fraction(failed.when) * (x1 - x0))
        y = canvas.winfo_rooty() + round(window.row_middle(0))
        click(tk_display, window, x, y)
        assert window.table.selection() == (str(failed.run_id),)
        assert window.details.cget("text").startswith(
            next(r.when for r in model.runs if r.run_id == failed.run_id)
        )
        # this PC is fresh; the share's snapshots go onto the drive, which has been away
        assert model.chart[0].age.endswith("minutes ago") and not model.chart[0].stale
        assert [r.age for r in model.chart[1:]] == ["9 days ago"] * 3
        assert window.picture.itemcget(window.picture.find_withtag("age:3")[0], "fill") == RED
        screenshot(tk_display, window.root, "history-30-days.png")

        result = places.cycle(trigger="test")  # a real cycle while the window is open
        assert result.outcome == Outcome.OK, result.summary()
        deadline = time.monotonic() + 15
        while len(window.table.get_children()) < 181 and time.monotonic() < deadline:
            pump(window, 0.2)
        assert window.table.get_children()[0] == str(result.run_id), "the new run is shown"
        assert model.runs[0].ended == "All good"
        assert [r.age for r in model.chart] == ["just now"] * 4  # the drive is back

        # a double-click on the newest run opens its log, the real one
        newest = window.table.get_children()[0]
        window.table.see(newest)  # the click above scrolled the list to the failed run
        pump(window, 0.2)
        rx, ry, _w, h = window.table.bbox(newest)
        click(tk_display, window, window.table.winfo_rootx() + rx + 40,
              window.table.winfo_rooty() + ry + h // 2, times=2)  # fmt: skip
        assert opened == [result.log_path]
        assert "MegaBackup cycle" in opened[0].read_text(encoding="utf-8")
    finally:
        window.close()


def test_both_windows_show_their_buttons_on_a_small_laptop_screen(
    tmp_path: Path, tk_display: str
) -> None:
    """On a 1024 x 600 screen the history window (1000 x 660 where there is room) and the
    set-up window are cut down to the screen, their lists and scrolled parts taking the loss,
    so Close is still on the screen. On an X server of its own (tk_display only skips where
    none can run), in a process of its own: Tk never lets go of a display, and this one ends
    with the test."""
    thirty_days(tmp_path / "state", time.time() - 60)
    script = """
import sys
from pathlib import Path
from megabackup.locations import AppPaths
from megabackup.tray.history_window import HistoryWindow
from megabackup.tray.run_history import HistoryModel
from megabackup.tray.setup_form import SetupForm
from megabackup.tray.setup_window import SetupWindow

display, state = sys.argv[1], Path(sys.argv[2])
for make in (lambda: HistoryWindow(HistoryModel(AppPaths(state).history), screen=display),
             lambda: SetupWindow(SetupForm(state / "settings.toml", AppPaths(state),
                                           volumes=lambda: []), screen=display)):
    window = make()
    window.root.geometry("+0+0")
    for _ in range(20):
        window.root.update()
    button = window.close_button
    print(type(window).__name__, button.winfo_rooty() + button.winfo_height(),
          window.root.winfo_rootx() + window.root.winfo_width())
    window.close()
"""
    server, display = start_xvfb("1024x600")
    try:
        assert display, "Xvfb did not start"
        done = subprocess.run([sys.executable, "-c", script, display, str(tmp_path / "state")],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert done.returncode == 0, done.stderr
    bottoms = {name: (int(bottom), int(right)) for name, bottom, right in map(
        str.split, done.stdout.splitlines())}  # fmt: skip
    assert set(bottoms) == {"HistoryWindow", "SetupWindow"}
    for name, (bottom, right) in bottoms.items():
        assert bottom <= 600 and right <= 1024, f"{name} reaches past the screen: {bottoms}"
