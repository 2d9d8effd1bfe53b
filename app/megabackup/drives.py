"""The drives connected now, as the set-up window lists them: label, size, free space, and
whether one carries the MegaBackup drive marker. A leaf module.

On Windows the local disks from D: on (winsys.volumes: the same letters the marker scan looks
at); elsewhere the mount points among the folders the marker scan looks at (/media, /mnt,
/run/media), so every drive listed is one a cycle can find by its marker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from megabackup import places, winsys
from megabackup.winsys import Volume
from megabackup.words import size_text


@dataclass(frozen=True)
class Drive:
    volume: Volume
    marked: Path | None  # the folder holding its MegaBackup marker (the drive or a folder on it)
    marker_name: str = ""  # the name in that marker

    @property
    def root(self) -> Path:
        return self.volume.root

    def is_ours(self, name: str) -> bool:
        return self.marked is not None and self.marker_name == name

    def describe(self, name: str) -> tuple[str, str, str, str, str]:
        """(drive, label, size, free, what it is) for one row of the list."""
        volume = self.volume
        shown = winsys.display_path(volume.root).rstrip("\\/") or str(volume.root)
        kind = "USB stick or card" if volume.removable else "disk"
        if self.is_ours(name):
            state = f'the MegaBackup drive "{name}"'
        elif self.marked is not None:
            state = f'another MegaBackup drive, "{self.marker_name}"'
        else:
            state = kind
        label = volume.label or "(no label)"
        return shown, label, size_text(volume.total), size_text(volume.free), state


def connected(name: str, volumes: Sequence[Volume] | None = None) -> list[Drive]:
    """The connected drives (or the given ones), each with the marker it carries, if any:
    on the drive itself (`megabackup init-drive F:/`) or in a folder named after the drive
    ("Use this drive" marks F:/MegaBackup)."""
    found = system_volumes() if volumes is None else volumes
    return [_with_marker(volume, name) for volume in found]


def system_volumes() -> list[Volume]:
    if os.name == "nt":
        winsys.quiet_drive_errors()  # an empty card reader must not ask for a disk
        return winsys.volumes()
    return folder_volumes(p for p in places.candidate_roots() if os.path.ismount(p))


def folder_volumes(folders: Iterable[Path]) -> list[Volume]:
    """Folders as drives: their name as the label, the size and free space of their disk."""
    found = []
    for folder in folders:
        try:
            usage = shutil.disk_usage(folder)
        except OSError:
            continue  # unmounted meanwhile
        found.append(Volume(folder, folder.name, usage.total, usage.free, removable=False))
    return found


def marking_folder(drive: Drive, name: str) -> Path:
    """Where "Use this drive" puts the marker: where the drive already carries one (a marker
    of another name is then refused, as `megabackup init-drive` refuses it), else a folder
    named after the drive, so the snapshots sit in one folder beside what else it holds."""
    return drive.marked if drive.marked is not None else drive.root / name


def _with_marker(volume: Volume, name: str) -> Drive:
    candidates = [volume.root, volume.root / name]
    for folder in candidates:
        marker = places.read_drive_marker(folder)
        if marker is not None and marker["name"] == name:
            return Drive(volume, folder, name)
    for folder in candidates:  # marked for another name: say so, never use it silently
        marker = places.read_drive_marker(folder)
        if marker is not None:
            return Drive(volume, folder, marker["name"])
    return Drive(volume, None)
