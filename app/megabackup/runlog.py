"""One plain-text log file per cycle, the newest 50 kept. A leaf module."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TextIO

KEEP_LOGS = 50
PREFIX = "run-"


class RunLog:
    """Timestamped lines from every step and tool of one cycle; safe to write from any thread."""

    def __init__(self, folder: Path, started: float | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started or time.time()))
        path = folder / f"{PREFIX}{stamp}.log"
        counter = 1
        while path.exists():  # two cycles in one second must not share a file
            counter += 1
            path = folder / f"{PREFIX}{stamp}-{counter}.log"
        self.path = path
        self._file: TextIO | None = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            if self._file is None:
                return
            self._file.write(f"{time.strftime('%H:%M:%S')} {line}\n")
            self._file.flush()  # a crash must not swallow the lines that explain it

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def newest_log(folder: Path) -> Path | None:
    logs = all_logs(folder)
    return logs[-1] if logs else None


def all_logs(folder: Path) -> list[Path]:
    """Oldest first; names sort by time, and mtime breaks ties between same-second runs."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{PREFIX}*.log") if p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def prune_logs(folder: Path, keep: int = KEEP_LOGS) -> list[Path]:
    logs = all_logs(folder)
    removed = logs[: max(0, len(logs) - keep)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
