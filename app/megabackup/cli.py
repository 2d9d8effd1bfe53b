"""The command line: parse, dispatch, and map every known error to one plain line and an exit code.

Exit codes: 0 all good, 1 the cycle ran with warnings or conflicts (or a place was away), 2 bad
settings or usage, 3 a step failed (or the cycle could not start).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from megabackup import __version__, bundle, notify, places, report, words
from megabackup.engine import CycleOptions, CycleResult, checkup, run_cycle
from megabackup.engine.cycle import cycle_lock
from megabackup.engine.status import read_status
from megabackup.errors import MegaBackupError, UsageError
from megabackup.locations import AppPaths, default_settings_path
from megabackup.outcome import ExitCode
from megabackup.runlog import newest_log
from megabackup.settings import Settings, SettingsError, load
from megabackup.tools.runner import Runner
from megabackup.tray import instance


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--settings",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="settings file (default: settings.toml in the user's settings folder)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    parser = argparse.ArgumentParser(
        prog="megabackup",
        description="Back up and sync your files across desktop, network share and USB drive.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"MegaBackup {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="run one backup cycle now")
    run.add_argument(
        "--allow-empty",
        action="store_true",
        help="go ahead although a place that held files is now empty (you emptied it on purpose)",
    )
    run.add_argument(
        "--allow-deletions",
        action="store_true",
        help="let the sync pass on a large number of deletions (you deleted them on purpose)",
    )
    run.add_argument(
        "--new-place",
        action="store_true",
        help="accept a server folder without its marker as a new place (you moved your files)",
    )
    run.add_argument(
        "--full-check",
        action="store_true",
        help="compare file contents in the sync and snapshot every place, taking no shortcuts",
    )
    run.add_argument(
        "--notify",
        action="store_true",
        help="also tell the outcome in a desktop notification (for scheduled tasks)",
    )
    commands.add_parser("status", parents=[common], help="the last backup, places, conflicts")
    commands.add_parser("check", parents=[common], help="check the settings and the places")
    commands.add_parser("log", parents=[common], help="print the path of the newest run log")
    init = commands.add_parser(
        "init-drive", parents=[common], help="mark a folder or drive as the external backup drive"
    )
    init.add_argument("path", type=Path, help="the drive or folder, e.g. F:/ or F:/MegaBackup")
    init.add_argument("--name", help="the drive's name (default: external.name, or MegaBackup)")
    demo = commands.add_parser(
        "demo", parents=[common], help="build three sample places and run real cycles on them"
    )
    demo.add_argument("dir", nargs="?", type=Path, help="where to build it (default: a new folder)")
    tray = commands.add_parser(
        "tray", parents=[common], help="run in the system tray (a second launch: back up now)"
    )
    tray.add_argument(
        "--send",
        choices=instance.COMMANDS,
        metavar="REQUEST",
        help="ask the running tray to do this and exit: " + ", ".join(instance.COMMANDS),
    )
    _add_restore_commands(commands, common)
    return parser


def _add_restore_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser):
    versions = commands.add_parser(
        "versions", parents=[common], help="every copy of a file or folder that MegaBackup holds"
    )
    versions.add_argument("path", help="desktop path, server path, or a path relative to home")
    restore = commands.add_parser(
        "restore", parents=[common], help="restore a file or folder as it was (never overwrites)"
    )
    restore.add_argument("path", help="desktop path, server path, or a path relative to home")
    restore.add_argument(
        "--as-of",
        metavar="TIME",
        help='2026-11-20, "2026-11-20 14:30", "3 days ago", yesterday, "last week" '
        "(default: the newest snapshot that holds it)",
    )
    restore.add_argument(
        "--to", type=Path, metavar="DIR", help='where to put it (default: "Restored <date>" here)'
    )
    commands.add_parser("verify", parents=[common], help="check every backup against checksums")
    commands.add_parser(
        "prune", parents=[common], help="remove snapshots older than retention.keep_days now"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    if args.command is None:
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(_dispatch(args))
    except MegaBackupError as exc:
        if debug and exc.exit_code != ExitCode.USAGE:
            traceback.print_exc()
        _fail(exc.message)
        return int(exc.exit_code)
    except OSError as exc:
        if debug:
            traceback.print_exc()
        _fail(_one_line(exc))
        return ExitCode.FAILED
    except KeyboardInterrupt:
        _fail("stopped (Ctrl+C); the next backup repairs anything left half-done")
        return ExitCode.FAILED
    except Exception as exc:  # a bug: say so plainly, details on request
        if debug:
            traceback.print_exc()
        _fail(f"unexpected problem: {exc!r}. Run again with --debug for details.")
        return ExitCode.FAILED


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "run":
        return _run(args)
    if command == "status":
        return _status(args)
    if command == "check":
        return _check(args)
    if command == "log":
        return _log()
    if command == "init-drive":
        return _init_drive(args)
    if command == "demo":
        from megabackup.demo import run_demo

        return run_demo(args.dir)
    if command == "tray":
        from megabackup.tray import app as tray

        settings = getattr(args, "settings", None)
        return tray.main(settings, send=args.send, debug=getattr(args, "debug", False))
    if command in ("versions", "restore", "verify", "prune"):
        return _restore_command(command, args)
    raise UsageError(f"unknown command {command}")


def _settings(args: argparse.Namespace) -> Settings:
    path = getattr(args, "settings", None) or default_settings_path()
    return load(path)


def _run(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except SettingsError as exc:
        if args.notify:  # a scheduled task has nobody watching its exit code
            _desktop_notifier()(notify.settings_notice(exc))
        raise
    paths = AppPaths.from_environment()
    options = CycleOptions(
        trigger="command line",
        allow_empty=args.allow_empty,
        allow_deletions=args.allow_deletions,
        new_place=args.new_place,
        fastcheck=not args.full_check,
        skip_unchanged=not args.full_check,
        bundled_unison=bundle.unison(),
    )
    result = run_cycle(settings, paths, options=options, events=_print_progress)
    print(report.cycle_report(result))
    if args.notify:
        _notify_outcome(result, settings, paths)
    return result.exit_code


def _notify_outcome(result: CycleResult, settings: Settings, paths: AppPaths) -> None:
    days = settings.notifications.overdue_days
    overdue = notify.overdue_places(read_status(paths).places, result.finished, days)
    on_success = settings.notifications.on_success
    notice = notify.cycle_notice(result, on_success=on_success, overdue=overdue)
    if notice is not None:
        _desktop_notifier()(notice)


def _desktop_notifier() -> notify.Notifier:
    return notify.Notifier([notify.plyer_channel(notify.default_icon_file())])


def _print_progress(event: object) -> None:
    kind = getattr(event, "kind", "")
    if kind == "step-started":
        index, total, title = event.index, event.total, event.title  # type: ignore[attr-defined]
        print(f"  ... step {index} of {total}: {title}", file=sys.stderr, flush=True)


def _status(args: argparse.Namespace) -> int:
    paths = AppPaths.from_environment()
    wanted = places.SOURCES
    # status reads the history: bad settings must not hide it
    with contextlib.suppress(SettingsError):
        wanted = places.sources(_settings(args))
    print(report.status_report(read_status(paths, wanted)))
    return ExitCode.OK


def _check(args: argparse.Namespace) -> int:
    report = checkup.check(
        _settings(args), AppPaths.from_environment(), bundled_unison=bundle.unison()
    )
    for line in report.lines():
        print(line)
    return report.exit_code


def _log() -> int:
    newest = newest_log(AppPaths.from_environment().logs)
    if newest is None:
        _fail("no backup has run yet, so there is no log")
        return ExitCode.FAILED
    print(newest)
    return ExitCode.OK


def _init_drive(args: argparse.Namespace) -> int:
    name = args.name
    if not name:
        try:
            name = _settings(args).external.name
        except SettingsError:
            name = "MegaBackup"
    target: Path = args.path.expanduser().absolute()
    marker = places.mark_drive(target, name)
    print(f'{target} is now the MegaBackup drive "{name}" (marker: {marker.name}).')
    return ExitCode.OK


def _restore_command(command: str, args: argparse.Namespace) -> int:
    from megabackup.engine import retention, verify
    from megabackup.restore.backups import Backups

    settings = _settings(args)
    if command == "versions":
        found = Backups(settings).versions(args.path)
        print(f"Copies of {found.target.relative} ({found.target.kind}):")
        if not any(v.kind == "live" for v in found.versions):
            print("  (not on the desktop or the server now)")
        for version in found.versions:
            print(f"  {version.describe()}")
        for note in found.notes:
            print(f"  not looked at: {note}")
        if found.snapshots:
            newest = found.snapshots[0]
            print(
                f'Restore one with: megabackup restore "{found.target.relative}" '
                f'--as-of "{words.moment_text(newest.time)}"'
            )
        return ExitCode.OK
    if command == "restore":
        print(Backups(settings).restore(args.path, args.as_of, args.to).describe())
        return ExitCode.OK
    paths = AppPaths.from_environment()
    lookup = places.find_external(settings.external.name, settings.external.path)
    repositories = retention.repositories(settings, lookup.path)
    if lookup.path is None:
        print(f"  note: {lookup.reason}; only the desktop backup is looked at")
    # these write or read whole repositories: never beside a backup
    with cycle_lock(paths, "a backup is running; try again when it has finished"):
        if command == "verify":
            checked = verify.verify_all(repositories, Runner())
            verify.record_run(paths)
            for report_ in checked.reports:
                print(f"  {report_.describe()}")
            print(checked.summary())
            if any(r.status in (verify.DAMAGED, verify.UNREADABLE) for r in checked.reports):
                return ExitCode.FAILED
            return ExitCode.WARNING if checked.problems else ExitCode.OK
        pruned = retention.apply(settings, repositories, Runner())
    for line in pruned.lines():
        print(f"  {line}")
    print(pruned.summary())
    if any(r.problem for r in pruned.repositories):
        return ExitCode.FAILED
    return ExitCode.WARNING if pruned.short_of_space else ExitCode.OK


def _fail(message: str) -> None:
    print(f"megabackup: {message}", file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.strerror or text}: {exc.filename}"
    return text.splitlines()[0]
