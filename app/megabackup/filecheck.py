"""One stat walk of a source before its snapshot: its size, and files a person should know about.

- impossible times: later than now plus the clock limit, or before 1980 (a wrong clock wrote them;
  with "prefer newer" a file from the future would win every conflict);
- names Windows cannot store (reserved names, forbidden characters, a trailing dot or space),
  names in one folder that differ only in case, and paths longer than Windows' classic limit.
Nothing here changes a file: the findings are listed in the report, and the file is still backed up.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

EARLIEST_SANE = datetime(1980, 1, 1, tzinfo=timezone.utc).timestamp()
WINDOWS_MAX_PATH = 260
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)
_FORBIDDEN = set('<>:"\\|?*') | {chr(c) for c in range(32)}
MAX_LISTED = 20  # per kind, so one bad folder cannot flood the report


@dataclass
class FileCheck:
    files: int = 0
    total_bytes: int = 0
    future: list[str] = field(default_factory=list)
    ancient: list[str] = field(default_factory=list)
    bad_names: list[str] = field(default_factory=list)
    case_clashes: list[str] = field(default_factory=list)
    too_long: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def findings(self) -> list[str]:
        """Plain sentences, one per kind of finding, naming up to a few files."""
        sentences = []
        kinds = (
            (self.future, "dated in the future (a wrong clock?)"),
            (self.ancient, "dated before 1980 (a wrong clock?)"),
            (self.bad_names, "named in a way Windows cannot store"),
            (self.case_clashes, "differing only in upper/lower case from a neighbour"),
            (self.too_long, f"with paths longer than {WINDOWS_MAX_PATH} characters"),
            (self.unreadable, "that could not be read"),
        )
        for found, what in kinds:
            if found:
                shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
                sentences.append(f"{len(found)} file(s) {what}: {shown}")
        return sentences


def check_tree(
    root: Path,
    folders: Sequence[str],
    ignore: Sequence[str],
    now: float,
    future_margin: float,
) -> FileCheck:
    """Walk what the snapshot of root will hold (its folder list minus the ignore patterns)."""
    result = FileCheck()
    starts = [root / f for f in folders] if folders else [root]
    latest_sane = now + future_margin
    for start in starts:
        if start.is_dir():
            _walk(root, start, ignore, latest_sane, result)
    return result


def _walk(
    root: Path, folder: Path, ignore: Sequence[str], latest: float, result: FileCheck
) -> None:
    try:
        with os.scandir(folder) as iterator:
            entries = list(iterator)
    except OSError:
        result.unreadable.append(_relative(root, folder))
        return
    seen: dict[str, str] = {}
    for entry in entries:
        relative = _relative(root, Path(entry.path))
        if entry.name.startswith(".megabackup") or _ignored(entry.name, relative, ignore):
            continue
        folded = entry.name.casefold()
        if folded in seen and len(result.case_clashes) < MAX_LISTED:
            result.case_clashes.append(relative)
        seen[folded] = entry.name
        if not _windows_safe(entry.name) and len(result.bad_names) < MAX_LISTED:
            result.bad_names.append(relative)
        if len(str(Path(entry.path))) > WINDOWS_MAX_PATH and len(result.too_long) < MAX_LISTED:
            result.too_long.append(relative)
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            result.unreadable.append(relative)
            continue
        if info.st_mtime > latest and len(result.future) < MAX_LISTED:
            result.future.append(relative)
        elif info.st_mtime < EARLIEST_SANE and len(result.ancient) < MAX_LISTED:
            result.ancient.append(relative)
        if entry.is_dir(follow_symlinks=False):
            _walk(root, Path(entry.path), ignore, latest, result)
        else:
            result.files += 1
            result.total_bytes += info.st_size


def _ignored(name: str, relative: str, ignore: Sequence[str]) -> bool:
    for pattern in ignore:
        if "/" in pattern:
            if fnmatch.fnmatchcase(relative, pattern.strip("/")):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def _windows_safe(name: str) -> bool:
    if _RESERVED.match(name) or name.endswith((".", " ")):
        return False
    return not any(c in _FORBIDDEN for c in name)


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
