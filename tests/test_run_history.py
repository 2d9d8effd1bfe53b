"""The history window's model, headless, from a generated history of 30 days."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from megabackup.history import History, StepRecord
from megabackup.outcome import Outcome
from megabackup.tray.run_history import (
    AWAY,
    FAILED,
    OK,
    WARNING,
    HistoryModel,
    place_rows,
)
from thirty_days import DRIVE_AWAY_DAYS, thirty_days

NOW = dt.datetime(2026, 12, 1, 21, 30).timestamp()


@pytest.fixture
def generated(tmp_path: Path):
    return thirty_days(tmp_path, NOW, logs=tmp_path / "logs")


def kinds(row) -> dict[str, int]:
    found: dict[str, int] = {}
    for mark in row.marks:
        found[mark.kind] = found.get(mark.kind, 0) + 1
    return found


def test_the_picture_has_a_row_per_place_and_a_mark_per_run(generated, tmp_path: Path) -> None:
    opened: list[Path] = []
    model = HistoryModel(generated.path, clock=lambda: NOW, opener=opened.append)
    assert generated.runs == 180 and generated.outcomes["failed"] == 4
    pc, share, data, drive = model.chart
    assert [r.label for r in model.chart] == [
        "This PC",
        "The share's home",
        "The share's data",
        "The USB drive",
    ]
    nas_off = 3  # runs whose checks stopped the cycle: no snapshot anywhere
    assert kinds(pc) == {OK: 180 - nas_off - 8, WARNING: 8, FAILED: nas_off}
    away = generated.drive_away_runs
    assert away == 54  # nine days, six runs a day
    assert kinds(share) == {OK: 180 - nas_off - away, AWAY: away, FAILED: nas_off}
    assert kinds(data) == {OK: 180 - nas_off - away - 1, AWAY: away, FAILED: nas_off + 1}
    assert kinds(drive) == kinds(data)  # what was written onto the drive
    assert all(len(r.marks) == 180 for r in model.chart)
    newest = max(m.when for m in pc.marks)
    assert NOW - newest < 4 * 3600 and pc.age == "59 minutes ago" and not pc.stale
    assert (share.age, share.stale) == ("9 days ago", True)  # older than overdue_days (7)
    assert (drive.age, drive.stale) == ("9 days ago", True)
    away_marks = [m.when for m in share.marks if m.kind == AWAY]
    assert {int((NOW - when) // 86_400) for when in away_marks} == set(DRIVE_AWAY_DAYS)
    assert all(0 <= model.fraction(m.when) <= 1 for r in model.chart for m in r.marks)
    assert model.fraction(NOW - 15 * 86_400) == pytest.approx(0.5)


def test_the_runs_newest_first_with_what_changed_per_place(generated) -> None:
    model = HistoryModel(generated.path, clock=lambda: NOW)
    assert len(model.runs) == 180
    first = model.runs[0]
    assert first.run_id == max(r.run_id for r in model.runs)
    assert [r.run_id for r in model.runs] == sorted((r.run_id for r in model.runs), reverse=True)
    assert len(first.changes) == 3  # this PC, the share's home, the share's data
    assert all(r.took.endswith(("seconds", "minutes")) for r in model.runs if r.ended != "Failed")
    by_kind = {r.kind for r in model.runs}
    assert by_kind == {OK, WARNING, FAILED}
    conflicted = [r for r in model.runs if r.conflicts]
    assert conflicted and all(r.conflicts == "1" for r in conflicted)
    away = [r for r in model.runs if "not connected" in r.summary]
    assert away and all(r.changes[1] == "away" and r.kind == WARNING for r in away)
    stopped = [r for r in model.runs if r.summary.startswith("Stopped")]
    assert len(stopped) == 3 and all(r.changes == ("", "", "") for r in stopped)
    changed = next(r for r in model.runs if r.changes[0].startswith("+4"))
    assert changed.changes[0] == "+4 ~2 \u22121"
    assert model.describe(first.run_id).endswith("Double-click to open its log.")


def test_a_double_click_opens_that_runs_log_or_says_it_is_gone(generated) -> None:
    opened: list[Path] = []
    model = HistoryModel(generated.path, clock=lambda: NOW, opener=opened.append)
    newest = model.runs[0]
    assert model.open_log(newest.run_id)
    assert opened == [newest.log] and newest.log is not None and newest.log.is_file()
    old = model.runs[-1]
    assert old.log is not None
    old.log.unlink()  # only the newest 50 logs are kept
    assert not model.open_log(old.run_id)
    assert model.status.startswith(f"The log of the run of {old.when} is no longer kept")
    assert opened == [newest.log]


def test_no_history_yet_says_so(tmp_path: Path) -> None:
    model = HistoryModel(tmp_path / "history.sqlite3", clock=lambda: NOW)
    assert model.runs == () and model.status == "No backup has run yet."
    assert [(r.age, r.stale) for r in model.chart] == [("never", True)] * 4
    assert not model.changed()


def test_a_damaged_history_is_said_in_the_window_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not a database at all" * 50)
    model = HistoryModel(path, clock=lambda: NOW)
    assert model.status.startswith(
        f"The history cannot be read: the history file {path} is damaged"
    )
    assert model.status.endswith("the next backup keeps it aside and starts a new one")
    assert [r.age for r in model.chart] == ["unknown"] * 4 and model.runs == ()
    assert not model.changed()
    assert path.read_bytes() == b"not a database at all" * 50  # the cycle keeps it aside, not us


def test_a_new_run_is_noticed_and_the_rows_follow_the_settings(generated) -> None:
    model = HistoryModel(generated.path, rows=place_rows(with_data=False), clock=lambda: NOW)
    assert [r.label for r in model.chart] == ["This PC", "The share's home", "The USB drive"]
    assert not model.changed()
    history = History(generated.path)
    run = history.start_run("tray", NOW - 60, "")
    assert model.changed()  # a run started
    model.refresh()
    assert model.runs[0].ended == "Running" and not model.changed()
    history.record_step(run, 1, StepRecord("snapshot-desktop-home", "x", Outcome.OK,
                                           finished=NOW - 30))  # fmt: skip
    history.finish_run(run, Outcome.OK, "All good", NOW - 20)
    assert model.changed()  # and ended
    model.refresh()
    assert model.chart[0].age == "just now"
