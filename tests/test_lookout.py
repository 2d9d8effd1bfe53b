"""The lookout for places that are away, with a fake clock, a fake drive list and a fake look."""

from __future__ import annotations

from pathlib import Path

import pytest

from megabackup import places
from megabackup.demo import build_places
from megabackup.settings import Settings, load
from megabackup.tray.lookout import LOOK_SECONDS, Lookout

SERVER, DRIVE = "server home", "external drive"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The demo places, with the drive found by its marker on the mounted drives (no path)."""
    path = build_places(tmp_path / "places")
    text = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("path = ")),
        encoding="utf-8",
    )
    return load(path)


class FakeLook:
    """places.look as a share answers it: present or not, recorded with the wait asked for."""

    def __init__(self) -> None:
        self.present: set[Path] = set()
        self.asked: list[tuple[Path, float]] = []

    def __call__(self, path: Path, timeout: float) -> places.Look:
        self.asked.append((path, timeout))
        return places.Look(path in self.present)


class FakeDrives:
    """The drive list: the roots of the drives plugged in now."""

    def __init__(self) -> None:
        self.roots: list[Path] = []

    def __call__(self) -> list[Path]:
        return list(self.roots)


def test_a_server_that_comes_back_is_reported_after_the_settle(settings: Settings) -> None:
    look = FakeLook()
    lookout = Lookout(look=look, drive_roots=FakeDrives())
    lookout.expect([SERVER])
    assert lookout.back(settings, 0) == []
    look.present.add(settings.server.home)
    assert lookout.back(settings, 30) == []  # it looks once a minute, not at every tick
    assert lookout.back(settings, 60) == []  # seen back: now it settles
    assert lookout.next_look(60) == 90
    assert lookout.back(settings, 89) == []
    assert lookout.back(settings, 90) == [SERVER]
    lookout.settled()
    assert lookout.back(settings, 200) == []  # told once
    # each look waited a second at most: a share that does not answer never holds the tray up
    assert {timeout for _, timeout in look.asked} == {LOOK_SECONDS}
    assert [path for path, _ in look.asked] == [settings.server.home] * 2


def test_a_place_gone_again_before_it_settled_waits_for_the_next_time(settings: Settings) -> None:
    look = FakeLook()
    lookout = Lookout(look=look, drive_roots=FakeDrives(), settle_seconds=90)
    lookout.expect([SERVER])
    look.present.add(settings.server.home)
    assert lookout.back(settings, 0) == []
    look.present.clear()  # the Wi-Fi dropped again
    assert lookout.back(settings, 60) == []
    look.present.add(settings.server.home)
    assert lookout.back(settings, 120) == []
    assert lookout.back(settings, 209) == [] and lookout.back(settings, 210) == [SERVER]


def test_a_drive_plugged_in_counts_only_once_its_marker_can_be_read(
    settings: Settings, tmp_path: Path
) -> None:
    drives = FakeDrives()
    lookout = Lookout(look=FakeLook(), drive_roots=drives)
    lookout.expect([])  # the drive was there at the last cycle, then unplugged
    assert lookout.back(settings, 0) == []
    usb = tmp_path / "F-drive"
    usb.mkdir()
    drives.roots = [usb]  # the letter is there before the file system answers
    assert lookout.back(settings, 60) == [] and lookout.back(settings, 200) == []
    places.write_drive_marker(usb / "MegaBackup", "MegaBackup")
    assert lookout.back(settings, 260) == []  # seen at the next look, then it settles
    assert lookout.back(settings, 289) == [] and lookout.back(settings, 290) == [DRIVE]


def test_a_drive_that_is_simply_there_is_no_news(settings: Settings) -> None:
    drives = FakeDrives()
    drives.roots = [settings.desktop.home.parent.parent / "usb-drive"]  # the demo's drive
    lookout = Lookout(look=FakeLook(), drive_roots=drives)
    lookout.expect([])
    assert [lookout.back(settings, t) for t in (0, 60, 120, 180)] == [[]] * 4


def test_a_drive_away_at_the_last_cycle_and_there_now_is_back(settings: Settings) -> None:
    drives = FakeDrives()
    drives.roots = [settings.desktop.home.parent.parent / "usb-drive"]
    lookout = Lookout(look=FakeLook(), drive_roots=drives)
    lookout.expect([DRIVE])  # e.g. the tray started after the drive was plugged in
    assert lookout.back(settings, 0) == []
    assert lookout.back(settings, 30) == [DRIVE]


def test_another_drive_plugged_in_is_not_ours(settings: Settings, tmp_path: Path) -> None:
    drives = FakeDrives()
    lookout = Lookout(look=FakeLook(), drive_roots=drives)
    lookout.expect([DRIVE])
    other = tmp_path / "G-drive"
    places.write_drive_marker(other / "MegaBackup", "Holiday photos")
    drives.roots = [other]
    assert [lookout.back(settings, t) for t in (0, 60, 120)] == [[]] * 3


def test_plugging_the_drive_in_is_ignored_when_the_setting_is_off(
    settings: Settings, tmp_path: Path
) -> None:
    source = settings.source
    assert source is not None
    source.write_text(
        source.read_text(encoding="utf-8") + "\n[schedule]\non_drive_connected = false\n",
        encoding="utf-8",
    )
    settings = load(source)
    drives = FakeDrives()
    lookout = Lookout(look=FakeLook(), drive_roots=drives)
    lookout.expect([DRIVE])
    assert lookout.back(settings, 0) == []
    drives.roots = [source.parent / "usb-drive"]
    assert [lookout.back(settings, t) for t in (60, 120, 180)] == [[]] * 3


def test_a_backup_disk_that_is_back_counts_before_its_folder_exists(settings: Settings) -> None:
    look = FakeLook()
    lookout = Lookout(look=look, drive_roots=FakeDrives())
    lookout.expect(["desktop backup"])
    look.present.add(settings.desktop.backup.parent)  # D:/ is back; D:/LocalBackup not made yet
    assert lookout.back(settings, 0) == [] and lookout.back(settings, 30) == ["desktop backup"]
