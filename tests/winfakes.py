"""Thin fakes of what Windows answers where Linux cannot: a folder listing whose entries carry
Windows' file attributes, and a path length limit.

- `windows_profile(...)`: os.scandir as Windows answers it inside a user profile. The named
  entries are reparse points (FILE_ATTRIBUTE_REPARSE_POINT in their stat, as for the hidden
  "My Music" junction in Documents or a OneDrive file kept online), and listing a junction is
  denied (restic#338, rclone#3948). Everything else is the real listing of the real folder.
- `windows_max_path(...)`: the file calls refuse a path of 260 characters or more unless it
  carries the `\\\\?\\` prefix (MAX_PATH without LongPathsEnabled), and winsys.long_path
  gives the prefix as it does on Windows. The prefix is taken off before the real call.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
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


EXTENDED = "\\\\?\\"
MAX_PATH = 260
LONG_PATH_FROM = 248  # as winsys.long_path: a folder needs room for an 8.3 name inside
# the calls that take paths, each wrapped: builtins.open and io.open, and these os functions
GUARDED = ("scandir", "lstat", "stat", "mkdir", "open", "replace", "rename", "link", "unlink",
           "rmdir", "remove")  # fmt: skip


def _as_windows_sees_it(value: Any) -> tuple[Any, bool]:
    """(the path for the real call, whether Windows refuses it); non-paths pass unchanged."""
    if isinstance(value, bool | int) or not isinstance(value, str | bytes | os.PathLike):
        return value, False
    text = os.fsdecode(os.fspath(value))
    if text.startswith(EXTENDED):
        return text[len(EXTENDED) :], False
    return value, len(text) >= MAX_PATH


def _refusing(real: Any, name: str) -> Any:
    @functools.wraps(real)
    def call(*args: Any, **kwargs: Any) -> Any:
        plain = []
        for value in args:
            value, refused = _as_windows_sees_it(value)
            if refused:
                raise FileNotFoundError(3, "The system cannot find the path specified", value)
            plain.append(value)
        result = real(*plain, **kwargs)
        if name == "scandir" and args and isinstance(args[0], str) and args[0].startswith(EXTENDED):
            return _Listing([_Prefixed(e) for e in result])  # entries keep the prefix, as there
        return result

    return call


class _Prefixed:
    def __init__(self, real: os.DirEntry) -> None:
        self._real = real
        self.name, self.path = real.name, EXTENDED + real.path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _long_path(path: Any, *, windows: bool = True) -> str:
    text = str(path)
    if len(text) < LONG_PATH_FROM or text.startswith(EXTENDED):
        return text
    return EXTENDED + text


@contextlib.contextmanager
def windows_max_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """While inside: Windows' 260-character limit on plain paths, and its way out."""
    from megabackup import winsys

    with monkeypatch.context() as patch:
        patch.setattr(winsys, "long_path", _long_path)
        for name in GUARDED:
            patch.setattr(os, name, _refusing(getattr(os, name), name))
        real_abspath = os.path.abspath  # an extended path is a full path already, as in ntpath
        patch.setattr(
            os.path, "abspath", lambda p: p if str(p).startswith(EXTENDED) else real_abspath(p)
        )
        patch.setattr(builtins, "open", _refusing(builtins.open, "open"))
        patch.setattr(io, "open", _refusing(io.open, "open"))
        yield
