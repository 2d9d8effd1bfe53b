"""Reading "as of" times: ISO dates and times, and "3 days ago"-style phrases."""

from __future__ import annotations

from datetime import datetime

import pytest

from megabackup.restore.timephrase import TimePhraseError, parse
from megabackup.words import moment_text as show

NOW = datetime(2026, 11, 30, 15, 20, 10).timestamp()  # local time, as people type it


def local(*parts: int) -> float:
    return datetime(*parts).timestamp()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20", local(2026, 11, 20, 23, 59, 59)),  # a day: its last second
        ("2026-11-20 14:30", local(2026, 11, 20, 14, 30, 59)),  # a minute: its last second
        ("2026-11-20T14:30:05", local(2026, 11, 20, 14, 30, 5)),
        ("2026-11-20 14:30:05", local(2026, 11, 20, 14, 30, 5)),
        ("yesterday", local(2026, 11, 29, 23, 59, 59)),
        ("Yesterday", local(2026, 11, 29, 23, 59, 59)),
        ("3 days ago", NOW - 3 * 86400),
        ("1 day ago", NOW - 86400),
        ("2 hours ago", NOW - 7200),
        ("an hour ago", NOW - 3600),
        ("a week ago", NOW - 7 * 86400),
        ("last week", NOW - 7 * 86400),
        ("10  minutes  ago", NOW - 600),
        ("now", NOW),
        ("today", NOW),
    ],
)
def test_phrases_and_iso_times(text: str, expected: float) -> None:
    assert parse(text, NOW) == pytest.approx(expected)


def test_a_time_with_a_zone_is_taken_as_given() -> None:
    assert (
        parse("2026-11-20T14:30:05Z", NOW)
        == datetime.fromisoformat("2026-11-20T14:30:05+00:00").timestamp()
    )
    assert (
        parse("2026-11-20T14:30:05+02:00", NOW)
        == datetime.fromisoformat("2026-11-20T12:30:05+00:00").timestamp()
    )


@pytest.mark.parametrize(
    "text", ["", "soon", "3 fortnights ago", "2026-13-01", "2026-02-30", "tomorrow-ish", "3 days"]
)
def test_unreadable_times_give_examples(text: str) -> None:
    with pytest.raises(TimePhraseError) as caught:
        parse(text, NOW)
    message = str(caught.value)
    assert "3 days ago" in message or "not a real date" in message


def test_show_is_local_and_round_trips() -> None:
    assert show(local(2026, 11, 20, 14, 30, 5)) == "2026-11-20 14:30:05"
    assert parse(show(NOW), NOW) == NOW


@pytest.mark.parametrize("text", ["0001-01-01", "1969-12-31T00:00:00Z", "800000 days ago"])
def test_times_before_any_clock_are_a_plain_error(text: str) -> None:
    with pytest.raises(TimePhraseError, match="is before 1970, long before any snapshot"):
        parse(text, NOW)


def test_a_far_future_time_means_the_newest_and_stays_showable() -> None:
    moment = parse("9999-12-31", NOW)
    assert moment > NOW
    assert show(moment).startswith(("2999", "3000"))
