"""Retention on real repositories: the age rule under an injected clock, the free-space rule
under a simulated quota, and the newest mirror always kept."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from megabackup import cli
from megabackup.engine import retention
from megabackup.engine.retention import DiskUsage
from megabackup.settings import RetentionSettings, Settings, SettingsError, parse
from megabackup.tools import rdiff
from megabackup.tools.runner import Runner
from support import session_times

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison

DAY = 86400
NOW = float(int(time.time()))
R = [*rdiff.locate(), "--api-version", "201"]


def snapshot(source: Path, repository: Path, when: float) -> None:
    argv = [*R, "--current-time", str(int(when)), "backup", str(source), str(repository)]
    subprocess.run(argv, check=True, capture_output=True)


def sessions(repository: Path) -> list[float]:
    return session_times(repository)


def settings_for(tmp_path: Path, keep_days: int = 365, min_free: float = 10) -> Settings:
    home, backup = tmp_path / "home", tmp_path / "backup"
    home.mkdir(exist_ok=True)
    backup.mkdir(exist_ok=True)
    text = f'[desktop]\nhome = "{home.as_posix()}"\nbackup = "{backup.as_posix()}"\n'
    text += f'[server]\nhome = "{(tmp_path / "server").as_posix()}"\n'
    text += f"[retention]\nkeep_days = {keep_days}\nmin_free_percent = {min_free}\n"
    return parse(text.encode())


def build(tmp_path: Path, ages_days: list[float], size: int = 0) -> Path:
    """A repository with one session per age (days before NOW), each changing a file.

    size > 0: each session rewrites a file of that many random bytes, so every old session
    keeps an increment of about that size (random data does not compress)."""
    source = tmp_path / "src"
    repository = tmp_path / "repo"
    for index, age in enumerate(sorted(ages_days, reverse=True)):
        source.mkdir(parents=True, exist_ok=True)
        (source / "counter.txt").write_text(f"session {index}\n")
        if size:
            (source / "big.bin").write_bytes(os.urandom(size))
        when = NOW - age * DAY
        for path in source.iterdir():
            os.utime(path, (when - 60, when - 60))
        snapshot(source, repository, when)
    return repository


def simulated_quota(total: int, *roots: Path) -> Callable[[Path], DiskUsage]:
    """A disk of `total` bytes holding exactly the files under roots (a small backup drive)."""

    def usage(_path: Path) -> DiskUsage:
        used = sum(
            (Path(folder) / name).lstat().st_size
            for root in roots
            for folder, _dirs, names in os.walk(root)
            for name in names
        )
        return DiskUsage(total, used, max(total - used, 0))

    return usage


def test_keep_days_removes_exactly_the_older_snapshots(tmp_path: Path) -> None:
    repository = build(tmp_path, [400, 200, 50, 10, 0])
    settings = settings_for(tmp_path, keep_days=100)

    report = retention.apply(settings, [repository], Runner(), clock=lambda: NOW)

    assert sessions(repository) == [NOW - 50 * DAY, NOW - 10 * DAY, NOW]
    [record] = report.repositories
    assert record.removed == [NOW - 400 * DAY, NOW - 200 * DAY]
    assert record.kept_sessions == 3 and not record.problem
    assert report.removed_count == 2 and "removed 2 old snapshot(s)" in report.summary()


def test_the_clock_decides_what_is_old(tmp_path: Path) -> None:
    repository = build(tmp_path, [30, 20, 10, 0])
    settings = settings_for(tmp_path, keep_days=15)

    a_week_earlier = retention.apply(settings, [repository], Runner(), clock=lambda: NOW - 7 * DAY)
    assert sessions(repository) == [NOW - 20 * DAY, NOW - 10 * DAY, NOW]
    assert a_week_earlier.repositories[0].removed == [NOW - 30 * DAY]

    retention.apply(settings, [repository], Runner(), clock=lambda: NOW)
    assert sessions(repository) == [NOW - 10 * DAY, NOW]


def test_a_clock_jump_cannot_age_every_snapshot_at_once(tmp_path: Path) -> None:
    repository = build(tmp_path, [10, 5, 2])
    settings = settings_for(tmp_path, keep_days=3)

    retention.apply(settings, [repository], Runner(), clock=lambda: NOW + 400 * DAY)

    # aged against the newest snapshot, as if run then: only the one older than 3 days by it
    assert sessions(repository) == [NOW - 5 * DAY, NOW - 2 * DAY]


def test_the_newest_mirror_is_never_removed(tmp_path: Path) -> None:
    repository = build(tmp_path, [30, 20, 10])
    settings = settings_for(tmp_path, keep_days=1)

    report = retention.apply(settings, [repository], Runner(), clock=lambda: NOW + 1000 * DAY)

    assert sessions(repository) == [NOW - 10 * DAY]
    assert (repository / "counter.txt").read_text() == "session 2\n"
    assert report.repositories[0].kept_sessions == 1


def test_nothing_to_remove_is_not_a_problem(tmp_path: Path) -> None:
    repository = build(tmp_path, [3, 2, 0])
    settings = settings_for(tmp_path, keep_days=365)

    report = retention.apply(settings, [repository], Runner(), clock=lambda: NOW)

    assert report.removed_count == 0 and report.problems == []
    assert report.summary() == "no old snapshots to remove"
    assert len(sessions(repository)) == 3


def test_low_free_space_removes_the_oldest_until_there_is_room(tmp_path: Path) -> None:
    repository = build(tmp_path, [5, 4, 3, 2, 1, 0], size=100_000)
    used = simulated_quota(10**12, repository)(repository).used
    # 5% free; each old session holds ~100 KB (~16%): two must go to reach 25% free.
    quota = simulated_quota(int(used / 0.95), repository)
    settings = settings_for(tmp_path, keep_days=365, min_free=25)

    report = retention.apply(settings, [repository], Runner(), clock=lambda: NOW, disk_usage=quota)

    after = quota(repository)
    assert after.free * 100 >= 25 * after.total
    assert sessions(repository) == [NOW - d * DAY for d in (3, 2, 1, 0)]
    assert report.repositories[0].removed == [NOW - 5 * DAY, NOW - 4 * DAY]
    assert 190_000 <= report.bytes_freed < 250_000
    assert 190_000 <= report.repositories[0].estimated_bytes < 250_000
    assert report.short_of_space == []
    assert len((repository / "big.bin").read_bytes()) == 100_000


def test_a_disk_too_small_keeps_the_mirror_and_says_so(tmp_path: Path) -> None:
    repository = build(tmp_path, [3, 2, 1, 0], size=50_000)
    quota = simulated_quota(56_000, repository)  # the mirror alone (~54 KB) nearly fills it

    report = retention.apply(
        settings_for(tmp_path), [repository], Runner(), clock=lambda: NOW, disk_usage=quota
    )

    assert sessions(repository) == [NOW]
    assert report.repositories[0].removed == [NOW - d * DAY for d in (3, 2, 1)]
    assert (
        len(report.short_of_space) == 1
        and "only the newest snapshots left" in (report.short_of_space[0])
    )
    assert (repository / "big.bin").stat().st_size == 50_000


def test_repositories_on_one_disk_give_up_their_oldest_first(tmp_path: Path) -> None:
    first = build(tmp_path / "a", [6, 4, 0], size=60_000)
    second = build(tmp_path / "b", [5, 3, 0], size=60_000)
    used = simulated_quota(10**12, first, second)(first).used
    quota = simulated_quota(int(used / 0.95), first, second)  # 5% free; a session is ~16%
    settings = settings_for(tmp_path, min_free=30)  # two sessions must go

    report = retention.apply(
        settings, [first, second], Runner(), clock=lambda: NOW, disk_usage=quota
    )

    removed = {r.repository: r.removed for r in report.repositories}
    assert removed == {first: [NOW - 6 * DAY], second: [NOW - 5 * DAY]}


def test_an_interrupted_repository_is_left_alone(tmp_path: Path) -> None:
    repository = build(tmp_path, [400, 0])
    data = repository / "rdiff-backup-data"
    marker = next(data.glob("current_mirror.*"))
    shutil.copy(marker, data / "current_mirror.2020-01-01T00:00:00Z.data")

    report = retention.apply(settings_for(tmp_path, keep_days=30), [repository], Runner())

    assert report.repositories[0].problem.startswith("its last backup was interrupted")
    assert "not pruned" in report.summary()
    assert len(list((data / "increments").iterdir())) > 0 or (data / "increments.dir").exists()


def test_missing_repositories_are_skipped(tmp_path: Path) -> None:
    report = retention.apply(settings_for(tmp_path), [tmp_path / "nowhere"], Runner())
    assert report.repositories == [] and report.summary() == "no old snapshots to remove"


def test_retention_settings_defaults_and_checks() -> None:
    base = b'[desktop]\nhome = "/h"\nbackup = "/b"\n[server]\nhome = "/s"\n'
    settings = parse(base, check_folders=False)
    assert settings.retention == RetentionSettings(keep_days=365, min_free_percent=10)
    assert settings.verify.every_days == 7
    with pytest.raises(SettingsError) as caught:
        parse(base + b"[retention]\nkeep_days = 0\nmin_free_percent = 'x'\n[verify]\n"
              b"every_days = -1\n", check_folders=False)  # fmt: skip
    text = str(caught.value)
    assert "retention.keep_days = 0: is too small" in text
    assert "retention.min_free_percent" in text and "verify.every_days" in text


def test_cli_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    settings = settings_for(tmp_path, keep_days=100)
    repository = settings.desktop.backup / "home"
    build(tmp_path, [400, 0])
    shutil.move(tmp_path / "repo", repository)
    path = tmp_path / "settings.toml"
    text = f'[desktop]\nhome = "{settings.desktop.home.as_posix()}"\n'
    text += f'backup = "{settings.desktop.backup.as_posix()}"\n'
    text += f'[server]\nhome = "{(tmp_path / "server").as_posix()}"\n'
    text += f'[external]\npath = "{(tmp_path / "no drive").as_posix()}"\n'
    text += "[retention]\nkeep_days = 100\n"
    path.write_text(text)
    monkeypatch.setenv("MEGABACKUP_HOME", str(tmp_path / "state"))

    assert cli.main(["prune", "--settings", str(path)]) == 0

    out = capsys.readouterr().out
    assert "removed 1 old snapshot(s)" in out and "not connected" in out
    assert sessions(repository) == [NOW]


def test_settings_dataclass_default_keeps_old_constructors_working() -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    assert fields["retention"].default == RetentionSettings()
