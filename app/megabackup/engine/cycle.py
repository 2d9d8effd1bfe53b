"""Run one cycle synchronously: preflight, snapshot A, sync, snapshot B, report.

No threads, no UI: events go out through a callback, the result comes back. The CLI, the tray's
worker and the tests all run this same function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from megabackup.engine.results import (
    CANCELLED,
    FAILED,
    NOT_NEEDED,
    OK,
    SKIPPED,
    WARNING,
    ConflictResult,
    CycleResult,
    StepResult,
)
from megabackup.history import ConflictRow, History, StepRow
from megabackup.locations import AppPaths
from megabackup.plan import SnapshotStep, Step, SyncStep, plan_cycle
from megabackup.runlog import RunLog, prune_logs
from megabackup.safety import Preflight, preflight
from megabackup.settings import Settings
from megabackup.tools import unison as unison_tool
from megabackup.tools.rdiff import Rdiff
from megabackup.tools.runner import CancelToken, ProcessStartError, Runner
from megabackup.tools.unison import Unison


class CycleBusy(Exception):
    """Another cycle holds the lock (in this process or another one)."""


@dataclass(frozen=True)
class CycleEvent:
    kind: str  # started | step-started | step-finished | finished
    index: int = 0
    total: int = 0
    step_id: str = ""
    title: str = ""
    status: str = ""
    detail: str = ""


EventSink = Callable[[CycleEvent], None]


@dataclass
class CycleOptions:
    trigger: str = "manual"
    allow_empty: bool = False
    fastcheck: bool = True
    drive_roots: list[Path] | None = None
    bundled_unison: Path | None = None
    clock: Callable[[], float] = time.time


@dataclass
class _Context:
    settings: Settings
    rdiff: Rdiff | None
    unison: Unison | None
    unison_problem: str
    cancel: CancelToken
    log: RunLog
    options: CycleOptions
    results: dict[str, StepResult] = field(default_factory=dict)


def run_cycle(
    settings: Settings,
    paths: AppPaths,
    *,
    history: History | None = None,
    events: EventSink | None = None,
    cancel: CancelToken | None = None,
    options: CycleOptions | None = None,
) -> CycleResult:
    """Run one whole cycle; raises CycleBusy if another cycle is running."""
    options = options or CycleOptions()
    cancel = cancel or CancelToken()
    emit = events or (lambda event: None)
    paths.ensure()
    lock = filelock.FileLock(str(paths.cycle_lock))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise CycleBusy("another backup is already running") from None
    try:
        history = history or History(paths.history)
        history.mark_interrupted()  # safe: we hold the lock, so no run is really in progress
        return _run_locked(settings, paths, history, emit, cancel, options)
    finally:
        lock.release()


def _run_locked(
    settings: Settings,
    paths: AppPaths,
    history: History,
    emit: EventSink,
    cancel: CancelToken,
    options: CycleOptions,
) -> CycleResult:
    started = options.clock()
    log = RunLog(paths.logs, started)
    run_id = history.start_run(options.trigger, started, str(log.path))
    log.write(f"MegaBackup cycle {run_id} started ({options.trigger}); settings: {settings.source}")
    result = CycleResult(run_id, started, started, CANCELLED, [], log_path=log.path)
    try:
        check = preflight(
            settings,
            history,
            allow_empty=options.allow_empty,
            drive_roots=options.drive_roots,
            bundled_unison=options.bundled_unison,
        )
        steps = plan_cycle(settings, check.drive, check.drive_reason)
        emit(CycleEvent("started", total=len(steps)))
        for line in check.warnings:
            log.write(f"WARNING: {line}")
        result.warnings = list(check.warnings)
        if not check.ok:
            for line in check.fatal:
                log.write(f"STOPPED: {line}")
            result.problems = list(check.fatal)
            result.steps = [
                StepResult(s.id, s.title, SKIPPED, "the checks before the cycle failed")
                for s in steps
            ]
        else:
            context = _make_context(settings, paths, check, cancel, log, options)
            for index, step in enumerate(steps, start=1):
                emit(CycleEvent("step-started", index, len(steps), step.id, step.title))
                step_result = _run_step(step, context)
                context.results[step.id] = step_result
                result.steps.append(step_result)
                log.write(f"[{step_result.status}] {step.title}: {step_result.detail}".rstrip(": "))
                _record_step(history, run_id, index, step_result, log)
                emit(
                    CycleEvent(
                        "step-finished",
                        index,
                        len(steps),
                        step.id,
                        step.title,
                        step_result.status,
                        step_result.detail,
                    )
                )
        result.outcome = _outcome(result, cancel)
    except BaseException as exc:  # Ctrl+C, or a bug: the history must not say "running" forever
        result.outcome = CANCELLED if isinstance(exc, KeyboardInterrupt) else FAILED
        if not isinstance(exc, KeyboardInterrupt):
            result.problems.append(f"internal error: {exc!r}")
        log.write(f"STOPPED by {exc!r}")
        raise
    finally:
        result.finished = options.clock()
        history.finish_run(run_id, result.outcome, result.summary(), result.finished)
        log.write(f"Finished: {result.outcome}. {result.summary()}")
        log.close()
        prune_logs(paths.logs)
        emit(CycleEvent("finished", status=result.outcome, detail=result.summary()))
    return result


def _make_context(
    settings: Settings,
    paths: AppPaths,
    check: Preflight,
    cancel: CancelToken,
    log: RunLog,
    options: CycleOptions,
) -> _Context:
    runner = Runner(log=log.write)
    sync_tool = Unison(runner, check.unison_program, paths.unison) if check.unison_program else None
    return _Context(
        settings=settings,
        rdiff=Rdiff(runner, check.rdiff_prefix, clock=options.clock),
        unison=sync_tool,
        unison_problem=check.unison_problem,
        cancel=cancel,
        log=log,
        options=options,
    )


def _run_step(step: Step, context: _Context) -> StepResult:
    started = time.time()
    if context.cancel.cancelled:
        result = StepResult(step.id, step.title, CANCELLED, "cancelled before it started")
    elif isinstance(step, SnapshotStep):
        result = _snapshot(step, context)
    else:
        result = _sync(step, context)
    result.started = started
    result.finished = time.time()
    return result


def _snapshot(step: SnapshotStep, context: _Context) -> StepResult:
    if step.unavailable:
        return StepResult(step.id, step.title, SKIPPED, step.unavailable)
    if step.after_sync:
        sync = context.results.get("sync-home")
        if sync is None or not sync.succeeded:
            return StepResult(step.id, step.title, NOT_NEEDED, "the sync did not run")
        changed = sync.to_desktop if step.place == "desktop home" else sync.to_server
        if not changed:
            return StepResult(step.id, step.title, NOT_NEEDED, "the sync changed nothing here")
    assert context.rdiff is not None
    try:
        outcome = context.rdiff.backup(
            step.source, step.repository, step.folders, step.ignore, cancel=context.cancel
        )
    except ProcessStartError as exc:
        return StepResult(step.id, step.title, FAILED, str(exc))
    stats = outcome.statistics
    status = {"ok": OK, "repaired": OK, "file-errors": WARNING, "cancelled": CANCELLED}.get(
        outcome.status, FAILED
    )
    detail = outcome.message
    if status in (OK, WARNING) and stats is not None:
        counts = (
            f"{stats.new_files} new, {stats.changed_files} changed, {stats.deleted_files} deleted"
        )
        detail = counts + (f"; {detail}" if detail else "")
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


def _sync(step: SyncStep, context: _Context) -> StepResult:
    missing = [r for r in step.requires if not context.results.get(r, _NOT_RUN).succeeded]
    if missing:
        why = "; ".join(_why_not(context.results.get(r), r) for r in missing)
        return StepResult(
            step.id,
            step.title,
            SKIPPED,
            f"not synced, because {why} (nothing is synced without both)",
        )
    if context.unison is None:
        return StepResult(step.id, step.title, FAILED, context.unison_problem)
    try:
        outcome = context.unison.sync(
            step.desktop,
            step.server,
            step.folders,
            step.ignore,
            keep_both=step.keep_both,
            fastcheck=context.options.fastcheck,
            cancel=context.cancel,
        )
    except ProcessStartError as exc:
        return StepResult(step.id, step.title, FAILED, str(exc))
    report = outcome.report
    conflicts = [
        ConflictResult(c.path, c.resolution, c.detail, _copies_of(c.path, step))
        for c in report.conflicts
    ]
    status = {"ok": OK, "conflicts": WARNING, "partial": WARNING, "cancelled": CANCELLED}.get(
        outcome.status, FAILED
    )
    detail = (
        f"{report.to_server} to server, {report.to_desktop} to desktop, "
        f"{report.deleted_on_server + report.deleted_on_desktop} deleted"
    )
    if conflicts:
        detail += f"; {len(conflicts)} conflict(s): " + ", ".join(c.path for c in conflicts[:3])
    if outcome.message and status != OK:
        detail = (
            outcome.message if status in (FAILED, CANCELLED) else f"{detail}; {outcome.message}"
        )
    return StepResult(
        step.id,
        step.title,
        status,
        detail,
        to_desktop=report.to_desktop + report.deleted_on_desktop,
        to_server=report.to_server + report.deleted_on_server,
        deleted_files=report.deleted_on_server + report.deleted_on_desktop,
        conflicts=conflicts,
    )


_NOT_RUN = StepResult("", "", SKIPPED)


def _why_not(result: StepResult | None, step_id: str) -> str:
    if result is None:
        return f"{step_id} did not run"
    return (
        f"the {result.title} {'was ' + result.status if result.status != FAILED else 'failed'}"
        + (f" ({result.detail})" if result.detail else "")
    )


def _copies_of(relative: str, step: SyncStep) -> tuple[str, ...]:
    """Conflict copies unison kept, on either side, for one conflicting path."""
    parent, _, name = relative.rpartition("/")
    found: list[Path] = []
    for root in (step.desktop, step.server):
        found += unison_tool.conflict_copies(root / parent if parent else root, name)
    return tuple(str(p) for p in found)


def _record_step(history: History, run_id: int, index: int, step: StepResult, log: RunLog) -> None:
    history.record_step(
        StepRow(
            run_id,
            index,
            step.id,
            step.title,
            step.status,
            step.detail,
            step.new_files,
            step.changed_files,
            step.deleted_files,
            step.errors,
            step.source_files,
            step.started,
            step.finished,
        )
    )
    if step.conflicts:
        history.record_conflicts(
            [ConflictRow(run_id, c.path, c.resolution, c.detail, c.copies) for c in step.conflicts]
        )


def _outcome(result: CycleResult, cancel: CancelToken) -> str:
    statuses = {s.status for s in result.steps}
    if result.problems or FAILED in statuses:
        return FAILED
    if cancel.cancelled or CANCELLED in statuses:
        return CANCELLED
    if WARNING in statuses or SKIPPED in statuses or result.conflicts:
        return WARNING
    return OK
