"""The drive list of the set-up window: from a thin fake of kernel32 (what Windows answers) and
from real folders with a real marker; "Use this drive" refuses what init-drive refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from megabackup import drives, places, winsys
from megabackup.places import DriveRefused

GB = 1024**3


class FakeKernel32:
    """GetLogicalDrives, GetDriveTypeW, GetVolumeInformationW and GetDiskFreeSpaceExW as
    Windows answers them: the out-parameters are written through the buffers and pointers
    the caller passes, and a call fails with 0 for a slot with no disk in it."""

    def __init__(self, drives: dict[str, tuple[int, str, int, int] | int]) -> None:
        self.drives = drives  # letter -> (type, label, total, free), or a type alone: no disk
        self.asked: list[str] = []

    def GetLogicalDrives(self) -> int:  # the Windows API's own names
        return sum(1 << (ord(letter) - ord("A")) for letter in self.drives)

    def GetDriveTypeW(self, root: str) -> int:
        found = self.drives[root[0]]
        return found if isinstance(found, int) else found[0]

    def GetVolumeInformationW(self, root: str, label: Any, size: int, *rest: Any) -> int:
        self.asked.append(root)
        found = self.drives[root[0]]
        if isinstance(found, int):
            return 0  # ERROR_NOT_READY: an empty card reader
        assert size == winsys.LABEL_CHARS and len(rest) == 5
        label.value = found[1]
        return 1

    def GetDiskFreeSpaceExW(self, root: str, free: Any, total: Any, total_free: Any) -> int:
        found = self.drives[root[0]]
        assert not isinstance(found, int) and total_free is None
        free._obj.value, total._obj.value = found[3], found[2]  # byref(c_ulonglong)
        return 1


def test_the_connected_drives_with_label_size_and_free_space_from_windows() -> None:
    kernel32 = FakeKernel32(
        {
            "C": (winsys.DRIVE_FIXED, "Windows", 500 * GB, 80 * GB),  # never listed
            "D": (winsys.DRIVE_FIXED, "DATA", 2000 * GB, 1500 * GB),
            "E": winsys.DRIVE_REMOVABLE,  # a card reader with no card
            "F": (winsys.DRIVE_REMOVABLE, "SANDISK", 64 * GB, 60 * GB),
            "Z": (winsys.DRIVE_REMOTE, "andy", 4000 * GB, 100 * GB),  # a mapped share
        }
    )
    found = winsys.volumes(kernel32)
    assert found == [
        winsys.Volume(Path("D:/"), "DATA", 2000 * GB, 1500 * GB, removable=False),
        winsys.Volume(Path("F:/"), "SANDISK", 64 * GB, 60 * GB, removable=True),
    ]
    assert kernel32.asked == ["D:\\", "E:\\", "F:\\"]
    rows = [d.describe("MegaBackup") for d in drives.connected("MegaBackup", found)]
    assert rows[1][1:] == ("SANDISK", "64.0 GB", "60.0 GB", "USB stick or card")
    assert rows[0][1:] == ("DATA", "2.0 TB", "1.5 TB", "disk")


def test_a_real_folder_with_a_marker_is_shown_as_the_megabackup_drive(tmp_path: Path) -> None:
    stick, disk, other = tmp_path / "STICK", tmp_path / "DISK", tmp_path / "OLD"
    for folder in (stick, disk, other):
        folder.mkdir()
    places.write_drive_marker(disk / "MegaBackup", "MegaBackup")  # "Use this drive" did this
    places.write_drive_marker(other, "Andy's old drive")  # init-drive on the whole drive
    listed = drives.connected("MegaBackup", drives.folder_volumes([stick, disk, other]))
    assert [d.root for d in listed] == [stick, disk, other]
    assert [d.describe("MegaBackup")[4] for d in listed] == [
        "disk",
        'the MegaBackup drive "MegaBackup"',
        'another MegaBackup drive, "Andy\'s old drive"',
    ]
    assert listed[1].marked == disk / "MegaBackup" and listed[1].volume.total > 0
    assert [drives.marking_folder(d, "MegaBackup") for d in listed] == [
        stick / "MegaBackup",
        disk / "MegaBackup",
        other,
    ]


def test_marking_a_drive_refuses_what_init_drive_refuses(tmp_path: Path) -> None:
    old = tmp_path / "OLD"
    places.write_drive_marker(old, "Andy's old drive")
    before = (old / places.DRIVE_MARKER).read_bytes()
    with pytest.raises(DriveRefused, match='already the MegaBackup drive "Andy\'s old drive"'):
        places.mark_drive(old, "MegaBackup")
    assert (old / places.DRIVE_MARKER).read_bytes() == before
    with pytest.raises(DriveRefused, match="does not exist; is the drive connected"):
        places.mark_drive(tmp_path / "unplugged" / "MegaBackup", "MegaBackup")
    assert not (tmp_path / "unplugged").exists()
    (tmp_path / "NEW").mkdir()
    marker = places.mark_drive(tmp_path / "NEW" / "MegaBackup", "MegaBackup")
    assert places.read_drive_marker(marker.parent) is not None
    assert places.find_external("MegaBackup", None, roots=[tmp_path / "NEW"]).found
