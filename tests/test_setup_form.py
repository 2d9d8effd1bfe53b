"""The set-up window's model, headless: every field judged by the settings' own rules (the same
words as `megabackup check`), the share typed in each form, the home's folders, the looks at
the places, the drive list and "Use this drive", Save and Check."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from megabackup import drives, files, places, settings
from megabackup.locations import AppPaths
from megabackup.settings import SCHEMA, Field
from megabackup.tray import firstrun
from megabackup.tray.autostart import Autostart
from megabackup.tray.setup_form import (
    AWAY_LINE,
    BACKUP,
    DATA,
    DRIVE_PATH,
    FOLDERS,
    HOME,
    SHARE,
    SetupForm,
    count_files,
)

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TEMPLATE = Path(__file__).resolve().parents[1] / "settings.toml"


class World:
    """A person's places as real folders, a fresh settings folder, and two drives."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "pc" / "andy"
        for name in ("Documents", "Music", "Pictures", "Videos", ".cache", "$RECYCLE.BIN"):
            (self.home / name).mkdir(parents=True)
        (self.home / "Documents" / "letter.txt").write_text("Dear Sam\n", encoding="utf-8")
        self.share = root / "nas" / "andy"
        for name in ("Documents", "Scans"):
            (self.share / name).mkdir(parents=True)
        for index in range(3):
            (self.share / "Documents" / f"report {index}.txt").write_text("x", encoding="utf-8")
        (self.share / "Documents" / "2019").mkdir()  # a folder is not a file
        (self.share / "Documents" / "2019" / "old.txt").write_text("x", encoding="utf-8")
        self.backup = root / "pc" / "LocalBackup"
        self.config = root / "config" / "settings.toml"
        self.paths = AppPaths(root / "state")
        self.media = root / "media"
        for name in ("SANDISK", "OLD DRIVE"):
            (self.media / name).mkdir(parents=True)
        places.write_drive_marker(self.media / "OLD DRIVE", "Andy's old drive")

    def form(self, **options: Any) -> SetupForm:
        firstrun.install_template(self.config, TEMPLATE)
        options.setdefault("volumes", self.volumes)
        options.setdefault("windows", False)
        return SetupForm(self.config, self.paths, template=TEMPLATE, **options)

    def volumes(self) -> list[Any]:
        return drives.folder_volumes(sorted(self.media.iterdir()))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def fill_in(form: SetupForm, world: World) -> None:
    """What a person does: pick the three places, and let the window look at them."""
    form.set(HOME, str(world.home))
    form.take_home(form.look_at_home(form.values[HOME]))
    form.set(SHARE, str(world.share))
    form.take_share(SHARE, form.look_at_share(SHARE, form.values[SHARE], form.values[FOLDERS]))
    form.set(BACKUP, str(world.backup))
    form.take_rules(form.look_at_rules(form.document_now()))


# ---- the first run ------------------------------------------------------------------------------
def test_the_first_run_shows_the_places_empty_and_no_problem_until_one_is_touched(
    world: World,
) -> None:
    form = world.form()
    assert form.first_run
    assert [form.values[k] for k in (HOME, SHARE, DATA, BACKUP)] == ["", "", "", ""]
    assert form.values[FOLDERS] == ["Documents", "Desktop", "Pictures", "Music"]  # the template's
    assert form.home_choices == []  # no folder picked yet: nothing to tick
    assert form.problems() == {}, "an empty first window must not shout"
    assert not form.save()
    shown = form.problems()
    assert set(shown) == {HOME, SHARE, BACKUP}
    (empty,) = shown[HOME]
    assert empty.startswith("This is empty; give a full path such as")
    assert world.config.read_bytes() == TEMPLATE.read_bytes()  # nothing was written
    assert form.status == "Not saved: 3 settings to fix, each marked beside its field."


def test_the_persons_folders_are_offered_with_the_usual_ones_ticked(world: World) -> None:
    form = world.form()
    form.set(HOME, str(world.home))
    form.take_home(form.look_at_home(form.values[HOME]))
    assert form.home_choices == ["Documents", "Music", "Pictures", "Videos"]  # none hidden
    assert form.values[FOLDERS] == ["Documents", "Music", "Pictures"]  # present of the usual
    assert form.looks[HOME].line == "4 folders in it. Tick the ones to keep safe."
    form.tick("Videos", True)
    form.tick("Pictures", False)
    assert form.values[FOLDERS] == ["Documents", "Music", "Videos"]  # in the order shown
    assert form.changes()[FOLDERS] == ["Documents", "Music", "Videos"]
    other = world.root / "pc" / "bea"  # another folder, with none of those: the usual again
    for name in ("Photos", "Desktop"):
        (other / name).mkdir(parents=True)
    form.set(HOME, str(other))
    form.take_home(form.look_at_home(form.values[HOME]))
    assert form.home_choices == ["Desktop", "Photos"] and form.values[FOLDERS] == ["Desktop"]


def test_a_listed_folder_only_on_the_share_stays_offered_and_says_so(world: World) -> None:
    world.config.parent.mkdir(parents=True)
    world.config.write_text(
        f'[desktop]\nhome = "{world.home.as_posix()}"\nbackup = "{world.backup.as_posix()}"\n'
        f'[server]\nhome = "{world.share.as_posix()}"\n[folders]\nhome = ["Documents", "Scans"]\n',
        encoding="utf-8",
    )
    form = SetupForm(world.config, world.paths, template=TEMPLATE, windows=False)
    assert not form.first_run
    form.take_home(form.look_at_home(form.values[HOME]))  # not touched: the list is kept
    assert form.values[FOLDERS] == ["Documents", "Scans"]
    assert form.home_choices[-1] == "Scans" and form.folder_note("Scans") == "not on this PC"
    form.take_rules(form.look_at_rules(form.document_now()))
    assert form.problems() == {}  # on one side is enough (the settings' rule)


# ---- every field by the settings' own rules, in check's words ------------------------------------
BAD = {  # one value each kind refuses, as a person could type it into the window
    "path": "backup",
    "optional_path": "nas/DLP",
    "text": "USB/1",
    "whole": "1.5",
    "number": "many",
    "choice": "maybe",
    "names": "../outside",
    "patterns": "/from/the/root",
}


def _bad_fields() -> list[tuple[str, Field]]:
    return [
        (f"{table}.{key}", spec)
        for table, fields in SCHEMA.items()
        for key, spec in fields.items()
        if spec.kind in BAD and f"{table}.{key}" != FOLDERS  # its boxes cannot be mistyped
    ]


def test_every_field_shows_the_rules_own_message_in_the_words_of_megabackup_check(
    world: World, tmp_path: Path
) -> None:
    form = world.form()
    fill_in(form, world)
    for key, spec in _bad_fields():
        form.set(key, BAD[spec.kind])
    shown = form.problems()
    document = form.document_now()
    found = settings.problems(document, check_folders=False)
    expected: dict[str, list[str]] = {}
    for problem in found:
        expected.setdefault(problem.setting, []).append(problem.beside)
    assert set(shown) == {key for key, _spec in _bad_fields()}
    assert shown == expected  # beside each field: the rule's own reason, nothing made up
    (relative,) = shown["desktop.backup"]
    assert relative.startswith("This is not a full path; give one such as")
    # and `megabackup check` on the same settings gives each of them as one of its lines
    written = tmp_path / "bad.toml"
    written.write_text(settings.to_toml(document), encoding="utf-8")
    check = subprocess.run(
        [sys.executable, "-m", "megabackup", "check", "--settings", str(written)],
        capture_output=True,
        text=True,
        env=dict(os.environ, MEGABACKUP_HOME=str(tmp_path / "state")),
        timeout=60,
    )
    assert check.returncode == 2
    lines = check.stderr.splitlines()
    for problem in found:
        assert f"  - {problem}" in lines, f"check does not say: {problem}"
        assert problem.reason in problem.beside


def test_a_number_takes_a_decimal_comma_and_saves_as_a_number(world: World) -> None:
    form = world.form()
    fill_in(form, world)
    form.set("schedule.every_hours", "2,5")
    form.set("retention.keep_days", "90")
    assert form.problems() == {}
    assert form.save(), form.status
    saved = tomllib.loads(world.config.read_text(encoding="utf-8"))
    assert saved["schedule"]["every_hours"] == 2.5
    assert saved["retention"]["keep_days"] == 90 and isinstance(
        saved["retention"]["keep_days"], int
    )


def test_a_new_setting_appears_under_more_without_a_change_to_the_window(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        SCHEMA, "notifications", {**SCHEMA["notifications"], "quiet_hours": Field("number", 8)}
    )  # a key no version of MegaBackup has had yet
    form = world.form()
    more = {f.key: f for f in form.more_fields()}
    assert more["notifications.quiet_hours"].label == "Quiet hours"
    assert form.values["notifications.quiet_hours"] == "8"
    assert "safety.max_clock_skew_seconds" in more and "retention.keep_days" in more
    assert more["retention.keep_days"].note.startswith("keep snapshots for this many days")
    assert not {HOME, SHARE, BACKUP, FOLDERS} & set(more)  # those have their own sections


# ---- the share, as typed ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "kept"),
    [("\\\\nas\\andy", "//nas/andy"), ("//nas/andy", "//nas/andy"), ("Z:\\", "Z:/")],
)
def test_the_share_typed_in_each_form_is_kept_the_way_the_settings_want(
    world: World, typed: str, kept: str
) -> None:
    form = world.form(windows=True)
    form.set(SHARE, typed)
    assert form.changes()[SHARE] == kept
    assert form.document_now()["server"]["home"] == kept
    assert form.values[SHARE] == typed  # the field keeps what the person typed


def test_a_share_written_with_forward_slashes_is_saved_as_it_is(world: World) -> None:
    form = world.form()
    fill_in(form, world)
    form.set(SHARE, "//nas.invalid/andy")  # a name that fails at once, not after a timeout
    assert SHARE not in form.problems()  # a UNC path is a full path here too
    form.take_share(SHARE, form.look_at_share(SHARE, "//nas.invalid/andy"))
    assert form.looks[SHARE].line == AWAY_LINE and form.looks[SHARE].level == "warning"
    assert form.save(), form.status  # a share out of reach is ordinary, not an error
    assert 'home = "//nas.invalid/andy"' in world.config.read_text(encoding="utf-8")


def test_the_share_is_looked_at_files_counted_and_folders_compared(world: World) -> None:
    form = world.form()
    form.set(HOME, str(world.home))
    form.take_home(form.look_at_home(form.values[HOME]))
    look = form.look_at_share(SHARE, str(world.share), form.values[FOLDERS])
    assert look.level == "good"
    assert look.line == (
        "Reachable, 4 files. Folders only on this PC: Music, Pictures (the sync brings them "
        "across)."
    )
    form.tick("Pictures", False)
    form.tick("Music", False)
    same = form.look_at_share(SHARE, str(world.share), form.values[FOLDERS])
    assert same.line == "Reachable, 4 files. It holds the same folders as this PC."
    everything = form.look_at_share(SHARE, str(world.share), [])  # nothing ticked: all of it
    assert "only on the share: Scans" in everything.line
    counted, complete = count_files(world.share, (), limit=2)  # a huge share: "more than"
    assert counted >= 2 and not complete


# ---- the desktop backup -----------------------------------------------------------------------
def test_a_backup_inside_the_home_is_refused_and_on_the_same_disk_is_a_caution(
    world: World,
) -> None:
    form = world.form()
    fill_in(form, world)
    form.set(BACKUP, str(world.home / "Backup"))
    form.take_rules(form.look_at_rules(form.document_now()))
    assert form.problems()[BACKUP] == [
        "This is inside desktop.home (the desktop home): a backup target must not be inside a "
        "folder it backs up"
    ]
    form.set(BACKUP, str(world.backup))
    assert form.cautions() == {}  # the look at the rules belongs to the value before
    form.take_rules(form.look_at_rules(form.document_now()))
    assert form.problems() == {}
    (caution,) = form.cautions()[BACKUP]
    assert caution.startswith("This is on the same disk as desktop.home")
    look = form.look_at_backup(str(world.backup))
    assert look.line.endswith("free there. The folder is made at the first backup.")


# ---- the USB drive ----------------------------------------------------------------------------
def test_the_drive_list_and_use_this_drive(world: World) -> None:
    form = world.form()
    assert form.take_drives(form.look_at_drives())
    rows = form.drive_rows()
    assert [r[1] for r in rows] == ["OLD DRIVE", "SANDISK"]
    assert rows[0][4] == 'another MegaBackup drive, "Andy\'s old drive"'
    assert not form.use_drive(0)  # what init-drive refuses, in its words
    assert form.drive_line.startswith("Not marked: ") and "refusing to rename it" in form.drive_line
    assert places.read_drive_marker(world.media / "OLD DRIVE")["name"] == "Andy's old drive"

    assert form.use_drive(1)
    folder = world.media / "SANDISK" / "MegaBackup"
    assert places.read_drive_marker(folder)["name"] == "MegaBackup"
    assert form.drive_line == (
        'SANDISK is now the MegaBackup drive "MegaBackup"; the snapshots go into its folder '
        '"MegaBackup".'
    )
    assert form.drive_rows()[1][4] == 'the MegaBackup drive "MegaBackup"'
    # the marker scan does not look at this folder, so the settings name it
    assert form.values[DRIVE_PATH] == str(folder)
    fill_in(form, world)
    assert form.save(), form.status
    loaded = settings.load(world.config)
    assert places.find_external(loaded.external.name, loaded.external.path).path == folder


def test_a_drive_the_scan_finds_is_left_to_the_scan(world: World) -> None:
    form = world.form(drive_roots=[world.media / "SANDISK"])
    form.set(DRIVE_PATH, "/somewhere/old")
    form.take_drives(form.look_at_drives())
    assert form.use_drive(1)
    assert form.values[DRIVE_PATH] == ""  # found by its marker, whatever its letter


# ---- save and check ---------------------------------------------------------------------------
def test_save_keeps_the_persons_file_and_tells_the_tray(world: World, tmp_path: Path) -> None:
    world.config.parent.mkdir(parents=True)
    world.config.write_text(
        "# mine: do not lose this\n"
        f'[desktop]\nhome = "{world.home.as_posix()}"   # my home\n'
        f'backup = "{world.backup.as_posix()}"\n'
        f'[server]\nhome = "{world.share.as_posix()}"\n[laptop]\nhome = "/elsewhere"\n',
        encoding="utf-8",
    )
    saved: list[bool] = []
    autostart = Autostart(["megabackup", "tray"], platform="linux", config_home=tmp_path)
    form = SetupForm(
        world.config,
        world.paths,
        template=TEMPLATE,
        windows=False,
        autostart=autostart,
        on_saved=lambda: saved.append(True),
    )
    assert form.problems() == {"": ["laptop: is not a known setting"]}  # the file's own
    form.set("notifications.on_success", False)
    form.set_autostart(True)
    assert form.save(), form.status
    text = world.config.read_text(encoding="utf-8")
    assert text.startswith("# mine: do not lose this\n")
    assert f'home = "{world.home.as_posix()}"   # my home' in text and "[laptop]" in text
    assert tomllib.loads(text)["notifications"] == {"on_success": False}
    assert saved == [True] and autostart.enabled()
    assert form.status.startswith("Saved. The first backup starts within a couple of minutes.")
    assert form.status.endswith("The file still has: laptop: is not a known setting")
    assert form.touched == set()


def test_a_save_that_fails_says_so_and_leaves_the_old_file_whole(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = world.form()
    fill_in(form, world)
    before = world.config.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", disk_full)
    assert not form.save()
    assert form.status == "Not saved: No space left on device. The old file is as it was."
    assert world.config.read_bytes() == before


def test_an_unreadable_file_starts_from_the_template_and_is_kept(world: World) -> None:
    world.config.parent.mkdir(parents=True)
    world.config.write_text("[desktop\nhome = broken\n", encoding="utf-8")
    form = SetupForm(world.config, world.paths, template=TEMPLATE, windows=False)
    assert "could not be read as settings" in form.file_note
    assert form.values[HOME] == "" and form.values["safety.conflicts"] == "keep-both"
    fill_in(form, world)
    assert form.save(), form.status
    kept = [p for p in world.config.parent.iterdir() if "unreadable" in p.name]
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == "[desktop\nhome = broken\n"
    assert f"The old file was kept as {kept[0].name}." in form.status
    settings.load(world.config)  # the new file is good


def test_check_says_what_megabackup_check_says(world: World) -> None:
    form = world.form()
    assert form.check()[0] == "Fix these settings first:"
    fill_in(form, world)
    lines = form.check()
    assert lines[0] == "Settings are valid."
    assert any(line.startswith("  note: desktop.backup = ") for line in lines)  # same disk
    assert any('external drive "MegaBackup" is not connected' in line for line in lines)
    form.set(SHARE, str(world.root / "nas" / "switched off"))
    lines = form.check()  # a share out of reach is away, as in `megabackup check`: not a problem
    assert any(line.startswith("  away: the server home") for line in lines), lines
    assert lines[-1] == "Ready, with the notes above."


def test_open_as_text_gives_the_file_putting_the_template_there_first(world: World) -> None:
    form = SetupForm(world.config, world.paths, template=TEMPLATE, windows=False)
    assert not world.config.exists()
    assert form.text_file() == world.config
    assert world.config.read_bytes() == TEMPLATE.read_bytes()
