"""One snapshot step: one stat walk of the source, then rdiff-backup unless nothing changed.

The walk both checks the files (impossible dates, names Windows cannot store) and proves, against
the manifest saved at the last good snapshot of this repository, that nothing rdiff-backup looks
at has changed; then the snapshot is skipped. Any doubt runs rdiff-backup as usual.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path

from megabackup import places
from megabackup.engine import deletions, manifest, room
from megabackup.engine.context import StepContext
from megabackup.engine.filecheck import FileCheck, check_tree
from megabackup.engine.plan import SYNC_HOME, SnapshotStep
from megabackup.engine.proof import check_snapshot
from megabackup.engine.results import StepResult
from megabackup.files import spelled_on_disk
from megabackup.outcome import Outcome
from megabackup.places import DESKTOP_HOME, EXTERNAL_DRIVE, SERVER_HOME
from megabackup.tools import rdiff
from megabackup.tools.runner import ProcessStartError


def run_snapshot(step: SnapshotStep, context: StepContext) -> StepResult:
    if step.unavailable:  # a place it needs is away: it waits for it, the rest goes on
        return StepResult(step.id, step.title, Outcome.AWAY, step.unavailable)
    if context.clock_verdict.snapshots_wait:
        why = "not taken while this computer's clock is in doubt (see the clock check)"
        return StepResult(step.id, step.title, Outcome.SKIPPED, why)
    if step.after_sync:
        sync = context.results.get(SYNC_HOME)
        if sync is None or not sync.succeeded:
            return StepResult(step.id, step.title, Outcome.NOT_NEEDED, "the sync did not run")
        changed = sync.to_desktop if step.place is DESKTOP_HOME else sync.to_server
        if not changed:
            return StepResult(
                step.id, step.title, Outcome.NOT_NEEDED, "the sync changed nothing here"
            )
    # the folder list as the disk spells it: rdiff-backup's selection compares exactly, so a
    # folder listed in another case would be left out of every snapshot on Windows
    step = dataclasses.replace(
        step, folders=tuple(spelled_on_disk(step.source, f) for f in step.folders)
    )
    files, current = _walk_settled(step, context)
    if not step.after_sync:
        _report_findings(step, files, current, context)
    elif not context.options.allow_empty:
        emptied = _emptied_since_the_sync(step, context)
        if emptied:
            return StepResult(step.id, step.title, Outcome.FAILED, emptied)
    saved_at = context.manifests / f"{step.place.name.replace(' ', '-')}.json"
    mark = _mark(step.repository)
    if (
        context.options.skip_unchanged
        and not step.after_sync
        and manifest.unchanged(current.with_mark(mark), manifest.load(saved_at))
    ):
        _remember(step, context)
        return StepResult(
            step.id,
            step.title,
            Outcome.OK,
            "nothing changed since the last snapshot, so none was needed",
            source_files=current.count,
        )
    gone = target_gone(step)
    if gone:
        return StepResult(step.id, step.title, Outcome.SKIPPED, gone)
    held = _deletions_held(step, current, context)
    if held:
        return StepResult(step.id, step.title, Outcome.HELD, held, source_files=current.count)
    cannot = room.no_room_for_first(step, files) or _refused_disk(step, context)
    if cannot:
        return StepResult(step.id, step.title, Outcome.FAILED, cannot)
    previous = rdiff.inspect(step.repository).last_snapshot  # None: no complete snapshot yet
    try:
        outcome = context.rdiff.backup(
            step.source, step.repository, step.folders, step.ignore, cancel=context.cancel
        )
    except ProcessStartError as exc:
        return StepResult(step.id, step.title, Outcome.FAILED, str(exc))
    stats = outcome.statistics
    status = outcome.status.outcome
    detail = outcome.message
    _note_unreadable(step, outcome.file_errors, context)
    if status == Outcome.FAILED and target_gone(step):
        _remove_empty_folders(step.repository.parent)
        detail = (
            f"{target_gone(step)}: it went away while the snapshot ran, so that snapshot is "
            "unfinished; the next backup with it connected rolls it back"
        )
    elif outcome.disk_full:
        detail = room.after_full_disk(step, files, context.rdiff, first=previous is None)
    if status in (Outcome.OK, Outcome.WARNING) and stats is not None:
        counts = (
            f"{stats.new_files} new, {stats.changed_files} changed, {stats.deleted_files} deleted"
        )
        detail = counts + (f"; {detail}" if detail else "")
        proof = check_snapshot(step, current, files.paths, stats, outcome.file_errors, previous)
        if proof.problem:
            status, detail = Outcome.FAILED, f"{counts}; {proof.problem}"
        elif not step.after_sync:
            _remember(step, context)
        whole = outcome.status in (rdiff.BackupStatus.OK, rdiff.BackupStatus.REDATED)
        if proof.vouches and whole and status != Outcome.FAILED:  # it holds the tree, all of it
            manifest.save(current.with_mark(_mark(step.repository)), saved_at)
    return StepResult(
        step.id,
        step.title,
        status,
        detail,
        new_files=stats.new_files if stats else 0,
        changed_files=stats.changed_files if stats else 0,
        deleted_files=stats.deleted_files if stats else 0,
        errors=stats.errors if stats else 0,
        source_files=stats.source_files if stats else 0,
    )


SETTLE_LIMIT_SECONDS = 2.0  # longer: a time from a clock ahead, which waiting does not help
SETTLE_MARGIN = 0.05  # past the second's end, for a clock that reads a little behind the disk's
_NS = 1_000_000_000


def _walk_settled(step: SnapshotStep, context: StepContext) -> tuple[FileCheck, manifest.Manifest]:
    """The walk before the snapshot, taken once nothing in it was written in the current second.

    rdiff-backup keeps a file's time in whole seconds and sees a change by its size and that
    time. A file it copies in the very second it was written can be written again in that
    second with the same size, and then looks unchanged to it for ever: that version would
    reach no snapshot. So when the walk sees something written in the current second, the
    snapshot waits for that second to end (a fraction of one) and walks again; what was
    written meanwhile gets one more wait. A share's files carry its own clock's times, so its
    "now" is ours plus the skew the clock probe measured. (FAT keeps times in two-second steps;
    a home on FAT is not covered by this.)"""
    limit = context.settings.safety.max_clock_skew_seconds
    probe = context.clock_verdict.probe
    ahead = probe.skew if step.place.side == places.SERVER and probe and not probe.error else 0.0
    for walks in range(1, 4):
        files, current = check_tree(
            step.source, step.folders, step.ignore, context.options.clock(), limit
        )
        now = time.time_ns() / _NS + ahead  # by the clock that dated the files
        wait = (current.newest_mtime_ns // _NS + 1) - now + SETTLE_MARGIN
        if walks == 3 or not 0 < wait <= SETTLE_LIMIT_SECONDS or context.cancel.wait(wait):
            break
    return files, current


def _emptied_since_the_sync(step: SnapshotStep, context: StepContext) -> str:
    """Snapshot B gets the preflight's check: folders that held files at snapshot A and are
    empty now, while the other side still holds theirs (so the sync did not empty them), have
    dropped out; a snapshot now would record all of it as deleted."""
    other = SERVER_HOME if step.place is DESKTOP_HOME else DESKTOP_HOME
    other_root = other.path(context.settings)
    with context.memory_lock:
        emptied = context.memory.emptied(step.place.name, step.source, step.ignore)
    dropped = [
        name
        for name in emptied
        if other_root is not None
        and places.has_content(other_root, [] if name == "." else [name], step.ignore)
    ]
    if not dropped:
        return ""
    where = step.source if dropped == ["."] else ", ".join(str(step.source / d) for d in dropped)
    return (
        f"the {step.place} is empty now ({where}), though it held files before the sync and the "
        f"{other} still does: it may have dropped out for a moment, so no snapshot was taken "
        "(it would record everything in it as deleted). The next backup looks again"
    )


def _deletions_held(step: SnapshotStep, current: manifest.Manifest, context: StepContext) -> str:
    """A place that is not synced (server data) gets the sync's hold on mass deletions in its
    snapshot, judged on its entries now against the repository's count at its newest one."""
    if step.place.synced or step.after_sync:
        return ""
    last = rdiff.newest_statistics(step.repository)
    if last is None or last.source_files <= current.count:
        return ""
    check = deletions.DeletionCheck(
        "server", last.source_files - current.count, last.source_files, what=str(step.place)
    )
    safety = context.settings.safety
    count = deletions.hold([check], safety, context.allowance)
    if not count:
        return ""
    with context.memory_lock:
        context.cycle.deletions_waiting += count
        waiting = context.cycle.deletions_waiting
    return deletions.asking([check], safety, waiting)


def _note_unreadable(
    step: SnapshotStep, errors: list[rdiff.FileError], context: StepContext
) -> None:
    """The cycle names them (report, notification); the log gets each one with its reason."""
    for error in errors:
        context.log.write(f"could not read ({step.place}): {error.path}: {error.reason}")
        name = f"{step.place}: {error.path}"
        if name not in context.cycle.unreadable:  # snapshot B may miss the same file again
            context.cycle.unreadable.append(name)


def target_gone(step: SnapshotStep) -> str:
    """Why the disk that receives this snapshot is not there any more ("" when it is): the
    drive must still carry its marker, the desktop backup's folder (or its parent) exist."""
    folder = step.repository.parent
    if step.place.target == EXTERNAL_DRIVE.name:
        if places.read_drive_marker(folder) is None:
            return f"the external drive ({folder}) is no longer connected"
    elif not folder.is_dir() and not folder.parent.is_dir():
        return f"the desktop backup ({folder}) is no longer reachable"
    return ""


def _remove_empty_folders(folder: Path) -> None:
    """rdiff-backup makes the folders it writes to as it goes, so a drive that vanished under
    it can leave its path behind as empty folders; where a drive mounts, that path must not
    stay taken. Only empty folders go: anything holding a file stays as it is."""
    if not folder.is_dir() or places.read_drive_marker(folder) is not None:
        return
    for parent, _folders, _files in os.walk(folder, topdown=False):
        with contextlib.suppress(OSError):
            Path(parent).rmdir()


def _mark(repository: Path) -> str:
    """The repository's newest snapshot: a replaced or rolled-back one never matches a manifest."""
    state = rdiff.inspect(repository)
    return (
        f"{state.last_snapshot:.0f}" if state.last_snapshot and not state.interrupted_backup else ""
    )


def _report_findings(
    step: SnapshotStep, files: FileCheck, current: manifest.Manifest, context: StepContext
) -> None:
    context.checks[step.place] = files
    context.walks[step.place] = current
    findings = files.findings()  # unreadable ones are named by the snapshot that misses them
    for finding in findings:
        context.warn(f"{step.place}: {finding}")
    with context.memory_lock:  # said once, not every cycle: Windows keeps them so on purpose
        if context.memory.first_time_told(step.place.name, files.links):
            context.memory.save()
            if files.links:
                context.cycle.notes.append(files.not_backed_up(step.place))
                context.log.write(f"NOTE: {files.not_backed_up(step.place)}")
                for link in files.links:
                    context.log.write(f"  not backed up: {link}")


def _refused_disk(step: SnapshotStep, context: StepContext) -> str:
    """A disk rdiff-backup would refuse (it stops with its own words and leaves its test
    folders and an unfinished repository behind, which the next cycle took for an interrupted
    first backup): said in ours before it runs, and nothing is written."""
    disk = step.repository.parent
    if step.target == EXTERNAL_DRIVE.name:
        return places.drive_refusal(disk, context.settings.external.name)
    return places.desktop_backup_refusal(disk)


def _remember(step: SnapshotStep, context: StepContext) -> None:
    """What the place held, for the checks against a place that empties."""
    with context.memory_lock:
        context.memory.remember_contents(step.place.name, step.source, step.folders, step.ignore)
        context.memory.save()
