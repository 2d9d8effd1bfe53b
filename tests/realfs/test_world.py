"""The real-filesystems world is what it claims, leaves nothing behind, and carries a cycle."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from .conftest import skip_unless_possible
from .world import (
    World,
    WorldError,
    daemons_with_arg,
    loop_devices_of,
    mounted_points,
    pid_alive,
)


def _leftovers(world: World, smbd_pid: int | None) -> list[str]:
    found = []
    mounted = mounted_points()
    found += [f"{p} is mounted" for p in world.mountpoints() if str(p) in mounted]
    found += [f"{world.image('exfat')} on {d}" for d in loop_devices_of(world.image("exfat"))]
    if smbd_pid is not None and pid_alive(smbd_pid):
        found.append(f"smbd {smbd_pid} is running")
    ours = [*(str(p) for p in world.mountpoints()), str(world.samba_dir / "smb.conf")]
    found += [f"process {pid} is running" for pid in daemons_with_arg(*ours)]
    return found


def test_the_world_has_windows_semantics_and_leaves_nothing_behind(tmp_path: Path) -> None:
    options = {"exfat": True}
    skip_unless_possible(options)
    world = World(tmp_path / "world", exfat=True)
    with world:
        smbd_pid = int(world.smbd_pid_file.read_text())
        sockets = world.smbd_pid_file.parent.parent
        # the share: case-insensitive and case-preserving, like a Windows or NAS share
        (world.server_home / "Docs").mkdir()
        (world.server_home / "Docs" / "Report.txt").write_text("quarterly\n")
        assert (world.server_home / "docs" / "report.txt").read_text() == "quarterly\n"
        assert sorted(p.name for p in world.server_home.iterdir()) == ["Docs"]
        assert (world.server_disk("home") / "Docs" / "Report.txt").is_file()
        # NTFS with windows_names refuses what Windows refuses
        with pytest.raises(OSError) as refused:
            (world.usb_mount / "a:b.txt").write_text("x")
        assert refused.value.errno == errno.EINVAL
        # exFAT: case-insensitive
        (world.exfat_mount / "Ab.txt").write_text("exfat\n")
        assert (world.exfat_mount / "ab.txt").read_text() == "exfat\n"
        assert _leftovers(world, smbd_pid) != []  # the check below can see a live world
    assert _leftovers(world, smbd_pid) == []
    assert not sockets.exists(), "Samba's short-path folder is removed too"
    assert world.timings["teardown"] < 30


def test_a_build_that_fails_half_way_takes_down_what_it_built(tmp_path: Path) -> None:
    skip_unless_possible({})
    # the share mounts, then mkfs.ntfs refuses a 1 MB image
    world = World(tmp_path / "world", size="1M")
    with pytest.raises(WorldError, match=r"mkfs\.ntfs"):
        world.build()
    assert (world.share_mount / "127.0.0.1").exists() is False
    assert _leftovers(world, None) == []
    # and the lock is free again: the next world builds
    with World(tmp_path / "next") as again:
        assert again.server_home.is_dir()


def _seed(world: World) -> None:
    (world.desktop_home / "Documents" / "notes.txt").write_text("Shopping list: milk.\n")
    (world.server_home / "Documents").mkdir()
    (world.server_home / "Documents" / "budget.csv").write_text("month,amount\njan,100\n")
    (world.server_data / "Projects").mkdir()
    (world.server_data / "Projects" / "results.csv").write_text("site,count\nA,12\n")


def _cycle(world: World) -> subprocess.CompletedProcess:
    done = world.run_cycle()
    print(done.stdout, done.stderr)  # shown when a check fails
    return done


def test_a_first_cycle_on_real_filesystems(realfs_world: World) -> None:
    world = realfs_world
    _seed(world)
    done = _cycle(world)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all good" in done.stdout
    # a desktop file reaches the share (seen on the server's own disk, not through the mount)
    assert (world.server_disk("home") / "Documents" / "notes.txt").read_text() == (
        "Shopping list: milk.\n"
    )
    # a share file reaches the desktop
    assert (world.desktop_home / "Documents" / "budget.csv").read_text().startswith("month")
    # data reaches the drive's repository, and both homes have their snapshots
    assert (world.drive / "data" / "Projects" / "results.csv").read_text() == "site,count\nA,12\n"
    assert (world.drive / "home" / "Documents" / "notes.txt").is_file()
    assert (world.desktop_backup / "home" / "Documents" / "budget.csv").is_file()


def test_a_world_builds_under_a_deep_folder(tmp_path: Path) -> None:
    # smbd's sockets must fit in 108 bytes; it used to exit 1, silent, under a root this deep
    skip_unless_possible({})
    root = tmp_path / ("a folder deep enough to pass the length of a socket path " * 2).strip()
    assert len(str(root)) > 120
    with World(root) as world:
        (world.server_home / "hello.txt").write_text("hello\n")
        assert (world.server_disk("home") / "hello.txt").read_text() == "hello\n"
