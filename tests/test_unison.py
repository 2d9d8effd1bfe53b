"""unison wrapper: argv, environment, parsing of recorded real output, classification, conflict
copies; and two short runs of the real unison."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from megabackup.tools import unison
from megabackup.tools.runner import ProcessResult, Runner

DESKTOP = "desk top"
SERVER = "ser ver"
SHARE_HOME = "mnt/share/127.0.0.1/home"  # the share in the recording from tests/realfs


def report_of(recorded, name: str, root: Path, desktop: str = DESKTOP, server: str = SERVER):
    lines = [ln for ln in recorded.lines("unison", name, root) if not unison.is_noise(ln)]
    return unison.parse_output(lines, root / desktop, root / server)


def result_of(recorded, name: str, cancelled: bool = False) -> ProcessResult:
    code = recorded.returncode("unison", name)
    lines = tuple(recorded.lines("unison", name))
    return ProcessResult(("unison",), code, lines, cancelled, 0.1)


# ---------------------------------------------------------------------------
# argv and environment


def test_the_share_is_case_insensitive_so_unison_is_told_to_ignore_case() -> None:
    # unison's own default is case-sensitive when neither host runs Windows or macOS
    argv = unison.sync_argv("unison", unison.SyncJob(Path("/d"), Path("/s")))
    assert ("-ignorecase", "true") in list(itertools.pairwise(argv))


def test_sync_argv_is_a_batch_run_of_two_roots_with_times() -> None:
    argv = unison.sync_argv("unison", unison.SyncJob(Path("/d/desk top"), Path("/s/ser ver")))
    assert argv[:3] == ["unison", "/d/desk top", "/s/ser ver"]
    for flag in ("-batch", "-times"):
        assert flag in argv
    assert argv[argv.index("-ui") + 1] == "text"
    assert argv[argv.index("-perms") + 1] == "0"
    assert argv[argv.index("-fastcheck") + 1] == "true"
    assert ("-ignore", unison.OWN_FILES_PATTERN) in list(itertools.pairwise(argv))


@pytest.mark.parametrize("keep_both", [True, False])
def test_prefer_newer_never_goes_without_copyonconflict(keep_both: bool) -> None:
    argv = unison.sync_argv("unison", unison.SyncJob(Path("/d"), Path("/s"), keep_both=keep_both))
    assert ("-prefer" in argv) is keep_both
    if "-prefer" in argv:
        assert argv[argv.index("-prefer") + 1] == "newer"
        assert "-copyonconflict" in argv
    else:
        assert "-copyonconflict" not in argv


def test_sync_argv_maps_ignore_patterns_and_folders() -> None:
    job = unison.SyncJob(
        Path("/d"),
        Path("/s"),
        folders=("Documents", "My Music"),
        ignore=("*.tmp", "Work/cache/"),
        fastcheck=False,
    )
    argv = unison.sync_argv("unison", job)
    pairs = list(itertools.pairwise(argv))
    assert ("-ignore", "Name *.tmp") in pairs
    assert ("-ignore", "Path Work/cache") in pairs
    assert ("-path", "Documents") in pairs
    assert ("-path", "My Music") in pairs
    assert ("-fastcheck", "false") in pairs


def test_environment_fixes_the_archive_folder_and_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = unison.environment(Path("state/unison"))
    assert env["UNISON"] == str(tmp_path / "state" / "unison")  # absolute, whatever the cwd
    assert env["UNISONLOCALHOSTNAME"] == unison.HOST_NAME
    assert env["PATH"] == os.environ["PATH"]


def test_locate_prefers_the_configured_program(tmp_path: Path) -> None:
    program = tmp_path / "unison.exe"
    program.write_text("")
    assert unison.locate(program) == str(program)
    with pytest.raises(unison.UnisonMissing, match=r"tools\.unison"):
        unison.locate(tmp_path / "missing.exe")


# ---------------------------------------------------------------------------
# noise


def test_progress_bars_are_noise_and_nothing_else_is(recorded) -> None:
    lines = recorded.lines("unison", "keep-both-server-newer")
    noise = [ln for ln in lines if unison.is_noise(ln)]
    assert noise and all("ETA" in ln for ln in noise)
    kept = [ln for ln in lines if not unison.is_noise(ln)]
    assert any(ln.startswith("[BGN]") for ln in kept)
    assert any(ln.startswith("Synchronization complete") for ln in kept)
    assert all("ETA" not in ln for ln in kept)


# ---------------------------------------------------------------------------
# parse_output on recorded runs


def test_first_sync_copies_the_new_folder_to_the_server(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "first", tmp_path)
    assert (report.to_server, report.to_desktop) == (1, 0)
    assert report.conflicts == []
    assert report.complete
    assert report.changed_server and not report.changed_desktop


def test_a_conflict_kept_both_with_the_server_newer(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "keep-both-server-newer", tmp_path)
    assert report.conflicts == [
        unison.Conflict("Documents/doc file.txt", "kept-both", "changed on both sides")
    ]
    # The server's version and its new file come to the desktop; the desktop's deletion goes over.
    assert (report.to_desktop, report.deleted_on_server) == (2, 1)
    assert (report.to_server, report.deleted_on_desktop) == (0, 0)
    assert report.skipped == [] and report.failed == []


def test_a_conflict_kept_both_with_the_desktop_newer(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "keep-both-desktop-newer", tmp_path)
    assert [c.path for c in report.conflicts] == ["Documents/doc file.txt"]
    assert report.conflicts[0].resolution == "kept-both"
    assert (report.to_server, report.to_desktop) == (1, 0)


def test_the_conflict_copy_travels_as_a_plain_new_file(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "copy-propagates", tmp_path)
    assert report.conflicts == []
    assert report.to_server == 1


def test_a_skipped_conflict_is_listed_with_its_reason(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "skip-conflict", tmp_path)
    assert report.conflicts == [
        unison.Conflict("Documents/doc file.txt", "skipped", "contents changed on both sides")
    ]
    assert report.skipped == ["Documents/doc file.txt"]
    # The server deleted a file: the deletion reaches the desktop; the earlier copy arrives there.
    assert report.deleted_on_desktop == 1
    assert report.to_desktop == 1
    assert report.complete


def test_deletions_are_counted_on_the_side_they_happen(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "deletion", tmp_path)
    assert report.deleted_on_server == 2
    assert (report.to_server, report.to_desktop, report.deleted_on_desktop) == (0, 0, 0)
    assert report.changed_server and not report.changed_desktop


@pytest.mark.parametrize("name", ["nothing", "settle"])
def test_nothing_to_do_changes_nothing(recorded, tmp_path: Path, name: str) -> None:
    report = report_of(recorded, name, tmp_path)
    assert not report.changed_server and not report.changed_desktop
    assert report.conflicts == [] and report.fatal == ""
    assert report.nothing_to_do  # the homes are alike: what lets the next cycle skip the sync


def test_a_sync_that_copied_something_had_something_to_do(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "copy-propagates", tmp_path)
    assert report.complete and not report.nothing_to_do


def test_failed_transfers_are_listed_and_not_counted_as_changes(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "partial-failed", tmp_path, "pair two/desk", "pair two/srv")
    assert sorted(report.failed) == [".bashrc", "Makefile"]
    assert not report.complete
    # both were started ([BGN]) and refused by unison's check: no [END], "0 items transferred",
    # so the desktop did not change and its second snapshot has nothing to take
    assert (report.to_desktop, report.to_server) == (0, 0)
    assert not report.changed_desktop


@pytest.mark.parametrize("name", ["emptied", "root-missing"])
def test_an_emptied_root_is_fatal_and_said_plainly(recorded, tmp_path: Path, name: str) -> None:
    report = report_of(recorded, name, tmp_path)
    assert "emptied" in report.fatal
    assert not report.changed_server and not report.changed_desktop


@pytest.mark.posix
def test_roots_given_through_a_symbolic_link_are_still_recognised(recorded, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    # unison prints the canonical root, here the real folder, while the settings name the link.
    lines = [
        ln
        for ln in recorded.lines("unison", "keep-both-server-newer", real)
        if not unison.is_noise(ln)
    ]
    report = unison.parse_output(lines, link / DESKTOP, link / SERVER)
    assert (report.to_desktop, report.deleted_on_server) == (2, 1)


# ---------------------------------------------------------------------------
# Roots as unison prints them on Windows (src/common.ml root2string, src/fspath.ml): forward
# slashes, the drive letter upper-cased, a share root ending in "/". The recorded Linux runs are
# put back with the roots in that form, and the settings spell them the way a person does.

WINDOWS_ROOTS = [
    # (desktop in the settings, as unison prints it, server in the settings, as printed)
    ("C:\\Users\\andy", "C:/Users/andy", "\\\\nas\\andy", "//nas/andy/"),
    ("C:/Users/andy/", "C:/Users/andy", "//nas/andy", "//nas/andy/"),
    ("C:\\Users\\andy", "C:/Users/andy", "Z:\\andy", "Z:/andy"),  # a mapped drive letter
    ("c:\\users\\ANDY", "C:/Users/andy", "\\\\NAS\\Andy\\", "//nas/andy/"),  # another case
    ("D:\\", "D:/", "\\\\nas\\andy\\home", "//nas/andy/home"),  # a drive root, a share folder
]


def windows_lines(recorded, name: str, desktop: str, server: str) -> list[str]:
    lines = recorded.lines("unison", name, "<ROOT>")
    lines = [
        ln.replace("<ROOT>/desk top", desktop).replace("<ROOT>/ser ver", server) for ln in lines
    ]
    return [ln for ln in lines if not unison.is_noise(ln)]


@pytest.mark.parametrize(("desktop", "printed_desktop", "server", "printed_server"), WINDOWS_ROOTS)
def test_unison_prints_windows_roots_with_forward_slashes_and_they_are_recognised(
    recorded, desktop: str, printed_desktop: str, server: str, printed_server: str
) -> None:
    lines = windows_lines(recorded, "keep-both-server-newer", printed_desktop, printed_server)
    assert any(f" to {printed_desktop}" in ln for ln in lines)  # the recording really has them
    report = unison.parse_output(lines, Path(desktop), Path(server), windows=True)
    assert (report.to_desktop, report.deleted_on_server) == (2, 1)
    assert (report.to_server, report.deleted_on_desktop) == (0, 0)
    first = unison.parse_output(
        windows_lines(recorded, "first", printed_desktop, printed_server),
        Path(desktop),
        Path(server),
        windows=True,
    )
    assert (first.to_server, first.to_desktop) == (1, 0)


def test_the_windows_root_forms_are_those_unison_prints() -> None:
    for given, printed, server, printed_server in WINDOWS_ROOTS:
        assert unison.printed_root(given, windows=True).casefold() == printed.casefold()
        assert unison.printed_root(server, windows=True).casefold() == printed_server.casefold()
    assert unison.printed_root("\\\\?\\UNC\\nas\\andy", windows=True) == "//nas/andy/"
    assert unison.printed_root("/home/andy/", windows=False) == "/home/andy"


def test_a_root_in_short_names_is_recognised_by_its_long_name(
    recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # unison prints the long name (GetLongPathNameW in its getcwd); the settings may hold 8.3 names
    long_names = {"C:\\Users\\ANDREW~1": "C:\\Users\\Andrew Smith"}
    monkeypatch.setattr(unison.winsys, "long_path_name", lambda p: long_names.get(str(p), str(p)))
    lines = windows_lines(recorded, "keep-both-server-newer", "C:/Users/Andrew Smith", "//nas/a/")
    report = unison.parse_output(
        lines, Path("C:\\Users\\ANDREW~1"), Path("\\\\nas\\a"), windows=True
    )
    assert report.to_desktop == 2


def test_on_windows_failed_transfers_are_not_counted_either(recorded) -> None:
    lines = [
        ln.replace("<ROOT>/pair two/desk", "C:/Users/andy").replace(
            "<ROOT>/pair two/srv", "//nas/andy/"
        )
        for ln in recorded.lines("unison", "partial-failed", "<ROOT>")
    ]
    report = unison.parse_output(lines, Path("C:\\Users\\andy"), Path("//nas/andy"), windows=True)
    assert sorted(report.failed) == [".bashrc", "Makefile"]
    assert (report.to_desktop, report.to_server) == (0, 0)


def test_a_time_the_share_did_not_keep_is_read_as_such(recorded, tmp_path: Path) -> None:
    # recorded on the Samba share of tests/realfs: the first sync of 2,000 files, one of which
    # the share stamped with the time of the copy; unison fails the whole new folder for it
    report = report_of(recorded, "time-not-kept", tmp_path, "desktop/home", SHARE_HOME)
    assert report.failed == ["Documents"]
    assert report.failure_reasons["Documents"].startswith(unison.TIME_NOT_KEPT)
    assert report.only_times_not_kept
    status, message = unison.classify(result_of(recorded, "time-not-kept"), report)
    assert status == "partial"
    assert message.startswith("1 item(s) could not be copied (where they went did not keep")
    assert message.endswith("the next backup tries them again, and nothing is lost meanwhile")


def test_other_failures_are_not_taken_for_times_not_kept(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "partial-failed", tmp_path, "pair two/desk", "pair two/srv")
    assert report.failure_reasons[".bashrc"] == "Destination updated during synchronization"
    assert not report.only_times_not_kept
    _, message = unison.classify(result_of(recorded, "partial-failed"), report)
    assert "modification time" not in message and "the next backup tries them again" in message


def test_a_run_followed_by_another_adds_up_what_both_did(recorded, tmp_path: Path) -> None:
    first = report_of(recorded, "keep-both-server-newer", tmp_path)
    later = report_of(recorded, "time-not-kept", tmp_path, "desktop/home", SHARE_HOME)
    both = first.then(later)
    assert (both.to_desktop, both.deleted_on_server) == (first.to_desktop, 1)
    assert both.conflicts == first.conflicts and both.failed == ["Documents"]
    assert not both.complete


def test_only_transfers_that_ended_count() -> None:
    lines = [
        "[BGN] Copying Documents/a.txt from C:/Users/andy to //nas/andy/",
        "[BGN] Updating file Documents/b from c.txt from //nas/andy/ to C:/Users/andy",
        "[BGN] Deleting Documents/old.txt from //nas/andy/",
        "[END] Updating file Documents/b from c.txt",  # " from " in the name itself
        "[END] Deleting Documents/old.txt",
        "Synchronization incomplete at 10:00:00  (2 items transferred, 0 skipped, 1 failed)",
        "  failed: Documents/a.txt",
    ]
    report = unison.parse_output(lines, Path("C:/Users/andy"), Path("//nas/andy"), windows=True)
    assert (report.to_server, report.to_desktop, report.deleted_on_server) == (0, 1, 1)


# ---------------------------------------------------------------------------
# classify


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("first", "ok"),
        ("deletion", "ok"),
        ("keep-both-server-newer", "conflicts"),  # rc 0, yet the person must be told
        ("skip-conflict", "conflicts"),
        ("emptied", "failed"),
        ("root-missing", "failed"),
    ],
)
def test_recorded_runs_are_classified(recorded, tmp_path: Path, name: str, status: str) -> None:
    report = report_of(recorded, name, tmp_path)
    assert unison.classify(result_of(recorded, name), report)[0] == status


def test_a_skip_says_how_many_items_were_left_alone(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "skip-conflict", tmp_path)
    _, message = unison.classify(result_of(recorded, "skip-conflict"), report)
    assert message.startswith("1 item(s) left alone")


def test_a_name_differing_only_in_case_is_skipped_with_its_reason_in_words() -> None:
    reason = (
        "Two or more files on a case-sensitive system have names identical except for case.  "
        "They cannot be synchronized to a case-insensitive file system.  "
        "(File 'Documents/Notes.TXT')"
    )
    lines = [
        "         error            Documents/Notes.TXT",
        "Synchronization complete at 23:32:47  (0 items transferred, 1 skipped, 0 failed)",
        f"  skipped: Documents/Notes.TXT ({reason})",
    ]
    report = unison.parse_output(lines, Path("/d"), Path("/s"), windows=False)
    status, message = unison.classify(
        ProcessResult(("unison",), 1, tuple(lines), False, 0.1), report
    )
    assert report.conflicts == []
    assert status == "partial"
    assert "Documents/Notes.TXT" in message and "upper/lower case" in message
    assert "both sides changed" not in message


def test_partial_failure_names_the_items(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "partial-failed", tmp_path, "pair two/desk", "pair two/srv")
    status, message = unison.classify(result_of(recorded, "partial-failed"), report)
    assert status == "partial"
    assert ".bashrc" in message and "Makefile" in message


def test_a_fatal_run_gives_its_reason(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "emptied", tmp_path)
    _, message = unison.classify(result_of(recorded, "emptied"), report)
    assert message == report.fatal


def test_a_cancelled_run_is_cancelled_whatever_its_exit_code(recorded, tmp_path: Path) -> None:
    report = report_of(recorded, "first", tmp_path)
    assert unison.classify(result_of(recorded, "first", cancelled=True), report)[0] == "cancelled"


# ---------------------------------------------------------------------------
# conflict copies (folders rebuilt from recorded listings)


def folder_from(recorded, tree: str, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in recorded.lines("unison", tree):
        (folder / name).write_text(name)
    return folder


def test_the_conflict_copy_beside_a_file_is_found(recorded, tmp_path: Path) -> None:
    folder = folder_from(recorded, "tree-after-keep-both", tmp_path / "Documents")
    copies = unison.conflict_copies(folder, "doc file.txt")
    assert [p.name for p in copies] == [
        n for n in recorded.lines("unison", "tree-after-keep-both") if "(conflict" in n
    ]
    assert len(copies) == 1
    assert unison.conflict_copies(folder, "new on server.txt") == []


@pytest.mark.parametrize("name", ["Makefile", ".bashrc"])
def test_conflict_copies_of_dot_files_and_names_without_suffix(
    recorded, tmp_path: Path, name: str
) -> None:
    folder = folder_from(recorded, "tree-odd-names", tmp_path / "desk")
    copies = unison.conflict_copies(folder, name)
    assert len(copies) == 1
    assert copies[0].name != name and "(conflict_on_" in copies[0].name


def test_conflict_copies_include_numbered_ones_and_nothing_else(tmp_path: Path) -> None:
    for name in (
        "doc.txt",
        "doc (conflict_on_2026-11-30).txt",
        "doc (conflict #1_on_2026-11-30).txt",
        "doc (conflicting notes).txt",  # the person's own file
        "doc (conflict_on_2026-11-30).txt.bak",
        "doc.tar (conflict_on_2026-11-30).gz",
    ):
        (tmp_path / name).write_text(name)
    assert [p.name for p in unison.conflict_copies(tmp_path, "doc.txt")] == [
        "doc (conflict #1_on_2026-11-30).txt",
        "doc (conflict_on_2026-11-30).txt",
    ]
    assert unison.conflict_copies(tmp_path / "missing", "doc.txt") == []


# ---------------------------------------------------------------------------
# The real unison


def pair(tmp_path: Path) -> tuple[Path, Path, unison.Unison]:
    desktop, server = tmp_path / DESKTOP, tmp_path / SERVER
    desktop.mkdir()
    server.mkdir()
    tool = unison.Unison(Runner(), unison.locate(), tmp_path / "state" / "unison")
    return desktop, server, tool


@pytest.mark.realtools
def test_a_real_conflict_keeps_both_versions_and_finds_the_copy(tmp_path: Path) -> None:
    desktop, server, tool = pair(tmp_path)
    (desktop / "note.txt").write_text("first")
    assert tool.sync(unison.SyncJob(desktop, server)).status == "ok"
    (desktop / "note.txt").write_text("desktop's edit")
    (server / "note.txt").write_text("server's edit, newer")
    os.utime(desktop / "note.txt", (1_700_000_000, 1_700_000_000))
    os.utime(server / "note.txt", (1_700_000_100, 1_700_000_100))
    outcome = tool.sync(unison.SyncJob(desktop, server))
    assert outcome.status == "conflicts", outcome.message
    assert outcome.report.conflicts[0].path == "note.txt"
    assert outcome.report.conflicts[0].resolution == "kept-both"
    assert (desktop / "note.txt").read_text() == "server's edit, newer"
    (copy,) = unison.conflict_copies(desktop, "note.txt")
    assert copy.read_text() == "desktop's edit"
    assert outcome.process is not None
    assert not any(unison.is_noise(ln) for ln in outcome.process.lines)


@pytest.mark.realtools
def test_names_differing_only_in_case_stay_on_the_desktop_and_leave_nothing_on_the_share(
    tmp_path: Path,
) -> None:
    desktop, server, tool = pair(tmp_path)
    (desktop / "Documents").mkdir()
    (desktop / "Documents" / "notes.txt").write_text("lower")
    (desktop / "Documents" / "Notes.TXT").write_text("upper")
    (desktop / "Documents" / "other.txt").write_text("other")
    outcome = tool.sync(unison.SyncJob(desktop, server))
    assert outcome.status == "partial", outcome.message
    assert "upper/lower case" in outcome.message
    assert sorted(p.name for p in (server / "Documents").iterdir()) == ["other.txt"]
    assert (desktop / "Documents" / "notes.txt").read_text() == "lower"
    assert (desktop / "Documents" / "Notes.TXT").read_text() == "upper"


def test_paths_left_out_are_written_as_literal_globs_for_unisons_profile() -> None:
    job = unison.SyncJob(Path("/d"), Path("/s"), leave_out=("Documents/My Music", " a*[b]{c,d}"))
    assert unison.profile_text(job).splitlines()[1:] == [
        "ignore = Path Documents/My Music",
        "ignore = Path \\ a\\*\\[b\\]\\{c\\,d\\}",
    ]


@pytest.mark.realtools
def test_what_no_snapshot_holds_is_left_alone_by_the_real_unison(tmp_path: Path) -> None:
    # Windows' links and OneDrive placeholders: thousands of them would not fit on a command
    # line, so they reach unison through its profile
    desktop, server, tool = pair(tmp_path)
    for name in ("My Music", " odd [name]*, {x}"):
        (desktop / "Documents" / name).mkdir(parents=True)
        (desktop / "Documents" / name / "inside.txt").write_text("not in any snapshot")
    (desktop / "Documents" / "notes.txt").write_text("synced")
    (server / "Documents" / "My Music").mkdir(parents=True)
    (server / "Documents" / "My Music" / "server's own.txt").write_text("left alone")
    job = unison.SyncJob(
        desktop, server, leave_out=("Documents/My Music", "Documents/ odd [name]*, {x}")
    )
    outcome = tool.sync(job)
    assert outcome.status == "ok", outcome.message
    assert sorted(p.name for p in (server / "Documents").iterdir()) == ["My Music", "notes.txt"]
    assert [p.name for p in (server / "Documents" / "My Music").iterdir()] == ["server's own.txt"]
    assert not (desktop / "Documents" / "My Music" / "server's own.txt").exists()


@pytest.mark.posix
@pytest.mark.realtools
def test_a_real_sync_through_a_symbolic_link_counts_its_changes(tmp_path: Path) -> None:
    desktop, server, tool = pair(tmp_path)
    (server / "from server.txt").write_text("hello")
    link = tmp_path / "link to desktop"
    link.symlink_to(desktop, target_is_directory=True)
    outcome = tool.sync(unison.SyncJob(link, server))
    assert outcome.status == "ok", outcome.message
    assert (desktop / "from server.txt").exists()
    assert outcome.report.to_desktop == 1
