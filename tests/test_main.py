"""The entry point of `python -m megabackup` and the exe, against what Windows does to it:
the windowed exe's dialog for an exception that escapes, the ANSI code page of redirected
output, and rdiff-backup's lock asking for its own process name."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from megabackup.tools import rdiff
from support import fake_ps, small_tmpfs

# What PyInstaller's bootloader does in a windowed build (pyi_launch.c,
# pyi_unhandled_exception_dialog): an exception that escapes the script shows a modal dialog and
# the process waits for a click. Here the "dialog" is a line and exit code 99, so a test sees it.
WINDOWED_EXE = """
import sys
from megabackup.__main__ import main
sys.argv = ["MegaBackup.exe", *sys.argv[1:]]
try:
    code = main()
except SystemExit:
    raise
except BaseException:
    print("MODAL DIALOG: Unhandled exception in script", file=sys.__stderr__, flush=True)
    sys.exit(99)
sys.exit(code)
"""


def windowed_exe(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MEGABACKUP_HOME=str(tmp_path / "home"))
    return subprocess.run(
        [sys.executable, "-c", WINDOWED_EXE, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # bounded: "it ends" is what is being proved
        check=False,
    )


def rdiff_self(*args: str) -> list[str]:
    return ["--rdiff-backup", "--api-version", "201", *args]


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 1 MB tmpfs: a real full disk."""
    with small_tmpfs(tmp_path / "full-disk", "1m") as mount_point:
        yield mount_point


@pytest.mark.posix
@pytest.mark.realtools
def test_a_full_disk_inside_the_self_invoked_rdiff_backup_ends_it_with_a_traceback(
    tmp_path: Path, full_disk: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n", encoding="utf-8")
    repository = full_disk / "repo"
    first = windowed_exe(rdiff_self("backup", str(source), str(repository)), tmp_path)
    assert first.returncode == 0, first.stderr
    time.sleep(1.1)  # a new session cannot share the first one's second
    (source / "big.bin").write_bytes(os.urandom(3_000_000))
    done = windowed_exe(rdiff_self("backup", str(source), str(repository)), tmp_path)
    assert "MODAL DIALOG" not in done.stderr
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "No space left on device" in done.stderr


@pytest.mark.realtools
def test_list_increments_size_of_a_deleted_file_ends_with_a_traceback_not_a_dialog(
    tmp_path: Path,
) -> None:
    source, repository = tmp_path / "src", tmp_path / "repo"
    source.mkdir()
    (source / "gone.txt").write_text("soon deleted\n", encoding="utf-8")
    assert (
        windowed_exe(rdiff_self("backup", str(source), str(repository)), tmp_path).returncode == 0
    )
    time.sleep(1.1)
    (source / "gone.txt").unlink()
    assert (
        windowed_exe(rdiff_self("backup", str(source), str(repository)), tmp_path).returncode == 0
    )
    args = rdiff_self("--parsable-output", "list", "increments", "--size", f"{repository}/gone.txt")
    done = windowed_exe(args, tmp_path)
    assert "MODAL DIALOG" not in done.stderr
    assert done.returncode != 0
    assert "KeyError: 'size'" in done.stderr
    # and the caller reads it as a failed command, with the error in words
    lines = tuple((done.stdout + done.stderr).splitlines())
    result = rdiff.ProcessResult(("rdiff-backup",), done.returncode, lines, False, 0.1)
    assert rdiff.failed(result)


def test_redirected_output_in_the_ansi_code_page_still_prints_any_name(tmp_path: Path) -> None:
    # Windows gives redirected stdout/stderr its ANSI code page (cp1252 here) with strict errors.
    drive = tmp_path / "Ωμέγα ドライブ"
    env = dict(os.environ, MEGABACKUP_HOME=str(tmp_path / "home"), PYTHONIOENCODING="cp1252:strict")
    done = subprocess.run(
        [sys.executable, "-m", "megabackup", "init-drive", str(drive), "--name", "MegaBackup"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{drive} is now the MegaBackup drive" in done.stdout.decode("utf-8")


@pytest.mark.posix
@pytest.mark.realtools
def test_rdiff_backups_lock_names_its_process_without_starting_one(tmp_path: Path) -> None:
    # Without psutil, rdiff-backup's lock runs `tasklist` (Windows) or `ps` (here) to learn its
    # own process name; from the windowed exe tasklist opens a console window each time. A `ps`
    # first on PATH that leaves a mark shows whether anything was started.
    bin_dir, marks = fake_ps(tmp_path)
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n", encoding="utf-8")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    argv = [
        sys.executable,
        "-m",
        "megabackup",
        *rdiff_self("backup", str(source), str(tmp_path / "r")),
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert not marks.exists(), f"rdiff-backup started ps: {marks.read_text()}"
