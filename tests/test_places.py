"""Places: the drive marker, finding the external drive by it, and telling an empty place."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from megabackup import places
from megabackup.places import DRIVE_MARKER, PlaceError
from winfakes import windows_max_path


def test_a_marker_is_written_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "USB drive" / "MegaBackup"
    marker = places.write_drive_marker(folder, "MegaBackup")
    assert marker == folder / DRIVE_MARKER
    data = places.read_drive_marker(folder)
    assert data is not None
    assert data["name"] == "MegaBackup"
    assert len(data["id"]) == 32 and int(data["id"], 16) >= 0
    assert data["created"]
    assert [p.name for p in folder.iterdir()] == [DRIVE_MARKER]  # no temporary file left


def test_rewriting_a_marker_keeps_its_identity(tmp_path: Path) -> None:
    places.write_drive_marker(tmp_path, "Old name")
    first = places.read_drive_marker(tmp_path)
    places.write_drive_marker(tmp_path, "New name")
    second = places.read_drive_marker(tmp_path)
    assert first is not None and second is not None
    assert second["name"] == "New name"
    assert (second["id"], second["created"]) == (first["id"], first["created"])


def test_two_drives_get_different_identities(tmp_path: Path) -> None:
    places.write_drive_marker(tmp_path / "a", "MegaBackup")
    places.write_drive_marker(tmp_path / "b", "MegaBackup")
    a = places.read_drive_marker(tmp_path / "a")
    b = places.read_drive_marker(tmp_path / "b")
    assert a is not None and b is not None and a["id"] != b["id"]


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1, 2]", b'{"id": "x"}', b'{"name": 3}', b"\xff\xfe"],
)
def test_a_damaged_marker_reads_as_none(tmp_path: Path, content: bytes) -> None:
    (tmp_path / DRIVE_MARKER).write_bytes(content)
    assert places.read_drive_marker(tmp_path) is None


def test_no_marker_reads_as_none(tmp_path: Path) -> None:
    assert places.read_drive_marker(tmp_path) is None
    assert places.read_drive_marker(tmp_path / "missing") is None


# ---------------------------------------------------------------------------
# find_external by external.path


def test_a_configured_drive_that_is_not_connected(tmp_path: Path) -> None:
    lookup = places.find_external("MegaBackup", tmp_path / "F" / "MegaBackup")
    assert not lookup.found
    assert lookup.path is None
    assert "not connected" in lookup.reason and str(tmp_path / "F") in lookup.reason


def test_a_configured_folder_without_a_marker_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PlaceError, match="init-drive") as caught:
        places.find_external("MegaBackup", tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_a_configured_folder_of_another_drive_is_refused(tmp_path: Path) -> None:
    places.write_drive_marker(tmp_path, "Holiday disk")
    with pytest.raises(PlaceError) as caught:
        places.find_external("MegaBackup", tmp_path)
    assert '"Holiday disk"' in str(caught.value) and '"MegaBackup"' in str(caught.value)


def test_the_configured_drive_is_found(tmp_path: Path) -> None:
    places.write_drive_marker(tmp_path, "MegaBackup")
    lookup = places.find_external("MegaBackup", tmp_path)
    assert lookup.found and lookup.path == tmp_path


# ---------------------------------------------------------------------------
# find_external by scanning


@pytest.fixture
def drives(tmp_path: Path) -> list[Path]:
    roots = [tmp_path / letter for letter in ("D", "E", "F", "G")]
    for root in roots:
        root.mkdir()
    return roots


def test_the_drive_is_found_by_its_marker_at_a_root(drives: list[Path]) -> None:
    places.write_drive_marker(drives[2], "MegaBackup")
    assert places.find_external("MegaBackup", None, drives).path == drives[2]


def test_the_drive_is_found_by_its_marker_in_a_folder_of_its_name(drives: list[Path]) -> None:
    places.write_drive_marker(drives[1] / "MegaBackup", "MegaBackup")
    assert places.find_external("MegaBackup", None, drives).path == drives[1] / "MegaBackup"


def test_a_drive_with_another_name_is_passed_over(drives: list[Path]) -> None:
    places.write_drive_marker(drives[0], "Other")
    places.write_drive_marker(drives[0] / "Other", "Other")
    places.write_drive_marker(drives[3], "MegaBackup")
    assert places.find_external("MegaBackup", None, drives).path == drives[3]


def test_a_marker_deeper_down_or_under_another_name_is_not_used(drives: list[Path]) -> None:
    places.write_drive_marker(drives[0] / "backups" / "MegaBackup", "MegaBackup")
    places.write_drive_marker(drives[1] / "Elsewhere", "MegaBackup")
    lookup = places.find_external("MegaBackup", None, drives)
    assert not lookup.found
    assert '"MegaBackup"' in lookup.reason and "not connected" in lookup.reason


def test_scanning_roots_that_do_not_exist_finds_nothing(tmp_path: Path) -> None:
    lookup = places.find_external("MegaBackup", None, [tmp_path / "Z", tmp_path / "Y"])
    assert not lookup.found and lookup.reason


@pytest.mark.skipif(os.name == "nt", reason="Linux mount folders")
def test_candidate_roots_cover_mounts_and_user_media(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media, mnt = tmp_path / "media", tmp_path / "mnt"
    (media / "andy" / "USB STICK").mkdir(parents=True)
    (mnt / "usb" / "deeper").mkdir(parents=True)
    monkeypatch.setattr(places, "LINUX_MOUNT_PARENTS", (str(media), str(mnt), "/nonexistent"))
    roots = places.candidate_roots()
    assert media / "andy" / "USB STICK" in roots
    assert mnt / "usb" in roots


# ---------------------------------------------------------------------------
# has_content


def test_an_empty_or_missing_place_has_no_content(tmp_path: Path) -> None:
    assert not places.has_content(tmp_path)
    assert not places.has_content(tmp_path / "missing")


def test_markers_alone_are_not_content(tmp_path: Path) -> None:
    places.write_drive_marker(tmp_path, "MegaBackup")
    (tmp_path / ".megabackup-place").write_text("{}")
    assert not places.has_content(tmp_path)


@pytest.mark.parametrize("name", ["file.txt", ".hidden", "empty folder"])
def test_any_other_entry_is_content(tmp_path: Path, name: str) -> None:
    if "folder" in name:
        (tmp_path / name).mkdir()
    else:
        (tmp_path / name).write_text("x")
    assert places.has_content(tmp_path)


def test_listed_folders_count_only_themselves(tmp_path: Path) -> None:
    (tmp_path / "Documents").mkdir()
    (tmp_path / "Unlisted").mkdir()
    (tmp_path / "Unlisted" / "file.txt").write_text("x")
    assert not places.has_content(tmp_path, ["Documents", "Missing"])
    (tmp_path / "Documents" / "letter.txt").write_text("x")
    assert places.has_content(tmp_path, ["Missing", "Documents"])


def test_a_marker_is_valid_json_a_person_can_read(tmp_path: Path) -> None:
    marker = places.write_drive_marker(tmp_path, "MegaBackup")
    data = json.loads(marker.read_text(encoding="utf-8"))
    assert "Do not delete" in data["about"]


def test_markers_deeper_than_windows_260_characters_are_written_and_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("a share folder with a long name " * 4) / ("and one more level " * 6)
    assert len(str(deep / places.PLACE_MARKER)) > 260
    with windows_max_path(monkeypatch):
        marker_id = places.write_place_marker(deep, "server home")
        assert places.read_place_marker(deep) == marker_id
        places.write_drive_marker(deep / "MegaBackup", "MegaBackup")
        assert places.read_drive_marker(deep / "MegaBackup") is not None
        assert places.has_content(deep)
    assert sorted(p.name for p in deep.iterdir()) == [places.PLACE_MARKER, "MegaBackup"]


def test_a_listed_folder_is_spelled_as_the_disk_spells_it(tmp_path: Path) -> None:
    from megabackup.files import spelled_on_disk

    (tmp_path / "Documents" / "Work Files").mkdir(parents=True)
    (tmp_path / "Music").mkdir()
    (tmp_path / "music").mkdir()  # two spellings: only an exact match can choose
    assert spelled_on_disk(tmp_path, "documents/work files") == "Documents/Work Files"
    assert spelled_on_disk(tmp_path, "Documents") == "Documents"
    assert spelled_on_disk(tmp_path, "music") == "music"
    assert spelled_on_disk(tmp_path, "MUSIC") == "MUSIC"
    assert spelled_on_disk(tmp_path, "documents/missing/deeper") == "Documents/missing/deeper"


def test_emptiness_leaves_out_desktop_ini_markers_and_the_ignore_list(tmp_path: Path) -> None:
    (tmp_path / "Documents").mkdir()
    for name in ("desktop.ini", "Thumbs.db", "~$letter.docx", ".megabackup-place"):
        (tmp_path / "Documents" / name).write_text("x")
    (tmp_path / "Documents" / "cache").mkdir()
    ignore = ("Thumbs.db", "~$*", "Documents/cache")
    assert not places.has_content(tmp_path, ["Documents"], ignore)
    assert places.has_content(tmp_path, ["Documents"])  # without the list, Thumbs.db counts
    (tmp_path / "Documents" / "letter.docx").write_text("the letter")
    assert places.has_content(tmp_path, ["Documents"], ignore)


# -- away: a bounded look ------------------------------------------------------------------------
class Blocking:
    """An existence check that does not answer until released, as a share on a frozen server."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = 0

    def __call__(self, path: str) -> bool:
        self.asked += 1
        self.release.wait(30)
        return True


def test_a_folder_that_does_not_answer_is_away_after_the_wait(tmp_path: Path) -> None:
    check = Blocking()
    started = time.monotonic()
    found = places.look(tmp_path / "frozen", 0.3, is_dir=check)
    assert (found.present, found.answered) == (False, False)
    assert 0.3 <= time.monotonic() - started < 5
    # asked again while the first question is still open: no second question, no second wait
    started = time.monotonic()
    again = places.look(tmp_path / "frozen", 0.3, is_dir=check)
    assert (again.present, again.answered, check.asked) == (False, False, 1)
    assert time.monotonic() - started < 0.2
    check.release.set()
    time.sleep(0.1)
    assert places.look(tmp_path / "frozen", 0.3, is_dir=check).present  # it answers again
    assert check.asked == 2  # a fresh question, not the old answer


def test_a_folder_that_answers_is_seen_at_once(tmp_path: Path) -> None:
    def failing(path: str) -> bool:
        raise OSError(5, "Input/output error")  # a share dropping the connection

    assert places.look(tmp_path).present
    assert places.look(tmp_path / "missing") == places.Look(False)
    assert places.look(tmp_path / "x", is_dir=failing) == places.Look(False)


def test_an_away_place_is_named_with_why(tmp_path: Path) -> None:
    share = places.away_reason(places.SERVER_HOME, Path("//nas/andy"), places.Look(False))
    assert share == "the server home //nas/andy is not reachable"
    slow = places.Look(False, answered=False, waited=15.2)
    assert "did not answer within 15 s" in places.away_reason(places.SERVER_DATA, tmp_path, slow)
    disk = places.away_reason(places.DESKTOP_BACKUP, Path("D:/LocalBackup"), places.Look(False))
    assert "is not there" in disk and "disk" in disk


def test_a_question_that_fails_with_a_bug_says_so_instead_of_away(tmp_path: Path) -> None:
    def broken() -> object:
        raise TypeError("a bug, not a share")

    with pytest.raises(TypeError):
        places.ask(f"broken {tmp_path}", broken).answer(5)
    gone = tmp_path / "gone"
    failing = places.ask(f"listing {gone}", lambda: list(gone.iterdir())).answer(5)
    assert failing.answered and isinstance(failing.error, FileNotFoundError)  # an answer
