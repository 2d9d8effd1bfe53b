"""Power: the PC stays awake while a cycle runs, and whether it runs on battery. A leaf.

On Windows both go through winsys (SetThreadExecutionState, GetSystemPowerStatus). Elsewhere the
battery is read with psutil, and staying awake is left to the desktop (a Linux or macOS tray
app cannot hold off sleep without a session-bus or system service of its own).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from megabackup import winsys

log = logging.getLogger(__name__)


@contextlib.contextmanager
def kept_awake(*, windows: bool = os.name == "nt", kernel32: Any = None) -> Iterator[None]:
    """The PC does not go to sleep while the block runs (a cycle cut off by sleep is repaired
    by the next one, but a backup that never finishes on a laptop that always sleeps is none).
    Enter and leave on the same thread: Windows ties the request to the thread."""
    asked = False
    if windows:
        try:
            asked = winsys.stay_awake(True, kernel32)
        except OSError as exc:  # never a reason not to back up
            log.warning("could not keep the PC awake: %s", exc)
    try:
        yield
    finally:
        if asked:
            with contextlib.suppress(OSError):
                winsys.stay_awake(False, kernel32)


def on_battery(
    *,
    windows: bool = os.name == "nt",
    kernel32: Any = None,
    battery: Callable[[], Any] | None = None,
) -> bool:
    """True when the PC runs on its battery now; False on mains power, without a battery, or
    when it cannot be told (a backup is never held back by a doubt)."""
    if windows:
        try:
            return winsys.on_battery(kernel32)
        except OSError:
            return False
    if battery is None:
        import psutil  # here, not at the top: a backup cycle never asks, and its start-up counts

        battery = psutil.sensors_battery
    try:
        reading = battery()
    except Exception:  # psutil reads /sys or IOKit; a missing or odd source is no battery
        return False
    return reading is not None and reading.power_plugged is False
