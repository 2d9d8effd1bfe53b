"""Thin fakes of what Windows answers where Linux cannot: a folder listing whose entries carry
Windows' file attributes, and a path length limit.

- `windows_profile(...)`: os.scandir as Windows answers it inside a user profile. The named
  entries are reparse points (FILE_ATTRIBUTE_REPARSE_POINT in their stat, as for the hidden
  "My Music" junction in Documents or a OneDrive file kept online), and listing a junction is
  denied (restic#338, rclone#3948). Everything else is the real listing of the real folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FILE_ATTRIBUTE_DIRECTORY = 0x10
FILE_ATTRIBUTE_ARCHIVE = 0x20
FILE_ATTRIBUTE_REPARSE_POINT = 0x400


class WindowsStat:
    """A real stat with the st_file_attributes field that only Windows fills in."""

    def __init__(self, real: os.stat_result, attributes: int) -> None:
        self._real = real
        self.st_file_attributes = attributes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class WindowsEntry:
    def __init__(self, real: os.DirEntry, reparse: bool) -> None:
        self._real = real
        self.name, self.path = real.name, real.path
        self._reparse = reparse

    def stat(self, *, follow_symlinks: bool = True) -> WindowsStat:
        info = self._real.stat(follow_symlinks=follow_symlinks)
        attributes = FILE_ATTRIBUTE_DIRECTORY if self._real.is_dir() else FILE_ATTRIBUTE_ARCHIVE
        if self._reparse:
            attributes |= FILE_ATTRIBUTE_REPARSE_POINT
        return WindowsStat(info, attributes)

    def __getattr__(self, name: str) -> Any:  # is_dir, is_file, is_symlink, inode
        return getattr(self._real, name)


class _Listing:
    def __init__(self, entries: list[WindowsEntry]) -> None:
        self._entries = entries

    def __enter__(self) -> _Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[WindowsEntry]:
        return iter(self._entries)

    def close(self) -> None:
        return None


@contextlib.contextmanager
def windows_profile(
    monkeypatch: pytest.MonkeyPatch, reparse_points: list[Path], deny_listing: list[Path]
) -> Iterator[None]:
    """While inside: os.scandir answers as Windows would for these reparse points."""
    real_scandir = os.scandir
    flagged = {os.fspath(p) for p in reparse_points}
    denied = {os.fspath(p) for p in deny_listing}

    def scandir(path: Any = ".") -> _Listing:
        folder = os.fspath(path)
        if folder in denied:
            raise PermissionError(13, "Access is denied", folder)
        with real_scandir(folder) as entries:
            return _Listing([WindowsEntry(e, e.path in flagged) for e in entries])

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", scandir)
        yield
