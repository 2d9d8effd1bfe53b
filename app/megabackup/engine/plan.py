"""Settings -> the ordered steps of one cycle. Pure: no I/O, so it is cheap to test and to show.

snapshot A (server home, server data, desktop home) -> sync home -> snapshot B (home, both sides)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from megabackup.settings import Settings

SNAPSHOT_SERVER_HOME = "snapshot-server-home"
SNAPSHOT_SERVER_DATA = "snapshot-server-data"
SNAPSHOT_DESKTOP_HOME = "snapshot-desktop-home"
SYNC_HOME = "sync-home"
RESNAPSHOT_SERVER_HOME = "resnapshot-server-home"
RESNAPSHOT_DESKTOP_HOME = "resnapshot-desktop-home"

# Which steps count as a good snapshot of each place (for "last good snapshot" and overdue).
PLACE_SNAPSHOT_STEPS: dict[str, tuple[str, ...]] = {
    "desktop home": (SNAPSHOT_DESKTOP_HOME, RESNAPSHOT_DESKTOP_HOME),
    "server home": (SNAPSHOT_SERVER_HOME, RESNAPSHOT_SERVER_HOME),
    "server data": (SNAPSHOT_SERVER_DATA,),
}


@dataclass(frozen=True)
class SnapshotStep:
    id: str
    title: str  # short, for the tray: "Backing up: step 2 of 6, snapshot of server data"
    source: Path
    repository: Path
    folders: tuple[str, ...]
    ignore: tuple[str, ...]
    place: str
    target: str  # where the snapshots go, in words: "external drive" or "desktop backup"
    unavailable: str = ""  # why this step cannot run in this cycle (e.g. no external drive)
    after_sync: bool = False  # snapshot B: only when the sync changed this side


@dataclass(frozen=True)
class SyncStep:
    id: str
    title: str
    desktop: Path
    server: Path
    folders: tuple[str, ...]
    ignore: tuple[str, ...]
    keep_both: bool
    requires: tuple[str, ...]  # the snapshots of this cycle that must have succeeded


Step = SnapshotStep | SyncStep


def external_repository(drive: Path, kind: str) -> Path:
    return drive / kind


def desktop_repository(settings: Settings) -> Path:
    return settings.desktop.backup / "home"


def plan_cycle(
    settings: Settings, drive: Path | None, drive_missing_reason: str = ""
) -> list[Step]:
    """The six steps (five without server data) in order; drive None makes its steps unavailable."""
    folders, ignore = settings.folders, settings.folders.ignore
    no_drive = "" if drive is not None else (drive_missing_reason or "external drive not connected")
    drive_or_placeholder = drive if drive is not None else Path("external-drive-not-connected")

    def server_home(step_id: str, after_sync: bool) -> SnapshotStep:
        return SnapshotStep(
            step_id,
            "snapshot of server home" + (" again" if after_sync else ""),
            settings.server.home,
            external_repository(drive_or_placeholder, "home"),
            folders.home,
            ignore,
            "server home",
            "external drive",
            unavailable=no_drive,
            after_sync=after_sync,
        )

    def desktop_home(step_id: str, after_sync: bool) -> SnapshotStep:
        return SnapshotStep(
            step_id,
            "snapshot of desktop home" + (" again" if after_sync else ""),
            settings.desktop.home,
            desktop_repository(settings),
            folders.home,
            ignore,
            "desktop home",
            "desktop backup",
            after_sync=after_sync,
        )

    steps: list[Step] = [server_home(SNAPSHOT_SERVER_HOME, after_sync=False)]
    if settings.server.data is not None:
        steps.append(
            SnapshotStep(
                SNAPSHOT_SERVER_DATA,
                "snapshot of server data",
                settings.server.data,
                external_repository(drive_or_placeholder, "data"),
                folders.data,
                ignore,
                "server data",
                "external drive",
                unavailable=no_drive,
            )
        )
    steps.append(desktop_home(SNAPSHOT_DESKTOP_HOME, after_sync=False))
    steps.append(
        SyncStep(
            SYNC_HOME,
            "syncing home",
            settings.desktop.home,
            settings.server.home,
            folders.home,
            ignore,
            keep_both=settings.safety.conflicts == "keep-both",
            requires=(SNAPSHOT_SERVER_HOME, SNAPSHOT_DESKTOP_HOME),
        )
    )
    steps.append(server_home(RESNAPSHOT_SERVER_HOME, after_sync=True))
    steps.append(desktop_home(RESNAPSHOT_DESKTOP_HOME, after_sync=True))
    return steps
