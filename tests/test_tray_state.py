"""The tray's state is built from what the worker knows by one pure function."""

from __future__ import annotations

from megabackup.engine.status import AwayPlace, PlaceFreshness, Status
from megabackup.history import RunRow
from megabackup.outcome import Outcome
from megabackup.tray.scheduler import Due, PauseState
from megabackup.tray.state import Facts, Progress, tray_state
from megabackup.tray.worker import KEPT_RESULTS, Worker

NOW = 1_796_000_000.0
DAY = 86_400.0


def facts(**changes: object) -> Facts:
    base = dict(now=NOW, history=None, overdue_days=7, pause=PauseState(), next_due=None)
    base.update(changes)
    return Facts(**base)  # type: ignore[arg-type]


def test_the_last_run_and_overdue_places_come_from_the_history() -> None:
    run = RunRow(3, NOW - 100, NOW - 50, Outcome.WARNING, "schedule", "Done with warnings", "")
    places = (PlaceFreshness("server data", NOW - 9 * DAY), PlaceFreshness("desktop home", NOW))
    state = tray_state(facts(history=Status(run, places, (), False)))
    assert (state.last_finished, state.last_outcome) == (NOW - 50, Outcome.WARNING)
    assert state.last_summary == "Done with warnings"
    assert state.overdue == (("server data", 9),)


def test_a_pause_that_ran_out_and_progress_without_a_cycle_are_not_shown() -> None:
    over = PauseState(True, NOW - 1)
    state = tray_state(facts(pause=over, progress=Progress(2, 6, "x"), running=False))
    assert not state.paused and state.paused_until is None and state.progress is None
    held = tray_state(facts(pause=PauseState(True, NOW + 60), next_due=Due(NOW + 60, "retry")))
    assert held.paused and held.paused_until == NOW + 60 and held.next_due == Due(NOW + 60, "retry")


def test_the_worker_keeps_only_its_latest_results(tmp_path) -> None:
    from megabackup.locations import AppPaths

    worker = Worker(tmp_path / "settings.toml", AppPaths(tmp_path / "state"), schedule=False)
    for number in range(KEPT_RESULTS + 5):
        worker.results.append(number)  # type: ignore[arg-type]
    assert list(worker.results) == list(range(5, KEPT_RESULTS + 5))


def test_the_places_away_and_the_last_good_snapshots_come_from_the_history() -> None:
    run = RunRow(4, NOW - 100, NOW - 50, Outcome.AWAY, "schedule", "Done with what...", "")
    places = (PlaceFreshness("server home", None), PlaceFreshness("desktop home", NOW - 60))
    away = (AwayPlace("server home", NOW - DAY, "the server home //nas/andy is not reachable"),)
    state = tray_state(facts(history=Status(run, places, (), False, away), power_hold=True))
    assert state.away == (("server home", NOW - DAY),)
    assert state.backed_up == (("desktop home", NOW - 60),)  # never: not listed
    assert state.last_outcome == Outcome.AWAY and state.power_hold
