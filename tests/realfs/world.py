"""A world where MegaBackup's places live on real filesystems, as on a user's machine.

- server home and server data: folders of a Samba share (smbd on 127.0.0.1, guest) mounted
  through FUSE with smbnetfs, so every access is a real SMB round trip;
- desktop backup and the USB drive: NTFS images mounted with ntfs-3g (`windows_names`);
- optionally an exFAT drive (exfat-fuse on a loop device), also usable as the external drive;
- desktop home and MegaBackup's own state: plain folders on the local disk (ext4).

MegaBackup is driven only through its command line, in a subprocess, so the world does not
depend on the package's inner layout.

Use it from pytest (tests/realfs/conftest.py) or by hand:

    python tests/realfs/world.py up DIR [--exfat] [--external exfat]   # until Ctrl+C
    python tests/realfs/world.py down DIR        # take down a world left behind by a crash
    python tests/realfs/world.py cleanup         # the same for the world named in the lock file

What smbnetfs does that a Windows client would not (seen here, Debian 12, smbnetfs 0.6.3):
- a lookup of a name Windows refuses (`c:d.txt`) fails with EIO instead of EINVAL, and makes
  every call on the share fail with EIO for about 3 s (see World.wait_for_share);
- times it sets are cut to whole seconds (it reads 100 ns times), and now and then a time set
  right after a file was written is overwritten by that write (probably because FUSE
  releases files asynchronously): unison then says "Failed to set modification time";
- chmod and symlink fail with EIO; the share's root folder reports mtime 1970-01-01;
- listing a file's extended attributes fails with EIO and starts the same 3 s of EIO
  (`cp -a` stops there; rdiff-backup and unison get by);
- rdiff-backup cannot keep a repository on the share (its lock file's truncate fails with EIO),
  and its tests of a restore target there end in the 3 s of EIO: a restore into the share
  fails (MegaBackup says so and leaves nothing behind);
- FUSE's caching makes a deleted file linger, as on exfat-fuse: rdiff-backup would refuse the
  share as a target for that too.

smbnetfs cannot be told a port (libsmbclient ignores `smb ports` in its smb.conf and always
tries 445, then 139), so smbd must listen on 127.0.0.1:445 and only one world can exist on a
machine at a time: a file lock shared by every checkout serializes them.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP_SOURCE = REPO / "app"
SHARE_HOST = "127.0.0.1"
SMB_PORT = 445
SHARES = ("home", "data")
DRIVE_NAME = "MegaBackup"
DRIVE_MARKER = ".megabackup-drive"  # the file init-drive writes; the cycle finds the drive by it
LOCK_FILE = Path(os.environ.get("MEGABACKUP_REALFS_LOCK", "/tmp/megabackup-realfs.lock"))
# sbin holds smbd, mkfs.* and losetup; a non-login PATH often lacks it
TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

BASE_TOOLS = {
    "smbd": "samba",
    "smbnetfs": "smbnetfs",
    "fusermount": "fuse3 or fuse",
    "mkfs.ntfs": "ntfs-3g",
    "ntfs-3g": "ntfs-3g",
    "truncate": "coreutils",
    "umount": "mount",
}
EXFAT_TOOLS = {
    "mkfs.exfat": "exfatprogs",
    "mount.exfat-fuse": "exfat-fuse",
    "losetup": "mount",
}


class WorldError(RuntimeError):
    """The world could not be built or taken down; the message says which step and why."""


def tool(name: str) -> str | None:
    return shutil.which(name, path=TOOL_PATH)


def missing_requirements(exfat: bool = False) -> str | None:
    """Why this machine cannot build the world, or None if it can."""
    if sys.platform != "linux":
        return f"the real-filesystems world needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the real-filesystems world needs root (smbd on port 445, losetup, FUSE mounts)"
    if not Path("/dev/fuse").exists():
        return "/dev/fuse is missing: no FUSE here (smbnetfs, ntfs-3g and exfat-fuse need it)"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse cannot be opened for reading and writing"
    tools = {**BASE_TOOLS, **(EXFAT_TOOLS if exfat else {})}
    for name, package in tools.items():
        if tool(name) is None:
            return f"{name} is not installed (Debian package: {package})"
    if exfat and not Path("/dev/loop-control").exists():
        return "/dev/loop-control is missing: no loop devices here (exfat-fuse needs one)"
    return None


# ---------------------------------------------------------------------------
# Processes and mounts


def _run(argv: Sequence[str], timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """Run a set-up command; fail with its own words if it fails."""
    env = kwargs.pop("env", None) or {**os.environ, "PATH": TOOL_PATH}
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=env,
            **kwargs,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WorldError(f"{' '.join(argv)}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr + done.stdout).strip()
        raise WorldError(f"{' '.join(argv)} failed (exit {done.returncode}): {output}")
    return done


def _unescape_mount_field(text: str) -> str:
    # /proc/mounts writes space, tab, newline and backslash as octal escapes
    for escape, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escape, char)
    return text


def mounted_points() -> dict[str, str]:
    """Every mount point now, with its filesystem type."""
    points: dict[str, str] = {}
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) >= 3:
                points[_unescape_mount_field(fields[1])] = fields[2]
    return points


def is_mounted(path: Path) -> bool:
    return str(path) in mounted_points()


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (an unreaped child holds nothing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# the daemons a world starts (comm is cut at 15 characters); nothing else is ever stopped
DAEMON_NAMES = ("smbd", "smbnetfs", "ntfs-3g", "mount.exfat-fus")


def daemons_with_arg(*wanted: str) -> list[int]:
    """Live daemons of ours started with one of `wanted` as an argument (our private paths)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text(encoding="utf-8").strip()
            args = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        pid = int(entry.name)
        if name.startswith(DAEMON_NAMES) and any(a in wanted for a in args) and pid_alive(pid):
            found.append(pid)
    return found


def _wait(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def stop_processes(pids: Sequence[int], grace: float = 5) -> list[int]:
    """SIGTERM, then SIGKILL whatever is left; returns the pids that would not die."""
    alive = [p for p in pids if pid_alive(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        _wait(lambda pids=tuple(alive): not any(pid_alive(p) for p in pids), grace)
        alive = [p for p in alive if pid_alive(p)]
        if not alive:
            break
    return alive


def unmount(mountpoint: Path) -> None:
    """Unmount a FUSE mount and make sure its daemon is gone; lazy unmount if it is busy."""
    daemons = daemons_with_arg(str(mountpoint))
    if is_mounted(mountpoint):
        attempts = [["fusermount", "-u"], ["fusermount", "-uz"], ["umount", "-l"]]
        for attempt in attempts:
            done = subprocess.run(
                [tool(attempt[0]) or attempt[0], *attempt[1:], str(mountpoint)],
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
            )
            if done.returncode == 0 and _wait(lambda: not is_mounted(mountpoint), 5):
                break
    # a daemon left behind would keep the image or the loop device busy
    _wait(lambda: not any(pid_alive(p) for p in daemons), 5)
    stubborn = stop_processes(sorted({*daemons, *daemons_with_arg(str(mountpoint))}))
    problems = []
    if is_mounted(mountpoint):
        problems.append("still mounted")
    if stubborn:
        problems.append(f"processes {stubborn} would not stop")
    if problems:
        raise WorldError(f"{mountpoint}: {', '.join(problems)}")


def loop_devices_of(image: Path) -> list[str]:
    done = subprocess.run(
        [tool("losetup") or "losetup", "-j", str(image)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return [line.split(":", 1)[0] for line in done.stdout.splitlines() if line.strip()]


def detach_loop(image: Path) -> None:
    """Detach every loop device backed by this image (and only those)."""
    for device in loop_devices_of(image):
        _run([tool("losetup") or "losetup", "-d", device])
    if not _wait(lambda: not loop_devices_of(image), 5):
        raise WorldError(f"{image}: loop device(s) {loop_devices_of(image)} still attached")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


# ---------------------------------------------------------------------------
# One world at a time


class WorldLock:
    """An exclusive flock on a file every checkout shares; it also names the world that holds it,
    so a world left behind by a killed process can be taken down by the next one."""

    def __init__(self, path: Path = LOCK_FILE) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, root: Path, timeout: float = 300) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_json_fd(fd)
                    os.close(fd)
                    raise WorldError(
                        f"another real-filesystems world holds {self.path} "
                        f"(pid {holder.get('pid')}, {holder.get('root')}); only one can use "
                        f"port {SMB_PORT} at a time"
                    ) from None
                time.sleep(0.5)
        self._fd = fd
        left_behind = _read_json_fd(fd).get("root")
        if left_behind and Path(left_behind) != root:
            take_down_recorded(Path(left_behind))  # its owner died: its flock is gone
        _write_json_fd(fd, {"pid": os.getpid(), "root": str(root)})

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            _write_json_fd(self._fd, {})
        os.close(self._fd)  # closing drops the flock
        self._fd = None


def _read_json_fd(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        data = json.loads(os.read(fd, 65536).decode("utf-8") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _write_json_fd(fd: int, data: dict) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(data).encode("utf-8"))
    os.fsync(fd)


def take_down_recorded(root: Path) -> list[str]:
    """Take down what a world's record says it built; returns the problems (empty: all gone)."""
    record = Record.load(root)
    return record.take_down() if record else []


# ---------------------------------------------------------------------------
# What a world has built, written down as it goes so a crash can be cleaned up


@dataclass
class Record:
    root: Path
    mounts: list[str] = field(default_factory=list)  # mount points, in mounting order
    loops: list[str] = field(default_factory=list)  # images attached to loop devices
    smbd_pid_file: str = ""
    smbd_conf: str = ""
    sockets: str = ""  # Samba's short-path folder for its sockets and state (see _build_share)

    @property
    def file(self) -> Path:
        return self.root / "world.json"

    @classmethod
    def load(cls, root: Path) -> Record | None:
        try:
            data = json.loads((root / "world.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(
            root,
            list(data.get("mounts", [])),
            list(data.get("loops", [])),
            str(data.get("smbd_pid_file", "")),
            str(data.get("smbd_conf", "")),
            str(data.get("sockets", "")),
        )

    def save(self) -> None:
        data = {
            "mounts": self.mounts,
            "loops": self.loops,
            "smbd_pid_file": self.smbd_pid_file,
            "smbd_conf": self.smbd_conf,
            "sockets": self.sockets,
        }
        temporary = self.file.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, self.file)

    def take_down(self) -> list[str]:
        """Every step is tried, whatever fails before it; the problems are returned."""
        problems: list[str] = []
        for mountpoint in reversed(list(self.mounts)):
            try:
                unmount(Path(mountpoint))
                self.mounts.remove(mountpoint)
            except (WorldError, OSError, subprocess.SubprocessError) as exc:
                problems.append(str(exc))
        for image in list(self.loops):
            try:
                detach_loop(Path(image))
                self.loops.remove(image)
            except (WorldError, OSError, subprocess.SubprocessError) as exc:
                problems.append(str(exc))
        if self.smbd_conf:
            try:
                stop_smbd(Path(self.smbd_pid_file), Path(self.smbd_conf))
                self.smbd_conf = self.smbd_pid_file = ""
            except (WorldError, OSError) as exc:
                problems.append(str(exc))
        if self.sockets and not self.smbd_conf:
            shutil.rmtree(self.sockets, ignore_errors=True)  # ours alone: smbd is gone
            self.sockets = ""
        with contextlib.suppress(OSError):
            self.save()
        return problems


def stop_smbd(pid_file: Path, conf: Path) -> None:
    pids = []
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        if _comm(pid).startswith("smbd"):  # not a stranger that got a recycled pid
            pids.append(pid)
    # its children (one per client, notifyd, cleanupd) carry the same private config path
    pids += [p for p in daemons_with_arg(str(conf)) if p not in pids]
    stubborn = stop_processes(pids, grace=10)
    if stubborn:
        raise WorldError(f"smbd processes {stubborn} would not stop")


# ---------------------------------------------------------------------------
# The world


@dataclass
class World:
    """The places on real filesystems, and MegaBackup's command line to run on them.

    `root` must be a new or empty folder on a local disk. `size` is the size of each disk image
    (truncate's syntax). `exfat` adds an exFAT drive at `exfat_mount`; `external="exfat"` makes
    it the external drive in the settings (rdiff-backup is expected to refuse it).
    """

    root: Path
    size: str = "256M"
    exfat: bool = False
    external: str = "ntfs"  # "ntfs": the USB NTFS image; "exfat": the exFAT drive
    home_folders: tuple[str, ...] = ("Documents", "Pictures")
    data_folders: tuple[str, ...] = ()  # [] = all of server data
    lock_timeout: float = 300
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root).absolute()
        if self.external not in ("ntfs", "exfat"):
            raise ValueError(f"external must be 'ntfs' or 'exfat', not {self.external!r}")
        if self.external == "exfat":
            self.exfat = True
        self._lock = WorldLock()
        self._record = Record(self.root)
        self._built = False

    # -- the paths a test uses --------------------------------------------------------

    @property
    def desktop_home(self) -> Path:
        return self.root / "desktop" / "home"

    @property
    def share_mount(self) -> Path:
        return self.root / "mnt" / "share"

    def share(self, name: str) -> Path:
        """A share as the client sees it: through smbnetfs."""
        return self.share_mount / SHARE_HOST / name

    @property
    def server_home(self) -> Path:
        return self.share("home")

    @property
    def server_data(self) -> Path:
        return self.share("data")

    def server_disk(self, name: str) -> Path:
        """The folder smbd serves, on the server's own disk (bypasses SMB: for checking only)."""
        return self.root / "server" / name

    @property
    def backup_mount(self) -> Path:
        return self.root / "mnt" / "desktop-backup"

    @property
    def desktop_backup(self) -> Path:
        return self.backup_mount / "LocalBackup"

    @property
    def usb_mount(self) -> Path:
        return self.root / "mnt" / "usb"

    @property
    def exfat_mount(self) -> Path:
        return self.root / "mnt" / "exfat"

    @property
    def drive(self) -> Path:
        """The external drive's folder (marker inside; repositories home/ and data/ beside it)."""
        mount = self.exfat_mount if self.external == "exfat" else self.usb_mount
        return mount / DRIVE_NAME

    @property
    def state(self) -> Path:
        """MEGABACKUP_HOME: history, logs, unison archives."""
        return self.root / "state"

    @property
    def settings(self) -> Path:
        return self.root / "settings.toml"

    @property
    def samba_dir(self) -> Path:
        return self.root / "samba"

    @property
    def smbd_pid_file(self) -> Path:
        return Path(self._record.smbd_pid_file)

    def image(self, name: str) -> Path:
        return self.root / "images" / f"{name}.img"

    def wait_for_share(self, timeout: float = 15) -> None:
        """Wait until both shares answer again.

        smbnetfs restarts its worker for a server whenever it is asked about a name Windows
        refuses (`c:d.txt`, `*`); for about 3 s after that every call on the share fails with
        EIO. A test that provokes this waits here before it looks at the share again.
        """
        for share in SHARES:
            if not _wait(lambda s=share: _listable(self.share(s)), timeout, 0.25):
                raise WorldError(f"{self.share(share)} still fails after {timeout} s")

    def mountpoints(self) -> list[Path]:
        points = [self.share_mount, self.backup_mount, self.usb_mount]
        return [*points, self.exfat_mount] if self.exfat else points

    # -- building and taking down ------------------------------------------------------

    def __enter__(self) -> World:
        return self.build()

    def __exit__(self, *exc_info: object) -> None:
        self.teardown()

    def build(self) -> World:
        """Build the whole world; on any failure (even Ctrl+C) take down what was built."""
        reason = missing_requirements(self.exfat)
        if reason:
            raise WorldError(reason)
        if self.root.exists() and any(self.root.iterdir()):
            raise WorldError(f"{self.root} is not empty; a world needs a new folder")
        started = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock.acquire(self.root, self.lock_timeout)
        try:
            self._record.save()
            self._timed("share", self._build_share)
            self._timed("desktop backup (NTFS)", lambda: self._build_ntfs("desktop-backup"))
            self._timed("usb drive (NTFS)", lambda: self._build_ntfs("usb"))
            if self.exfat:
                self._timed("exfat drive", self._build_exfat)
            self._timed("places and settings", self._build_places)
        except BaseException:
            self.teardown()
            raise
        self._built = True
        self.timings["build"] = time.monotonic() - started
        return self

    def teardown(self) -> None:
        """Unmount everything, detach the loop device, stop smbd; idempotent.

        Every step is tried even if one before it fails; the failures are raised together at
        the end so a leak is never silent.
        """
        started = time.monotonic()
        try:
            problems = self._record.take_down()
            leftovers = [str(p) for p in self.mountpoints() if is_mounted(p)]
            if leftovers:
                problems.append(f"still mounted: {leftovers}")
            ours = [str(p) for p in self.mountpoints()] + [str(self.samba_dir / "smb.conf")]
            running = daemons_with_arg(*ours)
            if running:
                problems.append(f"processes still using the world: {running}")
        finally:
            self._lock.release()
            self._built = False
            self.timings["teardown"] = time.monotonic() - started
        if problems:
            raise WorldError("taking down the world: " + "; ".join(problems))

    def _timed(self, name: str, build: Callable[[], None]) -> None:
        started = time.monotonic()
        build()
        self.timings[name] = time.monotonic() - started

    def _build_share(self) -> None:
        if port_in_use(SHARE_HOST, SMB_PORT):
            raise WorldError(
                f"{SHARE_HOST}:{SMB_PORT} is taken by another process (a system smbd?); "
                "smbnetfs can only reach a share on that port"
            )
        samba = self.samba_dir
        # smbd's and libsmbclient's sockets live in these folders, and a socket's path must fit
        # in 108 bytes: under a deep root (past about 85 characters) smbd exits 1 saying nothing
        self._record.sockets = tempfile.mkdtemp(prefix="megabackup-smb-", dir="/tmp")
        self._record.save()
        short = Path(self._record.sockets)
        dirs = {n: short / n for n in ("run", "lock", "state", "cache", "private")}
        dirs["log"] = samba / "log"
        for folder in [*dirs.values(), *(self.server_disk(s) for s in SHARES)]:
            folder.mkdir(parents=True, exist_ok=True)
        conf = samba / "smb.conf"
        private_dirs = [
            f"pid directory = {dirs['run']}",
            f"lock directory = {dirs['lock']}",
            f"state directory = {dirs['state']}",
            f"cache directory = {dirs['cache']}",
            f"private dir = {dirs['private']}",
            f"ncalrpc dir = {dirs['run'] / 'ncalrpc'}",
        ]
        shares = []
        for share in SHARES:
            shares += [
                f"[{share}]",
                f"path = {self.server_disk(share)}",
                "read only = no",
                "guest ok = yes",
                "force user = root",
            ]
        conf.write_text(
            "\n".join(
                [
                    "[global]",
                    "workgroup = WORKGROUP",
                    "interfaces = lo",
                    "bind interfaces only = yes",
                    f"smb ports = {SMB_PORT}",
                    "disable netbios = yes",
                    "map to guest = Bad User",
                    "guest account = root",
                    *private_dirs,
                    f"log file = {dirs['log'] / 'smbd.log'}",
                    "load printers = no",
                    "printing = bsd",
                    "printcap name = /dev/null",
                    "disable spoolss = yes",
                    *shares,
                    "",
                ]
            ),
            encoding="utf-8",
        )
        self._record.smbd_conf = str(conf)
        self._record.smbd_pid_file = str(dirs["run"] / "smbd.pid")
        self._record.save()
        _run([tool("smbd") or "smbd", "-s", str(conf), "-D"])
        if not _wait(lambda: port_in_use(SHARE_HOST, SMB_PORT), 15):
            log = (dirs["log"] / "smbd.log").read_text(errors="replace")[-2000:]
            raise WorldError(f"smbd did not start listening on {SMB_PORT}: {log}")
        self._mount_share(dirs)

    def _mount_share(self, dirs: dict[str, Path]) -> None:
        # smbnetfs reads $HOME/.smb: a private HOME keeps root's real one untouched
        client_home = self.samba_dir / "client-home"
        config = client_home / ".smb"
        config.mkdir(parents=True, exist_ok=True)
        (config / "smbnetfs.conf").write_text(
            f'host {SHARE_HOST} WORKGROUP visible=true\nauth "guest" ""\n', encoding="utf-8"
        )
        # libsmbclient would otherwise keep its gencache in the system's /run/samba
        client_dirs = dirs["cache"] / "client"
        client_dirs.mkdir(exist_ok=True)
        (config / "smb.conf").write_text(
            "[global]\n"
            f"cache directory = {client_dirs}\n"
            f"lock directory = {client_dirs}\n"
            f"state directory = {client_dirs}\n",
            encoding="utf-8",
        )
        for name in ("smbnetfs.conf", "smb.conf"):
            (config / name).chmod(0o600)  # smbnetfs ignores a config others could read
        self.share_mount.mkdir(parents=True, exist_ok=True)
        self._record.mounts.append(str(self.share_mount))
        self._record.save()
        options = [
            f"log_file={dirs['log'] / 'smbnetfs.log'}",
            "use_libsecret=false",
            "smb_query_browsers=false",  # no NetBIOS browsing of the real network
        ]
        env = {**os.environ, "PATH": TOOL_PATH, "HOME": str(client_home)}
        _run([tool("smbnetfs") or "smbnetfs", str(self.share_mount), "-o", ",".join(options)],
             env=env)  # fmt: skip
        for share in SHARES:
            if not _wait(lambda s=share: _listable(self.share(s)), 15, 0.25):
                raise WorldError(f"{self.share(share)} did not become readable through smbnetfs")

    def _build_ntfs(self, name: str) -> None:
        image = self.image(name)
        image.parent.mkdir(parents=True, exist_ok=True)
        _run(["truncate", "-s", self.size, str(image)])
        _run([tool("mkfs.ntfs") or "mkfs.ntfs", "-F", "-q", "-L", name, str(image)])
        mountpoint = self.root / "mnt" / name
        mountpoint.mkdir(parents=True, exist_ok=True)
        self._record.mounts.append(str(mountpoint))
        self._record.save()
        _run([tool("ntfs-3g") or "ntfs-3g", "-o", "windows_names", str(image), str(mountpoint)])
        if not is_mounted(mountpoint):
            raise WorldError(f"ntfs-3g returned but {mountpoint} is not mounted")

    def _build_exfat(self) -> None:
        image = self.image("exfat")
        image.parent.mkdir(parents=True, exist_ok=True)
        _run(["truncate", "-s", self.size, str(image)])
        _run([tool("mkfs.exfat") or "mkfs.exfat", "-L", "EXFAT", str(image)])
        self._record.loops.append(str(image))
        self._record.save()
        # exfat-fuse refuses a plain file ("Block device required")
        device = _run([tool("losetup") or "losetup", "-f", "--show", str(image)]).stdout.strip()
        self.exfat_mount.mkdir(parents=True, exist_ok=True)
        self._record.mounts.append(str(self.exfat_mount))
        self._record.save()
        _run([tool("mount.exfat-fuse") or "mount.exfat-fuse", device, str(self.exfat_mount)])
        if not is_mounted(self.exfat_mount):
            raise WorldError(f"mount.exfat-fuse returned but {self.exfat_mount} is not mounted")

    def _build_places(self) -> None:
        for folder in self.home_folders:
            (self.desktop_home / folder).mkdir(parents=True, exist_ok=True)
        self.desktop_backup.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        self.write_settings()
        if self.external == "exfat":
            # init-drive refuses an exFAT drive read through FUSE (rdiff-backup would refuse
            # it); a drive prepared on Windows, whose own exFAT driver passes, carries the
            # marker all the same
            self.drive.mkdir()
            marker = {"name": DRIVE_NAME, "about": "written by the test world"}
            (self.drive / DRIVE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
            return
        done = self.megabackup("init-drive", self.drive.as_posix(), "--name", DRIVE_NAME)
        if done.returncode != 0:
            raise WorldError(f"megabackup init-drive failed: {done.stderr or done.stdout}")

    def write_settings(self, **sections: dict[str, object]) -> Path:
        """Write settings.toml for the world's places; `sections` overrides or adds keys,
        e.g. write_settings(safety={"conflicts": "skip"})."""
        content: dict[str, dict[str, object]] = {
            "desktop": {
                "home": self.desktop_home.as_posix(),
                "backup": self.desktop_backup.as_posix(),
            },
            "server": {"home": self.server_home.as_posix(), "data": self.server_data.as_posix()},
            "external": {"name": DRIVE_NAME, "path": self.drive.as_posix()},
            "folders": {"home": list(self.home_folders), "data": list(self.data_folders)},
            "safety": {"conflicts": "keep-both"},
        }
        for section, values in sections.items():
            content.setdefault(section, {}).update(values)
        lines = ["# Written by tests/realfs/world.py for a world on real filesystems."]
        for section, values in content.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        self.settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.settings

    # -- MegaBackup's command line ------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # this checkout's code, never an editable install of another one
        env["PYTHONPATH"] = os.pathsep.join(
            [str(APP_SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env["MEGABACKUP_HOME"] = str(self.state)
        return env

    def argv(self, *args: str) -> list[str]:
        """`python -m megabackup ARGS`; --settings is added for the commands that take it."""
        argv = [sys.executable, "-m", "megabackup", *args]
        if args and args[0] != "init-drive" and "--settings" not in args:
            argv += ["--settings", str(self.settings)]
        return argv

    def megabackup(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=self.environment(),
            cwd=self.root,
        )

    def run_cycle(self, *options: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return self.megabackup("run", *options, timeout=timeout)


def contents(root: Path) -> dict[str, str]:
    """Every file under root (relative path -> text): what a test compares across places."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = path.read_text(encoding="utf-8")
    return found


def _listable(path: Path) -> bool:
    try:
        next(path.iterdir(), None)
    except OSError:
        return False
    return True


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


# ---------------------------------------------------------------------------
# By hand


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build a world and keep it until Ctrl+C or SIGTERM")
    up.add_argument("root", type=Path)
    up.add_argument("--size", default="256M")
    up.add_argument("--exfat", action="store_true")
    up.add_argument("--external", choices=("ntfs", "exfat"), default="ntfs")
    down = commands.add_parser("down", help="take down a world from its world.json")
    down.add_argument("root", type=Path)
    commands.add_parser("cleanup", help="take down the world named in the lock file, if orphaned")
    args = parser.parse_args(argv)
    if args.command == "up":
        world = World(args.root, size=args.size, exfat=args.exfat, external=args.external)
        signal.signal(signal.SIGTERM, _interrupt)  # `kill PID` takes it down like Ctrl+C
        with world:
            print(json.dumps(_describe(world), indent=1), flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
        print(f"taken down in {world.timings['teardown']:.1f} s", flush=True)
        return 0
    if args.command == "down":
        problems = take_down_recorded(args.root.absolute())
    else:
        lock = WorldLock()
        try:
            lock.acquire(Path("/"), timeout=0)  # succeeds only if no live world holds it
        except WorldError as exc:
            print(exc, file=sys.stderr)
            return 1
        lock.release()
        problems = []
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _describe(world: World) -> dict[str, object]:
    return {
        "desktop_home": str(world.desktop_home),
        "desktop_backup": str(world.desktop_backup),
        "server_home": str(world.server_home),
        "server_data": str(world.server_data),
        "drive": str(world.drive),
        "state": str(world.state),
        "settings": str(world.settings),
        "env": f"PYTHONPATH={APP_SOURCE} MEGABACKUP_HOME={world.state}",
        "timings": {k: round(v, 2) for k, v in world.timings.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
