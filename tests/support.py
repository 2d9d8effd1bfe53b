"""Shared helpers for tests that run real cycles on the demo topology."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from megabackup.demo import build_places
from megabackup.engine import CycleOptions, CycleResult, run_cycle
from megabackup.locations import AppPaths
from megabackup.settings import Settings, load
from megabackup.tools import rdiff
from megabackup.tools.runner import Runner


class Places:
    """The demo topology under tmp_path, with shortcuts to its folders."""

    def __init__(self, root: Path, conflicts: str = "keep-both") -> None:
        settings_path = build_places(root)
        if conflicts != "keep-both":
            text = settings_path.read_text(encoding="utf-8")
            settings_path.write_text(
                text.replace('conflicts = "keep-both"', f'conflicts = "{conflicts}"'),
                encoding="utf-8",
            )
        self.settings: Settings = load(settings_path)
        self.paths = AppPaths(root / "state")
        self.desktop = self.settings.desktop.home
        self.server = self.settings.server.home
        assert self.settings.server.data is not None and self.settings.external.path is not None
        self.data = self.settings.server.data
        self.drive = self.settings.external.path
        self.desktop_repo = self.settings.desktop.backup / "home"

    def cycle(self, **options: object) -> CycleResult:
        return run_cycle(self.settings, self.paths, options=CycleOptions(**options))

    def change_setting(self, table: str, key: str, value: str) -> None:
        """Rewrite one `key = "value"` of one table in the settings file, and reload it."""
        source = self.settings.source
        assert source is not None
        lines, current = [], ""
        for line in source.read_text(encoding="utf-8").splitlines():
            if line.startswith("["):
                current = line.strip("[] ")
            elif current == table and line.split("=")[0].strip() == key:
                line = f'{key} = "{value}"'
            lines.append(line)
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.settings = load(source)


@contextlib.contextmanager
def never_answering_folder(root: Path) -> Iterator[Path]:
    """A folder that never answers, as a share on a server that froze does: a FUSE mount whose
    file system never replies, so every stat of it (or in it) waits until the mount goes.
    Needs root and /dev/fuse; skips the test without them."""
    libc = ctypes.CDLL(None, use_errno=True)
    _detach_stale_mounts(libc)
    mount_point = root / "frozen-share"
    mount_point.mkdir(parents=True)
    try:
        device = os.open("/dev/fuse", os.O_RDWR)
    except OSError as exc:
        pytest.skip(f"no FUSE here: {exc}")
    try:
        options = f"fd={device},rootmode=40000,user_id=0,group_id=0".encode()
        if libc.mount(_NEVER_ANSWERS, bytes(mount_point), b"fuse", 0, options) != 0:
            pytest.skip(f"cannot mount FUSE here: {os.strerror(ctypes.get_errno())}")
        yield mount_point
    finally:
        # whatever ended the test (a failure, Ctrl+C): closing the device aborts the
        # connection, so every waiting stat returns, and the detach takes the mount away
        os.close(device)
        libc.umount2(bytes(mount_point), _MNT_DETACH)


_NEVER_ANSWERS = b"never-answers"
_MNT_DETACH = 2


def _detach_stale_mounts(libc: ctypes.CDLL) -> None:
    """A test process killed outright (SIGKILL: no finally runs) leaves its mount behind; the
    kernel already aborted it with the process's device, so it answers at once: take it away."""
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            source, target, kind = line.split()[:3]
            if source == _NEVER_ANSWERS.decode() and kind == "fuse":
                # /proc/mounts writes a space in a path as \040
                path = target.encode().decode("unicode_escape").encode("latin-1")
                libc.umount2(path, _MNT_DETACH)


def write(path: Path, text: str, mtime: float | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def restore(repository: Path, relative: str, at: str, target: Path) -> str:
    """Restore one file from a snapshot with rdiff-backup itself and return its text."""
    argv = [*rdiff.locate(), "--api-version", "201", "restore", "--at", at]
    subprocess.run(
        [*argv, str(repository / relative), str(target)], check=True, capture_output=True
    )
    return target.read_text(encoding="utf-8")


def session_times(repository: Path) -> list[float]:
    """Every snapshot in a repository, oldest first (the mirror last); none when unreadable."""
    try:
        entries = rdiff.Rdiff(Runner(), rdiff.locate()).list_increments(repository)
    except rdiff.RdiffFailed:
        return []
    return [e.time for e in entries]


def snapshot_count(repository: Path) -> int:
    return len(session_times(repository))


def tree(*roots: Path) -> dict[str, tuple[int, float]]:
    """Every file and folder under the roots with size and mtime, to prove nothing was written."""
    found: dict[str, tuple[int, float]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                info = path.lstat()
                found[str(path)] = (info.st_size, info.st_mtime)
    return found


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        for child in children.get(current, []):
            found.append(child)
            queue.append(child)
    return found


def wait_for_tool(process: subprocess.Popen, name: str, timeout: float = 60) -> bool:
    """Wait until the process has started a tool whose command line holds `name`."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        for pid in descendants(process.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if name.encode() in cmdline.read():
                        return True
            except OSError:
                continue
        time.sleep(0.002)
    return False


def kill_everything(process: subprocess.Popen) -> None:
    """A power cut: the app and every tool it started die at once (stopped first, so it
    cannot start another tool while its children are being found)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGSTOP)
    victims = [*descendants(process.pid), process.pid]
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    process.wait()
    deadline = time.time() + 10  # orphans linger until init reaps them; a power cut leaves none
    while time.time() < deadline and any(Path(f"/proc/{pid}").exists() for pid in victims):
        time.sleep(0.01)


FAKETIME = shutil.which("faketime")


def under_shifted_clock(argv: list[str], shift: str, env: dict[str, str]) -> list[str]:
    """argv and every tool it starts under libfaketime: the desktop's clock is off by shift."""
    assert FAKETIME, "faketime is installed by the Makefile (package faketime)"
    env.pop("FAKETIME_DONT_FAKE_MONOTONIC", None)  # with it, time.sleep fails with EINVAL
    return [FAKETIME, "-f", shift, *argv]


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A real small (soon full) disk: a tmpfs of `size` at mount_point; skipped where it cannot
    be mounted, failed in CI."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        message = f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fake_ps(folder: Path) -> tuple[Path, Path]:
    """A `ps` (folder/bin, to put first on PATH) that leaves a mark each time it runs: without
    psutil rdiff-backup's lock runs `ps` here, `tasklist` on Windows. Returns (bin, marks)."""
    marks = folder / "ps-was-run"
    fake = folder / "bin" / "ps"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{marks}"\nexec /bin/ps "$@"\n', encoding="utf-8")
    fake.chmod(0o755)
    return fake.parent, marks
