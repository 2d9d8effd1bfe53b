"""The notification policy (what one cycle tells) and the channels (how, never failing a backup)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from megabackup.demo import build_places
from megabackup.engine.results import CycleResult, StepResult
from megabackup.engine.status import AwayPlace, PlaceFreshness
from megabackup.history import ConflictRecord
from megabackup.notify import (
    MESSAGE_LIMIT,
    TITLE_LIMIT,
    Notice,
    Notifier,
    OverduePlace,
    Repeats,
    away_notice,
    away_too_long,
    clip,
    cycle_notice,
    overdue_places,
    settings_notice,
)
from megabackup.outcome import Outcome, Resolution
from megabackup.settings import SettingsError, parse

GUI = Path(__file__).parent / "gui"
DAY = 86_400.0


def _result(outcome: Outcome, steps: list[StepResult] | None = None, **kwargs) -> CycleResult:
    return CycleResult(1, 0.0, 1.0, outcome, steps or [], **kwargs)


def _ok_steps() -> list[StepResult]:
    sync = StepResult("sync-home", "syncing home", Outcome.OK, to_desktop=1, to_server=3)
    return [StepResult("snapshot-server-home", "snapshot of server home", Outcome.OK), sync]


def test_a_good_cycle_says_so_when_asked() -> None:
    notice = cycle_notice(_result(Outcome.OK, _ok_steps()), on_success=True)
    assert notice == Notice("Backup finished", "All good: 3 to server, 1 to desktop.", "done")


def test_a_good_cycle_is_quiet_when_on_success_is_off() -> None:
    assert cycle_notice(_result(Outcome.OK, _ok_steps()), on_success=False) is None


def test_a_cycle_that_waits_for_a_place_away_is_quiet_even_on_success() -> None:
    steps = [StepResult("snapshot-server-home", "snapshot of server home", Outcome.AWAY, "x")]
    away = {"server home": "the server home //nas/andy is not reachable"}
    assert cycle_notice(_result(Outcome.AWAY, steps, away=away), on_success=True) is None


def test_a_place_away_too_long_is_told_with_since_when() -> None:
    now = 1_796_000_000.0
    share = AwayPlace("server home", now - 26 * 3600, "the server home //nas/andy is not reachable")
    drive = AwayPlace("external drive", now - 3 * 3600, "the external drive is not connected")
    assert away_too_long([share, drive], now, 24) == [share]
    notice = away_notice(share, now)
    assert notice.title == "Server home away for 26 hours" and notice.kind == "away"
    assert notice.message.startswith("The server home //nas/andy is not reachable since ")
    assert "Everything else is backed up as usual" in notice.message
    week = away_notice(AwayPlace("external drive", now - 9 * DAY, "gone"), now)
    assert week.title == "External drive away for 9 days"
    assert len(week.clipped().message) <= MESSAGE_LIMIT


def test_a_cancelled_cycle_is_quiet() -> None:
    steps = [StepResult("sync-home", "syncing home", Outcome.CANCELLED, "cancelled")]
    assert cycle_notice(_result(Outcome.CANCELLED, steps), on_success=True) is None


def test_a_failed_step_names_the_step_and_the_first_line_of_why() -> None:
    failed = StepResult(
        "sync-home", "syncing home", Outcome.FAILED, "unison stopped: lost connection\nline two"
    )
    notice = cycle_notice(_result(Outcome.FAILED, [*_ok_steps()[:1], failed]), on_success=False)
    assert notice is not None
    assert notice.title == "Backup failed: syncing home"
    assert notice.message == "unison stopped: lost connection."
    assert notice.kind == "failed"


def test_a_stop_before_writing_names_the_first_problem_and_counts_the_rest() -> None:
    result = _result(
        Outcome.FAILED, problems=["the server home //nas/andy is missing", "clock off"]
    )
    notice = cycle_notice(result, on_success=False)
    assert notice is not None
    assert notice.title == "Backup stopped before it started"
    assert notice.message.startswith("the server home //nas/andy is missing (and 1 more problem")
    assert "Nothing was written" in notice.message


def test_conflicts_name_up_to_three_files_and_the_count() -> None:
    paths = [f"Documents/file {n}.txt" for n in range(5)]
    sync = StepResult(
        "sync-home",
        "syncing home",
        Outcome.WARNING,
        conflicts=[ConflictRecord(p, Resolution.KEPT_BOTH) for p in paths],
    )
    notice = cycle_notice(_result(Outcome.WARNING, [sync]), on_success=False)
    assert notice is not None
    assert notice.title == "5 conflicts need a look"
    assert "file 0.txt, Documents/file 1.txt, Documents/file 2.txt and 2 more" in notice.message
    assert "file 3" not in notice.message
    one = StepResult(
        "sync-home",
        "syncing home",
        Outcome.WARNING,
        conflicts=[ConflictRecord("a", Resolution.SKIPPED)],
    )
    single = cycle_notice(_result(Outcome.WARNING, [one]), on_success=False)
    assert single is not None and single.title == "1 conflict needs a look"


def test_a_warning_is_told_even_when_on_success_is_off() -> None:
    skipped = StepResult(
        "snapshot-server-data",
        "snapshot of server data",
        Outcome.SKIPPED,
        "the external drive is not connected",
    )
    notice = cycle_notice(_result(Outcome.WARNING, [*_ok_steps(), skipped]), on_success=False)
    assert notice is not None and notice.kind == "warning"
    assert "the external drive is not connected" in notice.message


def test_overdue_places_are_added_to_the_one_notice_not_sent_apart() -> None:
    overdue = (OverduePlace("server data", 9),)
    notice = cycle_notice(_result(Outcome.OK, _ok_steps()), on_success=True, overdue=overdue)
    assert notice is not None
    assert notice.title == "Backup finished"
    assert notice.message.endswith("Also: server data has had no good snapshot for 9 days.")
    quiet = cycle_notice(_result(Outcome.OK, _ok_steps()), on_success=False, overdue=overdue)
    assert quiet is not None
    assert quiet.title == "No good snapshot of server data for 9 days"
    assert quiet.kind == "overdue"


def test_overdue_is_counted_from_the_last_good_snapshot() -> None:
    now = 1_800_000_000.0
    places = [
        PlaceFreshness("desktop home", now - 2 * DAY),
        PlaceFreshness("server data", now - 9.5 * DAY),
        PlaceFreshness("server home", None),  # never: a fresh install is not overdue
    ]
    assert overdue_places(places, now, overdue_days=7) == (OverduePlace("server data", 9),)
    assert overdue_places(places, now, overdue_days=10) == ()


def test_invalid_settings_name_the_problem(tmp_path: Path) -> None:
    good = build_places(tmp_path).read_bytes()
    with pytest.raises(SettingsError) as caught:
        parse(good + b"[schedule]\nevery_hours = -3\n", source=Path("/x/settings.toml"))
    notice = settings_notice(caught.value)
    assert notice.title == "Settings have a problem"
    assert notice.message.startswith("settings.toml: ")
    assert "every_hours" in notice.message
    assert "last good settings stay in force" in notice.message


def test_strings_are_cut_to_the_windows_limits() -> None:
    long = Notice("T" * 200 + "\nsecond line", "m" * 1000, "failed").clipped()
    assert len(long.title) == TITLE_LIMIT and long.title.endswith("\u2026")
    assert len(long.message) == MESSAGE_LIMIT
    assert clip("short", 10) == "short"


def test_unattended_cycles_do_not_repeat_the_same_news_but_asked_ones_do() -> None:
    repeats = Repeats(quiet_seconds=DAY)
    notice = Notice("Backup done, with warnings", "drive not connected.", "warning")
    assert repeats.allow(notice, 0, asked=False)
    assert not repeats.allow(notice, 3600, asked=False)
    assert repeats.allow(notice, 7200, asked=True)  # the person clicked and waits for news
    assert repeats.allow(Notice("Backup finished", "All good.", "done"), 7300, asked=False)
    assert repeats.allow(notice, 7400, asked=False)  # different news came in between
    assert not repeats.allow(notice, 7500, asked=False)
    assert repeats.allow(notice, 7400 + DAY + 1, asked=False)


def test_a_failing_channel_falls_back_to_the_next_and_never_raises() -> None:
    sent: list[Notice] = []

    def broken(notice: Notice) -> None:
        raise RuntimeError("Shell_NotifyIconW failed")

    notifier = Notifier([broken, sent.append])
    assert notifier(Notice("t" * 100, "m", "done"))
    assert [n.title for n in sent] == ["t" * (TITLE_LIMIT - 1) + "\u2026"]
    assert not Notifier([broken])(Notice("t", "m", "done"))


# ---- `megabackup run --notify` through plyer to a real D-Bus session ----------------------------
@pytest.fixture
def notification_bus(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A private session bus with the fake notification server from tests/gui."""
    needed = [b for b in ("dbus-daemon", "notify-send") if shutil.which(b) is None]
    if needed:
        message = f"needs {', '.join(needed)} (apt-get install dbus libnotify-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert bus.stdout is not None
    address = bus.stdout.readline().strip()
    out = tmp_path / "notifications.jsonl"
    server = subprocess.Popen(
        [sys.executable, str(GUI / "fake_notifyd.py"), str(out)],
        env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address),
    )
    try:
        deadline = time.monotonic() + 10
        while not out.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.exists(), "the fake notification server did not start"
        yield address, out
    finally:
        for process in (server, bus):
            process.terminate()
            process.wait(5)


@pytest.mark.realtools
def test_run_notify_sends_one_notification_through_plyer(
    notification_bus: tuple[str, Path], tmp_path: Path
) -> None:
    address, out = notification_bus
    settings = build_places(tmp_path / "places")
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address, MEGABACKUP_HOME=str(tmp_path / "s"))
    env.pop("DISPLAY", None)
    command = [sys.executable, "-m", "megabackup", "run", "--notify", "--settings", str(settings)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    received = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(n["app"], n["summary"]) for n in received] == [("MegaBackup", "Backup finished")]
    assert received[0]["body"].startswith("All good")

    settings.write_text("[desktop]\nhome = 3\n", encoding="utf-8")
    bad = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    received = [json.loads(line) for line in out.read_text().splitlines()]
    assert received[-1]["summary"] == "Settings have a problem"
    assert "desktop.home" in received[-1]["body"]


def test_damage_found_by_the_verify_is_told_first() -> None:
    result = _result(
        Outcome.WARNING, _ok_steps(), damaged=["drive home: 2 damaged files: a.txt, b.txt"]
    )
    notice = cycle_notice(result, on_success=True)
    assert notice is not None and notice.kind == "failed"
    assert notice.title == "A backup has damaged files"
    assert "a.txt" in notice.message and "megabackup verify" in notice.message


def test_a_held_sync_asks_for_the_ok_with_the_menu_words() -> None:
    steps = [StepResult("sync-home", "syncing home", Outcome.HELD, "waiting for your OK")]
    notice = cycle_notice(_result(Outcome.WARNING, steps, deletions_waiting=41), on_success=True)
    assert notice is not None and notice.title == "The sync waits for your OK"
    assert '"Allow 41 deletions and sync"' in notice.message
