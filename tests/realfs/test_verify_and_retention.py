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


def _three_versions(world: World) -> None:
    for number in (1, 2, 3):
        for relative in (QUOTED, PLAIN):
            text = f"version {number} of {relative}\n"
            (world.desktop_home / relative).write_text(text, encoding="utf-8")
        done = world.run_cycle()
        assert done.returncode == 0, done.stdout + done.stderr
        time.sleep(2)  # sessions whole seconds apart, for a cut-off between them


def test_verify_names_damage_by_the_persons_name_and_retention_keeps_the_newest(
    realfs_world: World, tmp_path: Path
) -> None:
    world = realfs_world
    world.write_settings(retention={"keep_days": 30})
    _three_versions(world)
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

    sessions = session_times(world.desktop_backup / "home")
    assert len(sessions) == 3
    # a month on, between the second and the third snapshot's age: the first two go
    later = sessions[1] + 30 * DAY + (sessions[2] - sessions[1]) / 2 - time.time()
    env = world.environment()
    argv = under_shifted_clock(world.argv("prune"), f"+{int(later)}", env)
    pruned = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert f"{world.desktop_backup / 'home'}: removed 2 old snapshot(s)" in pruned.stdout
    assert session_times(world.desktop_backup / "home") == sessions[2:]
    for repository in repositories:
        assert len(session_times(repository)) >= 1, "the newest snapshot always stays"

    backups = Backups(load(world.settings))
    left = [v for v in backups.versions(QUOTED).snapshots if v.where == "desktop backup"]
    assert len(left) == 1 and left[0].newest
    result = backups.restore_version(backups.resolve(QUOTED)[0], left[0], tmp_path)
    assert result.path.read_text(encoding="utf-8") == f"version 3 of {QUOTED}\n"
    assert world.megabackup("verify").returncode == 0
