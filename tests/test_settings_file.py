"""Writing settings.toml back (tomlkit): the person's comments, order and unknown keys survive,
a bad value is never written, and a save that fails leaves the old file whole."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from megabackup import files, settings, settings_file
from megabackup.settings import SettingsError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TEMPLATE = Path(__file__).resolve().parents[1] / "settings.toml"
D = "C:" if os.name == "nt" else ""  # a full path on either system: "/home/andy" or "C:/home/andy"

PERSONS_FILE = f"""\
# Andy's settings: the NAS is the little one under the stairs.
[server]
home = "//nas/andy"   # the share
# data stays empty: nothing big yet

[desktop]
backup = "{D}/backup/andy"  # the second disk
home = "{D}/home/andy"

[folders]
home = ["Documents", "Music"]

[laptop]   # a table this MegaBackup does not know (a newer one may)
home = "{D}/home/andy-laptop"
"""


@pytest.fixture
def persons(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(PERSONS_FILE, encoding="utf-8")
    return path


def test_a_save_changes_only_the_values_it_is_given(persons: Path) -> None:
    settings_file.save(
        persons,
        {
            "desktop.home": f"{D}/home/andrew",
            "server.home": "//nas/andy",  # as it was: the line stays byte for byte
            "folders.home": ["Documents", "Pictures"],
            "schedule.every_hours": 2.5,  # not in the file yet, and not the default: added
            "retention.keep_days": 365,  # the default and not in the file: not added
        },
    )
    text = persons.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[:4] == PERSONS_FILE.splitlines()[:4]  # comments and the untouched line
    assert f'backup = "{D}/backup/andy"  # the second disk' in lines
    assert f'home = "{D}/home/andrew"' in lines
    assert lines.index("[server]") < lines.index("[desktop]")  # the person's order
    assert lines.index(f'backup = "{D}/backup/andy"  # the second disk') < lines.index(
        f'home = "{D}/home/andrew"'
    )
    assert "[laptop]   # a table this MegaBackup does not know (a newer one may)" in lines
    assert f'home = "{D}/home/andy-laptop"' in lines
    assert "retention" not in text
    document = tomllib.loads(text)
    assert document["folders"]["home"] == ["Documents", "Pictures"]
    assert document["schedule"] == {"every_hours": 2.5}


def test_the_template_keeps_its_comments_in_their_column(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    settings_file.save(
        path,
        {"desktop.home": f"{D}/home/bo", "notifications.on_success": False},
        template=TEMPLATE,
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    original = TEMPLATE.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(original)
    home = next(line for line in lines if line.startswith(f'home = "{D}/home/bo"'))
    example = next(line for line in original if line.startswith('home = "C:/Users/andy"'))
    assert home.index("#") == example.index("#")  # the comment did not move
    assert home.endswith("# the folder you work in every day (synced with the server)")
    success = next(line for line in lines if line.startswith("on_success"))
    assert success.startswith("on_success = false ") and success.index("#") == example.index("#")
    changed = [(a, b) for a, b in zip(original, lines, strict=True) if a != b]
    assert len(changed) == 2


def test_a_value_the_rules_refuse_is_never_written(persons: Path) -> None:
    before = persons.read_bytes()
    with pytest.raises(SettingsError) as caught:
        settings_file.save(persons, {"desktop.home": "relative/folder", "schedule.every_hours": 0})
    assert [p.key for p in caught.value.problems] == ["desktop.home", "schedule.every_hours"]
    assert "is not a full path" in str(caught.value)
    assert persons.read_bytes() == before


def test_the_files_own_old_mistakes_do_not_block_a_save(persons: Path) -> None:
    """[laptop] is not a known setting: `megabackup check` names it, the save keeps it."""
    assert any(p.key == "laptop" for p in settings.problems(tomllib.loads(PERSONS_FILE)))
    settings_file.save(persons, {"desktop.home": f"{D}/home/bob"})
    assert tomllib.loads(persons.read_text(encoding="utf-8"))["laptop"]["home"]


def test_a_save_that_fails_leaves_the_old_file_whole(
    persons: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up while the new file is written (fsync reports it, as on a full disk)."""
    before = persons.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        settings_file.save(persons, {"desktop.home": f"{D}/home/bob"})
    assert persons.read_bytes() == before
    assert sorted(p.name for p in persons.parent.iterdir()) == ["settings.toml"]  # no temp left


def test_a_file_that_is_not_toml_is_kept_beside_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[desktop\nhome = "C:/x"\n', encoding="utf-8")
    saved = settings_file.save(
        path, {"desktop.home": f"{D}/home/bo"}, template=TEMPLATE, clock=lambda: 1_800_000_000
    )
    assert saved.kept_copy is not None and saved.kept_copy.parent == tmp_path
    assert saved.kept_copy.name.startswith("settings (unreadable 2027-")
    assert saved.kept_copy.read_text(encoding="utf-8") == '[desktop\nhome = "C:/x"\n'
    assert tomllib.loads(path.read_text(encoding="utf-8"))["desktop"]["home"] == f"{D}/home/bo"


@pytest.mark.parametrize(
    ("typed", "windows", "kept"),
    [
        ("\\\\nas\\andy", True, "//nas/andy"),
        ("//nas/andy", True, "//nas/andy"),
        ("\\\\nas\\andy\\", True, "//nas/andy"),
        ("Z:\\", True, "Z:/"),
        ("Z:", True, "Z:/"),
        ('"C:\\Users\\andy\\Documents"', True, "C:/Users/andy/Documents"),  # Copy as path
        ("  D:\\LocalBackup\\  ", True, "D:/LocalBackup"),
        ("/home/andy/", False, "/home/andy"),
        ("/", False, "/"),
        ("/srv/odd\\name", False, "/srv/odd\\name"),  # a backslash is a letter on Linux
    ],
)
def test_a_path_is_kept_the_way_the_settings_want(typed: str, windows: bool, kept: str) -> None:
    assert settings_file.path_text(typed, windows=windows) == kept


def test_each_key_is_explained_by_the_templates_comment() -> None:
    notes = settings_file.key_notes(TEMPLATE)
    assert notes["retention.keep_days"].startswith("keep snapshots for this many days")
    assert notes["safety.conflicts"].startswith("both sides changed a file")
    documented = {f"{t}.{k}" for t, keys in settings.SCHEMA.items() for k in keys}
    assert documented - set(notes) == {"external.path"}  # commented out in the template


# ---- what a window shows beside a field ----------------------------------------------------------
def test_each_problem_names_its_setting_and_reads_the_same_beside_the_field(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (tmp_path / "server").mkdir()
    document = {
        "desktop": {"home": str(home), "backup": "backup"},
        "server": {"home": str(tmp_path / "server")},
        "folders": {"home": ["Documents", "Musik"]},
    }
    found = {p.key: p for p in settings.problems(document)}
    assert set(found) == {"desktop.backup", "folders.home[1]"}
    backup, musik = found["desktop.backup"], found["folders.home[1]"]
    assert backup.setting == "desktop.backup" and musik.setting == "folders.home"
    assert backup.beside == f"This {backup.reason}"  # the words of check, as a sentence
    assert backup.reason.startswith("is not a full path") and backup.reason in str(backup)
    assert musik.beside == f'"Musik" {musik.reason}'
    assert musik.reason.startswith("exists on neither side")
    assert settings.problems(document, check_folders=False) == [backup]  # no look at the disk


def test_a_backup_on_the_same_disk_as_the_home_is_a_caution(tmp_path: Path) -> None:
    home, backup = tmp_path / "home", tmp_path / "not yet made" / "backup"
    home.mkdir()
    server = tmp_path / "server"
    server.mkdir()
    loaded = settings.validate(
        {"desktop": {"home": str(home), "backup": str(backup)}, "server": {"home": str(server)}}
    )
    (caution,) = settings.cautions(loaded)
    assert caution.key == "desktop.backup"
    assert caution.reason.startswith("is on the same disk as desktop.home")


@pytest.mark.posix  # /proc: a file system of its own, always there
def test_a_backup_on_another_disk_is_no_caution(tmp_path: Path) -> None:
    home, server = tmp_path / "home", tmp_path / "server"
    home.mkdir()
    server.mkdir()
    elsewhere = settings.validate(
        {"desktop": {"home": str(home), "backup": "/proc/backup"}, "server": {"home": str(server)}}
    )
    assert Path("/proc").stat().st_dev != home.stat().st_dev  # another file system
    assert settings.cautions(elsewhere) == []
