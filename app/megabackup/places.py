"""The places: the table of all five, the markers that identify them, and finding the drive.

Three places are snapshotted (the sources: desktop home, server home, server data) and two
receive the snapshots (the targets: the desktop backup and the external drive). Every layer asks
this table, not a list of its own, what a place is called, where the settings keep it, which side
it is on, where its snapshots go and which steps snapshot it.

The external drive is found by a marker file, never by its letter: drive letters move, and a
different disk at the same letter must not receive (or, worse, supply) a backup.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from megabackup import winsys
from megabackup.errors import MegaBackupError
from megabackup.files import read_json, write_json
from megabackup.outcome import ExitCode

if TYPE_CHECKING:  # settings imports this table; the arrow must not point back at run time
    from megabackup.settings import Settings

DESKTOP, SERVER, DRIVE = "desktop", "server", "drive"
HOME, DATA = "home", "data"


@dataclass(frozen=True)
class Place:
    name: str  # how the person reads it, and its key in the history and places.json
    setting: str  # "table.key" in settings.toml
    side: str  # desktop | server | drive
    required: bool = False  # the settings cannot do without it
    kind: str = ""  # sources: home | data (its folder list, and its repository's folder name)
    target: str = ""  # sources: the name of the place its snapshots go to
    snapshot_steps: tuple[str, ...] = ()  # sources: the steps that snapshot it (A, then B)
    synced: bool = False  # desktop home and server home are synced with each other

    def __str__(self) -> str:
        return self.name

    @property
    def is_source(self) -> bool:
        return bool(self.kind)

    def path(self, settings: Settings) -> Path | None:
        table, key = self.setting.split(".")
        return getattr(getattr(settings, table), key)

    def folders(self, settings: Settings) -> tuple[str, ...]:
        """The listed folders of a source (empty: all of it)."""
        return getattr(settings.folders, self.kind)

    def repository(self, settings: Settings, drive: Path | None) -> Path | None:
        """Where a source's snapshots are: desktop.backup/home, or DRIVE/home and DRIVE/data."""
        if self.target == DESKTOP_BACKUP_NAME:
            return settings.desktop.backup / self.kind
        return drive / self.kind if drive is not None else None


DESKTOP_BACKUP_NAME, EXTERNAL_DRIVE_NAME = "desktop backup", "external drive"
SERVER_HOME = Place(
    "server home", "server.home", SERVER, required=True, kind=HOME, target=EXTERNAL_DRIVE_NAME,
    snapshot_steps=("snapshot-server-home", "resnapshot-server-home"), synced=True,
)  # fmt: skip
SERVER_DATA = Place(
    "server data", "server.data", SERVER, kind=DATA, target=EXTERNAL_DRIVE_NAME,
    snapshot_steps=("snapshot-server-data",),
)  # fmt: skip
DESKTOP_HOME = Place(
    "desktop home", "desktop.home", DESKTOP, required=True, kind=HOME, target=DESKTOP_BACKUP_NAME,
    snapshot_steps=("snapshot-desktop-home", "resnapshot-desktop-home"), synced=True,
)  # fmt: skip
DESKTOP_BACKUP = Place(DESKTOP_BACKUP_NAME, "desktop.backup", DESKTOP, required=True)
EXTERNAL_DRIVE = Place(EXTERNAL_DRIVE_NAME, "external.path", DRIVE)

PLACES = (DESKTOP_HOME, DESKTOP_BACKUP, SERVER_HOME, SERVER_DATA, EXTERNAL_DRIVE)
SOURCES = tuple(p for p in PLACES if p.is_source)
SYNCED = (DESKTOP_HOME, SERVER_HOME)


def place(name: str) -> Place:
    return next(p for p in PLACES if p.name == name)


def sources(settings: Settings) -> tuple[Place, ...]:
    """The sources these settings name (server data is optional)."""
    return tuple(p for p in SOURCES if p.path(settings) is not None)


class PlaceError(MegaBackupError):
    """A place is present but not the right one; the cycle must stop before writing anything."""


# ---------------------------------------------------------------------------
# Away: a place whose folder is not there (a share out of reach, a disk not connected, a mapped
# drive letter that is disconnected) is ordinary life, unlike a wrong or emptied one.

ANSWER_SECONDS = 15.0  # a share that has not answered by then is away (Windows gives up after
# 20 to 45 s on a server that is off; a hard NFS mount never does)


@dataclass(frozen=True)
class Look:
    present: bool
    answered: bool = True  # False: the question was still open when the wait ran out
    waited: float = 0.0  # how long the unanswered question has been open, in seconds
    error: str = ""  # the share answered with an error (an I/O error, a dropped connection)


@dataclass(frozen=True)
class Answer:
    """What a question to the file system gave within its wait: its value, or the OSError it
    raised, or nothing yet (answered False)."""

    answered: bool
    value: object = None
    error: OSError | None = None
    waited: float = 0.0


class Question:
    """One question to the file system, asked on a thread of its own: a share that never answers
    keeps only that thread waiting, never the cycle or the tray."""

    def __init__(self, ask: Callable[[], object]) -> None:
        self.started = time.monotonic()
        self._value: object = None
        self._error: Exception | None = None
        self.done = threading.Event()
        threading.Thread(target=self._ask, args=(ask,), name="megabackup-ask", daemon=True).start()

    def _ask(self, ask: Callable[[], object]) -> None:
        try:
            self._value = ask()
        except Exception as exc:  # handed to whoever waits for the answer
            self._error = exc
        finally:
            self.done.set()

    def answer(self, timeout: float) -> Answer:
        """Wait for what is left of `timeout` since the question was asked. An OSError is the
        file system's answer; anything else is a bug in the question, raised here."""
        left = self.started + timeout - time.monotonic()
        if not self.done.wait(max(0.0, left)):
            return Answer(False, waited=time.monotonic() - self.started)
        if self._error is not None and not isinstance(self._error, OSError):
            raise self._error
        return Answer(True, self._value, self._error)


_QUESTIONS: dict[str, Question] = {}
_QUESTIONS_LOCK = threading.Lock()


def ask(key: str, question: Callable[[], object]) -> Question:
    """Ask in the background; the same question (`key`) still open from an earlier ask is not
    asked again, so a share that hangs never piles up threads, and its wait is not started over:
    once it has gone unanswered for a timeout, every later answer is at once "no answer"."""
    with _QUESTIONS_LOCK:
        asked = _QUESTIONS.get(key)
        if asked is None or asked.done.is_set():  # an answer is never reused: ask afresh
            asked = _QUESTIONS[key] = Question(question)
    return asked


def look(
    path: Path,
    timeout: float = ANSWER_SECONDS,
    *,
    is_dir: Callable[[str], bool] = os.path.isdir,
) -> Look:
    """Whether a place's folder is there, waiting at most `timeout` seconds for the answer."""
    key = os.fspath(path)
    found = ask(f"exists {key}", lambda: is_dir(key)).answer(timeout)
    if not found.answered:
        return Look(False, answered=False, waited=found.waited)
    return Look(bool(found.value) and found.error is None)


def away_reason(place: Place, path: Path, found: Look) -> str:
    """Why a place is away, in words the person knows it by."""
    if not found.answered:
        return f"the {place} {path} did not answer within {found.waited:.0f} s"
    if found.error:
        return f"the {place} {path} could not be read ({found.error})"
    if place.side == SERVER:
        return f"the {place} {path} is not reachable"
    return f"the {place} {path} is not there (is its disk connected?)"


DRIVE_MARKER = ".megabackup-drive"
LINUX_MOUNT_PARENTS = ("/media", "/mnt", "/run/media")


@dataclass(frozen=True)
class DriveLookup:
    path: Path | None  # the folder holding the marker (repositories live beside it)
    reason: str = ""  # why it was not found

    @property
    def found(self) -> bool:
        return self.path is not None


class DriveRefused(MegaBackupError):
    """A folder cannot be marked as the drive as asked, or its file system cannot hold
    snapshots; the message says why and what to do. Nothing was written."""

    exit_code = ExitCode.USAGE


def mark_drive(folder: Path, name: str) -> Path:
    """Make folder the MegaBackup drive `name` ("Use this drive", `megabackup init-drive`).
    Refused, with nothing written: a folder already marked as another drive (renaming it would
    make the other name's backups look lost), and a drive that is not there."""
    existing = read_drive_marker(folder)
    if existing and existing["name"] != name:
        raise DriveRefused(
            f'{folder} is already the MegaBackup drive "{existing["name"]}"; refusing to '
            f'rename it. To use it as it is, give the drive name "{existing["name"]}"'
        )
    if not folder.parent.is_dir():
        raise DriveRefused(f"{folder.parent} does not exist; is the drive connected?")
    return write_drive_marker(folder, name)


def write_drive_marker(folder: Path, name: str) -> Path:
    """Mark folder as the MegaBackup drive `name`; written whole or not at all. A drive whose
    file system rdiff-backup refuses is refused here, before anything is written (DriveRefused),
    so whatever prepares a drive (init-drive, the set-up window) says so at once."""
    refusal = drive_refusal(folder, name)
    if refusal:
        raise DriveRefused(refusal)
    Path(winsys.long_path(folder)).mkdir(parents=True, exist_ok=True)
    marker = folder / DRIVE_MARKER
    existing = read_drive_marker(folder)
    content = {
        "name": name,
        "id": existing.get("id") if existing else uuid.uuid4().hex,
        "created": existing.get("created") if existing else _now_iso(),
        "about": "This folder holds MegaBackup snapshots. Do not delete this file.",
    }
    write_json(marker, content)
    return marker


def drive_refusal(folder: Path, name: str) -> str:
    """Why rdiff-backup would refuse to keep snapshots on the drive `name` at folder, in the
    words the cycle, `check` and `init-drive` all use; "" when it would not."""
    return _refusal(
        folder,
        f'the external drive "{name}" ({folder})',
        f'Format the drive as NTFS, then prepare it again with: megabackup init-drive "{folder}"',
    )


def desktop_backup_refusal(folder: Path) -> str:
    """The same for the desktop backup's folder."""
    return _refusal(
        folder,
        f"the desktop backup ({folder})",
        "Format that disk as NTFS, or choose a folder on another disk (desktop.backup)",
    )


def _refusal(folder: Path, disk: str, remedy: str) -> str:
    if not deletion_lags(folder):
        return ""
    return (
        f"rdiff-backup refuses the file system of {disk}: it does not see at once that a file "
        "was deleted (exFAT read through FUSE, as on Linux, behaves so), so no snapshot can be "
        f"kept there. {remedy}"
    )


PROBE_PREFIX = ".megabackup-probe-"


def deletion_lags(folder: Path) -> bool:
    """The test rdiff-backup 2.2.7 makes of every target (fs_abilities.py,
    _detect_case_sensitive_readwrite) before it writes a snapshot, made here before anything
    else is written: create `A`; if `a` then exists (case-insensitive), delete `a`; if `A`
    still exists, deletions register late and rdiff-backup stops ("isn't deemed reliable
    enough for a backup"). exfat-fuse does so; NTFS, ext4 and Windows' own exFAT do not.
    Runs in a hidden folder of its own inside folder (or its parent, when folder is yet to be
    made), removed after, and the folder's times put back (`check` leaves no trace); a folder
    that cannot be written to is not judged here (the write that follows says why)."""
    base = folder if Path(winsys.long_path(folder)).is_dir() else folder.parent
    try:
        before = Path(winsys.long_path(base)).stat()
        probe = Path(tempfile.mkdtemp(prefix=PROBE_PREFIX, dir=winsys.long_path(base)))
    except OSError:
        return False
    try:
        (probe / "A").touch()
        if not os.path.lexists(probe / "a"):
            return False  # case-sensitive: rdiff-backup's test ends here
        (probe / "a").unlink()
        return os.path.lexists(probe / "A")
    except OSError:
        return False
    finally:
        for leftover in (probe / "A", probe / "a"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        with contextlib.suppress(OSError):
            probe.rmdir()
            os.utime(winsys.long_path(base), ns=(before.st_atime_ns, before.st_mtime_ns))


def read_drive_marker(folder: Path) -> dict[str, str] | None:
    data = read_json(folder / DRIVE_MARKER)
    return data if isinstance(data, dict) and isinstance(data.get("name"), str) else None


def candidate_roots() -> list[Path]:
    """Folders where a removable drive may be mounted, in a stable order."""
    if os.name == "nt":
        from megabackup import winsys

        return winsys.drive_roots()
    roots: list[Path] = []
    for parent in LINUX_MOUNT_PARENTS:
        base = Path(parent)
        roots += _subfolders(base)
        if parent != "/mnt":  # /media/USER/LABEL and /run/media/USER/LABEL
            for user_folder in _subfolders(base):
                roots += _subfolders(user_folder)
    if sys.platform == "darwin":
        roots += _subfolders(Path("/Volumes"))
    return roots


def find_external(
    name: str, configured: Path | None, roots: Iterable[Path] | None = None
) -> DriveLookup:
    """The drive folder from external.path, else by scanning mounted drives for the marker."""
    if configured is not None:
        if not configured.is_dir():
            return DriveLookup(
                None, f"the external drive is not connected ({configured} is missing)"
            )
        marker = read_drive_marker(configured)
        if marker is None:
            raise PlaceError(
                f"{configured} is not a MegaBackup drive (no {DRIVE_MARKER} marker); "
                f'prepare it once with: megabackup init-drive "{configured}"'
            )
        if marker["name"] != name:
            raise PlaceError(
                f'{configured} is the MegaBackup drive "{marker["name"]}", not "{name}" '
                "(external.name); connect the right drive or change the setting"
            )
        return DriveLookup(configured)
    for root in roots if roots is not None else candidate_roots():
        for folder in (root, root / name):
            marker = read_drive_marker(folder)
            if marker is not None and marker["name"] == name:
                return DriveLookup(folder)
    return DriveLookup(
        None, f'the external drive "{name}" is not connected (no drive carries its marker)'
    )


WINDOWS_SHELL_FILES = ("desktop.ini",)  # Documents, Desktop, Pictures, Music always hold one


def has_content(root: Path, folders: Sequence[str] = (), ignore: Sequence[str] = ()) -> bool:
    """True if the place (or any listed folder in it) holds something the person put there: not
    our markers, not Windows' hidden desktop.ini, nothing the ignore list leaves out. A folder
    whose only entry is desktop.ini is empty to the person, and so it is here."""
    targets = [(f, root / f) for f in folders] if folders else [("", root)]
    for folder, target in targets:
        try:
            with os.scandir(winsys.long_path(target)) as entries:
                for entry in entries:
                    relative = f"{folder.strip('/')}/{entry.name}" if folder else entry.name
                    if not _not_content(entry.name, relative, ignore):
                        return True
        except OSError:
            continue
    return False


def _not_content(name: str, relative: str, ignore: Sequence[str]) -> bool:
    from megabackup.settings import path_pattern  # settings imports this module at load time

    if name.startswith(".megabackup") or name.casefold() in WINDOWS_SHELL_FILES:
        return True
    for pattern in ignore:
        path = path_pattern(pattern)
        if fnmatch.fnmatch(relative if path else name, path or pattern):
            return True
    return False


def _subfolders(base: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(base) if e.is_dir())
    except OSError:
        return []


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------
# Server markers and what each place looked like at the last cycle

PLACE_MARKER = ".megabackup-place"
# The server home's folder for the clock probe: writing and removing the probe there changes this
# folder's time only, never the server home's own, which its snapshot holds. Left out of every
# snapshot (CLOCK_FOLDER_IGNORE) and of the sync (unison ignores our .megabackup* names).
CLOCK_FOLDER = ".megabackup-clock"
CLOCK_FOLDER_IGNORE = f"{CLOCK_FOLDER}/"  # a folders.ignore pattern: this path from the root


def read_place_marker(folder: Path, *, strict: bool = False) -> str | None:
    """The id in a server folder's marker, or None if it carries none. `strict`: a read that
    fails for another reason than a missing file (the share stopped answering) raises."""
    marker = folder / PLACE_MARKER
    if not strict:
        data = read_json(marker)
    else:
        try:
            text = Path(winsys.long_path(marker)).read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
    marker_id = data.get("id") if isinstance(data, dict) else None
    return marker_id if isinstance(marker_id, str) and marker_id else None


def write_place_marker(folder: Path, place: str) -> str:
    """Give a server folder its identity, so an empty mount point or another share is recognised."""
    existing = read_place_marker(folder)
    if existing:
        return existing
    marker_id = uuid.uuid4().hex
    content = {
        "place": place,
        "id": marker_id,
        "created": _now_iso(),
        "about": "MegaBackup recognises this folder by this file. Do not delete it.",
    }
    write_json(folder / PLACE_MARKER, content)
    return marker_id


@dataclass
class PlaceMemory:
    """Per place: its marker id, which listed folders held files, and what the person was
    last told is not backed up."""

    path: Path
    markers: dict[str, str]
    filled: dict[str, list[str]]  # place -> folders ("." = the place itself) that held files
    told_links: dict[str, str] = field(default_factory=dict)  # place -> digest of the list said
    problem: str = ""  # the file was damaged: why, and that it is kept aside on the next save

    @classmethod
    def load(cls, path: Path) -> PlaceMemory:
        """What the file says; a damaged file (not JSON, or values of the wrong kind, as a hand
        edit leaves it) reads as a fresh memory and says why, so backups go on."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as exc:
            return cls._fresh(path, f"it cannot be read ({exc})")
        try:
            if not isinstance(data, dict):
                raise TypeError("it does not hold a table")
            markers = _table(data, "markers", lambda v: isinstance(v, str), "a marker id")
            filled = _table(data, "filled", _is_names, "a list of folder names")
            told = _table(data, "told_links", lambda v: isinstance(v, str), "a digest")
        except TypeError as exc:
            return cls._fresh(path, str(exc))
        return cls(path, markers, {k: list(v) for k, v in filled.items()}, told)

    @classmethod
    def _fresh(cls, path: Path, why: str) -> PlaceMemory:
        problem = (
            f"the places memory {path} was damaged ({why}); it is kept beside as "
            f"{path.name}.damaged and started afresh: the checks for emptied places learn them "
            "again in this backup"
        )
        return cls(path, {}, {}, {}, problem)

    def save(self) -> None:
        if self.problem and self.path.exists():  # keep the damaged file for a look, once
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_name(self.path.name + ".damaged"))
            self.problem = ""
        content = {"markers": self.markers, "filled": self.filled, "told_links": self.told_links}
        write_json(self.path, content)

    def remember_contents(
        self, place: str, root: Path, folders: Sequence[str], ignore: Sequence[str] = ()
    ) -> None:
        names = list(folders) or ["."]
        self.filled[place] = [
            n for n in names if has_content(root, [] if n == "." else [n], ignore)
        ]

    def first_time_told(self, place: str, links: Sequence[str]) -> bool:
        """True once for each new list of what is not backed up (and remembers it was said)."""
        digest = hashlib.sha256("\0".join(sorted(links)).encode("utf-8", "replace")).hexdigest()
        if self.told_links.get(place) == digest:
            return False
        self.told_links[place] = digest
        return True

    def emptied(self, place: str, root: Path, ignore: Sequence[str] = ()) -> list[str]:
        """Folders of this place that held files at the last cycle and are empty or missing now."""
        return [
            name
            for name in self.filled.get(place, [])
            if not has_content(root, [] if name == "." else [name], ignore)
        ]


def _table(data: dict, key: str, valid: Callable[[object], bool], what: str) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and valid(v) for k, v in table.items()
    ):
        raise TypeError(f'"{key}" must map each place to {what}')
    return table


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
