"""What the steps of one cycle share: the tools, the cancel token, the log and what came before."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from megabackup.engine.results import CycleResult, StepResult
from megabackup.filecheck import FileCheck
from megabackup.places import PlaceMemory
from megabackup.runlog import RunLog
from megabackup.settings import Settings
from megabackup.tools.rdiff import Rdiff
from megabackup.tools.runner import CancelToken
from megabackup.tools.unison import Unison

HOME_PLACES = {"desktop home": "desktop", "server home": "server"}


@dataclass
class CycleOptions:
    trigger: str = "manual"
    allow_empty: bool = False  # a place that held files is empty on purpose
    allow_deletions: bool = False  # the person said yes to a mass deletion
    new_place: bool = False  # a server folder without its marker is a new place on purpose
    fastcheck: bool = True
    drive_roots: list[Path] | None = None
    bundled_unison: Path | None = None
    clock: Callable[[], float] = time.time


@dataclass
class StepContext:
    settings: Settings
    rdiff: Rdiff
    unison: Unison | None
    unison_problem: str
    cancel: CancelToken
    log: RunLog
    options: CycleOptions
    memory: PlaceMemory
    cycle: CycleResult
    results: dict[str, StepResult] = field(default_factory=dict)
    checks: dict[str, FileCheck] = field(default_factory=dict)  # place -> its file check

    def warn(self, text: str) -> None:
        self.cycle.warnings.append(text)
        self.log.write(f"WARNING: {text}")
