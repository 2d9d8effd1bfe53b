"""Looking out for places that are away, and for the USB drive being plugged in.

While the newest cycle found a place away, the tray looks for it once a minute, cheaply: the
folder's existence (asked for at most a second, so a share that does not answer never holds up
the tray) and, for the drive, the drive list and its marker. A place that is back, and still
there after a short settle, is reported so that a cycle can catch up what waited for it.

The drive is also looked for when it was there at the last cycle: plugging it in is "start when
the drive is connected" (Back In Time's udev mode, SyncBack's "on insert") without their
pitfall, a backup started before the drive can be read (backintime#1260): a drive counts as
connected only once its marker is readable, and then only after the settle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

from megabackup import places
from megabackup.settings import Settings

WATCH_SECONDS = 60.0  # how often a place that is away is looked for
SETTLE_SECONDS = 30.0  # a place back this long (and still there) starts the catch-up
LOOK_SECONDS = 1.0  # a share that does not answer in a second is still away

DriveRoots = Callable[[], list[Path]]
Look = Callable[[Path, float], places.Look]


class Lookout:
    """What is away, what has come back, and when to look next; the worker asks it on every
    tick and tells it what each cycle found away. No thread of its own."""

    def __init__(
        self,
        *,
        drive_roots: DriveRoots | None = None,
        look: Look = places.look,
        watch_seconds: float = WATCH_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self._drive_roots = drive_roots  # None: the mounted drives (places.candidate_roots)
        self._look = look
        self.watch_seconds = watch_seconds
        self.settle_seconds = settle_seconds
        self._away: set[str] = set()
        self._back: dict[str, float] = {}  # place -> when it was first seen back
        self._drive_seen: bool | None = None  # None: not looked at yet
        self._looked = -math.inf

    def expect(self, away: Iterable[str]) -> None:
        """The places the newest cycle found away (after each cycle, and at start-up)."""
        self._away = set(away)
        self._back = {place: when for place, when in self._back.items() if place in self._away}

    def settled(self) -> None:
        """The places back have been dealt with (a cycle started, or none was needed)."""
        self._away -= set(self._back)
        self._back.clear()

    def back(self, settings: Settings, now: float) -> list[str]:
        """The places back for the settle time: a cycle may catch up now. Looks once a minute."""
        if now - self._looked >= self.watch_seconds:
            self._looked = now
            self._look_around(settings, now)
        return sorted(p for p, when in self._back.items() if now - when >= self.settle_seconds)

    def next_look(self, now: float) -> float:
        """When `back` has something new to say at the earliest (the worker's next tick)."""
        settling = [when + self.settle_seconds for when in self._back.values()]
        return min([self._looked + self.watch_seconds, *settling])

    def _look_around(self, settings: Settings, now: float) -> None:
        for name in self._away - {places.EXTERNAL_DRIVE.name}:
            self._note(name, self._present(settings, name), now)
        if settings.schedule.on_drive_connected:
            connected = self._drive_connected(settings)
            appeared = self._drive_seen is False or places.EXTERNAL_DRIVE.name in self._away
            self._drive_seen = connected
            self._note(places.EXTERNAL_DRIVE.name, connected and appeared, now)

    def _note(self, name: str, present: bool, now: float) -> None:
        if not present:
            self._back.pop(name, None)  # gone again before it settled: wait for the next time
        else:
            self._back.setdefault(name, now)

    def _present(self, settings: Settings, name: str) -> bool:
        place = places.place(name)
        path = place.path(settings)
        if path is None:
            return False
        if self._look(path, LOOK_SECONDS).present:
            return True
        # the desktop backup's folder is made by its first snapshot: its disk being there is enough
        return place is places.DESKTOP_BACKUP and self._look(path.parent, LOOK_SECONDS).present

    def _drive_connected(self, settings: Settings) -> bool:
        roots = self._drive_roots() if self._drive_roots is not None else None
        try:
            found = places.find_external(settings.external.name, settings.external.path, roots)
        except places.PlaceError:  # another drive, or one without its marker: not ours
            return False
        return found.found
