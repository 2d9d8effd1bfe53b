"""An exFAT drive read through FUSE (exfat-fuse), as a Linux user meets it: rdiff-backup refuses
its file system ("isn't deemed reliable enough for a backup ... doesn't register case insensitive
deletion of files"). Before, both drive snapshots failed in rdiff-backup's words every cycle,
left its test folders and an unfinished repository on the drive (which the next cycle took for an
interrupted first backup and ran again with --force), and `check` said "All places are ready".
Now the cycle, `check` and `init-drive` say the same thing in our words, naming the drive and
what to do, and nothing is written to it; the other places go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from .world import DRIVE_MARKER, DRIVE_NAME, World

REFUSED = "rdiff-backup refuses the file system of the external drive"
REMEDY = "Format the drive as NTFS, then prepare it again with: megabackup init-drive"


def _everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.realfs(external="exfat")
def test_a_cycle_names_the_refused_drive_writes_nothing_there_and_the_rest_goes_on(
    realfs_world: World,
) -> None:
    world = realfs_world
    (world.desktop_home / "Documents" / "notes.txt").write_text("milk\n", encoding="utf-8")
    (world.server_data / "Projects").mkdir()
    (world.server_data / "Projects" / "results.csv").write_text("A,12\n", encoding="utf-8")

    for _ in range(2):  # the second cycle finds nothing left over by the first
        done = world.run_cycle()
        report = done.stdout
        assert done.returncode == 3, report + done.stderr
        for step in ("1. snapshot of server home", "2. snapshot of server data"):
            line = next(ln for ln in report.splitlines() if step in ln)
            assert "[FAILED]" in line and f'{REFUSED} "{DRIVE_NAME}" ({world.drive})' in line
            assert REMEDY in line
        assert "[ok]      3. snapshot of desktop home" in report
        assert "isn't deemed reliable" not in report
        assert _everything_under(world.exfat_mount) == [DRIVE_NAME, f"{DRIVE_NAME}/{DRIVE_MARKER}"]
    assert (world.desktop_backup / "home" / "Documents" / "notes.txt").is_file()
    log = next((world.state / "logs").iterdir()).read_text(encoding="utf-8")
    assert "--force" not in log, "no leftover was taken for an interrupted first backup"


@pytest.mark.realfs(external="exfat")
def test_check_says_the_drive_is_refused(realfs_world: World) -> None:
    done = realfs_world.megabackup("check")

    assert done.returncode == 3, done.stdout + done.stderr
    assert f"PROBLEM: {REFUSED}" in done.stdout and REMEDY in done.stdout
    assert "All places are ready" not in done.stdout
    assert _everything_under(realfs_world.exfat_mount) == [
        DRIVE_NAME,
        f"{DRIVE_NAME}/{DRIVE_MARKER}",
    ]


@pytest.mark.realfs(exfat=True)
def test_init_drive_refuses_an_exfat_drive_up_front_and_writes_nothing(
    realfs_world: World,
) -> None:
    world = realfs_world
    target = world.exfat_mount / "Backups"

    done = world.megabackup("init-drive", str(target), "--name", "Holiday disk")

    assert done.returncode == 2, done.stdout + done.stderr
    assert f'{REFUSED} "Holiday disk" ({target})' in done.stderr and REMEDY in done.stderr
    assert "Traceback" not in done.stderr
    assert _everything_under(world.exfat_mount) == []
    # the NTFS drive beside it is accepted as before
    ntfs = world.megabackup("init-drive", str(world.usb_mount / "Backups"), "--name", "Other")
    assert ntfs.returncode == 0, ntfs.stderr


@pytest.mark.realfs(exfat=True)
def test_a_desktop_backup_on_exfat_is_refused_in_the_same_words(realfs_world: World) -> None:
    world = realfs_world
    backup = world.exfat_mount / "LocalBackup"
    world.write_settings(desktop={"backup": backup.as_posix()})
    (world.desktop_home / "Documents" / "notes.txt").write_text("milk\n", encoding="utf-8")

    done = world.run_cycle()

    line = next(ln for ln in done.stdout.splitlines() if "3. snapshot of desktop home" in ln)
    assert "[FAILED]" in line, done.stdout
    assert f"rdiff-backup refuses the file system of the desktop backup ({backup})" in line
    assert "Format that disk as NTFS" in line
    assert "[ok]      1. snapshot of server home" in done.stdout
    assert _everything_under(world.exfat_mount) == []
