"""Mass deletions: what a sync (or a snapshot of server data) would delete now, and the OK it
waits for.

The count is judged afresh in every cycle, on the trees as they are: a path the last good sync
left on both sides that is gone from one side now, and still on the other, is a deletion the
sync would pass on. Files put back are no deletion any more, so a hold lifts by itself. The
paths of the last good sync are kept beside the manifests (one gzip'd JSON list); without that
record (the first sync, or a changed folder list) there is nothing to pass on, as for unison,
which deletes nothing without its archive.

Server data is not synced, but a snapshot of it that records many deletions (a share dropping a
folder) turns the drive's copy into history too: it waits for the same OK, judged on the number
of entries against the repository's own count at its newest snapshot.

An OK allows a number: "Allow 41 deletions" in the tray lets 41 go, not whatever comes next;
`megabackup run --allow-deletions` lets any number go.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from megabackup.files import atomic_write
from megabackup.settings import SafetySettings
from megabackup.tools.unison import SyncJob

FEW_DELETIONS = 10  # below this, a percentage says nothing about an accident
RECORD = "synced-home.json.gz"
_OWN = ".megabackup"  # markers and probes: never synced, never counted


@dataclass(frozen=True)
class DeletionCheck:
    side: str  # "desktop" or "server": where the files were deleted
    deleted: int
    total_before: int
    what: str = ""  # server data: the snapshot; "" for the sync

    @property
    def percent(self) -> float:
        return 100.0 * self.deleted / self.total_before if self.total_before else 0.0

    def too_many(self, max_count: int, max_percent: float) -> bool:
        if self.deleted > max_count:
            return True
        return self.deleted > FEW_DELETIONS and self.percent > max_percent

    def explain(self) -> str:
        if self.what:
            return (
                f"{self.deleted} files and folders ({self.percent:.0f}%) are gone from the "
                f"{self.what} since its last snapshot; the snapshot would record them as deleted"
            )
        other = "server" if self.side == "desktop" else "desktop"
        return (
            f"{self.deleted} files and folders ({self.percent:.0f}%) were deleted on the "
            f"{self.side} since the last sync; the sync would delete them on the {other} too"
        )


@dataclass
class Allowance:
    """What the person allowed for this cycle: any number, or up to a count, spent as used."""

    any_number: bool = False
    left: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, count: int) -> bool:
        with self._lock:
            if self.any_number:
                return True
            if count <= self.left:
                self.left -= count
                return True
            return False


def waiting(checks: Iterable[DeletionCheck], safety: SafetySettings) -> list[DeletionCheck]:
    return [c for c in checks if c.too_many(safety.max_deletions, safety.max_deletions_percent)]


# ---------------------------------------------------------------------------
# The sync: judged against the paths of the last good sync


def sync_key(job: SyncJob) -> str:
    """The roots and the selection: a record of another selection says nothing about this one."""
    text = json.dumps([str(job.desktop), str(job.server), job.folders, job.ignore])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def save_synced(folder: Path, key: str, paths: Iterable[str]) -> None:
    kept = sorted(p for p in paths if not _own(p))
    if load_synced(folder, key) == frozenset(kept):
        return  # the usual cycle: nothing to write, and no wait for the disk
    data = json.dumps({"format": 1, "key": key, "paths": kept}, ensure_ascii=True)
    atomic_write(folder / RECORD, gzip.compress(data.encode("ascii")))


def load_synced(folder: Path, key: str) -> frozenset[str] | None:
    """The paths of the last good sync of this selection; None when there is no good record."""
    try:
        data = json.loads(gzip.decompress((folder / RECORD).read_bytes()))
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or data.get("format") != 1:
        return None
    paths = data.get("paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return None
    return frozenset(paths)


def sync_deletions(
    synced: Collection[str] | None,
    desktop_now: Collection[str],
    server_now: Collection[str],
    folders: Collection[str] = (),
) -> list[DeletionCheck]:
    """Per side, the deletions the sync (of these folders; none: all) would pass on now."""
    if not synced:
        return []
    kept = [p for p in synced if not _own(p) and _within(p, folders)]
    checks = []
    for side, here, there in (("desktop", desktop_now, server_now),
                              ("server", server_now, desktop_now)):  # fmt: skip
        gone = sum(1 for p in kept if p not in here and p in there)
        checks.append(DeletionCheck(side, gone, len(kept)))
    return checks


def _within(relative: str, folders: Collection[str]) -> bool:
    return not folders or any(relative == f or relative.startswith(f + "/") for f in folders)


def _own(relative: str) -> bool:
    return relative.rpartition("/")[2].startswith(_OWN)


def hold(checks: Iterable[DeletionCheck], safety: SafetySettings, allowance: Allowance) -> int:
    """How many deletions wait for the person's OK (0: none, or allowed)."""
    count = sum(c.deleted for c in waiting(checks, safety))
    return 0 if count == 0 or allowance.take(count) else count


def asking(checks: Iterable[DeletionCheck], safety: SafetySettings, count: int) -> str:
    """The sentence a held step says."""
    reasons = "; ".join(c.explain() for c in waiting(checks, safety))
    return (
        f"waiting for your OK: {reasons}. If that was you, run: megabackup run --allow-deletions "
        f'(or choose "Allow {count} deletions and sync" in the tray)'
    )
