"""Fast cycles must leave exactly what a full cycle leaves: skipping, lanes, the fast check."""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from megabackup.engine import clocks, in_step
from megabackup.engine.cycle import FULL_CHECK_STAMP
from megabackup.engine.preflight import ClockCheck
from megabackup.files import read_stamp, write_stamp
from megabackup.tools.rdiff import Rdiff
from megabackup.tools.unison import SyncJob, SyncOutcome, Unison
from support import Places, write
from winfakes import windows_profile

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison


@pytest.fixture
def places(tmp_path: Path) -> Places:
    return aged(Places(tmp_path))


def aged(places: Places) -> Places:
    """Files written an hour ago, as on a real desk: a file written in the last seconds could
    change again without its time showing it, so the manifest rightly refuses to vouch for it."""
    hour_ago = time.time() - 3600
    for root in (places.desktop, places.server, places.data):
        for path in root.rglob("*"):
            os.utime(path, (hour_ago, hour_ago), follow_symlinks=False)
    return places


SNAPSHOT_A = ("snapshot-server-home", "snapshot-server-data", "snapshot-desktop-home")
SKIPPED_DETAIL = "nothing changed since the last snapshot"


def state_of(places: Places) -> dict[str, dict[str, tuple[str, int, str]]]:
    """Every place and every mirror, relative paths -> (kind, mode, content)."""
    roots = {
        "desktop": places.desktop,
        "server": places.server,
        "data": places.data,
        "desktop backup": places.desktop_repo,
        "drive home": places.drive / "home",
        "drive data": places.drive / "data",
    }
    found: dict[str, dict[str, tuple[str, int, str]]] = {}
    for name, root in roots.items():
        entries = {}
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith("rdiff-backup-data") or path.name.startswith(".megabackup"):
                continue
            mode = stat.S_IMODE(path.lstat().st_mode)
            if path.is_dir():
                entries[relative] = ("folder", mode, "")
            else:
                entries[relative] = ("file", mode, path.read_text(errors="replace"))
        found[name] = entries
    return found


def same_second_same_size_edit(places: Places) -> None:
    notes = places.desktop / "Documents" / "notes.txt"
    old = notes.stat()
    notes.write_text("Shopping list: milk, bread!\n"[: old.st_size].ljust(old.st_size, "!"))
    os.utime(notes, ns=(old.st_atime_ns, old.st_mtime_ns + 1))  # same second, a tick later


def rename(places: Places) -> None:
    (places.server / "Documents" / "budget.csv").rename(places.server / "Documents" / "b.csv")


def permissions_only(places: Places) -> None:
    (places.desktop / "Pictures" / "holiday.jpg").chmod(0o600)


def file_becomes_folder(places: Places) -> None:
    target = places.data / "Archive" / "2019 report.txt"
    target.unlink()
    write(target / "inside.txt", "now a folder\n")


def nothing(places: Places) -> None:
    pass


CHANGES: list[Callable[[Places], None]] = [
    nothing,
    same_second_same_size_edit,
    rename,
    permissions_only,
    file_becomes_folder,
    nothing,
]


def test_skipping_leaves_exactly_what_a_full_cycle_leaves(tmp_path: Path) -> None:
    fast = aged(Places(tmp_path / "fast"))
    full = aged(Places(tmp_path / "full"))
    skipped_steps = 0
    for change in CHANGES:
        for places in (fast, full):
            change(places)
        fast_result = fast.cycle()
        full_result = full.cycle(skip_unchanged=False)
        assert fast_result.outcome == full_result.outcome == "ok", change.__name__
        assert state_of(fast) == state_of(full), f"after {change.__name__}"
        skipped_steps += sum(SKIPPED_DETAIL in s.detail for s in fast_result.steps)
        assert not any(SKIPPED_DETAIL in s.detail for s in full_result.steps)
    assert skipped_steps >= 6, "the fast path was taken where nothing changed"


@pytest.mark.parametrize(
    "change", [same_second_same_size_edit, rename, permissions_only, file_becomes_folder]
)
def test_a_changed_tree_is_never_skipped(places: Places, change: Callable[[Places], None]) -> None:
    places.cycle()
    places.cycle()
    change(places)

    result = places.cycle()

    changed_step = {
        same_second_same_size_edit: "snapshot-desktop-home",
        rename: "snapshot-server-home",
        permissions_only: "snapshot-desktop-home",
        file_becomes_folder: "snapshot-server-data",
    }[change]
    step = result.step(changed_step)
    assert step is not None and SKIPPED_DETAIL not in step.detail
    if change is not same_second_same_size_edit:  # rdiff-backup keeps whole seconds: it sees
        assert step.changed_files + step.new_files + step.deleted_files > 0  # no change there


def test_a_cycle_with_no_change_runs_no_snapshot(places: Places) -> None:
    places.cycle()

    result = places.cycle()

    for step_id in SNAPSHOT_A:
        step = result.step(step_id)
        assert step is not None and step.status == "ok" and SKIPPED_DETAIL in step.detail
    assert (
        "rdiff-backup"
        not in Path(result.log_path).read_text().split("syncing home")[0].split("started", 1)[1]
    )


def test_an_emptied_repository_is_not_trusted_to_hold_the_tree(places: Places) -> None:
    places.cycle()
    shutil.rmtree(places.drive / "data")

    result = places.cycle()

    step = result.step("snapshot-server-data")
    assert step is not None and SKIPPED_DETAIL not in step.detail
    assert (places.drive / "data" / "Archive" / "2019 report.txt").is_file()


def test_the_first_round_of_snapshots_runs_side_by_side(places: Places) -> None:
    result = places.cycle()
    desktop = result.step("snapshot-desktop-home")
    server = result.step("snapshot-server-home")
    assert desktop and server and desktop.started and server.started
    assert desktop.finished and server.finished
    assert desktop.started < server.finished and server.started < desktop.finished


def test_the_full_content_check_runs_when_due_and_is_recorded(places: Places) -> None:
    places.cycle()
    assert read_stamp(places.paths.root, FULL_CHECK_STAMP) is not None
    fast = places.cycle()
    assert "-fastcheck true" in Path(fast.log_path).read_text()
    write_stamp(places.paths.root, FULL_CHECK_STAMP, time.time() - 2 * 86_400)

    due = places.cycle()

    assert "-fastcheck false" in Path(due.log_path).read_text()
    stamp = read_stamp(places.paths.root, FULL_CHECK_STAMP)
    assert stamp is not None and time.time() - stamp < 60


def test_windows_junctions_are_said_once_left_out_and_do_not_defeat_skip_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Documents holds the hidden "My Music" junction, which denies listing, and a OneDrive file
    # kept online: both reparse points, which rdiff-backup leaves out of every snapshot
    places = Places(tmp_path)
    music = places.desktop / "Documents" / "My Music"
    write(music / "song.mp3", "la la la\n")
    online = places.desktop / "Documents" / "kept online.docx"
    write(online, "in the cloud\n")
    places = aged(places)
    with windows_profile(monkeypatch, [music, online], deny_listing=[music]):
        first = places.cycle()
        second = places.cycle()
    assert first.outcome == "ok", first.summary()  # said as a note: no warning every cycle
    said = [n for n in first.notes if "not backed up" in n]
    assert len(said) == 1 and "Documents/My Music" in said[0] and "kept online.docx" in said[0]
    assert not [n for n in second.notes if "not backed up" in n]  # once
    assert second.outcome == "ok", second.summary()
    step = second.step("snapshot-desktop-home")
    assert step is not None and SKIPPED_DETAIL in step.detail
    # the sync leaves alone what no snapshot holds
    assert not (places.server / "Documents" / "My Music").exists()
    assert not (places.server / "Documents" / "kept online.docx").exists()
    assert (places.server / "Documents" / "notes.txt").is_file()


SYNC_SKIPPED = "neither home changed since the last sync"


def _edit(path: Path, text: str) -> None:
    """An edit made an hour ago, not this second: the proof would rightly doubt a fresh one."""
    write(path, text, time.time() - 3600 + 60 * len(text))


def test_a_sync_with_nothing_to_do_waits_until_a_home_changes(places: Places) -> None:
    places.cycle()  # copies what differs
    places.cycle()  # finds the homes alike: the walks before it become the proof

    quiet = places.cycle()

    sync = quiet.step("sync-home")
    assert sync is not None and sync.status == "ok" and SYNC_SKIPPED in sync.detail
    assert "unison" not in Path(quiet.log_path).read_text()
    for home, other in ((places.desktop, places.server), (places.server, places.desktop)):
        _edit(home / "Documents" / "notes.txt", f"edited on the {home.name}\n")
        result = places.cycle()
        sync = result.step("sync-home")
        assert sync is not None and SYNC_SKIPPED not in sync.detail, home.name
        assert (other / "Documents" / "notes.txt").read_text() == f"edited on the {home.name}\n"


def test_an_edit_made_while_the_sync_ran_is_synced_by_the_next_cycle(
    places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof is the walk from before the sync: an edit that unison did not see, made
    after it had looked, differs from it, so the next cycle syncs again."""
    first = places.cycle().step("sync-home")
    assert first is not None and first.to_server + first.to_desktop > 0  # so no proof yet
    notes = places.desktop / "Documents" / "notes.txt"
    real_sync = Unison.sync

    def sync_then_edit(self: Unison, job: SyncJob, **options: object) -> SyncOutcome:
        outcome = real_sync(self, job, **options)  # type: ignore[arg-type]
        _edit(notes, "written while the sync ran\n")
        return outcome

    monkeypatch.setattr(Unison, "sync", sync_then_edit)
    places.cycle()  # unison runs, finds the homes alike, and then the edit comes
    monkeypatch.undo()

    result = places.cycle()

    sync = result.step("sync-home")
    assert sync is not None and SYNC_SKIPPED not in sync.detail, sync.detail
    assert (places.server / "Documents" / "notes.txt").read_text() == "written while the sync ran\n"


def test_a_damaged_proof_only_means_the_sync_runs(places: Places) -> None:
    places.cycle()
    places.cycle()
    (places.paths.manifests / in_step.RECORD).write_text("{half a rec", encoding="utf-8")

    result = places.cycle()

    sync = result.step("sync-home")
    assert result.outcome == "ok", result.summary()
    assert sync is not None and sync.detail == "0 to server, 0 to desktop, 0 deleted"


def test_a_file_saved_just_before_a_snapshot_is_copied_once_its_second_is_over(
    places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rdiff-backup keeps whole seconds of a file's time: a copy made in the second the file
    was saved would take a same-size save later in that second for no change, for ever."""
    places.cycle()
    notes = places.desktop / "Documents" / "notes.txt"
    size = notes.stat().st_size
    started: list[float] = []
    real_backup = Rdiff.backup

    def timed(self: Rdiff, source: Path, *args: object, **options: object) -> object:
        if source == places.desktop:
            started.append(time.time())
        return real_backup(self, source, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(Rdiff, "backup", timed)
    notes.write_text("A" * size, encoding="utf-8")
    saved = notes.stat().st_mtime

    places.cycle()

    assert started and int(started[0]) > int(saved), started[0] - saved
    notes.write_text("B" * size, encoding="utf-8")  # saved again at once, the same size
    places.cycle()
    assert (places.desktop_repo / "Documents" / "notes.txt").read_text() == "B" * size


def test_a_file_the_share_dated_by_its_own_clock_is_copied_once_that_second_is_over(
    places: Places, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The share's clock, 0.8 s behind ours (within the limit), dates its files: its second
    ends 0.8 s later than ours does, and the snapshot waits by its clock."""
    places.cycle()
    behind = 0.8
    monkeypatch.setattr(
        clocks, "probe_clock", lambda server, limit, clock: ClockCheck(-behind, limit)
    )
    started: list[float] = []
    real_backup = Rdiff.backup

    def timed(self: Rdiff, source: Path, *args: object, **options: object) -> object:
        if source == places.server:
            started.append(time.time())
        return real_backup(self, source, *args, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(Rdiff, "backup", timed)
    time.sleep(1.2 - time.time() % 1)  # early in a second of ours: late in one of the share's
    letter = places.server / "Documents" / "letter to Sam.txt"
    letter.write_text("Dear Sam, see you on Friday\n", encoding="utf-8")
    dated = time.time() - behind  # what the share's clock says now
    os.utime(letter, (dated, dated))

    places.cycle()

    assert started and int(started[0] - behind) > int(dated), started[0] - behind - dated
