"""The one-file build: build_exe.spec builds a Linux binary here, and the binary runs every
command, rdiff-backup inside itself and the unison bundled into it.

The build (about 30 s) is kept in build/frozen-test/ and reused while the spec, the sources and
the tools are unchanged, so a fresh clone builds once. Tests marked `frozen` need the build;
deselect them locally with `-m "not frozen"`. The size and the start-up time of the binary are
written to build/frozen-test/measurements.txt.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from megabackup import __version__, bundle
from megabackup.__main__ import OUTPUT_LOG
from support import fake_ps

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "frozen-test"
SPEC = ROOT / "build_exe.spec"
NAME = "MegaBackup"
DISTRIBUTIONS = (
    "pyinstaller",
    "pyinstaller-hooks-contrib",
    "rdiff-backup",
    "pystray",
    "plyer",
    "psutil",
)
frozen = pytest.mark.frozen


def _inputs_digest(unison: Path) -> str:
    """Everything the binary is made of; a change to any of it means a new build."""
    digest = hashlib.sha256()
    files = [SPEC, ROOT / "settings.toml", unison]
    files += sorted((ROOT / "app" / "megabackup").rglob("*.py"))
    files += sorted(p for p in (ROOT / "icons").iterdir() if p.is_file())
    for path in files:
        digest.update(
            str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name).encode()
        )
        digest.update(path.read_bytes())
    for name in DISTRIBUTIONS:
        digest.update(f"{name}=={importlib.metadata.version(name)}".encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def binary() -> Path:
    """The frozen binary, built from build_exe.spec with this machine's unison bundled."""
    found = shutil.which("unison")
    if found is None:
        pytest.fail("unison is not installed (make system-packages installs it)")
    vendor = BUILD / "vendor-unison"  # what vendor/unison/ is for a packager
    vendor.mkdir(parents=True, exist_ok=True)
    bundled = vendor / "unison"
    real = Path(found).resolve()
    if not bundled.is_file() or bundled.read_bytes() != real.read_bytes():
        shutil.copy2(real, bundled)
    stamp, result = BUILD / "inputs.sha256", BUILD / "dist" / NAME
    digest = _inputs_digest(bundled)
    if result.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return result
    stamp.unlink(missing_ok=True)
    env = dict(os.environ, MEGABACKUP_UNISON_DIR=str(vendor))
    env.pop("DISPLAY", None)  # a headless builder, as in CI
    started = time.monotonic()
    build = subprocess.run(
        [
            str(Path(sys.executable).with_name("pyinstaller")),
            "--noconfirm",
            "--distpath",
            str(BUILD / "dist"),
            "--workpath",
            str(BUILD / "work"),
            str(SPEC),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    (BUILD / "build.log").write_text(build.stdout + build.stderr, encoding="utf-8")
    assert build.returncode == 0, build.stderr[-3000:]
    assert "bundling unison: ['unison']" in build.stdout + build.stderr
    (BUILD / "build-seconds.txt").write_text(f"{seconds:.1f}\n", encoding="utf-8")
    stamp.write_text(digest)
    return result


def run(argv: list[str], *, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, MEGABACKUP_HOME=str(home), **env)
    environment.pop("DISPLAY", None)
    return subprocess.run(
        argv, env=environment, capture_output=True, text=True, timeout=240, check=False
    )


@frozen
def test_the_binary_tells_its_version_and_is_measured(binary: Path, tmp_path: Path) -> None:
    times = []
    for _ in range(3):
        started = time.monotonic()
        done = run([str(binary), "--version"], home=tmp_path)
        times.append(time.monotonic() - started)
        assert done.returncode == 0 and done.stdout.strip() == f"MegaBackup {__version__}"
    size = binary.stat().st_size
    built = BUILD / "build-seconds.txt"
    (BUILD / "measurements.txt").write_text(
        f"platform: {platform.platform()}, Python {platform.python_version()}\n"
        f"size: {size} bytes ({size / 1e6:.1f} MB)\n"
        f"--version wall time: best {min(times):.2f} s of {', '.join(f'{t:.2f}' for t in times)}\n"
        f"last build: {built.read_text().strip() if built.is_file() else '?'} s\n",
        encoding="utf-8",
    )


@frozen
def test_the_bundle_carries_the_template_icons_and_unison_and_no_gtk(binary: Path) -> None:
    from PyInstaller.archive.readers import CArchiveReader

    names = set(CArchiveReader(str(binary)).toc)
    assert {"settings.toml", "icons/megabackup.ico", "unison/unison"} <= names
    assert not [n for n in names if n.startswith("gi/")]


@pytest.fixture(scope="module")
def demo(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A full demo run through the binary. The bundled unison comes before PATH, where a
    unison that always fails stands first."""
    root = tmp_path_factory.mktemp("frozen-demo") / "demo"
    decoy = root.parent / "bin" / "unison"
    decoy.parent.mkdir()
    decoy.write_text("#!/bin/sh\necho 'not the bundled unison' >&2\nexit 3\n", encoding="utf-8")
    decoy.chmod(0o755)
    path = f"{decoy.parent}{os.pathsep}{os.environ['PATH']}"
    done = run([str(binary), "demo", str(root)], home=root.parent / "home", PATH=path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root, done.stdout


@frozen
def test_a_full_demo_cycle_runs_through_the_frozen_binary(
    binary: Path, demo: tuple[Path, str]
) -> None:
    root, output = demo
    assert "Demo finished: 11 of 11 checks held." in output
    assert "NOT TRUE" not in output
    logs = "\n".join(p.read_text(encoding="utf-8") for p in (root / "state" / "logs").iterdir())
    # rdiff-backup ran as the binary calling itself, and the sync used the bundled unison
    assert f"$ {binary} --rdiff-backup --api-version 201 backup --print-statistics" in logs
    assert "Session statistics" in logs  # the child's output came back through the pipes
    unison_runs = [line for line in logs.splitlines() if "/unison/unison " in line]
    assert unison_runs and all("/_MEI" in line for line in unison_runs)
    assert "/usr/bin/unison" not in logs


@frozen
def test_check_through_the_frozen_binary(binary: Path, demo: tuple[Path, str]) -> None:
    root, _ = demo
    settings = str(root / "settings.toml")
    done = run([str(binary), "check", "--settings", settings], home=root / "state")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All places are ready." in done.stdout


@frozen
def test_with_no_arguments_the_binary_starts_the_tray(binary: Path, tmp_path: Path) -> None:
    done = run([str(binary)], home=tmp_path)  # no display here: the tray says it cannot start
    assert done.returncode == 3
    assert "no system tray is available here" in done.stderr
    assert "usage:" not in done.stdout + done.stderr


@frozen
def test_the_frozen_rdiff_backup_runs_with_no_stdout_or_stderr(
    binary: Path, tmp_path: Path
) -> None:
    _write_and_back_up_without_output([str(binary), "--rdiff-backup"], tmp_path)


@frozen
def test_the_frozen_app_carries_psutil_so_rdiff_backups_lock_starts_no_process(
    binary: Path, tmp_path: Path
) -> None:
    # Without psutil rdiff-backup's lock runs `tasklist` on Windows (a console window flashes
    # up from the windowed exe) and `ps` here; a `ps` first on PATH leaves a mark if it runs.
    bin_dir, marks = fake_ps(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n", encoding="utf-8")
    argv = [str(binary), "--rdiff-backup", "--api-version", "201", "backup"]
    argv += [str(tmp_path / "src"), str(tmp_path / "repo")]
    done = run(argv, home=tmp_path / "home", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert done.returncode == 0, done.stderr
    assert not marks.exists(), f"the frozen rdiff-backup started ps: {marks.read_text()}"


# ---- the same guards without a build (fast) ----------------------------------------------------
def _write_and_back_up_without_output(prefix: list[str], tmp_path: Path) -> None:
    """What a windowed build sees: stdout and stderr closed (Python makes them None)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("hello\n", encoding="utf-8")
    home = tmp_path / "home"
    argv = [*prefix, "--api-version", "201", "backup", "--print-statistics"]
    argv += [str(tmp_path / "src"), str(tmp_path / "repo")]
    closed = subprocess.run(
        ["sh", "-c", 'exec "$@" >&- 2>&-', "sh", *argv],
        env=dict(os.environ, MEGABACKUP_HOME=str(home)),
        timeout=120,
        check=False,
    )
    assert closed.returncode == 0
    assert (tmp_path / "repo" / "rdiff-backup-data").is_dir()
    assert "Session statistics" in (home / OUTPUT_LOG).read_text(encoding="utf-8")


def test_rdiff_backup_with_no_stdout_or_stderr_writes_to_the_output_log(tmp_path: Path) -> None:
    # without the guard rdiff-backup's first write to sys.stdout ends it with exit code 1
    _write_and_back_up_without_output(
        [sys.executable, "-m", "megabackup", "--rdiff-backup"], tmp_path
    )


def test_the_exe_looks_for_unison_beside_itself_then_inside_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    beside, inside = tmp_path / "dist", tmp_path / "_MEI1234"
    (inside / "unison").mkdir(parents=True)
    beside.mkdir()
    assert bundle.unison() is None  # not frozen: PATH and tools.unison only
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(beside / NAME))
    monkeypatch.setattr(sys, "_MEIPASS", str(inside), raising=False)
    assert bundle.unison() is None  # none bundled: PATH next
    (inside / "unison" / "unison.exe").write_bytes(b"bundled")
    assert bundle.unison() == inside / "unison" / "unison.exe"
    (beside / "unison.exe").write_bytes(b"a newer one the person put there")
    assert bundle.unison() == beside / "unison.exe"


def test_the_command_line_tool_with_no_arguments_prints_the_help(tmp_path: Path) -> None:
    done = run([sys.executable, "-m", "megabackup"], home=tmp_path)
    assert done.returncode == 2 and "usage: megabackup" in done.stdout
