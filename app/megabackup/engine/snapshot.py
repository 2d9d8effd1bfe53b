"""One snapshot step: one stat walk of the source, then rdiff-backup unless nothing changed.

The walk both checks the files (impossible dates, names Windows cannot store) and proves, against
the manifest saved at the last good snapshot of this repository, that nothing rdiff-backup looks
at has changed; then the snapshot is skipped. Any doubt runs rdiff-backup as usual.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from megabackup.engine import manifest
from megabackup.engine.context import StepContext
from megabackup.engine.filecheck import FileCheck, check_tree
from megabackup.engine.plan import SYNC_HOME, SnapshotStep
from megabackup.engine.results import StepResult
from megabackup.files import spelled_on_disk
from megabackup.outcome import Outcome
from megabackup.places import DESKTOP_HOME
from megabackup.tools import rdiff
from megabackup.tools.runner import ProcessStartError
from megabackup.words import size_text


def run_snapshot(step: SnapshotStep, context: StepContext) -> StepResult:
    if step.unavailable:  # a place it needs is away: it waits for it, the rest goes on
        return StepResult(step.id, step.title, Outcome.AWAY, step.unavailable)
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
    limit = context.settings.safety.max_clock_skew_seconds
    files, current = check_tree(
        step.source, step.folders, step.ignore, context.options.clock(), limit
    )
    if not step.after_sync:
        _report_findings(step, files, current, context)
    saved_at = context.manifests / f"{step.place.name.replace(' ', '-')}.json"
    mark = _mark(step.repository)
    if (
        context.options.skip_unchanged
        and not step.after_sync
        and manifest.unchanged(current.with_mark(mark), manifest.load(saved_at))
    ):
        _remember(step, 0, context)
        return StepResult(
            step.id,
            step.title,
            Outcome.OK,
            "nothing changed since the last snapshot, so none was needed",
            source_files=current.count,
        )
    no_room = _room_for_first_snapshot(step, files)
    if no_room:
        return StepResult(step.id, step.title, Outcome.FAILED, no_room)
    try:
        outcome = context.rdiff.backup(
            step.source, step.repository, step.folders, step.ignore, cancel=context.cancel
        )
    except ProcessStartError as exc:
        return StepResult(step.id, step.title, Outcome.FAILED, str(exc))
    stats = outcome.statistics
    status = outcome.status.outcome
    detail = outcome.message
    if outcome.disk_full:
        rolled_back = context.rdiff.recover_full_disk(step.repository)
        detail = _disk_full(step, files, rolled_back)
    if status in (Outcome.OK, Outcome.WARNING) and stats is not None:
        counts = (
            f"{stats.new_files} new, {stats.changed_files} changed, {stats.deleted_files} deleted"
        )
        detail = counts + (f"; {detail}" if detail else "")
        if not step.after_sync:
            _remember(step, stats.deleted_files, context)
        if (
            status == Outcome.OK and not stats.errors
        ):  # only a complete snapshot may vouch for the tree
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
    findings = files.findings()
    if current.errors:
        findings.append(f"{current.errors} file(s) or folder(s) could not be read")
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


def _room_for_first_snapshot(step: SnapshotStep, files: FileCheck) -> str:
    """A first snapshot that cannot fit fails before it writes anything."""
    if rdiff.inspect(step.repository).exists:
        return ""
    free = free_bytes(step.repository)
    if free is None or free >= files.total_bytes * 1.05:
        return ""
    return (
        f"the {step.target} has {size_text(free)} free, but the first snapshot of the "
        f"{step.place} needs about {size_text(files.total_bytes)}; nothing was written. "
        "Make room or use a bigger disk"
    )


def _disk_full(step: SnapshotStep, files: FileCheck, rolled_back: bool) -> str:
    free = free_bytes(step.repository) or 0
    undone = (
        "the unfinished snapshot was rolled back"
        if rolled_back
        else "the next backup rolls the unfinished one back"
    )
    return (
        f"the {step.target} ({step.repository}) is full ({size_text(free)} free after "
        f"cleaning up); the {step.place} holds {size_text(files.total_bytes)} in all. "
        f"The earlier snapshots are intact; {undone}. Make room on the disk"
    )


def _remember(step: SnapshotStep, deleted: int, context: StepContext) -> None:
    """What the place held, and the deletions that the next sync would pass on."""
    with context.memory_lock:
        memory = context.memory
        memory.remember_contents(step.place.name, step.source, step.folders, step.ignore)
        if step.place.synced:
            pending = memory.pending_deletions.get(step.place.name, 0)
            memory.pending_deletions[step.place.name] = pending + deleted
        memory.save()


def free_bytes(path: Path) -> int | None:
    folder = path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None
