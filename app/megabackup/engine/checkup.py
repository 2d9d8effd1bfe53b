"""`megabackup check` and the set-up window's Check: the settings, then the checks a cycle makes
before it writes anything, in plain lines. Reads only, but for the small test folder each
snapshot also makes on its disk (places.deletion_lags), removed at once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from megabackup import places, winsys
from megabackup.engine.filecheck import check_tree, long_paths_off
from megabackup.engine.preflight import preflight
from megabackup.engine.status import readable_history_problem
from megabackup.history import History, HistoryError
from megabackup.locations import AppPaths
from megabackup.outcome import ExitCode
from megabackup.settings import Settings, cautions


@dataclass(frozen=True)
class CheckReport:
    source: Path | None
    problems: list[str] = field(default_factory=list)  # a cycle would stop on these
    warnings: list[str] = field(default_factory=list)  # a cycle would run, and say these
    notes: list[str] = field(default_factory=list)  # allowed, but unwise
    drive: Path | None = None
    away: list[str] = field(default_factory=list)  # places out of reach: what needs them waits

    @property
    def exit_code(self) -> ExitCode:
        if self.problems:
            return ExitCode.FAILED
        return ExitCode.WARNING if self.warnings or self.away else ExitCode.OK

    def lines(self) -> list[str]:
        shown = [f"Settings: {self.source} is valid." if self.source else "Settings are valid."]
        shown += [f"  PROBLEM: {problem}" for problem in self.problems]
        shown += [f"  away: {reason}; what needs it waits for it" for reason in self.away]
        shown += [f"  warning: {warning}" for warning in self.warnings]
        shown += [f"  note: {note}" for note in self.notes]
        if self.drive:
            shown.append(f"  External drive: {self.drive}")
        if not self.problems:
            ready = not (self.warnings or self.away)
            shown.append("All places are ready." if ready else "Ready, with the notes above.")
        return shown


def check(
    settings: Settings,
    paths: AppPaths,
    *,
    bundled_unison: Path | None = None,
    drive_roots: list[Path] | None = None,
) -> CheckReport:
    history, history_problem = None, ""
    try:
        if paths.history.exists():
            history = History(paths.history)
            history.check_sound()
    except HistoryError as exc:  # the next cycle keeps it aside: a warning, not a stop
        history, history_problem = None, readable_history_problem(exc)
    memory = places.PlaceMemory.load(paths.places)
    result = preflight(
        settings, history, memory, drive_roots=drive_roots, bundled_unison=bundled_unison
    )
    notes, walk_warnings = _look_through_homes(settings, result.away)
    warnings = result.warnings + walk_warnings
    warnings += [history_problem] if history_problem else []
    warnings += [result.unison_problem] if result.unison_problem else []
    notes += [str(caution) for caution in cautions(settings)]
    problems = list(result.fatal) + _refused_disks(settings, result.drive)
    return CheckReport(
        settings.source, problems, warnings, notes, result.drive,
        away=list(result.away.values()),
    )  # fmt: skip


def _refused_disks(settings: Settings, drive: Path | None) -> list[str]:
    """The backup disks rdiff-backup would refuse, in the words a cycle uses."""
    refused = [places.desktop_backup_refusal(settings.desktop.backup)]
    if drive is not None:
        refused.append(places.drive_refusal(drive, settings.external.name))
    return [line for line in refused if line]


def _look_through_homes(settings: Settings, away: dict[str, str]) -> tuple[list[str], list[str]]:
    """(notes, warnings) from one walk of each home: what Windows keeps as links (never backed
    up), what cannot be read, and paths too long for Windows while its long paths are off. The
    server data is left out here: it can be very large, and each cycle's report covers it; so is
    a home that is away (a share that does not answer would hold the walk up)."""
    notes: list[str] = []
    warnings: list[str] = []
    long_paths_on = winsys.long_paths_enabled()
    for place in (places.DESKTOP_HOME, places.SERVER_HOME):
        root = place.path(settings)
        if root is None or place.name in away or not root.is_dir():
            continue
        limit = settings.safety.max_clock_skew_seconds
        files, walk = check_tree(
            root, place.folders(settings), settings.folders.ignore, time.time(), limit
        )
        if walk.errors:
            warnings.append(f"{place}: {walk.errors} file(s) or folder(s) could not be read")
        if files.links:
            notes.append(files.not_backed_up(place))
        if files.too_long and long_paths_on is False:
            warnings.append(long_paths_off(place, files))
    return notes, warnings
