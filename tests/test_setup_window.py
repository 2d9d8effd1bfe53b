"""The set-up window under Xvfb, clicked and typed into for real with xdotool: from the empty
first-run window to saved settings on which a real cycle then runs. Screenshots go to
test-artifacts/ (the empty window, an error beside a field, the window filled in)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from megabackup import drives, places
from megabackup.engine import CycleOptions, run_cycle
from megabackup.locations import AppPaths
from megabackup.outcome import Outcome
from megabackup.settings import load
from megabackup.tray import firstrun
from megabackup.tray.autostart import Autostart
from megabackup.tray.setup_form import BACKUP, DRIVE_PATH, FOLDERS, HOME, SHARE, SetupForm
from megabackup.tray.setup_window import SetupWindow
from windowshot import screenshot

pytestmark = [pytest.mark.realtools, pytest.mark.timeout(240)]  # a real cycle at the end
TEMPLATE = Path(__file__).resolve().parents[1] / "settings.toml"


def xdotool(display: str, *args: str) -> None:
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=30)


def pump(window: SetupWindow, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        window.root.update()
        time.sleep(0.02)


def until(window: SetupWindow, what: str, done: Any, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not done() and time.monotonic() < end:
        pump(window, 0.1)
    assert done(), f"the window did not get to: {what}"


def click(display: str, window: SetupWindow, widget: Any, x: int | None = None) -> None:
    """A real mouse click on a widget (at x pixels from its left, else its middle)."""
    window.root.update()
    left = widget.winfo_rootx() + (x if x is not None else widget.winfo_width() // 2)
    top = widget.winfo_rooty() + widget.winfo_height() // 2
    xdotool(display, "mousemove", str(left), str(top), "click", "1")
    pump(window)


def type_into(display: str, window: SetupWindow, entry: Any, text: str) -> None:
    """Click into a field, select what it holds (a triple click) and type over it."""
    window.root.update()
    left = entry.winfo_rootx() + 30
    top = entry.winfo_rooty() + entry.winfo_height() // 2
    xdotool(display, "mousemove", str(left), str(top), "click", "--repeat", "3", "1")
    pump(window, 0.2)
    xdotool(display, "type", "--delay", "5", text)
    pump(window)


def answer_folder_dialog(display: str, title: str, folder: Path) -> threading.Thread:
    """Wait for Tk's folder dialog and pick `folder` in it the way a person does: type it in
    the Selection field, Enter (it opens that folder), Enter again (OK)."""

    def answer() -> None:
        env = dict(os.environ, DISPLAY=display)
        found = subprocess.run(["xdotool", "search", "--sync", "--name", title], env=env,
                               capture_output=True, text=True, timeout=30)  # fmt: skip
        dialog = found.stdout.split()[0]
        time.sleep(0.3)
        xdotool(display, "windowfocus", "--sync", dialog)
        xdotool(display, "key", "--clearmodifiers", "End", "shift+Home")
        xdotool(display, "type", "--delay", "5", str(folder))
        xdotool(display, "key", "Return")
        time.sleep(0.4)
        xdotool(display, "key", "Return")

    helper = threading.Thread(target=answer, daemon=True)
    helper.start()
    return helper


class World:
    """A person's PC, NAS share and USB stick as folders, and a first run's settings."""

    def __init__(self, root: Path) -> None:
        self.home = root / "Users" / "andy"
        for name, text in (("Documents", "Dear Sam,\n"), ("Pictures", "(a photo)\n"),
                           ("Videos", "(a film)\n"), ("Music", "(a song)\n")):  # fmt: skip
            (self.home / name).mkdir(parents=True)
            (self.home / name / f"{name.lower()}.txt").write_text(text, encoding="utf-8")
        self.share = root / "nas" / "andy"
        (self.share / "Documents").mkdir(parents=True)
        (self.share / "Documents" / "budget.csv").write_text("jan,100\n", encoding="utf-8")
        self.backup = root / "D" / "LocalBackup"
        self.backup.parent.mkdir(parents=True)
        self.stick = root / "media" / "SANDISK"
        self.stick.mkdir(parents=True)
        self.config = root / "config" / "settings.toml"
        self.paths = AppPaths(root / "state")
        firstrun.install_template(self.config, TEMPLATE)


@pytest.fixture
def short() -> Iterator[Path]:
    """A folder with a short name, so the paths in the screenshots read like a person's."""
    folder = Path(tempfile.mkdtemp(prefix="mb-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_from_the_empty_first_run_window_to_a_first_backup(short: Path, tk_display: str) -> None:
    display = tk_display
    world = World(short)
    saved: list[bool] = []
    autostart = Autostart(["megabackup", "tray"], platform="linux", config_home=short / "xdg")
    form = SetupForm(
        world.config,
        world.paths,
        template=TEMPLATE,
        autostart=autostart,
        volumes=lambda: drives.folder_volumes([world.stick]),
        on_saved=lambda: saved.append(True),
    )
    window = SetupWindow(form, screen=display)
    try:
        window.root.geometry("+0+0")
        until(window, "the drive list", lambda: window.drive_list.get_children())
        assert window.vars[HOME].get() == "" and window.vars[SHARE].get() == ""
        assert not any(label.cget("text").startswith("This ") for label in window.messages.values())
        screenshot(display, window.root, "setup-1-first-run-empty.png")

        # a mistake: the snapshots in a folder named without its full path
        type_into(display, window, window.texts[BACKUP], "LocalBackup")
        until(window, "the error beside the field", lambda: BACKUP in form.problems())
        message = window.messages[BACKUP]
        assert message.cget("text") == form.problems()[BACKUP][0]
        assert message.cget("text").startswith("This is not a full path")
        assert str(message.cget("style")) == "Problem.TLabel"
        screenshot(display, window.root, "setup-2-error-beside-a-field.png")

        # pick this PC's folder in the folder dialog
        helper = answer_folder_dialog(display, "Pick this PC's folder", world.home)
        click(display, window, window.choose_buttons[HOME])
        helper.join(30)
        until(window, "the folder picked", lambda: window.vars[HOME].get() == str(world.home))
        until(window, "its folders to tick", lambda: "Videos" in window.home_boxes)
        assert form.values[FOLDERS] == ["Documents", "Music", "Pictures"]  # the usual, present
        click(display, window, window.home_boxes["Videos"], x=8)  # tick a folder
        assert form.values[FOLDERS] == ["Documents", "Music", "Pictures", "Videos"]

        # the share, typed; the backup, typed over the mistake
        type_into(display, window, window.texts[SHARE], str(world.share))
        type_into(display, window, window.texts[BACKUP], str(world.backup))
        until(window, "the share looked at", lambda: SHARE in form.looks and form.looks[
            SHARE].text == str(world.share))  # fmt: skip
        assert form.looks[SHARE].line.startswith("Reachable, 1 file. Folders only on this PC")
        until(window, "no problem left", lambda: not form.problems() and not form.blocking())

        # use the USB stick
        first_row = window.drive_list.get_children()[0]
        x, y, _w, h = window.drive_list.bbox(first_row)
        xdotool(display, "mousemove", str(window.drive_list.winfo_rootx() + x + 40),
                str(window.drive_list.winfo_rooty() + y + h // 2), "click", "1")  # fmt: skip
        pump(window)
        assert window.drive_list.selection() == (first_row,)
        click(display, window, window.use_button)
        marked = world.stick / "MegaBackup"
        until(window, "the drive marked", lambda: "is now the MegaBackup drive" in form.drive_line)
        assert places.read_drive_marker(marked)["name"] == "MegaBackup"
        assert window.vars[DRIVE_PATH].get() == str(marked)  # not where the scan looks
        until(window, "the looks done", lambda: not window.jobs.busy() and not window._pending)
        screenshot(display, window.root, "setup-3-filled-in.png")
        click(display, window, window.more_button)
        assert window.more.winfo_ismapped()
        screenshot(display, window.root, "setup-4-more-settings.png")

        click(display, window, window.save_button)
        until(window, "saved", lambda: form.status.startswith("Saved."))
        assert window.status.cget("text") == form.status and saved == [True]
        assert not autostart.enabled()  # left as it was: not ticked
    finally:
        window.close()

    settings = load(world.config)  # what the window wrote is good settings
    assert settings.desktop.home == world.home and settings.server.home == world.share
    assert settings.folders.home == ("Documents", "Music", "Pictures", "Videos")
    assert settings.external.path == marked
    text = world.config.read_text(encoding="utf-8")
    assert "# the folder you work in every day (synced with the server)" in text  # kept
    result = run_cycle(settings, world.paths, options=CycleOptions(trigger="test"))
    assert result.outcome == Outcome.OK, result.summary()
    assert (world.share / "Videos" / "videos.txt").read_text(encoding="utf-8") == "(a film)\n"
    assert (world.home / "Documents" / "budget.csv").is_file()  # and back from the share
    assert (world.backup / "home" / "Videos" / "videos.txt").is_file()  # snapshot on the PC
    assert (marked / "home" / "Documents" / "budget.csv").is_file()  # and on the USB stick


def test_a_look_still_running_when_the_window_closes_ends_quietly(
    tmp_path: Path, tk_display: str
) -> None:
    """A share that answers after the window was closed must not free Tk on the look's thread
    ("Tcl_AsyncDelete: async handler deleted by the wrong thread" aborts the process): in a
    process of its own, so that an abort cannot take the test run with it."""
    script = f"""
import gc, sys, threading, time
from pathlib import Path
from megabackup.locations import AppPaths
from megabackup.tray.setup_form import SetupForm
from megabackup.tray.setup_window import SetupWindow

class SlowShare(SetupForm):
    def look_at_share(self, key, text, folders=()):
        time.sleep(1.5)  # a NAS that takes its time to answer
        return super().look_at_share(key, text, folders)

form = SlowShare(Path(sys.argv[1]), AppPaths(Path(sys.argv[2])), volumes=lambda: [])
window = SetupWindow(form, screen={tk_display!r})
window.vars["server.home"].set("//nas.invalid/andy")
end = time.monotonic() + 1.0
while time.monotonic() < end:  # the look starts after a pause in the typing
    window.root.update()
    time.sleep(0.02)
window.close()
time.sleep(3)  # the look ends now, on its own thread
gc.collect()
print("ended quietly")
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "settings.toml"), str(tmp_path / "state")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and "ended quietly" in done.stdout, done.stderr
