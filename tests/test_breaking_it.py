"""What broke MegaBackup when someone tried to break it (nothing lost, round two): one test
each, on the demo places, with the real rdiff-backup and unison."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from megabackup import places as place_markers
from megabackup.engine import CycleEvent, CycleResult, room, run_cycle
from megabackup.restore.backups import Backups, RestoreError
from megabackup.settings import load
from megabackup.tools import rdiff
from support import (
    Places,
    descendants,
    restore,
    session_times,
    tree,
    under_shifted_clock,
    write,
)

# The real rdiff-backup and unison; and what only the Linux machines have (symbolic links,
# setpriv, /proc, tmpfs, libfaketime, signals).
pytestmark = [pytest.mark.realtools, pytest.mark.posix]


@pytest.fixture
def places(tmp_path: Path) -> Places:
    return Places(tmp_path)


def megabackup(places: Places, *args: str) -> subprocess.CompletedProcess:
    """The command line as its own process, on these places' settings and state."""
    env = dict(os.environ, MEGABACKUP_HOME=str(places.paths.root))
    argv = [sys.executable, "-m", "megabackup", *args, "--settings", str(places.settings.source)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


def set_setting(places: Places, old: str, new: str) -> None:
    source = places.settings.source
    assert source is not None
    source.write_text(source.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


# -- a desktop backup reached through a link ----------------------------------------------------


def test_a_desktop_backup_that_links_into_the_desktop_home_is_refused(places: Places) -> None:
    inside = places.desktop / "Backups"
    inside.mkdir()
    link = places.settings.desktop.backup.with_name("backup link")
    link.symlink_to(inside)  # a junction on Windows
    set_setting(places, places.settings.desktop.backup.as_posix(), link.as_posix())
    before = tree(places.desktop.parent, places.server.parent)

    checked = megabackup(places, "check")
    ran = megabackup(places, "run")

    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "desktop.backup" in checked.stderr and f"is a link to {inside}" in checked.stderr
    assert "All places are ready" not in checked.stdout
    assert ran.returncode == 2 and "inside desktop.home" in ran.stderr
    assert tree(places.desktop.parent, places.server.parent) == before, "nothing was written"


# -- damaged state files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    ['{"markers": ["not", "a", "table"]}', '{"filled": {"desktop home": 5}}', "[1, 2]", "{nope"],
)
def test_a_damaged_places_memory_is_kept_aside_and_backups_go_on(
    places: Places, content: str
) -> None:
    places.cycle()
    places.paths.places.write_text(content, encoding="utf-8")

    checked = megabackup(places, "check")
    result = places.cycle()
    again = places.cycle()

    assert checked.returncode == 1 and "unexpected problem" not in checked.stderr
    assert f"the places memory {places.paths.places} was damaged" in checked.stdout
    assert result.outcome == "warning", result.summary()
    assert any("places memory" in w and "started afresh" in w for w in result.warnings)
    kept = places.paths.places.with_name("places.json.damaged")
    assert kept.read_text(encoding="utf-8") == content
    assert again.outcome == "ok", "said once; the fresh memory is good"


# -- a command line too long for Windows --------------------------------------------------------


def test_settings_whose_tool_command_line_is_too_long_for_windows_are_refused(
    places: Places,
) -> None:
    # Windows quotes an argv by list2cmdline's rules and refuses more than 32,767 characters.
    assert subprocess.list2cmdline(["a b", 'c"d', "e"]) == '"a b" c\\"d e'
    patterns = ", ".join(f'"{index:03} {"x" * 90}.tmp"' for index in range(400))
    set_setting(places, "[folders]\n", f"[folders]\nignore = [{patterns}]\n")
    before = tree(places.desktop.parent, places.server.parent, places.drive.parent)

    checked = megabackup(places, "check")
    ran = megabackup(places, "run")

    assert checked.returncode == 3, checked.stdout + checked.stderr
    assert "PROBLEM: the rdiff-backup command for the snapshot of server home" in checked.stdout
    assert "more than the 32,766 Windows can start" in checked.stdout
    assert "PROBLEM: the unison command for the syncing home" in checked.stdout
    assert ran.returncode == 3 and "STOPPED: the rdiff-backup command" in ran.stdout
    assert tree(places.desktop.parent, places.server.parent, places.drive.parent) == before


# -- unison's temporary files ---------------------------------------------------------------------


def test_a_copy_left_by_a_killed_unison_is_never_snapshotted(places: Places) -> None:
    set_setting(places, "[folders]\n", '[folders]\nignore = ["Thumbs.db"]\n')  # no "*.tmp"
    places.settings = load(places.settings.source)
    places.cycle()
    (places.desktop / "Documents" / "film.bin").write_bytes(os.urandom(40 * 1024 * 1024))
    job = cycle_sync_argv(places)
    env = dict(os.environ, UNISON=str(places.paths.unison), UNISONLOCALHOSTNAME="megabackup")
    sync = subprocess.Popen(job, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    leftover = None
    deadline = time.time() + 60
    while leftover is None and time.time() < deadline and sync.poll() is None:
        leftover = next((places.server / "Documents").glob(".unison.film.bin.*.unison.tmp"), None)
    sync.kill()
    sync.wait()
    if leftover is None or not leftover.exists():
        pytest.skip("unison finished its copy before it could be stopped")

    result = places.cycle()

    assert result.outcome == "ok", result.summary()
    for repository in (places.drive / "home", places.desktop_repo):
        held = [p.name for p in repository.rglob("*unison.tmp*")]
        assert held == [], f"{repository} holds unison's temporary file"


def cycle_sync_argv(places: Places) -> list[str]:
    """The cycle's own unison command line, run by hand so that it can be killed mid-copy."""
    from megabackup.engine.plan import SYNC_HOME, plan_cycle
    from megabackup.tools.unison import locate, sync_argv

    [step] = [s for s in plan_cycle(places.settings, places.drive) if s.id == SYNC_HOME]
    return sync_argv(locate(), step.job)


# -- the drive pulled out mid-snapshot -----------------------------------------------------------


def start_run(places: Places) -> subprocess.Popen:
    env = dict(os.environ, MEGABACKUP_HOME=str(places.paths.root))
    argv = [sys.executable, "-m", "megabackup", "run", "--settings", str(places.settings.source)]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for_child(process: subprocess.Popen, *words: str, timeout: float = 60) -> bool:
    """Until a process the run started has all these words in its command line."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        for pid in descendants(process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if all(word.encode() in cmdline for word in words):
                return True
        time.sleep(0.002)
    return False


def test_the_drive_pulled_out_mid_snapshot_is_said_plainly(places: Places) -> None:
    places.cycle()
    for index in range(1500):
        write(places.server / "Documents" / "many" / f"f{index:04}.txt", f"content {index}\n")
    unplugged = places.drive.with_name("unplugged")
    run = start_run(places)
    assert wait_for_child(run, "rdiff", str(places.drive / "home")), "the snapshot never started"
    time.sleep(0.2)
    places.drive.rename(unplugged)
    report = run.communicate(timeout=300)[0]

    assert run.returncode == 3, report
    assert "Error" not in report, "no raw exception text"
    assert "1. snapshot of server home  the external drive" in report
    assert "went away while the snapshot ran" in report
    assert f"[skipped] 2. snapshot of server data  the external drive ({places.drive})" in report
    phantom = [str(p) for p in places.drive.rglob("*") if not p.is_dir()]
    assert not places.drive.exists(), phantom
    unplugged.rename(places.drive)
    again = places.cycle()
    assert again.step("snapshot-server-home").status == "ok", again.summary()
    assert not rdiff.inspect(places.drive / "home").interrupted_backup


# -- restoring while a backup runs ----------------------------------------------------------------


def test_restore_during_a_cycle_says_a_backup_is_writing_not_interrupted(places: Places) -> None:
    places.cycle()
    for index in range(1500):
        write(places.desktop / "Documents" / "many" / f"f{index:04}.txt", f"content {index}\n")
    run = start_run(places)
    deadline = time.time() + 60
    while time.time() < deadline and not rdiff.inspect(places.desktop_repo).interrupted_backup:
        time.sleep(0.002)
    try:
        assert rdiff.inspect(places.desktop_repo).interrupted_backup, "the snapshot was too quick"
        backups = Backups(places.settings, drive=None, paths=places.paths)
        with pytest.raises(RestoreError) as caught:
            backups.restore("Documents/notes.txt")
    finally:
        run.communicate(timeout=300)

    assert "a backup is writing to it right now" in str(caught.value)
    assert "interrupted" not in str(caught.value)
    assert run.returncode == 0


@pytest.mark.parametrize("damage", ["garbage", "cut short", "pages overwritten"])
def test_a_damaged_history_is_kept_aside_and_backups_go_on(places: Places, damage: str) -> None:
    places.cycle()
    history = places.paths.history
    data = history.read_bytes()
    damaged = {
        "garbage": os.urandom(len(data)),
        "cut short": data[: len(data) // 2],
        "pages overwritten": data[:4096] + os.urandom(len(data) - 4096),
    }[damage]
    history.write_bytes(damaged)

    status = megabackup(places, "status")
    checked = megabackup(places, "check")
    result = places.cycle()
    again = places.cycle()

    assert status.returncode == 0 and "The history cannot be read" in status.stdout
    assert "the next backup keeps it aside and starts a new one" in status.stdout
    assert checked.returncode == 1 and "unexpected problem" not in checked.stderr
    assert result.outcome == "warning", result.summary()
    [note] = [w for w in result.warnings if "history" in w]
    assert "is damaged" in note and "a new history started" in note
    [kept] = history.parent.glob("history.damaged-*.sqlite3")
    assert kept.read_bytes() == damaged, "kept aside as it was"
    assert again.outcome == "ok", "said once"
    assert "Last backup:" in megabackup(places, "status").stdout


# -- files that cannot be read -------------------------------------------------------------------

# Root reads every file; without these two capabilities a chmod 000 file is unreadable to it too.
DAY = 86_400
NO_ROOT_READS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                 "--inh-caps=-dac_override,-dac_read_search"]  # fmt: skip
CYCLE_SCRIPT = """
import json, sys
from pathlib import Path
from megabackup.engine import CycleOptions, run_cycle
from megabackup.locations import AppPaths
from megabackup.notify import cycle_notice
from megabackup.report import cycle_report
from megabackup.settings import load
result = run_cycle(load(Path(sys.argv[1])), AppPaths(Path(sys.argv[2])), options=CycleOptions())
notice = cycle_notice(result, on_success=True)
print(json.dumps({"outcome": result.outcome, "report": cycle_report(result),
                  "steps": {s.id: [s.status, s.detail] for s in result.steps},
                  "notice": notice.clipped().message if notice else ""}))
"""


def cycle_as_a_user(places: Places, clock_shift: str = "") -> dict:
    """One cycle in a process that, like a user's, cannot read what its mode forbids
    (and, with clock_shift, whose clock is off)."""
    argv = [sys.executable, "-c", CYCLE_SCRIPT, str(places.settings.source), str(places.paths.root)]
    if os.geteuid() == 0:
        argv = [*NO_ROOT_READS, *argv]
    env = dict(os.environ)
    if clock_shift:
        argv = under_shifted_clock(argv, clock_shift, env)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_unreadable_files_and_folders_are_named(places: Places) -> None:
    places.cycle()
    secret = places.desktop / "Documents" / "secret.txt"
    write(secret, "for my eyes only\n")
    locked = places.desktop / "Documents" / "locked"
    write(locked / "inside.txt", "unseen\n")
    secret.chmod(0)
    locked.chmod(0)
    try:
        result = cycle_as_a_user(places)
    finally:
        locked.chmod(0o755)
        secret.chmod(0o644)

    assert result["outcome"] == "warning", result["report"]
    status, detail = result["steps"]["snapshot-desktop-home"]
    assert status == "warning"
    assert "2 file(s) could not be read and are not in this snapshot" in detail
    assert "Documents/locked" in detail and "Documents/secret.txt" in detail
    _, sync_detail = result["steps"]["sync-home"]
    assert "both sides changed" not in sync_detail, sync_detail
    assert "could not be read and were left alone: Documents/locked" in sync_detail
    assert "desktop home: Documents/secret.txt" in result["notice"]
    assert "desktop home: Documents/locked" in result["notice"]


# -- the proof of a snapshot is what the snapshot holds -------------------------------------------


def child_pids_with(parent: int, word: str) -> list[int]:
    found = []
    for pid in descendants(parent):
        try:
            if word.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def test_a_folder_that_drops_out_while_its_snapshot_runs_fails_it(places: Places) -> None:
    places.cycle()
    for index in range(800):  # enough that rdiff-backup is still starting when the folder goes
        write(
            places.desktop / "Documents" / "many" / f"f{index:04}.txt",
            f"content {index}\n",
            mtime=time.time() - 3600,
        )  # settled: a proof of them may skip later snapshots
    pictures, away = places.desktop / "Pictures", places.desktop / "Pictures (away)"
    run = start_run(places)
    assert wait_for_child(run, "rdiff", str(places.desktop_repo)), "the snapshot never started"
    os.kill(run.pid, signal.SIGSTOP)  # the cycle waits; its rdiff-backup runs on
    try:
        pictures.rename(away)  # after the walk before the snapshot, before rdiff-backup reads it
        deadline = time.time() + 120
        while child_pids_with(run.pid, str(places.desktop_repo)) and time.time() < deadline:
            if all(_is_zombie(pid) for pid in child_pids_with(run.pid, str(places.desktop_repo))):
                break
            time.sleep(0.01)
        away.rename(pictures)  # back before the walk after it
    finally:
        os.kill(run.pid, signal.SIGCONT)
    report = run.communicate(timeout=300)[0]

    assert "[FAILED]  3. snapshot of desktop home" in report, report
    assert "were there before and after this snapshot but are not in it (Pictures)" in report
    assert "[skipped] 4. syncing home" in report
    again = places.cycle()
    step = again.step("snapshot-desktop-home")
    assert step is not None and step.status == "ok" and "nothing changed" not in step.detail
    assert (places.desktop_repo / "Pictures" / "holiday.jpg").is_file()
    assert places.cycle().step("snapshot-desktop-home").detail.startswith("nothing changed")


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_folder_unreadable_in_a_snapshot_is_never_recorded_as_deleted(places: Places) -> None:
    letters = places.desktop / "Documents" / "letters"
    write(letters / "to Sam.txt", "Dear Sam\n")
    places.cycle()
    letters.chmod(0)
    try:
        result = cycle_as_a_user(places)
        again = cycle_as_a_user(places)
    finally:
        letters.chmod(0o755)

    status, detail = result["steps"]["snapshot-desktop-home"]
    assert status == "failed", result["report"]
    assert "could not read Documents/letters ([Errno 13] Permission denied)" in detail
    assert "still in the earlier snapshots" in detail
    assert result["steps"]["sync-home"][0] == "skipped"
    assert again["steps"]["snapshot-desktop-home"][0] == "warning", "told once, then a warning"
    assert places.cycle().outcome == "ok"
    assert (places.desktop_repo / "Documents" / "letters" / "to Sam.txt").is_file()


def cycle_with_a_folder_away(places: Places, folder: Path, from_step: str) -> CycleResult:
    """A cycle in which `folder` drops out as step `from_step` starts, and is back after it."""
    away = folder.with_name(folder.name + " (away)")

    def drop_out(event: CycleEvent) -> None:
        if event.kind == "step-started" and event.step_id == from_step:
            folder.rename(away)

    try:
        return run_cycle(places.settings, places.paths, events=drop_out)
    finally:
        if away.exists():
            away.rename(folder)


def test_snapshot_b_of_a_place_that_dropped_out_after_the_sync_is_not_taken(
    places: Places,
) -> None:
    places.cycle()
    write(places.desktop / "Documents" / "new.txt", "for the server\n")
    result = cycle_with_a_folder_away(places, places.server / "Pictures", "resnapshot-server-home")

    step = result.step("resnapshot-server-home")
    assert step is not None and step.status == "failed", step
    assert "the server home is empty now" in step.detail and "Pictures" in step.detail
    assert "the desktop home still does" in step.detail
    assert (places.drive / "home" / "Pictures" / "holiday.jpg").is_file(), "nothing recorded"
    assert places.cycle().outcome == "ok"
    assert (places.drive / "home" / "Documents" / "new.txt").is_file()


# -- mass deletions, judged on what would be deleted now ------------------------------------------


def test_a_deletion_hold_lifts_when_the_files_come_back(places: Places, tmp_path: Path) -> None:
    old = places.desktop / "Documents" / "old"
    for index in range(40):
        write(old / f"report-{index:02}.txt", f"report {index}\n")
    places.cycle()
    shutil.move(old, tmp_path / "old")

    held = places.cycle()
    assert held.step("sync-home").status == "held" and held.deletions_waiting == 41
    shutil.move(tmp_path / "old", old)  # put back
    back = places.cycle()

    assert back.step("sync-home").status == "ok", back.step("sync-home")
    assert back.deletions_waiting == 0 and back.outcome == "ok"
    assert (places.server / "Documents" / "old" / "report-07.txt").is_file()


def test_allowing_n_deletions_allows_that_many_not_more(places: Places) -> None:
    old = places.desktop / "Documents" / "old"
    for index in range(45):
        write(old / f"report-{index:02}.txt", f"report {index}\n")
    places.cycle()
    for index in range(40):
        (old / f"report-{index:02}.txt").unlink()
    assert places.cycle().deletions_waiting == 40
    for index in range(40, 45):  # five more go before the person's OK arrives
        (old / f"report-{index:02}.txt").unlink()

    allowed_40 = places.cycle(allowed_deletions=40)

    assert allowed_40.step("sync-home").status == "held" and allowed_40.deletions_waiting == 45
    assert (places.server / "Documents" / "old" / "report-00.txt").is_file()
    allowed_45 = places.cycle(allowed_deletions=45)
    assert allowed_45.step("sync-home").status == "ok"
    assert list((places.server / "Documents" / "old").iterdir()) == []


def test_a_mass_deletion_in_server_data_waits_before_its_snapshot(
    places: Places, tmp_path: Path
) -> None:
    many = places.data / "Projects" / "many"
    for index in range(40):
        write(many / f"sample-{index:02}.csv", f"sample {index}\n")
    places.cycle()
    shutil.move(many, tmp_path / "many")  # a share dropping a folder, or the person

    held = places.cycle()

    step = held.step("snapshot-server-data")
    assert step is not None and step.status == "held", step
    assert "41 files and folders" in step.detail and "gone from the server data" in step.detail
    assert held.deletions_waiting == 41 and held.outcome == "warning"
    assert (places.drive / "data" / "Projects" / "many" / "sample-07.csv").is_file()
    shutil.move(tmp_path / "many", many)
    assert places.cycle().step("snapshot-server-data").status == "ok", "lifts by itself"
    shutil.rmtree(many)
    allowed = places.cycle(allowed_deletions=41)
    assert allowed.step("snapshot-server-data").status == "ok"
    assert not (places.drive / "data" / "Projects" / "many").exists()


# -- a first snapshot that does not fit ----------------------------------------------------------


def put_drive_on(places: Places, disk: Path) -> None:
    drive = disk / "MegaBackup"
    place_markers.write_drive_marker(drive, "MegaBackup")
    set_setting(places, places.drive.as_posix(), drive.as_posix())
    places.settings = load(places.settings.source)
    places.drive = drive


def test_a_first_snapshot_of_many_small_files_is_measured_by_what_they_take(
    places: Places, small_disk: Path
) -> None:
    put_drive_on(places, small_disk)
    for index in range(800):  # 800 kB of data, but 3.2 MB on a disk of 4 kB blocks
        write(places.data / "Projects" / "small" / f"{index:03}.txt", "x" * 1000)

    result = places.cycle()

    step = result.step("snapshot-server-data")
    assert step is not None and step.status == "failed", step
    assert "needs about" in step.detail and "nothing was written" in step.detail
    assert not (places.drive / "data").exists()
    assert result.step("snapshot-server-home").status == "ok"
    assert result.step("sync-home").status == "ok", "the other places go on"


def test_a_first_snapshot_that_runs_out_of_room_is_removed_again(
    places: Places, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_drive_on(places, small_disk)
    (places.data / "Archive" / "film.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    monkeypatch.setattr(room, "no_room_for_first", lambda step, files: "")  # a short estimate

    first = places.cycle()
    second = places.cycle()

    step = first.step("snapshot-server-data")
    assert step is not None and step.status == "failed", step
    assert "ran out of room" in step.detail and "needs about 4.2 MB" in step.detail
    assert "removed again, so the other snapshots go on" in step.detail
    assert "rolls the unfinished one back" not in step.detail
    assert not (places.drive / "data").exists(), "the drive is not left full"
    assert first.step("sync-home").status == "ok", "the other places go on"
    assert second.step("snapshot-server-home").status == "ok", second.summary()


# -- a listed folder that is a link ---------------------------------------------------------------


def test_a_listed_folder_that_is_a_link_is_named_and_never_synced(
    places: Places, tmp_path: Path
) -> None:
    places.cycle()
    elsewhere = tmp_path / "OneDrive" / "Pictures"
    shutil.move(places.desktop / "Pictures", elsewhere)
    (places.desktop / "Pictures").symlink_to(elsewhere)  # a junction on Windows
    write(elsewhere / "new photo.jpg", "(a photo)\n")

    checked = megabackup(places, "check")
    result = places.cycle()
    again = places.cycle()

    said = f'folders.home "Pictures" in the desktop home ({places.desktop / "Pictures"}) is a link'
    assert checked.returncode == 1 and said in checked.stdout
    assert "All places are ready" not in checked.stdout
    assert result.outcome == "warning" and again.outcome == "warning", "never all good"
    assert any(said in w and "nothing in it is backed up or synced" in w for w in result.warnings)
    assert result.step("sync-home").status == "ok", "the other folders are synced"
    server_pictures = places.server / "Pictures"
    assert server_pictures.is_dir() and not server_pictures.is_symlink(), "not replaced by a link"
    assert (server_pictures / "holiday.jpg").is_file()


# -- conflicts on odd names ------------------------------------------------------------------------

ODD_NAMES = {
    "newline": "new\nline.txt",
    "not UTF-8": os.fsdecode(b"bad\xff\xfename.txt"),
    "too long for a copy": "L" * 240 + ".txt",
}


def test_conflicts_on_odd_names_are_named_as_they_are_and_stay_open(places: Places) -> None:
    for name in ODD_NAMES.values():
        write(places.desktop / "Documents" / name, "first\n")
    places.cycle()
    for side, age in ((places.desktop, 100), (places.server, 50)):
        for name in ODD_NAMES.values():
            write(side / "Documents" / name, f"edited on {side.parent.name}\n", time.time() - age)

    result = places.cycle()
    status = megabackup(places, "status").stdout

    found = {c.path: c for c in result.conflicts}
    newline = found["Documents/new\\nline.txt"]
    assert newline.resolution == "kept-both" and newline.copies, result.conflicts
    assert "new\\nline (conflict_on_" in newline.copies[0]
    # unison syncs no name that is not UTF-8 (it could not live on Windows): named as it is
    assert "Documents/bad\\xff\\xfename.txt" not in found
    sync = result.step("sync-home")
    assert sync is not None and "not valid Unicode" in sync.detail
    assert "Documents/bad\\xff\\xfename.txt" in sync.detail, sync.detail
    long_name = found["Documents/" + ODD_NAMES["too long for a copy"]]
    assert long_name.resolution == "skipped" and not long_name.copies
    assert "too long for a conflict copy" in long_name.detail
    for side in (places.desktop, places.server):  # both versions, untouched
        for name in (ODD_NAMES["too long for a copy"], ODD_NAMES["not UTF-8"]):
            assert (side / "Documents" / name).read_text() == f"edited on {side.parent.name}\n"
    assert "Open conflicts (2):" in status, status
    assert "Documents/new\\nline.txt (copy:" in status and "LLLL" in status


# -- a clock in doubt -----------------------------------------------------------------------------


def run_shifted(places: Places, shift: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MEGABACKUP_HOME=str(places.paths.root))
    argv = [sys.executable, "-m", "megabackup", "run", "--settings", str(places.settings.source)]
    argv = under_shifted_clock(argv, shift, env)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


def every_session(places: Places) -> dict[str, list[float]]:
    repositories = (places.desktop_repo, places.drive / "home", places.drive / "data")
    return {str(r): session_times(r) for r in repositories}


def test_a_clock_far_ahead_deletes_no_history(places: Places, tmp_path: Path) -> None:
    places.cycle()
    (places.desktop / "Documents" / "notes.txt").unlink()  # deleted on purpose
    places.cycle()
    before = every_session(places)

    result = run_shifted(places, "+400d")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "this computer's clock is ahead of the server's by 400.0 days" in result.stdout
    assert "old snapshots: none removed while the clock is in doubt" in result.stdout
    assert every_session(places) == before, "no snapshot taken, none removed"
    kept = restore(places.desktop_repo, "Documents/notes.txt", "1B", tmp_path / "notes.txt")
    assert kept == "Shopping list: milk, bread.\n"
    assert places.cycle().outcome == "ok", "back to normal with the clock"


def test_a_clock_far_past_every_run_with_no_server_to_ask_takes_no_snapshot(
    places: Places,
) -> None:
    places.cycle()
    before_now = time.time()
    read_only = (places.server, places.server / place_markers.CLOCK_FOLDER)
    for folder in read_only:  # a read-only share: the server cannot be asked the time
        folder.chmod(0o555)
    try:
        result = cycle_as_a_user(places, clock_shift="+40d")
        near = cycle_as_a_user(places, clock_shift="+2d")
    finally:
        for folder in read_only:
            folder.chmod(0o755)

    assert "the server cannot confirm it" in result["report"], result["report"]
    assert (
        "snapshot of desktop home  not taken while this computer's clock is in doubt"
        in (result["report"])
    )
    ahead = [t for times in every_session(places).values() for t in times if t > before_now + DAY]
    assert ahead == [] or min(ahead) < before_now + 3 * DAY, "none dated 40 days ahead"
    assert near["steps"]["snapshot-desktop-home"][0] == "ok", "a smaller gap is ordinary life"


def test_a_listed_folder_that_drops_out_before_the_sync_is_never_deleted_on_the_other_side(
    places: Places,
) -> None:
    for index in range(5):  # the rest of the share stays: no "completely emptied" side
        write(places.server / "Pictures" / f"photo {index}.jpg", f"(photo {index})\n")
    places.cycle()
    result = cycle_with_a_folder_away(places, places.server / "Documents", "sync-home")

    sync = result.step("sync-home")
    assert sync is not None and sync.status == "failed", sync
    assert "disappeared while the sync ran; unison stopped" in sync.detail
    assert (places.desktop / "Documents" / "notes.txt").is_file(), "not deleted on the desktop"
    assert places.cycle().outcome == "ok"
