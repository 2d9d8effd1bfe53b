"""The benchmark's cases where users keep their files (`python -m bench --realfs`).

The same generated trees, the same three cases and the same measuring as bench/run.py, for two
contenders in two places each, in one run:

- MegaBackup: `megabackup run` on one local disk (ext4), and in the real-filesystems world of
  tests/realfs/world.py: desktop home on ext4, server home and server data on a Samba share
  reached through smbnetfs, the desktop backup and the drive on NTFS images (ntfs-3g);
- limit: `cp -a` and `rsync -a` over the same two sets of places (over the same mounts).

The world needs root, /dev/fuse and the packages of the Makefile; one world exists at a time.
CPU counts the contender's own processes only: smbd, smbnetfs and ntfs-3g are daemons that no
contender waits for, so their work shows in the wall time alone.
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.realfs.world import World, missing_requirements

from bench import run
from bench.run import CASE_TITLES, CASES, LIMIT, MEGABACKUP, Config, Places, Results

WORLD = " (real fs)"  # the suffix of a contender's name in the world
MIB = 1024 * 1024


class LimitOverMounts(run.Limit):
    """cp -a but for extended attributes: smbnetfs fails to list them (EIO), and then every
    call on the share for about 3 s."""

    copy = ("cp", "-R", "--preserve=mode,ownership,timestamps")


def unavailable() -> str | None:
    """Why the world cannot be built here, or None."""
    return missing_requirements()


def run_realfs(config: Config, say: Callable[[str], None] = print) -> Results:
    say(f"Generating trees in {config.work} ...")
    base, home, data = run.build_base(config)
    results = Results(home=home, data=data)
    say(results.trees())
    image = _image_size(home.bytes + data.bytes)
    for number in range(config.runs):
        for kind in (run.MegaBackup, run.Limit):
            root = config.work / f"run{number}-{kind.name}"
            run.run_chain(kind, base, root, config, number, results, say)
            with World(config.work / f"world{number}-{kind.name}", size=image) as world:
                places = world_places(base, world)
                log = config.work / f"run{number}-{kind.name}{WORLD.strip()}.log"
                contender = (LimitOverMounts if kind is run.Limit else kind)(places, log)
                # the data changes on the server's own disk, as someone at the NAS makes them:
                # through smbnetfs a write right after a cycle meets its seconds of EIO
                edited = dataclasses.replace(places, server_data=world.server_disk("data"))
                name = kind.name + WORLD
                run.run_cases(contender, places, config, number, results, say, name, edited)
            shutil.rmtree(world.root, ignore_errors=True)
    return results


def world_places(base: Path, world: World) -> Places:
    """The generated trees in the world: both homes, as after the home was first put on the
    share, and the data; written on the server's own disk, as they were before the test."""
    places = Places(world.root, world.desktop_home, world.desktop_backup, world.server_home,
                    world.server_data, world.drive)  # fmt: skip
    for source, target in (
        (base / "home", world.desktop_home),
        (base / "home", world.server_disk("home")),
        (base / "data", world.server_disk("data")),
    ):
        subprocess.run(["cp", "-a", f"{source}/.", f"{target}/"], check=True)
    run.write_settings(places)
    return places


def _image_size(tree_bytes: int) -> str:
    """The NTFS images are sparse: room for the repositories of both homes and the data, and
    their increments, costs nothing until written."""
    return str(max(1024 * MIB, 3 * tree_bytes + 256 * MIB))


def realfs_table(results: Results, config: Config) -> str:
    lines = [
        f"Medians of {config.runs} run(s); wall and CPU in seconds, peak memory in MB.",
        "ext4: every place on one local disk; real fs: the homes synced through a Samba share "
        "(smbnetfs), snapshots on NTFS (ntfs-3g).",
        "",
        f"{'case':<16} {'contender':<14} {'ext4 wall':>9} {'real fs wall':>12} {'ratio':>6} "
        f"{'ext4 CPU':>9} {'real fs CPU':>11} {'peak':>6}  status",
    ]
    for case in CASES:
        for contender in (MEGABACKUP, LIMIT):
            local = results.samples.get((case, contender), [])
            world = results.samples.get((case, contender + WORLD), [])
            if not local or not world:
                continue
            label = contender if contender == MEGABACKUP else (
                "limit: cp -a" if case == "first" else "limit: rsync"
            )  # fmt: skip
            wall = [statistics.median(s.wall for s in samples) for samples in (local, world)]
            cpu = [statistics.median(s.cpu for s in samples) for samples in (local, world)]
            peak = statistics.median(s.peak_kib for s in world) / 1024
            failed = sum(bool(s.failures) for s in local + world)
            status = "ok" if not failed else f"{failed} run(s) failed"
            lines.append(
                f"{CASE_TITLES[case]:<16} {label:<14} {wall[0]:9.2f} {wall[1]:12.2f} "
                f"{run.ratio(wall[1], wall[0]):>6} {cpu[0]:9.2f} {cpu[1]:11.2f} {peak:6.1f}  "
                f"{status}"
            )
    return "\n".join(lines)
