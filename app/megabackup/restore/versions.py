"""Every copy of a file or folder MegaBackup holds: live on the desktop and the server, unison's
conflict copies beside it, and each distinct version in the desktop backup and on the drive.

Repositories are read through tools/rdiff.py only (its commands, and the few files of its own
that tell what no command does: deleted names and per-session sizes).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from megabackup import winsys
from megabackup.files import folder_names
from megabackup.restore.locate import HOME, Locator, Repository, RestoreError, Target
from megabackup.tools import rdiff, unison
from megabackup.words import moment_text, size_text

STAGING_PREFIX = ".megabackup-restore-"  # a restore's hidden folder: never shown as a file
BACKUP_RUNNING = "a backup is writing to it right now; try again when it has finished"


@dataclass(frozen=True)
class Version:
    """One copy of the file or folder."""

    kind: str  # live | snapshot | conflict copy
    where: str  # desktop | server | desktop backup | external drive
    time: float  # modification time (live, conflict copy) or snapshot time
    size: int | None  # bytes (a folder: the total of its files); None when unknown
    is_dir: bool = False
    path: Path | None = None  # the live file or conflict copy
    repository: Path | None = None  # for snapshots
    since: float | None = None  # snapshots: the first snapshot that already held this content
    newest: bool = False  # snapshots: the repository's current mirror

    @property
    def restorable(self) -> bool:
        return self.kind == "snapshot"

    def describe(self) -> str:
        when = moment_text(self.time)
        size = "size unknown" if self.size is None else size_text(self.size)
        if self.kind == "snapshot":
            extra = " (newest)" if self.newest else ""
            if self.since is not None and int(self.since) < int(self.time):
                extra += f" (unchanged since {moment_text(self.since)})"
            return f"snapshot in the {self.where} of {when}, {size}{extra}"
        if self.kind == "conflict copy":
            return f"conflict copy on the {self.where}, changed {when}, {size}: {self.path}"
        return f"on the {self.where} now, changed {when}, {size}: {self.path}"


@dataclass
class VersionList:
    target: Target
    versions: list[Version]
    notes: list[str] = field(default_factory=list)  # repositories that could not be read

    @property
    def snapshots(self) -> list[Version]:
        return [v for v in self.versions if v.restorable]


@dataclass(frozen=True)
class FolderEntry:
    """A name in a folder, live or only in a backup (deleted since)."""

    name: str
    is_dir: bool
    live: bool


class Unreadable(Exception):
    """A repository that cannot be read now; the message says why, for a note in the list."""


class Versions:
    """Lists versions; each repository's sessions are read once. rdiff-backup is asked for
    only when a repository is read, so browsing live folders works without it."""

    def __init__(
        self,
        locator: Locator,
        tool: Callable[[], rdiff.Rdiff],
        backup_running: Callable[[], bool] = lambda: False,
    ) -> None:
        self.locator = locator
        self._tool = tool
        self._backup_running = backup_running
        self._sessions: dict[Path, list[float]] = {}

    def versions(self, path: str | Path) -> VersionList:
        """Every copy of PATH; RestoreError if there is none anywhere."""
        targets = self.locator.resolve(path)
        first: VersionList | None = None
        for target in targets:
            found = self.versions_of(target)
            if found.versions:
                return found
            first = first or found
        assert first is not None
        where = "; ".join(first.notes)
        raise RestoreError(
            f"no copy of {first.target.relative} was found: not on the desktop, not on the "
            "server and in no snapshot" + (f" ({where})" if where else ""),
            usage=True,
        )

    def versions_of(self, target: Target) -> VersionList:
        target = target.normalised()
        result = VersionList(target, [])
        for where, root in self.locator.live_roots(target.kind):
            live = root / target.relative
            version = _live_version("live", where, live)
            if version is not None:
                result.versions.append(version)
            if target.kind == HOME:
                for copy in unison.conflict_copies(live.parent, target.name):
                    conflict = _live_version("conflict copy", where, copy)
                    if conflict is not None:
                        result.versions.append(conflict)
        repositories, notes = self.locator.repositories(target.kind)
        result.notes += notes
        for repository in repositories:
            try:
                snapshots = self._snapshot_versions(repository, target.relative)
            except Unreadable as exc:
                result.notes.append(f"{repository.label}: {exc}")
                continue
            result.versions += sorted(snapshots, key=lambda v: v.time, reverse=True)
        return result

    def sessions(self, repository: Path) -> list[float]:
        """Every snapshot time in the repository, oldest first; Unreadable if it cannot be read."""
        if repository not in self._sessions:
            _check_repository(repository, self._backup_running)
            entries = self.entries(repository)
            if not entries:
                raise Unreadable(f"no snapshot could be read in {repository}")
            self._sessions[repository] = [e.time for e in entries]
        return self._sessions[repository]

    def entries(self, repository: Path, relative: str = "") -> list[rdiff.IncrementEntry]:
        """The sessions of a repository, or those in which REPO/relative changed, with its
        type then."""
        try:
            if not relative:
                return self._tool().list_increments(repository)
            return self._tool().history(repository, relative)
        except rdiff.RdiffFailed as exc:
            raise Unreadable(explain(str(exc))) from None

    def folder(self, kind: str, relative: str = "") -> list[FolderEntry]:
        """The names in a folder: live ones, and ones only in a backup (deleted since)."""
        found: dict[str, FolderEntry] = {}
        for _where, root in self.locator.live_roots(kind):
            for name, is_dir in folder_names(root.joinpath(*PurePosixPath(relative).parts)):
                if not name.startswith((".megabackup", STAGING_PREFIX)):
                    found.setdefault(name, FolderEntry(name, is_dir, live=True))
        repositories, _notes = self.locator.repositories(kind)
        for repository in repositories:
            for name, is_dir in rdiff.repository_names(repository.path, relative):
                found.setdefault(name, FolderEntry(name, is_dir, live=False))
        return sorted(found.values(), key=lambda e: (not e.is_dir, e.name.casefold()))

    def _snapshot_versions(self, repository: Repository, relative: str) -> list[Version]:
        sessions = self.sessions(repository.path)
        entries = self.entries(repository.path, relative)
        if not any(e.exists for e in entries):
            return []
        is_dir = any(e.kind == "directory" for e in entries)
        times = {e.time for e in entries}
        if is_dir:  # something inside may have changed in sessions the folder itself did not
            times |= rdiff.change_times(repository.path, relative)
            times = {t for t in times if sessions[0] <= t <= sessions[-1]}
        sizes = rdiff.SessionSizes(repository.path)
        versions = []
        previous: float | None = None
        for moment in sorted(times):
            kind = state_at(entries, moment)
            if kind is not None and kind != "missing":
                later = [s for s in sessions if previous is not None and s > previous]
                since = later[0] if later else sessions[0]
                newest = moment == sessions[-1]
                if newest:
                    size = size_of(rdiff.mirror_path(repository.path, relative))
                else:
                    size = sizes.size(moment, relative, is_dir)
                versions.append(
                    Version("snapshot", repository.label, moment, size, kind == "directory",
                            repository=repository.path, since=since, newest=newest)
                )  # fmt: skip
            previous = moment
        return versions


def explain(reason: str) -> str:
    """rdiff-backup's reason, in the words of someone who wants a file back."""
    if "is locked" in reason:
        return BACKUP_RUNNING
    if "couldn't be identified" in reason:
        return "it is not a readable backup (" + reason + ")"
    return reason


def state_at(entries: list[rdiff.IncrementEntry], moment: float) -> str | None:
    """The path's type at a session: the first entry at or after it (reverse increments)."""
    for entry in entries:
        if entry.time >= moment:
            return entry.kind
    return None


def size_of(path: Path) -> int | None:
    where = Path(winsys.long_path(path))  # a file deep in a home can pass Windows' 260 characters
    try:
        if not where.is_dir():
            return where.lstat().st_size
        total = 0
        for dirpath, _dirnames, filenames in os.walk(where):
            for name in filenames:
                with contextlib.suppress(OSError):
                    total += (Path(dirpath) / name).lstat().st_size
        return total
    except OSError:
        return None


def _check_repository(repository: Path, backup_running: Callable[[], bool]) -> None:
    state = rdiff.inspect(repository)
    if not state.exists:
        if repository.exists():
            raise Unreadable(f"{repository} holds no snapshots ({rdiff.DATA_DIR} is missing)")
        raise Unreadable(f"{repository} does not exist yet (no snapshot taken)")
    if state.interrupted_first_backup:
        raise Unreadable(f"{repository} holds no complete snapshot yet")
    if state.interrupted_backup and backup_running():  # a snapshot in progress looks the same
        raise Unreadable(BACKUP_RUNNING)
    if state.interrupted_backup:
        raise Unreadable(
            f"the last backup to {repository} was interrupted; the next backup repairs it"
        )


def _live_version(kind: str, where: str, path: Path) -> Version | None:
    on_disk = Path(winsys.long_path(path))
    try:
        info = on_disk.lstat()
    except OSError:
        return None
    is_dir = on_disk.is_dir()
    return Version(kind, where, info.st_mtime, size_of(path), is_dir, path=path)
