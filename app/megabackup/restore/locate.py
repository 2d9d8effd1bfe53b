"""Where a file's copies can be: what a PATH the person gives names, the live folders that may
hold it, and the repositories that may hold its snapshots (the desktop backup first: it is
local, so faster, and present).

A PATH may be the desktop path, the server path, a server data path, or relative to home; a
relative path that is in no home backup is looked up in the data backup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from megabackup import places
from megabackup.errors import MegaBackupError
from megabackup.outcome import ExitCode
from megabackup.settings import Settings

HOME, DATA = places.HOME, places.DATA
DESKTOP_BACKUP, EXTERNAL_DRIVE = places.DESKTOP_BACKUP.name, places.EXTERNAL_DRIVE.name


class RestoreError(MegaBackupError):
    """One plain sentence about why the request cannot be met.

    usage=True: the request itself cannot be met as asked (a path in no backup, a time before the
    first snapshot, an unreadable time); False: something failed (a repository or destination).
    """

    def __init__(self, message: str, usage: bool = False) -> None:
        super().__init__(message, exit_code=ExitCode.USAGE if usage else ExitCode.FAILED)
        self.usage = usage


@dataclass(frozen=True)
class Target:
    """What a PATH names: a kind of place and a path relative to it, with forward slashes."""

    kind: str  # home | data
    relative: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative).name

    def normalised(self) -> Target:
        return Target(self.kind, checked_relative(self.relative, self.relative))


@dataclass(frozen=True)
class Repository:
    label: str  # desktop backup | external drive
    path: Path


class Locator:
    """The places of one settings file; the drive is looked for once, on first need."""

    def __init__(self, settings: Settings, drive: Path | str | None = "find") -> None:
        self.settings = settings
        self._drive_given = drive
        self._drive: tuple[Path | None, str] | None = None

    def drive(self) -> tuple[Path | None, str]:
        """The external drive folder, or None and why it is not available."""
        if self._drive is None:
            if self._drive_given != "find":
                given = self._drive_given
                self._drive = (Path(given) if given else None, "not connected")
            else:
                external = self.settings.external
                try:
                    lookup = places.find_external(external.name, external.path)
                    self._drive = (lookup.path, lookup.reason)
                except places.PlaceError as exc:
                    self._drive = (None, str(exc))
        return self._drive

    def repositories(self, kind: str) -> tuple[list[Repository], list[str]]:
        """The repositories holding this kind, best first, and notes on those not available."""
        found: list[Repository] = []
        notes: list[str] = []
        drive, reason = self.drive()
        for place in places.SOURCES:  # the desktop backup first: local, so faster, and present
            if place.kind != kind:
                continue
            repository = place.repository(self.settings, drive)
            if repository is not None:
                found.append(Repository(place.target, repository))
            elif place.target == EXTERNAL_DRIVE:
                notes.append(f"external drive: {reason}")
        return found, notes

    def live_roots(self, kind: str) -> list[tuple[str, Path]]:
        if kind == HOME:
            return [("desktop", self.settings.desktop.home), ("server", self.settings.server.home)]
        data = self.settings.server.data
        return [("server", data)] if data is not None else []

    def resolve(self, path: str | Path) -> list[Target]:
        """The targets a PATH may mean, most likely first."""
        text = str(path)  # as given: a name may end in a space (a share keeps such names)
        if not text.strip():
            raise RestoreError("no file or folder given", usage=True)
        given = Path(os.path.expanduser(text))
        settings = self.settings
        if given.is_absolute():
            roots: list[tuple[str, Path | None]] = [
                (HOME, settings.desktop.home),
                (HOME, settings.server.home),
                (DATA, settings.server.data),
                (HOME, places.DESKTOP_HOME.repository(settings, None)),
            ]
            for kind, root in roots:
                relative = _relative_to(given, root)
                if relative is not None:
                    return [Target(kind, checked_relative(relative, text))]
            data = f" or the server data ({settings.server.data})" if settings.server.data else ""
            raise RestoreError(
                f"{text} is not inside the desktop home ({settings.desktop.home}), the "
                f"server home ({settings.server.home}){data}; give a path inside one of them, "
                "or relative to home",
                usage=True,
            )
        relative = checked_relative(text.replace("\\", "/"), text)
        targets = [Target(HOME, relative)]
        if settings.server.data is not None:
            targets.append(Target(DATA, relative))
        return targets

    def labels(self, targets: list[Target]) -> list[str]:
        """The repositories looked in for these targets, in words, each once."""
        labels: list[str] = []
        for target in targets:
            for repository in self.repositories(target.kind)[0]:
                label = f"{repository.label} ({repository.path})"
                if label not in labels:
                    labels.append(label)
        return labels


def checked_relative(relative: str, given: str) -> str:
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise RestoreError(f"{given}: '..' is not allowed in the path", usage=True)
    if not parts:
        raise RestoreError(f"{given} is a whole place; name a file or folder inside it", usage=True)
    return "/".join(parts)


def _relative_to(path: Path, root: Path | None) -> str | None:
    if root is None:
        return None
    path_parts = Path(os.path.abspath(path)).parts
    root_parts = Path(os.path.abspath(root)).parts
    if len(path_parts) < len(root_parts):
        return None
    head = path_parts[: len(root_parts)]
    if [os.path.normcase(p) for p in head] != [os.path.normcase(p) for p in root_parts]:
        return None
    return "/".join(path_parts[len(root_parts) :])
