"""Notifications: what to tell the person after a cycle (the policy) and how (the channels).

A leaf module: it reads a cycle result by its shape (outcome, steps, conflicts, problems) and
imports only other leaves, so the CLI, the worker and the tests share it. One cycle
gives at most one notification that sums it up. A notification that fails is logged and never
stops a backup.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from megabackup import bundle
from megabackup.outcome import Outcome
from megabackup.words import moment_text

log = logging.getLogger(__name__)

# Windows tray limits (szInfoTitle, szInfo, szTip hold one character less than their size).
TITLE_LIMIT, MESSAGE_LIMIT, TOOLTIP_LIMIT = 63, 255, 127
MAX_NAMED_FILES = 3
REPEAT_QUIET_SECONDS = 24 * 3600  # the same news from an unattended cycle is told once a day
APP_NAME = "MegaBackup"


def clip(text: str, limit: int) -> str:
    """Cut to `limit` characters, marking the cut with an ellipsis."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


class NoticeKind(str, Enum):
    FAILED = "failed"
    CONFLICTS = "conflicts"
    OVERDUE = "overdue"
    AWAY = "away"
    WARNING = "warning"
    DONE = "done"
    SETTINGS = "settings"


@dataclass(frozen=True)
class Notice:
    title: str
    message: str
    kind: NoticeKind

    def clipped(self) -> Notice:
        return Notice(
            clip(first_line(self.title), TITLE_LIMIT), clip(self.message, MESSAGE_LIMIT), self.kind
        )


@dataclass(frozen=True)
class OverduePlace:
    place: str
    days: int


class _Step(Protocol):
    title: str
    status: Outcome
    detail: str


class _Conflict(Protocol):
    path: str


class _Cycle(Protocol):
    outcome: Outcome
    problems: list[str]
    warnings: list[str]
    damaged: list[str]
    deletions_waiting: int

    @property
    def steps(self) -> Sequence[Any]: ...

    @property
    def conflicts(self) -> Sequence[Any]: ...

    def summary(self) -> str: ...


class _Freshness(Protocol):
    place: str
    last_good: float | None


class _Away(Protocol):
    place: str
    since: float
    reason: str


def overdue_places(
    places: Iterable[_Freshness], now: float, overdue_days: int
) -> tuple[OverduePlace, ...]:
    """Places whose newest good snapshot is older than the limit (never-snapshotted ones are not:
    a fresh install is not overdue, and the failing cycles already say why)."""
    found = []
    for place in places:
        if place.last_good is None:
            continue
        days = (now - place.last_good) / 86_400
        if days > overdue_days:
            found.append(OverduePlace(place.place, int(days)))
    return tuple(found)


def overdue_text(place: OverduePlace) -> str:
    return f"{place.place} has had no good snapshot for {place.days} days"


def cycle_notice(
    result: _Cycle, *, on_success: bool, overdue: Sequence[OverduePlace] = ()
) -> Notice | None:
    """The one notification for a finished cycle, or None when there is nothing to tell."""
    notice = _main_notice(result, on_success)
    if overdue:
        if notice is None:
            return overdue_notice(overdue)
        also = "; ".join(overdue_text(p) for p in overdue)
        return Notice(notice.title, f"{notice.message} Also: {also}.", notice.kind)
    return notice


def overdue_notice(overdue: Sequence[OverduePlace]) -> Notice:
    """Places with no good snapshot for too long (also told when no cycle runs, e.g. paused)."""
    first = overdue[0]
    text = "; ".join(overdue_text(p) for p in overdue)
    title = f"No good snapshot of {first.place} for {first.days} days"
    return Notice(title, text[0].upper() + text[1:] + ".", NoticeKind.OVERDUE)


def away_too_long(away: Iterable[_Away], now: float, hours: float) -> list[_Away]:
    """The places away for longer than `hours`: shorter absences are ordinary life, not news."""
    return [place for place in away if now - place.since > hours * 3600]


def away_notice(place: _Away, now: float) -> Notice:
    """One place away for a long time: say since when, and that the rest goes on."""
    hours = (now - place.since) / 3600
    length = f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"
    title = f"{place.place[:1].upper()}{place.place[1:]} away for {length}"
    message = (
        f"{place.reason[:1].upper()}{place.reason[1:]} since {moment_text(place.since, False)}. "
        "Everything else is backed up as usual; what needs it is done as soon as it is back."
    )
    return Notice(title, message, NoticeKind.AWAY)


def _main_notice(result: _Cycle, on_success: bool) -> Notice | None:
    if result.outcome == Outcome.CANCELLED and not result.problems:
        return None  # the person cancelled (or quit); telling them again is noise
    if result.problems:
        more = len(result.problems) - 1
        extra = f" (and {more} more problem{'s' if more != 1 else ''}; see the log)" if more else ""
        message = first_line(result.problems[0]) + extra + ". Nothing was written."
        return Notice("Backup stopped before it started", _sentence(message), NoticeKind.FAILED)
    failed = [s for s in result.steps if s.status == Outcome.FAILED]
    if failed:
        step = failed[0]
        why = first_line(step.detail) or "see the log"
        return Notice(f"Backup failed: {step.title}", _sentence(why), NoticeKind.FAILED)
    damaged = result.damaged
    if damaged:
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        message = f"{first_line(damaged[0])}{more}. Run megabackup verify for the full list."
        return Notice("A backup has damaged files", _sentence(message), NoticeKind.FAILED)
    waiting = result.deletions_waiting
    if waiting:
        message = (
            f"{waiting} files and folders were deleted on one side since the last sync. If that "
            f'was you, choose "Allow {waiting} deletions and sync" in the menu.'
        )
        return Notice("The sync waits for your OK", message, NoticeKind.WARNING)
    conflicts = list(result.conflicts)
    if conflicts:
        count = len(conflicts)
        names = ", ".join(c.path for c in conflicts[:MAX_NAMED_FILES])
        if count > MAX_NAMED_FILES:
            names += f" and {count - MAX_NAMED_FILES} more"
        title = (
            f"{count} conflict{'s' if count != 1 else ''} need{'s' if count == 1 else ''} a look"
        )
        message = f"Changed on both sides; both versions are kept: {names}."
        return Notice(title, message, NoticeKind.CONFLICTS)
    if result.outcome == Outcome.WARNING:
        return Notice("Backup done, with warnings", _sentence(result.summary()), NoticeKind.WARNING)
    if result.outcome == Outcome.OK and on_success:
        return Notice("Backup finished", _sentence(result.summary()), NoticeKind.DONE)
    return None


def settings_notice(error: Exception) -> Notice:
    """Invalid settings: name the first problems; the last good settings stay in force."""
    problems = getattr(error, "problems", None) or []
    listed = "; ".join(str(p) for p in problems[:2]) or first_line(str(error))
    if len(problems) > 2:
        listed += f"; and {len(problems) - 2} more"
    source = getattr(error, "source", None)
    where = f"{Path(source).name}: " if source else ""
    message = f"{where}{listed}. The last good settings stay in force until this is fixed."
    return Notice("Settings have a problem", message, NoticeKind.SETTINGS)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


class Repeats:
    """Keeps unattended cycles from telling the same news over and over (a flood is ignored)."""

    def __init__(self, quiet_seconds: float = REPEAT_QUIET_SECONDS) -> None:
        self.quiet_seconds = quiet_seconds
        self._last: tuple[str, str] | None = None
        self._when = 0.0

    def allow(self, notice: Notice, now: float, *, asked: bool) -> bool:
        """`asked`: the person started this cycle and waits for its news, so it is always told."""
        key = (notice.title, notice.message)
        if not asked and key == self._last and now - self._when < self.quiet_seconds:
            return False
        self._last, self._when = key, now
        return True


Channel = Callable[[Notice], None]


class Notifier:
    """Tries each channel in order until one delivers; never raises."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self.channels = list(channels)

    def __call__(self, notice: Notice) -> bool:
        notice = notice.clipped()
        log.info("notification: %s | %s", notice.title, notice.message)
        for channel in self.channels:
            try:
                channel(notice)
                return True
            except Exception as exc:  # a broken notification must never stop a backup
                log.warning("notification by %s failed: %r", _name(channel), exc)
        return False


def tray_channel(icon: Any) -> Channel:
    """The tray icon's own notification (a toast on Windows; no extra icon, no extra thread)."""

    def send(notice: Notice) -> None:
        icon.notify(notice.message, notice.title)

    send.__name__ = "tray icon"
    return send


def plyer_channel(app_icon: Path | None = None, timeout: int = 10) -> Channel:
    def send(notice: Notice) -> None:
        from plyer import notification  # imported late: it picks its platform module on first use

        notification.notify(
            title=notice.title,
            message=notice.message,
            app_name=APP_NAME,
            app_icon=str(app_icon) if app_icon else "",
            timeout=timeout,
        )

    send.__name__ = "plyer"
    return send


def default_icon_file() -> Path | None:
    """The shipped icon plyer can show: an .ico on Windows (it needs one), a PNG elsewhere."""
    base = bundle.resources_dir() / "icons"
    icon = base / ("megabackup.ico" if sys.platform == "win32" else "megabackup-ok.png")
    return icon if icon.is_file() else None


def _name(channel: Channel) -> str:
    return getattr(channel, "__name__", repr(channel))
