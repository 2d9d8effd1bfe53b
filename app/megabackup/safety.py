"""The preflight: everything that must hold before a cycle writes anything. It only reads.

A fatal problem stops the whole cycle (a missing or suddenly empty place, a wrong drive, no
rdiff-backup). A missing external drive is not fatal: its snapshots are skipped, and with them
the sync, because the server home then has no snapshot in this cycle (promise 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from megabackup import places
from megabackup.history import History
from megabackup.plan import PLACE_SNAPSHOT_STEPS, desktop_repository
from megabackup.settings import Settings
from megabackup.tools import rdiff, unison


@dataclass
class Preflight:
    fatal: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    drive: Path | None = None
    drive_reason: str = ""
    rdiff_prefix: tuple[str, ...] = ()
    unison_program: str = ""
    unison_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.fatal


def preflight(
    settings: Settings,
    history: History | None = None,
    *,
    allow_empty: bool = False,
    drive_roots: list[Path] | None = None,
    bundled_unison: Path | None = None,
) -> Preflight:
    result = Preflight()
    _check_tools(settings, result, bundled_unison)
    sources = {
        "desktop home": (settings.desktop.home, "desktop.home", settings.folders.home),
        "server home": (settings.server.home, "server.home", settings.folders.home),
    }
    if settings.server.data is not None:
        sources["server data"] = (settings.server.data, "server.data", settings.folders.data)
    for place, (path, key, folders) in sources.items():
        if not path.is_dir():
            result.fatal.append(
                f"the {place} {path} ({key}) is missing or not reachable; "
                "nothing was backed up or synced"
            )
            continue
        seen_before = history.last_source_files(PLACE_SNAPSHOT_STEPS[place]) if history else 0
        # A root counts itself, so more than 1 file means it held something at the last cycle.
        if seen_before > 1 and not allow_empty and not places.has_content(path, folders):
            result.fatal.append(
                f"the {place} {path} is empty, but held {seen_before - 1} files and folders at "
                "the last backup; it may be unmounted or disconnected, so nothing was written. "
                "If you emptied it on purpose, run: megabackup run --allow-empty"
            )
    _check_desktop_backup(settings, history, result)
    try:
        lookup = places.find_external(settings.external.name, settings.external.path, drive_roots)
    except places.PlaceError as exc:
        result.fatal.append(str(exc))
    else:
        result.drive = lookup.path
        result.drive_reason = lookup.reason
        if not lookup.found:
            result.warnings.append(lookup.reason)
    return result


def _check_tools(settings: Settings, result: Preflight, bundled_unison: Path | None) -> None:
    try:
        result.rdiff_prefix = rdiff.locate(settings.tools.rdiff_backup)
    except rdiff.RdiffMissing as exc:
        result.fatal.append(str(exc))
    try:
        result.unison_program = unison.locate(settings.tools.unison, bundled_unison)
    except unison.UnisonMissing as exc:
        result.unison_problem = str(exc)


def _check_desktop_backup(settings: Settings, history: History | None, result: Preflight) -> None:
    backup = settings.desktop.backup
    if not backup.is_dir() and not backup.parent.is_dir():
        result.fatal.append(
            f"the desktop backup location {backup} (desktop.backup) is not reachable: "
            f"{backup.parent} does not exist"
        )
        return
    repository = desktop_repository(settings)
    had_snapshots = history is not None and history.last_success(
        PLACE_SNAPSHOT_STEPS["desktop home"]
    )
    if had_snapshots and not rdiff.inspect(repository).exists:
        result.fatal.append(
            f"the desktop backup {repository} held snapshots at the last backup but is gone now; "
            "if the backup disk is disconnected, reconnect it"
        )
