"""Whether this computer's clock can be trusted in a cycle, decided once, before any snapshot.

Every snapshot is dated by this computer's clock, and rdiff-backup cannot add a snapshot older
than its newest: one taken while the clock ran ahead blocks the snapshots after it until the
clock catches up. Retention ages snapshots by the same clock: a clock a year ahead would make
every snapshot old at once. So, before snapshot A:

- the server is asked (the clock probe). Agreed: the clock is trusted, and that moment is kept.
  This computer ahead of the server: no snapshot, no sync, no retention (a snapshot dated in the
  future would block later ones). The server ahead: snapshots go on (a snapshot dated a little
  early harms nothing), but neither the sync nor retention run.
- the server cannot answer (away, read-only): the clock is in doubt when it is far past the last
  moment it was trusted and every snapshot; then, too, no snapshot and no retention. Otherwise
  the snapshots go on, and retention ages snapshots against that last trusted moment rather
  than against "now", so that a jump cannot age them all at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from megabackup.engine.preflight import ClockCheck, probe_clock
from megabackup.files import read_stamp, write_stamp
from megabackup.tools import rdiff
from megabackup.words import duration_text, moment_text

TRUSTED_STAMP = "clock-trusted"  # when the server last agreed with this computer's clock
FAR_AHEAD = 30 * 86_400  # past every earlier run by more than this, unconfirmed: in doubt


@dataclass(frozen=True)
class ClockVerdict:
    probe: ClockCheck | None  # the server's answer (None: it was not reachable)
    doubt: str = ""  # why the clock is in doubt ("" when it is not)
    snapshots_wait: bool = False  # no snapshot may be dated by this clock now
    reference: float | None = None  # the latest moment known to be right

    @property
    def confirmed(self) -> bool:
        return self.probe is not None and self.probe.ok

    @property
    def sync_blocked(self) -> str:
        """Why the sync may not run because of the clocks ("" when it may)."""
        if self.probe is None or self.probe.ok:
            return self.doubt
        return self.probe.explain()

    def retention_now(self, now: float) -> float | None:
        """The "now" retention may age snapshots against; None: not in this cycle."""
        if self.doubt:
            return None
        if self.confirmed or self.reference is None:
            return now
        return min(now, self.reference)


def judge(
    server: Path | None,
    limit: float,
    state: Path,
    repositories: Iterable[Path],
    clock: Callable[[], float] = time.time,
) -> ClockVerdict:
    """Ask the server (None: it is away), or compare with the last trusted moment and the
    newest snapshots."""
    now = clock()
    probe = probe_clock(server, limit, clock) if server is not None and server.is_dir() else None
    if probe is not None and not probe.error:
        if probe.ok:
            write_stamp(state, TRUSTED_STAMP, now)
            return ClockVerdict(probe, reference=now)
        ahead = probe.skew < 0  # the server's clock is behind this computer's
        doubt = probe.explain()
        if ahead:
            doubt += (
                "; no snapshot was taken, because one dated in the future would block every "
                "later one until the clock caught up"
            )
        return ClockVerdict(probe, doubt, snapshots_wait=ahead, reference=_reference(state, []))
    reference = _reference(state, repositories)
    if reference is not None and now > reference + FAR_AHEAD:
        why = "it is not reachable" if probe is None else probe.explain()
        doubt = (
            f"this computer's clock says {moment_text(now)}, {duration_text(now - reference)} "
            f"after the last backup ({moment_text(reference)}), and the server cannot confirm "
            f"it ({why}); no snapshot is taken and no old snapshot removed until it can"
        )
        return ClockVerdict(probe, doubt, snapshots_wait=True, reference=reference)
    return ClockVerdict(probe, reference=reference)


def _reference(state: Path, repositories: Iterable[Path]) -> float | None:
    """The last moment the clock was confirmed, or the newest snapshot if that is later."""
    moments = [read_stamp(state, TRUSTED_STAMP)]
    moments += [rdiff.inspect(r).last_snapshot for r in repositories]
    known = [m for m in moments if m is not None]
    return max(known) if known else None
