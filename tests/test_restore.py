"""Every copy of a file, and restoring one: the real rdiff-backup on real folders.

Snapshots are taken with rdiff-backup's --current-time, so a history of days is built in a second.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from megabackup import cli
from megabackup.demo import build_places
from megabackup.restore.backups import Backups, RestoreError, Target
from megabackup.settings import Settings, load
from megabackup.tools import rdiff
from support import write
from winfakes import windows_max_path

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison

DAY = 86400
NOW = time.time()


def snapshot(source: Path, repository: Path, when: float) -> None:
    """One rdiff-backup session dated `when` (seconds since the epoch, in the past)."""
    argv = [*rdiff.locate(), "--api-version", "201", "--current-time", str(int(when)), "backup"]
    subprocess.run([*argv, str(source), str(repository)], check=True, capture_output=True)


class World:
    """The demo places with a history: desktop home snapshots into the desktop backup, server
    home and data snapshots onto the external drive."""

    def __init__(self, root: Path, settings: Path | None = None) -> None:
        self.root = root
        self.settings: Settings = load(settings or build_places(root))
        data, drive = self.settings.server.data, self.settings.external.path
        assert data is not None and drive is not None
        self.data: Path = data
        self.drive: Path = drive

    @property
    def desktop(self) -> Path:
        return self.settings.desktop.home

    @property
    def server(self) -> Path:
        return self.settings.server.home

    @property
    def desktop_repo(self) -> Path:
        return self.settings.desktop.backup / "home"

    def snap_desktop(self, when: float) -> None:
        snapshot(self.desktop, self.desktop_repo, when)

    def snap_server(self, when: float) -> None:
        snapshot(self.server, self.drive / "home", when)
        snapshot(self.data, self.drive / "data", when)

    def backups(self) -> Backups:
        return Backups(self.settings, clock=lambda: NOW)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture(scope="session")
def history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """notes.txt: v1 ten days ago, v2 five days ago, v3 two days ago, deleted one day ago.

    Built once; each test gets a copy (repositories may be moved, they hold no paths).
    """
    root = tmp_path_factory.mktemp("history")
    world = World(root)
    notes = world.desktop / "Documents" / "notes.txt"
    for days, text in ((10, "v1\n"), (5, "v2 longer\n"), (2, "v3 the longest\n")):
        write(notes, text, mtime=NOW - days * DAY - 60)  # edited a minute before the snapshot
        world.snap_desktop(NOW - days * DAY)
        world.snap_server(NOW - days * DAY + 60)
    notes.unlink()
    world.snap_desktop(NOW - DAY)
    return root


@pytest.fixture
def history(history_template: Path, tmp_path: Path) -> World:
    root = tmp_path / "world"
    shutil.copytree(history_template, root, symlinks=True)
    settings = root / "settings.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace(history_template.as_posix(), root.as_posix()), "utf-8")
    return World(root, settings)


def test_restore_a_deleted_file_beside_the_original(history: World) -> None:
    result = history.backups().restore("Documents/notes.txt")

    # No time given: the newest snapshot that holds it, i.e. as it was last seen.
    assert result.path.read_text() == "v3 the longest\n"
    assert result.version.where == "desktop backup"
    assert result.path.parent.parent == history.desktop / "Documents"
    stamp = datetime.fromtimestamp(int(NOW - 2 * DAY)).strftime("%Y-%m-%d %H-%M")
    assert result.path.parent.name == f"Restored {stamp}"
    assert result.kept is None
    assert not (history.desktop / "Documents" / "notes.txt").exists(), "original place untouched"
    leftovers = [p for p in result.path.parent.iterdir() if p.name.startswith(".megabackup")]
    assert leftovers == []


def test_restore_an_older_version_of_an_edited_file(history: World) -> None:
    backups = history.backups()
    six_days_ago = datetime.fromtimestamp(NOW - 6 * DAY).strftime("%Y-%m-%d %H:%M:%S")

    by_phrase = backups.restore("Documents/notes.txt", "7 days ago")
    by_iso = backups.restore("Documents/notes.txt", six_days_ago)
    by_epoch = backups.restore("Documents/notes.txt", NOW - 4 * DAY)

    assert by_phrase.path.read_text() == "v1\n"
    assert by_iso.path.read_text() == "v1\n"
    assert by_epoch.path.read_text() == "v2 longer\n"
    assert by_epoch.version.time == int(NOW - 5 * DAY)


def test_restore_a_whole_folder_as_it_was(history: World, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"

    result = history.backups().restore(str(history.desktop / "Documents"), "3 days ago", target)

    assert result.path == target / "Documents"
    assert (result.path / "notes.txt").read_text() == "v2 longer\n"
    assert (result.path / "letter to Sam.txt").read_text() == "Dear Sam,\nSee you soon.\n"
    assert not (result.path / "rdiff-backup-data").exists()


def test_restore_from_a_day_with_several_snapshots(world: World) -> None:
    notes = world.desktop / "Documents" / "notes.txt"
    day = datetime.fromtimestamp(NOW - 3 * DAY).replace(hour=0, minute=0, second=0)
    for hour in (9, 13, 17):
        # rdiff-backup sees a change by size and mtime: date each edit before its snapshot
        when = day.replace(hour=hour).timestamp()
        write(notes, f"written at {hour}\n", mtime=when - 60)
        world.snap_desktop(when)
    write(notes, "today\n")
    world.snap_desktop(NOW - 60)
    date = day.strftime("%Y-%m-%d")
    backups = world.backups()

    assert backups.restore("Documents/notes.txt", f"{date} 13:30").path.read_text() == (
        "written at 13\n"
    )
    assert backups.restore("Documents/notes.txt", f"{date} 13:00").path.read_text() == (
        "written at 13\n"
    )
    assert backups.restore("Documents/notes.txt", f"{date} 12:59").path.read_text() == (
        "written at 9\n"
    )
    assert backups.restore("Documents/notes.txt", date).path.read_text() == "written at 17\n"


def test_restore_never_overwrites_and_names_the_kept_file(history: World, tmp_path: Path) -> None:
    backups = history.backups()
    target = tmp_path / "out"
    write(target / "notes.txt", "mine, do not touch\n")

    first = backups.restore("Documents/notes.txt", "3 days ago", target)
    second = backups.restore("Documents/notes.txt", "3 days ago", target)

    assert (target / "notes.txt").read_text() == "mine, do not touch\n"
    assert first.kept == target / "notes.txt" and second.kept == target / "notes.txt"
    assert first.path != second.path
    assert first.path.name.startswith("notes (restored ") and first.path.suffix == ".txt"
    assert first.path.read_text() == second.path.read_text() == "v2 longer\n"
    assert "already existed and was kept" in first.describe()
    assert str(target / "notes.txt") in first.describe()


def test_restore_never_overwrites_a_folder_either(history: World, tmp_path: Path) -> None:
    target = tmp_path / "out"
    write(target / "Documents" / "keep.txt", "mine\n")

    result = history.backups().restore("Documents", None, target)

    assert result.kept == target / "Documents"
    assert result.path.name.startswith("Documents (restored ")
    assert sorted(p.name for p in (target / "Documents").iterdir()) == ["keep.txt"]
    assert (result.path / "letter to Sam.txt").is_file()


def test_the_external_drive_serves_when_the_desktop_backup_lacks_it(world: World) -> None:
    write(world.server / "Documents" / "server only.txt", "from the share\n")
    world.snap_desktop(NOW - 2 * DAY)
    world.snap_server(NOW - DAY)

    result = world.backups().restore(str(world.server / "Documents" / "server only.txt"))

    assert result.version.where == "external drive"
    assert result.path.read_text() == "from the share\n"
    assert result.path.parent.parent == world.desktop / "Documents"  # home: the desktop side


def test_server_data_paths_restore_from_the_drive_beside_the_data(world: World) -> None:
    world.snap_server(NOW - DAY)

    by_path = world.backups().restore(str(world.data / "Archive" / "2019 report.txt"))
    by_name = world.backups().restore("Archive/2019 report.txt")

    assert by_path.path.read_text() == "Old but precious.\n"
    assert by_path.path.parent.parent == world.data / "Archive"
    assert by_name.version.repository == world.drive / "data"


def test_versions_lists_every_copy_across_the_places(history: World) -> None:
    world = history
    write(world.desktop / "Documents" / "budget.csv", "month,amount\njan,100\nfeb,90\n")
    write(world.desktop / "Documents" / "budget (conflict_on_2026-11-29).csv", "old desk\n")
    write(world.server / "Documents" / "budget (conflict #1_on_2026-11-29).csv", "old srv\n")
    write(world.server / "Documents" / "budget-2.csv", "not a copy\n")
    world.snap_desktop(NOW - 3600)
    world.snap_server(NOW - 3500)

    for given in (
        "Documents/budget.csv",
        str(world.desktop / "Documents" / "budget.csv"),
        str(world.server / "Documents" / "budget.csv"),
        "Documents\\budget.csv",
    ):
        found = world.backups().versions(given)
        assert found.target == Target("home", "Documents/budget.csv"), given

    kinds = [(v.kind, v.where) for v in found.versions]
    assert kinds.count(("live", "desktop")) == 1 and kinds.count(("live", "server")) == 1
    conflicts = {v.path.name for v in found.versions if v.kind == "conflict copy"}
    assert conflicts == {
        "budget (conflict_on_2026-11-29).csv",
        "budget (conflict #1_on_2026-11-29).csv",
    }
    desktop = [v for v in found.snapshots if v.where == "desktop backup"]
    drive = [v for v in found.snapshots if v.where == "external drive"]
    # budget.csv started on the server; the desktop has it since its last snapshot only.
    assert [(v.size, v.newest) for v in desktop] == [(28, True)]
    assert desktop[0].time == int(NOW - 3600)
    assert [(v.size, v.newest) for v in drive] == [(21, True)]
    # rdiff-backup keeps no trace of a session that changed nothing, so "since" is the oldest
    # session it lists, not necessarily the first backup.
    assert drive[0].since is not None and drive[0].since < drive[0].time
    assert found.notes == []


def test_versions_of_a_deleted_file_give_each_version_with_its_size(history: World) -> None:
    found = history.backups().versions("Documents/notes.txt")

    assert [(v.kind, v.where) for v in found.versions] == [("snapshot", "desktop backup")] * 3
    desktop = found.versions
    assert [(v.time, v.size) for v in desktop] == [
        (int(NOW - 2 * DAY), len("v3 the longest\n")),
        (int(NOW - 5 * DAY), len("v2 longer\n")),
        (int(NOW - 10 * DAY), len("v1\n")),
    ]
    assert not any(v.newest for v in desktop), "deleted: not in the newest snapshot"


def test_versions_of_a_folder_list_the_snapshots_where_something_inside_changed(
    history: World,
) -> None:
    found = history.backups().versions("Documents")

    desktop = [v for v in found.versions if v.where == "desktop backup"]
    assert [v.time for v in desktop] == [int(NOW - d * DAY) for d in (1, 2, 5, 10)]
    assert all(v.is_dir for v in desktop)
    assert desktop[0].size == sum(
        f.stat().st_size for f in (history.desktop_repo / "Documents").iterdir()
    )


def test_versions_say_which_backups_could_not_be_looked_at(history: World) -> None:
    shutil.rmtree(history.drive.parent)  # the drive is unplugged

    found = history.backups().versions("Documents/notes.txt")

    assert {v.where for v in found.versions} == {"desktop backup"}
    assert len(found.notes) == 1 and "not connected" in found.notes[0]


# --- bad input --------------------------------------------------------------------------------


def test_a_path_in_no_backup_is_a_plain_usage_error(history: World) -> None:
    with pytest.raises(RestoreError) as caught:
        history.backups().restore("Documents/never there.txt")
    assert caught.value.usage
    assert "is in no backup" in str(caught.value)
    with pytest.raises(RestoreError) as caught:
        history.backups().versions("Documents/never there.txt")
    assert "no copy of Documents/never there.txt was found" in str(caught.value)


def test_a_path_outside_the_places_is_refused(history: World, tmp_path: Path) -> None:
    with pytest.raises(RestoreError) as caught:
        history.backups().restore(str(tmp_path.parent / "elsewhere.txt"))
    assert caught.value.usage and "is not inside the desktop home" in str(caught.value)
    with pytest.raises(RestoreError, match=r"'\.\.' is not allowed"):
        history.backups().restore("Documents/../../etc/passwd")


def test_a_time_before_the_first_snapshot_names_the_oldest(history: World) -> None:
    with pytest.raises(RestoreError) as caught:
        history.backups().restore("Documents/notes.txt", "30 days ago")

    oldest = datetime.fromtimestamp(int(NOW - 10 * DAY)).strftime("%Y-%m-%d %H:%M:%S")
    assert caught.value.usage
    assert f"is before the first snapshot; the oldest snapshot is {oldest}" in str(caught.value)


def test_a_time_when_the_file_did_not_exist_says_when_it_did(world: World) -> None:
    world.snap_desktop(NOW - 5 * DAY)
    write(world.desktop / "Documents" / "new.txt", "new\n")
    world.snap_desktop(NOW - DAY)

    with pytest.raises(RestoreError) as caught:
        world.backups().restore("Documents/new.txt", "3 days ago")

    assert caught.value.usage and "was not in the desktop backup at" in str(caught.value)
    assert "it is in snapshots from" in str(caught.value)


def test_rdiff_backup_creating_nothing_is_detected(world: World, tmp_path: Path) -> None:
    """rdiff-backup exits 0 and creates nothing for a path absent at that time."""
    world.snap_desktop(NOW - 5 * DAY)
    write(world.desktop / "Documents" / "new.txt", "new\n")
    world.snap_desktop(NOW - DAY)
    backups = world.backups()
    newest = backups.versions("Documents/new.txt").snapshots[0]
    from dataclasses import replace

    too_early = replace(newest, time=int(NOW - 5 * DAY))

    with pytest.raises(RestoreError, match="nothing was restored") as refused:
        backups.restore_version(Target("home", "Documents/new.txt"), too_early, tmp_path / "o")
    assert not (tmp_path / "o").exists(), "the folder made for it is gone again"
    assert "left behind" not in str(refused.value)
    (tmp_path / "there").mkdir()
    with pytest.raises(RestoreError, match="nothing was restored"):
        backups.restore_version(Target("home", "Documents/new.txt"), too_early, tmp_path / "there")
    assert list((tmp_path / "there").iterdir()) == [], "a folder that was there stays"


def test_a_name_ending_in_a_space_is_restored_by_that_name(world: World, tmp_path: Path) -> None:
    write(world.desktop / "Documents" / "draft.txt ", "the one with the space\n")
    write(world.desktop / "Documents" / "draft.txt", "its neighbour\n")
    world.snap_desktop(NOW - DAY)

    restored = world.backups().restore("Documents/draft.txt ", to=tmp_path / "out")

    assert restored.path.name == "draft.txt "
    assert restored.path.read_text() == "the one with the space\n"


@pytest.mark.parametrize("damage", ["no-data-folder", "no-mirror-marker", "interrupted"])
def test_an_unreadable_repository_gives_a_clear_message(history: World, damage: str) -> None:
    data = history.desktop_repo / "rdiff-backup-data"
    shutil.rmtree(history.drive.parent)
    markers = sorted(data.glob("current_mirror.*"))
    if damage == "no-data-folder":
        shutil.rmtree(data)
    elif damage == "no-mirror-marker":
        for marker in markers:
            marker.unlink()
    else:  # a killed incremental backup leaves two markers
        shutil.copy(markers[0], data / "current_mirror.2020-01-01T00:00:00Z.data")

    with pytest.raises(RestoreError) as caught:
        history.backups().restore("Documents/notes.txt")

    message = str(caught.value)
    assert not caught.value.usage
    assert message.startswith("no backup of Documents/notes.txt could be read")
    expected = {
        "no-data-folder": "holds no snapshots (rdiff-backup-data is missing)",
        "no-mirror-marker": "holds no complete snapshot yet",
        "interrupted": "was interrupted; the next backup repairs it",
    }[damage]
    assert expected in message


# --- the command line -------------------------------------------------------------------------


def test_cli_restore_and_versions(history: World, capsys: pytest.CaptureFixture[str]) -> None:
    settings = str(history.settings.source)

    assert cli.main(["versions", "Documents/notes.txt", "--settings", settings]) == 0
    listing = capsys.readouterr().out
    assert listing.count("snapshot in the desktop backup") == 3
    assert 'megabackup restore "Documents/notes.txt" --as-of' in listing

    code = cli.main(["restore", "Documents/notes.txt", "--as-of", "6 days ago",
                     "--settings", settings])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "Restored notes.txt as it was at" in out
    restored = Path(out.split("to: ", 1)[1].splitlines()[0])
    assert restored.read_text() == "v1\n"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["restore", "Documents/none.txt"], 2, "is in no backup"),
        (["restore", "Documents/notes.txt", "--as-of", "next tuesday"], 2, "cannot read the time"),
        (["restore", "Documents/notes.txt", "--as-of", "2000-01-01"], 2, "before the first"),
        (["restore", "Documents/notes.txt", "--as-of", "0001-01-01"], 2, "is before 1970"),
        (["restore", "Documents/notes.txt", "--as-of", "800000 days ago"], 2, "is before 1970"),
        (["restore", "Documents/notes.txt", "--as-of", "9" * 400 + " days ago"], 2, "before 1970"),
        (["versions", "Documents/none.txt"], 2, "no copy of"),
        (["restore", "Documents/notes.txt", "--to", "FILE/inside"], 3, "cannot write to"),
    ],
)
def test_cli_bad_input_is_one_plain_line(
    history: World, capsys: pytest.CaptureFixture[str], args: list[str], code: int, words: str
) -> None:
    blocker = history.root / "FILE"
    blocker.write_text("a file where a folder is wanted\n")
    args = [a.replace("FILE", str(blocker)) for a in args]

    assert cli.main([*args, "--settings", str(history.settings.source)]) == code

    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_restore_deep_in_a_home_passes_windows_260_character_limit(
    history: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("a folder with a long name " * 5) / ("and another one " * 7)
    assert len(str(deep / ".megabackup-restore-xxxxxxxx" / "notes.txt")) > 260
    with windows_max_path(monkeypatch):
        first = history.backups().restore("Documents/notes.txt", to=deep)
        second = history.backups().restore("Documents/notes.txt", to=deep)  # the name is taken
    assert first.path == deep / "notes.txt"
    assert first.path.read_text() == "v3 the longest\n"
    assert second.kept == first.path and second.path.name.startswith("notes (restored ")
    assert [p.name for p in deep.iterdir() if p.name.startswith(".megabackup")] == []
