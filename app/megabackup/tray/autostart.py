"""Start with Windows (or at login on Linux): the registry Run key, or an autostart .desktop file.

On Windows a Run entry has a second switch, in StartupApproved/Run: Task Manager's Startup tab
and Settings turn it off there, and Windows then ignores the entry. So it only counts as on
when that switch is not off, and switching it on clears that switch.

The only Windows calls are the `_registry_*` functions, which hand over to winsys (where the
registry calls are tested with a fake winreg); the tests here replace them with dicts.
Everything else is plain files and strings.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from megabackup import winsys
from megabackup.files import atomic_write

log = logging.getLogger(__name__)

RUN_KEY = winsys.RUN_KEY
VALUE_NAME = "MegaBackup"
DESKTOP_FILE = "megabackup.desktop"


def launch_command(settings: Path | None = None) -> list[str]:
    """How to start the tray again: the exe itself, or this Python with `-m megabackup`."""
    if getattr(sys, "frozen", False):
        argv = [sys.executable, "tray"]
    else:
        python = Path(sys.executable)
        windowless = python.with_name("pythonw.exe")  # no console window at login
        if sys.platform == "win32" and windowless.is_file():
            python = windowless
        argv = [str(python), "-m", "megabackup", "tray"]
    if settings is not None:
        argv += ["--settings", str(settings)]
    return argv


def windows_command_line(argv: Sequence[str]) -> str:
    """Quote for the Run key the way Windows splits it (the path may contain spaces)."""
    import subprocess

    return subprocess.list2cmdline(list(argv))


def desktop_exec(argv: Sequence[str]) -> str:
    """Quote for a .desktop Exec line: the Desktop Entry spec's quoting, then its string escapes."""
    parts = []
    for arg in argv:
        if arg and not any(c in _RESERVED for c in arg):
            parts.append(arg.replace("%", "%%"))
            continue
        inner = "".join("\\" + c if c in '"`$\\' else c for c in arg).replace("%", "%%")
        parts.append(f'"{inner}"')
    return " ".join(parts).replace("\\", "\\\\")


_RESERVED = " \t\n\"'\\><~|&;$*?#()`%="


class Autostart:
    """Read and switch autostart for the current user on this platform."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        platform: str = sys.platform,
        config_home: Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.platform = platform
        base = (
            config_home
            or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser()
        )
        self.desktop_file = base / "autostart" / DESKTOP_FILE

    @property
    def supported(self) -> bool:
        return self.platform == "win32" or self.platform.startswith("linux")

    def state(self) -> bool | None:
        """On or off for a menu or a window to show; None where it is not supported here. A
        setting that cannot be read shows as off (and is logged), never as a failure."""
        if not self.supported:
            return None
        try:
            return self.enabled()
        except OSError as exc:
            log.warning("cannot read the autostart setting: %r", exc)
            return False

    def enabled(self) -> bool:
        if self.platform == "win32":
            return _registry_read(VALUE_NAME) is not None and not _registry_switched_off(VALUE_NAME)
        if not self.desktop_file.is_file():
            return False
        text = self.desktop_file.read_text(encoding="utf-8", errors="replace")
        return "Hidden=true" not in text and "X-GNOME-Autostart-enabled=false" not in text

    def set(self, enabled: bool) -> None:
        if self.platform == "win32":
            if enabled:
                _registry_write(VALUE_NAME, windows_command_line(self.argv))
            else:
                _registry_delete(VALUE_NAME)
            _registry_switch_clear(VALUE_NAME)  # Task Manager's "disabled" would outlast a tick
            return
        if not enabled:
            self.desktop_file.unlink(missing_ok=True)
            return
        atomic_write(self.desktop_file, self.desktop_entry())

    def desktop_entry(self) -> str:
        return "\n".join(
            [
                "[Desktop Entry]",
                "Type=Application",
                "Name=MegaBackup",
                "Comment=Back up and sync your files across desktop, network share and USB drive",
                f"Exec={desktop_exec(self.argv)}",
                "Terminal=false",
                "X-GNOME-Autostart-enabled=true",
                "",
            ]
        )


# ---- the Windows registry: the only platform calls, faked in the tests --------------------------
def _registry_read(name: str) -> str | None:
    return winsys.run_key_read(name)


def _registry_write(name: str, command: str) -> None:
    winsys.run_key_write(name, command)


def _registry_delete(name: str) -> None:
    winsys.run_key_delete(name)


def _registry_switched_off(name: str) -> bool:
    return winsys.startup_disabled(name)


def _registry_switch_clear(name: str) -> None:
    winsys.startup_approved_clear(name)
