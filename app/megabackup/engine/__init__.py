"""The cycle engine: synchronous, no threads, no UI."""

from megabackup.engine.context import CycleOptions
from megabackup.engine.cycle import CycleBusy, CycleEvent, run_cycle
from megabackup.engine.results import CycleResult, StepResult
from megabackup.tools.runner import CancelToken  # the tray's worker cancels through it

__all__ = [
    "CancelToken",
    "CycleBusy",
    "CycleEvent",
    "CycleOptions",
    "CycleResult",
    "StepResult",
    "run_cycle",
]
