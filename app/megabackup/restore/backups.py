"""Getting files back, in one object for the command line and the restore window: where a PATH's
copies are (locate), every version of it (versions), and restoring one (restoring).

The rdiff-backup it runs, the runner and the clock are injectable, so the tests run the real
tool on real repositories with a pinned "now".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from megabackup.files import lock_held
from megabackup.locations import AppPaths
from megabackup.restore.locate import Locator, Repository, RestoreError, Target
from megabackup.restore.restoring import Restorer, RestoreResult
from megabackup.restore.versions import FolderEntry, Version, VersionList, Versions
from megabackup.settings import Settings
from megabackup.tools import rdiff
from megabackup.tools.runner import Runner


class Backups:
    """The copies of files across the places of one settings file."""

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        prefix: tuple[str, ...] | None = None,
        clock: Callable[[], float] = time.time,
        drive: Path | str | None = "find",
        paths: AppPaths | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner or Runner()
        self.clock = clock
        self.locator = Locator(settings, drive)
        self._prefix = prefix
        app_paths = paths or AppPaths.from_environment()
        self._listing = Versions(
            self.locator, lambda: self.rdiff, lambda: lock_held(app_paths.cycle_lock)
        )
        self._restoring = Restorer(self.locator, self._listing, lambda: self.rdiff, clock)

    @property
    def rdiff(self) -> rdiff.Rdiff:
        """rdiff-backup, found on first need: browsing live folders works without it."""
        if self._prefix is None:
            try:
                self._prefix = rdiff.locate(self.settings.tools.rdiff_backup)
            except rdiff.RdiffMissing as exc:
                raise RestoreError(str(exc)) from None
        return rdiff.Rdiff(self.runner, self._prefix, clock=self.clock)

    # --- where ---------------------------------------------------------------------------------
    def resolve(self, path: str | Path) -> list[Target]:
        return self.locator.resolve(path)

    def repositories(self, kind: str) -> tuple[list[Repository], list[str]]:
        return self.locator.repositories(kind)

    # --- versions ------------------------------------------------------------------------------
    def versions(self, path: str | Path) -> VersionList:
        return self._listing.versions(path)

    def versions_of(self, target: Target) -> VersionList:
        return self._listing.versions_of(target)

    def folder(self, kind: str, relative: str = "") -> list[FolderEntry]:
        return self._listing.folder(kind, relative)

    # --- restore -------------------------------------------------------------------------------
    def restore(
        self, path: str | Path, as_of: str | float | None = None, to: Path | None = None
    ) -> RestoreResult:
        return self._restoring.restore(path, as_of, to)

    def restore_version(
        self, target: Target, version: Version, to: Path | None = None
    ) -> RestoreResult:
        return self._restoring.restore_version(target, version, to)

    def default_folder(self, target: Target, moment: float) -> Path:
        return self._restoring.default_folder(target, moment)
