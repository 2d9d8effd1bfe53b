"""The safety gates: the preflight before anything is written, and the checks before the sync.

Preflight (reads only): tools present; every place that is there the right one (markers); no
folder suddenly empty; the external drive found by its marker. A fatal problem (a wrong or an
emptied place) stops the whole cycle. A place that is away (its folder is not there, or did not
answer in time) is not fatal: the steps that need it wait for it, and with them the sync when
one of its two snapshots cannot be taken in this cycle (promise 2).

The clock probe lives here too (a server clock running ahead makes stale files look newer);
engine/clocks.py asks it once, before the first snapshot.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from megabackup import places
from megabackup.engine import links
from megabackup.engine.plan import SnapshotStep, plan_cycle
from megabackup.history import History
from megabackup.settings import Settings
from megabackup.tools import rdiff, unison
from megabackup.words import duration_text

CLOCK_PROBE = ".megabackup-clock-probe"
FAT_TIME_SLACK = 2.0  # FAT/exFAT shares keep times in 2-second steps
WINDOWS_COMMAND_LINE_LIMIT = 32_766  # CreateProcess: 32,767 characters with the closing NUL


@dataclass
class Preflight:
    fatal: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    away: dict[str, str] = field(default_factory=dict)  # place name -> why it is away
    drive: Path | None = None
    rdiff_prefix: tuple[str, ...] = ()
    unison_program: str = ""
    unison_problem: str = ""
    linked: list[links.LinkedFolder] = field(default_factory=list)  # listed folders: links

    @property
    def ok(self) -> bool:
        return not self.fatal


def preflight(
    settings: Settings,
    history: History | None = None,
    memory: places.PlaceMemory | None = None,
    *,
    allow_empty: bool = False,
    new_place: bool = False,
    drive_roots: list[Path] | None = None,
    bundled_unison: Path | None = None,
    answer_seconds: float = places.ANSWER_SECONDS,
) -> Preflight:
    result = Preflight()
    if memory is not None and memory.problem:
        result.warnings.append(memory.problem)
    _check_tools(settings, result, bundled_unison)
    # Every place is asked at once, each on a thread of its own: a share that does not answer
    # costs the cycle one bounded wait, not one per place on it.
    questions = []
    for place in places.sources(settings):
        path = place.path(settings)
        assert path is not None
        marker = memory is not None and place.side == places.SERVER and not new_place
        empty = memory if memory is not None and not allow_empty else None
        look = functools.partial(_examine, place, path, marker, empty, settings.folders.ignore)
        questions.append((place, path, places.ask(f"examine {path} {marker}", look)))
    for place, path, question in questions:
        answer = question.answer(answer_seconds)
        if isinstance(answer.error, PermissionError):  # the person must act: not ordinary life
            result.fatal.append(f"the {place} {path} cannot be read: {answer.error.strerror}")
            continue
        examined = answer.value
        if not isinstance(examined, _Examined):  # not there, no answer, or an I/O error
            error = (answer.error.strerror or str(answer.error)) if answer.error else ""
            found = places.Look(False, answer.answered, answer.waited, error)
            result.away[place.name] = places.away_reason(place, path, found)
            continue
        if memory is not None and place.side == places.SERVER and not new_place:
            _check_place_marker(place.name, path, memory, result, examined.marker)
        if examined.emptied:
            emptied = examined.emptied
            where = path if emptied == ["."] else ", ".join(str(path / e) for e in emptied)
            result.fatal.append(
                f"the {place} is empty ({where}), but held files at the last backup; it may "
                "be unmounted or disconnected, so nothing was written. If you emptied it on "
                "purpose, run: megabackup run --allow-empty"
            )
    _check_desktop_backup(settings, history, result, answer_seconds)
    try:
        lookup = places.find_external(settings.external.name, settings.external.path, drive_roots)
    except places.PlaceError as exc:
        result.fatal.append(str(exc))
    else:
        result.drive = lookup.path
        if not lookup.found:
            result.away[places.EXTERNAL_DRIVE.name] = lookup.reason
    result.linked = links.linked_folders(settings, result.away)
    result.warnings += [linked.explain() for linked in result.linked]
    _check_command_lines(settings, result)
    return result


def _check_command_lines(settings: Settings, result: Preflight) -> None:
    """Windows starts no program whose command line is longer than 32,767 characters (quoted
    by its own rules, `subprocess.list2cmdline`); long folder or ignore lists reach that."""
    drive = result.drive or settings.external.path or Path("E:/MegaBackup")
    for step in plan_cycle(settings, drive, unsynced=links.unsynced(result.linked)):
        if isinstance(step, SnapshotStep):
            if step.after_sync or not result.rdiff_prefix:
                continue
            tool = "rdiff-backup"
            argv = rdiff.backup_argv(
                result.rdiff_prefix, step.source, step.repository, step.folders, step.ignore
            )
            keys = f"folders.{step.place.kind}, folders.ignore"
        else:
            tool = "unison"
            argv = unison.sync_argv(result.unison_program or "unison.exe", step.job)
            keys = "folders.home, folders.ignore"
        length = len(subprocess.list2cmdline(argv))
        if length > WINDOWS_COMMAND_LINE_LIMIT:
            result.fatal.append(
                f"the {tool} command for the {step.title} would be {length:,} characters long, "
                f"more than the {WINDOWS_COMMAND_LINE_LIMIT:,} Windows can start; list fewer or "
                f"shorter folders or ignore patterns ({keys})"
            )


@dataclass(frozen=True)
class _Examined:
    marker: str | None  # the id in its marker (None: none, or not asked)
    emptied: list[str]  # its folders that held files at the last cycle and are empty now


def _examine(
    place: places.Place,
    path: Path,
    marker: bool,
    memory: places.PlaceMemory | None,
    ignore: tuple[str, ...],
) -> _Examined | None:
    """A place as the checks need it; None when its folder is not there. An OSError means the
    place did not answer properly (a share that dropped): it is away, not wrong or empty."""
    if not path.is_dir():
        return None
    with os.scandir(path) as entries:  # a listing: a cached "it is a folder" is no answer
        next(iter(entries), None)
    found = places.read_place_marker(path, strict=True) if marker else None
    emptied = memory.emptied(place.name, path, ignore) if memory is not None else []
    return _Examined(found, emptied)


def _check_place_marker(
    place: str, path: Path, memory: places.PlaceMemory, result: Preflight, found: str | None
) -> None:
    expected = memory.markers.get(place)
    if not expected:
        return  # first cycle: the engine gives the place its marker once the cycle goes ahead
    if found == expected:
        return
    if found is None:
        what = f"does not carry its MegaBackup marker ({places.PLACE_MARKER})"
    else:
        what = "carries the marker of a different MegaBackup place"
    result.fatal.append(
        f"the {place} {path} {what}; it may be another share, or the share is not mounted. "
        "Nothing was written. If you moved your files to a new place on purpose, run: "
        "megabackup run --new-place"
    )


def _check_tools(settings: Settings, result: Preflight, bundled_unison: Path | None) -> None:
    try:
        result.rdiff_prefix = rdiff.locate(settings.tools.rdiff_backup)
    except rdiff.RdiffMissing as exc:
        result.fatal.append(str(exc))
    try:
        result.unison_program = unison.locate(settings.tools.unison, bundled_unison)
    except unison.UnisonMissing as exc:
        result.unison_problem = str(exc)


def _check_desktop_backup(
    settings: Settings, history: History | None, result: Preflight, answer_seconds: float
) -> None:
    """Away when its disk is: neither the folder nor the one it is in is there. The folder
    alone gone, on a disk that is there, is a backup that vanished: that stops everything."""
    backup = settings.desktop.backup
    found = places.look(backup, answer_seconds)
    if not found.present and not places.look(backup.parent, answer_seconds).present:
        result.away[places.DESKTOP_BACKUP.name] = places.away_reason(
            places.DESKTOP_BACKUP, backup, found
        )
        return
    repository = places.DESKTOP_HOME.repository(settings, None)
    assert repository is not None
    had_snapshots = history is not None and history.last_success(places.DESKTOP_HOME.snapshot_steps)
    if had_snapshots and not rdiff.inspect(repository).exists:
        result.fatal.append(
            f"the desktop backup {repository} held snapshots at the last backup but is gone now; "
            "if the backup disk is disconnected, reconnect it"
        )


# ---------------------------------------------------------------------------
# The clock probe


@dataclass(frozen=True)
class ClockCheck:
    skew: float  # seconds the server's clock is ahead of this computer's (negative: behind)
    limit: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and abs(self.skew) <= self.limit

    def explain(self) -> str:
        if self.error:
            return f"the server's clock could not be read ({self.error})"
        ahead = "the server's clock" if self.skew > 0 else "this computer's clock"
        behind = "this computer's" if self.skew > 0 else "the server's"
        return (
            f"{ahead} is ahead of {behind} by {duration_text(abs(self.skew))} "
            f"(the limit is {duration_text(self.limit)}); set the clock that is wrong"
        )


def probe_clock(server: Path, limit: float, clock: Callable[[], float] = time.time) -> ClockCheck:
    """Write a file on the server and compare the time the server stamps on it with ours.

    It is written in the server home's clock folder, not in the server home itself: a file made
    and removed there would change the server home's time, which its next snapshot records."""
    folder = server / places.CLOCK_FOLDER
    probe = folder / f"{CLOCK_PROBE}-{os.getpid()}"
    try:
        folder.mkdir(exist_ok=True)
        before = clock()
        with open(probe, "wb") as handle:
            handle.write(b"MegaBackup clock probe; safe to delete\n")
            handle.flush()
            os.fsync(handle.fileno())
        stamped = probe.stat().st_mtime
        after = clock()
    except OSError as exc:
        return ClockCheck(0.0, limit, exc.strerror or str(exc))
    finally:
        with contextlib.suppress(OSError):  # a leftover probe is harmless: never synced
            probe.unlink(missing_ok=True)
    if stamped < before - FAT_TIME_SLACK:
        skew = stamped - before
    elif stamped > after + FAT_TIME_SLACK:
        skew = stamped - after
    else:
        skew = 0.0
    return ClockCheck(skew, limit)
