"""Every version of a file comes back from the NTFS disks, names rdiff-backup quoted included,
and a restore never leaves anything behind: not on a local disk, not on the share.

On the share a restore fails here: rdiff-backup tests every restore target by writing names
Windows refuses, after which smbnetfs fails every call with an I/O error for about 3 s (see
world.py). Before, that left `.megabackup-restore-*` staging folders and an empty
`Restored <date>` folder on the share, because the clean-up swallowed its own I/O errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from megabackup.restore import restoring
from megabackup.restore.backups import Backups, RestoreError
from megabackup.restore.locate import DESKTOP_BACKUP, EXTERNAL_DRIVE
from megabackup.settings import load
from megabackup.tools import rdiff

from .world import World

QUOTED = "Documents/a;b.txt"  # stored as a;059b.txt in an NTFS mirror (test_quoted_names.py)
PLAIN = "Documents/Letter to Sam.txt"


def _cycle(world: World) -> str:
    done = world.run_cycle()
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_every_version_of_a_file_is_restored_from_both_disks(
    realfs_world: World, tmp_path: Path
) -> None:
    world = realfs_world
    written: dict[str, list[str]] = {QUOTED: [], PLAIN: []}
    for number in range(1, 4):
        for relative, texts in written.items():
            texts.append(f"version {number} of {relative}\n")
            (world.desktop_home / relative).write_text(texts[-1], encoding="utf-8")
        _cycle(world)
        time.sleep(1)  # rdiff-backup keeps one snapshot per second

    backups = Backups(load(world.settings))
    for relative, texts in written.items():
        snapshots = backups.versions(relative).snapshots
        by_disk: dict[str, list[str]] = {DESKTOP_BACKUP: [], EXTERNAL_DRIVE: []}
        for index, version in enumerate(snapshots):
            target = backups.resolve(relative)[0]
            result = backups.restore_version(target, version, tmp_path / f"{index}")
            assert result.path.name == Path(relative).name, "restored under the name as written"
            by_disk[version.where].append(result.path.read_text(encoding="utf-8"))
            assert not result.leftover
        # the desktop backup holds each version; the drive holds each one the sync brought
        assert by_disk[DESKTOP_BACKUP] == texts[::-1], relative
        assert by_disk[EXTERNAL_DRIVE] == texts[::-1], relative
        assert snapshots[0].newest and not any(v.newest for v in snapshots[1:2])
    for index in range(len(list(tmp_path.iterdir()))):
        leftovers = [n for n in _names(tmp_path / f"{index}") if n.startswith(".megabackup")]
        assert leftovers == []

    # deleted on both sides, the newest version still comes back by the name as written
    for home in (world.desktop_home, world.server_home):
        (home / QUOTED).unlink()
    _cycle(world)
    done = world.megabackup("restore", QUOTED, "--to", str(tmp_path / "after deletion"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "after deletion" / "a;b.txt").read_text() == written[QUOTED][-1]
    listed = world.megabackup("versions", QUOTED)
    assert "Copies of Documents/a;b.txt" in listed.stdout and ";059" not in listed.stdout


def _data_file(world: World) -> Path:
    survey = world.server_data / "Projects" / "survey.csv"
    survey.parent.mkdir()
    for text in ("site,count\nA,12\n", "site,count\nA,12\nB,7\n"):
        survey.write_text(text, encoding="utf-8")
        _cycle(world)
        time.sleep(1)
    return survey


def _share_stops_answering_before_the_clean_up(world: World, monkeypatch) -> None:
    """As after rdiff-backup's own tests of the target, for certain: a lookup of a name
    Windows refuses makes smbnetfs fail every call for about 3 s."""
    real = rdiff.Rdiff.restore

    def restore(self, *args):
        try:
            return real(self, *args)
        finally:
            assert not os.path.lexists(world.server_data / "c:d.txt")

    monkeypatch.setattr(rdiff.Rdiff, "restore", restore)


def test_a_server_data_file_comes_back_and_a_failed_restore_on_the_share_leaves_nothing(
    realfs_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = realfs_world
    survey = _data_file(world)
    backups = Backups(load(world.settings))
    on_server = _names(world.server_disk("data"))
    _share_stops_answering_before_the_clean_up(world, monkeypatch)

    with pytest.raises(RestoreError) as failed:
        backups.restore(str(survey))  # beside the original: "Restored <date>" on the share

    message = str(failed.value)
    assert "could not be written to" in message and "choose another folder" in message
    assert "left behind" not in message, "the clean-up waited for the share to answer"
    world.wait_for_share()
    assert _names(world.server_disk("data")) == on_server, "no staging or empty folder left"

    monkeypatch.setattr(restoring, "CLEANUP_SECONDS", 0.0)  # now it does not wait
    with pytest.raises(RestoreError) as failed:
        backups.restore(str(survey))
    message = str(failed.value)
    assert "could not remove what the restore left behind, delete it by hand" in message
    assert restoring.STAGING_PREFIX in message and "Input/output error" in message

    monkeypatch.undo()
    older = backups.versions(str(survey)).snapshots[-1]
    result = backups.restore_version(backups.resolve(str(survey))[0], older, tmp_path)
    assert result.path.read_text(encoding="utf-8") == "site,count\nA,12\n"
