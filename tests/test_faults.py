"""The faults real users hit, one test each, with the real tools (issue: nothing lost)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from megabackup import places as place_markers
from megabackup.engine import CycleOptions
from megabackup.history import History
from megabackup.tools import rdiff
from support import (
    Places,
    descendants,
    kill_everything,
    restore,
    tree,
    under_shifted_clock,
    wait_for_tool,
    write,
)

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison


@pytest.fixture
def places(tmp_path: Path) -> Places:
    return Places(tmp_path)


def run_cli(places: Places, *args: str, clock_shift: str = "") -> subprocess.CompletedProcess:
    """`megabackup run` as its own process; clock_shift runs it and its tools under libfaketime."""
    env = dict(os.environ, MEGABACKUP_HOME=str(places.paths.root))
    argv = [sys.executable, "-m", "megabackup", "run", "--settings", str(places.settings.source)]
    if clock_shift:
        argv = under_shifted_clock(argv, clock_shift, env)
    return subprocess.run([*argv, *args], capture_output=True, text=True, env=env, timeout=300)


# -- clock skew -----------------------------------------------------------------------------


@pytest.mark.posix
def test_desktop_clock_ahead_stops_the_snapshots_and_the_sync(places: Places) -> None:
    places.cycle()
    newest = rdiff.inspect(places.desktop_repo).last_snapshot
    write(places.desktop / "Documents" / "notes.txt", "written on a computer whose clock is fast\n")

    result = run_cli(places, clock_shift="+10m")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "this computer's clock is ahead of the server's by 10 minutes" in result.stdout
    assert "one dated in the future would block every later one" in result.stdout
    assert "[skipped] 3. snapshot of desktop home" in result.stdout
    assert "[skipped] 4. syncing home" in result.stdout
    assert rdiff.inspect(places.desktop_repo).last_snapshot == newest, "none dated ahead"
    assert "fast" not in (places.server / "Documents" / "notes.txt").read_text()


@pytest.mark.posix
def test_server_clock_ahead_is_named_as_the_one_that_is_off(places: Places) -> None:
    result = run_cli(places, clock_shift="-15m")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "the server's clock is ahead of this computer's by 15 minutes" in result.stdout
    assert not (places.server / "Documents" / "notes.txt").exists(), "nothing was synced"
    assert rdiff.inspect(places.desktop_repo).last_snapshot is not None


def test_after_a_snapshot_dated_in_the_future_the_backups_go_on(places: Places) -> None:
    places.cycle()
    ahead = time.time() + 2 * 86_400  # taken while the clock ran two days ahead, unchecked
    argv = [*rdiff.locate(), "--api-version", "201", "--current-time", str(int(ahead)), "backup"]
    subprocess.run([*argv, str(places.desktop), str(places.desktop_repo)], check=True)
    write(
        places.desktop / "Documents" / "notes.txt",
        "written with the clock set right\n",
        time.time() - 60,
    )

    result = places.cycle()  # the clock is right again; the newest snapshot is two days "ahead"

    step = result.step("snapshot-desktop-home")
    assert step is not None and step.status == "warning", step
    assert "later than this computer's clock" in step.detail and "check the clock" in step.detail
    assert result.step("sync-home").status == "ok", "the sync runs"
    assert rdiff.inspect(places.desktop_repo).last_snapshot == int(ahead) + 1
    assert "clock set right" in (places.server / "Documents" / "notes.txt").read_text()
    again = places.cycle()
    assert again.outcome in ("ok", "warning") and again.step("sync-home").status == "ok"


# -- wrong, missing or emptied places ----------------------------------------------------------


def test_a_server_home_without_its_marker_stops_everything(places: Places) -> None:
    places.cycle()
    marker = places.server / place_markers.PLACE_MARKER
    assert marker.is_file(), "the first cycle gives the server home its marker"
    marker.unlink()
    write(places.desktop / "Documents" / "notes.txt", "new words\n")
    before = tree(places.desktop.parent, places.drive.parent, places.server.parent)

    result = places.cycle()

    assert result.outcome == "failed"
    assert any("does not carry its MegaBackup marker" in p for p in result.problems)
    assert tree(places.desktop.parent, places.drive.parent, places.server.parent) == before
    adopted = places.cycle(new_place=True)
    assert adopted.outcome == "ok", adopted.summary()
    assert (places.server / "Documents" / "notes.txt").read_text() == "new words\n"


def test_another_share_at_the_server_path_is_refused(places: Places, tmp_path: Path) -> None:
    places.cycle()
    impostor = tmp_path / "other share"
    write(impostor / "Documents" / "budget.csv", "not ours\n")
    place_markers.write_place_marker(impostor, "server home")
    places.server.rename(tmp_path / "real share")
    impostor.rename(places.server)

    result = places.cycle()

    assert result.outcome == "failed"
    assert any("marker of a different MegaBackup place" in p for p in result.problems)
    assert (places.desktop / "Documents" / "budget.csv").read_text() != "not ours\n"


def test_a_listed_folder_emptied_since_the_last_cycle_stops_everything(places: Places) -> None:
    places.cycle()
    for child in (places.desktop / "Pictures").iterdir():
        child.unlink()
    before = tree(places.server.parent, places.drive.parent)

    result = places.cycle()

    assert result.outcome == "failed"
    assert any("desktop home is empty" in p and "Pictures" in p for p in result.problems)
    assert tree(places.server.parent, places.drive.parent) == before
    assert (places.server / "Pictures" / "holiday.jpg").is_file()
    allowed = places.cycle(allow_empty=True)
    assert allowed.outcome == "ok"
    assert not (places.server / "Pictures" / "holiday.jpg").exists()


def test_an_external_path_without_a_marker_stops_everything(places: Places) -> None:
    (places.drive / ".megabackup-drive").unlink()
    before = tree(places.desktop.parent, places.server.parent)

    result = places.cycle()

    assert result.outcome == "failed"
    assert any("is not a MegaBackup drive" in p for p in result.problems)
    assert tree(places.desktop.parent, places.server.parent) == before


# -- mass deletions ------------------------------------------------------------------------------


def test_a_mass_deletion_waits_for_the_persons_ok(places: Places, tmp_path: Path) -> None:
    for index in range(40):
        write(places.desktop / "Documents" / "old" / f"report-{index:02}.txt", f"report {index}\n")
    places.cycle()
    shutil.rmtree(places.desktop / "Documents" / "old")

    held = places.cycle()

    sync = held.step("sync-home")
    assert sync is not None and sync.status == "held"
    assert held.outcome == "warning" and held.exit_code == 1
    assert held.deletions_waiting == 41  # 40 files and their folder
    assert "megabackup run --allow-deletions" in sync.detail
    assert (places.server / "Documents" / "old" / "report-07.txt").is_file()

    still_held = places.cycle()  # the count is kept until a sync passes the deletions on
    assert still_held.step("sync-home").status == "held"
    assert still_held.deletions_waiting == 41

    allowed = places.cycle(allow_deletions=True)
    assert allowed.step("sync-home").status == "ok"
    assert not (places.server / "Documents" / "old").exists()
    back = restore(places.drive / "home", "Documents/old/report-07.txt", "1B", tmp_path / "r.txt")
    assert back == "report 7\n"
    assert places.cycle().step("sync-home").status == "ok", (
        "a passed-on deletion is not counted twice"
    )


def test_a_few_deletions_pass_without_asking(places: Places) -> None:
    places.cycle()
    (places.desktop / "Documents" / "notes.txt").unlink()
    result = places.cycle()
    assert result.step("sync-home").status == "ok"
    assert not (places.server / "Documents" / "notes.txt").exists()


# -- impossible file times -----------------------------------------------------------------------


def test_impossible_file_times_are_listed_and_the_files_still_kept(places: Places) -> None:
    far_future = time.mktime((2446, 1, 1, 0, 0, 0, 0, 0, -1))
    write(places.desktop / "Documents" / "from the future.txt", "future\n", mtime=far_future)
    write(places.server / "Documents" / "ancient.txt", "old\n", mtime=3 * 365 * 86_400)

    result = places.cycle()

    assert result.outcome == "warning"
    joined = " ".join(result.warnings)
    assert "desktop home: 1 file(s) dated in the future" in joined
    assert "Documents/from the future.txt" in joined
    assert (
        "server home: 1 file(s) dated before 1980" in joined and "Documents/ancient.txt" in joined
    )
    assert (places.server / "Documents" / "from the future.txt").read_text() == "future\n"
    assert (places.desktop_repo / "Documents" / "ancient.txt").read_text() == "old\n"


def test_a_conflict_won_by_a_future_date_says_so(places: Places) -> None:
    places.cycle()
    write(
        places.desktop / "Documents" / "notes.txt",
        "stamped by a broken clock\n",
        mtime=time.time() + 30 * 86_400,
    )
    write(places.server / "Documents" / "notes.txt", "the real latest edit\n")

    result = places.cycle()

    [conflict] = result.conflicts
    assert "dated in the future, check which is right" in conflict.detail
    texts = {Path(c).read_text() for c in conflict.copies}
    texts.add((places.desktop / "Documents" / "notes.txt").read_text())
    assert texts == {"stamped by a broken clock\n", "the real latest edit\n"}, "both versions kept"


# -- crashes -------------------------------------------------------------------------------------


def start_cli(places: Places) -> subprocess.Popen:
    env = dict(os.environ, MEGABACKUP_HOME=str(places.paths.root))
    argv = [sys.executable, "-m", "megabackup", "run", "--settings", str(places.settings.source)]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.posix
@pytest.mark.parametrize("tool", ["rdiff", "unison"])
def test_a_cycle_killed_inside_a_tool_is_repaired_by_the_next(places: Places, tool: str) -> None:
    places.cycle()
    for index in range(1500):
        write(places.desktop / "Documents" / "many" / f"f{index:04}.txt", f"content {index}\n")
    process = start_cli(places)
    assert wait_for_tool(process, tool), f"{tool} never started"
    time.sleep(0.05)
    kill_everything(process)

    result = places.cycle()

    assert result.outcome == "ok", [(s.id, s.status, s.detail) for s in result.steps]
    runs = [run.outcome for run in History(places.paths.history).runs()]
    assert "interrupted" in runs
    assert (places.server / "Documents" / "many" / "f1499.txt").read_text() == "content 1499\n"
    for repository in (places.desktop_repo, places.drive / "home"):
        assert not rdiff.inspect(repository).interrupted_backup


def _live(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.posix  # SIGKILL, SIGSTOP and /proc
@pytest.mark.parametrize("tool", ["rdiff-backup", "unison"])
def test_megabackup_killed_alone_leaves_no_tool_running(places: Places, tool: str) -> None:
    # A crash or "End task": only MegaBackup's own process dies, not its group. Its tools must
    # not go on writing alone, holding their repository against the next cycle.
    places.cycle()
    for index in range(6000):  # a snapshot of several seconds, with nothing to print meanwhile
        write(places.desktop / "Documents" / "many" / f"f{index:04}.txt", f"content {index}\n")
    process = start_cli(places)
    # the desktop's snapshot (the others find nothing new and end at once), or the sync
    marker = str(places.desktop_repo) if tool == "rdiff-backup" else "unison"
    tools: list[int] = []
    try:
        assert wait_for_tool(process, marker), f"{tool} never started"
        # Past its first lines: a tool that writes to the dead MegaBackup's pipe dies of that
        # at once; a quiet one (rdiff-backup while it works through the files) would go on.
        time.sleep(1.0)
        tools = [pid for pid in descendants(process.pid) if _live(pid)]
        assert any(marker in " ".join(psutil.Process(pid).cmdline()) for pid in tools), (
            f"{tool} ended before the kill: too quick to test"
        )
        process.kill()
        process.wait()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline and any(_live(pid) for pid in tools):
            time.sleep(0.01)
        left = [psutil.Process(pid).cmdline() for pid in tools if _live(pid)]
        assert left == [], "tools outlived MegaBackup"
    finally:
        process.kill()
        for pid in tools:  # after a failure: leave nothing behind for the next test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)

    result = places.cycle()  # at once

    assert result.outcome == "ok", [(s.id, s.status, s.detail) for s in result.steps]
    assert (places.server / "Documents" / "many" / "f1499.txt").read_text() == "content 1499\n"
    for repository in (places.desktop_repo, places.drive / "home"):
        assert not rdiff.inspect(repository).interrupted_backup


# -- full disks ----------------------------------------------------------------------------------


def _settings_with_backup_on(places: Places, backup: Path) -> None:
    text = places.settings.source.read_text(encoding="utf-8")
    old = places.settings.desktop.backup.as_posix()
    places.settings.source.write_text(text.replace(old, backup.as_posix()), encoding="utf-8")
    from megabackup.settings import load

    places.settings = load(places.settings.source)
    places.desktop_repo = backup / "home"


@pytest.mark.posix
def test_a_full_disk_fails_the_step_by_name_and_keeps_earlier_snapshots(
    places: Places, small_disk: Path, tmp_path: Path
) -> None:
    _settings_with_backup_on(places, small_disk / "LocalBackup")
    first = places.cycle()
    assert first.outcome == "ok", first.summary()
    write(places.desktop / "Documents" / "notes.txt", "second version\n")
    places.cycle()
    (places.desktop / "Pictures" / "film.bin").write_bytes(os.urandom(5 * 1024 * 1024))

    result = places.cycle()

    step = result.step("snapshot-desktop-home")
    assert step is not None and step.status == "failed"
    assert "the desktop backup" in step.detail and "is full" in step.detail
    assert "earlier snapshots are intact" in step.detail
    assert result.step("sync-home").status == "skipped"
    assert "the unfinished snapshot was rolled back" in step.detail
    assert not rdiff.inspect(places.desktop_repo).interrupted_backup
    (places.desktop / "Pictures" / "film.bin").unlink()
    kept = restore(places.desktop_repo, "Documents/notes.txt", "now", tmp_path / "kept.txt")
    assert kept == "second version\n"
    assert places.cycle().step("snapshot-desktop-home").status == "ok"


@pytest.mark.posix
def test_a_first_snapshot_that_cannot_fit_writes_nothing(places: Places, small_disk: Path) -> None:
    _settings_with_backup_on(places, small_disk / "LocalBackup")
    (places.desktop / "Pictures" / "film.bin").write_bytes(os.urandom(4 * 1024 * 1024))

    result = places.cycle()

    step = result.step("snapshot-desktop-home")
    assert step is not None and step.status == "failed"
    assert "needs about 4.2 MB" in step.detail and "nothing was written" in step.detail
    assert not (small_disk / "LocalBackup" / "home").exists()


# -- file names ----------------------------------------------------------------------------------

AWKWARD_NAMES = [
    "Résumé für Zoë.txt",
    "emoji 😀 party.txt",
    "spaces  in   name .txt",
    "what?.txt",
    "con.txt",
    "trailing dot.",
    "Report.txt",
    "report.txt",
    "x" * 200 + "/" + "y" * 80 + ".txt",
]


def test_awkward_file_names_are_backed_up_and_synced_or_reported(places: Places) -> None:
    for name in AWKWARD_NAMES:
        write(places.server / "Documents" / name, f"content of {name}\n")

    result = places.cycle()

    joined = " ".join(result.warnings)
    for name in AWKWARD_NAMES:
        snapshotted = places.drive / "home" / "Documents" / name
        assert snapshotted.read_text() == f"content of {name}\n", name
        if name.casefold() != "report.txt":
            synced = places.desktop / "Documents" / name
            assert synced.read_text() == f"content of {name}\n", name
    # two names differing only in case cannot both live on a case-insensitive side: unison
    # (told to ignore case, as the share does) leaves them where they are, and says why
    assert not (places.desktop / "Documents" / "report.txt").exists()
    sync = result.step("sync-home")
    assert sync is not None and "upper/lower case" in sync.detail
    assert "named in a way Windows cannot store" in joined
    for reported in ("Documents/what?.txt", "Documents/con.txt", "Documents/trailing dot."):
        assert reported in joined
    assert "differing only in upper/lower case" in joined
    assert "longer than 260 characters" in joined


# -- bad settings values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_line", "expected"),
    [
        ("max_clock_skew_seconds = -5", "is too small"),
        ("max_deletions = 0", "is too small"),
        ("max_deletions_percent = 1000", "is too large"),
    ],
)
def test_absurd_limits_are_refused_with_exit_2(
    places: Places, key_line: str, expected: str
) -> None:
    source = places.settings.source
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("[safety]\n", f"[safety]\n{key_line}\n"), encoding="utf-8")
    before = tree(places.desktop.parent, places.server.parent, places.drive.parent)

    result = run_cli(places)

    assert result.returncode == 2
    assert f"{key_line.replace(' = ', ' = ')}: {expected}" in result.stderr
    assert not places.paths.root.exists()
    assert tree(places.desktop.parent, places.server.parent, places.drive.parent) == before


def test_a_settings_path_that_is_a_folder_is_named(tmp_path: Path) -> None:
    env = dict(os.environ, MEGABACKUP_HOME=str(tmp_path / "state"))
    result = subprocess.run(
        [sys.executable, "-m", "megabackup", "check", "--settings", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2
    assert "cannot be read" in result.stderr and str(tmp_path) in result.stderr


def test_cycle_options_default_to_the_safe_choices() -> None:
    options = CycleOptions()
    assert not (options.allow_deletions or options.allow_empty or options.new_place)


def test_a_lock_naming_a_reused_process_number_is_cleared(places: Places) -> None:
    places.cycle()
    for index in range(1500):
        write(places.desktop / "Documents" / "many" / f"f{index:04}.txt", f"content {index}\n")
    argv = rdiff.backup_argv(rdiff.locate(), places.desktop, places.desktop_repo)
    for attempt in range(3):  # on a busy machine the snapshot may end before the kill lands
        time.sleep(1.1)  # rdiff-backup takes one snapshot a second at most
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline and not rdiff.inspect(places.desktop_repo).interrupted_backup:
            time.sleep(0.002)
        child.kill()
        child.wait()
        if rdiff.inspect(places.desktop_repo).interrupted_backup:
            break
        write(places.desktop / "Documents" / "many" / f"again{attempt}.txt", "changed\n")
    assert rdiff.inspect(places.desktop_repo).interrupted_backup, "the kill came too late to test"
    stranger = subprocess.Popen(["sleep", "60"])  # now holds a number, as after a reboot
    markers = sorted((places.desktop_repo / "rdiff-backup-data").glob("current_mirror.*.data"))
    newest = markers[-1]  # the killed session's marker names its process
    assert f"PID {child.pid}" in newest.read_text()
    newest.write_text(newest.read_text().replace(f"PID {child.pid}", f"PID {stranger.pid}"))
    try:
        result = places.cycle()
    finally:
        stranger.kill()
        stranger.wait()

    step = result.step("snapshot-desktop-home")
    assert step is not None and step.status == "ok", step
    assert (
        f"cleared the lock left by an interrupted snapshot (process {stranger.pid})" in step.detail
    )
    assert (places.server / "Documents" / "many" / "f1499.txt").is_file()


@pytest.mark.parametrize("side", ["desktop", "server"])
def test_a_folder_left_with_only_its_hidden_desktop_ini_counts_as_emptied(
    places: Places, side: str
) -> None:
    # Windows keeps a hidden desktop.ini in Documents, Desktop, Pictures and Music (and a share
    # used from Windows gets them too): a folder holding nothing else is empty to the person
    for root in (places.desktop, places.server):
        for folder in ("Documents", "Pictures"):
            write(root / folder / "desktop.ini", "[.ShellClassInfo]\n")
    assert places.cycle().outcome == "ok"
    assert places.cycle().outcome == "ok"  # the server's snapshot has seen what the sync brought
    root = places.desktop if side == "desktop" else places.server
    for child in (root / "Pictures").iterdir():
        if child.name != "desktop.ini":
            child.unlink()
    before = tree(places.desktop.parent, places.server.parent, places.drive.parent)

    result = places.cycle()

    assert result.outcome == "failed"
    assert any(f"{side} home is empty" in p and "Pictures" in p for p in result.problems)
    assert tree(places.desktop.parent, places.server.parent, places.drive.parent) == before


@pytest.mark.posix  # SIGKILL, SIGSTOP and /proc
def test_a_snapshot_still_being_written_is_waited_for_and_never_forced(places: Places) -> None:
    # The orphan of a crashed cycle from before tools ended with it, or an rdiff-backup the
    # person started by hand: alive, holding the desktop backup's lock (stopped, so it stays).
    places.cycle()
    for index in range(1500):
        write(places.desktop / "Documents" / "many" / f"f{index:04}.txt", f"content {index}\n")
    time.sleep(1.1)
    argv = rdiff.backup_argv(rdiff.locate(), places.desktop, places.desktop_repo)
    holder = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and rdiff.lock_file_pid(places.desktop_repo) != holder.pid:
            time.sleep(0.002)
        holder.send_signal(signal.SIGSTOP)

        result = places.cycle(lock_wait_seconds=2)

        step = result.step("snapshot-desktop-home")
        assert step is not None and step.status == "skipped", step
        assert "an earlier snapshot is still finishing" in step.detail
        assert result.step("snapshot-server-home").status == "ok"
        assert result.step("sync-home").status == "skipped"  # never without both snapshots
        assert result.outcome == "warning" and result.exit_code == 1
        assert "--force" not in result.log_path.read_text()
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.wait(60)
    assert holder.returncode == 0  # it finished its own snapshot, undisturbed

    again = places.cycle()

    assert again.outcome == "ok", again.summary()
    assert (places.server / "Documents" / "many" / "f1499.txt").is_file()
