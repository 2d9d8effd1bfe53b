"""Run history (SQLite, versioned schema) and the per-run log files."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from megabackup import history as history_module
from megabackup import runlog
from megabackup.history import ConflictRecord, History, HistoryError, StepRecord
from megabackup.outcome import Outcome, Resolution


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


@pytest.fixture
def store(tmp_path: Path) -> History:
    return History(tmp_path / "state" / "history.sqlite")


def test_a_new_history_has_the_current_schema(store: History) -> None:
    assert store.path.exists()
    assert user_version(store.path) == history_module.SCHEMA_VERSION
    assert store.runs() == [] and store.last_run() is None


def test_a_run_with_its_steps_and_conflicts_round_trips(store: History) -> None:
    run = store.start_run("schedule", 1000.0, "/logs/run-1.log")
    assert store.last_run().outcome == "running"  # type: ignore[union-attr]
    store.record_step(
        run, 1, StepRecord("sync-home", "sync", Outcome.WARNING, "1 conflict", started=1001)
    )
    store.record_step(
        run, 0, StepRecord("snapshot-a", "snapshot", Outcome.OK, new_files=3, finished=1002)
    )
    store.record_conflicts(
        run,
        [ConflictRecord("Documents/a b.txt", Resolution.KEPT_BOTH, "both changed", ("/x", "/y"))],
    )
    store.finish_run(run, Outcome.WARNING, "1 conflict", 1003.0)
    last = store.last_run()
    assert last is not None
    assert (last.id, last.outcome, last.trigger, last.summary) == (
        run,
        "warning",
        "schedule",
        "1 conflict",
    )
    assert (last.started, last.finished, last.log_path) == (1000.0, 1003.0, "/logs/run-1.log")
    assert [s.id for s in store.steps(run)] == ["snapshot-a", "sync-home"]  # by position
    assert store.steps(run)[0].new_files == 3
    (conflict,) = store.conflicts(run)
    assert conflict.copies == ("/x", "/y")
    assert conflict.path == "Documents/a b.txt"


def test_recording_a_step_again_replaces_it(store: History) -> None:
    run = store.start_run("click", 1.0, "")
    store.record_step(run, 0, StepRecord("snapshot-a", "snapshot", Outcome.RUNNING))
    store.record_step(run, 0, StepRecord("snapshot-a", "snapshot", Outcome.OK))
    assert [s.status for s in store.steps(run)] == ["ok"]


def test_runs_are_listed_newest_first(store: History) -> None:
    ids = [store.start_run("schedule", float(i), "") for i in range(5)]
    assert [r.id for r in store.runs(limit=3)] == ids[::-1][:3]


def test_a_run_left_running_becomes_interrupted(store: History) -> None:
    done = store.start_run("schedule", 1.0, "")
    store.finish_run(done, Outcome.OK, "fine", 2.0)
    cut = store.start_run("schedule", 3.0, "")
    store.record_step(cut, 0, StepRecord("snapshot-a", "snapshot", Outcome.RUNNING))
    assert store.mark_interrupted() == 1
    runs = {r.id: r for r in store.runs()}
    assert runs[cut].outcome == "interrupted" and "interrupted" in runs[cut].summary
    assert runs[done].outcome == "ok" and runs[done].summary == "fine"
    assert [s.status for s in store.steps(cut)] == ["cancelled"]
    assert store.mark_interrupted() == 0


def test_history_survives_reopening(store: History) -> None:
    run = store.start_run("schedule", 1.0, "")
    store.finish_run(run, Outcome.OK, "", 2.0)
    again = History(store.path)
    assert [r.id for r in again.runs()] == [run]


def test_last_success_and_source_files_count_only_good_steps(store: History) -> None:
    run = store.start_run("schedule", 1.0, "")
    store.record_step(run, 0, StepRecord("snap-x", "s", Outcome.OK, source_files=10, finished=10.0))
    store.record_step(
        run, 1, StepRecord("snap-x", "s", Outcome.WARNING, source_files=12, finished=20.0)
    )
    store.record_step(
        run, 2, StepRecord("snap-x", "s", Outcome.FAILED, source_files=0, finished=30.0)
    )
    store.record_step(run, 3, StepRecord("snap-y", "s", Outcome.OK, source_files=99, finished=40.0))
    assert store.last_success(["snap-x"]) == 20.0
    assert store.last_source_files(["snap-x"]) == 12
    assert store.last_success(["nothing"]) is None
    assert store.last_source_files(["nothing"]) == 0


def test_recent_conflicts_start_after_a_run(store: History) -> None:
    first = store.start_run("schedule", 1.0, "")
    second = store.start_run("schedule", 2.0, "")
    store.record_conflicts(first, [ConflictRecord("a", Resolution.SKIPPED)])
    store.record_conflicts(second, [ConflictRecord("b", Resolution.KEPT_BOTH)])
    assert [c.path for c in store.conflicts(since_run=0)] == ["a", "b"]
    assert [c.path for c in store.conflicts(since_run=first)] == ["b"]


def test_a_history_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    newer = history_module.SCHEMA_VERSION + 1
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(HistoryError, match="newer MegaBackup"):
        History(path)
    assert user_version(path) == newer


def test_a_damaged_history_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HistoryError, match="is damaged"):
        History(path)


def test_a_damaged_history_is_moved_aside_for_the_cycle_and_a_sound_one_is_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    fresh, note = History.open_or_start_afresh(path, 0.0)
    assert "is damaged (file is not a database)" in note and fresh.runs() == []
    [kept] = tmp_path.glob("history.damaged-*.sqlite3")
    assert kept.read_bytes() == b"this is not a database" * 100
    fresh.start_run("schedule", 1.0, "")
    again, note = History.open_or_start_afresh(path, 0.0)
    assert note == "" and len(again.runs()) == 1


def test_an_older_history_is_migrated_in_place(
    store: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = store.start_run("schedule", 1.0, "")
    old = history_module.SCHEMA_VERSION
    monkeypatch.setattr(
        history_module,
        "MIGRATIONS",
        (*history_module.MIGRATIONS, "ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';"),
    )
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", old + 1)
    History(store.path)
    assert user_version(store.path) == old + 1
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT id, note FROM runs").fetchall() == [(run, "")]


def test_a_failing_migration_leaves_the_old_history_as_it_was(
    store: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.start_run("schedule", 1.0, "")
    old = history_module.SCHEMA_VERSION
    broken = "ALTER TABLE runs ADD COLUMN half TEXT; ALTER TABLE nowhere ADD COLUMN x TEXT;"
    monkeypatch.setattr(history_module, "MIGRATIONS", (*history_module.MIGRATIONS, broken))
    monkeypatch.setattr(history_module, "SCHEMA_VERSION", old + 1)
    with pytest.raises(HistoryError):
        History(store.path)
    assert user_version(store.path) == old
    with sqlite3.connect(store.path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    assert "half" not in columns  # no half-done migration


# ---------------------------------------------------------------------------
# run logs


def test_a_run_log_holds_timestamped_lines(tmp_path: Path) -> None:
    log = runlog.RunLog(tmp_path / "logs", started=1_796_000_000)
    log.write("$ rdiff-backup backup")
    log.write("Jörg's file ✓")
    log.close()
    log.write("after closing: dropped")
    assert log.path.name.startswith("run-") and log.path.suffix == ".log"
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert lines[1].endswith(" Jörg's file ✓")
    assert lines[0][2] == ":" and lines[0][5] == ":"  # HH:MM:SS first


def test_two_runs_in_the_same_second_get_two_logs(tmp_path: Path) -> None:
    first = runlog.RunLog(tmp_path, started=1_796_000_000)
    second = runlog.RunLog(tmp_path, started=1_796_000_000)
    assert first.path != second.path
    first.close()
    second.close()


def test_writes_from_many_threads_all_arrive_whole(tmp_path: Path) -> None:
    log = runlog.RunLog(tmp_path)
    threads = [
        threading.Thread(target=lambda n=n: [log.write(f"thread {n} line {i}") for i in range(200)])
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 800
    assert all(" thread " in line and " line " in line for line in lines)


def make_logs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"run-20261130-{index:06d}.log"
        path.write_text(str(index))
        os.utime(path, (1_796_000_000 + index, 1_796_000_000 + index))
        paths.append(path)
    return paths


def test_the_newest_fifty_logs_are_kept(tmp_path: Path) -> None:
    paths = make_logs(tmp_path, runlog.KEEP_LOGS + 5)
    (tmp_path / "notes.txt").write_text("not a log")
    removed = runlog.prune_logs(tmp_path)
    assert removed == paths[:5]
    assert runlog.all_logs(tmp_path) == paths[5:]
    assert (tmp_path / "notes.txt").exists()
    assert runlog.prune_logs(tmp_path) == []


def test_the_newest_log_is_found(tmp_path: Path) -> None:
    assert runlog.newest_log(tmp_path / "missing") is None
    assert runlog.newest_log(tmp_path) is None
    paths = make_logs(tmp_path, 3)
    assert runlog.newest_log(tmp_path) == paths[-1]
    log = runlog.RunLog(tmp_path)
    log.write("now")
    log.close()
    assert runlog.newest_log(tmp_path) == log.path


def test_many_openers_of_a_new_history_at_once_all_succeed(tmp_path: Path) -> None:
    """The tray and a command-line run may create the history at the same moment."""
    path = tmp_path / "history.sqlite3"
    count = 16
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            History(path).start_run("test", 0.0, "")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(History(path).runs()) == count


def test_a_snapshot_dated_in_the_future_does_not_count_as_fresh(tmp_path: Path) -> None:
    from megabackup.engine.status import read_status
    from megabackup.locations import AppPaths
    from megabackup.notify import overdue_places
    from megabackup.places import DESKTOP_HOME

    now, day = 1_800_000_000.0, 86_400.0
    paths = AppPaths(tmp_path / "state")
    store = History(paths.history)
    for finished in (now - 10 * day, now + 2 * day):  # the second: the clock ran two days ahead
        run = store.start_run("schedule", finished - 60, "")
        step = StepRecord("snapshot-desktop-home", "snapshot", Outcome.OK, finished=finished)
        store.record_step(run, 1, step)
        store.finish_run(run, Outcome.OK, "All good", finished)

    status = read_status(paths, (DESKTOP_HOME,), now=now)

    assert status.places[0].last_good == now - 10 * day, "not 'just now'"
    assert [p.days for p in overdue_places(status.places, now, 7)] == [10], "overdue fires"


def _run(store: History, started: float, away: dict[str, str], outcome: Outcome) -> int:
    run = store.start_run("schedule", started, "")
    store.record_away(run, away)
    store.finish_run(run, outcome, "", started + 60)
    return run


def test_the_places_a_run_found_away_are_kept_with_why(store: History) -> None:
    run = _run(
        store, 1000.0, {"server home": "the server home //nas/andy is not reachable"}, Outcome.AWAY
    )
    assert store.away(run) == {"server home": "the server home //nas/andy is not reachable"}
    assert store.runs()[0].outcome == Outcome.AWAY  # the word reads back as itself
    assert store.away(_run(store, 2000.0, {}, Outcome.OK)) == {}


def test_a_place_is_away_since_the_first_of_the_newest_runs_that_found_it_away(
    store: History,
) -> None:
    server = {"server home": "not reachable"}
    _run(store, 1000.0, server, Outcome.AWAY)  # away, then back, then away again:
    _run(store, 2000.0, {}, Outcome.OK)
    _run(store, 3000.0, server, Outcome.AWAY)
    _run(store, 4000.0, {**server, "external drive": "not connected"}, Outcome.AWAY)
    assert store.away_since("server home") == 3000.0  # this time round
    assert store.away_since("external drive") == 4000.0
    assert store.away_since("desktop backup") is None
    store.start_run("tray", 5000.0, "")  # a cycle that is running has not looked yet
    assert store.away_since("server home") == 3000.0
    _run(store, 6000.0, {}, Outcome.OK)
    assert store.away_since("server home") is None  # back


def test_a_history_from_before_away_is_upgraded_keeping_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:  # the first schema, as an older MegaBackup left it
        db.executescript(history_module.MIGRATIONS[0])
        db.execute("INSERT INTO runs (started, outcome, trigger) VALUES (1.0, 'ok', 'tray')")
        db.execute("PRAGMA user_version = 1")
    store = History(path)
    assert user_version(path) == history_module.SCHEMA_VERSION
    assert [run.outcome for run in store.runs()] == [Outcome.OK]
    assert store.away(1) == {} and store.away_since("server home") is None


def test_the_last_complete_cycle_found_every_place_there(store: History) -> None:
    assert store.last_complete() is None
    _run(store, 1000.0, {}, Outcome.WARNING)  # conflicts, say: still complete
    _run(store, 2000.0, {"external drive": "not connected"}, Outcome.AWAY)
    _run(store, 3000.0, {}, Outcome.FAILED)
    assert store.last_complete() == 1060.0
    _run(store, 4000.0, {}, Outcome.OK)
    assert store.last_complete() == 4060.0
