"""MegaBackup's own small files: written whole or not at all, the stamps of when things ran, and
whether a lock file of ours is held.

A leaf module. `atomic_write` writes a temporary file beside the target, flushes it to the disk
and renames it over the target, so a power cut leaves the old file or the new one, never half of
either (the places memory behind the mass-deletion hold, the manifests, the pause, the stamps).
A missing or damaged stamp reads as "never".

Paths go through `winsys.long_path`, so a file deep in a place (a marker, a restored file) is
written on Windows even past its classic 260-character limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import filelock

from megabackup import winsys
from megabackup.words import shown


def atomic_write(path: Path, content: str | bytes) -> None:
    """Replace path with content; on any failure the old file stays as it was."""
    folder = Path(winsys.long_path(path.parent))
    folder.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, winsys.long_path(path))
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def write_json(path: Path, content: object) -> None:
    atomic_write(path, json.dumps(content, indent=2) + "\n")


def read_json(path: Path) -> object:
    """The parsed file, or None when it is missing, unreadable or not JSON."""
    try:
        with open(winsys.long_path(path), encoding="utf-8") as stream:
            return json.loads(stream.read())
    except (OSError, ValueError):
        return None


def read_stamp(folder: Path, name: str) -> float | None:
    data = read_json(folder / f"{name}.json")
    try:
        return float(data["last_run"])  # type: ignore[index]
    except (ValueError, KeyError, TypeError):
        return None


def write_stamp(folder: Path, name: str, when: float) -> None:
    write_json(folder / f"{name}.json", {"last_run": when})


def due(last: float | None, now: float, every_seconds: float) -> bool:
    """Never done, done "in the future" (the clock was set back), or done long enough ago."""
    return last is None or last > now or now - last >= every_seconds


def folder_names(folder: Path) -> list[tuple[str, bool]]:
    """(name, is a folder) of each entry, links not followed; none when it cannot be read."""
    try:
        with os.scandir(winsys.long_path(folder)) as entries:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    except OSError:
        return []


def spelled_on_disk(root: Path, relative: str) -> str:
    """A folder path inside root as the disk spells it ("documents" -> "Documents"): Windows
    finds a name in any case, but rdiff-backup's selection and unison's paths compare exactly.
    An exact match wins; then the one name that differs only in case; what is not there stays
    as it was given."""
    folder, spelled = root, []
    for part in (p for p in relative.split("/") if p):
        names = [name for name, _is_dir in folder_names(folder)]
        if part not in names:
            same = [name for name in names if name.casefold() == part.casefold()]
            part = same[0] if len(same) == 1 else part
        spelled.append(part)
        folder = folder / part
    return "/".join(spelled)


def lock_held(path: Path) -> bool:
    """Whether another holder (this process or another one) has the file lock at path now."""
    if not path.exists():
        return False
    probe = filelock.FileLock(str(path))
    try:
        probe.acquire(timeout=0)
    except filelock.Timeout:
        return True
    probe.release()
    return False


def find_shown(root: Path, relative: str) -> Path | None:
    """The path under root that `relative` names in its shown form (words.shown), or as a tool's
    output read with undecodable bytes replaced; None when there is none."""
    path = root
    for part in relative.split("/"):
        if not part:
            continue
        candidate = path / part
        if shown(part) == part and os.path.lexists(candidate):
            path = candidate
            continue
        try:
            with os.scandir(path) as entries:
                names = [e.name for e in entries]
        except OSError:
            return None
        match = next((n for n in names if part in (shown(n), _as_replaced(n))), None)
        if match is None:
            return None
        path = path / match
    return path


def _as_replaced(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
