"""The gates, with the server home on a Samba share: a conflict is never lost (whichever side is
newer, and when conflicts are left alone), a mass deletion on the share waits for the person's
OK, and a desktop clock that disagrees with the share's stops the sync and says which is off.
The share's times are its own: Samba stamps them, read back through smbnetfs."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from support import under_shifted_clock

from .world import World


def _cycle(world: World, *options: str) -> subprocess.CompletedProcess:
    done = world.run_cycle(*options)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done


def _conflict_copies(folder: Path, stem: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(f"{stem} (conflict"))


def test_a_conflict_keeps_both_versions_whichever_side_is_newer(realfs_world: World) -> None:
    world = realfs_world
    desktop, share = world.desktop_home / "Documents", world.server_home / "Documents"
    for name in ("letter.txt", "plan.txt"):
        (desktop / name).write_text("first draft\n", encoding="utf-8")
    _cycle(world)
    hour_ago = time.time() - 3600
    # letter.txt: the share's edit is the newer; plan.txt: the desktop's
    (desktop / "letter.txt").write_text("desktop, older\n", encoding="utf-8")
    os.utime(desktop / "letter.txt", (hour_ago, hour_ago))
    (share / "letter.txt").write_text("share, newer\n", encoding="utf-8")
    (share / "plan.txt").write_text("share, older\n", encoding="utf-8")
    os.utime(share / "plan.txt", (hour_ago, hour_ago))  # set through SMB (whole seconds)
    (desktop / "plan.txt").write_text("desktop, newer\n", encoding="utf-8")

    done = _cycle(world)

    assert "Conflicts (2)" in done.stdout, done.stdout
    assert "Documents/letter.txt: newer version in place" in done.stdout
    _cycle(world)  # the conflict copies travel to the other side as new files
    on_server = world.server_disk("home") / "Documents"
    for folder in (desktop, on_server):
        assert (folder / "letter.txt").read_text() == "share, newer\n"
        assert (folder / "plan.txt").read_text() == "desktop, newer\n"
        [letter_copy] = _conflict_copies(folder, "letter")
        [plan_copy] = _conflict_copies(folder, "plan")
        assert letter_copy.read_text() == "desktop, older\n"
        assert plan_copy.read_text() == "share, older\n"
    status = world.megabackup("status").stdout
    assert "Open conflicts (2)" in status and "letter (conflict" in status, status


def test_a_conflict_left_alone_stays_as_each_side_has_it(realfs_world: World) -> None:
    world = realfs_world
    world.write_settings(safety={"conflicts": "skip"})
    desktop, share = world.desktop_home / "Documents", world.server_home / "Documents"
    (desktop / "budget.csv").write_text("jan,100\n", encoding="utf-8")
    _cycle(world)
    (desktop / "budget.csv").write_text("jan,100\nfeb,90 (desktop)\n", encoding="utf-8")
    (share / "budget.csv").write_text("jan,100\nfeb,95 (share)\n", encoding="utf-8")

    done = _cycle(world)

    assert done.returncode == 1
    assert "Documents/budget.csv: left alone on both sides" in done.stdout, done.stdout
    assert "(desktop)" in (desktop / "budget.csv").read_text()
    assert "(share)" in (world.server_disk("home") / "Documents" / "budget.csv").read_text()
    assert "Open conflicts (1)" in world.megabackup("status").stdout


def test_a_mass_deletion_on_the_share_waits_for_the_persons_ok(
    realfs_world: World, tmp_path: Path
) -> None:
    world = realfs_world
    (world.desktop_home / "Documents" / "keep.txt").write_text("kept\n", encoding="utf-8")
    old = world.desktop_home / "Documents" / "old reports"
    old.mkdir()
    for index in range(40):
        (old / f"report {index:02}.txt").write_text(f"report {index}\n", encoding="utf-8")
    _cycle(world)
    for path in (world.server_home / "Documents" / "old reports").iterdir():
        path.unlink()  # deleted on the share, as from another computer
    (world.server_home / "Documents" / "old reports").rmdir()

    held = _cycle(world)

    assert held.returncode == 1
    assert "[held]" in held.stdout or "waiting for your OK" in held.stdout, held.stdout
    assert "41 files and folders" in held.stdout and "deleted on the server" in held.stdout
    assert "megabackup run --allow-deletions" in held.stdout
    assert len(list(old.iterdir())) == 40, "the desktop keeps them while the sync waits"

    allowed = _cycle(world, "--allow-deletions")
    assert "syncing home" in allowed.stdout and not old.exists(), allowed.stdout
    back = world.megabackup("restore", "Documents/old reports/report 07.txt", "--to", str(tmp_path))
    assert back.returncode == 0, back.stdout + back.stderr
    assert (tmp_path / "report 07.txt").read_text() == "report 7\n"


def _cycle_with_the_desktop_clock(world: World, shift: str) -> subprocess.CompletedProcess:
    env = world.environment()
    argv = under_shifted_clock(world.argv("run"), shift, env)
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=600, stdin=subprocess.DEVNULL
    )


def test_a_desktop_clock_ahead_of_the_share_stops_the_sync_and_is_named(
    realfs_world: World,
) -> None:
    world = realfs_world
    notes = world.desktop_home / "Documents" / "notes.txt"
    notes.write_text("written before\n", encoding="utf-8")
    _cycle(world)
    notes.write_text("written on a computer whose clock is fast\n", encoding="utf-8")

    done = _cycle_with_the_desktop_clock(world, "+10m")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "this computer's clock is ahead of the server's by 10 minutes" in done.stdout
    assert "[skipped] 4. syncing home" in done.stdout
    assert "[skipped] 3. snapshot of desktop home" in done.stdout, "none dated in the future"
    on_server = world.server_disk("home") / "Documents" / "notes.txt"
    assert on_server.read_text() == "written before\n"


def test_a_share_clock_ahead_of_the_desktop_is_named_as_the_one_that_is_off(
    realfs_world: World,
) -> None:
    world = realfs_world
    (world.desktop_home / "Documents" / "notes.txt").write_text("new\n", encoding="utf-8")

    done = _cycle_with_the_desktop_clock(world, "-15m")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "the server's clock is ahead of this computer's by 15 minutes" in done.stdout
    assert not (world.server_disk("home") / "Documents" / "notes.txt").exists()
    assert (world.desktop_backup / "home" / "Documents" / "notes.txt").is_file()
