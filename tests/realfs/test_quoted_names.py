"""Names rdiff-backup quotes in a mirror on a disk that cannot hold them as they are: on NTFS
(the desktop backup here) `a;b.txt` is stored as `a;059b.txt`. Every version is listed, the
newest is restored, and the names are shown as the person wrote them."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from megabackup.restore.backups import Backups
from megabackup.settings import load

from .world import World

NAME = "a;b.txt"  # ';' is rdiff-backup's quoting character: quoted wherever it quotes at all


def _cycle(world: World) -> None:
    done = world.run_cycle()
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_quoted_name_keeps_its_newest_version_in_versions_and_restore(
    realfs_world: World, tmp_path: Path
) -> None:
    world = realfs_world
    notes = world.desktop_home / "Documents" / NAME
    notes.write_text("first\n", encoding="utf-8")
    _cycle(world)
    mirror = world.desktop_backup / "home" / "Documents"
    assert sorted(p.name for p in mirror.iterdir()) == ["a;059b.txt"]  # the fact itself
    time.sleep(1.1)
    notes.write_text("second, the newest\n", encoding="utf-8")
    _cycle(world)

    listed = world.megabackup("versions", f"Documents/{NAME}")
    assert listed.returncode == 0, listed.stderr
    desktop_backup = [ln for ln in listed.stdout.splitlines() if "in the desktop backup" in ln]
    assert len(desktop_backup) == 2, listed.stdout
    assert "(newest)" in desktop_backup[0], listed.stdout

    for as_of in ([], ["--as-of", datetime.now().strftime("%Y-%m-%d")]):
        target = tmp_path / f"restored{len(as_of)}"
        done = world.megabackup("restore", f"Documents/{NAME}", "--to", str(target), *as_of)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (target / NAME).read_text(encoding="utf-8") == "second, the newest\n"


def test_names_read_from_a_quoting_mirror_are_shown_unquoted(realfs_world: World) -> None:
    world = realfs_world
    for name in (NAME, "plain.txt"):
        (world.desktop_home / "Documents" / name).write_text(name, encoding="utf-8")
    _cycle(world)
    for home in (world.desktop_home, world.server_home):  # gone from both, still in snapshots
        (home / "Documents" / NAME).unlink()

    backups = Backups(load(world.settings))
    names = {entry.name: entry.live for entry in backups.folder("home", "Documents")}

    assert names == {NAME: False, "plain.txt": True}
    found = backups.versions(f"Documents/{NAME}")
    assert [v.where for v in found.snapshots][:1] == ["desktop backup"]
    assert found.snapshots[0].newest and found.snapshots[0].size == len(NAME)
