"""A cycle killed at once with every tool it started (a power cut), inside rdiff-backup writing
to an NTFS disk or inside unison writing to the share, is repaired by the next cycle: nothing is
lost, no snapshot is left half-done, and nothing of unison's is left on the share."""

from __future__ import annotations

import subprocess
import time

import pytest

from megabackup.history import History
from megabackup.locations import AppPaths
from megabackup.tools import rdiff
from support import kill_everything, wait_for_tool

from .world import World, contents

FILES = 400


@pytest.mark.posix
@pytest.mark.parametrize("tool", ["rdiff", "unison"])
def test_a_cycle_killed_inside_a_tool_is_repaired_by_the_next(
    realfs_world: World, tool: str
) -> None:
    world = realfs_world
    documents = world.desktop_home / "Documents"
    (documents / "notes.txt").write_text("milk\n", encoding="utf-8")
    assert world.run_cycle().returncode == 0
    for index in range(FILES):
        (documents / "many" / f"f{index:04}.txt").parent.mkdir(exist_ok=True)
        (documents / "many" / f"f{index:04}.txt").write_text(f"content {index}\n" * 20)
    written = contents(documents)
    cycle = subprocess.Popen(
        world.argv("run"), env=world.environment(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert wait_for_tool(cycle, tool), f"{tool} never started"
    time.sleep(0.05)
    kill_everything(cycle)
    world.wait_for_share()  # smbnetfs may have been mid-call

    done = world.run_cycle()

    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "[FAILED]" not in done.stdout, done.stdout
    runs = [run.outcome for run in History(AppPaths(world.state).history).runs()]
    assert "interrupted" in runs
    if "[warning] 4. syncing home" in done.stdout:  # times the share did not keep, after tries
        done = world.run_cycle()
    assert contents(world.server_disk("home") / "Documents") == written
    assert contents(documents) == written
    for repository in (world.desktop_backup / "home", world.drive / "home"):
        state = rdiff.inspect(repository)
        assert state.exists and not state.interrupted_backup, repository
    assert list(world.server_disk("home").rglob(".unison*")) == [], "unison's temporaries"
