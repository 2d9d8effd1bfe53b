"""`megabackup demo`: three sample places and real cycles that show the original use cases.

Needs no settings, network or display: the desktop, the server share and the USB drive are
folders under one directory, and the state (history, logs, unison archives) lives there too.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from megabackup import bundle, places, report
from megabackup.engine import CycleOptions, CycleResult, run_cycle
from megabackup.locations import AppPaths
from megabackup.outcome import Outcome
from megabackup.restore.backups import Backups
from megabackup.restore.locate import EXTERNAL_DRIVE
from megabackup.settings import Settings, load, to_toml

HOME_FOLDERS = ("Documents", "Pictures")
DATA_FOLDERS = ("Projects", "Archive")


def build_places(root: Path) -> Path:
    """Create the three places with sample files and a settings file; return the settings path."""
    desktop_home = root / "desktop" / "home"
    server_home = root / "server" / "home"
    server_data = root / "server" / "data"
    drive = root / "usb-drive" / "MegaBackup"
    (root / "desktop" / "backup").mkdir(parents=True, exist_ok=True)
    places.write_drive_marker(drive, "MegaBackup")
    settings_path = root / "settings.toml"
    tables = {
        "desktop": {"home": desktop_home, "backup": root / "desktop" / "backup"},
        "server": {"home": server_home, "data": server_data},
        "external": {"name": "MegaBackup", "path": drive},
        "folders": {"home": HOME_FOLDERS, "data": DATA_FOLDERS},
        "safety": {"conflicts": "keep-both"},
    }
    comment = "Settings written by `megabackup demo` for its sample places."
    settings_path.write_text(to_toml(tables, comment), encoding="utf-8")
    plant_samples(load(settings_path))
    return settings_path


def plant_samples(settings: Settings) -> None:
    """The demo's sample files, in the places the settings name (wherever those are)."""
    desktop, server, data = settings.desktop.home, settings.server.home, settings.server.data
    assert data is not None
    _write(desktop / "Documents" / "notes.txt", "Shopping list: milk, bread.\n")
    _write(desktop / "Documents" / "letter to Sam.txt", "Dear Sam,\nSee you soon.\n")
    _write(desktop / "Pictures" / "holiday.jpg", "(a photo)\n" * 200)
    _write(server / "Documents" / "budget.csv", "month,amount\njan,100\n")
    _write(data / "Projects" / "survey" / "results.csv", "site,count\nA,12\n")
    _write(data / "Archive" / "2019 report.txt", "Old but precious.\n")


def run_demo(folder: Path | None = None, say: Callable[[str], None] = print) -> int:
    root = (folder or Path(tempfile.mkdtemp(prefix="megabackup-demo-"))).absolute()
    if root.exists() and any(root.iterdir()):
        say(f"megabackup demo: {root} is not empty; give a new or empty folder.")
        return 2
    root.mkdir(parents=True, exist_ok=True)
    settings = load(build_places(root))
    paths = AppPaths(root / "state")
    say(f"MegaBackup demo in {root}")
    checks = use_cases(settings, paths, say)
    say("\nWhere to look:")
    say(f"  the places:     {root / 'desktop'}, {root / 'server'}, {root / 'usb-drive'}")
    say(f"  the settings:   {root / 'settings.toml'}")
    say(f"  logs, history:  {paths.root}")
    say(f'  status:         MEGABACKUP_HOME="{paths.root}" megabackup status')
    passed = sum(checks)
    say(f"\nDemo finished: {passed} of {len(checks)} checks held.")
    return 0 if all(checks) else 3


def use_cases(settings: Settings, paths: AppPaths, say: Callable[[str], None]) -> list[bool]:
    """The original use cases, one real cycle each, on places holding the samples
    (plant_samples); each check says whether what a person would look for is so."""
    drive = settings.external.path
    assert drive is not None and settings.server.data is not None
    checks: list[bool] = []

    def cycle(title: str) -> CycleResult:
        say(f"\n== {title}")
        options = CycleOptions(trigger="demo", bundled_unison=bundle.unison())  # exe's own
        result = run_cycle(settings, paths, options=options)
        say(report.cycle_report(result))
        return result

    def verify(claim: str, holds: bool) -> None:
        checks.append(holds)
        say(f"  {'CHECKED' if holds else 'NOT TRUE'}: {claim}")

    first = cycle("1. First cycle: every place gets its first snapshot, the homes are synced")
    verify(
        "the desktop's notes reached the server",
        (settings.server.home / "Documents" / "notes.txt").is_file(),
    )
    verify(
        "the server's budget reached the desktop",
        (settings.desktop.home / "Documents" / "budget.csv").is_file(),
    )
    verify("the first cycle finished without problems", first.outcome == Outcome.OK)

    _write(settings.server.data / "Projects" / "survey" / "new samples.csv", "site,count\nB,7\n")
    cycle("2. Data added on the server reaches the external drive")
    verify(
        "the new data file is on the USB drive",
        (drive / "data" / "Projects" / "survey" / "new samples.csv").is_file(),
    )

    _write(settings.desktop.home / "Documents" / "notes.txt", "Shopping list: milk, bread, tea.\n")
    edited = cycle("3. A file edited on the desktop reaches the server and both snapshots")
    server_copy = settings.server.home / "Documents" / "notes.txt"
    verify("the server has the new text", "tea" in server_copy.read_text(encoding="utf-8"))
    verify(
        "the desktop backup and the USB drive hold it too",
        "tea" in _read(settings.desktop.backup / "home" / "Documents" / "notes.txt")
        and "tea" in _read(drive / "home" / "Documents" / "notes.txt"),
    )
    verify(
        "the old text stays restorable (a snapshot of it exists)",
        _older_snapshot_on_drive(settings, "Documents/notes.txt"),
    )
    verify("that cycle ran the second round of snapshots", _ran(edited, "resnapshot-server-home"))

    desktop_letter = settings.desktop.home / "Documents" / "letter to Sam.txt"
    server_letter = settings.server.home / "Documents" / "letter to Sam.txt"
    _write(desktop_letter, "Dear Sam,\nSee you on Monday.\n")
    _write(server_letter, "Dear Sam,\nSee you on Tuesday!\n")
    hour_ago = time.time() - 3600
    os.utime(desktop_letter, (hour_ago, hour_ago))  # the desktop edit is the older one
    conflict = cycle("4. The same file edited on both sides is kept twice and reported")
    copies = [c for found in conflict.conflicts for c in found.copies]
    verify("the conflict is reported", [c.path for c in conflict.conflicts] == [
        "Documents/letter to Sam.txt"])  # fmt: skip
    verify("the newer text (Tuesday) is in place", "Tuesday" in _read(desktop_letter))
    verify(
        "the older text (Monday) is kept in a conflict copy",
        any("Monday" in _read(Path(c)) for c in copies),
    )
    return checks


def _ran(result: CycleResult, step_id: str) -> bool:
    step = result.step(step_id)
    return step is not None and step.succeeded


def _older_snapshot_on_drive(settings: Settings, relative: str) -> bool:
    found = Backups(settings).versions(relative)
    return any(v.where == EXTERNAL_DRIVE and not v.newest for v in found.snapshots)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


__all__ = ["build_places", "plant_samples", "run_demo", "use_cases"]
