"""unison: find it, build its argv, and read what a batch sync did.

Facts this module relies on (unison 2.52.1):
- `-batch` is required: without it unison asks on stdin and dies.
- `-times` from the very first sync, or mtimes are not propagated and "newer" means nothing.
- `-prefer newer` alone silently overwrites the older version; with `-copyonconflict` the loser is
  kept beside the file as `name (conflict_on_DATE).ext`. So `prefer` never goes without it.
- Exit codes: 0 all done, 1 some items skipped (conflicts left alone), 2 some transfers failed,
  3 fatal (including "the root of one replica has been completely emptied").
- Archives live in $UNISON, keyed on the root paths and the host name; both are fixed by us.
- A transfer prints `[BGN] Copying P from ROOT1 to ROOT2` when it starts and `[END] Copying P`
  only when it completed; a failed one never ends. Roots print as unison sees them
  (`root2string`): on Windows `C:/Users/andy`, `//nas/andy/` (unison 2.53.7, src/transport.ml,
  src/common.ml, src/fspath.ml).
- `ignorecase` defaults to true only when a host runs Windows or macOS. The server home is a
  share, which is case-insensitive like Windows, so it is always passed as true: with false, a
  Linux desktop's `Notes.TXT` beside `notes.txt` fails against the share on every sync and leaves
  unison's temporary files there. With true, such a pair is skipped with a reason (both stay on
  the desktop and in its snapshots; the file check names them).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from megabackup import winsys
from megabackup.errors import MegaBackupError
from megabackup.files import atomic_write, find_shown
from megabackup.outcome import Outcome, Resolution, ToolStatus
from megabackup.settings import path_pattern
from megabackup.tools.runner import CancelToken, ProcessResult, Runner
from megabackup.words import listing, shown

OWN_FILES_PATTERN = "Name .megabackup*"  # markers and probes that belong to one place only
# A copy in progress: '.unison.NAME.HASH.unison.tmp' (unison 2.52), left behind when unison is
# killed mid-copy. unison skips such files itself; a snapshot must skip them too.
TEMP_FILE_PATTERN = ".unison.*.unison.tmp"
HOST_NAME = "megabackup"  # archives must not depend on a DHCP-assigned host name
BOTH_CHANGED = "changed on both sides"
_PROGRESS_RE = re.compile(r"^\s*\d+%\s+(\d\d:\d\d|--:--)\s+ETA\s*$")
_SPINNER_RE = re.compile(r"^[|/\\-] \S")
_TABLE_RE = re.compile(
    r"^(?P<left>.{8}) (?P<arrow><-\?->|<====|====>|<----|---->|<-M->|<=M=>) (?P<right>.{8})\s{3,}"
    r"(?P<path>.+?)\s*$"
)
_DETAIL_RE = re.compile(r"^\S.*?\s:\s(?:changed|new|deleted|absent|unchanged|props)\b")
_ERROR_ROW_RE = re.compile(r"^\s+error\s{3,}(?P<path>.+?)\s*$")  # the table's row for it
_SUMMARY_RE = re.compile(
    r"Synchronization (?P<state>complete|incomplete) at .*\((?P<done>\d+) items? transferred, "
    r"(?:\d+ partially transferred, )?(?P<skipped>\d+) skipped, (?P<failed>\d+) failed"
)
_CASE_CLASH_RE = re.compile(r"identical except for case\..*\(File '(?P<path>.*)'\)")
# With -ignorecase unison syncs no name whose bytes are not UTF-8 (a Linux share may hold one).
_NOT_UNICODE_RE = re.compile(r"not encoded in Unicode\..*\(File '(?P<path>.*)'\)")
_FAILED_RE = re.compile(r"^Failed \[(?P<path>.+?)\]: (?P<reason>.+)$")
# The share kept the time of the copy instead of the one unison set (smbnetfs, and CIFS clients
# that "lie about timestamps"): the copy itself is whole, and a second try usually passes.
TIME_NOT_KEPT = "Failed to set modification time"
_COLOUR_RE = re.compile(r"\x1b\[[0-9;:]*m")  # unison 2.53 colours its summary on a terminal


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
    leave_out: tuple[str, ...] = ()  # paths (relative, with /) no snapshot holds: left alone
    # Listed folders that are on both sides: if one vanishes while unison runs (a share losing
    # it for a moment), unison stops instead of deleting the folder on the other side.
    mountpoints: tuple[str, ...] = ()


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
        "-ignorecase",
        "true",
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
    for folder in job.mountpoints:
        argv += ["-mountpoint", folder]
    if job.keep_both:
        argv += ["-copyonconflict", "-prefer", "newer"]
    if job.emptied_on_purpose:  # the person confirmed it; otherwise unison refuses an emptied side
        argv.append("-confirmbigdel=false")
    return argv


PROFILE = "default.prf"  # read from $UNISON whenever the roots are given on the command line


def profile_text(job: SyncJob) -> str:
    """The paths to leave alone, as unison's profile lines. They go in the profile, not the
    command line: OneDrive can make them thousands, longer than a Windows command line may be."""
    lines = ["# Written by MegaBackup before every sync: what no snapshot holds is left alone."]
    lines += [f"ignore = Path {glob_literal(path)}" for path in job.leave_out]
    return "\n".join(lines) + "\n"


def glob_literal(path: str) -> str:
    """A path as a unison glob that matches only itself (a backslash quotes the next character:
    src/ubase/rx.ml); a leading space is quoted too, or the profile reader would drop it."""
    quoted = re.sub(r"([\\*?\[\]{},])", r"\\\1", path)
    return "\\" + quoted if quoted.startswith(" ") else quoted


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
    path: str  # relative to the home roots, with / (as printed: see `rest`)
    resolution: Resolution
    detail: str = ""
    # The lines printed after its table row before the details: the rest of a name that holds
    # a newline ("D/new" + "line.txt"), which only the folder can confirm.
    rest: tuple[str, ...] = ()


@dataclass
class SyncReport:
    to_desktop: int = 0
    to_server: int = 0
    deleted_on_desktop: int = 0
    deleted_on_server: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "[ERROR] Skipping": not read at all
    complete: bool = False
    nothing_to_do: bool = False  # "Nothing to do": the replicas were alike, no summary follows
    fatal: str = ""
    skip_reasons: dict[str, str] = field(default_factory=dict)  # skipped path -> unison's reason
    partial: list[str] = field(default_factory=list)  # folders only partly synced
    case_clashes: list[str] = field(default_factory=list)  # a neighbour differs only in case
    not_unicode: list[str] = field(default_factory=list)  # names of bytes that are not UTF-8
    failure_reasons: dict[str, str] = field(default_factory=dict)  # failed path -> unison's why

    @property
    def only_times_not_kept(self) -> bool:
        """Every failed transfer failed because the target did not keep the time unison set."""
        reasons = [self.failure_reasons.get(path, "") for path in self.failed]
        return bool(reasons) and all(r.startswith(TIME_NOT_KEPT) for r in reasons)

    def then(self, later: SyncReport) -> SyncReport:
        """This run followed by another one on the same pair: what both passed on, and what
        the later one left undone."""
        return dataclasses.replace(
            later,
            to_desktop=self.to_desktop + later.to_desktop,
            to_server=self.to_server + later.to_server,
            deleted_on_desktop=self.deleted_on_desktop + later.deleted_on_desktop,
            deleted_on_server=self.deleted_on_server + later.deleted_on_server,
            conflicts=self.conflicts + later.conflicts,
        )

    @property
    def changed_desktop(self) -> bool:
        return self.to_desktop + self.deleted_on_desktop > 0

    @property
    def changed_server(self) -> bool:
        return self.to_server + self.deleted_on_server > 0


def parse_output(
    lines: Iterable[str], desktop: Path, server: Path, *, windows: bool = os.name == "nt"
) -> SyncReport:
    report = SyncReport()
    roots = _root_keys(desktop, "desktop", windows) + _root_keys(server, "server", windows)
    started: dict[str, tuple[str, str]] = {}  # "[BGN]" text without its roots -> (what, side)
    finished: list[tuple[str, str]] = []
    skipped_reasons: dict[str, str] = {}
    transferred: int | None = None
    lines = list(lines)
    for index, line in enumerate(lines):
        table = _TABLE_RE.match(line)
        if table:
            arrow, path = table.group("arrow"), table.group("path")
            rest = tuple(_rest_of_row(lines, index + 1))
            if arrow in ("<====", "====>"):
                report.conflicts.append(Conflict(path, Resolution.KEPT_BOTH, BOTH_CHANGED, rest))
            elif arrow == "<-?->":
                report.conflicts.append(Conflict(path, Resolution.SKIPPED, BOTH_CHANGED, rest))
            continue
        if line.startswith("[BGN] "):
            _note_start(line[6:], roots, windows, started)
            continue
        if line.startswith("[END] "):  # only a transfer that completed says so
            done = started.pop(_key(line[6:], windows), None)
            if done is not None:
                finished.append(done)
            continue
        error = _ERROR_ROW_RE.match(line)
        if error or line.startswith("[ERROR] Skipping "):  # unreadable; the reason follows
            path = error.group("path") if error else line[len("[ERROR] Skipping ") :].strip()
            if path not in report.unreadable:
                report.unreadable.append(path)
            continue
        stripped = _COLOUR_RE.sub("", line).strip()
        failure = _FAILED_RE.match(stripped)
        if failure:
            report.failure_reasons.setdefault(failure.group("path"), failure.group("reason"))
            continue
        clash = _CASE_CLASH_RE.search(stripped)
        if clash and clash.group("path") not in report.case_clashes:
            report.case_clashes.append(clash.group("path"))
        odd = _NOT_UNICODE_RE.search(stripped)
        if odd and odd.group("path") not in report.not_unicode:
            report.not_unicode.append(odd.group("path"))
        if stripped.startswith("skipped: "):
            text = stripped[len("skipped: ") :]
            if any(text.startswith(f"{path} (") for path in report.unreadable):
                continue  # its reason spans lines; the [ERROR] line named it already
            path, reason = _split_reason(text)
            skipped_reasons[path] = reason
            report.skipped.append(path)
        elif stripped.startswith("failed: "):
            report.failed.append(stripped[len("failed: ") :])
        elif stripped.startswith("partially transferred: "):
            report.partial.append(stripped[len("partially transferred: ") :])
        elif "is designated as a mountpoint, but points to nothing" in stripped:
            path = stripped.split("Path ", 1)[-1].split(" is designated", 1)[0]
            report.fatal = (
                f"the listed folder {path} disappeared while the sync ran; unison stopped "
                "rather than delete it on the other side. The next backup looks again"
            )
        elif stripped.startswith("Nothing to do:"):
            report.nothing_to_do = True
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
                transferred = int(summary.group("done"))
    if transferred != 0:  # the summary, when there is one, has the last word on "nothing"
        for what, side in finished:
            _count(report, what, side)
    report.skip_reasons = skipped_reasons
    report.conflicts = [
        Conflict(c.path, c.resolution, skipped_reasons.get(c.path, c.detail), c.rest)
        for c in report.conflicts
    ]
    return report


def printed_root(path: str | PurePath, *, windows: bool = os.name == "nt") -> str:
    """A root the way unison prints it in its transfer lines (`root2string` in common.ml, the
    invariants of fspath.ml): on Windows with `/` for every separator, the drive letter in upper
    case, and a share root (`//nas/andy/`) or a drive root (`C:/`) ending in `/`."""
    text = str(path)
    if not windows:
        return text.rstrip("/") or "/"
    text = text.replace("\\", "/")
    if text.startswith("//?/UNC/"):
        text = "//" + text[len("//?/UNC/") :]
    elif text.startswith("//?/"):
        text = text[len("//?/") :]
    text = text.rstrip("/")
    if len(text) >= 2 and text[1] == ":":
        text = text[0].upper() + text[1:]
    if re.fullmatch(r"[A-Za-z]:|//[^/]+/[^/]+", text):
        text += "/"
    return text


def _root_keys(root: Path, side: str, windows: bool) -> list[tuple[str, str]]:
    """Every spelling unison may print for a root, as matching keys: as given, with links
    resolved (unison prints its canonical root), and in long names on Windows."""
    spellings = [str(root), os.path.realpath(root)]
    if windows:
        spellings.append(winsys.long_path_name(root))
    keys: list[tuple[str, str]] = []
    for spelling in spellings:
        key = (_key(printed_root(spelling, windows=windows), windows), side)
        if key not in keys:
            keys.append(key)
    return keys


def _key(text: str, windows: bool) -> str:
    """Names compare without regard to case on Windows, as its file systems do."""
    return text.casefold() if windows else text


def _note_start(text: str, roots: list[tuple[str, str]], windows: bool, started: dict) -> None:
    """Remember one '[BGN] ...' line by the side it writes to, under the words its '[END]' line
    repeats: 'Copying P from R1 to R2' ends as 'Copying P', 'Deleting P from R' as 'Deleting P'."""
    key = _key(text, windows)
    deleting = key.startswith(_key("Deleting ", windows))
    for root, side in roots:
        suffix = f" from {root}" if deleting else f" to {root}"
        if not key.endswith(suffix):
            continue
        rest = key[: -len(suffix)]
        if not deleting:
            sources = [r for r, s in roots if s != side]
            rest = next(
                (rest[: -len(f" from {r}")] for r in sources if rest.endswith(f" from {r}")),
                rest.rpartition(" from ")[0],
            )
        started[rest] = ("deleted" if deleting else "copied", side)
        return


def _rest_of_row(lines: list[str], start: int) -> list[str]:
    """The lines up to the row's detail lines ("desk   : changed file ..."), at most a few."""
    rest = []
    for line in lines[start : start + 4]:
        if _DETAIL_RE.match(line) or _TABLE_RE.match(line):
            return rest
        rest.append(line)
    return []  # no detail lines followed: these lines were something else


def _count(report: SyncReport, what: str, side: str) -> None:
    if what == "deleted":
        if side == "desktop":
            report.deleted_on_desktop += 1
        else:
            report.deleted_on_server += 1
    elif side == "desktop":
        report.to_desktop += 1
    else:
        report.to_server += 1


def _split_reason(text: str) -> tuple[str, str]:
    """'path (reason)' -> (path, reason); the reason may hold parentheses, and so may the path."""
    if not text.endswith(")"):
        return text, ""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            if index > 0 and text[index - 1] == " ":
                return text[: index - 1], text[index + 1 : -1]
            break
    return text, ""


COPY_MARK = " (conflict #99_on_2026-12-31)"  # the longest mark unison puts in a copy's name
LONGEST_NAME = 255  # bytes in one name (ext4, NTFS and exFAT count 255 units)


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
        with os.scandir(winsys.long_path(folder)) as listing:
            names = [e.name for e in listing]
    except OSError:
        return []
    return sorted(folder / n for n in names if copy.match(n))


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
        atomic_write(self.archive_dir / PROFILE, profile_text(job))
        result = self.runner.run(
            sync_argv(self.program, job),
            env=environment(self.archive_dir),
            cancel=cancel,
            keep=lambda line: not is_noise(line),
        )
        report = parse_output(result.lines, job.desktop, job.server)
        report.unreadable = [_as_on_disk(p, job) for p in report.unreadable]
        report.not_unicode = [_as_on_disk(p, job) for p in report.not_unicode]
        status, message = classify(result, report)
        return SyncOutcome(status, report, message, result)


def _as_on_disk(printed: str, job: SyncJob) -> str:
    """A path unison printed (its undecodable bytes replaced), as it is on either side and in a
    form that can be shown and stored (words.shown)."""
    for root in (job.desktop, job.server):
        found = find_shown(root, printed)
        if found is not None:
            return shown(found.relative_to(root).as_posix())
    return shown(printed)


def classify(result: ProcessResult, report: SyncReport) -> tuple[SyncStatus, str]:
    """(status, message) from the exit code, cross-checked with what the output said."""
    code = result.returncode
    if result.cancelled:
        return SyncStatus.CANCELLED, "cancelled"
    if code == 0:
        return (SyncStatus.CONFLICTS if report.conflicts else SyncStatus.OK), ""
    if code == 1:
        return _skips(report)
    if code == 2:
        listed = ", ".join(report.failed[:3])
        kept = "where they went did not keep the modification time unison set"
        why = f" ({kept})" if report.only_times_not_kept else ""
        message = (
            f"{len(report.failed)} item(s) could not be copied{why}: {listed}; "
            "the next backup tries them again, and nothing is lost meanwhile"
        )
        if report.skipped or report.unreadable or report.case_clashes:
            message += "; " + _skips(report)[1]  # what else was left alone, and why
        return SyncStatus.PARTIAL, message
    reason = report.fatal or result.last_lines(1) or f"exit code {code}"
    return SyncStatus.FAILED, reason


def _skips(report: SyncReport) -> tuple[SyncStatus, str]:
    """Items unison left alone, in words: conflicts (both sides changed), names that differ
    only in case from a neighbour, and anything else with unison's reason."""
    conflicting = {c.path for c in report.conflicts}
    both = [p for p in report.skipped if p in conflicting]
    clashes = report.case_clashes
    other = [
        p
        for p in report.skipped
        if p not in conflicting and p not in clashes and not _is_case_clash(report, p)
    ]
    parts = []
    odd = report.not_unicode
    unreadable = [p for p in report.unreadable if p not in odd]
    if unreadable:  # not conflicts: they could not be read on one side
        parts.append(
            f"{len(unreadable)} item(s) could not be read and were left alone: "
            + listing(unreadable)
        )
    if odd:
        parts.append(
            f"{len(odd)} name(s) not synced because they are not valid Unicode (Windows could not "
            f"hold them; rename them): {listing(odd)}"
        )
    if both or not (clashes or other or report.unreadable):
        count = len(both) if both else len(report.skipped)
        parts.append(f"{count} item(s) left alone because both sides changed")
    if clashes:
        parts.append(
            f"{len(clashes)} name(s) not synced because another name in the same folder differs "
            "only in upper/lower case, and the share cannot hold both (rename one): "
            + ", ".join(clashes[:3])
        )
    if other:
        named = "; ".join(f"{p} ({report.skip_reasons.get(p) or 'no reason given'})" for p in other)
        parts.append(f"{len(other)} item(s) not synced: {named}")
    return (SyncStatus.CONFLICTS if both else SyncStatus.PARTIAL), "; ".join(parts)


def _is_case_clash(report: SyncReport, path: str) -> bool:
    return "identical except for case" in report.skip_reasons.get(path, "")
