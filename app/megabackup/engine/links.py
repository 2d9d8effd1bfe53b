"""Listed folders that are links: never followed, always named.

A redirected Documents, a OneDrive folder or (on Windows) a junction listed in folders.home is a
link: rdiff-backup stores the link, not what it points to, and unison would sync the link itself
(replacing a real folder on the other side). Neither follows it, so the files in it would never
be backed up while every cycle said "all good". So a listed folder that is a link (or lies under
one) is named in check and in every cycle's report, and left out of the sync on both sides.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path

from megabackup import places, winsys
from megabackup.settings import Settings


@dataclass(frozen=True)
class LinkedFolder:
    place: places.Place
    folder: str  # as listed in folders.home / folders.data
    path: Path  # the link itself
    target: str  # where it leads

    def explain(self) -> str:
        return (
            f'folders.{self.place.kind} "{self.folder}" in the {self.place} ({self.path}) is a '
            f"link to {self.target}; links are not followed, so nothing in it is backed up or "
            "synced. List the folder it leads to as a place of its own, or put the files in "
            f"{self.path} itself"
        )


def linked_folders(settings: Settings, away: Container[str] = ()) -> list[LinkedFolder]:
    """Every listed folder, on every side that has it, that is a link or lies under one; the
    places named in `away` are not asked (a share that does not answer would hang the look)."""
    found = []
    for place in places.sources(settings):
        root = place.path(settings)
        if root is None or place.name in away:
            continue
        for folder in place.folders(settings):
            link = _link_on_the_way(root, folder.split("/"))
            if link is not None:
                found.append(LinkedFolder(place, folder, link, _target(link)))
    return found


def unsynced(found: Sequence[LinkedFolder]) -> tuple[str, ...]:
    """The home folders the sync leaves out: linked on either side."""
    names = [f.folder for f in found if f.place.synced]
    return tuple(dict.fromkeys(names))


def is_link(path: Path) -> bool:
    """A symbolic link, or on Windows any reparse point (a junction reports as a folder)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISLNK(info.st_mode) or winsys.is_reparse_point(info)


def _link_on_the_way(root: Path, parts: Sequence[str]) -> Path | None:
    path = root
    for part in parts:
        path = path / part
        if is_link(path):
            return path
    return None


def _target(link: Path) -> str:
    try:
        return str(link.readlink())
    except OSError:
        return os.path.realpath(link)
