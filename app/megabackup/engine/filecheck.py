"""What the stat walk before a snapshot tells a person: its size, and files worth knowing about.

- impossible times: later than now plus the clock limit, or before 1980 (a wrong clock wrote them;
  with "prefer newer" a file from the future would win every conflict);
- names Windows cannot store (reserved names, forbidden characters, a trailing dot or space),
  names in one folder that differ only in case, and paths longer than Windows' classic limit;
- what is not backed up at all: reparse points (junctions, symbolic links, OneDrive files kept
  online), which rdiff-backup leaves out on Windows and the sync leaves alone.
It rides on the manifest's walk (one stat walk per tree) and changes nothing: the findings are
listed in the report, and every other file is still backed up.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from megabackup.engine import manifest

EARLIEST_SANE = datetime(1980, 1, 1, tzinfo=timezone.utc).timestamp()
WINDOWS_MAX_PATH = 260
MAX_LISTED = 20  # per kind, so one bad folder cannot flood the report
BLOCK = 4096  # NTFS, exFAT and ext4 give every file (and folder) whole blocks of 4 KB
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)
# a character Windows forbids in names, or a dot or space at the end of one
_UNSAFE = re.compile(r'[<>:"\\|?*\x00-\x1f]|[. ]\Z')


@dataclass
class FileCheck:
    root_length: int  # characters in the source path, for the full length of each path
    latest_sane: float  # epoch seconds: later than this is "in the future"
    files: int = 0
    total_bytes: int = 0
    allocated_bytes: int = 0  # on a disk of 4 KB blocks: what a copy of every entry takes
    future: list[str] = field(default_factory=list)
    ancient: list[str] = field(default_factory=list)
    bad_names: list[str] = field(default_factory=list)
    case_clashes: list[str] = field(default_factory=list)
    too_long: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # reparse points: all of them, not backed up
    paths: set[str] = field(default_factory=set, repr=False)  # every entry the walk saw
    # the folder being walked and its names so far: the walk gives a folder's entries together
    _folder: str | None = field(default=None, repr=False)
    _siblings: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def for_tree(cls, root: Path, now: float, future_margin: float) -> FileCheck:
        return cls(len(str(root)), now + future_margin)

    def observe(self, relative: str, info: os.stat_result) -> None:
        """One entry of the walk ('.' is the root itself)."""
        if relative == ".":
            return
        self.paths.add(relative)
        parent, _, name = relative.rpartition("/")
        if parent != self._folder:
            self._folder, self._siblings = parent, set()
        folded = name.casefold()
        if folded in self._siblings:
            _note(self.case_clashes, relative)
        self._siblings.add(folded)
        if not _windows_safe(name):
            _note(self.bad_names, relative)
        if self.root_length + 1 + len(relative) > WINDOWS_MAX_PATH:
            _note(self.too_long, relative)
        if info.st_mtime > self.latest_sane:
            _note(self.future, relative)
        elif info.st_mtime < EARLIEST_SANE:
            _note(self.ancient, relative)
        self.allocated_bytes += -(-info.st_size // BLOCK) * BLOCK or BLOCK
        if not stat.S_ISDIR(info.st_mode):
            self.files += 1
            self.total_bytes += info.st_size

    def findings(self) -> list[str]:
        """Plain sentences, one per kind of finding, naming up to three files."""
        kinds = (
            (self.future, "dated in the future (a wrong clock?)"),
            (self.ancient, "dated before 1980 (a wrong clock?)"),
            (self.bad_names, "named in a way Windows cannot store"),
            (self.case_clashes, "differing only in upper/lower case from a neighbour"),
            (self.too_long, f"with paths longer than {WINDOWS_MAX_PATH} characters"),
        )
        sentences = []
        for found, what in kinds:
            if found:
                shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
                sentences.append(f"{len(found)} file(s) {what}: {shown}")
        return sentences

    def not_backed_up(self, place: object) -> str:
        """One sentence naming what Windows keeps as links; "" when there is none."""
        if not self.links:
            return ""
        shown = ", ".join(self.links[:3]) + (", ..." if len(self.links) > 3 else "")
        return (
            f"{place}: {len(self.links)} item(s) are not backed up or synced, because Windows "
            f"keeps them as links (junctions, symbolic links, OneDrive files kept online): {shown}"
        )


def long_paths_off(place: object, files: FileCheck) -> str:
    """The warning for paths longer than Windows' classic limit while its long paths are off."""
    shown = ", ".join(files.too_long[:3]) + (", ..." if len(files.too_long) > 3 else "")
    return (
        f"{place}: {len(files.too_long)} path(s) are longer than {WINDOWS_MAX_PATH} characters, "
        "and Windows' long paths are turned off (LongPathsEnabled), so rdiff-backup cannot back "
        'them up; turn long paths on (Group Policy "Enable Win32 long paths", or the registry '
        f"value LongPathsEnabled = 1) and restart: {shown}"
    )


def check_tree(
    root: Path, folders: Sequence[str], ignore: Sequence[str], now: float, future_margin: float
) -> tuple[FileCheck, manifest.Manifest]:
    """Walk what a snapshot of root holds once: the findings and the manifest of that walk."""
    check = FileCheck.for_tree(root, now, future_margin)
    walk = manifest.scan(root, folders, ignore, observe=check.observe, on_link=check.links.append)
    return check, walk


def _note(found: list[str], relative: str) -> None:
    if len(found) < MAX_LISTED:
        found.append(relative)


def _windows_safe(name: str) -> bool:
    return not (_UNSAFE.search(name) or _RESERVED.match(name))
