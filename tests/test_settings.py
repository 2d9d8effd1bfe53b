"""Settings: every mistake reported at once, each with its key, its value and a reason."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from megabackup import settings
from megabackup.settings import Problem, SettingsError


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    """Real folders: desktop home with the seed's four folders, server home, server data."""
    found = {
        "desktop": tmp_path / "desk top" / "home",
        "backup": tmp_path / "desk top" / "backup",
        "server": tmp_path / "server" / "home",
        "data": tmp_path / "server" / "data",
    }
    for name in ("Documents", "Music", "Pictures", "Videos"):
        (found["desktop"] / name).mkdir(parents=True)
    found["server"].mkdir(parents=True)
    (found["server"] / "Documents").mkdir()
    (found["data"] / "Projects").mkdir(parents=True)
    return found


def toml(places: dict[str, Path], extra: str = "", folders: str = "") -> str:
    return (
        f'[desktop]\nhome = "{places["desktop"].as_posix()}"\n'
        f'backup = "{places["backup"].as_posix()}"\n'
        f'[server]\nhome = "{places["server"].as_posix()}"\n'
        f'data = "{places["data"].as_posix()}"\n'
        f"[folders]\n{folders}\n" + extra
    )


def problems_of(text: str | bytes) -> list[Problem]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(SettingsError) as caught:
        settings.parse(raw)
    return caught.value.problems


def only_problem(text: str | bytes) -> Problem:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------
# good settings


def test_the_shipped_template_is_valid() -> None:
    shipped = Path(__file__).parent.parent / "settings.toml"
    text = shipped.read_text(encoding="utf-8")
    if os.name != "nt":  # its example paths are Windows ones: "C:/..." is not absolute here
        text = re.sub(r'"([A-Z]):/', lambda m: f'"/{m.group(1).lower()}/', text)
    loaded = settings.parse(text.encode(), source=shipped, check_folders=False)
    assert loaded.desktop.home.as_posix().endswith("andy")
    assert loaded.folders.home  # the example names folders
    assert loaded.safety.conflicts in settings.CONFLICT_POLICIES
    assert loaded.source == shipped


def test_a_minimal_file_takes_the_defaults(places: dict[str, Path]) -> None:
    loaded = settings.parse(toml(places).encode())
    assert loaded.desktop.home == places["desktop"]
    assert loaded.server.data == places["data"]
    assert loaded.external.name == "MegaBackup" and loaded.external.path is None
    assert loaded.folders.home == () and loaded.folders.ignore == settings.DEFAULT_IGNORE
    assert loaded.safety.conflicts == "keep-both"
    assert loaded.schedule.every_hours == 4.0
    assert loaded.schedule.on_battery and loaded.schedule.on_drive_connected
    assert loaded.notifications.away_hours == 24
    assert loaded.tools.rdiff_backup is None


def test_settings_are_frozen(places: dict[str, Path]) -> None:
    loaded = settings.parse(toml(places).encode())
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.desktop.home = Path("/elsewhere")  # type: ignore[misc]


def test_listed_folders_that_exist_on_either_side_are_accepted(places: dict[str, Path]) -> None:
    text = toml(places, folders='home = ["Documents", "Music/"]\ndata = ["Projects"]')
    loaded = settings.parse(text.encode())
    assert loaded.folders.home == ("Documents", "Music")
    assert loaded.folders.data == ("Projects",)


def test_a_byte_order_mark_is_accepted(places: dict[str, Path]) -> None:
    assert settings.parse(b"\xef\xbb\xbf" + toml(places).encode()).desktop.home == places["desktop"]


# ---------------------------------------------------------------------------
# the file itself


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        settings.load(tmp_path / "settings.toml")
    assert caught.value.problems == [Problem("file", "not found", None, has_value=False)]
    assert str(tmp_path / "settings.toml") in str(caught.value)


def test_an_empty_file() -> None:
    assert only_problem(" \n\n").reason == "is empty"


def test_a_file_that_is_not_utf8_names_the_line() -> None:
    problem = only_problem(b'[desktop]\nhome = "C:/Users/J\xf6rg"\n')
    assert problem.key == "file"
    assert "UTF-8" in problem.reason and "line 2" in problem.reason


def test_a_file_that_is_not_toml() -> None:
    problem = only_problem("this is not toml at all\n")
    assert problem.key == "file" and "not valid TOML" in problem.reason


def test_a_missing_comma_in_a_list_says_so(places: dict[str, Path]) -> None:
    problem = only_problem(toml(places, folders='home = ["Documents" "Music"]'))
    assert "comma is missing" in problem.reason or "comma missing" in problem.reason
    assert "line 8" in problem.reason  # the folders.home line


def test_a_missing_comma_across_lines_says_so(places: dict[str, Path]) -> None:
    problem = only_problem(toml(places, folders='home = [\n  "Documents"\n  "Music",\n]'))
    assert "comma" in problem.reason


@pytest.mark.parametrize("path", ["C:\\Users\\andy", "D:\\Documents"])
def test_windows_backslashes_that_break_the_toml_get_a_hint(path: str) -> None:
    problem = only_problem(f'[desktop]\nhome = "{path}"\n')
    assert "forward slashes" in problem.reason


def test_a_backslash_that_makes_a_valid_escape_is_caught(places: dict[str, Path]) -> None:
    # "\b" is backspace in TOML: the file parses, the path holds a control character.
    text = toml(places).replace(places["backup"].as_posix(), places["backup"].as_posix() + "\\b")
    problem = only_problem(text)
    assert problem.key == "desktop.backup"
    assert "forward slashes" in problem.reason


def test_unquoted_text_gets_a_hint() -> None:
    assert "need quotes" in only_problem("[desktop]\nhome = C:/Users/andy\n").reason


# ---------------------------------------------------------------------------
# every problem at once


def test_every_problem_is_reported_at_once_with_key_value_and_reason(
    places: dict[str, Path],
) -> None:
    text = toml(
        places,
        folders='home = ["Documents"]\nignore = "*.tmp"',
        extra=(
            "[safety]\nconflict = 'skip'\nmax_clock_skew_seconds = 0\n"
            "[schedule]\nevery_hours = '4'\n"
            "[notifications]\non_success = 'yes'\n"
            "[sheduel]\nevery_hours = 2\n"
        ),
    )
    found = {p.key: p for p in problems_of(text)}
    assert set(found) == {
        "folders.ignore",
        "safety.conflict",
        "safety.max_clock_skew_seconds",
        "schedule.every_hours",
        "notifications.on_success",
        "sheduel",
    }
    assert 'did you mean "safety.conflicts"' in found["safety.conflict"].reason
    assert found["safety.conflict"].value == "skip"
    assert 'did you mean "schedule"' in found["sheduel"].reason
    assert found["safety.max_clock_skew_seconds"].value == 0
    assert "smallest allowed is 1" in found["safety.max_clock_skew_seconds"].reason
    assert "no quotes" in found["schedule.every_hours"].reason
    assert "true or false" in found["notifications.on_success"].reason
    assert '["*.tmp"]' in found["folders.ignore"].reason
    # The message lists them all, each with its value.
    with pytest.raises(SettingsError) as caught:
        settings.parse(text.encode())
    assert "6 problem(s)" in str(caught.value)
    assert 'safety.conflict = "skip"' in str(caught.value)


def test_required_places_missing() -> None:
    found = {p.key for p in problems_of("[external]\nname = 'MegaBackup'\n")}
    assert found == {"desktop.home", "desktop.backup", "server.home"}


def document(places: dict[str, Path]) -> dict:
    return {
        "desktop": {"home": str(places["desktop"]), "backup": str(places["backup"])},
        "server": {"home": str(places["server"]), "data": str(places["data"])},
    }


@pytest.mark.parametrize(
    ("table", "key", "value", "reason"),
    [
        ("desktop", "home", "Documents", "not a full path"),
        ("desktop", "home", 3, "must be a path in quotes, not a number"),
        ("desktop", "home", " ", "is empty"),
        ("safety", "conflicts", "newest", '"keep-both" or "skip"'),
        ("safety", "conflicts", "keep_both", 'did you mean "keep-both"'),
        ("safety", "max_clock_skew_seconds", 1.5, "whole number"),
        ("safety", "max_clock_skew_seconds", True, "whole number"),
        ("schedule", "every_hours", 0.1, "too small"),
        ("schedule", "every_hours", 10_000, "too large"),
        ("schedule", "every_hours", float("nan"), "not a number"),
        ("schedule", "every_hours", float("inf"), "too large"),
        ("notifications", "overdue_days", 0, "too small"),
        ("notifications", "away_hours", 0, "too small"),
        ("notifications", "away_hours", 1.5, "whole number"),
        ("schedule", "on_battery", "no", "true or false"),
        ("schedule", "on_drive_connected", 1, "true or false"),
        ("external", "name", "F:/MegaBackup", "must not contain"),
        ("external", "name", 5, "must be text"),
        ("folders", "home", ["/Documents"], "not a full path"),
        ("folders", "home", ["C:/Documents"], "not a full path"),
        ("folders", "home", ["../up"], "'..'"),
        ("folders", "home", ["Music", "Music/"], "listed twice"),
        ("folders", "home", ["Music", ""], "empty folder name"),
        ("folders", "home", [3], "must be text"),
        ("folders", "home", "Music", '["Music"]'),
        ("folders", "ignore", ["C:\\temp"], "with / not \\"),
        ("folders", "ignore", ["/abs"], "relative"),
        ("folders", "ignore", [""], "empty pattern"),
        ("tools", "unison", "unison.exe", "not a full path"),
    ],
)
def test_single_mistakes(
    places: dict[str, Path], table: str, key: str, value: object, reason: str
) -> None:
    given = document(places)
    given.setdefault(table, {})[key] = value
    with pytest.raises(SettingsError) as caught:
        settings.validate(given)
    (problem,) = caught.value.problems
    assert problem.key == f"{table}.{key}"
    assert problem.value == value or value != value  # nan is not equal to itself
    assert reason in problem.reason


def test_a_table_given_as_a_value(places: dict[str, Path]) -> None:
    given = document(places)
    given["safety"] = "keep-both"
    with pytest.raises(SettingsError) as caught:
        settings.validate(given)
    assert [(p.key, p.reason) for p in caught.value.problems] == [
        ("safety", "must be a table, e.g. [safety]")
    ]


# ---------------------------------------------------------------------------
# places that overlap


def test_the_same_folder_for_two_places(places: dict[str, Path]) -> None:
    text = toml(places).replace(places["data"].as_posix(), places["server"].as_posix())
    problem = only_problem(text)
    assert problem.key == "server.data"
    assert "same folder as server.home" in problem.reason
    assert problem.value == str(places["server"])


def test_the_same_folder_written_differently(places: dict[str, Path]) -> None:
    other = places["desktop"].as_posix() + "/../home/"
    text = toml(places).replace(f'backup = "{places["backup"].as_posix()}"', f'backup = "{other}"')
    assert "same folder as desktop.home" in only_problem(text).reason


def test_a_backup_target_inside_its_own_source(places: dict[str, Path]) -> None:
    inside = (places["desktop"] / "Backups").as_posix()
    text = toml(places).replace(places["backup"].as_posix(), inside)
    problem = only_problem(text)
    assert problem.key == "desktop.backup"
    assert problem.value == inside
    assert "inside desktop.home" in problem.reason
    assert "backup target must not be inside a folder it backs up" in problem.reason


@pytest.mark.posix  # a symbolic link (a junction on Windows)
def test_a_backup_target_that_links_into_its_own_source(places: dict[str, Path]) -> None:
    (places["desktop"] / "Backups").mkdir()
    places["backup"].parent.mkdir(parents=True, exist_ok=True)
    places["backup"].symlink_to(places["desktop"] / "Backups")  # a junction on Windows
    problem = only_problem(toml(places))
    assert problem.key == "desktop.backup" and problem.value == places["backup"].as_posix()
    assert f"is a link to {places['desktop'] / 'Backups'}, inside desktop.home" in problem.reason
    assert "backup target must not be inside a folder it backs up" in problem.reason


def test_an_external_path_inside_server_data(places: dict[str, Path]) -> None:
    inside = (places["data"] / "usb").as_posix()
    problem = only_problem(toml(places, extra=f'[external]\npath = "{inside}"\n'))
    assert problem.key == "external.path" and "inside server.data" in problem.reason


def test_a_sibling_with_a_longer_name_is_not_inside(places: dict[str, Path]) -> None:
    sibling = places["desktop"].as_posix() + "-backup"
    settings.parse(toml(places).replace(places["backup"].as_posix(), sibling).encode())


# ---------------------------------------------------------------------------
# listed folders


def test_the_seed_mistake_four_names_run_together(places: dict[str, Path]) -> None:
    problem = only_problem(toml(places, folders='home = ["DocumentsMusicPicturesVideos"]'))
    assert problem.key == "folders.home[0]"
    assert problem.value == "DocumentsMusicPicturesVideos"
    assert "4 folder names run together" in problem.reason
    assert '"Documents", "Music", "Pictures", "Videos"' in problem.reason
    assert "comma" in problem.reason


def test_names_run_together_with_a_space(places: dict[str, Path]) -> None:
    problem = only_problem(toml(places, folders='home = ["Documents Music", "Videos"]'))
    assert problem.key == "folders.home[0]"
    assert "2 folder names run together" in problem.reason


def test_names_in_one_pair_of_quotes(places: dict[str, Path]) -> None:
    problem = only_problem(toml(places, folders='home = ["Documents, Music"]'))
    assert 'own quotes: "Documents", "Music"' in problem.reason


def test_a_listed_folder_on_neither_side_with_a_suggestion(places: dict[str, Path]) -> None:
    found = problems_of(toml(places, folders='home = ["Documents", "Musik"]\ndata = ["Projets"]'))
    assert [(p.key, p.value) for p in found] == [
        ("folders.home[1]", "Musik"),
        ("folders.data[0]", "Projets"),
    ]
    assert "exists on neither side" in found[0].reason
    assert 'did you mean "Music"' in found[0].reason
    assert 'did you mean "Projects"' in found[1].reason


def test_a_listed_name_that_is_a_file(places: dict[str, Path]) -> None:
    (places["server"] / "notes.txt").write_text("x")
    assert "is a file" in only_problem(toml(places, folders='home = ["notes.txt"]')).reason


def test_a_folder_on_the_server_side_only_is_fine(places: dict[str, Path]) -> None:
    (places["server"] / "Archive").mkdir()
    settings.parse(toml(places, folders='home = ["Archive"]').encode())


def test_folders_are_not_judged_while_one_side_cannot_be_looked_at(
    places: dict[str, Path],
) -> None:
    # The server is away: "Archive" may well be there, so this is the preflight's business.
    places["server"].rename(places["server"].with_name("away"))
    loaded = settings.parse(toml(places, folders='home = ["Archive"]').encode())
    assert loaded.folders.home == ("Archive",)


def test_folders_are_not_checked_when_asked_not_to(places: dict[str, Path]) -> None:
    text = toml(places, folders='home = ["DocumentsMusic"]')
    assert settings.parse(text.encode(), check_folders=False).folders.home == ("DocumentsMusic",)


def test_data_folders_without_a_server_data_folder(places: dict[str, Path]) -> None:
    text = toml(places, folders='data = ["Projects"]').replace(
        f'data = "{places["data"].as_posix()}"\n', ""
    )
    problem = only_problem(text)
    assert problem.key == "folders.data"
    assert "server.data is not set" in problem.reason


def test_problem_text_shows_key_value_and_reason() -> None:
    assert str(Problem("a.b", "is wrong", "x")) == 'a.b = "x": is wrong'
    assert str(Problem("a.b", "is wrong", [1, True])) == "a.b = [1, true]: is wrong"
    assert str(Problem("file", "is empty", has_value=False)) == "file: is empty"
