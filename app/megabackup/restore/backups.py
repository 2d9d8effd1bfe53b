"""Getting files back: every copy of a file MegaBackup holds, and restoring one safely.

- A PATH may be given as the desktop path, the server path, a server data path, or relative to
  home; a relative path that is in no home backup is looked up in the data backup.
- Copies: live on the desktop and the server, each distinct version in the desktop backup and on
  the external drive, and unison's conflict copies beside the file on either side.
- Restore never overwrites. rdiff-backup restores into a hidden staging folder inside the
  destination (it needs a target that does not exist yet), and the result is then moved to a
  name that is free: an existing file is kept and the restored one gets a dated name.
- The desktop backup is preferred to the external drive: it is local, so faster, and present.

Reads repositories only through rdiff-backup, apart from the names of increment files and the
per-session file statistics, which give sizes and deleted names that no command reports.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from megabackup import places
from megabackup.errors import MegaBackupError
from megabackup.outcome import ExitCode
from megabackup.restore import timephrase
from megabackup.settings import Settings
from megabackup.tools import rdiff, unison
from megabackup.tools.runner import Runner

HOME, DATA = places.HOME, places.DATA
DESKTOP_BACKUP, EXTERNAL_DRIVE = places.DESKTOP_BACKUP.name, places.EXTERNAL_DRIVE.name
STAGING_PREFIX = ".megabackup-restore-"


class RestoreError(MegaBackupError):
    """One plain sentence about why the request cannot be met.

    usage=True: the request itself cannot be met as asked (a path in no backup, a time before the
    first snapshot, an unreadable time); False: something failed (a repository or destination).
    """

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message, exit_code=ExitCode.USAGE if usage else ExitCode.FAILED)
        self.usage = usage


@dataclass(frozen=True)
class Target:
    """What a PATH names: a kind of place and a path relative to it, with forward slashes."""

    kind: str  # home | data
    relative: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative).name


@dataclass(frozen=True)
class Repository:
    label: str  # desktop backup | external drive
    path: Path


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
        when = timephrase.show(self.time)
        size = "size unknown" if self.size is None else format_size(self.size)
        if self.kind == "snapshot":
            extra = " (newest)" if self.newest else ""
            if self.since is not None and int(self.since) < int(self.time):
                extra += f" (unchanged since {timephrase.show(self.since)})"
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
class RestoreResult:
    path: Path  # where the restored copy now is
    version: Version  # the snapshot it came from
    kept: Path | None  # an existing file or folder that was left untouched

    @property
    def folder(self) -> Path:
        return self.path.parent

    def describe(self) -> str:
        lines = [
            f"Restored {self.path.name} as it was at {timephrase.show(self.version.time)} "
            f"(from the {self.version.where})",
            f"  to: {self.path}",
        ]
        if self.kept is not None:
            lines.append(f"  {self.kept} already existed and was kept; the restored copy has a "
                         "dated name")  # fmt: skip
        return "\n".join(lines)


@dataclass(frozen=True)
class FolderEntry:
    """A name in a folder, live or only in a backup (deleted since)."""

    name: str
    is_dir: bool
    live: bool


class _Unreadable(Exception):
    pass


class Backups:
    """The copies of files across the places; runner, rdiff-backup and clock are injectable."""

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        prefix: tuple[str, ...] | None = None,
        clock: Callable[[], float] = time.time,
        drive: Path | str | None = "find",
    ) -> None:
        self.settings = settings
        self.runner = runner or Runner()
        self._prefix = prefix
        self.clock = clock
        self._drive_given = drive
        self._drive: tuple[Path | None, str] | None = None
        self._sessions: dict[Path, list[float]] = {}

    # --- where things are -------------------------------------------------------------------

    @property
    def prefix(self) -> tuple[str, ...]:
        if self._prefix is None:
            try:
                self._prefix = rdiff.locate(self.settings.tools.rdiff_backup)
            except rdiff.RdiffMissing as exc:
                raise RestoreError(str(exc)) from None
        return self._prefix

    def drive(self) -> tuple[Path | None, str]:
        """The external drive folder, or None and why it is not available."""
        if self._drive is None:
            if self._drive_given != "find":
                given = self._drive_given
                self._drive = (Path(given) if given else None, "not connected")
            else:
                external = self.settings.external
                try:
                    lookup = places.find_external(external.name, external.path)
                    self._drive = (lookup.path, lookup.reason)
                except places.PlaceError as exc:
                    self._drive = (None, str(exc))
        return self._drive

    def repositories(self, kind: str) -> tuple[list[Repository], list[str]]:
        """The repositories holding this kind, best first, and notes on those not available."""
        found: list[Repository] = []
        notes: list[str] = []
        drive, reason = self.drive()
        for place in places.SOURCES:  # the desktop backup first: local, so faster, and present
            if place.kind != kind:
                continue
            repository = place.repository(self.settings, drive)
            if repository is not None:
                found.append(Repository(place.target, repository))
            elif place.target == EXTERNAL_DRIVE:
                notes.append(f"external drive: {reason}")
        return found, notes

    def live_roots(self, kind: str) -> list[tuple[str, Path]]:
        if kind == HOME:
            return [("desktop", self.settings.desktop.home), ("server", self.settings.server.home)]
        data = self.settings.server.data
        return [("server", data)] if data is not None else []

    def resolve(self, path: str | Path) -> list[Target]:
        """The targets a PATH may mean, most likely first."""
        text = str(path).strip()
        if not text:
            raise RestoreError("no file or folder given", usage=True)
        given = Path(os.path.expanduser(text))
        if given.is_absolute():
            roots: list[tuple[str, Path | None]] = [
                (HOME, self.settings.desktop.home),
                (HOME, self.settings.server.home),
                (DATA, self.settings.server.data),
                (HOME, places.DESKTOP_HOME.repository(self.settings, None)),
            ]
            for kind, root in roots:
                relative = _relative_to(given, root)
                if relative is not None:
                    return [Target(kind, _checked_relative(relative, text))]
            raise RestoreError(
                f"{text} is not inside the desktop home ({self.settings.desktop.home}), the "
                f"server home ({self.settings.server.home})"
                + (
                    f" or the server data ({self.settings.server.data})"
                    if self.settings.server.data
                    else ""
                )
                + "; give a path inside one of them, or relative to home",
                usage=True,
            )
        relative = _checked_relative(text.replace("\\", "/"), text)
        targets = [Target(HOME, relative)]
        if self.settings.server.data is not None:
            targets.append(Target(DATA, relative))
        return targets

    # --- versions -----------------------------------------------------------------------------

    def versions(self, path: str | Path) -> VersionList:
        """Every copy of PATH; RestoreError if there is none anywhere."""
        targets = self.resolve(path)
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
        target = _normalised(target)
        result = VersionList(target, [])
        for where, root in self.live_roots(target.kind):
            live = root / target.relative
            version = _live_version("live", where, live)
            if version is not None:
                result.versions.append(version)
            if target.kind == HOME:
                for copy in unison.conflict_copies(live.parent, target.name):
                    conflict = _live_version("conflict copy", where, copy)
                    if conflict is not None:
                        result.versions.append(conflict)
        repositories, notes = self.repositories(target.kind)
        result.notes += notes
        for repository in repositories:
            try:
                snapshots = self._snapshot_versions(repository, target.relative)
            except _Unreadable as exc:
                result.notes.append(f"{repository.label}: {exc}")
                continue
            result.versions += sorted(snapshots, key=lambda v: v.time, reverse=True)
        return result

    def sessions(self, repository: Path) -> list[float]:
        """Every snapshot time in the repository, oldest first; _Unreadable if it cannot be read."""
        if repository not in self._sessions:
            _check_repository(repository)
            entries = self._list(repository)
            if not entries:
                raise _Unreadable(f"no snapshot could be read in {repository}")
            self._sessions[repository] = [e.time for e in entries]
        return self._sessions[repository]

    def _list(self, source: Path) -> list[rdiff.IncrementEntry]:
        result, lines = rdiff.run_lines(
            self.runner, rdiff.path_increments_argv(self.prefix, source)
        )
        if rdiff.classify(result.returncode) == "failed":
            raise _Unreadable(_explain(rdiff.failure_reason(lines, result)))
        return rdiff.parse_increment_entries(lines)

    def _snapshot_versions(self, repository: Repository, relative: str) -> list[Version]:
        sessions = self.sessions(repository.path)
        entries = self._list(repository.path / relative)
        if not any(e.exists for e in entries):
            return []
        is_dir = any(e.kind == "directory" for e in entries)
        times = {e.time for e in entries}
        if is_dir:  # something inside may have changed in sessions the folder itself did not
            times |= _change_times(repository.path, relative)
            times = {t for t in times if sessions[0] <= t <= sessions[-1]}
        ordered = sorted(times)
        statistics = _StatisticsFiles(repository.path)
        versions = []
        previous: float | None = None
        for moment in ordered:
            kind = _state_at(entries, moment)
            if kind is not None and kind != "missing":
                later = [s for s in sessions if previous is not None and s > previous]
                since = later[0] if later else sessions[0]
                newest = moment == sessions[-1]
                if newest:
                    size = _size_of(repository.path / relative)
                else:
                    size = statistics.size(moment, relative, is_dir)
                versions.append(
                    Version("snapshot", repository.label, moment, size, kind == "directory",
                            repository=repository.path, since=since, newest=newest)
                )  # fmt: skip
            previous = moment
        return versions

    # --- restore ------------------------------------------------------------------------------

    def restore(
        self, path: str | Path, as_of: str | float | None = None, to: Path | None = None
    ) -> RestoreResult:
        """Restore PATH as it was at as_of (default: the newest snapshot) into a new place."""
        moment = self._moment(as_of)
        targets = self.resolve(path)
        unreadable: list[str] = []
        oldest: list[tuple[float, str]] = []
        elsewhere: list[tuple[Repository, list[float]]] = []
        readable = 0
        for target in targets:
            repositories, notes = self.repositories(target.kind)
            unreadable += [n for n in notes if n not in unreadable]
            for repository in repositories:
                try:
                    sessions = self.sessions(repository.path)
                    if moment is not None and moment < sessions[0]:
                        readable += 1
                        oldest.append((sessions[0], repository.label))
                        continue
                    entries = self._list(repository.path / target.relative)
                except _Unreadable as exc:
                    unreadable.append(f"{repository.label}: {exc}")
                    continue
                readable += 1
                # No time given: the newest snapshot that holds it, so a deleted file comes back
                # as it was last seen.
                session = _session_at(
                    sessions, moment if moment is not None else _last_seen(entries)
                )
                kind = _state_at(entries, session)
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
            asked = timephrase.show(moment) if moment is not None else "the newest snapshot"
            raise RestoreError(
                f"{name} was not in the {repository.label} at {asked}; it is in snapshots from "
                f"{timephrase.show(present[0])} to {timephrase.show(present[-1])} "
                f'(see: megabackup versions "{name}")',
                usage=True,
            )
        if oldest and moment is not None:
            first, label = min(oldest)
            raise RestoreError(
                f"{timephrase.show(moment)} is before the first snapshot; the oldest snapshot is "
                f"{timephrase.show(first)} (in the {label})",
                usage=True,
            )
        looked = ", ".join(_labels(self, targets)) or "no backup is available"
        extra = f" ({'; '.join(unreadable)})" if unreadable else ""
        raise RestoreError(f"{name} is in no backup (looked in: {looked}){extra}", usage=True)

    def restore_version(
        self, target: Target, version: Version, to: Path | None = None
    ) -> RestoreResult:
        """Restore one snapshot version (from versions_of) without overwriting anything."""
        target = _normalised(target)
        if not version.restorable or version.repository is None:
            raise RestoreError(f"the {version.kind} on the {version.where} is not a snapshot")
        folder = to if to is not None else self.default_folder(target, version.time)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
        except OSError as exc:
            raise RestoreError(f"cannot write to {folder}: {_reason(exc)}") from None
        try:
            staged = staging / target.name
            source = version.repository / target.relative
            argv = rdiff.restore_argv(self.prefix, source, version.time, staged)
            result, lines = rdiff.run_lines(self.runner, argv)
            if rdiff.classify(result.returncode) == "failed":
                reason = _explain(rdiff.failure_reason(lines, result))
                raise RestoreError(f"restoring {target.relative} failed: {reason}")
            if not os.path.lexists(staged):  # rc 0 and nothing made: not there at that time
                raise RestoreError(
                    f"{target.relative} was not in the {version.where} at "
                    f"{timephrase.show(version.time)}; nothing was restored",
                    usage=True,
                )
            final, kept = _move_to_free_name(staged, folder, target.name, self.clock())
        except OSError as exc:
            raise RestoreError(f"cannot write to {folder}: {_reason(exc)}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return RestoreResult(final, version, kept)

    def default_folder(self, target: Target, moment: float) -> Path:
        """'Restored <snapshot time>' beside the original; the desktop side for home files."""
        base = self.settings.desktop.home if target.kind == HOME else self.settings.server.data
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

    # --- browsing (the restore window) -------------------------------------------------------

    def folder(self, kind: str, relative: str = "") -> list[FolderEntry]:
        """The names in a folder: live ones, and ones only in a backup (deleted since)."""
        found: dict[str, FolderEntry] = {}
        for _where, root in self.live_roots(kind):
            for name, is_dir in _scan(root.joinpath(*PurePosixPath(relative).parts)):
                if not name.startswith((".megabackup", STAGING_PREFIX)):
                    found.setdefault(name, FolderEntry(name, is_dir, live=True))
        repositories, _notes = self.repositories(kind)
        for repository in repositories:
            mirror = repository.path.joinpath(*PurePosixPath(relative).parts)
            for name, is_dir in _scan(mirror):
                if not (relative == "" and name == rdiff.DATA_DIR):
                    found.setdefault(name, FolderEntry(name, is_dir, live=False))
            increments = repository.path / rdiff.DATA_DIR / "increments" / relative
            for name, is_dir in _scan(increments):
                split = rdiff.split_increment_name(name)
                if split is not None:
                    name, is_dir = split[0], split[2] == "dir"
                found.setdefault(name, FolderEntry(name, is_dir, live=False))
        return sorted(found.values(), key=lambda e: (not e.is_dir, e.name.casefold()))


# ---------------------------------------------------------------------------
# Module-level shortcuts for the command line


def list_versions(
    settings: Settings, path: str | Path, runner: Runner | None = None
) -> VersionList:
    return Backups(settings, runner).versions(path)


def restore(
    settings: Settings,
    path: str | Path,
    as_of: str | float | None = None,
    to: Path | None = None,
    runner: Runner | None = None,
) -> RestoreResult:
    return Backups(settings, runner).restore(path, as_of, to)


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


# ---------------------------------------------------------------------------
# Helpers


def _check_repository(repository: Path) -> None:
    state = rdiff.inspect(repository)
    if not state.exists:
        if repository.exists():
            raise _Unreadable(f"{repository} holds no snapshots ({rdiff.DATA_DIR} is missing)")
        raise _Unreadable(f"{repository} does not exist yet (no snapshot taken)")
    if state.interrupted_first_backup:
        raise _Unreadable(f"{repository} holds no complete snapshot yet")
    if state.interrupted_backup:
        raise _Unreadable(
            f"the last backup to {repository} was interrupted; the next backup repairs it"
        )


def _explain(reason: str) -> str:
    if "is locked" in reason:
        return "a backup is writing to it right now; try again when it has finished"
    if "couldn't be identified" in reason:
        return "it is not a readable backup (" + reason + ")"
    return reason


def _labels(backups: Backups, targets: list[Target]) -> list[str]:
    labels: list[str] = []
    for target in targets:
        for repository in backups.repositories(target.kind)[0]:
            label = f"{repository.label} ({repository.path})"
            if label not in labels:
                labels.append(label)
    return labels


def _relative_to(path: Path, root: Path | None) -> str | None:
    if root is None:
        return None
    path_parts = Path(os.path.abspath(path)).parts
    root_parts = Path(os.path.abspath(root)).parts
    if len(path_parts) < len(root_parts):
        return None
    head = path_parts[: len(root_parts)]
    if [os.path.normcase(p) for p in head] != [os.path.normcase(p) for p in root_parts]:
        return None
    return "/".join(path_parts[len(root_parts) :])


def _checked_relative(relative: str, given: str) -> str:
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise RestoreError(f"{given}: '..' is not allowed in the path", usage=True)
    if not parts:
        raise RestoreError(f"{given} is a whole place; name a file or folder inside it", usage=True)
    return "/".join(parts)


def _normalised(target: Target) -> Target:
    return Target(target.kind, _checked_relative(target.relative, target.relative))


def _state_at(entries: list[rdiff.IncrementEntry], moment: float) -> str | None:
    """The path's type at a session: the first entry at or after it (reverse increments)."""
    for entry in entries:
        if entry.time >= moment:
            return entry.kind
    return None


def _session_at(sessions: list[float], moment: float | None) -> float:
    if moment is None:
        return sessions[-1]
    return max(s for s in sessions if s <= moment)


def _last_seen(entries: list[rdiff.IncrementEntry]) -> float | None:
    present = [e.time for e in entries if e.exists]
    return present[-1] if present else None


def _change_times(repository: Path, relative: str) -> set[float]:
    """Sessions in which something inside a folder changed, from the increment file names."""
    times: set[float] = set()
    base = repository / rdiff.DATA_DIR / "increments" / relative
    for _dirpath, _dirnames, filenames in os.walk(base):
        for name in filenames:
            split = rdiff.split_increment_name(name)
            if split is not None:
                times.add(split[1])
    return times


class _StatisticsFiles:
    """Sizes from file_statistics.<time>.data.gz: `Filename Changed SourceSize MirrorSize Inc`."""

    def __init__(self, repository: Path) -> None:
        self._files: dict[int, Path] = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(repository / rdiff.DATA_DIR):
                name = entry.name
                if name.startswith("file_statistics.") and ".data" in name:
                    stamp = name[len("file_statistics.") :].split(".data")[0]
                    moment = rdiff.parse_timestamp(stamp)
                    if moment is not None:
                        self._files[int(moment)] = Path(entry.path)

    def size(self, moment: float, relative: str, is_dir: bool) -> int | None:
        path = self._files.get(int(moment))
        if path is None:
            return None
        total = 0
        found = False
        try:
            for name, source_size in _statistics_lines(path):
                if name == relative and not is_dir:
                    return source_size
                if is_dir and name.startswith(relative + "/"):
                    found = True
                    total += source_size or 0
        except (OSError, EOFError, ValueError):
            return None
        return total if found or is_dir else None


def _statistics_lines(path: Path) -> Iterator[tuple[str, int | None]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as stream:  # type: ignore[operator]
        for line in stream:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").rsplit(" ", 4)
            if len(parts) == 5:
                size = parts[2]
                yield parts[0], int(size) if size.isdigit() else None


def _live_version(kind: str, where: str, path: Path) -> Version | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    is_dir = path.is_dir()
    return Version(kind, where, info.st_mtime, _size_of(path), is_dir, path=path)


def _size_of(path: Path) -> int | None:
    try:
        if not path.is_dir():
            return path.lstat().st_size
        total = 0
        for dirpath, _dirnames, filenames in os.walk(path):
            for name in filenames:
                with contextlib.suppress(OSError):
                    total += (Path(dirpath) / name).lstat().st_size
        return total
    except OSError:
        return None


def _scan(folder: Path) -> list[tuple[str, bool]]:
    try:
        with os.scandir(folder) as entries:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    except OSError:
        return []


def _move_to_free_name(
    staged: Path, folder: Path, name: str, now: float
) -> tuple[Path, Path | None]:
    """Move staged to folder/name, or to a dated name if that exists: never over anything."""
    wanted = folder / name
    kept = wanted if os.path.lexists(wanted) else None
    for candidate in _candidate_names(folder, name, now):
        if os.path.lexists(candidate):
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
    if source.is_dir() and not source.is_symlink():
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target))
        source.rename(target)  # same folder tree, so a rename; Windows never overwrites
        return
    # A hard link fails if target exists (a rename on POSIX would replace it).
    options = {"follow_symlinks": False} if os.link in os.supports_follow_symlinks else {}
    try:
        os.link(source, target, **options)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError):  # no hard links here (FAT, some shares)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        source.rename(target)
        return
    source.unlink()


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
