"""How numbers and names are said to a person: sizes, durations, ages, moments and lists of
names. A leaf; pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

MAX_LISTED = 10  # names in one sentence; the log has them all


def size_text(count: float) -> str:
    """'512 bytes', '1.5 KB', '3.2 GB'."""
    units = ("bytes", "KB", "MB", "GB", "TB")
    index = 0
    while count >= 1024 and index < len(units) - 1:
        count /= 1024
        index += 1
    return f"{count:.0f} bytes" if index == 0 else f"{count:.1f} {units[index]}"


def duration_text(seconds: float) -> str:
    """'45 seconds', '12 minutes', '3.5 hours', '2.0 days'."""
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86_400:.1f} days"


def age_text(seconds: float) -> str:
    """'just now', '5 minutes ago', '2 hours ago', '3 days ago'."""
    if seconds < 90:
        return "just now"
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size * (1.5 if unit != "minute" else 1):
            count = round(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def moment_text(epoch: float, seconds: bool = True) -> str:
    """A time as people read it, in local time: 2026-11-20 14:30:05."""
    return (
        datetime.fromtimestamp(epoch)
        .astimezone()
        .strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    )


def listing(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    """'a, b, c': up to `limit` of the names, then how many more."""
    listed = ", ".join(names[:limit])
    return listed + (f" and {len(names) - limit} more" if len(names) > limit else "")


def shown(name: str) -> str:
    """A file name as it can be printed and stored: bytes that are not UTF-8 (surrogate escapes,
    as Python reads them from a POSIX disk) as \\xNN, control characters such as a newline as
    \\n or \\xNN. Names without either are unchanged."""
    if name.isprintable() and not any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return name
    raw = name.encode("utf-8", "surrogateescape")
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(_CONTROL.get(c, c) if not c.isprintable() else c for c in text)


_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"} | {
    chr(c): f"\\x{c:02x}" for c in range(32) if chr(c) not in "\n\r\t"
}
