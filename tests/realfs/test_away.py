"""A NAS that freezes: the share stops answering in the middle of the day (real SMB).

What smbnetfs does with a frozen server (seen here, Debian 12, smbnetfs 0.6.3): it still says the
share is a folder, from its cache, at once; listing it waits about 80 s, then fails with EIO, and
so does every call after that until the server answers again. A thread that waits on a FUSE
request the file system has already taken cannot be killed, so the process that asked ends only
once smbnetfs gives up: the cycle itself is over after the bounded wait, `megabackup run` exits
up to a minute later. (Windows cancels a process's pending SMB calls when it ends.)
"""

from __future__ import annotations

import sqlite3
import time

import psutil

from .world import World


def test_a_frozen_nas_is_away_after_the_bounded_wait_and_the_pc_is_still_backed_up(
    realfs_world: World,
) -> None:
    world = realfs_world
    first = world.megabackup("run")
    assert first.returncode == 0, first.stdout + first.stderr
    smbd = psutil.Process(int(world.smbd_pid_file.read_text()))
    frozen = [smbd, *smbd.children(recursive=True)]  # and its worker for our connection
    for process in frozen:
        process.suspend()
    try:
        started = time.monotonic()
        run = world.megabackup("run")
        took = time.monotonic() - started
    finally:
        for process in frozen:
            process.resume()
    with sqlite3.connect(world.state / "history.sqlite3") as db:
        (cycle,) = db.execute("SELECT finished - started FROM runs WHERE id = 2").fetchone()
    print(f"with the NAS frozen the cycle took {cycle:.1f} s, megabackup run {took:.1f} s")
    assert run.returncode == 1, run.stdout + run.stderr  # a warning, not a failure
    for place in ("server home", "server data"):
        assert f"away: the {place} {world.share(place.split()[1])}" in run.stdout, run.stdout
    assert "did not answer within 15 s" in run.stdout
    assert "[ok]      3. snapshot of desktop home" in run.stdout
    assert "STOPPED" not in run.stdout  # away, never taken for a wrong or emptied share
    assert cycle < 30, "the cycle waited on the share longer than the bounded wait"
    assert took < 150, "megabackup run hung on the share"

    world.wait_for_share(120)
    again = world.megabackup("run")
    assert again.returncode == 0, again.stdout + again.stderr
