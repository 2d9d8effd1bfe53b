"""Skip-unchanged proof: a stat walk of a snapshot's source, compared with the walk of last time.

rdiff-backup decides whether a file changed from its metadata (type, size, modification time,
permissions, owner), never from its content when those agree. So when one stat walk of the source,
restricted exactly as the snapshot is, gives the same metadata as the walk taken just before the
last good snapshot, running rdiff-backup again would record nothing, and the snapshot can be
skipped. Any doubt means "changed", and rdiff-backup runs as usual.

How the engine uses it, per snapshot step:
1. `current = scan(source, folders, ignore)` BEFORE rdiff-backup starts (a file changed while the
   backup runs then differs from the manifest next time, instead of being hidden by it);
2. `unchanged(current.with_mark(m), load(path))` true: skip the snapshot;
3. otherwise run rdiff-backup and, only if it succeeded with no file errors,
   `save(current.with_mark(m2), path)`, where path is `AppPaths.root / "manifests" / <step>.json`
   and m, m2 name the repository's newest snapshot (so a replaced, emptied or rolled-back
   repository never matches).

What it sees: every entry rdiff-backup would back up (files, folders, symlinks, other special
files) with its relative path, type and permission bits, owner, and for all but folders the size
and mtime in nanoseconds (and a symlink's target). On Windows rdiff-backup leaves out every
reparse point (junctions, symbolic links, OneDrive placeholders), so the walk does too: it
neither records nor enters one, and names each to `on_link` (the hidden "My Music" junction in
Documents denies listing, which would leave every walk incomplete and every cycle in doubt).
Folder mtimes are left out on purpose: they change when anything is added inside, ignored files
too, and every added or removed entry that counts is seen by itself. What it cannot see, like
rdiff-backup itself: a same-size edit whose mtime was put back to the exact old nanosecond.

Clock: an entry whose mtime is within DOUBT_SECONDS of the scan (or after it) could be modified
again later with the same size and, on a coarse file system (FAT keeps 2-second times), the same
mtime. A manifest holding such an entry never proves "unchanged". For a network share whose clock
may differ from ours, pass a larger `doubt_seconds` (2 plus the allowed skew).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from megabackup import winsys
from megabackup.files import atomic_write
from megabackup.settings import path_pattern

FORMAT = 2  # 2: the digest follows the walk in name order (1 sorted every record)
DOUBT_SECONDS = 2.0
_NS = 1_000_000_000
_T = TypeVar("_T")
_NAME = operator.attrgetter("name")  # a folder's entries in name order


@dataclass(frozen=True)
class Manifest:
    """The digest of one restricted stat walk, and what it was taken of."""

    source: str
    folders: tuple[str, ...]
    ignore: tuple[str, ...]
    digest: str  # sha256 of the entry records, in the walk's order (names in order)
    count: int  # entries recorded, the root included
    scanned_at_ns: int  # wall clock when the walk started
    newest_mtime_ns: int  # the newest mtime of any entry but folders (0 when none)
    errors: int = 0  # entries or folders that could not be read: never "unchanged"
    mark: str = ""  # set by the caller: the repository's newest snapshot
    format: int = FORMAT

    @property
    def complete(self) -> bool:
        return self.errors == 0

    def settled(self, doubt_seconds: float = DOUBT_SECONDS) -> bool:
        """No entry was modified so close to the scan that a later edit could keep its mtime."""
        return self.newest_mtime_ns <= self.scanned_at_ns - int(doubt_seconds * _NS)

    def with_mark(self, mark: str) -> Manifest:
        return dataclasses.replace(self, mark=mark)


# ---------------------------------------------------------------------------
# Selection: the same entries as tools.rdiff.selection_args selects


def _glob(pattern: str) -> re.Pattern[str]:
    """rdiff-backup's own glob translation (selection.py): ** crosses folders, * and ? do not,
    [...] is a class, a backslash quotes the next character."""
    i, n, out = 0, len(pattern), ""
    while i < n:
        char, pair = pattern[i], pattern[i : i + 2]
        i += 1
        if char == "\\":
            out += re.escape(pair[-1])
            i += 1
        elif pair == "**":
            out += ".*"
            i += 1
        elif char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            j = i
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                out += "\\["
            else:
                inside = pattern[i:j].replace("\\", "\\\\")
                i = j + 1
                if inside[0] in "!^":
                    inside = "^" + inside[1:]
                out += "[" + inside + "]"
        else:
            out += re.escape(char)
    return re.compile(out, re.DOTALL)


def _any_of(patterns: Sequence[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that matches what any of them matches: one regex call per entry of a walk."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.DOTALL)


@dataclass(frozen=True)
class _Selection:
    names: re.Pattern[str] | None  # globs on one name, matched at any depth (one alternation)
    paths: re.Pattern[str] | None  # globs on the path relative to the root
    folders: tuple[tuple[str, ...], ...]  # listed folders split into names (normcased)

    @classmethod
    def build(cls, folders: Sequence[str], ignore: Sequence[str]) -> _Selection:
        as_paths = [path_pattern(p) for p in ignore]
        names = [_glob(p) for p, path in zip(ignore, as_paths, strict=True) if path is None]
        paths = [_glob(path) for path in as_paths if path is not None]
        split = tuple(
            tuple(os.path.normcase(part) for part in f.strip("/").split("/") if part)
            for f in folders
        )
        return cls(_any_of(names), _any_of(paths), tuple(s for s in split if s))

    def ignored(self, name: str, relative: str) -> bool:
        return bool(
            (self.names is not None and self.names.fullmatch(name))
            or (self.paths is not None and self.paths.fullmatch(relative))
        )

    def placement(self, parts: tuple[str, ...]) -> str:
        """'all' inside a listed folder, 'parent' on the way to one, 'out' otherwise."""
        if not self.folders:
            return "all"
        key = tuple(os.path.normcase(p) for p in parts)
        parent = False
        for folder in self.folders:
            if key[: len(folder)] == folder:
                return "all"
            if folder[: len(key)] == key:
                parent = True
        return "parent" if parent else "out"


# ---------------------------------------------------------------------------
# The walk


@dataclass
class _Walk:
    """One restricted walk: yields (relative path, lstat, symlink target); counts what failed."""

    source: Path
    selection: _Selection
    errors: int = 0
    on_link: Callable[[str], None] | None = None  # told of each reparse point left out

    def __iter__(self) -> Iterator[tuple[str, os.stat_result, bytes]]:
        try:
            root = os.lstat(winsys.long_path(self.source))
        except OSError:
            self.errors += 1
            return
        if not stat.S_ISDIR(root.st_mode):
            self.errors += 1  # a source that is not a folder is no tree we can vouch for
        yield ".", root, b""
        everything = not self.selection.folders
        pending: list[tuple[str, tuple[str, ...], bool]] = [
            (os.fspath(self.source), (), everything)
        ]
        while pending:
            folder, parts, inside = pending.pop()
            try:
                with os.scandir(winsys.long_path(folder)) as entries:
                    listing = sorted(entries, key=_NAME)
            except OSError:
                self.errors += 1
                continue
            # Names in order, and subfolders walked in that order too: the same tree is always
            # walked in the same order, so its digest is taken as it goes, without a list of it
            # to sort. A folder's entries come together, which the file checks rely on.
            subfolders: list[tuple[str, tuple[str, ...], bool]] = []
            for entry in listing:
                entry_parts = (*parts, entry.name)
                relative = "/".join(entry_parts)
                if self.selection.ignored(entry.name, relative):
                    continue  # first match wins: the ignore list comes before the folder list
                place = "all" if inside else self.selection.placement(entry_parts)
                if place == "out":
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    link = stat.S_ISLNK(info.st_mode)
                    target = os.fsencode(Path(entry.path).readlink()) if link else b""
                except OSError:
                    self.errors += 1
                    continue
                if winsys.is_reparse_point(info):
                    if self.on_link is not None:
                        self.on_link(relative)
                    continue
                yield relative, info, target
                if stat.S_ISDIR(info.st_mode):
                    subfolders.append((entry.path, entry_parts, place == "all"))
            pending.extend(reversed(subfolders))  # the first in name order is walked next


def scan(
    source: Path,
    folders: Sequence[str] = (),
    ignore: Sequence[str] = (),
    *,
    clock_ns: Callable[[], int] = time.time_ns,
    observe: Callable[[str, os.stat_result], None] | None = None,
    on_link: Callable[[str], None] | None = None,
) -> Manifest:
    """One stat walk of source (os.scandir, no symlink following), restricted like the snapshot.

    observe(relative, lstat) sees every entry, so other checks ride on this one walk; on_link
    hears of each reparse point left out."""
    started = clock_ns()
    walk = _Walk(source, _Selection.build(folders, ignore), on_link=on_link)
    digest = hashlib.sha256()
    count = newest = 0
    for relative, info, target in walk:
        if observe is not None:
            observe(relative, info)
        digest.update(_record(os.fsencode(relative), info, target))
        count += 1
        if not stat.S_ISDIR(info.st_mode) and info.st_mtime_ns > newest:
            newest = info.st_mtime_ns
    return Manifest(
        source=os.fspath(source),
        folders=tuple(folders),
        ignore=tuple(ignore),
        digest=digest.hexdigest(),
        count=count,
        scanned_at_ns=started,
        newest_mtime_ns=newest,
        errors=walk.errors,
    )


def paths(source: Path, folders: Sequence[str] = (), ignore: Sequence[str] = ()) -> list[str]:
    """The relative paths a scan covers ('.' is the root), sorted: to check the selection."""
    return sorted(relative for relative, _, _ in _Walk(source, _Selection.build(folders, ignore)))


def _record(relative: bytes, info: os.stat_result, target: bytes) -> bytes:
    """One entry, unambiguous (NUL ends each variable part); folders carry no size or mtime."""
    if stat.S_ISDIR(info.st_mode):
        fields = f"{info.st_mode} {info.st_uid} {info.st_gid}"
    else:
        fields = f"{info.st_mode} {info.st_uid} {info.st_gid} {info.st_size} {info.st_mtime_ns}"
    return relative + b"\0" + fields.encode() + b"\0" + target + b"\0"


# ---------------------------------------------------------------------------
# Comparing, saving, loading


def unchanged(
    current: Manifest, saved: Manifest | None, *, doubt_seconds: float = DOUBT_SECONDS
) -> bool:
    """True only when the walk proves nothing rdiff-backup looks at changed since `saved`."""
    if saved is None or current.format != FORMAT or saved.format != FORMAT:
        return False
    if not (current.complete and saved.complete):
        return False
    same_selection = (
        current.source == saved.source
        and current.folders == saved.folders
        and current.ignore == saved.ignore
        and current.mark == saved.mark
    )
    if not same_selection:
        return False
    if current.count != saved.count or current.digest != saved.digest:
        return False
    return saved.settled(doubt_seconds) and current.scanned_at_ns >= saved.scanned_at_ns


def save(manifest: Manifest, path: Path) -> None:
    """Written whole or not at all."""
    atomic_write(path, json.dumps(as_data(manifest), sort_keys=True, indent=1))


def load(path: Path) -> Manifest | None:
    """The saved manifest, or None when it is missing, unreadable, corrupt or of another format."""
    try:
        return from_data(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def as_data(manifest: Manifest) -> dict[str, object]:
    """A manifest as JSON-ready data (for a record that holds more than one)."""
    return dataclasses.asdict(manifest)


def from_data(data: object) -> Manifest | None:
    """The manifest that as_data gave, or None for anything else (damaged, another format)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        manifest = Manifest(
            source=_typed(data["source"], str),
            folders=tuple(_typed(f, str) for f in _typed(data["folders"], list)),
            ignore=tuple(_typed(p, str) for p in _typed(data["ignore"], list)),
            digest=_typed(data["digest"], str),
            count=_typed(data["count"], int),
            scanned_at_ns=_typed(data["scanned_at_ns"], int),
            newest_mtime_ns=_typed(data["newest_mtime_ns"], int),
            errors=_typed(data["errors"], int),
            mark=_typed(data["mark"], str),
            format=FORMAT,
        )
    except (KeyError, TypeError):
        return None
    return manifest if len(manifest.digest) == 64 else None


def _typed(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return value


__all__ = [
    "DOUBT_SECONDS",
    "Manifest",
    "as_data",
    "from_data",
    "load",
    "paths",
    "save",
    "scan",
    "unchanged",
]
