"""Run one cycle synchronously: preflight, snapshot A, sync, snapshot B, report.

No threads, no UI: events go out through a callback, the result comes back. The CLI, the tray's
worker and the tests all run this same function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import filelock

from megabackup import places
from megabackup.engine.context import CycleOptions, StepContext
from megabackup.engine.maintenance import run_maintenance
from megabackup.engine.results import (
    CANCELLED,
    FAILED,
    HELD,
    OK,
    SKIPPED,
    WARNING,
    CycleResult,
    StepResult,
)
from megabackup.engine.snapshot import run_snapshot
from megabackup.engine.sync import run_sync
from megabackup.history import ConflictRow, History, StepRow
from megabackup.locations import AppPaths
from megabackup.plan import SnapshotStep, Step, plan_cycle
from megabackup.runlog import RunLog, prune_logs
from megabackup.safety import Preflight, preflight, server_places
from megabackup.settings import Settings
from megabackup.tools.rdiff import Rdiff
from megabackup.tools.runner import CancelToken, Runner
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
    memory = places.PlaceMemory.load(paths.places)
    try:
        check = preflight(
            settings,
            history,
            memory,
            allow_empty=options.allow_empty,
            new_place=options.new_place,
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
            _mark_server_places(settings, memory, log, renew=options.new_place)
            context = _make_context(settings, paths, check, cancel, log, options, memory, result)
            for index, step in enumerate(steps, start=1):
                emit(CycleEvent("step-started", index, len(steps), step.id, step.title))
                step_result = _run_step(step, context)
                context.results[step.id] = step_result
                result.steps.append(step_result)
                log.write(f"[{step_result.status}] {step.title}: {step_result.detail}".rstrip(": "))
                _record_step(history, run_id, index, step_result)
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
            if not cancel.cancelled:
                _maintain(settings, paths, check, context, result)
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
    memory: places.PlaceMemory,
    cycle: CycleResult,
) -> StepContext:
    runner = Runner(log=log.write)
    sync_tool = Unison(runner, check.unison_program, paths.unison) if check.unison_program else None
    return StepContext(
        settings=settings,
        rdiff=Rdiff(runner, check.rdiff_prefix, clock=options.clock),
        unison=sync_tool,
        unison_problem=check.unison_problem,
        cancel=cancel,
        log=log,
        options=options,
        memory=memory,
        cycle=cycle,
    )


def _mark_server_places(
    settings: Settings, memory: places.PlaceMemory, log: RunLog, renew: bool
) -> None:
    """Give each server folder its marker once, so a later empty mount point is recognised."""
    for place, path in server_places(settings).items():
        if memory.markers.get(place) and not renew:
            continue
        try:
            memory.markers[place] = places.write_place_marker(path, place)
        except OSError as exc:
            log.write(f"WARNING: could not mark the {place} {path}: {exc}")
    memory.save()


def _maintain(
    settings: Settings,
    paths: AppPaths,
    check: Preflight,
    context: StepContext,
    result: CycleResult,
) -> None:
    done = run_maintenance(
        settings,
        paths,
        check.drive,
        context.rdiff.runner,
        check.rdiff_prefix,
        context.options.clock,
        context.cancel,
        context.log,
    )
    result.notes += done.notes
    result.damaged += done.damaged
    for line in done.warnings + [f"damaged backup: {d}" for d in done.damaged]:
        context.warn(line)


def _run_step(step: Step, context: StepContext) -> StepResult:
    started = time.time()
    if context.cancel.cancelled:
        result = StepResult(step.id, step.title, CANCELLED, "cancelled before it started")
    elif isinstance(step, SnapshotStep):
        result = run_snapshot(step, context)
    else:
        result = run_sync(step, context)
    result.started = started
    result.finished = time.time()
    return result


def _record_step(history: History, run_id: int, index: int, step: StepResult) -> None:
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
    if statuses & {WARNING, SKIPPED, HELD} or result.conflicts or result.warnings:
        return WARNING
    return OK
