"""Run one cycle synchronously: preflight, snapshot A, sync, snapshot B, report.

The caller's thread waits for the result; events go out through a callback. Snapshot A runs
its lanes (one per backup disk) side by side on a small thread pool; everything after it runs in
order. The CLI, the tray's worker and the tests all run this same function.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import filelock

from megabackup import places, power
from megabackup.engine import clocks, links, retention
from megabackup.engine.context import CycleOptions, StepContext
from megabackup.engine.deletions import Allowance
from megabackup.engine.maintenance import run_maintenance
from megabackup.engine.plan import SYNC_HOME, SnapshotStep, Step, plan_cycle
from megabackup.engine.preflight import Preflight, preflight
from megabackup.engine.results import CycleResult, StepResult
from megabackup.engine.snapshot import run_snapshot
from megabackup.engine.sync import run_sync
from megabackup.errors import MegaBackupError
from megabackup.files import due, read_stamp, write_stamp
from megabackup.history import History
from megabackup.locations import AppPaths
from megabackup.outcome import Outcome
from megabackup.runlog import RunLog, prune_logs
from megabackup.settings import Settings
from megabackup.tools.rdiff import Rdiff
from megabackup.tools.runner import CancelToken, Runner
from megabackup.tools.unison import Unison

FULL_CHECK_STAMP = "full-check"


class CycleBusy(MegaBackupError):
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
    with cycle_lock(paths, "another backup is already running"), power.kept_awake():
        started_afresh = ""
        if history is None:  # a damaged history must not stop the backups: one note, then on
            history, started_afresh = History.open_or_start_afresh(paths.history, options.clock())
        history.mark_interrupted()  # safe: we hold the lock, so no run is really in progress
        return _run_locked(settings, paths, history, emit, cancel, options, started_afresh)


@contextlib.contextmanager
def cycle_lock(paths: AppPaths, busy: str) -> Iterator[None]:
    """The one lock that keeps cycles (and whole-repository work) apart, across processes;
    CycleBusy(busy) at once when another holds it."""
    paths.root.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(paths.cycle_lock))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise CycleBusy(busy) from None
    try:
        yield
    finally:
        lock.release()


def _run_locked(
    settings: Settings,
    paths: AppPaths,
    history: History,
    emit: EventSink,
    cancel: CancelToken,
    options: CycleOptions,
    history_note: str = "",
) -> CycleResult:
    started = options.clock()
    log = RunLog(paths.logs, started)
    run_id = history.start_run(options.trigger, started, str(log.path))
    log.write(f"MegaBackup cycle {run_id} started ({options.trigger}); settings: {settings.source}")
    result = CycleResult(run_id, started, started, Outcome.CANCELLED, [], log_path=log.path)
    if history_note:
        result.warnings.append(history_note)
        log.write(f"WARNING: {history_note}")
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
        steps = plan_cycle(settings, check.drive, check.away, unsynced=links.unsynced(check.linked))
        emit(CycleEvent("started", total=len(steps)))
        for line in check.warnings:
            log.write(f"WARNING: {line}")
        result.warnings += check.warnings
        for place, why in check.away.items():
            log.write(f"AWAY: {why}; what needs the {place} waits for it")
        result.away = dict(check.away)
        history.record_away(run_id, check.away)
        if not check.ok:
            for line in check.fatal:
                log.write(f"STOPPED: {line}")
            result.problems = list(check.fatal)
            result.steps = [
                StepResult(s.id, s.title, Outcome.SKIPPED, "the checks before the cycle failed")
                for s in steps
            ]
        else:
            _mark_server_places(settings, memory, log, check.away, renew=options.new_place)
            context = _make_context(settings, paths, check, cancel, log, options, memory, result)
            full_check = _full_check_due(settings, paths, options)
            if full_check:
                context.options = dataclasses.replace(options, fastcheck=False)
            context.clock_verdict = clocks.judge(
                None if places.SERVER_HOME.name in check.away else settings.server.home,
                settings.safety.max_clock_skew_seconds,
                paths.root,
                retention.repositories(settings, check.drive),
                options.clock,
            )
            if context.clock_verdict.doubt:
                context.warn(f"clock check: {context.clock_verdict.doubt}")
            runner = _StepRunner(context, history, run_id, len(steps), emit)
            numbered = list(enumerate(steps, start=1))
            first_round = [(i, s) for i, s in numbered if _first_round(s)]
            runner.run_lanes(_lanes(first_round))
            for index, step in numbered:
                if not _first_round(step):
                    runner.run(index, step)
            result.steps = [context.results[step.id] for step in steps]
            sync = result.step(SYNC_HOME)
            if full_check and sync is not None and sync.succeeded:
                write_stamp(paths.root, FULL_CHECK_STAMP, options.clock())
            if not cancel.cancelled:
                _maintain(settings, paths, check, context, result)
        result.outcome = _outcome(result, cancel)
    except BaseException as exc:  # Ctrl+C, or a bug: the history must not say "running" forever
        cancel.cancel()  # snapshots still running side by side stop too
        result.outcome = Outcome.CANCELLED if isinstance(exc, KeyboardInterrupt) else Outcome.FAILED
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
        manifests=paths.manifests,
        settings=settings,
        rdiff=Rdiff(runner, check.rdiff_prefix, options.clock, options.lock_wait_seconds),
        unison=sync_tool,
        unison_problem=check.unison_problem,
        cancel=cancel,
        log=log,
        options=options,
        memory=memory,
        cycle=cycle,
        allowance=Allowance(options.allow_deletions, options.allowed_deletions),
    )


def _mark_server_places(
    settings: Settings,
    memory: places.PlaceMemory,
    log: RunLog,
    away: dict[str, str],
    renew: bool,
) -> None:
    """Give each server folder its marker once, so a later empty mount point is recognised;
    and the server home its clock folder before its first snapshot, which then never sees the
    server home's time change for it."""
    for place in places.sources(settings):
        path = place.path(settings)
        if place.side != places.SERVER or path is None or place.name in away:
            continue
        if memory.markers.get(place.name) and not renew:
            continue
        try:
            memory.markers[place.name] = places.write_place_marker(path, place.name)
            if place.synced:
                (path / places.CLOCK_FOLDER).mkdir(exist_ok=True)
        except OSError as exc:
            log.write(f"WARNING: could not mark the {place} {path}: {exc}")
    memory.save()


class _StepRunner:
    """Runs steps (from any lane thread), records each one, and reports it as it goes."""

    def __init__(
        self, context: StepContext, history: History, run_id: int, total: int, emit: EventSink
    ) -> None:
        self.context, self.history, self.run_id = context, history, run_id
        self.total, self.emit = total, emit

    def run(self, index: int, step: Step, context: StepContext | None = None) -> None:
        context = context or self.context
        self.emit(CycleEvent("step-started", index, self.total, step.id, step.title))
        result = _run_step(step, context)
        self.context.results[step.id] = result
        context.log.write(f"[{result.status}] {step.title}: {result.detail}".rstrip(": "))
        _record_step(self.history, self.run_id, index, result)
        self.emit(
            CycleEvent(
                "step-finished",
                index,
                self.total,
                step.id,
                step.title,
                result.status,
                result.detail,
            )
        )

    def run_lanes(self, lanes: list[list[tuple[int, Step]]]) -> None:
        """Each lane writes to its own disk, so lanes run side by side; a lane runs in order."""
        if len(lanes) <= 1:
            for index, step in lanes[0] if lanes else []:
                self.run(index, step)
            return
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            futures = [pool.submit(self._lane, lane) for lane in lanes]
            for future in futures:
                future.result()  # a bug in one lane surfaces here, after the others finish

    def _lane(self, lane: list[tuple[int, Step]]) -> None:
        for index, step in lane:
            self.run(index, step, self._lane_context(step))

    def _lane_context(self, step: Step) -> StepContext:
        """Same shared state; tool output tagged with the step, as two tools write one log."""
        tag = step.id.removeprefix("snapshot-")
        runner = Runner(log=lambda line: self.context.log.write(f"[{tag}] {line}"))
        return dataclasses.replace(self.context, rdiff=self.context.rdiff.using(runner))


def _first_round(step: Step) -> bool:
    return isinstance(step, SnapshotStep) and not step.after_sync


def _lanes(steps: list[tuple[int, Step]]) -> list[list[tuple[int, Step]]]:
    """Group the first round of snapshots by the disk they write to (desktop backup, USB drive):
    two snapshots onto one disk would only fight over it."""
    lanes: dict[str, list[tuple[int, Step]]] = {}
    for index, step in steps:
        assert isinstance(step, SnapshotStep)
        lanes.setdefault(step.target, []).append((index, step))
    return list(lanes.values())


def _full_check_due(settings: Settings, paths: AppPaths, options: CycleOptions) -> bool:
    """unison's fast check trusts sizes and times, which FAT/exFAT can fool: now and then,
    compare contents."""
    if not options.fastcheck:
        return True
    every_days = settings.schedule.full_check_every_days
    if every_days <= 0:
        return False
    last = read_stamp(paths.root, FULL_CHECK_STAMP)
    if last is None:  # the first sync compares everything anyway
        write_stamp(paths.root, FULL_CHECK_STAMP, options.clock())
        return False
    return due(last, options.clock(), every_days * 86_400)


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
        clock_verdict=context.clock_verdict,
    )
    result.notes += done.notes
    result.damaged += done.damaged
    for line in done.warnings + [f"damaged backup: {d}" for d in done.damaged]:
        context.warn(line)


def _run_step(step: Step, context: StepContext) -> StepResult:
    started = time.time()
    if context.cancel.cancelled:
        result = StepResult(step.id, step.title, Outcome.CANCELLED, "cancelled before it started")
    elif isinstance(step, SnapshotStep):
        result = run_snapshot(step, context)
    else:
        result = run_sync(step, context)
    result.started = started
    result.finished = time.time()
    return result


def _record_step(history: History, run_id: int, index: int, step: StepResult) -> None:
    history.record_step(run_id, index, step)
    if step.conflicts:
        history.record_conflicts(run_id, step.conflicts)


def _outcome(result: CycleResult, cancel: CancelToken) -> Outcome:
    statuses = {s.status for s in result.steps}
    if result.problems or Outcome.FAILED in statuses:
        return Outcome.FAILED
    if cancel.cancelled or Outcome.CANCELLED in statuses:
        return Outcome.CANCELLED
    if (
        statuses & {Outcome.WARNING, Outcome.SKIPPED, Outcome.HELD}
        or result.conflicts
        or result.warnings
    ):
        return Outcome.WARNING
    if Outcome.AWAY in statuses:  # everything that could be reached was done: ordinary life
        return Outcome.AWAY
    return Outcome.OK
