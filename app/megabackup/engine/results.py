"""What a cycle reports: per step what ran, what it changed, and why anything was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Step statuses. "not-needed" is a skip that is good news (the sync changed nothing there).
# "held" is a sync waiting for the person's OK (mass deletions).
OK, WARNING, FAILED, SKIPPED, NOT_NEEDED, CANCELLED, HELD = (
    "ok",
    "warning",
    "failed",
    "skipped",
    "not-needed",
    "cancelled",
    "held",
)
GOOD = (OK, WARNING)

EXIT_OK, EXIT_WARNING, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


@dataclass(frozen=True)
class ConflictResult:
    path: str
    resolution: str  # kept-both | skipped
    detail: str = ""
    copies: tuple[str, ...] = ()


@dataclass
class StepResult:
    id: str
    title: str
    status: str
    detail: str = ""
    new_files: int = 0
    changed_files: int = 0
    deleted_files: int = 0
    errors: int = 0
    source_files: int = 0
    to_desktop: int = 0
    to_server: int = 0
    conflicts: list[ConflictResult] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in GOOD


@dataclass
class CycleResult:
    run_id: int
    started: float
    finished: float
    outcome: str  # ok | warning | failed | cancelled
    steps: list[StepResult]
    problems: list[str] = field(default_factory=list)  # preflight: why nothing ran
    warnings: list[str] = field(default_factory=list)
    log_path: Path | None = None
    deletions_waiting: int = 0  # a held sync would pass on this many deletions once allowed
    notes: list[str] = field(default_factory=list)  # upkeep done: old snapshots, verify
    damaged: list[str] = field(default_factory=list)  # the verify found damaged files

    @property
    def conflicts(self) -> list[ConflictResult]:
        return [c for step in self.steps for c in step.conflicts]

    @property
    def exit_code(self) -> int:
        if self.outcome == OK:
            return EXIT_OK
        if self.outcome == WARNING:
            return EXIT_WARNING
        return EXIT_FAILED

    def step(self, step_id: str) -> StepResult | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def summary(self) -> str:
        """One plain line for the history, the tray tooltip and the notification."""
        if self.problems:
            return "Stopped before writing anything: " + self.problems[0]
        failed = [s for s in self.steps if s.status == FAILED]
        if self.outcome == CANCELLED:
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
        skipped = [s for s in self.steps if s.status in (SKIPPED, HELD)]
        if skipped:
            parts.append(skipped[0].detail)
        head = "All good" if self.outcome == OK else "Done with warnings"
        return head + (": " + "; ".join(parts) if parts else "")
