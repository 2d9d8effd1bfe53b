"""The sync step and its gates: both snapshots of this cycle, the clock probe, mass deletions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from megabackup.engine.context import StepContext
from megabackup.engine.plan import SyncStep
from megabackup.engine.preflight import DeletionCheck, probe_clock
from megabackup.engine.results import StepResult
from megabackup.files import spelled_on_disk
from megabackup.history import ConflictRecord
from megabackup.outcome import Outcome
from megabackup.places import SYNCED
from megabackup.tools import unison
from megabackup.tools.runner import ProcessStartError


def run_sync(step: SyncStep, context: StepContext) -> StepResult:
    blocked = _why_blocked(step, context)
    if blocked is not None:
        return blocked
    assert context.unison is not None
    try:
        job = dataclasses.replace(
            step.job,
            fastcheck=context.options.fastcheck,
            emptied_on_purpose=context.options.allow_empty,
            leave_out=_not_snapshotted(context),
            folders=tuple(_spelled(step, f) for f in step.job.folders),
        )
        outcome = context.unison.sync(job, cancel=context.cancel)
    except ProcessStartError as exc:
        return StepResult(step.id, step.title, Outcome.FAILED, str(exc))
    report = outcome.report
    status = outcome.status.outcome
    if status.good:  # it ran to the end (conflicts and failed transfers are warnings)
        for place in SYNCED:  # the deletions are passed on; count afresh from here
            context.memory.pending_deletions[place.name] = 0
        context.memory.save()
    conflicts = [
        ConflictRecord(c.path, c.resolution, _conflict_detail(c, context), _copies_of(c.path, step))
        for c in report.conflicts
    ]
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
    limit = context.settings.safety.max_clock_skew_seconds
    clock = probe_clock(step.job.server, limit, context.options.clock)
    if not clock.ok:
        context.warn(f"clock check: {clock.explain()}")
        return StepResult(
            step.id, step.title, Outcome.SKIPPED, "not synced, because " + clock.explain()
        )
    held = _too_many_deletions(context)
    if held:
        return StepResult(step.id, step.title, Outcome.HELD, held)
    return None


def _succeeded(context: StepContext, step_id: str) -> bool:
    result = context.results.get(step_id)
    return result is not None and result.succeeded


def _why_not(result: StepResult | None, step_id: str) -> str:
    if result is None:
        return f"{step_id} did not run"
    state = "failed" if result.status == Outcome.FAILED else f"was {result.status}"
    return f"the {result.title} {state}" + (f" ({result.detail})" if result.detail else "")


def _too_many_deletions(context: StepContext) -> str:
    """Why the sync waits for the person's OK, or "" when it may go ahead."""
    safety = context.settings.safety
    waiting = []
    for place in SYNCED:
        deleted = context.memory.pending_deletions.get(place.name, 0)
        snapshot = context.results.get(place.snapshot_steps[0])
        remaining = snapshot.source_files if snapshot else 0
        check = DeletionCheck(place.side, deleted, remaining + deleted)
        if check.too_many(safety.max_deletions, safety.max_deletions_percent):
            waiting.append(check)
    if not waiting:
        return ""
    if context.options.allow_deletions:
        for check in waiting:
            context.log.write(f"allowed by the person: {check.explain()}")
        return ""
    context.cycle.deletions_waiting = sum(c.deleted for c in waiting)
    reasons = "; ".join(c.explain() for c in waiting)
    return (
        f"waiting for your OK: {reasons}. If that was you, run: megabackup run --allow-deletions "
        f'(or choose "Allow {context.cycle.deletions_waiting} deletions and sync" in the tray)'
    )


def _conflict_detail(conflict: unison.Conflict, context: StepContext) -> str:
    """Say so when one side of a conflict carries an impossible date that may have won it."""
    for place in SYNCED:
        files = context.checks.get(place)
        if files is not None and conflict.path in files.future:
            return (
                f"{conflict.detail}; the {place} copy is dated in the future, check which is right"
            )
    return conflict.detail


def _copies_of(relative: str, step: SyncStep) -> tuple[str, ...]:
    """Conflict copies unison kept, on either side, for one conflicting path."""
    parent, _, name = relative.rpartition("/")
    found: list[Path] = []
    for root in (step.job.desktop, step.job.server):
        found += unison.conflict_copies(root / parent if parent else root, name)
    return tuple(str(p) for p in found)
