"""The command line as a person uses it: real processes, exit codes, one plain line on errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from megabackup import cli, winsys
from megabackup.demo import build_places
from winfakes import windows_profile


def megabackup(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, MEGABACKUP_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "megabackup", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def topology(tmp_path: Path) -> Path:
    return build_places(tmp_path / "places")


def snapshot_of(root: Path) -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in root.rglob("*") if not path.is_symlink()}


@pytest.mark.realtools
def test_run_does_a_full_cycle_and_status_reports_it(topology: Path, tmp_path: Path) -> None:
    home = tmp_path / "state"

    run = megabackup("run", "--settings", str(topology), home=home)

    assert run.returncode == 0, run.stderr
    assert "Backup cycle 1: all good" in run.stdout
    assert "step 4 of 6: syncing home" in run.stderr
    status = megabackup("status", "--settings", str(topology), home=home)
    assert status.returncode == 0
    assert "Last backup:" in status.stdout and ", ok." in status.stdout
    assert "never" not in status.stdout, "every place got a snapshot"
    log = megabackup("log", home=home)
    assert log.returncode == 0
    assert Path(log.stdout.strip()).read_text().count("[ok]") == 6


@pytest.mark.realtools
def test_a_server_out_of_reach_is_a_warning_and_status_says_since_when(
    topology: Path, tmp_path: Path
) -> None:
    home = tmp_path / "state"
    assert megabackup("run", "--settings", str(topology), home=home).returncode == 0
    server = topology.parent / "server" / "home"
    server.rename(server.with_name("out-of-reach"))

    run = megabackup("run", "--settings", str(topology), home=home)

    assert run.returncode == 1, run.stdout + run.stderr  # a warning: the laptop is on a train
    assert "done with what could be reached" in run.stdout
    assert f"away: the server home {server} is not reachable" in run.stdout
    assert "[away]    1. snapshot of server home" in run.stdout
    assert "[ok]      3. snapshot of desktop home" in run.stdout
    status = megabackup("status", "--settings", str(topology), home=home)
    assert "Waiting since " in status.stdout and "server home" in status.stdout
    check = megabackup("check", "--settings", str(topology), home=home)
    assert check.returncode == 1 and "away: the server home" in check.stdout


def test_log_before_any_run_says_so(tmp_path: Path) -> None:
    result = megabackup("log", home=tmp_path / "state")
    assert result.returncode == 3
    assert "no backup has run yet" in result.stderr


def test_check_reports_a_ready_topology_and_the_drive(topology: Path, tmp_path: Path) -> None:
    result = megabackup("check", "--settings", str(topology), home=tmp_path / "state")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All places are ready." in result.stdout
    assert "usb-drive" in result.stdout


def test_check_reports_a_wrong_drive_as_a_problem(topology: Path, tmp_path: Path) -> None:
    drive = topology.parent / "usb-drive" / "MegaBackup"
    (drive / ".megabackup-drive").unlink()
    result = megabackup("check", "--settings", str(topology), home=tmp_path / "state")
    assert result.returncode == 3
    assert "is not a MegaBackup drive" in result.stdout
    assert "init-drive" in result.stdout


def test_init_drive_marks_a_folder_that_a_scan_then_finds(tmp_path: Path) -> None:
    drive = tmp_path / "media" / "USB STICK"
    drive.mkdir(parents=True)
    result = megabackup("init-drive", str(drive), "--name", "Andy's drive", home=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    from megabackup.places import find_external

    other = tmp_path / "media" / "CAMERA"
    other.mkdir()
    assert find_external("Andy's drive", None, roots=[other, drive]).path == drive
    assert find_external("Andy's drive", None, roots=[other]).path is None
    refused = megabackup("init-drive", str(drive), "--name", "Other", home=tmp_path / "s")
    assert refused.returncode == 2
    assert "refusing to rename" in refused.stderr


def test_a_busy_lock_gives_one_line_and_exit_code_3(topology: Path, tmp_path: Path) -> None:
    import filelock

    home = tmp_path / "state"
    home.mkdir()
    with filelock.FileLock(str(home / "cycle.lock")):
        result = megabackup("run", "--settings", str(topology), home=home)
    assert result.returncode == 3
    assert result.stderr.strip() == "megabackup: another backup is already running"


def test_version_and_usage_errors(tmp_path: Path) -> None:
    version = megabackup("--version", home=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("MegaBackup ")
    unknown = megabackup("frobnicate", home=tmp_path)
    assert unknown.returncode == 2
    assert "invalid choice" in unknown.stderr
    bare = megabackup(home=tmp_path)
    assert bare.returncode == 2


MISTAKES = {
    "unknown key with a suggestion": (
        ("[safety]\n", '[safety]\nconflict = "skip"\n'),
        'safety.conflict = "skip": is not a known setting; did you mean "safety.conflicts"?',
    ),
    "unknown table": (
        ("[safety]\n", "[safty]\nconflicts = 1\n[safety]\n"),
        'safty: is not a known setting; did you mean "safety"?',
    ),
    "wrong type": (
        ("[safety]\n", '[safety]\nmax_clock_skew_seconds = "120"\n'),
        "safety.max_clock_skew_seconds",
    ),
    "relative path": (("backup = ", 'backup = "LocalBackup"\n#'), "is not a full path"),
    "the same folder for two places": (
        ("[server]\nhome = ", '[server]\nhome = "@DESKTOP@"\n#'),
        "is the same folder as desktop.home",
    ),
    "backup target inside its source": (
        ("backup = ", 'backup = "@DESKTOP@/Backups"\n#'),
        "a backup target must not be inside a folder it backs up",
    ),
    "folder on neither side": (
        ('home = ["Documents", "Pictures"]', 'home = ["Documents", "Pictures", "Musik"]'),
        'folders.home[2] = "Musik": exists on neither side',
    ),
    "names glued by a missing comma": (
        ('home = ["Documents", "Pictures"]', 'home = ["DocumentsPictures"]'),
        'folder names run together: "Documents", "Pictures". Is a comma missing',
    ),
    "missing comma in TOML": (
        ('home = ["Documents", "Pictures"]', 'home = ["Documents" "Pictures"]'),
        "Is a comma missing between two items of a list",
    ),
    "conflict policy": (
        ('conflicts = "keep-both"', 'conflicts = "newest"'),
        '"keep-both" or "skip"',
    ),
}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_settings_mistake_gives_its_message_exit_2_and_writes_nothing(
    name: str, topology: Path, tmp_path: Path
) -> None:
    (old, new), expected = MISTAKES[name]
    desktop = topology.parent / "desktop" / "home"
    text = topology.read_text(encoding="utf-8")
    assert old in text, "the mistake must apply to the demo settings"
    topology.write_text(
        text.replace(old, new.replace("@DESKTOP@", desktop.as_posix()), 1), encoding="utf-8"
    )
    before = snapshot_of(topology.parent)
    home = tmp_path / "state"

    result = megabackup("run", "--settings", str(topology), home=home)

    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not home.exists(), "nothing may be written for bad settings"
    assert snapshot_of(topology.parent) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"\xff\xfe[desktop]\n", "is not UTF-8 text"),
        (b"this is not toml at all", "is not valid TOML"),
    ],
)
def test_unreadable_settings_files(content: bytes, expected: str, tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_bytes(content)
    result = megabackup("check", "--settings", str(settings), home=tmp_path / "state")
    assert result.returncode == 2
    assert expected in result.stderr
    assert not (tmp_path / "state").exists()


def test_a_missing_settings_file_is_named(tmp_path: Path) -> None:
    result = megabackup("run", "--settings", str(tmp_path / "nope.toml"), home=tmp_path / "s")
    assert result.returncode == 2
    assert f"{tmp_path / 'nope.toml'}: 1 problem(s)" in result.stderr
    assert "not found" in result.stderr


def test_without_settings_option_the_file_in_megabackup_home_is_used(
    topology: Path, tmp_path: Path
) -> None:
    home = tmp_path / "portable"
    home.mkdir()
    (home / "settings.toml").write_text(topology.read_text(encoding="utf-8"), encoding="utf-8")
    result = megabackup("check", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(home / "settings.toml") in result.stdout


@pytest.mark.realtools
def test_the_demo_runs_every_use_case(tmp_path: Path) -> None:
    result = megabackup("demo", str(tmp_path / "demo"), home=tmp_path / "unused")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert "Demo finished: 11 of 11 checks held." in result.stdout
    assert "NOT TRUE" not in result.stdout
    assert not (tmp_path / "unused").exists(), "the demo keeps its state inside its own folder"


def test_check_names_what_windows_keeps_as_links_and_long_paths_while_they_are_off(
    topology: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    desktop = topology.parent / "desktop" / "home"
    music = desktop / "Documents" / "My Music"  # the hidden junction: it denies listing
    (music / "Artist").mkdir(parents=True)
    deep = desktop / "Documents" / ("d" * 120) / ("e" * 120) / "long enough.txt"
    deep.parent.mkdir(parents=True)
    deep.write_text("deep\n", encoding="utf-8")
    assert len(str(deep)) > 260
    monkeypatch.setenv("MEGABACKUP_HOME", str(tmp_path / "state"))
    for long_paths_on in (False, True):
        monkeypatch.setattr(winsys, "long_paths_enabled", lambda on=long_paths_on: on)
        with windows_profile(monkeypatch, [music], deny_listing=[music]):
            code = cli.main(["check", "--settings", str(topology)])
        out = capsys.readouterr().out
        assert "not backed up or synced" in out and "Documents/My Music" in out
        assert ("LongPathsEnabled" in out and "long enough.txt" in out) is not long_paths_on
        assert code == (0 if long_paths_on else 1), out
