"""The benchmark's trees are deterministic and shaped as promised; the benchmark runs end to end.

Correctness only: no test here depends on how fast anything is.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from bench import run, trees

from megabackup.engine import manifest

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison

KIB, MIB = 1024, 1024 * 1024
APP = Path(__file__).resolve().parents[1] / "app" / "megabackup"


def test_the_same_seed_plans_the_same_tree_and_another_seed_does_not() -> None:
    assert trees.plan_tree(2000, 7) == trees.plan_tree(2000, 7)
    assert trees.plan_tree(2000, 7) != trees.plan_tree(2000, 8)
    assert trees.plan_tree(500, 7, "data") != trees.plan_tree(500, 7, "home")


def test_the_same_seed_writes_the_same_bytes_and_the_same_manifest(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for root, seed in ((first, 3), (second, 3), (other, 4)):
        trees.build_tree(root, 80, seed, max_size=64 * KIB)
    assert trees.content_digest(first) == trees.content_digest(second)
    assert trees.content_digest(first) != trees.content_digest(other)
    digest = manifest.scan(first, trees.HOME_FOLDERS, trees.IGNORE).digest
    assert digest == manifest.scan(second, trees.HOME_FOLDERS, trees.IGNORE).digest
    assert digest != manifest.scan(other, trees.HOME_FOLDERS, trees.IGNORE).digest


def test_files_are_not_copies_of_each_other(tmp_path: Path) -> None:
    trees.build_tree(tmp_path, 60, 5, max_size=64 * KIB)
    contents = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert len({c[-512:] for c in contents if len(c) > 2 * KIB}) == len(
        [c for c in contents if len(c) > 2 * KIB]
    )


def test_the_small_variant_has_the_promised_shape() -> None:
    specs = trees.plan_tree(2000, 1)
    sizes = [s.size for s in specs]
    assert len(specs) == 2000 and len({s.path for s in specs}) == 2000
    assert all(KIB <= size <= 20 * MIB for size in sizes)
    assert sum(KIB <= size <= 100 * KIB for size in sizes) / len(sizes) >= 0.85
    assert 5 <= sum(size >= MIB for size in sizes) <= 60
    assert 100e6 <= sum(sizes) <= 400e6
    assert max(s.path.count("/") for s in specs) >= 3  # nested folders
    tops = {s.path.split("/")[0] for s in specs}
    assert set(trees.HOME_FOLDERS) < tops  # and something outside the folder list
    names = [s.path.rsplit("/", 1)[1] for s in specs]
    assert any(name.endswith(".tmp") or name.startswith("~$") for name in names)


def test_the_full_variant_is_about_ten_thousand_files_and_a_gigabyte() -> None:
    specs = trees.plan_tree(10_000, 1)
    assert len(specs) == 10_000
    assert 0.7e9 <= sum(s.size for s in specs) <= 1.5e9


def test_the_small_option_means_two_thousand_files() -> None:
    parser = run.build_parser()
    assert run.make_config(parser.parse_args(["--small"]), Path()).files == 2000
    assert run.make_config(parser.parse_args([]), Path()).files == 10_000
    assert run.make_config(parser.parse_args(["--files", "200"]), Path()).files == 200


def test_the_change_is_one_percent_plus_fifty_and_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        trees.build_tree(root, 400, 2, max_size=64 * KIB)
    done = trees.mutate(first, 9, folders=trees.HOME_FOLDERS, max_size=64 * KIB)
    again = trees.mutate(second, 9, folders=trees.HOME_FOLDERS, max_size=64 * KIB)
    assert done == again
    eligible = [
        p
        for top in trees.HOME_FOLDERS
        for p in (tmp_path / "b" / top).rglob("*")
        if p.is_file() and not re.search(r"\.tmp$|^~\$|^Thumbs\.db$", p.name)
    ]
    assert len(done.changed) == round((len(eligible) - 50) * 0.01)
    assert len(done.added) == 50 and len(set(done.added)) == 50
    for relative in done.changed + done.added:
        assert relative.split("/")[0] in trees.HOME_FOLDERS
        assert (first / relative).read_bytes() == (second / relative).read_bytes()


def test_a_typical_day_re_saves_twenty_documents_and_imports_five_photos_into_one_album(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for root in (first, second):
        trees.build_tree(root, 600, 2, max_size=64 * KIB)
    before = {p: p.stat().st_mtime for p in first.rglob("*") if p.is_file()}
    now = 1_800_000_000.0
    day = trees.typical_day(first, 4, now=now)
    assert day == trees.typical_day(second, 4, now=now)  # the same files and bytes
    assert len(day.changed) == 20 and len(day.added) == 5
    assert all(relative.startswith("Documents/") for relative in day.changed)
    assert len({relative.rsplit("/", 1)[0] for relative in day.added}) == 1
    assert all(relative.startswith("Pictures/") for relative in day.added)
    for relative in day.added:
        assert 3 * MIB <= (first / relative).stat().st_size < 5 * MIB
    touched = set(day.changed) | set(day.added)
    for path in first.rglob("*"):
        relative = path.relative_to(first).as_posix()
        if not path.is_file():
            continue
        if relative in touched:  # done during the day, not in the second before the backup
            assert now - 3 * 3600 <= path.stat().st_mtime <= now - 1800, relative
            assert path.read_bytes() == (second / relative).read_bytes()
        else:
            assert path.stat().st_mtime == before[path], f"{relative}: nothing else changes"


def test_the_bench_runs_end_to_end_and_prints_the_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--files", "60", "--data-files", "20",
         "--max-size", "0.05", "--runs", "1", "--idle-seconds", "0", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for header in ("/naive wall", "/naive CPU", "/limit wall", "peak"):
        assert header in out
    cases = r"^(first cycle|no change|typical day|1% )"
    rows = [line for line in out.splitlines() if re.match(cases, line)]
    assert len(rows) == 12, out
    for line in rows:
        if " MegaBackup " in line:
            assert len(re.findall(r"\d+\.\d\dx", line)) == 3, line
        assert line.rstrip().endswith("ok"), line
    assert "Skip-unchanged proof" in out
    assert "Tray at idle: skipped" in out
    growth = out.split("per 10,000 home files:", 1)[1].split("Median seconds", 1)[0]
    assert len(re.findall(r"peak memory of the whole process tree +\d+\.\d MB", growth)) == 4
    assert list(tmp_path.iterdir()) == []  # the work folder is gone


@pytest.mark.posix
def test_the_idle_tray_is_reported_as_not_available_without_a_tray_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "megabackup"
    fake.write_text("#!/bin/sh\necho 'invalid choice: tray' >&2\nexit 2\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setattr(run, "_tool", lambda name: str(fake))
    config = run.make_config(run.build_parser().parse_args(["--files", "10"]), tmp_path)
    idle = run.tray_idle(config, say=lambda line: None)
    assert idle.note.startswith("not available")
    assert idle.line().startswith("Tray at idle: not available")


def test_nothing_in_the_app_imports_the_bench() -> None:
    offenders = [
        path.relative_to(APP).as_posix()
        for path in APP.rglob("*.py")
        if re.search(r"^\s*(from|import) bench\b", path.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
