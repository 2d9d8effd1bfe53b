"""The count of deletions a sync would pass on, judged on the trees as they are now."""

from __future__ import annotations

from pathlib import Path

from megabackup.engine.deletions import Allowance, load_synced, save_synced, sync_deletions

SYNCED = {"Docs", "Docs/a.txt", "Docs/b.txt", "Docs/sub", "Docs/sub/c.txt", ".megabackup-place"}


def test_a_path_gone_from_one_side_and_still_on_the_other_is_a_deletion() -> None:
    desktop = SYNCED - {"Docs/a.txt", "Docs/sub", "Docs/sub/c.txt"}
    on_desktop, on_server = sync_deletions(SYNCED, desktop, SYNCED)
    assert (on_desktop.side, on_desktop.deleted, on_desktop.total_before) == ("desktop", 3, 5)
    assert on_server.deleted == 0


def test_put_back_or_gone_on_both_sides_is_no_deletion() -> None:
    gone_everywhere = SYNCED - {"Docs/b.txt"}
    assert [c.deleted for c in sync_deletions(SYNCED, SYNCED, SYNCED)] == [0, 0]
    assert [c.deleted for c in sync_deletions(SYNCED, gone_everywhere, gone_everywhere)] == [0, 0]


def test_only_the_synced_folders_count() -> None:
    desktop = {"Docs", "Docs/a.txt"}  # Docs/sub is left out of the sync (a link, say)
    checks = sync_deletions(SYNCED, desktop, SYNCED, folders=("Docs/a.txt", "Docs/b.txt"))
    assert [c.deleted for c in checks] == [1, 0]


def test_no_record_means_nothing_to_pass_on(tmp_path: Path) -> None:
    assert sync_deletions(None, set(), SYNCED) == []
    assert load_synced(tmp_path, "key") is None
    save_synced(tmp_path, "key", ["Docs/a.txt", "Docs/\udcffodd.txt"])
    assert load_synced(tmp_path, "key") == {"Docs/a.txt", "Docs/\udcffodd.txt"}
    assert load_synced(tmp_path, "another selection") is None


def test_an_allowance_of_n_allows_n_and_is_spent() -> None:
    allowance = Allowance(left=41)
    assert not allowance.take(45)
    assert allowance.take(41) and not allowance.take(1)
    assert Allowance(any_number=True).take(10**6)
