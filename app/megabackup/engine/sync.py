"""The sync step and its gates: both snapshots of this cycle, the clock probe, mass deletions;
and no sync at all when both homes are still as a sync that changed nothing found them."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from megabackup.engine import deletions, in_step, manifest
from megabackup.engine.context import StepContext
from megabackup.engine.plan import SyncStep
from megabackup.engine.results import StepResult
from megabackup.files import find_shown, spelled_on_disk
from megabackup.history import ConflictRecord
from megabackup.outcome import Outcome, Resolution
from megabackup.places import DESKTOP_HOME, SERVER_HOME, SYNCED
from megabackup.tools import unison
from megabackup.tools.runner import ProcessStartError
from megabackup.tools.unison import COPY_MARK, LONGEST_NAME
from megabackup.words import shown


def run_sync(step: SyncStep, context: StepContext) -> StepResult:
    blocked = _why_blocked(step, context)
    if blocked is not None:
        return blocked
    assert context.unison is not None
    try:
        folders = tuple(_spelled(step, f) for f in step.job.folders)
        job = dataclasses.replace(
            step.job,
            fastcheck=context.options.fastcheck,
            emptied_on_purpose=context.options.allow_empty,
            leave_out=_not_snapshotted(context),
            folders=folders,
            mountpoints=() if context.options.allow_empty else _on_both_sides(folders, context),
        )
        outcome = _sync_until_times_are_kept(job, context)
    except ProcessStartError as exc:
        return StepResult(step.id, step.title, Outcome.FAILED, str(exc))
    report = outcome.report
    status = outcome.status.outcome
    if status.good:  # it ran to the end (conflicts and failed transfers are warnings)
        _record_synced(step, context, changed_desktop=report.changed_desktop)
    _keep_proof(step, context, outcome)
    conflicts = [_conflict_record(c, report, step, context) for c in report.conflicts]
    deleted = report.deleted_on_server + report.deleted_on_desktop
    detail = f"{report.to_server} to server, {report.to_desktop} to desktop, {deleted} deleted"
    if conflicts:
        detail += f"; {len(conflicts)} conflict(s): " + ", ".join(c.path for c in conflicts[:3])
    if "emptied" in outcome.message:
        outcome.message += ". If you emptied it on purpose, run: megabackup run --allow-empty"
    if outcome.message and status != Outcome.OK:
        detail = (
            outcome.message
            if status in (Outcome.FAILED, Outcome.CANCELLED)
            else f"{detail}; {outcome.message}"
        )
    return StepResult(
        step.id,
        step.title,
        status,
        detail,
        to_desktop=report.to_desktop + report.deleted_on_desktop,
        to_server=report.to_server + report.deleted_on_server,
        deleted_files=deleted,
        conflicts=conflicts,
    )


SYNC_TRIES = 4  # a first sync of thousands of files to a share can need a few


def _sync_until_times_are_kept(job: unison.SyncJob, context: StepContext) -> unison.SyncOutcome:
    """Run the sync again at once while its only failures are times the target did not keep
    (seen on a Samba share through smbnetfs: the copy is whole, the share stamped it with the
    time of the copy) and each run gets further: redoing those copies from the same sources
    risks nothing, and the person is not left with a half-synced share until the next cycle.
    Any other failure waits for the next cycle and its fresh snapshots."""
    assert context.unison is not None
    outcome = context.unison.sync(job, cancel=context.cancel)
    for _ in range(SYNC_TRIES - 1):
        report = outcome.report
        if outcome.status != unison.SyncStatus.PARTIAL or not report.only_times_not_kept:
            break
        context.log.write(
            f"NOTE: {len(report.failed)} item(s) kept the wrong modification time on arrival "
            f"({', '.join(report.failed[:3])}); syncing them again"
        )
        again = context.unison.sync(job, cancel=context.cancel)
        progressed = again.report.to_desktop + again.report.to_server > 0
        outcome = dataclasses.replace(again, report=report.then(again.report))
        if not progressed:
            break
    return outcome


def _spelled(step: SyncStep, folder: str) -> str:
    """A listed folder as the disk spells it, the desktop's first (unison's paths compare
    exactly, as the snapshots' selection does)."""
    on_desktop = spelled_on_disk(step.job.desktop, folder)
    return on_desktop if on_desktop != folder else spelled_on_disk(step.job.server, folder)


def _not_snapshotted(context: StepContext) -> tuple[str, ...]:
    """What the snapshots of either side left out (Windows' links and placeholders): a sync
    must never overwrite or delete what no snapshot holds (promise 1)."""
    found: set[str] = set()
    for place in SYNCED:
        files = context.checks.get(place)
        if files is not None:
            found.update(files.links)
    return tuple(sorted(found))


def _why_blocked(step: SyncStep, context: StepContext) -> StepResult | None:
    """The gates, in order; a StepResult saying why the sync does not run, or None."""
    if step.unavailable:
        return StepResult(step.id, step.title, Outcome.SKIPPED, step.unavailable)
    missing = [r for r in step.requires if not _succeeded(context, r)]
    if missing:
        results = [context.results.get(r) for r in missing]
        if all(r is not None and r.status == Outcome.AWAY for r in results):
            why = "; ".join(r.detail for r in results if r is not None)
            detail = f"not synced, because {why} (it waits for both snapshots)"
            return StepResult(step.id, step.title, Outcome.AWAY, detail)
        why = "; ".join(_why_not(context.results.get(r), r) for r in missing)
        detail = f"not synced, because {why} (nothing is synced without both)"
        return StepResult(step.id, step.title, Outcome.SKIPPED, detail)
    if context.unison is None:
        return StepResult(step.id, step.title, Outcome.FAILED, context.unison_problem)
    clocks = context.clock_verdict.sync_blocked  # asked before the snapshots (engine/clocks.py)
    if clocks:
        return StepResult(step.id, step.title, Outcome.SKIPPED, "not synced, because " + clocks)
    if _in_step(step, context):
        detail = "neither home changed since the last sync found them alike, so none was needed"
        return StepResult(step.id, step.title, Outcome.OK, detail)
    held = _too_many_deletions(step, context)
    if held:
        return StepResult(step.id, step.title, Outcome.HELD, held)
    return None


def _in_step(step: SyncStep, context: StepContext) -> bool:
    """Both homes' walks of this cycle prove them as the last sync that changed nothing left
    them (engine/in_step.py); never on the cycle that compares contents."""
    options = context.options
    walks = [context.walks.get(place) for place in (DESKTOP_HOME, SERVER_HOME)]
    if not (options.skip_unchanged and options.fastcheck) or None in walks:
        return False
    desktop, server = walks
    assert desktop is not None and server is not None
    doubt = manifest.DOUBT_SECONDS + context.settings.safety.max_clock_skew_seconds
    key = deletions.sync_key(step.job)
    return in_step.still_in_step(
        context.manifests, key, desktop, server, server_doubt_seconds=doubt
    )


def _keep_proof(step: SyncStep, context: StepContext, outcome: unison.SyncOutcome) -> None:
    """A sync that ran to the end and changed nothing found the homes alike as this cycle's
    walks saw them before it: those walks become the proof. Anything else forgets it."""
    report = outcome.report
    alike = (
        outcome.status == unison.SyncStatus.OK
        and (report.complete or report.nothing_to_do)
        and not (report.changed_desktop or report.changed_server or report.conflicts)
        and not (report.failed or report.skipped or report.unreadable or report.partial)
        and not (report.case_clashes or report.not_unicode)
    )
    desktop, server = (context.walks.get(place) for place in (DESKTOP_HOME, SERVER_HOME))
    if alike and desktop is not None and server is not None:
        in_step.save(context.manifests, deletions.sync_key(step.job), desktop, server)
    else:
        in_step.forget(context.manifests)


def _succeeded(context: StepContext, step_id: str) -> bool:
    result = context.results.get(step_id)
    return result is not None and result.succeeded


def _why_not(result: StepResult | None, step_id: str) -> str:
    if result is None:
        return f"{step_id} did not run"
    state = "failed" if result.status == Outcome.FAILED else f"was {result.status}"
    return f"the {result.title} {state}" + (f" ({result.detail})" if result.detail else "")


def _on_both_sides(folders: tuple[str, ...], context: StepContext) -> tuple[str, ...]:
    """The listed folders both homes held when this cycle's snapshots walked them: one gone
    since has dropped out (a deletion on purpose is stopped by the preflight's emptiness check
    unless the person allowed it). One on a single side is new, and is synced as such."""
    seen = [context.checks[place].paths for place in (DESKTOP_HOME, SERVER_HOME)]
    return tuple(f for f in folders if all(f in paths for paths in seen))


def _too_many_deletions(step: SyncStep, context: StepContext) -> str:
    """Why the sync waits for the person's OK, or "" when it may go ahead: judged on what it
    would delete now, against the paths the last good sync left on both sides."""
    synced = deletions.load_synced(context.manifests, deletions.sync_key(step.job))
    desktop, server = (context.checks[place].paths for place in (DESKTOP_HOME, SERVER_HOME))
    checks = deletions.sync_deletions(synced, desktop, server, step.job.folders)
    safety = context.settings.safety
    count = deletions.hold(checks, safety, context.allowance)
    if not count:
        for check in deletions.waiting(checks, safety):
            context.log.write(f"allowed by the person: {check.explain()}")
        return ""
    context.cycle.deletions_waiting += count
    return deletions.asking(checks, safety, context.cycle.deletions_waiting)


def _record_synced(step: SyncStep, context: StepContext, *, changed_desktop: bool) -> None:
    """What both homes hold now, for the next cycle's count of deletions. A sync that changed
    nothing on the desktop left it as its snapshot's walk saw it; otherwise walk it again."""
    job = step.job
    if changed_desktop:
        paths = set(manifest.paths(job.desktop, job.folders, job.ignore)) - {"."}
    else:
        paths = context.checks[DESKTOP_HOME].paths
    deletions.save_synced(context.manifests, deletions.sync_key(job), paths)


def _conflict_detail(conflict: unison.Conflict, context: StepContext) -> str:
    """Say so when one side of a conflict carries an impossible date that may have won it."""
    for place in SYNCED:
        files = context.checks.get(place)
        if files is not None and conflict.path in files.future:
            return (
                f"{conflict.detail}; the {place} copy is dated in the future, check which is right"
            )
    return conflict.detail


def _conflict_record(
    conflict: unison.Conflict, report: unison.SyncReport, step: SyncStep, context: StepContext
) -> ConflictRecord:
    """What the person is told and what status keeps open: the name as it is on the disk (a
    newline, bytes that are not UTF-8), the copies really made, and a conflict unison could not
    settle (a name too long for a copy beside it) as left alone, not as kept twice."""
    relative = _on_disk(conflict, step) or conflict.path
    detail = _conflict_detail(conflict, context)
    resolution = conflict.resolution
    copies = _copies_of(relative, step)
    if conflict.path in report.failed:
        resolution = Resolution.SKIPPED
        detail = "it could not be settled, so both versions are left as they were" + (
            " (the name is too long for a conflict copy beside it)"
            if len(os.fsencode(relative.rpartition("/")[2])) > LONGEST_NAME - len(COPY_MARK)
            else "; see the log"
        )
    elif resolution == Resolution.KEPT_BOTH and not copies:
        detail += "; no conflict copy was found beside it, so look at both sides"
    return ConflictRecord(shown(relative), resolution, detail, tuple(shown(str(c)) for c in copies))


def _on_disk(conflict: unison.Conflict, step: SyncStep) -> str | None:
    """The conflicting path as it is on either side: unison prints a newline in a name as a
    line break, and the runner reads bytes that are not UTF-8 as replacement characters."""
    candidates = [conflict.path]
    candidates += ["\n".join([conflict.path, *conflict.rest[:n]]) for n in range(1, 4)]
    for candidate in candidates:
        for root in (step.job.desktop, step.job.server):
            found = find_shown(root, candidate)
            if found is not None:
                return found.relative_to(root).as_posix()
    return None


def _copies_of(relative: str, step: SyncStep) -> list[Path]:
    """Conflict copies unison kept, on either side, for one conflicting path."""
    parent, _, name = relative.rpartition("/")
    found: list[Path] = []
    for root in (step.job.desktop, step.job.server):
        found += unison.conflict_copies(root / parent if parent else root, name)
    return found
