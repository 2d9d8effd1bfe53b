"""The skip-unchanged proof must never call a changed tree unchanged.

Real files under a temporary folder; real rdiff-backup where its own behaviour is the point.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from megabackup.engine import manifest
from megabackup.engine.manifest import Manifest, load, save, scan, unchanged
from megabackup.tools.rdiff import selection_args
from winfakes import windows_max_path, windows_profile

OLD = 1_700_000_000  # every file starts old, so a manifest of it is settled
FOLDERS = ("Documents", "Pictures")
IGNORE = ("*.tmp", "~$*", "Thumbs.db", "Documents/cache")


def _write(path: Path, text: str = "hello", mtime: int = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    _write(root / "Documents" / "letter.txt", "Dear Sam")
    _write(root / "Documents" / "Work" / "plan.odt", "step one")
    _write(root / "Pictures" / "cat.jpg", "meow" * 100)
    _write(root / "AppData" / "cache.bin", "not backed up")
    _write(root / "top.txt", "outside the folder list")
    return root


def _still_unchanged(root: Path, change: Callable[[], object]) -> bool:
    before = scan(root, FOLDERS, IGNORE)
    change()
    return unchanged(scan(root, FOLDERS, IGNORE), before)


def test_an_untouched_tree_is_unchanged_also_after_a_save_and_load(
    home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "state" / "manifests" / "snapshot-desktop-home.json"
    save(scan(home, FOLDERS, IGNORE), path)
    assert unchanged(scan(home, FOLDERS, IGNORE), load(path))
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


# --- changes that must be seen ------------------------------------------------------------------


def test_a_same_size_edit_with_a_new_mtime_is_seen(home: Path) -> None:
    letter = home / "Documents" / "letter.txt"
    assert not _still_unchanged(home, lambda: _write(letter, "Dear Tom", OLD + 60))


def test_a_same_size_edit_within_the_same_second_is_seen(home: Path) -> None:
    """The mtime moved by a nanosecond only: the manifest keeps nanoseconds."""
    letter = home / "Documents" / "letter.txt"
    os.utime(letter, ns=(OLD * 10**9 + 100, OLD * 10**9 + 100))

    def edit() -> None:
        letter.write_text("Dear Tom", encoding="utf-8")
        os.utime(letter, ns=(OLD * 10**9 + 101, OLD * 10**9 + 101))

    assert not _still_unchanged(home, edit)


def test_a_size_change_with_the_old_mtime_put_back_is_seen(home: Path) -> None:
    letter = home / "Documents" / "letter.txt"
    assert not _still_unchanged(home, lambda: _write(letter, "Dear Sam, longer", OLD))


def test_a_rename_is_seen(home: Path) -> None:
    letter = home / "Documents" / "letter.txt"
    assert not _still_unchanged(home, lambda: letter.rename(letter.with_name("Letter.txt")))


def test_a_renamed_folder_is_seen(home: Path) -> None:
    work = home / "Documents" / "Work"
    assert not _still_unchanged(home, lambda: work.rename(work.with_name("Job")))


@pytest.mark.posix
def test_a_permission_only_change_is_seen(home: Path) -> None:
    letter = home / "Documents" / "letter.txt"
    assert not _still_unchanged(home, lambda: letter.chmod(0o600))


@pytest.mark.posix
def test_a_folder_permission_change_is_seen(home: Path) -> None:
    assert not _still_unchanged(home, lambda: (home / "Documents" / "Work").chmod(0o700))


def test_a_file_replaced_by_a_folder_is_seen(home: Path) -> None:
    letter = home / "Documents" / "letter.txt"

    def replace() -> None:
        letter.unlink()
        letter.mkdir()

    assert not _still_unchanged(home, replace)


def test_a_deleted_empty_folder_is_seen(home: Path) -> None:
    empty = home / "Pictures" / "Empty"
    empty.mkdir()
    assert not _still_unchanged(home, empty.rmdir)


def test_a_new_file_inside_the_folder_list_is_seen(home: Path) -> None:
    new = home / "Pictures" / "dog.jpg"
    assert not _still_unchanged(home, lambda: _write(new, "woof"))


@pytest.mark.posix
def test_new_and_retargeted_symlinks_are_seen(home: Path) -> None:
    link = home / "Documents" / "latest"
    assert not _still_unchanged(home, lambda: link.symlink_to("letter.txt"))

    def retarget() -> None:
        link.unlink()
        link.symlink_to("Work/plan.odt")

    assert not _still_unchanged(home, retarget)


@pytest.mark.posix
def test_a_change_behind_a_symlink_to_a_folder_is_not_followed(home: Path, tmp_path: Path) -> None:
    """rdiff-backup stores the link, not what it points to; so does the manifest."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    link = home / "Documents" / "linked"
    link.symlink_to(outside)
    os.utime(link, (OLD, OLD), follow_symlinks=False)  # a fresh link would be doubt by itself
    assert _still_unchanged(home, lambda: _write(outside / "new.txt"))


# --- changes that must not count ----------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    ["Documents/draft.tmp", "Documents/Work/~$plan.odt", "Pictures/Thumbs.db",
     "Documents/cache/big.bin", "Documents/x.tmp/inside.txt"],
)  # fmt: skip
def test_a_new_file_matching_an_ignore_pattern_does_not_count(home: Path, relative: str) -> None:
    """Its folder's mtime changes too: folder mtimes are not part of the proof, on purpose."""
    assert _still_unchanged(home, lambda: _write(home / relative, "junk"))


@pytest.mark.parametrize("relative", ["AppData/new.bin", "top2.txt", "Music/song.mp3"])
def test_a_new_file_outside_the_folder_list_does_not_count(home: Path, relative: str) -> None:
    assert _still_unchanged(home, lambda: _write(home / relative, "elsewhere"))


def test_a_nested_folder_in_the_list_covers_only_itself(home: Path) -> None:
    folders = ("Documents/Work",)
    before = scan(home, folders, IGNORE)
    _write(home / "Documents" / "other.txt")
    assert unchanged(scan(home, folders, IGNORE), before)
    _write(home / "Documents" / "Work" / "more.txt")
    assert not unchanged(scan(home, folders, IGNORE), before)


def test_without_a_folder_list_everything_counts(home: Path) -> None:
    before = scan(home, (), IGNORE)
    _write(home / "AppData" / "new.bin")
    assert not unchanged(scan(home, (), IGNORE), before)


# --- doubt means changed ------------------------------------------------------------------------


def test_a_missing_or_corrupt_manifest_means_changed(home: Path, tmp_path: Path) -> None:
    current = scan(home, FOLDERS, IGNORE)
    path = tmp_path / "m.json"
    assert load(path) is None and not unchanged(current, load(path))
    save(current, path)
    good = path.read_text(encoding="utf-8")
    for bad in (good[: len(good) // 2], "[]", "null", good.replace('"count": ', '"count": "'),
                good.replace(f'"format": {manifest.FORMAT}', '"format": 99'),
                good.replace(f'"format": {manifest.FORMAT}', '"format": 1'),  # the sorted digest
                "\x00\x01"):  # fmt: skip
        path.write_text(bad, encoding="utf-8")
        assert load(path) is None, bad
    path.write_bytes(gzip.compress(good.encode()))
    assert load(path) is None


def test_another_folder_list_ignore_list_source_or_repository_means_changed(home: Path) -> None:
    saved = scan(home, FOLDERS, IGNORE).with_mark("snapshot 1")
    assert unchanged(scan(home, FOLDERS, IGNORE).with_mark("snapshot 1"), saved)
    assert not unchanged(scan(home, ("Documents",), IGNORE).with_mark("snapshot 1"), saved)
    assert not unchanged(scan(home, FOLDERS, ("*.tmp",)).with_mark("snapshot 1"), saved)
    assert not unchanged(scan(home, FOLDERS, IGNORE).with_mark("snapshot 2"), saved)
    copy = home.parent / "copy"
    shutil.copytree(home, copy, symlinks=True)
    for path in copy.rglob("*"):  # copytree keeps mtimes, but be sure
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    assert not unchanged(scan(copy, FOLDERS, IGNORE).with_mark("snapshot 1"), saved)


def test_the_digest_does_not_depend_on_the_order_a_folder_is_listed_in(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest is taken as the walk goes, so the walk must give the same tree in the same
    order whatever order the disk lists names in (NTFS sorts them, ext4 hashes, a share may
    change its mind)."""
    for index in range(12):
        _write(home / "Documents" / f"n{index:02d}" / "x.txt", str(index))
    saved = scan(home, FOLDERS, IGNORE)
    real = os.scandir

    class Reversed:
        def __init__(self, path: str | os.PathLike[str]) -> None:
            with real(path) as entries:
                self.entries = list(entries)[::-1]

        def __enter__(self) -> list[os.DirEntry[str]]:
            return self.entries

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(manifest.os, "scandir", Reversed)
    current = scan(home, FOLDERS, IGNORE)
    assert current.count == saved.count and current.digest == saved.digest
    assert unchanged(current, saved)


def test_an_unreadable_folder_means_changed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = scan(home, FOLDERS, IGNORE)
    real = os.scandir

    def failing(path: str | os.PathLike[str]) -> object:
        if os.fspath(path).endswith("Work"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(manifest.os, "scandir", failing)
    current = scan(home, FOLDERS, IGNORE)
    assert current.errors == 1 and not current.complete
    assert not unchanged(current, saved)
    assert not unchanged(saved, current)  # nor may an incomplete walk be the reference


def test_a_missing_source_is_never_unchanged(tmp_path: Path) -> None:
    gone = scan(tmp_path / "nowhere")
    assert gone.errors == 1 and not unchanged(scan(tmp_path / "nowhere"), gone)


def test_an_entry_modified_close_to_the_scan_is_doubt(home: Path) -> None:
    """FAT keeps 2-second times: a later same-size edit could keep such an entry's mtime."""
    at = OLD * 10**9
    saved = scan(home, FOLDERS, IGNORE, clock_ns=lambda: at + 1_500_000_000)
    assert not saved.settled()
    assert not unchanged(scan(home, FOLDERS, IGNORE), saved)
    settled = scan(home, FOLDERS, IGNORE, clock_ns=lambda: at + 2_000_000_000)
    assert unchanged(scan(home, FOLDERS, IGNORE), settled)
    # A share whose clock may be off needs a wider window.
    assert not unchanged(scan(home, FOLDERS, IGNORE), settled, doubt_seconds=120)


def test_a_file_written_just_now_is_doubt(home: Path) -> None:
    fresh = home / "Pictures" / "fresh.jpg"
    fresh.write_text("new", encoding="utf-8")
    saved = scan(home, FOLDERS, IGNORE)
    assert not unchanged(scan(home, FOLDERS, IGNORE), saved)


def test_a_file_dated_in_the_future_is_doubt(home: Path) -> None:
    _write(home / "Pictures" / "future.jpg", "x", int(time.time()) + 3600)
    saved = scan(home, FOLDERS, IGNORE)
    assert not unchanged(scan(home, FOLDERS, IGNORE), saved)


def test_a_failed_save_leaves_the_old_manifest_and_no_temporary(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.json"
    first = scan(home, FOLDERS, IGNORE)
    save(first, path)

    def broken(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(manifest.os, "replace", broken)
    with pytest.raises(OSError):
        save(scan(home, ("Documents",), IGNORE), path)
    assert load(path) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "m.json"]


# --- the selection is rdiff-backup's ------------------------------------------------------------


def _rdiff_backup() -> list[str]:
    beside = Path(sys.executable).parent / "rdiff-backup"
    found = str(beside) if beside.is_file() else shutil.which("rdiff-backup")
    if not found:
        pytest.skip("rdiff-backup is not installed")
    return [found, "--api-version", "201"]


def _backup(
    source: Path, repository: Path, folders: tuple[str, ...], ignore: tuple[str, ...]
) -> None:
    argv = [*_rdiff_backup(), "backup", *selection_args(source, folders, ignore)]
    result = subprocess.run([*argv, str(source), str(repository)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _mirror_paths(repository: Path) -> list[str]:
    found = ["."]
    for path in repository.rglob("*"):
        relative = path.relative_to(repository).as_posix()
        if relative != "rdiff-backup-data" and not relative.startswith("rdiff-backup-data/"):
            found.append(relative)
    return sorted(found)


TRICKY = (
    "Documents/draft.tmp",
    "Documents/Work/~$plan.odt",
    "Pictures/Thumbs.db",
    "Documents/cache/a.bin",
    "Documents/Work/old notes.txt",
    "Documents/Work/Cache/b.bin",
    "Photos [2020]/beach.jpg",
    "Photos [2020]/x.tmp/in.txt",
    "Photosx/other.jpg",
    "Documents/a.{x}",
)


@pytest.mark.parametrize(
    ("folders", "ignore"),
    [
        (FOLDERS, IGNORE),
        ((), IGNORE),
        (("Documents/Work", "Photos [2020]"), ("*.tmp", "Documents/*/old*", "**/Cache")),
        (("Documents",), ("Documents",)),  # ignored beats listed: first match wins
        ((), ("[Dd]ocuments/?ork", "~$*", "*.{x}")),
    ],
)
@pytest.mark.posix
def test_the_scan_covers_exactly_what_rdiff_backup_backs_up(
    home: Path, tmp_path: Path, folders: tuple[str, ...], ignore: tuple[str, ...]
) -> None:
    for relative in TRICKY:
        _write(home / relative)
    (home / "Documents" / "link").symlink_to("letter.txt")
    repository = tmp_path / "repository"
    _backup(home, repository, folders, ignore)
    assert manifest.paths(home, folders, ignore) == _mirror_paths(repository)


def test_a_same_size_edit_with_the_exact_mtime_put_back_is_invisible_to_both(
    home: Path, tmp_path: Path
) -> None:
    """The one blind spot, shared with rdiff-backup: it decides on the same metadata.

    A same-size edit whose mtime is forced back to the very nanosecond passes the manifest, and
    rdiff-backup run anyway leaves the old content in its mirror: skipping it loses nothing that
    running it would have kept.
    """
    letter = home / "Documents" / "letter.txt"
    os.utime(letter, ns=(OLD * 10**9 + 123, OLD * 10**9 + 123))
    repository = tmp_path / "repository"
    _backup(home, repository, FOLDERS, IGNORE)
    before = scan(home, FOLDERS, IGNORE)
    letter.write_text("Dear Tom", encoding="utf-8")  # same size as "Dear Sam"
    os.utime(letter, ns=(OLD * 10**9 + 123, OLD * 10**9 + 123))
    assert unchanged(scan(home, FOLDERS, IGNORE), before)
    time.sleep(1.1)  # rdiff-backup takes one snapshot per second at most
    _backup(home, repository, FOLDERS, IGNORE)
    mirror = repository / "Documents" / "letter.txt"
    assert mirror.read_text(encoding="utf-8") == "Dear Sam"


# --- property: any single change inside the selection is seen ----------------------------------

_NAMES = st.sampled_from(["a", "b", "c.txt", "D", "e f", "Ünï", "g.odt"])
_TREES = st.lists(
    st.tuples(st.sampled_from(FOLDERS), st.lists(_NAMES, min_size=1, max_size=3),
              st.binary(max_size=40)),
    min_size=1, max_size=12,
)  # fmt: skip
_MUTATIONS = st.sampled_from(
    ["append", "same-size", "touch-ns", "chmod", "rename", "delete", "add", "file-to-dir",
     "dir-to-file", "add-dir", "add-symlink", "chmod-dir", "move"]
)  # fmt: skip


def _build(root: Path, spec: list[tuple[str, list[str], bytes]]) -> None:
    for top, names, data in spec:
        path = root.joinpath(top, *names)
        if any(parent.is_file() for parent in path.parents) or path.is_dir():
            continue  # a file cannot also be a folder; keep the first
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in root.rglob("*"):
        os.utime(path, (OLD, OLD))


@contextlib.contextmanager
def _built(spec: list[tuple[str, list[str], bytes]]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "home"
        _build(root, spec)
        (root / "AppData").mkdir()  # outside the folder list
        yield root


def _mutate(root: Path, kind: str, pick: int) -> bool:
    """Apply one change inside the selection; False when this tree has nothing to apply it to."""
    inside = [p for p in root.rglob("*") if p.relative_to(root).parts[0] in FOLDERS]
    files = sorted(p for p in inside if p.is_file())
    folders = sorted(p for p in inside if p.is_dir())
    target = files[pick % len(files)] if files else None
    if kind in ("add", "add-dir", "add-symlink"):
        where = (folders or [root / FOLDERS[0]])[pick % max(1, len(folders))]
        where.mkdir(parents=True, exist_ok=True)
        new = where / f"new {pick}"
        if kind == "add":
            _write(new, "x")
        elif kind == "add-dir":
            new.mkdir()
        else:
            new.symlink_to("anything")
        return True
    if kind == "chmod-dir":
        if not folders:
            return False
        folder = folders[pick % len(folders)]
        folder.chmod(folder.stat().st_mode ^ 0o010)
        return True
    if kind == "dir-to-file":
        below = [f for f in folders if f.parent != root]
        if not below:
            return False
        chosen = below[pick % len(below)]
        shutil.rmtree(chosen)
        _write(chosen, "now a file")
        return True
    if target is None:
        return False
    info = target.stat()
    if kind == "append":
        with open(target, "ab") as handle:
            handle.write(b"+")
        os.utime(target, ns=(info.st_mtime_ns, info.st_mtime_ns))
    elif kind == "same-size":
        data = target.read_bytes()
        target.write_bytes(bytes(b ^ 1 for b in data))
        os.utime(target, ns=(info.st_mtime_ns + 1, info.st_mtime_ns + 1))
    elif kind == "touch-ns":
        os.utime(target, ns=(info.st_mtime_ns + 999_999_999, info.st_mtime_ns + 999_999_999))
    elif kind == "chmod":
        target.chmod(info.st_mode ^ 0o040)
    elif kind == "rename":
        target.rename(target.with_name(target.name + "~"))
    elif kind == "move":
        other = FOLDERS[1] if target.relative_to(root).parts[0] == FOLDERS[0] else FOLDERS[0]
        (root / other).mkdir(exist_ok=True)
        destination = root / other / f"moved {target.name}"
        if destination.exists():
            return False
        target.rename(destination)
        os.utime(destination, ns=(info.st_mtime_ns, info.st_mtime_ns))
    elif kind == "delete":
        target.unlink()
    elif kind == "file-to-dir":
        target.unlink()
        target.mkdir()
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_TREES, kind=_MUTATIONS, pick=st.integers(0, 1000))
def test_any_single_change_inside_the_selection_is_seen(
    spec: list[tuple[str, list[str], bytes]], kind: str, pick: int
) -> None:
    with _built(spec) as root:
        saved: Manifest = scan(root, FOLDERS, IGNORE)
        if not _mutate(root, kind, pick):
            return
        assert not unchanged(scan(root, FOLDERS, IGNORE), saved), kind


@settings(max_examples=40, deadline=None)
@given(spec=_TREES, name=st.sampled_from(["x.tmp", "~$x", "Thumbs.db"]), pick=st.integers(0, 99))
def test_changes_the_snapshot_would_not_see_never_count(
    spec: list[tuple[str, list[str], bytes]], name: str, pick: int
) -> None:
    with _built(spec) as root:
        saved = scan(root, FOLDERS, IGNORE)
        folders = sorted(p for p in root.rglob("*") if p.is_dir())
        _write(folders[pick % len(folders)] / name, "ignored")
        _write(root / "AppData" / f"outside {pick}", "outside the folder list")
        assert unchanged(scan(root, FOLDERS, IGNORE), saved)


# ---------------------------------------------------------------------------
# Windows: reparse points (junctions, links, OneDrive placeholders) are never in a snapshot


def test_junctions_that_deny_listing_are_left_out_and_the_walk_stays_complete(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junctions = [home / "Documents" / name for name in ("My Music", "My Pictures", "My Videos")]
    for junction in junctions:
        _write(junction / "seen through the junction.mp3")
    placeholder = _write(home / "Documents" / "OneDrive report.docx")  # a file kept online
    told: list[str] = []
    with windows_profile(monkeypatch, [*junctions, placeholder], deny_listing=junctions):
        walk = scan(home, FOLDERS, IGNORE)
        assert walk.complete, "a junction that denies listing must not leave the walk in doubt"
        again = scan(home, FOLDERS, IGNORE, on_link=told.append)
    assert sorted(told) == [
        "Documents/My Music",
        "Documents/My Pictures",
        "Documents/My Videos",
        "Documents/OneDrive report.docx",
    ]
    assert unchanged(again, walk)  # so an untouched profile skips its snapshot
    with windows_profile(monkeypatch, [*junctions, placeholder], deny_listing=junctions):
        covered = manifest.paths(home, FOLDERS, IGNORE)
    assert not [p for p in covered if "My Music" in p or "OneDrive" in p]
    assert "Documents/letter.txt" in covered


def test_a_tree_deeper_than_windows_260_characters_is_walked_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "home"
    deep = root / "Documents" / ("a folder with a long name " * 6) / ("and deeper still " * 6)
    _write(deep / "minutes.txt")
    assert len(str(deep / "minutes.txt")) > 260
    with windows_max_path(monkeypatch):
        walk = scan(root, ("Documents",), ())
        covered = manifest.paths(root, ("Documents",), ())
    assert walk.complete
    assert any(p.endswith("/minutes.txt") for p in covered)
