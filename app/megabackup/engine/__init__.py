"""The cycle engine: one cycle, run to its end on the caller's thread, with no UI.

`run_cycle` returns when the cycle is done; its events go out through a callback. Inside, the
first round of snapshots runs side by side in a small thread pool, one lane per backup disk. It
builds its own Runner for each lane (so each lane's tool output is tagged in the log) and takes
the history, the clock (CycleOptions.clock), the cancel token and the event sink from the caller.
The CLI, the tray's worker and the tests all run this same code.
"""

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
