"""Settings -> the ordered steps of one cycle. Pure: no I/O, so it is cheap to test and to show.

snapshot A (server home, server data, desktop home) -> sync home -> snapshot B (home, both sides)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from megabackup.places import (
    CLOCK_FOLDER_IGNORE,
    DESKTOP_HOME,
    EXTERNAL_DRIVE,
    SERVER_DATA,
    SERVER_HOME,
    Place,
)
from megabackup.settings import Settings
from megabackup.tools.unison import TEMP_FILE_PATTERN, SyncJob

SNAPSHOT_SERVER_HOME, RESNAPSHOT_SERVER_HOME = SERVER_HOME.snapshot_steps
(SNAPSHOT_SERVER_DATA,) = SERVER_DATA.snapshot_steps
SNAPSHOT_DESKTOP_HOME, RESNAPSHOT_DESKTOP_HOME = DESKTOP_HOME.snapshot_steps
SYNC_HOME = "sync-home"


@dataclass(frozen=True)
class SnapshotStep:
    id: str
    title: str  # short, for the tray: "Backing up: step 2 of 6, snapshot of server data"
    source: Path
    repository: Path
    folders: tuple[str, ...]
    ignore: tuple[str, ...]
    place: Place
    target: str  # where the snapshots go, in words: "external drive" or "desktop backup"
    unavailable: str = ""  # why it waits for a place that is away (its source or its target)
    after_sync: bool = False  # snapshot B: only when the sync changed this side


@dataclass(frozen=True)
class SyncStep:
    id: str
    title: str
    job: SyncJob  # the cycle's options (fastcheck, emptied on purpose) are applied to it
    requires: tuple[str, ...]  # the snapshots of this cycle that must have succeeded
    unavailable: str = ""  # why it cannot run at all (with no folder left, it would sync all)


Step = SnapshotStep | SyncStep


def plan_cycle(
    settings: Settings,
    drive: Path | None,
    away: Mapping[str, str] | None = None,
    unsynced: tuple[str, ...] = (),
) -> list[Step]:
    """The six steps (five without server data) in order. A step whose source or target is
    away (by place name, with the reason) is unavailable; so is the drive's when drive is None.
    `unsynced`: listed home folders the sync leaves out (links; see engine/links.py)."""
    ignore = (*settings.folders.ignore, TEMP_FILE_PATTERN)
    away = dict(away or {})
    if drive is None:
        away.setdefault(EXTERNAL_DRIVE.name, "the external drive is not connected")
    drive_or_placeholder = drive if drive is not None else Path("external-drive-not-connected")

    def snapshot(place: Place, step_id: str, after_sync: bool = False) -> SnapshotStep:
        source = place.path(settings)
        repository = place.repository(settings, drive_or_placeholder)
        assert source is not None and repository is not None
        return SnapshotStep(
            step_id,
            f"snapshot of {place.name}" + (" again" if after_sync else ""),
            source,
            repository,
            place.folders(settings),
            ignore + ((CLOCK_FOLDER_IGNORE,) if place is SERVER_HOME else ()),
            place,
            place.target,
            unavailable=away.get(place.name) or away.get(place.target, ""),
            after_sync=after_sync,
        )

    steps: list[Step] = [snapshot(SERVER_HOME, SNAPSHOT_SERVER_HOME)]
    if settings.server.data is not None:
        steps.append(snapshot(SERVER_DATA, SNAPSHOT_SERVER_DATA))
    steps.append(snapshot(DESKTOP_HOME, SNAPSHOT_DESKTOP_HOME))
    steps.append(
        SyncStep(
            SYNC_HOME,
            "syncing home",
            SyncJob(
                settings.desktop.home,
                settings.server.home,
                tuple(f for f in settings.folders.home if f not in unsynced),
                ignore,
                keep_both=settings.safety.conflicts == "keep-both",
            ),
            requires=(SNAPSHOT_SERVER_HOME, SNAPSHOT_DESKTOP_HOME),
            unavailable=(
                "not synced, because every listed home folder is a link"
                if settings.folders.home and set(settings.folders.home) <= set(unsynced)
                else ""
            ),
        )
    )
    steps.append(snapshot(SERVER_HOME, RESNAPSHOT_SERVER_HOME, after_sync=True))
    steps.append(snapshot(DESKTOP_HOME, RESNAPSHOT_DESKTOP_HOME, after_sync=True))
    return steps
