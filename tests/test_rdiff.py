"""rdiff-backup wrapper: argv builders, parsers of recorded real output, repository state, and
Rdiff.backup's waiting, refusing and repairing. A few tests run the real rdiff-backup."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest

from megabackup.tools import rdiff
from megabackup.tools.runner import CancelToken, ProcessResult, Runner

PREFIX = ("rdiff-backup",)
REAL_RDIFF = rdiff.locate()


# ---------------------------------------------------------------------------
# helpers


class ScriptedRunner:
    """Stands in for Runner when the test is about Rdiff's own decisions: replays recorded lines."""

    def __init__(
        self,
        lines: Sequence[str] = (),
        returncode: int = 0,
        then: Sequence[tuple[Sequence[str], int]] = (),
    ) -> None:
        self.lines = list(lines)
        self.returncode = returncode
        self.then = list(then)  # what later calls print, in turn, after the first
        self.calls: list[tuple[str, ...]] = []
        self.called_at: list[float] = []
        self.notes: list[str] = []

    def note(self, line: str) -> None:
        self.notes.append(line)

    def run(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        on_line: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> ProcessResult:
        if self.calls and self.then:
            lines, code = self.then.pop(0)
            self.lines, self.returncode = list(lines), code
        self.calls.append(tuple(argv))
        self.called_at.append(time.monotonic())
        for line in self.lines:
            if on_line:
                on_line(line)
        return ProcessResult(tuple(argv), self.returncode, tuple(self.lines), False, 0.0)


def make_repository(root: Path, recorded, tree: str) -> Path:
    """Rebuild a repository's rdiff-backup-data listing recorded from a real run (empty files)."""
    repository = root / "repo"
    data = repository / rdiff.DATA_DIR
    data.mkdir(parents=True)
    for name in recorded.lines("rdiff", tree):
        if name == "increments":
            (data / name).mkdir()
        else:
            (data / name).touch()
    return repository


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def repository_with_snapshot_at(root: Path, epoch: float) -> Path:
    repository = root / "repo"
    data = repository / rdiff.DATA_DIR
    data.mkdir(parents=True)
    (data / f"current_mirror.{stamp(epoch)}.data").touch()
    return repository


def mirror_names(repository: Path) -> set[str]:
    return {
        str(p.relative_to(repository))
        for p in repository.rglob("*")
        if rdiff.DATA_DIR not in p.relative_to(repository).parts
    }


# ---------------------------------------------------------------------------
# locate


@pytest.mark.posix
def test_locate_prefers_the_configured_program(tmp_path: Path) -> None:
    program = tmp_path / "my rdiff-backup"
    program.write_text("#!/bin/sh\n")
    assert rdiff.locate(program) == (str(program),)


def test_locate_names_a_configured_program_that_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "rdiff-backup"
    with pytest.raises(rdiff.RdiffMissing, match=r"tools\.rdiff_backup") as caught:
        rdiff.locate(missing)
    assert str(missing) in str(caught.value)


def test_locate_finds_rdiff_backup_beside_the_running_python() -> None:
    (found,) = rdiff.locate()
    assert Path(found).parent == Path(sys.executable).parent
    assert Path(found).name.startswith("rdiff-backup")


def test_locate_in_the_frozen_exe_calls_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert rdiff.locate() == (sys.executable, "--rdiff-backup")


# ---------------------------------------------------------------------------
# argv builders


def test_glob_escape_makes_glob_characters_literal() -> None:
    assert rdiff.glob_escape("Photos [2020]") == "Photos [[]2020]"
    assert rdiff.glob_escape("what? *now*") == "what[?] [*]now[*]"
    assert rdiff.glob_escape("plain name") == "plain name"


def test_selection_excludes_first_then_includes_folders_then_excludes_the_rest() -> None:
    source = Path("/data/my home")
    args = rdiff.selection_args(source, ["Documents", "Photos [2020]"], ["*.tmp", "Work/cache"])
    assert args == [
        "--exclude", "**/*.tmp",
        "--exclude", "/data/my home/Work/cache",
        "--include", "/data/my home/Documents",
        "--include", "/data/my home/Photos [[]2020]",
        "--exclude", "**",
    ]  # fmt: skip


def test_selection_of_everything_only_excludes_the_ignore_patterns() -> None:
    args = rdiff.selection_args(Path("/data/home"), [], ["Thumbs.db"])
    assert args == ["--exclude", "**/Thumbs.db"]
    assert rdiff.selection_args(Path("/data/home"), [], []) == []


def test_backup_argv_puts_global_options_before_the_action_and_paths_last() -> None:
    argv = rdiff.backup_argv(PREFIX, Path("/s p/src"), Path("/r p/repo"), ["Docs"], ["*.tmp"])
    assert argv[:3] == ["rdiff-backup", "--api-version", "201"]
    assert argv[3] == "backup"
    assert "--force" not in argv
    assert "--print-statistics" in argv[4:]
    assert argv[-2:] == ["/s p/src", "/r p/repo"]


def test_backup_argv_with_force_passes_it_as_a_global_option() -> None:
    argv = rdiff.backup_argv(PREFIX, Path("/src"), Path("/repo"), force=True)
    assert argv.index("--force") < argv.index("backup")


def test_increments_argv_asks_for_parsable_output_and_sizes_on_request() -> None:
    argv = rdiff.increments_argv(PREFIX, Path("/r p/repo"))
    assert argv == [
        "rdiff-backup", "--api-version", "201", "--parsable-output", "list", "increments",
        "/r p/repo",
    ]  # fmt: skip
    sized = rdiff.increments_argv(PREFIX, Path("/r p/repo"), sizes=True)
    assert sized[-2:] == ["--size", "/r p/repo"]


@pytest.mark.realtools
def test_selection_selects_exactly_the_listed_folders_with_the_real_tool(tmp_path: Path) -> None:
    """The argv as built, run by the real rdiff-backup: spaces, brackets, nested ignore paths."""
    source = tmp_path / "my home"
    files = {
        "Documents/letter.txt": True,
        "Documents/draft.tmp": False,  # ignored by name, anywhere
        "Documents/Work/cache/blob.bin": False,  # ignored by path
        "Documents/Work/report.txt": True,
        "Photos [2020]/beach.jpg": True,
        "Photos 2020/other.jpg": False,  # not listed (and would match an unescaped [2020])
        "Music/song.mp3": False,  # not listed
    }
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    repository = tmp_path / "repo"
    argv = rdiff.backup_argv(
        REAL_RDIFF,
        source,
        repository,
        ["Documents", "Photos [2020]"],
        ["*.tmp", "Documents/Work/cache"],
    )
    result = Runner().run(argv, env=rdiff.child_environment())
    assert result.returncode == 0, result.last_lines()
    present = mirror_names(repository)
    for name, kept in files.items():
        assert (name in present) is kept, name


# ---------------------------------------------------------------------------
# parse_statistics (recorded)


def test_statistics_of_a_first_backup(recorded) -> None:
    # The source: root, Documents, Documents/sub dir, two files there, Music, Music/s.mp3, and
    # cache/ whose only file is *.tmp (excluded): 8 entries, all new except the root directory.
    stats = rdiff.parse_statistics(recorded.lines("rdiff", "backup-first"))
    assert stats is not None
    assert stats.source_files == 8
    assert (stats.new_files, stats.changed_files, stats.deleted_files) == (7, 1, 0)
    assert stats.errors == 0
    assert stats.changes == 8
    assert stats.size_change == len("hello\n") + len("x\n") + len("song\n")


def test_statistics_of_a_second_backup_after_edits(recorded) -> None:
    # Then: one file appended to, one deleted, one added (and their parent directories changed).
    stats = rdiff.parse_statistics(recorded.lines("rdiff", "backup-second"))
    assert stats is not None
    assert (stats.new_files, stats.deleted_files) == (1, 1)
    assert stats.changed_files >= 1
    assert stats.elapsed_seconds > 0


@pytest.mark.parametrize(
    "name", ["backup-same-second", "backup-not-in-past", "backup-after-killed-first"]
)
def test_no_statistics_when_the_backup_did_not_run(recorded, name: str) -> None:
    assert rdiff.parse_statistics(recorded.lines("rdiff", name)) is None


def test_statistics_survive_warning_and_note_lines_around_them(recorded) -> None:
    stats = rdiff.parse_statistics(recorded.lines("rdiff", "backup-regress"))
    assert stats is not None
    assert stats.changed_files > 0
    assert stats.source_files > stats.changed_files


# ---------------------------------------------------------------------------
# parse_increment_entries and parse_timestamp (recorded)


def test_increments_are_listed_oldest_first_and_match_the_file_names(recorded) -> None:
    lines = recorded.lines("rdiff", "list-increments")
    times = [e.time for e in rdiff.parse_increment_entries(lines)]
    assert len(times) == 2
    assert times == sorted(times)
    # The older entry's base name carries its time: both forms must agree.
    base = next(ln for ln in lines if "increments." in ln)
    older = rdiff.parse_timestamp(base.split("increments.", 1)[1].removesuffix(".dir"))
    assert older == times[0]
    # The newest is the current mirror, whose marker file was listed from the same repository.
    mirror = next(n for n in recorded.lines("rdiff", "tree-healthy") if "current_mirror" in n)
    assert rdiff.parse_timestamp(mirror[len("current_mirror.") : -len(".data")]) == times[-1]


def test_increments_after_a_killed_later_backup_still_parse_past_the_warning(recorded) -> None:
    lines = recorded.lines("rdiff", "list-after-killed-later")
    assert lines[0].startswith("WARNING:")
    assert len(rdiff.parse_increment_entries(lines)) == 2


def test_no_increments_from_a_repository_whose_first_backup_was_killed(recorded) -> None:
    lines = recorded.lines("rdiff", "list-after-killed-first")
    assert rdiff.parse_increment_entries(lines) == []


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-30T02:37:09Z",
        "2026-11-30T03:37:09+01:00",
        "2026-11-29T21:37:09-05:00",
        "2026-11-30T02-37-09Z",  # compatible time stamps (':' is not allowed on Windows)
        "2026-11-30T03-37-09+01-00",
    ],
)
def test_timestamps_in_every_form_mean_the_same_moment(text: str) -> None:
    expected = datetime(2026, 11, 30, 2, 37, 9, tzinfo=timezone.utc).timestamp()
    assert rdiff.parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-11-30", "2026-13-30T02:37:09Z", "2026-11-30T02:37:09"]
)
def test_timestamps_that_are_not_one_give_none(text: str) -> None:
    assert rdiff.parse_timestamp(text) is None


# ---------------------------------------------------------------------------
# classify


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("backup-first", "ok"),
        ("backup-same-second", "failed"),
        ("backup-not-in-past", "failed"),
        ("backup-after-killed-first", "failed"),
        ("backup-regress", "repaired"),
        ("tree-killed-first", "failed"),  # 137: killed by SIGKILL, as a shell reports it
    ],
)
def test_recorded_exit_codes_are_classified(recorded, name: str, expected: str) -> None:
    assert rdiff.classify(recorded.returncode("rdiff", name)) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(-9, "failed"), (3, "failed"), (4, "file-errors"), (8, "file-errors"), (6, "file-errors")],
)
def test_exit_code_bits_are_classified(code: int, expected: str) -> None:
    assert rdiff.classify(code) == expected


# ---------------------------------------------------------------------------
# inspect (states rebuilt from recorded listings)


def test_inspect_a_missing_repository(tmp_path: Path) -> None:
    state = rdiff.inspect(tmp_path / "nothing here")
    assert not state.exists
    assert state.last_snapshot is None
    assert not state.interrupted_first_backup


def test_inspect_a_healthy_repository(tmp_path: Path, recorded) -> None:
    state = rdiff.inspect(make_repository(tmp_path, recorded, "tree-healthy"))
    assert state.exists
    assert len(state.mirror_times) == 1
    assert not state.interrupted_first_backup
    assert not state.interrupted_backup
    assert state.last_snapshot == state.mirror_times[0]


def test_inspect_sees_a_killed_first_backup(tmp_path: Path, recorded) -> None:
    state = rdiff.inspect(make_repository(tmp_path, recorded, "tree-killed-first"))
    assert state.exists
    assert state.interrupted_first_backup
    assert state.last_snapshot is None


def test_inspect_sees_a_killed_later_backup(tmp_path: Path, recorded) -> None:
    state = rdiff.inspect(make_repository(tmp_path, recorded, "tree-killed-later"))
    assert state.interrupted_backup
    assert not state.interrupted_first_backup
    assert state.last_snapshot == max(state.mirror_times)
    assert state.mirror_times[0] < state.mirror_times[1]


# ---------------------------------------------------------------------------
# Rdiff.backup: decisions, with recorded output replayed


def test_backup_waits_past_the_second_of_the_last_snapshot(tmp_path: Path, recorded) -> None:
    repository = repository_with_snapshot_at(tmp_path, 1_796_000_000)
    runner = ScriptedRunner(recorded.lines("rdiff", "backup-second"))
    tool = rdiff.Rdiff(runner, PREFIX, clock=lambda: 1_796_000_000.4)  # 0.6 s left in that second
    started = time.monotonic()
    outcome = tool.backup(tmp_path, repository)
    assert runner.called_at[0] - started >= 0.6
    assert outcome.status == "ok"
    assert outcome.statistics is not None and outcome.statistics.new_files == 1


def test_backup_does_not_wait_when_the_last_snapshot_is_older(tmp_path: Path, recorded) -> None:
    repository = repository_with_snapshot_at(tmp_path, 1_796_000_000)
    runner = ScriptedRunner(recorded.lines("rdiff", "backup-second"))
    tool = rdiff.Rdiff(runner, PREFIX, clock=lambda: 1_796_000_005.0)
    started = time.monotonic()
    tool.backup(tmp_path, repository)
    assert runner.called_at[0] - started < 0.5


def test_a_cancel_cuts_the_wait_short_and_starts_nothing(tmp_path: Path) -> None:
    repository = repository_with_snapshot_at(tmp_path, 1_796_000_000)
    runner = ScriptedRunner()
    tool = rdiff.Rdiff(runner, PREFIX, clock=lambda: 1_796_000_000.1)
    cancel = CancelToken()
    threading.Timer(0.1, cancel.cancel).start()
    started = time.monotonic()
    outcome = tool.backup(tmp_path, repository, cancel=cancel)
    assert outcome.status == "cancelled"
    assert not outcome.succeeded
    assert runner.calls == []
    assert time.monotonic() - started < 0.8


def test_a_snapshot_after_one_dated_in_the_future_is_dated_just_after_it(
    tmp_path: Path, recorded
) -> None:
    future = 1_796_000_000 + 2 * 86_400  # taken while the clock ran two days ahead
    repository = repository_with_snapshot_at(tmp_path, future)
    runner = ScriptedRunner(recorded.lines("rdiff", "backup-second"))
    outcome = rdiff.Rdiff(runner, PREFIX, clock=lambda: 1_796_000_000.0).backup(
        tmp_path, repository
    )
    assert outcome.status == "redated" and outcome.succeeded
    [argv] = runner.calls
    assert argv[argv.index("--current-time") + 1] == str(future + 1)
    assert argv.index("--current-time") < argv.index("backup")  # a global option
    assert "later than this computer's clock" in outcome.message
    assert "so that the backups go on; check the clock" in outcome.message


def test_backup_repairs_a_killed_first_backup_with_force(tmp_path: Path, recorded) -> None:
    repository = make_repository(tmp_path, recorded, "tree-killed-first")
    runner = ScriptedRunner(recorded.lines("rdiff", "backup-force-repair"))
    outcome = rdiff.Rdiff(runner, PREFIX).backup(tmp_path / "src", repository)
    (argv,) = runner.calls
    assert "--force" in argv and argv.index("--force") < argv.index("backup")
    assert outcome.status == "ok"
    assert "interrupted" in outcome.message
    # rdiff-backup's own warning about it, joined from the lines it wrapped onto:
    assert any(w.endswith("hopefully you know what you're doing") for w in outcome.warnings)


def test_backup_of_a_healthy_repository_does_not_force(tmp_path: Path, recorded) -> None:
    repository = make_repository(tmp_path, recorded, "tree-healthy")
    runner = ScriptedRunner(recorded.lines("rdiff", "backup-second"))
    rdiff.Rdiff(runner, PREFIX, clock=lambda: 2e9).backup(tmp_path / "src", repository)
    assert "--force" not in runner.calls[0]


def test_backup_after_a_killed_later_backup_reports_the_repair(tmp_path: Path, recorded) -> None:
    repository = make_repository(tmp_path, recorded, "tree-killed-later")
    runner = ScriptedRunner(
        recorded.lines("rdiff", "backup-regress"), recorded.returncode("rdiff", "backup-regress")
    )
    outcome = rdiff.Rdiff(runner, PREFIX, clock=lambda: 2e9).backup(tmp_path / "src", repository)
    assert outcome.status == "repaired"
    assert outcome.succeeded
    assert "rolled back" in outcome.message
    assert "--force" not in runner.calls[0]
    assert (
        "Two different times for current mirror were found, it seems that the last backup "
        "failed, you most probably want to regress the repository"
    ) in outcome.warnings


def test_a_failed_backup_gives_the_whole_error_message(tmp_path: Path, recorded) -> None:
    runner = ScriptedRunner(
        recorded.lines("rdiff", "backup-after-killed-first", root=tmp_path),
        recorded.returncode("rdiff", "backup-after-killed-first"),
    )
    outcome = rdiff.Rdiff(runner, PREFIX).backup(tmp_path / "src", tmp_path / "fresh")
    assert outcome.status == "failed"
    # The message wraps over four lines in the middle of the path; all of it is kept.
    assert f"lockfile {tmp_path}/repo big/rdiff-backup-data/lock.yml" in outcome.message
    assert outcome.message.endswith("at your own risk")


def test_a_same_second_traceback_is_a_failure_with_a_reason(tmp_path: Path, recorded) -> None:
    runner = ScriptedRunner(
        recorded.lines("rdiff", "backup-same-second"),
        recorded.returncode("rdiff", "backup-same-second"),
    )
    outcome = rdiff.Rdiff(runner, PREFIX).backup(tmp_path / "src", tmp_path / "fresh")
    assert outcome.status == "failed"
    assert "shouldn't already exist" in outcome.message


def test_rc_zero_without_statistics_is_not_trusted(tmp_path: Path) -> None:
    runner = ScriptedRunner(["NOTE:    something odd"], returncode=0)
    outcome = rdiff.Rdiff(runner, PREFIX).backup(tmp_path / "src", tmp_path / "fresh")
    assert outcome.status == "failed"


def test_per_file_errors_show_although_the_exit_code_is_zero(tmp_path: Path, recorded) -> None:
    # rdiff-backup exits 0 when files could not be read; only the Errors count tells. The recorded
    # statistics are edited here to carry 2 errors (running as root, no read error can be made).
    lines = [
        "Errors 2" if ln.startswith("Errors ") else ln
        for ln in recorded.lines("rdiff", "backup-second")
    ]
    outcome = rdiff.Rdiff(ScriptedRunner(lines), PREFIX).backup(tmp_path, tmp_path / "fresh")
    assert outcome.status == "file-errors"
    assert outcome.succeeded
    assert "2 file(s)" in outcome.message


def test_messages_join_wrapped_lines_and_stop_at_the_next_message(recorded) -> None:
    lines = recorded.lines("rdiff", "backup-force-repair", root="/r")
    notes = rdiff.messages(lines, "NOTE:")
    assert notes == [
        "Found interrupted initial backup in data directory /r/repo big/rdiff-backup-data. "
        "Removing...",
        "Starting backup operation from source path /r/big src to destination path /r/repo big",
    ]


# ---------------------------------------------------------------------------
# Locks: a live writer is waited for, never forced


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen]]:
    """Start a long sleep under a chosen name, as a process of that name would show to psutil."""
    started: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        program = tmp_path / "bin" / name
        program.parent.mkdir(exist_ok=True)
        if not program.exists():
            program.symlink_to(shutil.which("sleep") or "/bin/sleep")
        process = subprocess.Popen([str(program), "60"])
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def cut_off_naming(tmp_path: Path, recorded, pid: int) -> tuple[Path, list[str]]:
    """A repository whose later backup was cut off, and rdiff-backup's recorded refusal to
    repair it while its marker names process `pid` ("still running")."""
    repository = make_repository(tmp_path, recorded, "tree-killed-later")
    lines = recorded.lines("rdiff", "backup-still-running")
    named = f"id {pid} is still running"
    return repository, [re.sub(r"id \d+ is still running", named, line) for line in lines]


def write_lock(repository: Path, pid: int, host: str | None = None) -> None:
    """rdiff-backup's lock.yml as its lock() writes it (yaml.safe_dump, keys sorted)."""
    data = repository / rdiff.DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    stamp_text = "'2026-12-01T10:00:00+00:00'"
    (data / rdiff.LOCK_FILE).write_text(
        f"cmd: rdiff-backup\nhostname: {host or socket.gethostname()}\npid: {pid}\n"
        f"timestamp: {stamp_text}\n"
    )


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
@pytest.mark.parametrize(
    ("name", "alive"),
    [("rdiff-backup", True), ("MegaBackup", True), ("MegaBackup.exe", True), ("sleep", False)],
)
def test_a_backup_process_is_told_by_its_name(spawn, name: str, alive: bool) -> None:
    assert rdiff.backup_process_alive(spawn(name).pid) is alive


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_a_process_that_ended_holds_nothing(spawn) -> None:
    process = spawn("rdiff-backup")
    process.kill()
    time.sleep(0.2)  # a zombie now: not yet waited for
    assert rdiff.backup_process_alive(process.pid) is False
    process.wait()
    assert rdiff.backup_process_alive(process.pid) is False
    assert rdiff.backup_process_alive(os.getpid()) is False  # we never run it inside ourselves


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_a_live_megabackup_named_by_a_cut_off_session_is_waited_for_never_forced(
    tmp_path: Path, recorded, spawn
) -> None:
    # On Windows the snapshot runs as MegaBackup.exe --rdiff-backup: a name without "rdiff".
    live = spawn("MegaBackup")
    repository, lines = cut_off_naming(tmp_path, recorded, live.pid)
    runner = ScriptedRunner(lines, recorded.returncode("rdiff", "backup-still-running"))
    tool = rdiff.Rdiff(runner, PREFIX, clock=lambda: 2e9, lock_wait=0.5)
    outcome = tool.backup(tmp_path / "src", repository)
    assert outcome.status == "busy" and outcome.status.outcome == "skipped"
    assert "an earlier snapshot is still finishing" in outcome.message
    assert f"process {live.pid}" in outcome.message
    assert runner.calls and not any("--force" in argv for argv in runner.calls)
    assert any("waiting for it to finish" in note for note in runner.notes)


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_a_snapshot_that_ends_while_waited_for_lets_the_backup_run_without_force(
    tmp_path: Path, recorded, spawn
) -> None:
    live = spawn("rdiff-backup")
    repository, still = cut_off_naming(tmp_path, recorded, live.pid)
    runner = ScriptedRunner(still, 1, then=[(recorded.lines("rdiff", "backup-second"), 0)])
    threading.Timer(0.3, live.kill).start()
    tool = rdiff.Rdiff(runner, PREFIX, clock=lambda: 2e9, lock_wait=20)
    started = time.monotonic()
    outcome = tool.backup(tmp_path / "src", repository)
    assert outcome.status == "ok", outcome.message
    assert len(runner.calls) == 2 and not any("--force" in argv for argv in runner.calls)
    assert time.monotonic() - started < 10  # it went on as soon as the other one ended


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_a_number_reused_by_another_program_is_cleared_with_force(
    tmp_path: Path, recorded, spawn
) -> None:
    stranger = spawn("sleep")
    repository, still = cut_off_naming(tmp_path, recorded, stranger.pid)
    runner = ScriptedRunner(still, 1, then=[(recorded.lines("rdiff", "backup-second"), 0)])
    outcome = rdiff.Rdiff(runner, PREFIX, clock=lambda: 2e9).backup(tmp_path / "src", repository)
    assert outcome.status == "ok"
    assert "--force" not in runner.calls[0] and "--force" in runner.calls[1]
    assert f"cleared the lock left by an interrupted snapshot (process {stranger.pid})" in (
        outcome.message
    )


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_a_first_snapshot_still_being_written_is_never_started_over(
    tmp_path: Path, recorded, spawn
) -> None:
    # A killed first backup is started over with --force, which deletes the repository first:
    # while the one that writes it is alive, that would destroy its work as it goes.
    live = spawn("rdiff-backup")
    repository = make_repository(tmp_path, recorded, "tree-killed-first")
    write_lock(repository, live.pid)
    runner = ScriptedRunner(recorded.lines("rdiff", "backup-force-repair"))
    outcome = rdiff.Rdiff(runner, PREFIX, lock_wait=0.5).backup(tmp_path / "src", repository)
    assert outcome.status == "busy"
    assert runner.calls == []


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_a_lock_left_by_a_dead_snapshot_or_another_computer_holds_nothing(
    tmp_path: Path, recorded, spawn
) -> None:
    ended = spawn("rdiff-backup")
    ended.kill()
    ended.wait()
    for index, (pid, host) in enumerate([(ended.pid, None), (spawn("rdiff-backup").pid, "nas")]):
        repository = make_repository(tmp_path / str(index), recorded, "tree-killed-first")
        write_lock(repository, pid, host)
        runner = ScriptedRunner(recorded.lines("rdiff", "backup-force-repair"))
        outcome = rdiff.Rdiff(runner, PREFIX, lock_wait=30).backup(tmp_path / "src", repository)
        assert outcome.status == "ok", (pid, host, outcome.message)
        assert "--force" in runner.calls[0]


def test_a_locked_repository_with_an_unknown_holder_is_retried_never_forced(
    tmp_path: Path, recorded
) -> None:
    repository = make_repository(tmp_path, recorded, "tree-healthy")
    write_lock(repository, 12345, host="another-computer")  # whoever holds it, we cannot tell
    lines = recorded.lines("rdiff", "backup-locked", root=tmp_path)
    runner = ScriptedRunner(lines, recorded.returncode("rdiff", "backup-locked"))
    outcome = rdiff.Rdiff(runner, PREFIX, clock=lambda: 2e9, lock_wait=2.5).backup(
        tmp_path / "src", repository
    )
    assert outcome.status == "busy"
    assert len(runner.calls) >= 2 and not any("--force" in argv for argv in runner.calls)


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
def test_the_wait_for_an_earlier_snapshot_is_cut_short_by_a_cancel(
    tmp_path: Path, recorded, spawn
) -> None:
    repository = make_repository(tmp_path, recorded, "tree-healthy")
    write_lock(repository, spawn("rdiff-backup").pid)
    cancel = CancelToken()
    threading.Timer(0.2, cancel.cancel).start()
    started = time.monotonic()
    runner = ScriptedRunner()
    outcome = rdiff.Rdiff(runner, PREFIX, lock_wait=60).backup(
        tmp_path / "src", repository, cancel=cancel
    )
    assert outcome.status == "cancelled" and runner.calls == []
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------------
# Rdiff with the real tool


@pytest.mark.realtools
def test_back_to_back_backups_with_the_real_tool_both_succeed(tmp_path: Path) -> None:
    source = tmp_path / "my src"
    source.mkdir()
    (source / "a.txt").write_text("one")
    repository = tmp_path / "backups" / "repo"
    tool = rdiff.Rdiff(Runner(), REAL_RDIFF)
    first = tool.backup(source, repository)
    (source / "a.txt").write_text("two, longer")
    second = tool.backup(source, repository)  # at once: rdiff-backup alone would refuse
    assert (first.status, second.status) == ("ok", "ok"), second.message
    assert second.statistics is not None and second.statistics.changed_files >= 1
    assert len(tool.list_increments(repository)) == 2


@pytest.mark.realtools
def test_a_killed_first_backup_is_repaired_by_the_real_tool(tmp_path: Path, recorded) -> None:
    repository = make_repository(tmp_path, recorded, "tree-killed-first")
    source = tmp_path / "src"
    source.mkdir()
    (source / "kept.txt").write_text("kept")
    plain = Runner().run(
        rdiff.backup_argv(REAL_RDIFF, source, repository), env=rdiff.child_environment()
    )
    assert rdiff.classify(plain.returncode) == "failed"  # the state is the recorded one
    outcome = rdiff.Rdiff(Runner(), REAL_RDIFF).backup(source, repository)
    assert outcome.status == "ok", outcome.message
    assert (repository / "kept.txt").read_text() == "kept"
    assert not rdiff.inspect(repository).interrupted_first_backup


@pytest.mark.realtools
def test_listing_a_broken_repository_fails_with_the_reason_with_the_real_tool(
    tmp_path: Path, recorded
) -> None:
    repository = make_repository(tmp_path, recorded, "tree-killed-first")
    with pytest.raises(rdiff.RdiffFailed) as failure:
        rdiff.Rdiff(Runner(), REAL_RDIFF).list_increments(repository)
    assert str(failure.value).strip()


# ---------------------------------------------------------------------------
# Quoted names: what rdiff-backup 2.2.7 wrote for a repository on NTFS (ntfs-3g windows_names)

NTFS_CHARS_TO_QUOTE = b'\x00-\x1f"*/:<>?\\\\|\x7f;'  # rdiff-backup-data/chars_to_quote there


def quoting_repository(folder: Path, chars: bytes | None, escapes: str = "") -> Path:
    (folder / rdiff.DATA_DIR).mkdir(parents=True)
    if chars is not None:
        (folder / rdiff.DATA_DIR / "chars_to_quote").write_bytes(chars)
    (folder / rdiff.DATA_DIR / "special_escapes").write_text(escapes, encoding="utf-8")
    return folder


def test_names_are_quoted_and_unquoted_by_the_repositorys_own_rules(tmp_path: Path) -> None:
    repository = quoting_repository(
        tmp_path / "repo", NTFS_CHARS_TO_QUOTE, "escape_trailing_spaces"
    )
    quoting = rdiff.Quoting.of(repository)
    for plain, quoted in [
        ("Documents/a;b.txt", "Documents/a;059b.txt"),
        ("what?.txt", "what;063.txt"),
        ("x:y/tab\there", "x;058y/tab;009here"),
        ("trailing dot.", "trailing dot;046"),
        ("Résumé für Zoë.txt", "Résumé für Zoë.txt"),  # nothing to quote
    ]:
        assert quoting.quote(plain) == quoted
        assert "/".join(quoting.unquote(p) for p in quoted.split("/")) == plain
    assert rdiff.mirror_path(repository, "Documents/a;b.txt") == repository / "Documents/a;059b.txt"
    name, _, kind = rdiff.split_increment_name("a;059b.txt.2026-12-02T00-03-19Z.diff.gz", quoting)
    assert (name, kind) == ("a;b.txt", "diff.gz")


def test_a_repository_that_quotes_nothing_leaves_names_as_they_are(tmp_path: Path) -> None:
    quoting = rdiff.Quoting.of(quoting_repository(tmp_path / "repo", None))
    assert quoting.quote("a;b.txt") == "a;b.txt"
    assert quoting.unquote("meeting;100.txt") == "meeting;100.txt"  # a real name, not a quote
    dos = rdiff.Quoting.of(quoting_repository(tmp_path / "dos", b"", "escape_dos_devices"))
    assert dos.quote("Docs/con.txt") == "Docs/;099on.txt"


def _holder_writing(source: Path, repository: Path) -> subprocess.Popen:
    """A real later backup of repository, stopped (SIGSTOP) once it holds the lock: alive and
    writing, as an orphan of a killed cycle would be."""
    tool = rdiff.Rdiff(Runner(), REAL_RDIFF)
    assert tool.backup(source, repository).status == "ok"
    for index in range(300):
        (source / f"more-{index:03}.txt").write_text(f"more {index}\n" * 200)
    time.sleep(1.1)  # one snapshot a second at most
    argv = rdiff.backup_argv(REAL_RDIFF, source, repository)
    holder = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline and rdiff.lock_file_pid(repository) != holder.pid:
        time.sleep(0.002)
    holder.send_signal(signal.SIGSTOP)
    assert rdiff.lock_file_pid(repository) == holder.pid, "the holder never took the lock"
    return holder


@pytest.mark.posix  # a process named by a symbolic link, SIGSTOP
@pytest.mark.realtools
def test_a_snapshot_never_runs_beside_a_live_one_with_the_real_tool(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("one")
    repository = tmp_path / "repo"
    holder = _holder_writing(source, repository)
    logged: list[str] = []
    try:
        busy = rdiff.Rdiff(Runner(log=logged.append), REAL_RDIFF, lock_wait=1.5).backup(
            source, repository
        )
        assert busy.status == "busy", busy.message
        assert "an earlier snapshot is still finishing" in busy.message
        assert not any("--force" in line for line in logged)

        # it goes on once the other one has finished, and both snapshots are whole
        (source / "a.txt").write_text("two, after the other snapshot began")
        threading.Timer(0.5, holder.send_signal, args=(signal.SIGCONT,)).start()
        done = rdiff.Rdiff(Runner(log=logged.append), REAL_RDIFF, lock_wait=60).backup(
            source, repository
        )
        assert holder.wait(30) == 0
        assert done.status == "ok", done.message
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.wait(30)
    assert not any("--force" in line for line in logged)
    sessions = list((repository / rdiff.DATA_DIR).glob("session_statistics.*"))
    assert len(sessions) == 3  # the first, the other one, and ours: none of them cut off
    assert not rdiff.inspect(repository).interrupted_backup
    assert (repository / "a.txt").read_text() == "two, after the other snapshot began"
    assert (repository / "more-299.txt").is_file()
    verified = rdiff.Rdiff(Runner(), REAL_RDIFF).verify(repository)
    assert verified.damaged == () and not verified.failure
