"""Verification with the real rdiff-backup: damage found by file, refusals that explain."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from megabackup import cli
from megabackup.engine import verify
from megabackup.locations import AppPaths
from megabackup.tools import rdiff
from megabackup.tools.runner import Runner

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison

LONG = "a rather long folder name with spaces/and another one, to pass the terminal width"
NAME = f"{LONG}/letter to Sam (final version).txt"


def backup(source: Path, repository: Path) -> None:
    argv = [*rdiff.locate(), "--api-version", "201", "backup", str(source), str(repository)]
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    for relative, text in ((NAME, "Dear Sam,\n"), ("plain.txt", "plain\n"), ("b/c.txt", "c\n")):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(text)
    backup(source, tmp_path / "repo")
    return tmp_path / "repo"


def test_a_clean_repository_verifies(repository: Path) -> None:
    report = verify.verify_repository(repository, Runner())

    assert report.status == verify.OK and not report.problem
    assert report.describe().endswith("all files verified")


def test_a_corrupted_mirror_file_is_named(repository: Path) -> None:
    (repository / NAME).write_text("Dear Sam, tampered\n")
    (repository / "b" / "c.txt").write_text("X\n")  # same size, other content

    report = verify.verify_repository(repository, Runner())

    assert report.status == verify.DAMAGED and report.problem
    # Long names with spaces arrive whole: rdiff-backup's line wrapping is turned off.
    assert sorted(report.damaged) == sorted([NAME, "b/c.txt"])
    assert "2 damaged file(s)" in report.describe() and "b/c.txt" in report.describe()


def test_a_repository_that_needs_a_regress_is_not_verified(repository: Path) -> None:
    data = repository / "rdiff-backup-data"
    marker = next(data.glob("current_mirror.*"))
    shutil.copy(marker, data / "current_mirror.2020-01-01T00:00:00Z.data")
    lines: list[str] = []

    report = verify.verify_repository(repository, Runner(log=lines.append))

    assert report.status == verify.NEEDS_REPAIR and report.problem
    assert "interrupted" in report.describe() and "next backup" in report.describe()
    assert lines == [], "rdiff-backup was not even started"


def test_missing_and_foreign_folders(tmp_path: Path) -> None:
    assert verify.verify_repository(tmp_path / "none", Runner()).status == verify.MISSING
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("x")
    foreign = verify.verify_repository(tmp_path / "foreign", Runner())
    assert foreign.status == verify.UNREADABLE and "no rdiff-backup data" in foreign.describe()


def test_a_broken_repository_is_unreadable_not_a_crash(repository: Path) -> None:
    for marker in (repository / "rdiff-backup-data").glob("current_mirror.*"):
        marker.unlink()
    report = verify.verify_repository(repository, Runner())
    assert report.status == verify.NEEDS_REPAIR


def test_verify_all_summarises_for_a_notification(repository: Path, tmp_path: Path) -> None:
    (repository / "plain.txt").write_text("PLAIN\n")

    summary = verify.verify_all([repository, tmp_path / "not yet"], Runner())

    assert [r.status for r in summary.reports] == [verify.DAMAGED, verify.MISSING]
    assert summary.damaged == [summary.reports[0]]
    assert "1 damaged file(s): plain.txt" in summary.summary()


def test_when_the_scheduled_verify_is_due(tmp_path: Path) -> None:
    day = 86400
    assert verify.is_due(None, 1000.0, 7)
    assert not verify.is_due(1000.0, 1000.0 + 6 * day, 7)
    assert verify.is_due(1000.0, 1000.0 + 7 * day, 7)
    assert verify.is_due(5000.0, 1000.0, 7), "a clock set back must not postpone it for ever"
    assert not verify.is_due(None, 1000.0, 0), "0 turns it off"
    paths = AppPaths(tmp_path / "state")
    assert verify.last_run(paths) is None
    verify.record_run(paths, 1234.5)
    assert verify.last_run(paths) == 1234.5
    (paths.root / verify.LAST_RUN_FILE).write_text("{broken")
    assert verify.last_run(paths) is None


def test_cli_verify_exit_codes(repository: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    settings = tmp_path / "settings.toml"
    backup_root = repository.parent / "backup"
    backup_root.mkdir()
    repository.rename(backup_root / "home")
    settings.write_text(
        f'[desktop]\nhome = "{(tmp_path / "src").as_posix()}"\n'
        f'backup = "{backup_root.as_posix()}"\n'
        f'[server]\nhome = "{(tmp_path / "server").as_posix()}"\n'
        f'[external]\npath = "{(tmp_path / "no drive").as_posix()}"\n'
    )
    monkeypatch.setenv("MEGABACKUP_HOME", str(tmp_path / "state"))

    assert cli.main(["verify", "--settings", str(settings)]) == 0
    assert "no damage found" in capsys.readouterr().out
    assert verify.last_run(AppPaths(tmp_path / "state")) is not None

    (backup_root / "home" / "plain.txt").write_text("PLAIN\n")
    assert cli.main(["verify", "--settings", str(settings)]) == 3
    assert "1 damaged file(s): plain.txt" in capsys.readouterr().out
