"""The original use cases, as the demo checks them, with the places where users keep them: the
homes synced through a Samba share, data from the share onto an NTFS drive, an edit reaching
both snapshots, and a conflict kept twice."""

from __future__ import annotations

from megabackup.demo import plant_samples, use_cases
from megabackup.locations import AppPaths
from megabackup.settings import load

from .world import World


def test_the_demos_use_cases_hold_on_real_filesystems(realfs_world: World) -> None:
    world = realfs_world
    settings = load(world.settings)
    plant_samples(settings)
    said: list[str] = []

    checks = use_cases(settings, AppPaths(world.state), said.append)

    assert len(checks) == 11 and all(checks), "\n".join(said)
