"""Whether a finished snapshot holds what its tree holds, and so may vouch for it.

The walk taken before a snapshot is saved as the proof that later cycles compare with ("nothing
changed since the last snapshot"). A tree can change while rdiff-backup reads it: a file edited,
or a folder that drops out for a moment (a share losing it, a rename away and back). So:

- the walk may vouch only when a second walk after the snapshot finds the same tree and
  rdiff-backup counted no fewer entries than the walk did (its SourceFiles statistic);
- when the walks differ, the snapshot's mirror is walked too: entries that were there before and
  after the snapshot but are not in it dropped out while it ran, and the snapshot fails (it would
  vouch for deletions that never happened, and the sync must not trust it);
- a folder rdiff-backup could not list (ListError) whose files this snapshot records as deleted
  fails it too; a folder that was never readable is only a warning.
Edits made while the snapshot ran are ordinary life: not vouched for, so the next cycle looks
again, and nothing fails.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from megabackup.engine import manifest
from megabackup.engine.plan import SnapshotStep
from megabackup.tools import rdiff
from megabackup.words import listing


@dataclass(frozen=True)
class Proof:
    vouches: bool  # the walk before the snapshot may be saved as its manifest
    problem: str = ""  # the snapshot lacks what the tree held: the step fails with this


def check_snapshot(
    step: SnapshotStep,
    before: manifest.Manifest,
    before_paths: Collection[str],
    statistics: rdiff.SessionStatistics,
    file_errors: Collection[rdiff.FileError],
    previous: float | None,
) -> Proof:
    """`previous`: the repository's newest snapshot before this one (None: this is its first)."""
    unlisted = _folders_read_as_deleted(step, file_errors, previous)
    if unlisted:
        names = listing([f"{e.path} ({e.reason})" for e in unlisted])
        return Proof(
            False,
            f"the {step.place} could not read {names}, so this snapshot records the files in it "
            "as deleted; they are still in the earlier snapshots. Nothing is synced in this "
            "cycle; the next snapshot that can read it takes them again",
        )
    after_paths: set[str] = set()
    after = manifest.scan(
        step.source,
        step.folders,
        step.ignore,
        observe=lambda relative, _info: after_paths.add(relative),
    )
    same = (
        before.complete
        and after.digest == before.digest
        # fewer: something dropped out while it ran; more is fine (the walk leaves out what
        # rdiff-backup leaves out on Windows, reparse points, which it still counts elsewhere)
        and statistics.source_files >= before.count
        and not statistics.errors
    )
    if same:
        return Proof(True)
    unreadable = {e.path for e in file_errors}  # named already: a warning, not a drop-out
    missing = [
        p for p in _dropped_out(step, before_paths, after_paths)
        if p not in unreadable and not _has_missing_parent(p, unreadable)
    ]  # fmt: skip
    if missing:
        return Proof(
            False,
            f"{len(missing)} file(s) and folder(s) of the {step.place} were there before and "
            f"after this snapshot but are not in it ({listing(missing)}): they were out of reach "
            "while it ran. Nothing is synced in this cycle; the next snapshot takes them",
        )
    return Proof(False)


def _folders_read_as_deleted(
    step: SnapshotStep, errors: Collection[rdiff.FileError], previous: float | None
) -> list[rdiff.FileError]:
    """ListErrors on folders whose files this very snapshot moved out of the mirror: the
    increments it wrote (reverse ones, so dated with the previous snapshot's time)."""
    found = []
    for error in errors:
        if error.kind != "ListError" or previous is None:
            continue
        try:
            is_folder = stat.S_ISDIR(os.lstat(step.source / error.path).st_mode)
        except OSError:
            is_folder = error.path == "."
        if not is_folder:
            continue
        relative = "" if error.path == "." else error.path
        if any(abs(t - previous) < 1 for t in rdiff.change_times(step.repository, relative)):
            found.append(error)
    return found


def _dropped_out(step: SnapshotStep, before: Collection[str], after: Collection[str]) -> list[str]:
    """Entries in the tree before and after the snapshot that its mirror lacks, the topmost
    of each missing subtree only."""
    there = set(before) & set(after)
    if not there:
        return []
    held = _mirror_paths(step.repository, step.folders, step.ignore)
    missing = sorted(p for p in there if p not in held)
    gone = set(missing)
    return [p for p in missing if not _has_missing_parent(p, gone)]


def _mirror_paths(repository: Path, folders: Collection[str], ignore: Collection[str]) -> set[str]:
    found = set()
    quoting = rdiff.Quoting.of(repository)  # the mirror spells names its disk cannot hold
    quoted = tuple(quoting.quote(f) for f in folders)
    for relative in manifest.paths(repository, quoted, tuple(ignore)):
        if relative == "." or relative.split("/")[0] == rdiff.DATA_DIR:
            continue
        found.add("/".join(quoting.unquote(part) for part in relative.split("/")))
    return found


def _has_missing_parent(relative: str, missing: set[str]) -> bool:
    parent = relative.rpartition("/")[0]
    while parent:
        if parent in missing:
            return True
        parent = parent.rpartition("/")[0]
    return False
