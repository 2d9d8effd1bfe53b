"""The Windows-only calls, with thin fakes of the Windows APIs (kernel32, winreg, os.startfile)."""

from __future__ import annotations

import ctypes
import struct
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from megabackup import places, power, winsys
from megabackup.tools import runner
from megabackup.tray import autostart


# ---- drive letters -------------------------------------------------------------------------------
class FakeKernel32:
    """GetLogicalDrives, GetDriveTypeW, SetErrorMode and AttachConsole, as Windows answers them."""

    def __init__(
        self, drives: dict[str, int], error_mode: int = 0, console: bool | int = False
    ) -> None:
        self.drives = drives  # letter -> drive type
        self.error_mode = error_mode
        self.console = console  # True: the parent has one; a pid: that process has one
        self.asked: list[str] = []
        self.attached_to: list[int] = []

    def GetLogicalDrives(self) -> int:  # the Windows API's own names
        return sum(1 << (ord(letter) - ord("A")) for letter in self.drives)

    def GetDriveTypeW(self, root: str) -> int:
        self.asked.append(root)
        return self.drives[root[0]]

    def SetErrorMode(self, mode: int) -> int:
        previous, self.error_mode = self.error_mode, mode
        return previous

    def AttachConsole(self, pid: int) -> int:
        self.attached_to.append(pid)
        if isinstance(self.console, bool):
            return int(self.console and pid == winsys.ATTACH_PARENT_PROCESS)
        return int(pid == self.console)


def test_the_drive_scan_lists_local_disks_from_d_in_order() -> None:
    kernel32 = FakeKernel32(
        {
            "A": winsys.DRIVE_REMOVABLE,  # a floppy: never touched
            "C": winsys.DRIVE_FIXED,  # the system disk
            "D": winsys.DRIVE_FIXED,
            "E": 5,  # a CD drive
            "F": winsys.DRIVE_REMOVABLE,
            "Z": winsys.DRIVE_REMOTE,  # a mapped share: a gone server would hang the scan
            "G": winsys.DRIVE_FIXED,  # a USB disk reports as fixed
        }
    )
    assert [str(p) for p in winsys.drive_roots(kernel32)] == ["D:", "F:", "G:"]
    assert [r for r in kernel32.asked] == ["D:\\", "E:\\", "F:\\", "G:\\", "Z:\\"]


def test_the_external_drive_is_found_by_its_marker_among_the_scanned_letters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # candidate_roots on Windows is the winsys scan; fake the drive letters as folders
    letters = {letter: tmp_path / f"{letter}-drive" for letter in "DEF"}
    for folder in letters.values():
        folder.mkdir()
    places.write_drive_marker(letters["F"] / "MegaBackup", "MegaBackup")
    monkeypatch.setattr(places.os, "name", "nt")
    monkeypatch.setattr(winsys, "drive_roots", lambda: list(letters.values()))
    assert places.candidate_roots() == list(letters.values())
    assert places.find_external("MegaBackup", None).path == letters["F"] / "MegaBackup"


def test_drive_errors_are_made_quiet_keeping_the_mode_already_set() -> None:
    kernel32 = FakeKernel32({}, error_mode=0x0004)  # SEM_NOALIGNMENTFAULTEXCEPT, set by someone
    winsys.quiet_drive_errors(kernel32)
    assert kernel32.error_mode == 0x0004 | winsys.SEM_FAILCRITICALERRORS | 0x8000


# ---- UNC and long paths --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("//nas/andy", ("nas", "andy", "")),
        ("\\\\nas\\andy\\Documents\\", ("nas", "andy", "Documents")),
        ("//nas/andy/a/b", ("nas", "andy", "a/b")),
        ("\\\\?\\UNC\\nas\\andy\\x", ("nas", "andy", "x")),
        ("//nas", None),  # a server without a share is not a place
        ("C:/Users/andy", None),
        ("\\\\?\\C:\\Users", None),
        ("/home/andy", None),
    ],
)
def test_unc_paths_either_way_round(text: str, parts: tuple[str, str, str] | None) -> None:
    assert winsys.unc_parts(text) == parts
    assert winsys.is_unc(text) is (parts is not None)


def test_paths_are_shown_the_way_windows_users_write_them() -> None:
    show = winsys.display_path
    assert show("//nas/andy/Documents", windows=True) == "\\\\nas\\andy\\Documents"
    assert show("\\\\nas\\andy", windows=True) == "\\\\nas\\andy"
    assert show("C:/Users/andy", windows=True) == "C:\\Users\\andy"
    assert show("\\\\?\\UNC\\nas\\andy\\x", windows=True) == "\\\\nas\\andy\\x"
    assert show("\\\\?\\D:\\LocalBackup", windows=True) == "D:\\LocalBackup"
    assert show("\\\\nas\\andy\\x", windows=False) == "//nas/andy/x"  # one spelling elsewhere
    assert show("/home/andy", windows=False) == "/home/andy"


def test_two_spellings_of_one_place_are_the_same_place() -> None:
    assert winsys.same_path("//nas/andy", "\\\\NAS\\Andy\\", windows=True)
    assert winsys.same_path("C:/Users/andy", "c:\\users\\andy", windows=True)
    assert not winsys.same_path("//nas/andy", "//nas/andy2", windows=True)
    assert not winsys.same_path("/home/Andy", "/home/andy", windows=False)  # case counts there
    assert winsys.same_path("/home/andy/", "/home/andy", windows=False)


def test_long_paths_get_the_extended_prefix_short_ones_do_not() -> None:
    deep = "C:/Users/andy/" + "/".join(["a folder with a long name"] * 10) + "/notes.txt"
    assert len(deep) > 260
    long = winsys.long_path(deep, windows=True)
    assert long.startswith("\\\\?\\C:\\Users\\andy\\a folder") and "/" not in long
    unc = winsys.long_path("//nas/andy/" + "x" * 250, windows=True)
    assert unc.startswith("\\\\?\\UNC\\nas\\andy\\xxx")
    assert winsys.long_path("C:/short.txt", windows=True) == "C:/short.txt"
    assert winsys.long_path(long, windows=True) == long  # never twice
    assert winsys.long_path("relative/" + "x" * 300, windows=True).startswith("relative/")
    assert winsys.long_path(deep, windows=False) == deep


# ---- the default program -------------------------------------------------------------------------
class FakeStartfile:
    """os.startfile: records the calls; a verb the file type lacks raises like ShellExecute."""

    def __init__(self, missing_verbs: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.missing_verbs = missing_verbs

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)
        if len(args) > 1 and args[1] in self.missing_verbs and args[0] != "notepad.exe":
            raise OSError(1155, "No application is associated with the specified file")


def test_a_file_opens_with_its_default_program() -> None:
    start = FakeStartfile()
    winsys.open_with_default_program("//nas/andy/notes.txt", startfile=start, windows=True)
    assert start.calls == [("\\\\nas\\andy\\notes.txt", "open")]


def test_settings_open_for_editing_and_fall_back_to_notepad() -> None:
    start = FakeStartfile(missing_verbs=("edit",))
    winsys.open_with_default_program(
        "C:/Users/andy/settings.toml", edit=True, startfile=start, windows=True
    )
    assert start.calls == [
        ("C:\\Users\\andy\\settings.toml", "edit"),
        ("notepad.exe", "open", '"C:\\Users\\andy\\settings.toml"'),
    ]


def test_a_file_that_cannot_be_opened_says_so() -> None:
    with pytest.raises(OSError):
        winsys.open_with_default_program(
            "D:/x.unknown", startfile=FakeStartfile(("open",)), windows=True
        )


# ---- the registry Run key ------------------------------------------------------------------------
class FakeWinreg:
    """The part of winreg the Run key uses, over a dict of (hive, key) -> {name: (value, type)}."""

    HKEY_CURRENT_USER = "HKCU"
    HKEY_LOCAL_MACHINE = "HKLM"
    KEY_SET_VALUE = 0x0002
    REG_SZ = 1
    REG_BINARY = 3
    REG_DWORD = 4

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], dict[str, tuple[Any, int]]] = {}

    class _Key:
        def __init__(self, values: dict[str, tuple[Any, int]]) -> None:
            self.values = values

        def __enter__(self) -> FakeWinreg._Key:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def OpenKey(self, hive: str, path: str, reserved: int = 0, access: int = 0) -> _Key:
        if (hive, path) not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self._Key(self.keys[(hive, path)])

    def CreateKey(self, hive: str, path: str) -> _Key:
        return self._Key(self.keys.setdefault((hive, path), {}))

    def QueryValueEx(self, key: _Key, name: str) -> tuple[Any, int]:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name]

    def SetValueEx(self, key: _Key, name: str, reserved: int, kind: int, value: Any) -> None:
        key.values[name] = (value, kind)

    def DeleteValue(self, key: _Key, name: str) -> None:
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name]


def test_the_run_key_is_written_read_and_removed_under_hkcu() -> None:
    reg = FakeWinreg()
    assert winsys.run_key_read("MegaBackup", reg) is None  # not even the key yet
    winsys.run_key_delete("MegaBackup", reg)  # removing what is not there is fine
    command = '"C:\\Program Files\\MegaBackup\\MegaBackup.exe" tray'
    winsys.run_key_write("MegaBackup", command, reg)
    run_key = ("HKCU", r"Software\Microsoft\Windows\CurrentVersion\Run")
    assert reg.keys[run_key] == {"MegaBackup": (command, reg.REG_SZ)}
    assert winsys.run_key_read("MegaBackup", reg) == command
    winsys.run_key_delete("MegaBackup", reg)
    assert winsys.run_key_read("MegaBackup", reg) is None
    winsys.run_key_delete("MegaBackup", reg)


def test_autostart_on_windows_goes_through_the_run_key(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = FakeWinreg()
    monkeypatch.setattr(winsys, "_winreg", lambda: reg)
    switch = autostart.Autostart(
        ["C:/Program Files/MegaBackup/MegaBackup.exe", "tray"], platform="win32"
    )
    switch.set(True)
    assert (
        winsys.run_key_read("MegaBackup", reg)
        == '"C:/Program Files/MegaBackup/MegaBackup.exe" tray'
    )
    assert switch.enabled()
    switch.set(False)
    assert not switch.enabled()


def test_long_paths_are_read_from_the_file_system_key() -> None:
    reg = FakeWinreg()
    assert winsys.long_paths_enabled(reg, windows=True) is False  # no value: off by default
    key = ("HKLM", r"SYSTEM\CurrentControlSet\Control\FileSystem")
    reg.keys[key] = {"LongPathsEnabled": (0, reg.REG_DWORD)}
    assert winsys.long_paths_enabled(reg, windows=True) is False
    reg.keys[key] = {"LongPathsEnabled": (1, reg.REG_DWORD)}
    assert winsys.long_paths_enabled(reg, windows=True) is True
    assert winsys.long_paths_enabled(reg, windows=False) is None  # no such limit elsewhere


# ---- a console for the windowed exe --------------------------------------------------------------
def test_a_windowed_exe_run_from_a_console_writes_to_that_console(tmp_path: Path) -> None:
    opened: list[tuple[Any, ...]] = []

    def opener(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return (tmp_path / "console.txt").open("w", encoding="utf-8")

    kernel32 = FakeKernel32({}, console=True)
    no_parent: dict[int, tuple[int, str]] = {}
    stream = winsys.parent_console(kernel32, opener, no_parent.get)
    assert stream is not None and opened == [("CONOUT$", "w")]
    assert kernel32.attached_to == [winsys.ATTACH_PARENT_PROCESS]
    stream.close()
    assert winsys.parent_console(FakeKernel32({}, console=False), opener, no_parent.get) is None


EXE = "C:\\Users\\andy\\MegaBackup.exe"


def test_the_one_file_bootloader_has_no_console_so_its_parents_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # cmd (pid 100) started MegaBackup.exe: the bootloader (pid 200, no console of its own) started
    # the Python child (this process), whose AttachConsole(ATTACH_PARENT_PROCESS) finds nothing
    me = winsys.os.getpid()
    table = {me: (200, EXE), 200: (100, "C:\\Windows\\System32\\cmd.exe")}
    monkeypatch.setattr(winsys.sys, "executable", EXE.lower())  # Windows names ignore case
    kernel32 = FakeKernel32({}, console=100)
    written = tmp_path / "console.txt"
    stream = winsys.parent_console(
        kernel32, lambda *a, **k: written.open("w", encoding="utf-8"), table.get
    )
    assert stream is not None
    assert kernel32.attached_to == [winsys.ATTACH_PARENT_PROCESS, 100]
    stream.close()


def test_only_our_own_bootloaders_parent_is_asked_for_its_console() -> None:
    # started by another program (a scheduled task's host, a script): its parent is not ours
    table = {7: (200, "C:\\Program Files\\Other\\other.exe"), 200: (100, "cmd.exe")}
    assert winsys.console_owners(7, EXE, table.get) == [winsys.ATTACH_PARENT_PROCESS]
    assert winsys.console_owners(7, EXE, {}.get) == [winsys.ATTACH_PARENT_PROCESS]
    table = {7: (200, EXE), 200: (100, "C:\\Windows\\explorer.exe")}
    assert winsys.console_owners(7, EXE, table.get) == [winsys.ATTACH_PARENT_PROCESS, 100]


def test_the_parent_process_is_read_with_psutil() -> None:
    parent = winsys._parent_process(winsys.os.getpid())
    assert parent is not None and parent[0] == winsys.os.getppid()


# ---- ending a process tree (in the runner, the only module that starts processes) ----------------
def test_cancel_on_windows_ends_the_whole_tree_with_taskkill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[list[str], dict[str, Any]]] = []

    class Process:  # a Popen still running
        pid = 4242

        def poll(self) -> None:
            return None

    monkeypatch.setattr(runner.os, "name", "nt")
    monkeypatch.setattr(subprocess, "CREATE_NO_WINDOW", 0x08000000, raising=False)
    monkeypatch.setattr(runner.subprocess, "run", lambda argv, **kw: calls.append((argv, kw)))
    runner.end_process_tree(Process())  # type: ignore[arg-type]
    ((argv, options),) = calls
    assert argv == ["taskkill", "/T", "/F", "/PID", "4242"]  # /T: the one-file exe's child too
    assert options["creationflags"] == 0x08000000  # no console window flashes up


STARTUP_APPROVED = (
    "HKCU",
    r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run",
)


@pytest.mark.parametrize(
    ("approved", "ticked"),
    [
        (bytes.fromhex("030000007c3a9e2d8f4bdb01"), False),  # Task Manager: Disabled (a FILETIME)
        (bytes.fromhex("020000000000000000000000"), True),  # Enabled
        (None, True),  # never switched
    ],
)
def test_start_with_windows_is_ticked_only_when_task_manager_has_not_switched_it_off(
    monkeypatch: pytest.MonkeyPatch, approved: bytes | None, ticked: bool
) -> None:
    reg = FakeWinreg()
    monkeypatch.setattr(winsys, "_winreg", lambda: reg)
    switch = autostart.Autostart(["C:/MegaBackup.exe", "tray"], platform="win32")
    switch.set(True)
    if approved is not None:
        reg.keys[STARTUP_APPROVED] = {"MegaBackup": (approved, reg.REG_BINARY)}
    assert switch.enabled() is ticked
    switch.set(True)  # the person ticks it (again): Windows must run it from now on
    assert switch.enabled()
    assert "MegaBackup" not in reg.keys.get(STARTUP_APPROVED, {})
    assert winsys.run_key_read("MegaBackup", reg) == "C:/MegaBackup.exe tray"


# ---- long names (8.3 short names expanded, as unison prints its roots) --------------------------
class FakeLongNames:
    """GetLongPathNameW: fills the buffer and returns the length, or the size it needs, or 0."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def GetLongPathNameW(self, path: str, buffer: Any, size: int) -> int:
        long = self.names.get(path)
        if long is None:
            return 0  # ERROR_FILE_NOT_FOUND
        if len(long) >= size:
            return len(long) + 1
        buffer.value = long
        return len(long)


def test_a_path_in_short_names_is_given_its_long_name() -> None:
    long = "C:\\Users\\Andrew Smith\\" + "a long folder name\\" * 20
    kernel32 = FakeLongNames({"C:\\Users\\ANDREW~1": "C:\\Users\\Andrew Smith", "C:\\X~1": long})
    assert winsys.long_path_name("C:\\Users\\ANDREW~1", kernel32) == "C:\\Users\\Andrew Smith"
    assert winsys.long_path_name("C:\\X~1", kernel32) == long  # longer than the first buffer
    assert winsys.long_path_name("C:\\gone", kernel32) == "C:\\gone"  # Windows cannot say
    assert winsys.long_path_name("/home/andy") == "/home/andy"  # not Windows


# ---- children that end with us: a job object -----------------------------------------------------
class FakeJobKernel32:
    """CreateJobObjectW, SetInformationJobObject, AssignProcessToJobObject, CloseHandle: what
    each was given, read back from the structures the way Windows reads them."""

    def __init__(self, refuse_limits: bool = False) -> None:
        self.refuse_limits = refuse_limits
        self.created = 0
        self.limits: list[tuple[int, int, int, int]] = []  # job, class, LimitFlags, size
        self.assigned: list[tuple[int, int]] = []
        self.closed: list[int] = []

    def CreateJobObjectW(self, attributes: object, name: object) -> int:
        assert attributes is None and name is None  # an unnamed job no other program can open
        self.created += 1
        return 0x40 + self.created

    def SetInformationJobObject(self, job: int, kind: int, info: Any, size: int) -> int:
        limits = info._obj  # what ctypes.byref points at
        self.limits.append((job, kind, limits.BasicLimitInformation.LimitFlags, size))
        return 0 if self.refuse_limits else 1

    def AssignProcessToJobObject(self, job: int, process: int) -> int:
        self.assigned.append((job, process))
        return 1

    def CloseHandle(self, handle: int) -> int:
        self.closed.append(handle)
        return 1


def test_the_job_ends_its_processes_when_its_last_handle_closes() -> None:
    kernel32 = FakeJobKernel32()
    job = winsys.job_that_ends_with_us(kernel32)
    assert job == 0x41
    # JobObjectExtendedLimitInformation (9) with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE (0x2000)
    assert kernel32.limits == [(0x41, 9, 0x2000, ctypes.sizeof(winsys.ExtendedLimitInformation))]
    assert winsys.put_in_job(job, 0x1234, kernel32)
    assert kernel32.assigned == [(0x41, 0x1234)]
    assert kernel32.closed == []  # closing it would end every tool in it at once


def test_a_job_windows_refuses_to_limit_is_closed_and_not_used() -> None:
    kernel32 = FakeJobKernel32(refuse_limits=True)
    assert winsys.job_that_ends_with_us(kernel32) is None
    assert kernel32.closed == [0x41]


@pytest.mark.skipif(struct.calcsize("P") != 8, reason="the layout of 64-bit Windows")
def test_the_limit_structure_has_the_layout_of_winnt_h() -> None:
    # JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on x64, its LimitFlags at offset 16
    # (after two LARGE_INTEGERs); a wrong layout would set some other limit, or none.
    assert ctypes.sizeof(winsys.ExtendedLimitInformation) == 144
    basic = winsys.ExtendedLimitInformation.BasicLimitInformation.offset
    assert basic == 0 and winsys._BasicLimitInformation.LimitFlags.offset == 16
    assert winsys.ExtendedLimitInformation.IoInfo.offset == 64


def test_every_tool_on_windows_goes_into_one_job(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel32 = FakeJobKernel32()
    started: list[dict[str, Any]] = []

    class Popen:  # what subprocess.Popen gives on Windows: a process handle
        def __init__(self, argv: list[str], **options: Any) -> None:
            started.append(options)
            self._handle = 0x500 + len(started)

    monkeypatch.setattr(runner.os, "name", "nt")
    monkeypatch.setattr(subprocess, "CREATE_NO_WINDOW", 0x08000000, raising=False)
    monkeypatch.setattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200, raising=False)
    monkeypatch.setattr(runner.subprocess, "Popen", Popen)
    monkeypatch.setattr(winsys, "_kernel32", lambda: kernel32)
    monkeypatch.setattr(runner, "_JOB", [])
    runner.start(["rdiff-backup.exe"], stdout=subprocess.PIPE)
    runner.start(["unison.exe"], stdout=subprocess.PIPE)
    assert kernel32.created == 1  # one job for the life of the process
    assert kernel32.assigned == [(0x41, 0x501), (0x41, 0x502)]
    assert all(o["creationflags"] == 0x08000000 | 0x200 for o in started)


# ---- staying awake, and power --------------------------------------------------------------------
class FakePowerKernel32:
    """SetThreadExecutionState (per thread, as Windows keeps it) and GetSystemPowerStatus."""

    def __init__(self, ac: int = 1, battery_flag: int = 128, refuse: bool = False) -> None:
        self.ac, self.battery_flag, self.refuse = ac, battery_flag, refuse
        self.states: list[tuple[int, int]] = []  # (thread, flags)

    def SetThreadExecutionState(self, flags: int) -> int:
        self.states.append((threading.get_ident(), flags))
        return 0 if self.refuse else 0x80000000  # the previous state

    def GetSystemPowerStatus(self, status: Any) -> int:
        status._obj.ACLineStatus = self.ac
        status._obj.BatteryFlag = self.battery_flag
        return 1


def test_a_cycle_keeps_the_pc_awake_and_lets_it_sleep_again_from_the_same_thread() -> None:
    kernel32 = FakePowerKernel32()
    with power.kept_awake(windows=True, kernel32=kernel32):
        # ES_CONTINUOUS | ES_SYSTEM_REQUIRED: until told otherwise, not for one timeout
        assert [flags for _, flags in kernel32.states] == [0x80000001]
    assert [flags for _, flags in kernel32.states] == [0x80000001, 0x80000000]
    assert len({thread for thread, _ in kernel32.states}) == 1  # the request is the thread's


def test_a_refused_wake_request_is_not_undone_and_stops_nothing() -> None:
    kernel32 = FakePowerKernel32(refuse=True)
    with power.kept_awake(windows=True, kernel32=kernel32):
        pass
    assert [flags for _, flags in kernel32.states] == [0x80000001]
    with power.kept_awake(windows=False, kernel32=kernel32):
        pass  # elsewhere nothing is asked
    assert len(kernel32.states) == 1


@pytest.mark.parametrize(
    ("ac", "battery_flag", "expected"),
    [
        (0, 1, True),  # mains off, battery high: on battery
        (1, 1, False),  # a laptop on mains
        (1, 128, False),  # a desktop PC: no system battery
        (255, 1, False),  # unknown: never a reason to hold a backup back
        (0, 128, False),  # no battery at all cannot be running on one
    ],
)
def test_on_battery_reads_the_mains_and_the_battery(ac: int, battery_flag: int, expected: bool):
    assert power.on_battery(windows=True, kernel32=FakePowerKernel32(ac, battery_flag)) is expected


def test_the_power_status_structure_has_the_layout_of_winbase_h() -> None:
    assert ctypes.sizeof(winsys.SystemPowerStatus) == 12  # four BYTEs, two DWORDs


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (None, False),  # no battery
        (SimpleNamespace(power_plugged=False), True),
        (SimpleNamespace(power_plugged=True), False),
        (SimpleNamespace(power_plugged=None), False),  # psutil cannot tell
    ],
)
def test_on_battery_elsewhere_is_psutils_reading(reading: object, expected: bool) -> None:
    assert power.on_battery(windows=False, battery=lambda: reading) is expected


def test_an_unreadable_battery_is_no_battery() -> None:
    def broken() -> object:
        raise RuntimeError("no power_supply class")

    assert power.on_battery(windows=False, battery=broken) is False
