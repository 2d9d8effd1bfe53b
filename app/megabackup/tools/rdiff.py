"""rdiff-backup: find it, build its argv, run a backup safely, and read what it reports.

Facts this module relies on (rdiff-backup 2.2.7):
- `--api-version 201` and the other global options go before the action.
- The exit code is a bitmask (1 error, 2 warning, 4 file error, 8 file warning), and per-file read
  errors do not show in it at all: only the session statistics' `Errors` count tells.
- A second backup within the same second as the last one fails (sometimes with a traceback).
- A killed first backup leaves `rdiff-backup-data` without `current_mirror.*`; only `--force`
  gets past it. A killed later backup is regressed by the next backup on its own (rc 2).
- Every writer holds a file lock on `rdiff-backup-data/lock.yml` and writes its pid and host
  there (emptied when it lets go). `--force` overrides that lock and the "still running" check of
  a cut-off session, and a forced first backup deletes the repository first: it is passed only
  when no live rdiff-backup or MegaBackup holds the repository (asked of psutil).
- Selection globs must start with the source path exactly as given, so sources are absolute and
  patterns are built from them with forward slashes.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from megabackup import files
from megabackup.errors import MegaBackupError
from megabackup.outcome import Outcome, ToolStatus
from megabackup.settings import path_pattern
from megabackup.tools.runner import CancelToken, ProcessResult, Runner
from megabackup.words import listing

API_VERSION = "201"
DATA_DIR = "rdiff-backup-data"
LOCK_FILE = "lock.yml"  # rdiff-backup's own lock, inside DATA_DIR
LOCK_WAIT_SECONDS = 300.0  # how long a snapshot waits for an earlier one to finish
LOCK_POLL_SECONDS = 1.0
TEMP_PREFIX = "rdiff-backup.tmp."
ERROR, WARNING, FILE_ERROR, FILE_WARNING = 1, 2, 4, 8
_MIRROR_RE = re.compile(r"^current_mirror\.(?P<stamp>.+)\.data$")


class RdiffMissing(MegaBackupError):
    """rdiff-backup cannot be found; the message says where we looked."""


def locate(configured: Path | None = None) -> tuple[str, ...]:
    """The argv prefix that starts rdiff-backup: a setting, the frozen exe, beside Python, PATH."""
    if configured is not None:
        if configured.is_file():
            return (str(configured),)
        raise RdiffMissing(f"rdiff-backup was not found at {configured} (tools.rdiff_backup)")
    if getattr(sys, "frozen", False):
        return (sys.executable, "--rdiff-backup")  # the exe carries rdiff-backup inside itself
    scripts = Path(sys.executable).parent
    for name in ("rdiff-backup.exe", "rdiff-backup"):
        candidate = scripts / name
        if candidate.is_file():
            return (str(candidate),)
    found = shutil.which("rdiff-backup")
    if found:
        return (found,)
    if importlib.util.find_spec("rdiffbackup") is not None:
        return (sys.executable, "-m", "rdiffbackup.run")
    raise RdiffMissing(
        "rdiff-backup was not found beside Python, on PATH, or as a module; "
        "install it (pip install rdiff-backup) or set tools.rdiff_backup"
    )


# ---------------------------------------------------------------------------
# argv builders (pure)


def glob_escape(text: str) -> str:
    """Make a literal path safe in an rdiff-backup glob (a folder may be named 'Photos [2020]')."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def selection_args(source: Path, folders: Sequence[str], ignore: Sequence[str]) -> list[str]:
    """--exclude for the ignore patterns first (first match wins), then the folder list if any."""
    base = glob_escape(source.as_posix().rstrip("/"))
    args: list[str] = []
    for pattern in ignore:
        path = path_pattern(pattern)
        args += ["--exclude", f"**/{pattern}" if path is None else f"{base}/{path}"]
    if folders:
        for folder in folders:
            args += ["--include", f"{base}/{glob_escape(folder)}"]
        args += ["--exclude", "**"]
    return args


def backup_argv(
    prefix: Sequence[str],
    source: Path,
    repository: Path,
    folders: Sequence[str] = (),
    ignore: Sequence[str] = (),
    force: bool = False,
    dated: float | None = None,
) -> list[str]:
    """`dated`: the session's time, when this computer's clock cannot be used for it."""
    global_options = ["--api-version", API_VERSION] + (["--force"] if force else [])
    if dated is not None:
        global_options += ["--current-time", str(int(dated))]
    return [
        *prefix,
        *global_options,
        "backup",
        "--print-statistics",
        *selection_args(source, folders, ignore),
        source.as_posix(),  # the globs start with this exact spelling, with forward slashes
        str(repository),
    ]


# ---------------------------------------------------------------------------
# Parsers (pure; tested on recorded real output)


@dataclass(frozen=True)
class SessionStatistics:
    source_files: int = 0
    new_files: int = 0
    changed_files: int = 0
    deleted_files: int = 0
    errors: int = 0
    elapsed_seconds: float = 0.0
    size_change: int = 0

    @property
    def changes(self) -> int:
        return self.new_files + self.changed_files + self.deleted_files


_STAT_KEYS = {
    "SourceFiles": "source_files",
    "NewFiles": "new_files",
    "ChangedFiles": "changed_files",
    "DeletedFiles": "deleted_files",
    "Errors": "errors",
    "ElapsedTime": "elapsed_seconds",
    "TotalDestinationSizeChange": "size_change",
}


def parse_statistics(lines: Iterable[str]) -> SessionStatistics | None:
    """Read `Key value (human)` lines; None when no statistics block was printed."""
    found: dict[str, float] = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in _STAT_KEYS:
            try:
                found[_STAT_KEYS[parts[0]]] = float(parts[1])
            except ValueError:
                continue
    if "source_files" not in found:
        return None
    values = {k: (v if k == "elapsed_seconds" else int(v)) for k, v in found.items()}
    return SessionStatistics(**values)  # type: ignore[arg-type]


def parse_timestamp(stamp: str) -> float | None:
    """rdiff-backup's file-name time: 2026-11-30T02:28:22Z, +01:00, or '-' for ':' (Windows)."""
    text = stamp.replace("Z", "+00:00")
    match = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d)[:-](\d\d)[:-](\d\d)([+-]\d\d)[:-](\d\d)$", text)
    if not match:
        return None
    day, hh, mm, ss, tz_h, tz_m = match.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}{tz_h}:{tz_m}")
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).timestamp()


class BackupStatus(ToolStatus):
    OK = "ok", Outcome.OK
    REPAIRED = "repaired", Outcome.OK  # rolled back an interrupted backup, then backed up
    FILE_ERRORS = "file-errors", Outcome.WARNING  # done, but some files could not be read
    REDATED = "redated", Outcome.WARNING  # done, dated after a snapshot from a clock ahead
    FAILED = "failed", Outcome.FAILED
    CANCELLED = "cancelled", Outcome.CANCELLED
    BUSY = "busy", Outcome.SKIPPED  # an earlier snapshot still writes the repository


def classify(returncode: int) -> BackupStatus:
    """The exit code's bitmask in words (per-file errors show only in the statistics)."""
    if returncode < 0 or returncode > 15:
        return BackupStatus.FAILED  # killed by a signal (negative on POSIX, 137 from a shell)
    if returncode & ERROR:
        return BackupStatus.FAILED
    if returncode & (FILE_ERROR | FILE_WARNING):
        return BackupStatus.FILE_ERRORS
    if returncode & WARNING:
        return BackupStatus.REPAIRED
    return BackupStatus.OK


def failed(result: ProcessResult) -> bool:
    """A command other than backup failed: killed, cancelled, or its error bit is set."""
    code = result.returncode
    return result.cancelled or code < 0 or code > 15 or bool(code & ERROR)


# ---------------------------------------------------------------------------
# Repository state (reads only)


@dataclass(frozen=True)
class RepositoryState:
    exists: bool
    mirror_times: tuple[float, ...] = ()
    interrupted_first_backup: bool = False

    @property
    def last_snapshot(self) -> float | None:
        return max(self.mirror_times) if self.mirror_times else None

    @property
    def interrupted_backup(self) -> bool:
        """Two current_mirror markers: a later backup was cut off and needs a regress."""
        return len(self.mirror_times) > 1


def inspect(repository: Path) -> RepositoryState:
    data = repository / DATA_DIR
    if not data.is_dir():
        return RepositoryState(exists=False)
    times = []
    for entry in os.scandir(data):
        match = _MIRROR_RE.match(entry.name)
        if match:
            stamp = parse_timestamp(match.group("stamp"))
            if stamp is not None:
                times.append(stamp)
    return RepositoryState(
        exists=True, mirror_times=tuple(sorted(times)), interrupted_first_backup=not times
    )


@dataclass(frozen=True)
class Quoting:
    """How a repository spells, in its mirror and increments, the names its disk could not
    hold (rdiff-backup 2.2.7, locations/map/filenames.py): each character of the class kept in
    rdiff-backup-data/chars_to_quote, and the quoting character ';' itself, becomes ';' and its
    three-digit code (`a;b.txt` is stored as `a;059b.txt` on NTFS); with special_escapes, also
    a trailing space or dot, and the first letter of a DOS device name (`con.txt`)."""

    pattern: re.Pattern[bytes] | None = None  # None: this repository quotes nothing
    trailing: bool = False
    dos_devices: bool = False

    @classmethod
    def of(cls, repository: Path) -> Quoting:
        data = repository / DATA_DIR
        try:
            chars = (data / "chars_to_quote").read_bytes()
        except OSError:
            chars = b""
        try:
            escapes = set((data / "special_escapes").read_text(encoding="utf-8").split())
        except OSError:
            escapes = set()
        try:
            pattern = re.compile(b"[" + chars + b"]|" + QUOTING_CHAR, re.S) if chars else None
        except re.error:
            pattern = None
        return cls(pattern, "escape_trailing_spaces" in escapes, "escape_dos_devices" in escapes)

    def quote(self, relative: str) -> str:
        """REPO-relative path (with /) as the mirror spells it."""
        return "/".join(self._quote_name(part) for part in relative.split("/"))

    def unquote(self, name: str) -> str:
        """A name read from the mirror or the increments, as the person named it."""
        if self.pattern is None and not (self.trailing or self.dos_devices):
            return name
        raw = _QUOTED_RE.sub(lambda m: bytes([int(m.group(1))]), os.fsencode(name))
        return os.fsdecode(raw)

    def _quote_name(self, name: str) -> str:
        raw = os.fsencode(name)
        if self.pattern is not None:
            raw = self.pattern.sub(lambda m: b";%03d" % ord(m.group()), raw)
        if self.trailing and raw[-1:] in (b" ", b"."):
            raw = raw[:-1] + b";%03d" % raw[-1]
        if self.dos_devices and _DOS_DEVICE_RE.match(raw):
            raw = b";%03d" % raw[0] + raw[1:]
        return os.fsdecode(raw)


QUOTING_CHAR = b";"
_QUOTED_RE = re.compile(rb";(\d{3})")
_DOS_DEVICE_RE = re.compile(rb"^(aux|prn|con|nul|com[0-9]|lpt[1-9])(\..*)*$", re.I | re.S)


def mirror_path(repository: Path, relative: str) -> Path:
    """Where REPO/relative is in the mirror, as it is spelled on the disk."""
    return repository.joinpath(*PurePosixPath(Quoting.of(repository).quote(relative)).parts)


def newest_statistics(repository: Path) -> SessionStatistics | None:
    """The statistics of the repository's newest session (session_statistics.<time>.data)."""
    sessions: list[tuple[float, Path]] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(repository / DATA_DIR):
            name = entry.name
            if name.startswith("session_statistics.") and name.endswith(".data"):
                moment = parse_timestamp(name[len("session_statistics.") : -len(".data")])
                if moment is not None:
                    sessions.append((moment, Path(entry.path)))
    if not sessions:
        return None
    try:
        lines = max(sessions)[1].read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return parse_statistics(lines)


def change_times(repository: Path, relative: str) -> set[float]:
    """Sessions in which something inside a folder changed, from the increment file names."""
    times: set[float] = set()
    quoting = Quoting.of(repository)
    base = repository / DATA_DIR / "increments" / quoting.quote(relative)
    for _dirpath, _dirnames, filenames in os.walk(base):
        for name in filenames:
            split = split_increment_name(name, quoting)
            if split is not None:
                times.add(split[1])
    return times


class SessionSizes:
    """Sizes of files and folders at each session, from file_statistics.<time>.data.gz (`Filename
    Changed SourceSize MirrorSize Inc` per line): no command reports them."""

    def __init__(self, repository: Path) -> None:
        self._files: dict[int, Path] = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(repository / DATA_DIR):
                name = entry.name
                if name.startswith("file_statistics.") and ".data" in name:
                    stamp = name[len("file_statistics.") :].split(".data")[0]
                    moment = parse_timestamp(stamp)
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


def repository_names(repository: Path, relative: str) -> list[tuple[str, bool]]:
    """(name, is a folder) of every entry a repository knows in a folder: those in the mirror and
    those that only have increments (deleted since), unquoted."""
    found: dict[str, bool] = {}
    quoting = Quoting.of(repository)
    quoted = quoting.quote(relative) if relative else ""
    mirror = repository.joinpath(*PurePosixPath(quoted).parts)
    for name, is_dir in files.folder_names(mirror):
        if not (relative == "" and name == DATA_DIR):
            found.setdefault(quoting.unquote(name), is_dir)
    for name, is_dir in files.folder_names(repository / DATA_DIR / "increments" / quoted):
        split = split_increment_name(name, quoting)
        if split is not None:
            name, is_dir = split[0], split[2] == "dir"
        else:
            name = quoting.unquote(name)
        found.setdefault(name, is_dir)
    return sorted(found.items())


# ---------------------------------------------------------------------------
# Running a backup


@dataclass(frozen=True)
class FileError:
    """One file or folder rdiff-backup could not read or write (its error log's line)."""

    kind: str  # ListError (reading the source), UpdateError (writing), SpecialFileError
    path: str  # relative to the source (or the repository), with /
    reason: str


_FILE_ERROR_RE = re.compile(
    r"^(?P<kind>ListError|UpdateError|SpecialFileError): '(?P<path>.*?)' (?P<reason>.*)$"
)


def parse_file_errors(warnings: Iterable[str], *roots: Path) -> list[FileError]:
    """The `WARNING: ListError: '<path>' [Errno 13] ...` messages, paths made relative to
    whichever root (the source, the repository) they are in."""
    found = []
    for warning in warnings:
        match = _FILE_ERROR_RE.match(warning)
        if not match:
            continue
        path = match.group("path")
        for root in roots:
            base = root.as_posix().rstrip("/")
            if path == base:
                path = "."
                break
            if path.startswith(base + "/"):
                path = path[len(base) + 1 :]
                break
        reason = re.sub(r":\s*b?'[^']*'$", "", match.group("reason")).strip()
        found.append(FileError(match.group("kind"), path, reason))
    return found


@dataclass
class BackupOutcome:
    status: BackupStatus
    statistics: SessionStatistics | None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    process: ProcessResult | None = None
    disk_full: bool = False
    file_errors: list[FileError] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status.outcome.good


class RdiffFailed(MegaBackupError):
    """A listing, restore or removal failed; the message says why, in words."""


@dataclass(frozen=True)
class VerifyResult:
    damaged: tuple[str, ...] = ()  # paths relative to the repository whose SHA1 differs
    unchecked: int = 0  # files without a recorded digest
    failure: str = ""  # why it could not verify at all ("" when it ran)
    cancelled: bool = False


class Rdiff:
    """Runs rdiff-backup through the runner; clock and sleep are injectable for tests."""

    def __init__(
        self,
        runner: Runner,
        prefix: Sequence[str],
        clock: Callable[[], float] = time.time,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.runner = runner
        self.prefix = tuple(prefix)
        self.clock = clock
        self.lock_wait = lock_wait  # how long to wait for an earlier snapshot to finish

    def using(self, runner: Runner) -> Rdiff:
        """The same tool, running through another runner (a lane's, which tags its lines)."""
        return Rdiff(runner, self.prefix, self.clock, self.lock_wait)

    def backup(
        self,
        source: Path,
        repository: Path,
        folders: Sequence[str] = (),
        ignore: Sequence[str] = (),
        cancel: CancelToken | None = None,
    ) -> BackupOutcome:
        cancel = cancel or CancelToken()
        deadline = time.monotonic() + self.lock_wait
        notes: list[str] = []
        while True:
            holder = live_lock_holder(repository)
            if holder is not None:  # an earlier snapshot still writes here: never start beside it
                busy = self._wait_for(holder, repository, deadline, cancel)
                if busy is not None:
                    return busy
                continue  # it has finished: look at the repository it left afresh
            ready = self._ready(repository, cancel)
            if isinstance(ready, BackupOutcome):
                return ready
            force, dated, clock_note = ready
            try:  # one level only: a vanished drive must not be made again as a plain folder
                repository.parent.mkdir(exist_ok=True)
            except OSError as exc:
                reason = f"{repository.parent} cannot be made ({exc.strerror or exc})"
                return BackupOutcome(BackupStatus.FAILED, None, reason)
            argv = backup_argv(self.prefix, source, repository, folders, ignore, force, dated)
            result = self._run(argv, cancel)
            conflict = lock_conflict(result.lines, repository)
            if conflict is None or result.cancelled:
                break
            pid, session = conflict
            if session and pid is not None and not force and not backup_process_alive(pid):
                # The lock names a process that died (a crash or power cut) and whose number now
                # belongs to someone else; our cycle lock rules out another writer of ours.
                notes.append(f"cleared the lock left by an interrupted snapshot (process {pid})")
                if cancel.wait(_rest_of_second(self.clock())):  # a session needs its own second
                    return BackupOutcome(BackupStatus.CANCELLED, None, "cancelled")
                argv = backup_argv(
                    self.prefix, source, repository, folders, ignore, force=True, dated=dated
                )
                result = self._run(argv, cancel)
                break
            busy = self._wait_for(pid, repository, deadline, cancel)  # alive: never forced
            if busy is not None:
                return busy
        if clock_note:
            notes.insert(0, clock_note)
        if force:
            notes.insert(0, "the first snapshot here was interrupted earlier; started it over")
        lines = result.lines
        statistics = parse_statistics(lines)
        warnings = messages(lines, "WARNING:")
        if result.cancelled:
            return BackupOutcome(BackupStatus.CANCELLED, statistics, "cancelled", warnings, result)
        status = classify(result.returncode)
        if statistics is None:
            status = BackupStatus.FAILED
        if status == BackupStatus.FAILED:
            reason = failure_reason(result)
            return BackupOutcome(
                status, statistics, reason, warnings, result, disk_full=is_disk_full(lines)
            )
        file_errors = parse_file_errors(warnings, source, repository)
        if statistics is not None and statistics.errors:
            status = BackupStatus.FILE_ERRORS
            names = listing([e.path for e in file_errors])
            notes.append(
                f"{statistics.errors} file(s) could not be read and are not in this snapshot"
                + (f": {names}" if names else "")
            )
        if status == BackupStatus.REPAIRED:
            notes.append("an interrupted snapshot was rolled back first")
        if dated is not None and status == BackupStatus.OK:
            status = BackupStatus.REDATED
        outcome = BackupOutcome(status, statistics, "; ".join(notes), warnings, result)
        outcome.file_errors = file_errors
        return outcome

    def _ready(
        self, repository: Path, cancel: CancelToken
    ) -> tuple[bool, float | None, str] | BackupOutcome:
        """(force: start an interrupted first snapshot over; the session's time when this
        computer's clock cannot give it; a note saying why), once a backup may start here; or
        why it must not."""
        state = inspect(repository)
        # No live process writes here (checked just before), and a first backup holds no
        # history yet, so starting it over loses nothing.
        force = state.exists and state.interrupted_first_backup
        last = state.last_snapshot
        if last is None:
            return force, None, ""
        now = self.clock()
        if last > now + 1:
            # rdiff-backup adds no snapshot older than its newest, so one taken while the
            # clock ran ahead would stop every later one until the clock caught up: date
            # this one just after it instead, and say so.
            dated = float(int(last) + 1)
            note = (
                f"the newest snapshot here is dated {_format_time(last)}, later than this "
                f"computer's clock ({_format_time(now)}): the clock was ahead when it was "
                f"taken, or is behind now. This snapshot is dated {_format_time(dated)}, just "
                "after it, so that the backups go on; check the clock"
            )
            return force, dated, note
        # rdiff-backup cannot take two snapshots in the same second.
        wait = int(last) + 1 - now
        if wait > 0 and cancel.wait(wait + 0.05):
            return BackupOutcome(BackupStatus.CANCELLED, None, "cancelled")
        return force, None, ""

    def _wait_for(
        self, pid: int | None, repository: Path, deadline: float, cancel: CancelToken
    ) -> BackupOutcome | None:
        """Wait (cancellably, until the deadline) for the process that holds the repository's
        lock to end; None when it has (or, if unknown, after one look), else why not."""
        who = f"process {pid}" if pid is not None else "another program"
        self.runner.note(f"{repository} is locked by {who}; waiting for it to finish")
        while True:
            left = deadline - time.monotonic()
            if pid is not None and not backup_process_alive(pid):
                return None
            if left <= 0:
                return BackupOutcome(
                    BackupStatus.BUSY,
                    None,
                    f"an earlier snapshot is still finishing ({who} is writing {repository}); "
                    "this one waits for the next backup",
                )
            if cancel.wait(min(LOCK_POLL_SECONDS, left)):
                return BackupOutcome(BackupStatus.CANCELLED, None, "cancelled")
            if pid is None:
                return None

    def recover_full_disk(self, repository: Path) -> bool:
        """After a snapshot ran out of space: drop rdiff-backup's own half-written temp files
        (they hold the space that its roll-back needs to write its lock), then roll back."""
        for folder, _, names in os.walk(repository):
            for name in names:
                if name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(OSError):
                        (Path(folder) / name).unlink()
        result = self._run([*_global(self.prefix), "regress", str(repository)])
        return not failed(result)

    def list_increments(
        self, path: Path, *, sizes: bool = False, cancel: CancelToken | None = None
    ) -> list[IncrementEntry]:
        """The sessions of a repository (or those in which REPO/relative/path changed), oldest
        first; the last is the mirror. `sizes` works on whole repositories only."""
        result = self._run(increments_argv(self.prefix, path, sizes=sizes), cancel)
        if failed(result):
            raise RdiffFailed(failure_reason(result))
        return parse_increment_entries(result.lines)

    def history(
        self, repository: Path, relative: str, cancel: CancelToken | None = None
    ) -> list[IncrementEntry]:
        """The sessions in which REPO/relative changed, oldest first; the last is the mirror.

        rdiff-backup 2.2.7 finds the increments of a name its repository quotes only by the name
        as the person wrote it, and that name's mirror only by its quoted spelling (asked by the
        plain name, it says the mirror is `missing`, which hid the newest version): so such a
        name is asked for both ways. A restore by the plain name restores the right version."""
        entries = self.list_increments(repository / relative, cancel=cancel)
        quoted = Quoting.of(repository).quote(relative)
        if quoted == relative or not entries:
            return entries
        mirror = self.list_increments(repository / quoted, cancel=cancel)
        if mirror and mirror[-1].time == entries[-1].time:
            entries[-1] = mirror[-1]
        return entries

    def restore(self, source: Path, at: float, target: Path) -> None:
        """source is REPO or REPO/relative/path, target must not exist yet; a path absent at
        that time makes nothing (and no error)."""
        result = self._run(restore_argv(self.prefix, source, at, target))
        if failed(result):
            raise RdiffFailed(failure_reason(result))

    def remove_older_than(
        self, repository: Path, cutoff: float, cancel: CancelToken | None = None
    ) -> None:
        """Remove the sessions strictly older than cutoff; rc 2 (none that old) is no error."""
        result = self._run(remove_increments_argv(self.prefix, repository, cutoff), cancel)
        if failed(result):
            raise RdiffFailed(f"removing old snapshots failed ({failure_reason(result)})")

    def verify(self, repository: Path, cancel: CancelToken | None = None) -> VerifyResult:
        """Compare the newest mirror with its recorded SHA1 sums."""
        result = self._run(verify_argv(self.prefix, repository), cancel)
        if result.cancelled:
            return VerifyResult(cancelled=True)
        damaged = tuple(parse_damaged_files(result.lines))
        unchecked = parse_unhashed_count(result.lines)
        code = result.returncode
        if not damaged and (code < 0 or code > 15 or code & (ERROR | FILE_ERROR)):
            return VerifyResult(unchecked=unchecked, failure=failure_reason(result))
        return VerifyResult(damaged, unchecked)

    def _run(self, argv: Sequence[str], cancel: CancelToken | None = None) -> ProcessResult:
        return self.runner.run(argv, cancel=cancel, env=child_environment())


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"  # rdiff-backup is Python: make its output decodable
    env["PYTHONUTF8"] = "1"
    env["COLUMNS"] = "32000"  # it wraps messages to the terminal width, even inside a path
    return env


def messages(lines: Iterable[str], level: str) -> list[str]:
    """The `ERROR:`/`WARNING:`/`NOTE:` messages, each joined from the indented lines it wraps onto
    (rdiff-backup wraps at 80 columns, often in the middle of a path)."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if line.startswith(level):
            current = [line[len(level) :].strip()]
            found.append(current)
        elif current is not None and line[:1].isspace() and line.strip():
            current.append(line.strip())
        else:
            current = None
    return [" ".join(parts) for parts in found]


_STILL_RUNNING_RE = re.compile(r"session with process\s+id (\d+) is still running")
_LOCKED = "Repository is locked by file"
_LOCK_PID_RE = re.compile(r"(?m)^pid:\s*(\d+)\s*$")
_LOCK_HOST_RE = re.compile(r"(?m)^hostname:\s*(\S+)\s*$")
_BACKUP_PROGRAMS = ("rdiff-backup", "rdiffbackup", "megabackup")
_INTERPRETERS = ("python", "pythonw", "py")


def lock_conflict(lines: Iterable[str], repository: Path) -> tuple[int | None, bool] | None:
    """(the process named, whether it is a session's marker) when rdiff-backup refused to start
    because another process may be writing the repository; None when it did not refuse.

    Two refusals: the file lock rdiff-backup-data/lock.yml is held (only a live process can
    hold it; the file names the holder), or a cut-off session's marker names a process that
    exists, which after a reboot may be any program with a reused number."""
    text = " ".join(lines)
    match = _STILL_RUNNING_RE.search(text)
    if match:
        return int(match.group(1)), True
    if _LOCKED in text:
        return lock_file_pid(repository), False
    return None


def lock_file_pid(repository: Path) -> int | None:
    """The process that took rdiff-backup's lock on this repository (rdiff-backup empties the
    file when it lets go, so a number left in it is a live holder or one that was killed);
    None when the file names nobody, or a process of another computer."""
    try:
        text = (repository / DATA_DIR / LOCK_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    host = _LOCK_HOST_RE.search(text)
    if host and host.group(1).strip("'\"") != socket.gethostname():
        return None  # a number on another computer says nothing about this one
    match = _LOCK_PID_RE.search(text)
    return int(match.group(1)) if match else None


def live_lock_holder(repository: Path) -> int | None:
    """The live rdiff-backup (or MegaBackup) that holds this repository's lock, if any."""
    pid = lock_file_pid(repository)
    return pid if pid is not None and backup_process_alive(pid) else None


def backup_process_alive(pid: int) -> bool:
    """Whether that process exists and is an rdiff-backup or a MegaBackup (which runs
    rdiff-backup inside itself). Asked of psutil on every system: a number alone proves
    nothing, since after a reboot it may belong to any program. Where the answer cannot be
    read, it is taken as alive: a live writer must never be forced."""
    if pid == os.getpid():
        return False  # this process never runs rdiff-backup inside itself
    import psutil  # here: only a lock left behind asks, and every cycle's start-up counts

    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return False
        name = process.name().lower()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    if any(program in name for program in _BACKUP_PROGRAMS):
        return True
    try:
        words = " ".join(process.cmdline()).lower()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # a Python we may not look into could be rdiff-backup
        return name.removesuffix(".exe").rstrip("0123456789.") in _INTERPRETERS
    return any(program in words for program in _BACKUP_PROGRAMS)


def _rest_of_second(now: float) -> float:
    return int(now) + 1 - now + 0.05


def is_disk_full(lines: Iterable[str]) -> bool:
    return any("No space left on device" in line or "Errno 28" in line for line in lines)


def failure_reason(result: ProcessResult) -> str:
    """Why a command failed, in words: its first ERROR message, or the nearest thing to one."""
    lines = result.lines
    if is_disk_full(lines):
        return "no space left on the disk"
    if result.returncode < 0 or result.returncode > 15:
        return f"rdiff-backup was stopped (exit code {result.returncode})"
    errors = messages(lines, "ERROR:")
    if errors:
        return errors[0].rstrip(".") or "rdiff-backup reported an error"
    for prefix in ("Fatal Error:", "rdiff-backup: error:"):
        for line in lines:
            if prefix in line:
                return line.split(prefix, 1)[1].strip().rstrip(".") or line
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line.strip()
    return f"rdiff-backup failed (exit code {result.returncode})"


def _format_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------
# Restore, listing, removing increments and verifying (argv builders, parsers, one runner call).
#
# More facts these rely on (rdiff-backup 2.2.7, verified):
# - Messages are wrapped to the terminal width (textwrap, 9-space indent), which can split a path
#   in two; COLUMNS set very wide in the child's environment keeps every message on one line.
# - `list increments REPO/PATH` lists only the sessions in which PATH changed, with a `type`
#   (regular, directory, missing, ...); the last entry is the mirror, `missing` if PATH is gone.
#   `list increments --size` crashes (KeyError: 'size') on a path missing from the mirror, so it
#   is used on whole repositories only.
# - `restore` needs a target that does not exist; a path absent at that time gives rc 0 and
#   creates nothing.
# - `remove increments --older-than EPOCH` removes sessions strictly older than EPOCH; rc 2 and
#   "No increments older than" when there is none. It never removes the mirror.
# - `verify`: rc 4 and `Computed SHA1 digest of file <path> '<sha>' doesn't match` per damaged
#   file; rc 8 when some files carry no digest (nothing to compare against).

_INCREMENT_SUFFIX_RE = re.compile(
    r"^(?P<name>.+)\.(?P<stamp>\d{4}-\d\d-\d\dT\d\d[:-]\d\d[:-]\d\d(?:Z|[+-]\d\d[:-]\d\d))"
    r"\.(?P<kind>diff\.gz|diff|snapshot\.gz|snapshot|missing|dir)$"
)
_DAMAGED_RE = re.compile(r"Computed SHA1 digest of file (?P<path>.+) '[0-9a-f]{40}' doesn't match")
_UNHASHED_RE = re.compile(r"Verification found (?P<count>\d+) files? without hash")


def _global(prefix: Sequence[str], *options: str) -> list[str]:
    return [*prefix, "--api-version", API_VERSION, *options]


def restore_argv(prefix: Sequence[str], source: Path, at: float, target: Path) -> list[str]:
    """source is REPO or REPO/relative/path; target must not exist yet."""
    return [*_global(prefix), "restore", "--at", str(int(at)), str(source), str(target)]


def increments_argv(prefix: Sequence[str], path: Path, *, sizes: bool = False) -> list[str]:
    """`list increments` of REPO or REPO/relative/path, as YAML; --size for a whole REPO."""
    size = ["--size"] if sizes else []
    return [*_global(prefix, "--parsable-output"), "list", "increments", *size, str(path)]


def remove_increments_argv(prefix: Sequence[str], repository: Path, older_than: float) -> list[str]:
    # --force is a global option: it must come before the action, and it is needed as soon as
    # more than one session would go.
    return [*_global(prefix, "--force"), "remove", "increments", "--older-than",
            str(int(older_than)), str(repository)]  # fmt: skip


def verify_argv(prefix: Sequence[str], repository: Path) -> list[str]:
    return [*_global(prefix), "verify", str(repository)]


@dataclass(frozen=True)
class IncrementEntry:
    """One line of `list increments`: a session in which the path changed, and its type then."""

    time: float
    kind: str  # regular, directory, missing, sym, ...
    base: str = ""
    size: int | None = None  # only from `list increments --size`
    total_size: int | None = None

    @property
    def exists(self) -> bool:
        return self.kind != "missing"


def parse_increment_entries(lines: Iterable[str]) -> list[IncrementEntry]:
    """The YAML list of `--parsable-output list increments [--size]`, oldest first.

    Read line by line because warnings on stderr arrive interleaved with it in the merged output.
    """
    records: list[dict[str, str]] = []
    for line in lines:
        match = re.match(r"^(?P<dash>\s*-\s+|\s+)(?P<key>[a-z_]+):\s*(?P<value>.*?)\s*$", line)
        if not match:
            continue
        if match.group("dash").strip() == "-" or not records:
            records.append({})
        records[-1][match.group("key")] = match.group("value")
    entries = []
    for record in records:
        try:
            moment = float(record["time"])
        except (KeyError, ValueError):
            continue
        entries.append(
            IncrementEntry(
                time=moment,
                kind=record.get("type", "directory" if "size" in record else ""),
                base=record.get("base", ""),
                size=_int_or_none(record.get("size")),
                total_size=_int_or_none(record.get("total_size")),
            )
        )
    return sorted(entries, key=lambda e: e.time)


def parse_damaged_files(lines: Iterable[str]) -> list[str]:
    """Paths (relative to the repository) whose SHA1 no longer matches, from `verify`."""
    found = []
    for line in lines:
        match = _DAMAGED_RE.search(line)
        if match:
            found.append(match.group("path"))
    return found


def parse_unhashed_count(lines: Iterable[str]) -> int:
    for line in lines:
        match = _UNHASHED_RE.search(line)
        if match:
            return int(match.group("count"))
    return 0


def split_increment_name(
    name: str, quoting: Quoting | None = None
) -> tuple[str, float, str] | None:
    """'a.txt.2026-11-20T02:38:57Z.diff.gz' -> ('a.txt', epoch, 'diff.gz'); None if not one.
    The name is unquoted by the repository's quoting."""
    quoting = quoting or Quoting()
    match = _INCREMENT_SUFFIX_RE.match(quoting.unquote(name))
    if not match:
        return None
    moment = parse_timestamp(match.group("stamp"))
    if moment is None:
        return None
    return match.group("name"), moment, match.group("kind")


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None
