"""Deterministic, seeded trees for the benchmark: a "home" like a person's, a "data" share.

Sizes are spread like real documents: most 1-100 KB, some 100 KB-1 MB, a few 1-20 MB (the whole
home tree averages ~107 KB a file, so 10,000 files make ~1 GB). Content comes from one seeded
random pool, read from a different place in every file and every 64 KB block, so no two files are
alike and rdiff-backup's deltas see realistic data, yet generating stays disk-bound.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
POOL_BYTES = 4 * MIB
BLOCK = 64 * KIB
OLD_MTIME = 1_735_689_600  # 2025-01-01: generated files are old, as most of a home is

HOME_FOLDERS = ("Documents", "Pictures", "Music", "Desktop")  # the settings' folder list
HOME_SHARES = (
    ("Documents", 0.50),
    ("Pictures", 0.20),
    ("Music", 0.10),
    ("Desktop", 0.12),
    ("AppData", 0.08),
)  # AppData: outside the folder list
DATA_SHARES = (("Projects", 0.45), ("Archive", 0.35), ("Instruments", 0.20))
IGNORE = ("*.tmp", "~$*", "Thumbs.db")  # the settings' ignore list
IGNORED_SHARE = 0.02  # files named so that IGNORE matches them
SUBFOLDER_EVERY = 12  # on average one new subfolder per this many files
MAX_DEPTH = 5
# fmt: off
_WORDS = ("Projects", "2019", "2020", "2021", "2022", "2023", "2024", "Invoices", "Letters",
          "Photos", "Travel", "Family", "Reports", "Drafts", "Scans", "Taxes", "Work", "School",
          "Recipes", "Music", "Live", "Old", "Misc", "Notes", "Clients", "Papers", "Raw")
# fmt: on
_SMALL_EXT = (".docx", ".txt", ".pdf", ".xlsx", ".odt", ".csv", ".md")
_MEDIUM_EXT = (".jpg", ".pdf", ".png", ".pptx")
_LARGE_EXT = (".mp3", ".mov", ".zip", ".tif")


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative, with /
    size: int
    mtime: int  # whole seconds


@dataclass(frozen=True)
class TreeInfo:
    files: int
    bytes: int


def file_size(rng: random.Random, max_size: int = 20 * MIB) -> int:
    """93% 1-100 KB, 6% 100 KB-1 MB, 1% 1-20 MB, each log-uniform."""
    pick = rng.random()
    if pick < 0.93:
        low, high = KIB, 100 * KIB
    elif pick < 0.99:
        low, high = 100 * KIB, MIB
    else:
        low, high = MIB, 20 * MIB
    size = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    return min(size, max_size)


def plan_tree(
    files: int, seed: int, kind: str = "home", max_size: int = 20 * MIB
) -> list[FileSpec]:
    """The files of one tree, in a fixed order; nothing is written."""
    rng = random.Random(f"{kind}:{seed}")
    shares = HOME_SHARES if kind == "home" else DATA_SHARES
    folders: dict[str, list[str]] = {top: [top] for top, _ in shares}
    counts = {top: max(1, round(files * share)) for top, share in shares}
    counts[shares[0][0]] += files - sum(counts.values())  # exactly `files` in all
    specs: list[FileSpec] = []
    for top, _ in shares:
        for index in range(counts[top]):
            known = folders[top]
            if rng.random() < 1 / SUBFOLDER_EVERY:
                parent = rng.choice(known)
                if parent.count("/") < MAX_DEPTH - 1:
                    known.append(f"{parent}/{rng.choice(_WORDS)} {len(known)}")
            folder = rng.choice(known)
            size = file_size(rng, max_size)
            specs.append(FileSpec(f"{folder}/{_name(rng, index, size, kind)}", size, _mtime(rng)))
    return specs


def _name(rng: random.Random, index: int, size: int, kind: str) -> str:
    if kind == "home" and rng.random() < IGNORED_SHARE:
        return rng.choice((f"~$draft {index}.docx", f"autosave {index}.tmp", "Thumbs.db"))
    ext = _SMALL_EXT if size < 100 * KIB else _MEDIUM_EXT if size < MIB else _LARGE_EXT
    return f"{rng.choice(_WORDS).lower()} {index}{rng.choice(ext)}"


def _mtime(rng: random.Random) -> int:
    return OLD_MTIME + rng.randrange(365 * 86400)


class Content:
    """Bytes for a file, deterministic from (seed, file key), from one random pool."""

    def __init__(self, seed: int) -> None:
        pool = random.Random(f"pool:{seed}").randbytes(POOL_BYTES)
        self.pool = pool + pool[:BLOCK]  # so any block can be sliced without wrapping
        self.seed = seed

    def chunks(self, key: str, size: int) -> Iterator[bytes]:
        rng = random.Random(f"{self.seed}:{key}")
        header = f"{key}\n".encode()[:size]
        yield header
        left = size - len(header)
        while left > 0:
            start = rng.randrange(POOL_BYTES)
            take = min(BLOCK, left)
            yield self.pool[start : start + take]
            left -= take


def write_tree(root: Path, specs: list[FileSpec], seed: int) -> TreeInfo:
    """Write the planned files under root (which must not hold them yet), with their mtimes."""
    content = Content(seed)
    made: set[str] = set()
    total = 0
    for spec in specs:
        path = root / spec.path
        parent = path.parent.as_posix()
        if parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(parent)
        with open(path, "wb") as handle:
            for chunk in content.chunks(spec.path, spec.size):
                handle.write(chunk)
        os.utime(path, (spec.mtime, spec.mtime))
        total += spec.size
    return TreeInfo(len(specs), total)


def build_tree(
    root: Path, files: int, seed: int, kind: str = "home", max_size: int = 20 * MIB
) -> TreeInfo:
    root.mkdir(parents=True, exist_ok=True)
    return write_tree(root, plan_tree(files, seed, kind, max_size), seed)


@dataclass(frozen=True)
class Mutation:
    changed: tuple[str, ...]
    added: tuple[str, ...]


def mutate(
    root: Path,
    seed: int,
    fraction: float = 0.01,
    added: int = 50,
    folders: tuple[str, ...] = (),
    ignore: tuple[str, ...] = IGNORE,
    max_size: int = 20 * MIB,
) -> Mutation:
    """Change `fraction` of the files (half same-size edits, half appends) and add `added` new ones.

    Which files, and what is written, follow from the seed and the tree; the new mtimes are the
    real time of the edit, as after a person's day of work. Only files under `folders` (all when
    empty) and not named like `ignore` are touched, so every change is one the backup must see.
    """
    rng = random.Random(f"mutate:{seed}")
    content = Content(seed + 1)
    tops = folders or tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    existing = sorted(
        p.relative_to(root).as_posix()
        for top in tops
        if (root / top).is_dir()
        for p in (root / top).rglob("*")
        if p.is_file() and not any(fnmatch.fnmatchcase(p.name, pattern) for pattern in ignore)
    )
    chosen = rng.sample(existing, max(1, round(len(existing) * fraction))) if existing else []
    for index, relative in enumerate(chosen):
        path = root / relative
        size = path.stat().st_size
        if index % 2 == 0 and size > 0:  # a same-size edit somewhere inside, like a re-save
            edit = b"".join(content.chunks(f"edit:{relative}", min(size, 4 * KIB)))
            offset = rng.randrange(max(1, size - len(edit) + 1))
            with open(path, "r+b") as handle:
                handle.seek(offset)
                handle.write(edit)
        else:  # the file grows
            extra = b"".join(content.chunks(f"append:{relative}", rng.randrange(KIB, 32 * KIB)))
            with open(path, "ab") as handle:
                handle.write(extra)
    new: list[str] = []
    folders_seen = sorted({str(Path(r).parent.as_posix()) for r in existing}) or list(tops)
    for index in range(added):
        folder = rng.choice(folders_seen)
        size = file_size(rng, max_size)
        relative = f"{folder}/new {seed} {index}{rng.choice(_SMALL_EXT)}"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for chunk in content.chunks(relative, size):
                handle.write(chunk)
        new.append(relative)
    return Mutation(tuple(chosen), tuple(new))


def typical_day(
    root: Path,
    seed: int,
    documents: int = 20,
    photos: int = 5,
    now: float | None = None,
    ignore: tuple[str, ...] = IGNORE,
) -> Mutation:
    """A day of one person's work: `documents` files of Documents re-saved (a few KB rewritten
    or added) and `photos` new photos of 3-5 MB imported into one folder of Pictures, nothing
    else anywhere.

    Dated as done during the day (30 minutes to 3 hours before `now`), as a backup every few
    hours finds them, not in the second before it. Which files and what bytes follow from the
    seed and the tree."""
    now = time.time() if now is None else now
    rng = random.Random(f"typical-day:{seed}")
    content = Content(seed + 2)
    existing = sorted(
        p.relative_to(root).as_posix()
        for p in (root / "Documents").rglob("*")
        if p.is_file()
        and p.suffix in _SMALL_EXT
        and not any(fnmatch.fnmatchcase(p.name, pattern) for pattern in ignore)
    )
    chosen = rng.sample(existing, min(documents, len(existing)))
    for relative in chosen:
        path = root / relative
        size = path.stat().st_size
        edit = b"".join(content.chunks(f"day:{relative}", rng.randrange(KIB, 8 * KIB)))
        with open(path, "r+b") as handle:  # a re-save: some bytes rewritten, a few added
            handle.seek(rng.randrange(max(1, size)))
            handle.write(edit)
        when = now - rng.uniform(1800, 3 * 3600)
        os.utime(path, (when, when))
    pictures = sorted({p.parent for p in (root / "Pictures").rglob("*") if p.is_file()}) or [
        root / "Pictures"
    ]
    album = rng.choice(pictures)
    added: list[str] = []
    for index in range(photos):
        path = album / f"IMG_{seed % 10_000:04d}{index:02d}.jpg"
        size = rng.randrange(3 * MIB, 5 * MIB)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for chunk in content.chunks(f"photo:{path.name}", size):
                handle.write(chunk)
        when = now - rng.uniform(1800, 3 * 3600)
        os.utime(path, (when, when))
        added.append(path.relative_to(root).as_posix())
    return Mutation(tuple(chosen), tuple(added))


def content_digest(root: Path) -> str:
    """sha256 over every file's relative path, size, mtime and bytes (for tests of determinism)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        info = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{info.st_size}\0".encode())
        digest.update(f"{info.st_mtime_ns}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


__all__ = [
    "DATA_SHARES",
    "HOME_FOLDERS",
    "IGNORE",
    "FileSpec",
    "Mutation",
    "TreeInfo",
    "build_tree",
    "content_digest",
    "file_size",
    "mutate",
    "plan_tree",
    "typical_day",
]
