"""A small private desktop for the GUI test: Xvfb, a tray host, two D-Bus buses, notifications.

Bus A is the app's session bus, where the fake notification server records every Notify call.
It passes each one on to dunst on bus B, so that the notification is also drawn on the screen
for the screenshot. Every process is started here and ended by its own handle.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .xvfb import start_xvfb

HERE = Path(__file__).resolve().parent
BINARIES = ("Xvfb", "trayer", "dbus-daemon", "dunst", "xdotool", "xwininfo", "import")
# The apt packages that provide them (the Makefile's APT_PACKAGES installs them).
PACKAGES = "xvfb trayer dbus dunst xdotool x11-utils imagemagick"
TRAYER_OPTIONS = (
    "--edge", "top", "--align", "left", "--widthtype", "pixel", "--width", "240",
    "--heighttype", "pixel", "--height", "40", "--transparent", "false", "--tint", "0xdddddd",
)  # fmt: skip
HAS_OWNER = (
    "--dest=org.freedesktop.DBus",
    "/",
    "org.freedesktop.DBus.NameHasOwner",
    "string:org.freedesktop.Notifications",
)


def missing_requirements() -> list[str]:
    missing = [name for name in BINARIES if shutil.which(name) is None]
    probe = subprocess.run(
        [sys.executable, "-c", "import gi; gi.require_version('AyatanaAppIndicator3', '0.1')"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        missing.append(
            "PyGObject with AyatanaAppIndicator3 (pip PyGObject<3.51; apt "
            "gir1.2-ayatanaappindicator3-0.1 libgirepository1.0-dev libcairo2-dev)"
        )
    return missing


def wait_for(what: str, check: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Window:
    id: str
    name: str
    x: int
    y: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[int, int]:
        return (self.x + self.width // 2, self.y + self.height // 2)


# A line of `xwininfo -root -tree`: id "name": ("res" "class")  WxH+x+y  +absx+absy
_TREE_LINE = re.compile(
    r'^\s*(0x[0-9a-f]+) (?:"(.*)"|\(has no name\)): \((?:"([^"]*)" "([^"]*)")?\)\s+'
    r"(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)"
)


class Desktop:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen] = []
        self.display = ""
        self.bus_app = ""
        self.bus_dunst = ""
        self.notifications = folder / "notifications.jsonl"

    # ---- start and stop ----
    def start(self) -> None:
        self.display = self._start_xvfb()
        self.bus_app = self._start_bus("app")
        self.bus_dunst = self._start_bus("dunst")
        self._spawn(
            "dunst",
            ["dunst", "-config", str(HERE / "dunstrc")],
            {"DBUS_SESSION_BUS_ADDRESS": self.bus_dunst},
        )
        wait_for("dunst to own the notification name on its bus", self._dunst_ready)
        self._spawn(
            "fake-notifyd",
            [
                sys.executable,
                str(HERE / "fake_notifyd.py"),
                str(self.notifications),
                "--forward",
                self.bus_dunst,
            ],
            {"DBUS_SESSION_BUS_ADDRESS": self.bus_app},
        )
        wait_for("the fake notification server", self.notifications.exists)
        self._spawn(
            "trayer",
            ["trayer", *TRAYER_OPTIONS],
            {},
        )
        wait_for("the tray host", lambda: self.windows(lambda w: w.name == "panel"))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, DISPLAY=self.display, DBUS_SESSION_BUS_ADDRESS=self.bus_app)
        env.pop("DBUS_SESSION_BUS_PID", None)
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        return self._spawn(name, argv, env, full_env=True)

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str], *, full_env: bool = False
    ) -> subprocess.Popen:
        output = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv,
            env=env if full_env else self.env(**env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.close()
        self.processes.append(process)
        return process

    def _start_xvfb(self) -> str:
        process, display = start_xvfb("640x400", self.folder / "xvfb.log")
        self.processes.append(process)
        if not display:
            raise AssertionError("Xvfb did not start; see xvfb.log in " + str(self.folder))
        return display

    def _start_bus(self, name: str) -> str:
        process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=(self.folder / f"bus-{name}.log").open("wb"),
            text=True,
        )
        self.processes.append(process)
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        if not address:
            raise AssertionError(f"dbus-daemon for {name} did not start")
        return address

    def _dunst_ready(self) -> bool:
        result = subprocess.run(
            ["dbus-send", "--session", "--print-reply", *HAS_OWNER],
            env=self.env(DBUS_SESSION_BUS_ADDRESS=self.bus_dunst),
            capture_output=True,
            text=True,
            check=False,
        )
        return "boolean true" in result.stdout

    # ---- look and act ----
    def windows(self, keep: Callable[[Window], bool] = lambda w: True) -> list[Window]:
        tree = self.x(["xwininfo", "-root", "-tree"])
        found = []
        for line in tree.splitlines():
            match = _TREE_LINE.match(line)
            if match:
                wid, name, _res, _cls, w, h, x, y = match.groups()
                window = Window(wid, name or "", int(x), int(y), int(w), int(h))
                if keep(window):
                    found.append(window)
        return found

    def windows_of_class(self, wm_class: str) -> list[Window]:
        """Windows whose WM_CLASS class part is `wm_class`."""
        tree = self.x(["xwininfo", "-root", "-tree"])
        matches = (_TREE_LINE.match(line) for line in tree.splitlines())
        ids = {m.group(1) for m in matches if m and m.group(4) == wm_class}
        return self.windows(lambda w: w.id in ids)

    def mapped(self, window: Window) -> bool:
        return "IsViewable" in self.x(["xwininfo", "-id", window.id])

    def click(self, x: int, y: int) -> None:
        self.x(["xdotool", "mousemove", str(x), str(y)])
        time.sleep(0.2)  # GTK wants to see the pointer arrive before the press
        self.x(["xdotool", "click", "1"])

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.x(["import", "-window", "root", str(path)])
        return path

    def received(self) -> list[dict]:
        if not self.notifications.exists():
            return []
        lines = self.notifications.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def x(self, argv: list[str]) -> str:
        result = subprocess.run(
            argv, env=self.env(), capture_output=True, text=True, timeout=20, check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"{argv[0]} failed: {result.stderr.strip()}")
        return result.stdout
