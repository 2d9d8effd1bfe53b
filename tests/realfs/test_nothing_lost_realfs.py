"""The "nothing lost" property test (tests/test_nothing_lost.py) where users keep their files:
the same sequences and invariants, with the server home and data in a folder of the Samba share
(through smbnetfs) and the desktop backup and the drive on NTFS disks; the desktop home stays on
ext4, and a skewed cycle now puts the desktop's clock off from the share's own.

A bounded run is part of `make test`; `make property-long-realfs` runs 200 sequences
(PROPERTY_REALFS_EXAMPLES, PROPERTY_STEPS change the size).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from megabackup import places
from megabackup.demo import DATA_FOLDERS, HOME_FOLDERS, plant_samples
from megabackup.settings import load, to_toml
from test_nothing_lost import NothingLost, prove_nothing_lost

from .world import DRIVE_NAME, World

EXAMPLES = int(os.environ.get("PROPERTY_REALFS_EXAMPLES", "5"))
STEPS = int(os.environ.get("PROPERTY_STEPS", "12"))


class NothingLostOnRealFilesystems(NothingLost):
    """One world for the whole run; each sequence gets new folders in it."""

    world: World
    sequence = 0

    def lay_out_places(self, root: Path) -> Path:
        world = type(self).world
        type(self).sequence += 1
        name = f"sequence {type(self).sequence}"
        self.world_folders = [
            world.share("home") / name,
            world.backup_mount / name,
            world.usb_mount / name,
        ]
        share, backup, usb = self.world_folders
        drive = usb / DRIVE_NAME
        backup.mkdir()
        places.write_drive_marker(drive, DRIVE_NAME)
        tables = {
            "desktop": {"home": root / "desktop" / "home", "backup": backup / "LocalBackup"},
            # both in one folder of the share, as on the demo's server: "share away" takes
            # that folder away
            "server": {"home": share / "server" / "home", "data": share / "server" / "data"},
            "external": {"name": DRIVE_NAME, "path": drive},
            "folders": {"home": HOME_FOLDERS, "data": DATA_FOLDERS},
            "safety": {"conflicts": "keep-both"},
        }
        settings_path = root / "settings.toml"
        settings_path.write_text(to_toml(tables, "A sequence on real filesystems."), "utf-8")
        plant_samples(load(settings_path))
        return settings_path

    def _apply(self, edits: list[tuple[str, ...]]) -> None:
        self.world.wait_for_share()  # a killed cycle may have left smbnetfs mid-call
        super()._apply(edits)

    def _check_nothing_lost(self) -> None:
        self.world.wait_for_share()
        super()._check_nothing_lost()

    def teardown(self) -> None:
        self.world.wait_for_share()
        for folder in self.world_folders:
            shutil.rmtree(folder, ignore_errors=True)
        super().teardown()


@pytest.mark.timeout(1800 if EXAMPLES <= 50 else 0)  # real cycles; a long run has no limit
@pytest.mark.realtools
@pytest.mark.property
@pytest.mark.posix  # libfaketime and a power cut by SIGKILL
def test_nothing_is_ever_lost_on_real_filesystems(realfs_world: World) -> None:
    NothingLostOnRealFilesystems.world = realfs_world
    NothingLostOnRealFilesystems.sequence = 0
    prove_nothing_lost(
        NothingLostOnRealFilesystems, EXAMPLES, STEPS, "nothing lost on real filesystems"
    )
    # the invariants are checked in the machine; here, that its places really were the share's
    # and the NTFS disks' (the seam was used), not the ext4 layout of the plain test
    assert NothingLostOnRealFilesystems.sequence > 0, "no sequence ran on the real filesystems"
