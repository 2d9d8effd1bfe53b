"""What a cycle reports: per step what ran, what it changed, and why anything was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from megabackup.history import ConflictRecord, StepRecord
from megabackup.outcome import ExitCode, Outcome
from megabackup.words import listing


@dataclass
class StepResult(StepRecord):
    """One step's record for the history, and what the sync passed on (for snapshot B)."""

    to_desktop: int = 0
    to_server: int = 0
    conflicts: list[ConflictRecord] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.status.good


@dataclass
class CycleResult:
    run_id: int
    started: float
    finished: float
    outcome: Outcome  # ok | away | warning | failed | cancelled
    steps: list[StepResult]
    problems: list[str] = field(default_factory=list)  # preflight: why nothing ran
    warnings: list[str] = field(default_factory=list)
    away: dict[str, str] = field(default_factory=dict)  # place name -> why it is away
    log_path: Path | None = None
    deletions_waiting: int = 0  # a held sync would pass on this many deletions once allowed
    notes: list[str] = field(default_factory=list)  # upkeep done: old snapshots, verify
    damaged: list[str] = field(default_factory=list)  # the verify found damaged files
    unreadable: list[str] = field(default_factory=list)  # "place: path" a snapshot could not read

    @property
    def conflicts(self) -> list[ConflictRecord]:
        return [c for step in self.steps for c in step.conflicts]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.of(self.outcome)

    def step(self, step_id: str) -> StepResult | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def summary(self) -> str:
        """One plain line for the history, the tray tooltip and the notification."""
        if self.problems:
            return "Stopped before writing anything: " + self.problems[0]
        failed = [s for s in self.steps if s.status == Outcome.FAILED]
        if self.outcome == Outcome.CANCELLED:
            return "Cancelled; the next backup picks up from here"
        if failed:
            return f"{failed[0].title.capitalize()} failed: {failed[0].detail}"
        parts = []
        synced = next((s for s in self.steps if s.to_desktop or s.to_server), None)
        if synced:
            parts.append(f"{synced.to_server} to server, {synced.to_desktop} to desktop")
        conflicts = self.conflicts
        if conflicts:
            parts.append(f"{len(conflicts)} conflict{'s' if len(conflicts) != 1 else ''}")
        skipped = [s for s in self.steps if s.status in (Outcome.SKIPPED, Outcome.HELD)]
        if skipped:
            parts.append(skipped[0].detail)
        if self.unreadable:
            parts.append(f"could not read {listing(self.unreadable)}")
        if self.away:
            parts.append(self.away_summary())
        if self.outcome == Outcome.AWAY:
            return "Done with what could be reached; " + "; ".join(parts)
        head = "All good" if self.outcome == Outcome.OK else "Done with warnings"
        return head + (": " + "; ".join(parts) if parts else "")

    def away_summary(self) -> str:
        """The places that are away, the first with its reason: what the rest waits for."""
        reasons = list(self.away.values())
        more = len(reasons) - 1
        return reasons[0] + (
            f" (and {more} more place{'s' if more > 1 else ''} away)" if more else ""
        )
