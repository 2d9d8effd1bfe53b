"""The settings file as the tray sees it: loaded on start, reloaded on every save, and each new
problem told once (opening the editor must not repeat old news)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from megabackup.notify import Notice, settings_notice
from megabackup.settings import Settings, SettingsError, load
from megabackup.tray import firstrun

log = logging.getLogger(__name__)

Stamp = tuple[int, int]  # (mtime in ns, size): a save changes one of them


class SettingsWatcher:
    def __init__(self, path: Path, notify: Callable[[Notice], object]) -> None:
        self.path = path
        self._notify = notify
        self.settings: Settings | None = None  # the last good settings, None if never
        self.problem = ""  # first line of what is wrong now ("" when nothing is)
        self._stamp: Stamp | None = None
        self._announced: tuple[str, Stamp | None] | None = None

    def load(self) -> None:
        """Load the file; on a problem keep the last good settings and say what is wrong."""
        self._stamp = _stamp(self.path)
        if firstrun.unfilled(self.path):  # the first run's template: nothing to back up
            self.settings, self.problem, self._announced = None, firstrun.FILL_IN, None
            return
        try:
            self.settings = load(self.path)
            self.problem = ""
            self._announced = None
        except SettingsError as exc:
            problem = str(exc.problems[0]) if exc.problems else str(exc)
            if (problem, self._stamp) != self._announced:
                self._announced = (problem, self._stamp)
                self._notify(settings_notice(exc))
            self.problem = problem
            log.warning("settings: %s", exc)

    def reload_if_changed(self) -> None:
        if _stamp(self.path) != self._stamp:
            self.load()


def _stamp(path: Path) -> Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)
