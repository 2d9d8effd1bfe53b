"""Restoring a file or folder as it was, never overwriting anything.

rdiff-backup restores into a hidden staging folder inside the destination (it needs a target
that does not exist yet), and the result is then moved to a name that is free: an existing file
is kept and the restored one gets a dated name. Our own calls on the destination go through
`winsys.long_path`: a restored file deep in a home can pass Windows' 260-character limit.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from megabackup import winsys
from megabackup.restore import timephrase
from megabackup.restore.locate import HOME, Locator, Repository, RestoreError, Target
from megabackup.restore.versions import (
    STAGING_PREFIX,
    Unreadable,
    Version,
    Versions,
    explain,
    state_at,
)
from megabackup.tools import rdiff
from megabackup.words import moment_text


@dataclass(frozen=True)
class RestoreResult:
    path: Path  # where the restored copy now is
    version: Version  # the snapshot it came from
    kept: Path | None  # an existing file or folder that was left untouched
    leftover: str = ""  # what could not be cleaned up afterwards, and why (normally "")

    @property
    def folder(self) -> Path:
        return self.path.parent

    def describe(self) -> str:
        lines = [
            f"Restored {self.path.name} as it was at {moment_text(self.version.time)} "
            f"(from the {self.version.where})",
            f"  to: {self.path}",
        ]
        if self.kept is not None:
            lines.append(f"  {self.kept} already existed and was kept; the restored copy has a "
                         "dated name")  # fmt: skip
        if self.leftover:
            lines.append(f"  {self.leftover}")
        return "\n".join(lines)


class Restorer:
    def __init__(
        self,
        locator: Locator,
        versions: Versions,
        tool: Callable[[], rdiff.Rdiff],
        clock: Callable[[], float],
    ) -> None:
        self.locator = locator
        self.versions = versions
        self._tool = tool
        self.clock = clock

    def restore(
        self, path: str | Path, as_of: str | float | None = None, to: Path | None = None
    ) -> RestoreResult:
        """Restore PATH as it was at as_of (default: the newest snapshot) into a new place."""
        moment = self._moment(as_of)
        targets = self.locator.resolve(path)
        unreadable: list[str] = []
        oldest: list[tuple[float, str]] = []
        elsewhere: list[tuple[Repository, list[float]]] = []
        readable = 0
        for target in targets:
            repositories, notes = self.locator.repositories(target.kind)
            unreadable += [n for n in notes if n not in unreadable]
            for repository in repositories:
                try:
                    sessions = self.versions.sessions(repository.path)
                    if moment is not None and moment < sessions[0]:
                        readable += 1
                        oldest.append((sessions[0], repository.label))
                        continue
                    entries = self.versions.entries(repository.path, target.relative)
                except Unreadable as exc:
                    unreadable.append(f"{repository.label}: {exc}")
                    continue
                readable += 1
                # No time given: the newest snapshot that holds it, so a deleted file comes back
                # as it was last seen.
                session = _session_at(
                    sessions, moment if moment is not None else _last_seen(entries)
                )
                kind = state_at(entries, session)
                if kind is not None and kind != "missing":
                    version = Version("snapshot", repository.label, session, None,
                                      kind == "directory", repository=repository.path,
                                      newest=session == sessions[-1])  # fmt: skip
                    return self.restore_version(target, version, to)
                present = [e.time for e in entries if e.exists]
                if present:
                    elsewhere.append((repository, present))
        name = targets[0].relative
        if readable == 0 and unreadable:
            raise RestoreError(f"no backup of {name} could be read: " + "; ".join(unreadable))
        if elsewhere:
            repository, present = elsewhere[0]
            asked = moment_text(moment) if moment is not None else "the newest snapshot"
            raise RestoreError(
                f"{name} was not in the {repository.label} at {asked}; it is in snapshots from "
                f"{moment_text(present[0])} to {moment_text(present[-1])} "
                f'(see: megabackup versions "{name}")',
                usage=True,
            )
        if oldest and moment is not None:
            first, label = min(oldest)
            raise RestoreError(
                f"{moment_text(moment)} is before the first snapshot; the oldest snapshot is "
                f"{moment_text(first)} (in the {label})",
                usage=True,
            )
        looked = ", ".join(self.locator.labels(targets)) or "no backup is available"
        extra = f" ({'; '.join(unreadable)})" if unreadable else ""
        raise RestoreError(f"{name} is in no backup (looked in: {looked}){extra}", usage=True)

    def restore_version(
        self, target: Target, version: Version, to: Path | None = None
    ) -> RestoreResult:
        """Restore one snapshot version (from versions_of) without overwriting anything."""
        target = target.normalised()
        if not version.restorable or version.repository is None:
            raise RestoreError(f"the {version.kind} on the {version.where} is not a snapshot")
        folder = to if to is not None else self.default_folder(target, version.time)
        created = _missing_folders(folder)  # removed again if nothing is restored into them
        try:
            Path(winsys.long_path(folder)).mkdir(parents=True, exist_ok=True)
            made = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=winsys.long_path(folder)))
            staging = folder / made.name  # rdiff-backup is given the plain path
        except OSError as exc:
            failure = RestoreError(f"cannot write to {folder}: {_reason(exc)}")
            raise _with_leftovers(failure, _tidy(None, created)) from None
        try:
            final, kept = self._restore_into(staging, folder, target, version)
        except RestoreError as exc:
            raise _with_leftovers(exc, _tidy(staging, created)) from None
        return RestoreResult(final, version, kept, _tidy(staging, []))

    def _restore_into(
        self, staging: Path, folder: Path, target: Target, version: Version
    ) -> tuple[Path, Path | None]:
        assert version.repository is not None
        staged = staging / target.name
        try:
            try:
                self._tool().restore(version.repository / target.relative, version.time, staged)
            except rdiff.RdiffFailed as exc:
                reason = explain(str(exc))
                if str(staging) in reason:  # its own test writes in the target failed
                    reason = f"{folder} could not be written to ({reason}); choose another folder"
                raise RestoreError(f"restoring {target.relative} failed: {reason}") from None
            if not _lexists(staged):  # rc 0 and nothing made: not there at that time
                raise RestoreError(
                    f"{target.relative} was not in the {version.where} at "
                    f"{moment_text(version.time)}; nothing was restored",
                    usage=True,
                )
            return _move_to_free_name(staged, folder, target.name, self.clock())
        except OSError as exc:
            raise RestoreError(f"cannot write to {folder}: {_reason(exc)}") from None

    def default_folder(self, target: Target, moment: float) -> Path:
        """'Restored <snapshot time>' beside the original; the desktop side for home files."""
        settings = self.locator.settings
        base = settings.desktop.home if target.kind == HOME else settings.server.data
        assert base is not None
        stamp = datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H-%M")
        parent = base.joinpath(*PurePosixPath(target.relative).parent.parts)
        return parent / f"Restored {stamp}"

    def _moment(self, as_of: str | float | None) -> float | None:
        if as_of is None or isinstance(as_of, (int, float)):
            return None if as_of is None else float(as_of)
        try:
            return timephrase.parse(as_of, self.clock())
        except timephrase.TimePhraseError as exc:
            raise RestoreError(str(exc), usage=True) from None


CLEANUP_SECONDS = 10.0  # a share may fail every call for a few seconds after refusing a name


def _tidy(staging: Path | None, created: list[Path]) -> str:
    """Remove the staging folder, and the folders made for a restore that did not happen;
    "" when all is gone, else what is left and why, for the person to read.

    rdiff-backup's tests of a restore target write names Windows refuses; a share reached
    through smbnetfs then answers every call with an I/O error for about 3 s. So each removal
    is tried again for a while, and a failure is said, never swallowed."""
    left = []
    for path in ([staging] if staging is not None else []) + created:
        deadline = time.monotonic() + CLEANUP_SECONDS
        while True:
            try:
                if path == staging:
                    shutil.rmtree(winsys.long_path(path))
                else:
                    Path(winsys.long_path(path)).rmdir()
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if path != staging and exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    break  # something else is in it now: not ours to remove
                if time.monotonic() >= deadline:
                    left.append(f"{path} ({_reason(exc)})")
                    break
                time.sleep(0.5)
    if not left:
        return ""
    return "could not remove what the restore left behind, delete it by hand: " + ", ".join(left)


def _with_leftovers(error: RestoreError, left: str) -> RestoreError:
    return RestoreError(f"{error}; {left}", usage=error.usage) if left else error


def _missing_folders(folder: Path) -> list[Path]:
    """The folders mkdir(parents=True) would make for folder, deepest first."""
    missing = []
    while not _lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _session_at(sessions: list[float], moment: float | None) -> float:
    if moment is None:
        return sessions[-1]
    return max(s for s in sessions if s <= moment)


def _last_seen(entries: list[rdiff.IncrementEntry]) -> float | None:
    present = [e.time for e in entries if e.exists]
    return present[-1] if present else None


def _move_to_free_name(
    staged: Path, folder: Path, name: str, now: float
) -> tuple[Path, Path | None]:
    """Move staged to folder/name, or to a dated name if that exists: never over anything."""
    wanted = folder / name
    kept = wanted if _lexists(wanted) else None
    for candidate in _candidate_names(folder, name, now):
        if _lexists(candidate):
            continue
        try:
            _move_no_overwrite(staged, candidate)
        except FileExistsError:
            continue  # appeared meanwhile: try the next name
        return candidate, (kept if candidate != wanted else None)
    raise RestoreError(f"no free name for {name} in {folder}")


def _candidate_names(folder: Path, name: str, now: float) -> Iterator[Path]:
    yield folder / name
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    stamp = datetime.fromtimestamp(now).strftime("%Y-%m-%d %H-%M-%S")
    yield folder / f"{stem} (restored {stamp}){suffix}"
    for number in range(2, 100):
        yield folder / f"{stem} (restored {stamp} #{number}){suffix}"


def _move_no_overwrite(source: Path, target: Path) -> None:
    old, new = Path(winsys.long_path(source)), Path(winsys.long_path(target))
    if old.is_dir() and not old.is_symlink():
        if os.path.lexists(new):
            raise FileExistsError(errno.EEXIST, "exists", str(target))
        old.rename(new)  # same folder tree, so a rename; Windows never overwrites
        return
    # A hard link fails if target exists (a rename on POSIX would replace it).
    options = {"follow_symlinks": False} if os.link in os.supports_follow_symlinks else {}
    try:
        os.link(old, new, **options)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError):  # no hard links here (FAT, some shares)
        if os.path.lexists(new):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        old.rename(new)
        return
    old.unlink()


def _lexists(path: Path) -> bool:
    return os.path.lexists(winsys.long_path(path))


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
