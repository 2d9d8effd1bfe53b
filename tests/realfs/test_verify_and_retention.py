"""Verify and retention on the NTFS disks: every repository checks out, a damaged copy is named
by the name the person gave it (not as rdiff-backup quoted it on the disk), and old snapshots go
after retention.keep_days while the newest stays restorable."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from megabackup.restore.backups import Backups
from megabackup.settings import load
from support import session_times, under_shifted_clock

from .world import World

QUOTED = "Documents/a;b.txt"  # on NTFS the mirror holds it as a;059b.txt
PLAIN = "Documents/plain.txt"
DAY = 86400


def _three_versions(world: World) -> str:
    """Two snapshots 40 days ago and one now. The past ones are taken under a desktop clock
    40 days behind the share's: snapshots go on while the server's clock is ahead (the sync
    and retention wait), which dates them as a month-old chain would be."""
    for number, shift in ((1, "-40d"), (2, "-40d"), (3, "")):
        for relative in (QUOTED, PLAIN):
            text = f"version {number} of {relative}\n"
            (world.desktop_home / relative).write_text(text, encoding="utf-8")
        env = world.environment()
        argv = world.argv("run")
        argv = under_shifted_clock(argv, shift, env) if shift else argv
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == (1 if shift else 0), done.stdout + done.stderr
        assert "[ok]      3. snapshot of desktop home" in done.stdout, done.stdout
        if number == 2:
            assert len(_month_old_snapshots(world)) == 2, "dated a month and more ago"
        time.sleep(2)  # rdiff-backup takes one snapshot a second at most
    return done.stdout


def _month_old_snapshots(world: World) -> list[float]:
    sessions = session_times(world.desktop_backup / "home")
    return [moment for moment in sessions if moment < time.time() - 39 * DAY]


def test_verify_names_damage_by_the_persons_name_and_retention_keeps_the_newest(
    realfs_world: World, tmp_path: Path
) -> None:
    world = realfs_world
    world.write_settings(retention={"keep_days": 30})
    now = _three_versions(world)
    # retention, due after a month, ran in the cycle of today: the month-old snapshots went
    assert "old snapshots: removed" in now, now
    sessions = session_times(world.desktop_backup / "home")
    assert len(sessions) == 1 and sessions[0] > time.time() - DAY, "the newest stays"
    repositories = [world.desktop_backup / "home", world.drive / "home", world.drive / "data"]

    clean = world.megabackup("verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for repository in repositories:
        assert f"{repository}: all files verified" in clean.stdout, clean.stdout

    # one bit rots on each disk: same size, other bytes
    quoted_in_mirror = world.drive / "home" / "Documents" / "a;059b.txt"
    assert quoted_in_mirror.read_text() == f"version 3 of {QUOTED}\n"
    quoted_in_mirror.write_text(f"version 3 of {QUOTED}\n".upper(), encoding="utf-8")
    plain_in_mirror = world.desktop_backup / "home" / PLAIN
    plain_in_mirror.write_text(f"version 3 of {PLAIN}\n".upper(), encoding="utf-8")

    damaged = world.megabackup("verify")
    assert damaged.returncode == 3, damaged.stdout + damaged.stderr
    lines = damaged.stdout.splitlines()
    drive = next(ln for ln in lines if ln.strip().startswith(str(world.drive / "home")))
    assert f"1 damaged file(s): {QUOTED}." in drive, drive
    backup = next(ln for ln in lines if ln.strip().startswith(str(world.desktop_backup)))
    assert f"1 damaged file(s): {PLAIN}." in backup, backup
    quoted_in_mirror.write_text(f"version 3 of {QUOTED}\n", encoding="utf-8")
    plain_in_mirror.write_text(f"version 3 of {PLAIN}\n", encoding="utf-8")

    for repository in repositories:
        assert len(session_times(repository)) >= 1, "the newest snapshot always stays"

    backups = Backups(load(world.settings))
    left = [v for v in backups.versions(QUOTED).snapshots if v.where == "desktop backup"]
    assert len(left) == 1 and left[0].newest
    result = backups.restore_version(backups.resolve(QUOTED)[0], left[0], tmp_path)
    assert result.path.read_text(encoding="utf-8") == f"version 3 of {QUOTED}\n"
    assert world.megabackup("verify").returncode == 0
