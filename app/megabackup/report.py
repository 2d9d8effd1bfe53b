"""Plain-text reports of a cycle and of the status, for the command line and the demo."""

from __future__ import annotations

import time
from datetime import datetime

from megabackup.engine.results import CycleResult
from megabackup.engine.status import Status
from megabackup.outcome import Outcome, Resolution
from megabackup.words import age_text

_MARKS = {
    Outcome.OK: "[ok]     ",
    Outcome.WARNING: "[warning]",
    Outcome.FAILED: "[FAILED] ",
    Outcome.SKIPPED: "[skipped]",
    Outcome.NOT_NEEDED: "[-]      ",
    Outcome.CANCELLED: "[stopped]",
    Outcome.HELD: "[waiting]",
    Outcome.AWAY: "[away]   ",
}
_OUTCOMES = {
    Outcome.OK: "all good",
    Outcome.AWAY: "done with what could be reached; the rest waits for a place that is away",
    Outcome.WARNING: "done, with something to look at",
    Outcome.FAILED: "FAILED",
    Outcome.CANCELLED: "cancelled",
}


def cycle_report(result: CycleResult) -> str:
    lines = [f"Backup cycle {result.run_id}: {_OUTCOMES.get(result.outcome, result.outcome)}"]
    for problem in result.problems:
        lines.append(f"  STOPPED: {problem}")
    for reason in result.away.values():
        lines.append(f"  away: {reason}")
    for warning in result.warnings:
        lines.append(f"  note: {warning}")
    for index, step in enumerate(result.steps, start=1):
        detail = f"  {step.detail}" if step.detail else ""
        lines.append(f"  {_MARKS.get(step.status, step.status)} {index}. {step.title}{detail}")
    for note in result.notes:
        lines.append(f"  {note}")
    conflicts = result.conflicts
    if conflicts:
        lines.append(f"  Conflicts ({len(conflicts)}): the file was changed on both sides")
        for conflict in conflicts:
            if conflict.resolution == Resolution.KEPT_BOTH and conflict.copies:
                kept = ", ".join(conflict.copies)
                lines.append(
                    f"    {conflict.path}: newer version in place, other one kept as {kept}"
                )
            elif conflict.resolution == Resolution.KEPT_BOTH:
                lines.append(f"    {conflict.path}: newer version in place ({conflict.detail})")
            else:
                lines.append(f"    {conflict.path}: left alone on both sides ({conflict.detail})")
    if result.log_path:
        lines.append(f"  Log: {result.log_path}")
    return "\n".join(lines)


def status_report(status: Status, now: float | None = None) -> str:
    now = now or time.time()
    lines = []
    run = status.last_run
    if status.running:
        lines.append("A backup is running right now.")
    if status.problem:
        lines.append(f"The history cannot be read: {status.problem}.")
    elif run is None:
        lines.append("No backup has run yet.")
    else:
        when = _when(run.finished or run.started, now)
        lines.append(f"Last backup: {when}, {run.outcome}. {run.summary}".rstrip())
        if run.log_path:
            lines.append(f"  Log: {run.log_path}")
    for away in status.away:
        lines.append(f"Waiting since {_when(away.since, now)}: {away.reason}")
    lines.append("Last good snapshot of each place:")
    for place in status.places:
        text = _when(place.last_good, now) if place.last_good else "never"
        lines.append(f"  {place.place:<13} {text}")
    if status.open_conflicts:
        lines.append(f"Open conflicts ({len(status.open_conflicts)}):")
        for conflict in status.open_conflicts:
            extra = f" (copy: {', '.join(conflict.copies)})" if conflict.copies else ""
            lines.append(f"  {conflict.path}{extra}")
    else:
        lines.append("Open conflicts: none")
    return "\n".join(lines)


def _when(epoch: float, now: float) -> str:
    stamp = datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")
    return f"{stamp} ({age_text(max(0.0, now - epoch))})"
