"""Names that differ only in case, between a case-sensitive desktop (ext4 here, as on Linux) and
the share, which ignores case as Windows does. unison is told to ignore case too: without it,
`Notes.TXT` beside `notes.txt` failed on every sync ("Destination updated during
synchronization") and left unison's temporary files on the share, and a case-only rename on
the share left both names on the desktop."""

from __future__ import annotations

from .world import World


def _cycle(world: World) -> str:
    done = world.run_cycle()
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.stdout


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_two_names_differing_in_case_stay_on_the_desktop_and_leave_the_share_clean(
    realfs_world: World,
) -> None:
    world = realfs_world
    documents = world.desktop_home / "Documents"
    (documents / "notes.txt").write_text("lower\n", encoding="utf-8")
    (documents / "Notes.TXT").write_text("upper\n", encoding="utf-8")
    (documents / "plain.txt").write_text("plain\n", encoding="utf-8")
    for _ in range(2):
        report = _cycle(world)
    assert "upper/lower case" in report
    on_share = _names(world.server_disk("home") / "Documents")
    assert on_share == ["plain.txt"], on_share  # no .unison.*.tmp left behind
    assert _names(documents) == ["Notes.TXT", "notes.txt", "plain.txt"]
    # both are in the desktop's snapshot all the same
    assert _names(world.desktop_backup / "home" / "Documents") == _names(documents)


def test_a_case_only_rename_on_the_share_leaves_one_name_on_the_desktop(
    realfs_world: World,
) -> None:
    world = realfs_world
    (world.desktop_home / "Documents" / "report.txt").write_text("q3\n", encoding="utf-8")
    _cycle(world)
    shared = world.server_disk("home") / "Documents"
    (shared / "report.txt").rename(shared / "Report.txt")  # renamed on the server itself
    _cycle(world)
    _cycle(world)
    assert len(list((world.desktop_home / "Documents").iterdir())) == 1
