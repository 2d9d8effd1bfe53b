"""Read the times people type for "restore as it was then": ISO dates and "3 days ago" phrases.

A time names the latest moment it covers: "2026-11-20" is the end of that day and "14:30" the end
of that minute, so "as of 2026-11-20" finds the last snapshot of that day, not the day before.
Times without a zone are local time. Pure: `now` is passed in, so tests pin it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from megabackup.errors import UsageError

EXAMPLES = '2026-11-20, "2026-11-20 14:30", "3 days ago", "2 hours ago", yesterday, "last week"'

_UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,  # near enough for "which snapshot"; the list shows exact times
    "year": 365 * 86400,
}
_ISO_RE = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d)"
    r"(?:[T ](?P<hour>\d\d):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:\.\d+)?)?)?"
    r"\s*(?P<zone>Z|[+-]\d\d:?\d\d)?$"
)
# A later time means "the newest snapshot"; capped where every clock (Windows' too) can show it.
_LATEST = datetime(3000, 1, 1, tzinfo=timezone.utc).timestamp()
_AGO_RE = re.compile(r"^(?P<count>\d+|an?|one)\s+(?P<unit>[a-z]+?)s?\s+ago$")


class TimePhraseError(UsageError, ValueError):
    """The text is not a time we understand; the message gives examples that are."""


def parse(text: str, now: float) -> float:
    """Epoch seconds for text, relative to now; raise TimePhraseError if it cannot be read or
    names a moment no snapshot can have (before 1970: the clock of every backup starts there)."""
    try:
        moment = _parse(text, now)
    except OverflowError:  # "10**400 days ago": no float holds it
        moment = -1.0
    if moment < 0:
        raise TimePhraseError(
            f'"{text.strip()}" is before 1970, long before any snapshot; examples: {EXAMPLES}'
        )
    return min(moment, _LATEST)


def _parse(text: str, now: float) -> float:
    phrase = " ".join(text.strip().lower().split())
    if not phrase:
        raise TimePhraseError(f"no time given; examples: {EXAMPLES}")
    if phrase in ("now", "today", "latest", "newest"):
        return now
    if phrase == "yesterday":
        start_of_today = _local(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return start_of_today.timestamp() - 1
    last = re.match(r"^last (?P<unit>[a-z]+)$", phrase)
    if last and last.group("unit") in _UNITS:
        return now - _UNITS[last.group("unit")]
    ago = _AGO_RE.match(phrase)
    if ago:
        unit = ago.group("unit")
        if unit not in _UNITS:
            raise TimePhraseError(f'"{text.strip()}": unknown unit "{unit}"; examples: {EXAMPLES}')
        count = ago.group("count")
        number = 1 if count in ("a", "an", "one") else int(count)
        return now - number * _UNITS[unit]
    iso = _ISO_RE.match(text.strip())
    if iso:
        return _iso_end(iso, text)
    raise TimePhraseError(f'cannot read the time "{text.strip()}"; examples: {EXAMPLES}')


def _iso_end(match: re.Match[str], text: str) -> float:
    """The last second the ISO text covers (a day, a minute or a second)."""
    date, hour, minute, second, zone = match.group("date", "hour", "minute", "second", "zone")
    stamp = f"{date}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    if zone:
        zone = "+00:00" if zone == "Z" else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
        stamp += zone
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        raise TimePhraseError(f'"{text.strip()}" is not a real date or time') from None
    try:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # local time, as the person means it
        if hour is None:
            moment += timedelta(days=1, seconds=-1)
        elif second is None:
            moment += timedelta(seconds=59)
        return moment.timestamp()
    except (OverflowError, ValueError, OSError):  # year 1 or 9999: beyond what a clock converts
        return -1.0 if moment.year < 1970 else _LATEST


def _local(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch).astimezone()
