"""Room on the disks that receive snapshots: whether a first snapshot fits, and what is left
to do when a snapshot runs out of room.

A first snapshot is checked before it starts, against what a copy of every file takes on a disk
of 4 KB blocks (thousands of small files take far more than their sizes add up to). If it still
runs out of room (the estimate was short, or something else filled the disk meanwhile), its
half-written repository holds no snapshot at all, so it is removed again: a full drive would
fail every other snapshot on it in every later cycle. A later snapshot that runs out of room is
rolled back by rdiff-backup and the earlier snapshots stay.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from megabackup.engine.filecheck import FileCheck
from megabackup.engine.plan import SnapshotStep
from megabackup.tools import rdiff
from megabackup.words import size_text

MARGIN = 1.05  # rdiff-backup's own files: metadata, statistics, its log


def needed_for_first(files: FileCheck) -> int:
    return int(files.allocated_bytes * MARGIN)


def no_room_for_first(step: SnapshotStep, files: FileCheck) -> str:
    """Why a first snapshot cannot fit ("" when it can, or when this is no first snapshot)."""
    if rdiff.inspect(step.repository).exists:
        return ""
    free = free_bytes(step.repository)
    needed = needed_for_first(files)
    if free is None or free >= needed:
        return ""
    return (
        f"the {step.target} has {size_text(free)} free, but the first snapshot of the "
        f"{step.place} needs about {size_text(needed)}; nothing was written. "
        "Make room or use a bigger disk"
    )


def after_full_disk(step: SnapshotStep, files: FileCheck, tool: rdiff.Rdiff, *, first: bool) -> str:
    """Clean up after a snapshot that ran out of room, and say what happened."""
    if first:
        shutil.rmtree(step.repository, ignore_errors=True)  # no snapshot in it to lose
        free = free_bytes(step.repository) or 0
        return (
            f"the {step.target} ran out of room: the first snapshot of the {step.place} needs "
            f"about {size_text(needed_for_first(files))}, and {size_text(free)} is free without "
            "it. The unfinished snapshot was removed again, so the other snapshots go on. Make "
            "room or use a bigger disk"
        )
    rolled_back = tool.recover_full_disk(step.repository)
    free = free_bytes(step.repository) or 0
    undone = (
        "the unfinished snapshot was rolled back"
        if rolled_back
        else "the next backup rolls the unfinished one back"
    )
    return (
        f"the {step.target} ({step.repository}) is full ({size_text(free)} free after "
        f"cleaning up); the {step.place} holds {size_text(files.total_bytes)} in all. "
        f"The earlier snapshots are intact; {undone}. Make room on the disk"
    )


def free_bytes(path: Path) -> int | None:
    folder = path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None
