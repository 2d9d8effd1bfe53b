"""Where MegaBackup keeps its own files: settings, state, history, logs and unison archives.

A leaf module. Nothing here creates folders; the caller that writes does, so a command that
fails on bad settings leaves nothing behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from megabackup import APP_NAME

HOME_VARIABLE = "MEGABACKUP_HOME"


@dataclass(frozen=True)
class AppPaths:
    """The folder for state, logs, history and unison archives, and the files inside it."""

    root: Path

    @classmethod
    def from_environment(cls) -> AppPaths:
        override = os.environ.get(HOME_VARIABLE, "").strip()
        if override:
            return cls(Path(override).expanduser().absolute())
        return cls(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True)))

    @property
    def history(self) -> Path:
        return self.root / "history.sqlite3"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def unison(self) -> Path:
        return self.root / "unison"

    @property
    def cycle_lock(self) -> Path:
        return self.root / "cycle.lock"

    @property
    def places(self) -> Path:
        """What each place looked like at the last cycle (markers, filled folders, deletions)."""
        return self.root / "places.json"

    @property
    def manifests(self) -> Path:
        """The stat walk saved at each repository's last good snapshot (skip-unchanged proof)."""
        return self.root / "manifests"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def ensure(self) -> None:
        for folder in (self.root, self.logs, self.unison):
            folder.mkdir(parents=True, exist_ok=True)


def default_settings_path() -> Path:
    """MEGABACKUP_HOME/settings.toml for a portable install, else the user's settings folder."""
    override = os.environ.get(HOME_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser().absolute() / "settings.toml"
    folder = platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=True)
    return Path(folder) / "settings.toml"
