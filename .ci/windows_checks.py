"""What only Windows can show about the built exe, checked on a Windows runner after the build:

    python .ci/windows_checks.py dist/MegaBackup.exe

Each check prints what it saw; the script exits 1 when any failed, naming them. It needs the
package installed beside it (for winsys, autostart and psutil) and pywin32 (rdiff-backup's
Windows dependency) to read a console's screen.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
import threading
import time
import winreg
from ctypes import wintypes
from pathlib import Path

import psutil

from megabackup import __version__, winsys
from megabackup.settings import to_toml
from megabackup.tray import autostart

FAILED: list[str] = []
CONSOLE_CLASSES = ("ConsoleWindowClass", "CASCADIA_HOSTING_WINDOW_CLASS")  # conhost, Terminal


def report(name: str, ok: bool, detail: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        FAILED.append(name)


def run(argv: list[str], timeout: float, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
        env=dict(os.environ, **env),
        check=False,
    )


# ---- 1. no tasklist and no console window during a backup -----------------------------------
_user32 = ctypes.WinDLL("user32", use_last_error=True)
_ENUM = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
_user32.EnumWindows.argtypes = [_ENUM, wintypes.LPARAM]
_user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
_user32.GetClassNameW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
_user32.IsWindowVisible.argtypes = [wintypes.HWND]


def console_windows() -> list[tuple[int, int]]:
    """(window, owning process) of every visible console window."""
    found: list[tuple[int, int]] = []

    def each(hwnd: int, _param: int) -> bool:
        name = ctypes.create_unicode_buffer(64)
        _user32.GetClassNameW(hwnd, name, 64)
        if name.value in CONSOLE_CLASSES and _user32.IsWindowVisible(hwnd):
            pid = wintypes.DWORD()
            _user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
            found.append((int(hwnd or 0), pid.value))
        return True

    _user32.EnumWindows(_ENUM(each), 0)
    return found


class Watch(threading.Thread):
    """Every 20 ms, the processes below one process (tasklist lives for a few hundred ms), and
    any visible console window that one of them (or its console host) owns."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.names: set[str] = set()
        self.windows: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                tree = [psutil.Process(self.root), *psutil.Process(self.root).children(True)]
            except psutil.Error:
                time.sleep(0.02)
                continue
            pids = set()
            for process in tree:
                try:
                    self.names.add(process.name().lower())
                    pids.add(process.pid)
                except psutil.Error:
                    continue
            for hwnd, owner in console_windows():
                if owner in pids or _parent(owner) in pids:
                    self.windows.append(f"window {hwnd:#x} of process {owner}")
            time.sleep(0.02)


def _parent(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def check_no_console_during_a_backup(exe: Path, work: Path) -> None:
    demo = work / "demo"
    process = subprocess.Popen(
        [str(exe), "demo", str(demo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, MEGABACKUP_HOME=str(work / "demo-home")),
    )
    watch = Watch(process.pid)
    watch.start()
    output, _ = process.communicate(timeout=900)
    watch.done.set()
    watch.join(5)
    text = output.decode("utf-8", "replace")
    report("demo ran", process.returncode == 0 and "checks held" in text, text.strip()[-300:])
    report(
        "no tasklist", "tasklist.exe" not in watch.names, f"processes seen: {sorted(watch.names)}"
    )
    report("no console window", not watch.windows, "; ".join(watch.windows) or "none appeared")


# ---- 2. a failing --rdiff-backup call ends, and says why -------------------------------------
def check_a_crashing_rdiff_backup_ends(exe: Path, work: Path) -> None:
    source, repository = work / "crash-src", work / "crash-repo"
    source.mkdir()
    (source / "gone.txt").write_text("soon deleted\n", encoding="utf-8")
    rdiff = [str(exe), "--rdiff-backup", "--api-version", "201"]
    run([*rdiff, "backup", str(source), str(repository)], 120)
    time.sleep(1.1)
    (source / "gone.txt").unlink()
    run([*rdiff, "backup", str(source), str(repository)], 120)
    started = time.monotonic()
    argv = [*rdiff, "--parsable-output", "list", "increments", "--size"]
    try:
        done = run([*argv, str(repository / "gone.txt")], 60)
    except subprocess.TimeoutExpired:
        report("a crashing --rdiff-backup exits", False, "still running after 60 s (a dialog?)")
        for process in psutil.process_iter(["exe"]):
            if process.info["exe"] and Path(process.info["exe"]) == exe.resolve():
                process.kill()
        return
    seconds = time.monotonic() - started
    ok = done.returncode != 0 and "Traceback" in done.stderr
    report("a crashing --rdiff-backup exits", ok, f"exit {done.returncode} in {seconds:.1f} s; "
           f"{done.stderr.strip().splitlines()[-1:] or 'no output'}")  # fmt: skip


# ---- 3. command-line output reaches the console it was typed in ------------------------------
PROBE = r"""
import subprocess, sys, win32console, win32file
exe, out = sys.argv[1], sys.argv[2]
code = subprocess.run([exe, "--version"], timeout=120).returncode  # this console, no pipes
screen = win32console.PyConsoleScreenBufferType(win32file.CreateFile(
    "CONOUT$", win32file.GENERIC_READ | win32file.GENERIC_WRITE,
    win32file.FILE_SHARE_READ | win32file.FILE_SHARE_WRITE, None, win32file.OPEN_EXISTING, 0,
    None))
size = screen.GetConsoleScreenBufferInfo()["Size"]
text = screen.ReadConsoleOutputCharacter(size.X * size.Y, win32console.PyCOORDType(0, 0))
with open(out, "w", encoding="utf-8") as f:
    f.write(f"exit {code}\n{text}")
"""


def check_output_reaches_the_console(exe: Path, work: Path) -> None:
    seen = work / "console.txt"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(exe), str(seen)],
        creationflags=subprocess.CREATE_NEW_CONSOLE,  # a console of its own, as cmd has
        timeout=180,
        check=False,
    )
    text = seen.read_text(encoding="utf-8") if seen.is_file() else "(the probe wrote nothing)"
    expected = f"MegaBackup {__version__}"
    report("output reaches the console", expected in text, " ".join(text.split())[:200])


# ---- 4. the walk of a real profile: links named, nothing unreadable --------------------------
def check_the_real_profile(exe: Path, work: Path) -> None:
    home = Path.home()
    folders = [
        f for f in ("Documents", "Desktop", "Pictures", "Music", "Videos") if (home / f).is_dir()
    ]
    outside = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()) / "profile-check"
    for folder in ("server", "backup", "state"):
        (outside / folder).mkdir(parents=True, exist_ok=True)
    settings = outside / "settings.toml"
    tables = {
        "desktop": {"home": home, "backup": outside / "backup"},
        "server": {"home": outside / "server"},
        "folders": {"home": folders},
    }
    settings.write_text(to_toml(tables, "the runner's own profile"), encoding="utf-8")
    done = run([str(exe), "check", "--settings", str(settings)], 600,
               MEGABACKUP_HOME=str(outside / "state"))  # fmt: skip
    print(done.stdout + done.stderr)
    unreadable = [line for line in done.stdout.splitlines() if "could not be read" in line]
    report("the profile walk reads everything", done.returncode in (0, 1) and not unreadable,
           f"exit {done.returncode}; {unreadable or 'no unreadable entries'}")  # fmt: skip
    named = [line for line in done.stdout.splitlines() if "not backed up or synced" in line]
    print(f"     links named: {named or 'none in this profile'}")


# ---- 5. StartupApproved: a Run entry switched off in Task Manager is not ticked --------------
def check_startup_approved(exe: Path) -> None:
    switch = autostart.Autostart([str(exe), "tray"], platform="win32")
    before = winsys.run_key_read(autostart.VALUE_NAME)
    try:
        switch.set(True)
        key = winreg.CreateKey(winreg.HKEY_CURRENT_USER, winsys.STARTUP_APPROVED_KEY)
        with key:  # what Task Manager writes for "Disabled": 03, then the time it was switched
            winreg.SetValueEx(key, autostart.VALUE_NAME, 0, winreg.REG_BINARY,
                              bytes.fromhex("030000007c3a9e2d8f4bdb01"))  # fmt: skip
        off = not switch.enabled()
        switch.set(True)
        on_again = switch.enabled() and not winsys.startup_disabled(autostart.VALUE_NAME)
        report("StartupApproved", off and on_again,
               f"switched off in Task Manager reads {'off' if off else 'ON'}; ticked again "
               f"reads {'on' if on_again else 'OFF'}")  # fmt: skip
    finally:
        switch.set(False)
        if before is not None:
            winsys.run_key_write(autostart.VALUE_NAME, before)


# ---- 6. long paths -----------------------------------------------------------------------------
def report_long_paths() -> None:
    print(f"info LongPathsEnabled: {winsys.long_paths_enabled()}", flush=True)


def main() -> int:
    exe = Path(sys.argv[1]).resolve()
    work = Path(tempfile.mkdtemp(prefix="megabackup-checks-"))
    report_long_paths()
    check_no_console_during_a_backup(exe, work)
    check_a_crashing_rdiff_backup_ends(exe, work)
    check_output_reaches_the_console(exe, work)
    check_the_real_profile(exe, work)
    check_startup_approved(exe)
    if FAILED:
        print(f"\n{len(FAILED)} check(s) FAILED: {', '.join(FAILED)}", flush=True)
        return 1
    print("\nevery check held", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
