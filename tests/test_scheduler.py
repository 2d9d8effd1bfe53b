"""The schedule: due times with sleeps, catch-up, retries, wrong clocks, and the saved pause."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megabackup.tray.scheduler import (
    FIRST_RETRY_SECONDS,
    SETTLE_SECONDS,
    PauseState,
    Scheduler,
    due_time,
    load_pause,
    pause_end,
    retry_delay,
    save_pause,
    slept,
)

HOUR = 3600.0
T0 = 1_800_000_000.0  # a fixed "now" so the tests do not depend on the machine's clock


def test_a_fresh_install_backs_up_after_the_settle_time() -> None:
    due = due_time(None, 4, failures=0, now=T0, watching_since=T0)
    assert (due.at, due.reason) == (T0 + SETTLE_SECONDS, "first")


def test_the_next_cycle_is_every_hours_after_the_last_one_ended() -> None:
    due = due_time(T0 - HOUR, 4, failures=0, now=T0, watching_since=T0 - 2 * HOUR)
    assert (due.at, due.reason) == (T0 + 3 * HOUR, "scheduled")


def test_a_cycle_that_falls_due_while_watching_runs_at_once_not_after_a_settle() -> None:
    due = due_time(T0 - 4 * HOUR, 4, failures=0, now=T0, watching_since=T0 - 5 * HOUR)
    assert due.at == T0 and due.reason == "scheduled"


def test_a_cycle_missed_while_off_or_asleep_catches_up_after_the_settle_time() -> None:
    # The last backup was 10 hours ago; the machine woke (or started) a moment ago.
    woke = T0 - 5
    due = due_time(T0 - 10 * HOUR, 4, failures=0, now=T0, watching_since=woke)
    assert (due.at, due.reason) == (woke + SETTLE_SECONDS, "catch-up")


def test_a_last_run_in_the_future_is_not_trusted() -> None:
    # A clock that ran a year ahead must not stop backups until next year (users-ask #4).
    due = due_time(T0 + 365 * 24 * HOUR, 4, failures=0, now=T0, watching_since=T0 - HOUR)
    assert due.reason == "catch-up"
    assert due.at == T0


@pytest.mark.parametrize(
    ("failures", "minutes"), [(1, 5), (2, 10), (3, 20), (4, 40), (5, 80), (6, 160), (9, 240)]
)
def test_retries_back_off_and_never_wait_longer_than_the_interval(
    failures: int, minutes: int
) -> None:
    assert retry_delay(failures, every_hours=4) == minutes * 60
    due = due_time(T0, 4, failures=failures, now=T0, watching_since=T0 - HOUR)
    assert (due.at, due.reason) == (T0 + minutes * 60, "retry")


@given(
    last=st.floats(min_value=T0 - 90 * 24 * HOUR, max_value=T0 + 90 * 24 * HOUR),
    every=st.floats(min_value=0.25, max_value=24 * 31),
    failures=st.integers(min_value=0, max_value=50),
    watched=st.floats(min_value=0, max_value=30 * 24 * HOUR),
)
def test_the_next_cycle_is_never_stuck_in_the_far_future(
    last: float, every: float, failures: int, watched: float
) -> None:
    """Whatever the history says, a backup comes within one interval plus the settle time."""
    now = T0
    due = due_time(last, every, failures=failures, now=now, watching_since=now - watched)
    assert due.at <= now + every * HOUR + SETTLE_SECONDS + 1e-6


def test_sleep_is_seen_on_the_wall_clock() -> None:
    assert not slept(T0, T0 + 20, asked_seconds=20)
    assert not slept(T0, T0 + 70, asked_seconds=20)  # a busy machine is a bit late, not asleep
    assert slept(T0, T0 + 3 * HOUR, asked_seconds=20)  # the lid was closed
    assert slept(T0, T0 - HOUR, asked_seconds=20)  # the clock was set back


def test_after_a_sleep_an_overdue_cycle_waits_to_settle(tmp_path: Path) -> None:
    scheduler = Scheduler(tmp_path / "state.json", now=T0)
    scheduler.record(T0 - 3 * HOUR, needs_retry=False)
    assert scheduler.due(4, T0).at == T0 + HOUR
    woke = T0 + 8 * HOUR
    assert scheduler.tick(woke, asked_seconds=20)
    due = scheduler.due(4, woke)
    assert (due.at, due.reason) == (woke + SETTLE_SECONDS, "catch-up")


def test_failures_count_up_and_a_good_cycle_resets_them(tmp_path: Path) -> None:
    scheduler = Scheduler(tmp_path / "state.json", now=T0)
    scheduler.record(T0, needs_retry=True)
    scheduler.record(T0 + 300, needs_retry=True)
    assert scheduler.due(4, T0 + 300).at == T0 + 300 + 2 * FIRST_RETRY_SECONDS
    scheduler.record(T0 + 900, needs_retry=False)
    assert scheduler.due(4, T0 + 900).at == T0 + 900 + 4 * HOUR


def test_pause_choices() -> None:
    assert pause_end("30m", T0) == T0 + 1800
    assert pause_end("1h", T0) == T0 + HOUR
    assert pause_end("4h", T0) == T0 + 4 * HOUR
    tomorrow = dt.datetime.fromtimestamp(pause_end("tomorrow", T0))  # type: ignore[arg-type]
    today = dt.datetime.fromtimestamp(T0)
    assert (tomorrow.date() - today.date()).days == 1
    assert (tomorrow.hour, tomorrow.minute) == (8, 0)
    with pytest.raises(ValueError, match="unknown pause"):
        pause_end("forever and ever", T0)


def test_a_pause_holds_the_schedule_and_ends_by_itself(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    scheduler = Scheduler(state, now=T0)
    scheduler.record(T0 - 5 * HOUR, needs_retry=False)  # overdue
    scheduler.set_pause(PauseState(True, T0 + HOUR))
    assert scheduler.due(4, T0).at == T0 + HOUR
    scheduler.tick(T0 + HOUR + 1, asked_seconds=HOUR)
    assert not scheduler.pause.paused
    assert not load_pause(state).paused  # the end is saved too


def test_until_i_resume_means_no_scheduled_cycle(tmp_path: Path) -> None:
    scheduler = Scheduler(tmp_path / "state.json", now=T0)
    scheduler.set_pause(PauseState(True, None))
    assert scheduler.due(4, T0 + 30 * 24 * HOUR) is None


def test_the_pause_survives_a_restart_and_keeps_other_state(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"other": {"kept": True}}))
    Scheduler(state, now=T0).set_pause(PauseState(True, T0 + 600))
    again = Scheduler(state, now=T0 + 1)
    assert again.pause == PauseState(True, T0 + 600)
    assert json.loads(state.read_text())["other"] == {"kept": True}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left behind


@pytest.mark.parametrize(
    "text",
    ["", "{not json", "[]", '{"pause": 3}', '{"pause": {"paused": true, "until": "soon"}}'],
)
def test_a_damaged_state_file_means_not_paused(tmp_path: Path, text: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(text)
    assert load_pause(state) == PauseState()
    save_pause(state, PauseState(True, None))  # and it can be written over
    assert load_pause(state) == PauseState(True, None)
