"""The proof that lets a cycle skip the sync must never call homes alike that may not be."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from megabackup.engine import in_step
from megabackup.engine.manifest import Manifest, scan

OLD = 1_700_000_000
KEY = "roots and selection"
DOUBT = 122.0  # 2 s plus a clock limit of 120 s, as the sync passes for the server


def _write(path: Path, text: str, mtime: float = OLD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


@pytest.fixture
def homes(tmp_path: Path) -> tuple[Path, Path]:
    desktop, server = tmp_path / "desktop", tmp_path / "server"
    for root in (desktop, server):
        _write(root / "Documents" / "letter.txt", "Dear Sam")
        _write(root / "Pictures" / "cat.jpg", "meow")
    return desktop, server


def _walks(homes: tuple[Path, Path]) -> tuple[Manifest, Manifest]:
    desktop, server = homes
    return scan(desktop, ("Documents", "Pictures")), scan(server, ("Documents", "Pictures"))


def _in_step(folder: Path, homes: tuple[Path, Path], key: str = KEY) -> bool:
    desktop, server = _walks(homes)
    return in_step.still_in_step(folder, key, desktop, server, server_doubt_seconds=DOUBT)


def test_homes_as_the_proof_saw_them_are_still_in_step(
    tmp_path: Path, homes: tuple[Path, Path]
) -> None:
    state = tmp_path / "manifests"
    assert not _in_step(state, homes), "no proof yet: the sync must run"
    in_step.save(state, KEY, *_walks(homes))

    assert _in_step(state, homes)


@pytest.mark.parametrize("side", [0, 1])
def test_a_change_on_either_side_means_the_sync_runs(
    tmp_path: Path, homes: tuple[Path, Path], side: int
) -> None:
    state = tmp_path / "manifests"
    in_step.save(state, KEY, *_walks(homes))
    _write(homes[side] / "Documents" / "letter.txt", "Dear Sam!", OLD + 60)

    assert not _in_step(state, homes)


def test_another_selection_or_a_damaged_record_proves_nothing(
    tmp_path: Path, homes: tuple[Path, Path]
) -> None:
    state = tmp_path / "manifests"
    in_step.save(state, KEY, *_walks(homes))
    assert not _in_step(state, homes, key="other roots")
    for damage in (b"{not json", b"\xff\xfe", b'{"format": 1, "key": "roots and selection"}'):
        (state / in_step.RECORD).write_bytes(damage)
        assert not _in_step(state, homes)


def test_a_file_modified_just_before_the_proofs_walk_on_the_share_leaves_doubt(
    tmp_path: Path, homes: tuple[Path, Path]
) -> None:
    """The share's times come from its own clock: a file it dated a minute before the walk
    may be as fresh as one dated now, so an edit in the same tick could keep its time."""
    state = tmp_path / "manifests"
    _write(homes[1] / "Documents" / "letter.txt", "Dear Sam", time.time() - 60)
    in_step.save(state, KEY, *_walks(homes))

    assert not _in_step(state, homes)


def test_a_walk_that_could_not_read_everything_is_never_saved_as_proof(
    tmp_path: Path, homes: tuple[Path, Path]
) -> None:
    state = tmp_path / "manifests"
    in_step.save(state, KEY, *_walks(homes))
    desktop, server = _walks(homes)
    in_step.save(state, KEY, desktop, Manifest(**{**server.__dict__, "errors": 1}))

    assert not (state / in_step.RECORD).exists(), "the older proof went with it"
    assert not _in_step(state, homes)


def test_forgetting_a_proof_that_is_not_there_is_no_error(tmp_path: Path) -> None:
    in_step.forget(tmp_path / "manifests")
    assert not (tmp_path / "manifests" / in_step.RECORD).exists()
