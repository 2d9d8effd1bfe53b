"""What the steps of one cycle share: the tools, the cancel token, the log and what came before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from megabackup.engine.clocks import ClockVerdict
from megabackup.engine.deletions import Allowance
from megabackup.engine.filecheck import FileCheck
from megabackup.engine.manifest import Manifest
from megabackup.engine.results import CycleResult, StepResult
from megabackup.places import Place, PlaceMemory
from megabackup.runlog import RunLog
from megabackup.settings import Settings
from megabackup.tools.rdiff import LOCK_WAIT_SECONDS, Rdiff
from megabackup.tools.runner import CancelToken
from megabackup.tools.unison import Unison


@dataclass
class CycleOptions:
    trigger: str = "manual"
    allow_empty: bool = False  # a place that held files is empty on purpose
    allow_deletions: bool = False  # the person said yes to any number of deletions
    allowed_deletions: int = 0  # ...or to this many ("Allow 41 deletions" in the tray)
    new_place: bool = False  # a server folder without its marker is a new place on purpose
    fastcheck: bool = True  # False: unison compares contents and no snapshot is skipped
    skip_unchanged: bool = True  # a tree the manifest proves unchanged needs no new snapshot
    drive_roots: list[Path] | None = None
    bundled_unison: Path | None = None
    clock: Callable[[], float] = time.time
    lock_wait_seconds: float = LOCK_WAIT_SECONDS  # for an earlier snapshot still finishing


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
    manifests: Path  # folder of the manifests saved at each repository's last good snapshot
    allowance: Allowance = field(default_factory=Allowance)
    clock_verdict: ClockVerdict = field(default_factory=lambda: ClockVerdict(None))
    results: dict[str, StepResult] = field(default_factory=dict)
    checks: dict[Place, FileCheck] = field(default_factory=dict)
    walks: dict[Place, Manifest] = field(default_factory=dict)  # snapshot A's, before the sync
    memory_lock: threading.Lock = field(default_factory=threading.Lock)  # lanes share memory

    def warn(self, text: str) -> None:
        self.cycle.warnings.append(text)  # list.append is atomic: lanes may warn at once
        self.log.write(f"WARNING: {text}")
