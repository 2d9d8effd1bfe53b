"""The tray's menu and status line as plain data, built from the worker's latest snapshot.

Pure functions, no pystray: the tests check every state without a display, and tray.py turns
the items into pystray menu items. Actions are short strings; `command_for` maps the ones that
concern the worker to its commands.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

from megabackup.notify import TOOLTIP_LIMIT, clip
from megabackup.outcome import Outcome
from megabackup.tray.firstrun import FILL_IN
from megabackup.tray.icons import IconState
from megabackup.tray.scheduler import pause_end
from megabackup.tray.state import TrayState
from megabackup.tray.worker import BackupNow, Cancel, Command, Pause, Quit, Resume
from megabackup.words import age_text

RESTORE_TEXT = "Restore a file\u2026"
HISTORY_TEXT = "History\u2026"
SETTINGS_TEXT = "Settings\u2026"

PAUSE_CHOICES = (
    ("30 minutes", "30m"),
    ("1 hour", "1h"),
    ("4 hours", "4h"),
    ("Until tomorrow", "tomorrow"),
    ("Until I resume", "forever"),
)


@dataclass(frozen=True)
class Item:
    text: str
    action: str = ""  # "" for the status line and for a submenu's parent
    enabled: bool = True
    checked: bool | None = None  # None: not a checkable item
    default: bool = False
    submenu: tuple[Item, ...] = ()


SEPARATOR = Item("-", enabled=False)


@dataclass(frozen=True)
class View:
    state: IconState
    line: str
    progress: float | None = None  # 0..1 while a cycle runs

    @property
    def tooltip(self) -> str:
        return clip(self.line, TOOLTIP_LIMIT)


def view(snapshot: TrayState) -> View:
    """The icon state and the status line: the first thing that needs the person wins."""
    found = _view(snapshot)
    if snapshot.power_hold and found.state in _CALM:
        return View(found.state, found.line + "; on battery, the next backup waits for power")
    return found


_CALM = (IconState.OK, IconState.WAITING, IconState.WARNING, IconState.OVERDUE)
# How an away place reads in the status line, by the place's name.
_AWAY_WORDS = {
    "server home": "Server not reachable",
    "server data": "Server not reachable",
    "external drive": "USB drive not connected",
    "desktop backup": "Backup disk not connected",
    "desktop home": "Home folder not found",
}


def _view(snapshot: TrayState) -> View:
    now = snapshot.taken
    if snapshot.stopped and snapshot.quitting:
        return View(IconState.PAUSED, "MegaBackup has stopped")
    if snapshot.stopped:
        return View(IconState.ERROR, "MegaBackup stopped working; see the log and start it again")
    if snapshot.running:
        return _running(snapshot)
    if not snapshot.settings_usable and snapshot.settings_problem == FILL_IN:
        return View(IconState.PAUSED, f"Welcome! To start, {FILL_IN} ({SETTINGS_TEXT})")
    if not snapshot.settings_usable:
        return View(IconState.ERROR, f"Settings need fixing: {snapshot.settings_problem}")
    if snapshot.paused:
        until = snapshot.paused_until
        text = "you resume" if until is None else clock_text(until, now)
        return View(IconState.PAUSED, f"Paused until {text}")
    if snapshot.busy_elsewhere:
        return View(IconState.RUNNING, "A backup started elsewhere is running")
    retry = _next_try(snapshot)
    if snapshot.last_outcome == Outcome.INTERRUPTED:  # cut off by a crash or power cut
        return View(IconState.ERROR, "The last backup was cut off; the next one repairs it" + retry)
    if snapshot.last_outcome == Outcome.FAILED:
        why = _strip(snapshot.last_summary) or "the last backup failed"
        return View(IconState.ERROR, _capital(why) + retry)
    if snapshot.settings_problem:
        line = f"Settings have a problem (the last good ones are used): {snapshot.settings_problem}"
        return View(IconState.WARNING, line)
    if snapshot.deletions_waiting:
        count = snapshot.deletions_waiting
        return View(IconState.WARNING, f"The sync waits for your OK to pass on {count} deletions")
    if snapshot.open_conflicts:
        count = snapshot.open_conflicts
        noun = "1 conflict needs" if count == 1 else f"{count} conflicts need"
        return View(IconState.WARNING, f"{noun} a look")
    if snapshot.overdue:
        place, days = snapshot.overdue[0]
        return View(IconState.OVERDUE, f"No good snapshot of {place} for {days} days")
    if snapshot.away and snapshot.last_outcome == Outcome.AWAY:
        return View(IconState.WAITING, _waiting(snapshot))
    if snapshot.last_finished is None:
        first = snapshot.next_due
        when = f"; the first one starts at {clock_text(first.at, now)}" if first else ""
        return View(IconState.OVERDUE, f"No backup yet{when}")
    age = age_text(max(0.0, now - snapshot.last_finished))
    if snapshot.last_outcome == Outcome.WARNING:
        return View(IconState.WARNING, f"Last backup {age}: {_strip(snapshot.last_summary)}{retry}")
    if snapshot.last_outcome == Outcome.CANCELLED:
        return View(IconState.WARNING, f"The last backup was cancelled ({age}){_next(snapshot)}")
    return View(IconState.OK, f"Last backup {age}, all good")


def _waiting(snapshot: TrayState) -> str:
    """'Server not reachable since 14:02; this PC was backed up at 16:00'."""
    now = snapshot.taken
    since: dict[str, float] = {}
    for place, when in snapshot.away:  # server home and server data read as one server
        words = _AWAY_WORDS.get(place, f"{_capital(place)} away")
        since[words] = min(when, since.get(words, when))
    line = ", ".join(f"{words} since {clock_text(when, now)}" for words, when in since.items())
    desktop_side = any(place in ("desktop home", "desktop backup") for place, _ in snapshot.away)
    who, place = ("the server", "server home") if desktop_side else ("this PC", "desktop home")
    good = dict(snapshot.backed_up).get(place)
    return line + (f"; {who} was backed up at {clock_text(good, now)}" if good else "")


def _running(snapshot: TrayState) -> View:
    progress = snapshot.progress
    if snapshot.cancelling:
        return View(IconState.RUNNING, "Cancelling the backup\u2026")
    if progress is None or progress.index == 0:
        return View(IconState.RUNNING, "Backing up: checking the places", 0.0)
    fraction = (progress.index - 1) / progress.total if progress.total else None
    line = f"Backing up: step {progress.index} of {progress.total}, {progress.title}"
    return View(IconState.RUNNING, line, fraction)


def _next_try(snapshot: TrayState) -> str:
    due = snapshot.next_due
    if due is None or not snapshot.retrying:
        return ""
    return f"; trying again at {clock_text(due.at, snapshot.taken)}"


def _next(snapshot: TrayState) -> str:
    due = snapshot.next_due
    return f"; next at {clock_text(due.at, snapshot.taken)}" if due else ""


def _strip(summary: str) -> str:
    """The engine's one-line summary without the lead-in the status line does not need."""
    for lead in ("Stopped before writing anything: ", "Done with warnings: "):
        if summary.startswith(lead):
            return summary[len(lead) :]
    return summary


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def clock_text(when: float, now: float) -> str:
    """'15:30' today, 'Tue 08:00' within a week, else the date."""
    moment, today = dt.datetime.fromtimestamp(when), dt.datetime.fromtimestamp(now)
    if moment.date() == today.date():
        return moment.strftime("%H:%M")
    if abs((moment.date() - today.date()).days) < 7:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


def native_text(text: str, platform: str = sys.platform) -> str:
    """A menu text as the platform's menu shows it literally: Win32 menus read "&" as the mark
    of a keyboard shortcut (pystray passes texts on unchanged), so a file named "Tom & Jerry"
    must be written "Tom && Jerry" there."""
    return text.replace("&", "&&") if platform == "win32" else text


def autostart_label(platform: str = sys.platform) -> str:
    return "Start with Windows" if platform == "win32" else "Start at login"


def build(
    snapshot: TrayState,
    *,
    autostart: bool | None,
    platform: str = sys.platform,
) -> tuple[Item, ...]:
    """The menu, in the documented order. `autostart` None: not supported here (item hidden)."""
    items = [Item(view(snapshot).line, enabled=False), SEPARATOR]
    if snapshot.running:
        cancel_text = "Cancelling\u2026" if snapshot.cancelling else "Cancel backup"
        items.append(Item(cancel_text, "cancel", enabled=not snapshot.cancelling))
    else:
        items.append(
            Item("Back up now", "backup", enabled=not snapshot.busy_elsewhere, default=True)
        )
        if snapshot.deletions_waiting:
            count = snapshot.deletions_waiting
            text = f"Allow {count} deletions and sync"
            action = f"allow-deletions:{count}"  # that many, not whatever comes next
            items.append(Item(text, action, enabled=not snapshot.busy_elsewhere))
    if snapshot.paused:
        items.append(Item("Resume", "resume"))
    else:
        submenu = tuple(Item(text, f"pause:{choice}") for text, choice in PAUSE_CHOICES)
        items.append(Item("Pause", submenu=submenu))
    items += [
        SEPARATOR,
        Item(RESTORE_TEXT, "restore", enabled=snapshot.settings_usable),
        Item(HISTORY_TEXT, "history"),
        Item("Open last log", "open-log", enabled=snapshot.last_log is not None),
        Item(SETTINGS_TEXT, "settings"),
    ]
    if autostart is not None:
        items.append(Item(autostart_label(platform), "autostart", checked=autostart))
    items += [SEPARATOR, Item("Quit", "quit")]
    return tuple(items)


def command_for(action: str, now: float) -> Command | None:
    """The worker command for a menu action; None for the actions the tray does itself."""
    if action == "backup":
        return BackupNow()
    if action.startswith("allow-deletions:"):
        return BackupNow(allowed_deletions=int(action.split(":", 1)[1]))
    if action == "cancel":
        return Cancel()
    if action == "resume":
        return Resume()
    if action == "quit":
        return Quit()
    if action.startswith("pause:"):
        choice = action.split(":", 1)[1]
        return Pause(None if choice == "forever" else pause_end(choice, now))
    return None
