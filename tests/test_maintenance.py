"""Upkeep after the cycle: retention once a day, the verify on its schedule, both told."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from megabackup.engine.maintenance import RETENTION_STAMP
from megabackup.engine.verify import LAST_RUN_FILE
from megabackup.files import read_stamp, write_stamp
from megabackup.notify import cycle_notice
from megabackup.settings import load
from megabackup.tools import rdiff
from support import Places, session_times, write

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison

DAY = 86_400


@pytest.fixture
def places(tmp_path: Path) -> Places:
    return Places(tmp_path)


def test_the_first_cycle_starts_both_clocks_and_runs_neither(places: Places) -> None:
    result = places.cycle()
    assert result.notes == []
    assert read_stamp(places.paths.root, RETENTION_STAMP) is not None
    assert (places.paths.root / LAST_RUN_FILE).is_file()


def test_a_due_verify_finds_a_damaged_mirror_file_and_it_is_told(places: Places) -> None:
    places.cycle()
    mirror_copy = places.drive / "data" / "Archive" / "2019 report.txt"
    mirror_copy.write_text("Old but precious?\n")  # same size, other bytes: a failing disk
    (places.paths.root / LAST_RUN_FILE).write_text(f'{{"last_run": {time.time() - 8 * DAY}}}')

    result = places.cycle()

    assert result.outcome == "warning"
    assert len(result.damaged) == 1 and "Archive/2019 report.txt" in result.damaged[0]
    assert any(note.startswith("verify:") for note in result.notes)
    notice = cycle_notice(result, on_success=True)
    assert notice is not None and notice.title == "A backup has damaged files"
    again = places.cycle()
    assert again.damaged == [], "the next verify is a week away"


def test_a_due_retention_removes_snapshots_older_than_keep_days(places: Places) -> None:
    text = places.settings.source.read_text(encoding="utf-8")
    places.settings.source.write_text(text + "[retention]\nkeep_days = 30\n", encoding="utf-8")
    places.settings = load(places.settings.source)
    repository = places.desktop_repo
    backup = [*rdiff.locate(), "--api-version", "201"]
    for days_ago in (90, 60):  # two sessions from long ago, as if the tool had run then
        moment = time.time() - days_ago * DAY
        notes = places.desktop / "Documents" / "notes.txt"
        write(notes, f"written {days_ago} days ago\n" * (100 - days_ago), mtime=moment)
        argv = [*backup, "--current-time", str(int(moment)), "backup"]
        argv += [str(places.desktop), str(repository)]
        subprocess.run(argv, check=True, capture_output=True)
    assert len(session_times(repository)) == 2
    places.cycle()  # starts the retention clock
    write_stamp(places.paths.root, RETENTION_STAMP, time.time() - 2 * DAY)

    result = places.cycle()

    assert any("old snapshots: removed" in note for note in result.notes), result.notes
    times = session_times(repository)
    assert min(times) > time.time() - 31 * DAY, "nothing older than keep_days is left"
    assert len(times) >= 1
