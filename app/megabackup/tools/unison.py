"""unison: find it, build its argv, and read what a batch sync did.

Facts this module relies on (unison 2.52.1):
- `-batch` is required: without it unison asks on stdin and dies.
- `-times` from the very first sync, or mtimes are not propagated and "newer" means nothing.
- `-prefer newer` alone silently overwrites the older version; with `-copyonconflict` the loser is
  kept beside the file as `name (conflict_on_DATE).ext`. So `prefer` never goes without it.
- Exit codes: 0 all done, 1 some items skipped (conflicts left alone), 2 some transfers failed,
  3 fatal (including "the root of one replica has been completely emptied").
- Archives live in $UNISON, keyed on the root paths and the host name; both are fixed by us.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from megabackup.errors import MegaBackupError
from megabackup.outcome import Outcome, Resolution, ToolStatus
from megabackup.settings import path_pattern
from megabackup.tools.runner import CancelToken, ProcessResult, Runner

OWN_FILES_PATTERN = "Name .megabackup*"  # markers and probes that belong to one place only
HOST_NAME = "megabackup"  # archives must not depend on a DHCP-assigned host name
BOTH_CHANGED = "changed on both sides"
_PROGRESS_RE = re.compile(r"^\s*\d+%\s+(\d\d:\d\d|--:--)\s+ETA\s*$")
_SPINNER_RE = re.compile(r"^[|/\\-] \S")
_TABLE_RE = re.compile(
    r"^(?P<left>.{8}) (?P<arrow><-\?->|<====|====>|<----|---->|<-M->|<=M=>) (?P<right>.{8})\s{3,}"
    r"(?P<path>.+?)\s*$"
)
_SUMMARY_RE = re.compile(
    r"Synchronization (?P<state>complete|incomplete) at .*\((?P<done>\d+) items? transferred, "
    r"(?P<skipped>\d+) skipped, (?P<failed>\d+) failed\)"
)


class UnisonMissing(MegaBackupError):
    """unison cannot be found; the message says where we looked."""


def locate(configured: Path | None = None, bundled: Path | None = None) -> str:
    if configured is not None:
        if configured.is_file():
            return str(configured)
        raise UnisonMissing(f"unison was not found at {configured} (tools.unison)")
    if bundled is not None and bundled.is_file():
        return str(bundled)
    found = shutil.which("unison")
    if found:
        return found
    raise UnisonMissing(
        "unison was not found on PATH; install it (https://github.com/bcpierce00/unison/releases) "
        "or set tools.unison in the settings"
    )


@dataclass(frozen=True)
class SyncJob:
    """One two-way sync: the two roots, what of them, and how."""

    desktop: Path
    server: Path
    folders: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    keep_both: bool = True  # a conflict keeps the newer in place and the other beside it
    fastcheck: bool = True  # False: compare contents, not only sizes and times
    emptied_on_purpose: bool = False  # the person confirmed that a side was emptied


def sync_argv(program: str, job: SyncJob) -> list[str]:
    argv = [
        program,
        str(job.desktop),
        str(job.server),
        "-batch",
        "-ui",
        "text",
        "-times",
        "-perms",
        "0",
        "-log=false",
        "-fastcheck",
        "true" if job.fastcheck else "false",
        "-ignore",
        OWN_FILES_PATTERN,
    ]
    for pattern in job.ignore:
        path = path_pattern(pattern)
        argv += ["-ignore", f"Name {pattern}" if path is None else f"Path {path}"]
    for folder in job.folders:
        argv += ["-path", folder]
    if job.keep_both:
        argv += ["-copyonconflict", "-prefer", "newer"]
    if job.emptied_on_purpose:  # the person confirmed it; otherwise unison refuses an emptied side
        argv.append("-confirmbigdel=false")
    return argv


def environment(archive_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["UNISON"] = str(archive_dir.absolute())
    env["UNISONLOCALHOSTNAME"] = HOST_NAME
    return env


def is_noise(line: str) -> bool:
    """Progress bars and the spinner ("| path") say nothing the log or the parser needs."""
    return bool(_PROGRESS_RE.match(line) or _SPINNER_RE.match(line))


# ---------------------------------------------------------------------------
# Parsing (pure; tested on recorded real output)


@dataclass(frozen=True)
class Conflict:
    path: str  # relative to the home roots, with /
    resolution: Resolution
    detail: str = ""


@dataclass
class SyncReport:
    to_desktop: int = 0
    to_server: int = 0
    deleted_on_desktop: int = 0
    deleted_on_server: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    complete: bool = False
    fatal: str = ""

    @property
    def changed_desktop(self) -> bool:
        return self.to_desktop + self.deleted_on_desktop > 0

    @property
    def changed_server(self) -> bool:
        return self.to_server + self.deleted_on_server > 0


def parse_output(lines: Iterable[str], desktop: Path, server: Path) -> SyncReport:
    report = SyncReport()
    # unison prints its canonical root (symbolic links resolved), not the path it was given.
    roots = {str(desktop): "desktop", str(server): "server"}
    roots.setdefault(os.path.realpath(desktop), "desktop")
    roots.setdefault(os.path.realpath(server), "server")
    skipped_reasons: dict[str, str] = {}
    for line in lines:
        table = _TABLE_RE.match(line)
        if table:
            arrow, path = table.group("arrow"), table.group("path")
            if arrow in ("<====", "====>"):
                report.conflicts.append(Conflict(path, Resolution.KEPT_BOTH, BOTH_CHANGED))
            elif arrow == "<-?->":
                report.conflicts.append(Conflict(path, Resolution.SKIPPED, BOTH_CHANGED))
            continue
        if line.startswith("[BGN] "):
            _count_transfer(line[6:], roots, report)
            continue
        stripped = line.strip()
        if stripped.startswith("skipped: "):
            path, reason = _split_reason(stripped[len("skipped: ") :])
            skipped_reasons[path] = reason
            report.skipped.append(path)
        elif stripped.startswith("failed: "):
            report.failed.append(stripped[len("failed: ") :])
        elif stripped.startswith("Fatal error:"):
            report.fatal = stripped[len("Fatal error:") :].strip()
        elif "completely emptied" in stripped:
            report.fatal = (
                "one side has been completely emptied since the last sync; unison stopped "
                "rather than delete everything on the other side"
            )
        else:
            summary = _SUMMARY_RE.search(stripped)
            if summary:
                report.complete = summary.group("state") == "complete"
    report.conflicts = [
        Conflict(c.path, c.resolution, skipped_reasons.get(c.path, c.detail))
        for c in report.conflicts
    ]
    return report


def _count_transfer(text: str, roots: dict[str, str], report: SyncReport) -> None:
    """Count one '[BGN] ...' line by the side it writes to."""
    if text.startswith("Deleting "):
        for root, side in roots.items():
            if text.endswith(f" from {root}"):
                if side == "desktop":
                    report.deleted_on_desktop += 1
                else:
                    report.deleted_on_server += 1
                return
        return
    for root, side in roots.items():
        if text.endswith(f" to {root}"):
            if side == "desktop":
                report.to_desktop += 1
            else:
                report.to_server += 1
            return


def _split_reason(text: str) -> tuple[str, str]:
    match = re.match(r"^(?P<path>.*) \((?P<reason>[^()]*)\)$", text)
    if not match:
        return text, ""
    return match.group("path"), match.group("reason")


def conflict_copies(folder: Path, name: str) -> list[Path]:
    """Copies unison kept of `name` in folder: 'doc (conflict_on_2026-11-30).txt', '#1' kin.

    unison puts the mark before the last suffix: 'Makefile (conflict_on_D)', 'a.tar (...).gz',
    and for a dot file ' (conflict_on_D).bashrc'.
    """
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    copy = re.compile(
        re.escape(stem)
        + r" \(conflict(?: #\d+)?_on_[^)]*\)"
        + (re.escape("." + suffix) if suffix else "")
        + "$"
    )
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if copy.match(e.name))


# ---------------------------------------------------------------------------
# Running a sync


class SyncStatus(ToolStatus):
    OK = "ok", Outcome.OK
    CONFLICTS = "conflicts", Outcome.WARNING  # done; some files changed on both sides
    PARTIAL = "partial", Outcome.WARNING  # some transfers failed
    FAILED = "failed", Outcome.FAILED
    CANCELLED = "cancelled", Outcome.CANCELLED


@dataclass
class SyncOutcome:
    status: SyncStatus
    report: SyncReport
    message: str = ""
    process: ProcessResult | None = None


class Unison:
    def __init__(self, runner: Runner, program: str, archive_dir: Path) -> None:
        self.runner = runner
        self.program = program
        self.archive_dir = archive_dir

    def sync(self, job: SyncJob, cancel: CancelToken | None = None) -> SyncOutcome:
        self.archive_dir.mkdir(parents=True, exist_ok=True)
        result = self.runner.run(
            sync_argv(self.program, job),
            env=environment(self.archive_dir),
            cancel=cancel,
            keep=lambda line: not is_noise(line),
        )
        report = parse_output(result.lines, job.desktop, job.server)
        status, message = classify(result, report)
        return SyncOutcome(status, report, message, result)


def classify(result: ProcessResult, report: SyncReport) -> tuple[SyncStatus, str]:
    """(status, message) from the exit code, cross-checked with what the output said."""
    code = result.returncode
    if result.cancelled:
        return SyncStatus.CANCELLED, "cancelled"
    if code == 0:
        return (SyncStatus.CONFLICTS if report.conflicts else SyncStatus.OK), ""
    if code == 1:
        skipped = len(report.skipped)
        return SyncStatus.CONFLICTS, f"{skipped} item(s) left alone because both sides changed"
    if code == 2:
        listed = ", ".join(report.failed[:3])
        return SyncStatus.PARTIAL, f"{len(report.failed)} item(s) could not be copied: {listed}"
    reason = report.fatal or result.last_lines(1) or f"exit code {code}"
    return SyncStatus.FAILED, reason
