"""The Windows-only calls, in one small module, each behind a parameter a test fills with a fake.

- the drive letters to scan for the external drive's marker (without touching empty card readers),
  and each connected disk's label, size and free space for the set-up window;
- reparse points (junctions, symbolic links, OneDrive placeholders), which Python reports as
  plain folders or files;
- UNC paths (`//nas/share` and `\\\\nas\\share` alike), shown the way Windows users write them;
- long paths: the `\\\\?\\` prefix for paths Windows would refuse at 260 characters, and the
  long form of a path written with 8.3 short names;
- opening a file or folder with its default program (ShellExecute through `os.startfile`; the
  desktop's opener elsewhere), the one exception to "only tools/runner.py starts processes";
- the registry Run key that starts the tray at login, and whether Windows' long paths are on;
- DPI awareness for our windows, so they are sharp at 125-150 % display scaling;
- a console for the windowed exe when it is run from one (`MegaBackup.exe status` in cmd): the
  console of the bootloader's parent, since the one-file bootloader has none to share;
- a job object that ends the tools with MegaBackup however it ends (Windows does not end
  children with their parent: "End task" or a crash would leave rdiff-backup writing alone);
- keeping the PC awake while a cycle runs, and whether it runs on battery.

Starting and ending processes is not here: tools/runner.py is the only module that starts
processes (it puts each child into the job), and on Windows it ends a tree with
`taskkill /T /F /PID` (a one-file exe is two processes).

The string functions are pure and take `windows=` so they are tested on any system.
"""

from __future__ import annotations

import ctypes
import ntpath
import os
import string
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any, TextIO

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
# Task Manager's Startup tab and Settings switch a Run entry off here, not in the Run key
STARTUP_APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
FILE_SYSTEM_KEY = r"SYSTEM\CurrentControlSet\Control\FileSystem"  # under HKEY_LOCAL_MACHINE
FIRST_SCANNED_LETTER = "D"  # A: and B: are floppies, C: is the system disk
DRIVE_REMOVABLE, DRIVE_FIXED, DRIVE_REMOTE = 2, 3, 4
SCANNED_DRIVE_TYPES = frozenset({DRIVE_REMOVABLE, DRIVE_FIXED})  # USB disks report as fixed
# Windows refuses longer paths without the prefix: MAX_PATH is 260 with the NUL, and a folder
# must leave room for an 8.3 file name in it (CreateDirectory's limit is 248).
LONG_PATH_FROM = 248
SEM_FAILCRITICALERRORS, SEM_NOOPENFILEERRORBOX = 0x0001, 0x8000
LABEL_CHARS = 261  # MAX_PATH + 1, what GetVolumeInformationW's documentation asks for
ATTACH_PARENT_PROCESS = -1
PROCESS_SYSTEM_DPI_AWARE = 1  # what IDLE asks for; Tk cannot redraw per monitor
FILE_ATTRIBUTE_REPARSE_POINT = 0x400
_EXTENDED, _EXTENDED_UNC = "\\\\?\\", "\\\\?\\UNC\\"


def _kernel32() -> Any:
    import ctypes
    from ctypes import wintypes

    k = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    # Handles are pointer-sized and EXECUTION_STATE is unsigned: left to ctypes' default (a C
    # int), a handle would be cut to 32 bits and a previous state read as a negative number.
    k.CreateJobObjectW.restype = wintypes.HANDLE
    k.CreateJobObjectW.argtypes = (ctypes.c_void_p, wintypes.LPCWSTR)
    k.SetInformationJobObject.argtypes = (
        wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD
    )  # fmt: skip
    k.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
    k.CloseHandle.argtypes = (wintypes.HANDLE,)
    k.SetThreadExecutionState.restype = ctypes.c_uint32
    k.SetThreadExecutionState.argtypes = (ctypes.c_uint32,)
    k.GetSystemPowerStatus.argtypes = (ctypes.POINTER(SystemPowerStatus),)
    return k


# ---- drive letters -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Volume:
    """A connected disk: where it is, what it is called, how big and how full."""

    root: Path
    label: str
    total: int  # bytes
    free: int  # bytes this user may still write
    removable: bool  # a USB stick or card; a USB hard disk reports as fixed


def drive_roots(kernel32: Any = None) -> list[Path]:
    """D:/ to Z:/ that exist and are local disks, in letter order.

    GetLogicalDrives lists letters without touching a drive, so an empty card reader is never
    asked for its (missing) disk; network letters are left out, since a share that is gone can
    hang a scan for half a minute."""
    return [Path(f"{letter}:/") for letter, _kind in _local_letters(kernel32 or _kernel32())]


def volumes(kernel32: Any = None) -> list[Volume]:
    """The disks of drive_roots that hold a disk now, with label, size and free space.

    GetVolumeInformationW gives the label and fails for an empty slot (call quiet_drive_errors
    first, or Windows asks for a disk); GetDiskFreeSpaceExW gives the size and free space."""
    import ctypes

    k = kernel32 or _kernel32()
    found = []
    for letter, kind in _local_letters(k):
        root = f"{letter}:\\"
        label = ctypes.create_unicode_buffer(LABEL_CHARS)
        if not k.GetVolumeInformationW(root, label, LABEL_CHARS, None, None, None, None, 0):
            continue  # no disk in it
        free, total = ctypes.c_ulonglong(0), ctypes.c_ulonglong(0)
        if not k.GetDiskFreeSpaceExW(root, ctypes.byref(free), ctypes.byref(total), None):
            continue
        removable = kind == DRIVE_REMOVABLE
        found.append(Volume(Path(f"{letter}:/"), label.value, total.value, free.value, removable))
    return found


def _local_letters(k: Any) -> list[tuple[str, int]]:
    present = int(k.GetLogicalDrives())
    letters = []
    for index, letter in enumerate(string.ascii_uppercase):
        if letter < FIRST_SCANNED_LETTER or not present & (1 << index):
            continue
        kind = int(k.GetDriveTypeW(f"{letter}:\\"))
        if kind in SCANNED_DRIVE_TYPES:
            letters.append((letter, kind))
    return letters


def quiet_drive_errors(kernel32: Any = None) -> None:
    """A slot with no disk in it must fail quietly, not pop up "There is no disk in the drive"."""
    k = kernel32 or _kernel32()
    wanted = SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX
    previous = int(k.SetErrorMode(wanted))  # returns the old mode: keep what was set before
    k.SetErrorMode(previous | wanted)


# ---- reparse points ------------------------------------------------------------------------------
def is_reparse_point(info: os.stat_result) -> bool:
    """A junction ("My Music" in Documents), a symbolic link or a cloud placeholder (OneDrive
    files kept online). Python reports a junction as a folder; only the attribute tells, and
    rdiff-backup leaves every reparse point out of a snapshot on Windows. Off Windows a stat
    carries no such attribute, and this is always False."""
    return bool(getattr(info, "st_file_attributes", 0) & FILE_ATTRIBUTE_REPARSE_POINT)


# ---- UNC and long paths --------------------------------------------------------------------------
def _slashes(text: str) -> str:
    return text.replace("\\", "/")


def unc_parts(path: str | PurePath) -> tuple[str, str, str] | None:
    """(server, share, rest) of `//server/share/rest` or `\\\\server\\share\\rest`, else None."""
    text = _slashes(str(path))
    if text.startswith("//?/UNC/"):
        text = "//" + text[len("//?/UNC/") :]
    if not text.startswith("//") or text.startswith(("//?/", "//./")):
        return None
    server, _, remainder = text[2:].partition("/")
    share, _, rest = remainder.partition("/")
    if not server or not share:
        return None
    return server, share, rest.strip("/")


def is_unc(path: str | PurePath) -> bool:
    return unc_parts(path) is not None


def display_path(path: str | PurePath, *, windows: bool = os.name == "nt") -> str:
    """A path the way the person writes it: backslashes on Windows, `\\\\nas\\share\\folder`."""
    text = str(path)
    if text.startswith(_EXTENDED_UNC):
        text = "\\\\" + text[len(_EXTENDED_UNC) :]
    elif text.startswith(_EXTENDED):
        text = text[len(_EXTENDED) :]
    parts = unc_parts(text)
    if parts is not None:
        server, share, rest = parts
        text = "//" + "/".join(p for p in (server, share, rest) if p)
    if not windows:
        return text
    return _slashes(text).replace("/", "\\")


def same_path(a: str | PurePath, b: str | PurePath, *, windows: bool = os.name == "nt") -> bool:
    """True if two spellings name one place: slashes either way, a trailing slash, and (on
    Windows) letter case do not matter."""

    def key(path: str | PurePath) -> str:
        text = display_path(path, windows=True).rstrip("\\")
        return text.casefold() if windows else text

    return key(a) == key(b)


def long_path(path: str | PurePath, *, windows: bool = os.name == "nt") -> str:
    """The path to hand to open()/os.* for a file MegaBackup reads or writes itself: with the
    `\\\\?\\` prefix once it is too long for plain Windows calls. Relative paths are returned as
    they are (the prefix needs a full path), and so is everything off Windows."""
    text = str(path)
    if not windows or len(text) < LONG_PATH_FROM or text.startswith(_EXTENDED):
        return text
    text = ntpath.normpath(text)  # the prefix turns off "/" -> "\" and ".." handling
    if is_unc(text):
        return _EXTENDED_UNC + text.lstrip("\\")
    if ntpath.isabs(text) and ntpath.splitdrive(text)[0]:
        return _EXTENDED + text
    return str(path)


def long_path_name(path: str | PurePath, kernel32: Any = None) -> str:
    """The long form of a path written with 8.3 short names (`C:/Users/ANDREW~1` ->
    `C:/Users/Andrew Smith`), as unison prints its roots (GetLongPathNameW); the path as given
    when Windows cannot tell (it does not exist, or this is not Windows)."""
    text = str(path)
    if kernel32 is None and os.name != "nt":
        return text
    import ctypes

    k = kernel32 or _kernel32()
    size = max(len(text) + 1, 260)
    for _attempt in range(2):  # a longer name than the buffer: asked again with its length
        buffer = ctypes.create_unicode_buffer(size)
        needed = int(k.GetLongPathNameW(text, buffer, size))
        if needed == 0:
            return text
        if needed < size:
            return buffer.value
        size = needed + 1
    return text


# ---- the default program -------------------------------------------------------------------------
def open_with_default_program(
    path: str | PurePath,
    *,
    edit: bool = False,
    startfile: Callable[..., None] | None = None,
    windows: bool = os.name == "nt",
) -> None:
    """Open a file or folder the way a double-click would. On Windows ShellExecute (no console,
    and the program is not our child, so it outlives the tray); a file type with no "edit" verb
    (often .toml) opens in Notepad instead. Elsewhere the desktop's opener (xdg-open, open).

    The one place besides tools/runner.py that starts a program: it hands a file to the
    person's own program and never waits for it or reads what it says."""
    if not windows:
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        subprocess.Popen(
            [opener, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return
    start = startfile or os.startfile  # type: ignore[attr-defined]
    target = display_path(path, windows=True)
    try:
        start(target, "edit" if edit else "open")
    except OSError:
        if not edit:
            raise
        start("notepad.exe", "open", f'"{target}"')


# ---- the registry Run key ------------------------------------------------------------------------
def _winreg() -> Any:
    import winreg

    return winreg


def run_key_read(name: str, winreg: Any = None) -> str | None:
    reg = winreg or _winreg()
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
            value, _kind = reg.QueryValueEx(key, name)
            return str(value)
    except FileNotFoundError:
        return None


def run_key_write(name: str, command: str, winreg: Any = None) -> None:
    reg = winreg or _winreg()
    with reg.CreateKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
        reg.SetValueEx(key, name, 0, reg.REG_SZ, command)


def run_key_delete(name: str, winreg: Any = None) -> None:
    reg = winreg or _winreg()
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.DeleteValue(key, name)
    except FileNotFoundError:
        pass


def startup_disabled(name: str, winreg: Any = None) -> bool:
    """Whether the person switched this Run entry off in Task Manager or Settings: its binary
    StartupApproved value starts with an odd byte (03; 02 is on), and Windows then skips it."""
    reg = winreg or _winreg()
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, STARTUP_APPROVED_KEY) as key:
            value, _kind = reg.QueryValueEx(key, name)
    except FileNotFoundError:
        return False
    return isinstance(value, bytes | bytearray) and len(value) > 0 and bool(value[0] & 1)


def startup_approved_clear(name: str, winreg: Any = None) -> None:
    """Forget Task Manager's switch for this entry, so Windows runs it again."""
    reg = winreg or _winreg()
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, STARTUP_APPROVED_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.DeleteValue(key, name)
    except FileNotFoundError:
        pass


# ---- long paths on or off ------------------------------------------------------------------------
def long_paths_enabled(winreg: Any = None, *, windows: bool = os.name == "nt") -> bool | None:
    """Whether Windows lets programs use paths over 260 characters (LongPathsEnabled, which
    rdiff-backup's Windows README asks for); None off Windows, where there is no such limit."""
    if not windows:
        return None
    reg = winreg or _winreg()
    try:
        with reg.OpenKey(reg.HKEY_LOCAL_MACHINE, FILE_SYSTEM_KEY) as key:
            value, _kind = reg.QueryValueEx(key, "LongPathsEnabled")
    except OSError:  # no such value: the default, off
        return False
    return value == 1


# ---- sharp windows at any display scaling -------------------------------------------------------
def make_dpi_aware(
    shcore: Any = None, user32: Any = None, *, windows: bool = os.name == "nt"
) -> bool:
    """Tell Windows that this process draws its windows for the display's scaling itself, so
    it does not stretch them blurred (SetProcessDpiAwareness, as IDLE does; Windows 7 has only
    SetProcessDPIAware). Call it before the first window. True when Windows took it (or had
    it already); False off Windows."""
    if not windows:
        return False
    import ctypes

    try:
        (shcore or ctypes.OleDLL("shcore")).SetProcessDpiAwareness(PROCESS_SYSTEM_DPI_AWARE)
        return True
    except (OSError, AttributeError):  # set already (E_ACCESSDENIED), or no shcore (Windows 7)
        pass
    try:
        return bool((user32 or ctypes.WinDLL("user32")).SetProcessDPIAware())  # type: ignore[attr-defined]
    except (OSError, AttributeError):
        return False


# ---- a console for the windowed exe --------------------------------------------------------------
ProcessParent = Callable[[int], "tuple[int, str] | None"]  # pid -> (its parent's pid, exe path)


def parent_console(
    kernel32: Any = None,
    opener: Callable[..., TextIO] = open,
    parent_of: ProcessParent | None = None,
) -> TextIO | None:
    """The console of the program that started us (cmd, PowerShell), for a windowed exe that has
    none of its own; None when started from Explorer, the Run key or another program.

    A one-file exe is two processes: its bootloader, which in a windowed build has no console
    and never attaches to one (PyInstaller's pyi_utils_win32.c), starts this one. So when our
    parent is our own exe, the console to print to is the bootloader's parent's."""
    k = kernel32 or _kernel32()
    for owner in console_owners(os.getpid(), sys.executable, parent_of or _parent_process):
        if k.AttachConsole(owner):
            try:
                return opener("CONOUT$", "w", encoding="utf-8", errors="replace", buffering=1)
            except OSError:
                return None
    return None


def console_owners(pid: int, executable: str, parent_of: ProcessParent) -> list[int]:
    """Whose console to try, nearest first: our parent's; then, when that parent is our own exe
    (the one-file bootloader), its parent's."""
    owners = [ATTACH_PARENT_PROCESS]
    parent = parent_of(pid)
    if parent is None or not _same_file(parent[1], executable):
        return owners
    grandparent = parent_of(parent[0])
    if grandparent is not None:
        owners.append(grandparent[0])
    return owners


def _same_file(a: str, b: str) -> bool:
    return bool(a) and ntpath.normcase(a) == ntpath.normcase(b)


def _parent_process(pid: int) -> tuple[int, str] | None:
    import psutil

    try:
        parent = psutil.Process(psutil.Process(pid).ppid())
        return parent.pid, parent.exe()
    except (psutil.Error, OSError):
        return None


# ---- children that end with us -------------------------------------------------------------------
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9  # the JOBOBJECTINFOCLASS value
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000


class _BasicLimitInformation(ctypes.Structure):
    _fields_ = (
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),  # ULONG_PTR
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    )


class _IoCounters(ctypes.Structure):
    _fields_ = tuple(
        (name, ctypes.c_uint64)
        for name in (
            "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
            "ReadTransferCount", "WriteTransferCount", "OtherTransferCount",
        )
    )  # fmt: skip


class ExtendedLimitInformation(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION, laid out as in winnt.h."""

    _fields_ = (
        ("BasicLimitInformation", _BasicLimitInformation),
        ("IoInfo", _IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    )


def job_that_ends_with_us(kernel32: Any = None) -> int | None:
    """A job object whose processes all end when its last handle closes. Only this process
    holds that handle and never closes it, so Windows closes it when this process ends, however
    it ends. None if Windows refused (the tools then simply outlive a crash, as before)."""
    k = kernel32 or _kernel32()
    job = k.CreateJobObjectW(None, None)
    if not job:
        return None
    limits = ExtendedLimitInformation()
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    information = JOB_OBJECT_EXTENDED_LIMIT_INFORMATION
    if not k.SetInformationJobObject(job, information, ctypes.byref(limits), ctypes.sizeof(limits)):
        k.CloseHandle(job)
        return None
    return int(job)


def put_in_job(job: int, process_handle: int, kernel32: Any = None) -> bool:
    """Add a started child to the job; the children it starts afterwards join it by themselves
    (the one-file exe's second process among them)."""
    k = kernel32 or _kernel32()
    return bool(k.AssignProcessToJobObject(job, process_handle))


# ---- staying awake, and power ---------------------------------------------------------------
ES_CONTINUOUS, ES_SYSTEM_REQUIRED = 0x80000000, 0x00000001
AC_OFFLINE, BATTERY_FLAG_NO_BATTERY = 0, 128


def stay_awake(awake: bool, kernel32: Any = None) -> bool:
    """Keep the PC from sleeping (True) or let it sleep again (False). The request belongs to
    the calling thread (SetThreadExecutionState): the thread that asked must also let go."""
    k = kernel32 or _kernel32()
    flags = ES_CONTINUOUS | (ES_SYSTEM_REQUIRED if awake else 0)
    return bool(k.SetThreadExecutionState(flags))  # 0: refused


class SystemPowerStatus(ctypes.Structure):
    """SYSTEM_POWER_STATUS, as GetSystemPowerStatus fills it."""

    _fields_ = (
        ("ACLineStatus", ctypes.c_ubyte),  # 0 offline, 1 online, 255 unknown
        ("BatteryFlag", ctypes.c_ubyte),  # 128: no system battery
        ("BatteryLifePercent", ctypes.c_ubyte),
        ("SystemStatusFlag", ctypes.c_ubyte),
        ("BatteryLifeTime", ctypes.c_uint32),
        ("BatteryFullLifeTime", ctypes.c_uint32),
    )


def on_battery(kernel32: Any = None) -> bool:
    """True only when Windows says the mains are off and a battery is there; unknown is not
    battery (a desktop PC reports no battery, a doubtful laptop should still be backed up)."""
    k = kernel32 or _kernel32()
    status = SystemPowerStatus()
    if not k.GetSystemPowerStatus(ctypes.byref(status)):
        return False
    no_battery = status.BatteryFlag != 255 and bool(status.BatteryFlag & BATTERY_FLAG_NO_BATTERY)
    return status.ACLineStatus == AC_OFFLINE and not no_battery
