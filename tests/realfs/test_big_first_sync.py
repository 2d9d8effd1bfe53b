"""A big first sync to the share. Through smbnetfs the share now and then keeps the time of the
copy instead of the one unison set ("Failed to set modification time ... the time was set to
... instead"); unison then fails the whole new folder and exits 2. Before, the cycle said only
"1 item(s) could not be copied: Documents" and the share filled up over the next cycles. Now the
sync runs again at once while those are its only failures, says what is left for the next
backup if anything is, and nothing is lost."""

from __future__ import annotations

from megabackup.tools import unison

from .world import World, contents

FILES = 2000  # enough for the share to miss a time on nearly every first sync seen here


def test_a_first_sync_of_thousands_of_files_reaches_the_share_whole(realfs_world: World) -> None:
    world = realfs_world
    documents = world.desktop_home / "Documents"
    for index in range(FILES):
        path = documents / f"part {index % 20}" / f"note {index:04}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"note {index}\n" * 50, encoding="utf-8")
    written = contents(documents)

    done = world.run_cycle()

    assert done.returncode in (0, 1), done.stdout + done.stderr
    log = next((world.state / "logs").iterdir()).read_text(encoding="utf-8")
    if unison.TIME_NOT_KEPT in log:  # as on nearly every run here
        assert "kept the wrong modification time on arrival" in log and "syncing them again" in log
    sync = next(line for line in done.stdout.splitlines() if "4. syncing home" in line)
    if "[warning]" in sync:  # still not all there after the tries: said, and done next time
        assert "the next backup tries them again, and nothing is lost meanwhile" in sync
        done = world.run_cycle()
        assert done.returncode in (0, 1), done.stdout + done.stderr
    shared = world.server_disk("home") / "Documents"
    assert contents(shared) == written, "every file reached the share, whole"
    assert contents(documents) == written, "and the desktop kept every one"
    assert [p for p in shared.parent.rglob(".unison*")] == [], "no temporary folder left"
    # the server's snapshot holds what the sync brought in
    assert contents(world.drive / "home" / "Documents") == written
