"""The set-up window's model: every field of settings.toml as the window shows it, judged by the
settings' own rules, the looks at the places, the drive list, Save, Check and "Use this drive".
No Tk here, so all of it is tested without a display; tray/setup_window.py draws it.

Field values are kept the way the widgets hold them (text as typed, a flag, the ticked
folders) and turned into settings values only to judge them and to save them. A field's
message is the settings' own reason, in the same words as `megabackup check`. Looking at a
place can take long (a share that is gone may take half a minute to say so), so the window runs
the look_* methods off its thread and hands the results to the take_* methods.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from megabackup import bundle, drives, places, settings, settings_file, winsys, words
from megabackup.engine import checkup
from megabackup.history import History
from megabackup.locations import AppPaths
from megabackup.settings import SCHEMA, Field, Problem
from megabackup.tray import firstrun
from megabackup.tray.autostart import Autostart
from megabackup.winsys import Volume

log = logging.getLogger(__name__)

HOME, BACKUP, SHARE, DATA = "desktop.home", "desktop.backup", "server.home", "server.data"
FOLDERS, EVERY, ON_SUCCESS = "folders.home", "schedule.every_hours", "notifications.on_success"
DRIVE_NAME, DRIVE_PATH = "external.name", "external.path"
MAIN = (HOME, FOLDERS, SHARE, DATA, BACKUP, EVERY, ON_SUCCESS)  # the rest is under "More"
USUAL_FOLDERS = ("Documents", "Desktop", "Pictures", "Music")  # ticked when present
COUNT_LIMIT = 100_000  # files counted on a share before "more than" (a look, not an audit)
COUNT_SECONDS = 15.0
LABELS = {
    DRIVE_NAME: "Drive name",
    DRIVE_PATH: "Drive folder (instead of finding it by name)",
    "folders.data": "Data folders to back up",
    "folders.ignore": "Never copy files named",
    "safety.conflicts": "When both sides changed a file",
    "safety.max_clock_skew_seconds": "Clocks may differ by (seconds)",
    "safety.max_deletions": "Ask before a sync deletes more than (files)",
    "safety.max_deletions_percent": "...or more than (% of a side)",
    "schedule.full_check_every_days": "Compare file contents every (days)",
    "schedule.on_battery": "Back up on battery power too",
    "schedule.on_drive_connected": "Back up when the USB drive is plugged in",
    "notifications.overdue_days": "Warn after no good snapshot for (days)",
    "notifications.away_hours": "Tell me when a place is away for (hours)",
    "tools.rdiff_backup": "rdiff-backup program",
    "tools.unison": "unison program",
    "retention.keep_days": "Keep snapshots for (days)",
    "retention.min_free_percent": "Keep this much of a backup disk free (%)",
    "verify.every_days": "Check the backups every (days)",
}
LIST_KINDS = ("names", "patterns")  # one item per line in the window
AWAY_LINE = (
    "Not reachable now. Is the NAS switched on, and the name right? Backups wait for it "
    "while it is away."
)


@dataclass(frozen=True)
class MoreField:
    """One setting under "More", built from settings.SCHEMA, so a new key shows up by itself."""

    key: str
    kind: str
    label: str
    note: str  # the template's comment beside the key
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceLook:
    """What looking at one place found, in words for the line beside its field."""

    text: str  # the field's text that was looked at
    line: str = ""
    level: str = "info"  # info | good | warning | problem
    folders: tuple[str, ...] = ()  # the subfolders a person would pick from


@dataclass(frozen=True)
class RulesLook:
    """The settings' rules with the folders on the places looked at, for one document."""

    document: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    cautions: list[Problem] = field(default_factory=list)


class SetupForm:
    """Everything the set-up window does, without the window."""

    def __init__(
        self,
        settings_path: Path,
        paths: AppPaths,
        *,
        template: Path | None = None,
        autostart: Autostart | None = None,
        volumes: Callable[[], Sequence[Volume]] | None = None,
        drive_roots: list[Path] | None = None,
        windows: bool = os.name == "nt",
        bundled_unison: Path | None = None,
        on_saved: Callable[[], None] | None = None,
    ) -> None:
        self.settings_path = settings_path
        self.paths = paths
        self.template = template or bundle.settings_template()
        self.autostart = autostart
        self._volumes = volumes or drives.system_volumes
        self._drive_roots = drive_roots  # None: the roots the marker scan looks at
        self.windows = windows
        self.bundled_unison = bundled_unison
        self.on_saved = on_saved or (lambda: None)
        self.notes = settings_file.key_notes(self.template)
        self.values: dict[str, Any] = {}
        self.touched: set[str] = set()  # fields the person changed: only they show problems
        self.show_all = False  # after a Save that was refused, every problem shows
        self.looks: dict[str, PlaceLook] = {}
        self.rules: RulesLook | None = None
        self.home_choices: list[str] = []
        self.drives: list[drives.Drive] = []
        self.drive_line, self.drive_level = "", "info"
        self.status, self.status_level = "", "info"
        self.check_lines: list[str] = []
        self.autostart_on = self._autostart_now()
        self.file_note = ""  # the file could not be read; what Save will do about it
        self.first_run = not settings_path.exists() or bool(firstrun.unfilled(settings_path))
        self._load()

    # --- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        document = settings.read_document(self.settings_path)
        if document is None and self.settings_path.exists():
            self.file_note = (
                f"{self.settings_path} could not be read as settings, so the window starts from "
                "the template; Save keeps the old file beside the new one."
            )
        if document is None:
            document = (settings.read_document(self.template) if self.template else None) or {}
            examples = {p.setting for p in places.PLACES}
        else:
            examples = firstrun.examples_left(self.settings_path, self.template)
        self.document = document
        for table, fields in SCHEMA.items():
            given = document.get(table)
            given = given if isinstance(given, dict) else {}
            for key, spec in fields.items():
                name = f"{table}.{key}"
                value = given.get(key, None if spec.default is settings.REQUIRED else spec.default)
                self.values[name] = "" if name in examples else _shown(name, value, spec)
        self.home_choices = list(self.values[FOLDERS]) if self.values[HOME] else []

    # --- the fields --------------------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """A field changed in the window."""
        if self.values.get(key) == value:
            return
        self.values[key] = value
        self.touched.add(key)
        if key in (HOME, SHARE, DATA, BACKUP):
            self.looks.pop(key, None)

    def tick(self, folder: str, ticked: bool) -> None:
        chosen = [f for f in self.values[FOLDERS] if f != folder]
        if ticked:
            chosen.append(folder)
        order = {name: i for i, name in enumerate(self.home_choices)}
        self.set(FOLDERS, sorted(chosen, key=lambda f: order.get(f, len(order))))

    def more_fields(self) -> list[MoreField]:
        found = []
        for table, fields in SCHEMA.items():
            for key, spec in fields.items():
                name = f"{table}.{key}"
                if name in MAIN:
                    continue
                label = LABELS.get(name) or key.replace("_", " ").capitalize()
                found.append(MoreField(name, spec.kind, label, self.notes.get(name, ""),
                                       spec.choices))  # fmt: skip
        return found

    def spec(self, key: str) -> Field:
        table, name = key.split(".")
        return SCHEMA[table][name]

    def changes(self) -> dict[str, Any]:
        """Every field as a settings value ("table.key" -> value), ready to judge or save."""
        return {key: self._value(key) for key in self.values}

    def document_now(self) -> dict[str, Any]:
        """The settings as they would be saved: the file's own other keys, then the fields."""
        document: dict[str, Any] = {
            table: dict(values) if isinstance(values, dict) else values
            for table, values in self.document.items()
        }
        for name, value in self.changes().items():
            table, key = name.split(".")
            if not isinstance(document.get(table), dict):
                document[table] = {}
            if value == "" and self.spec(name).kind == "optional_path":
                document[table].pop(key, None)
            else:
                document[table][key] = value
        return document

    def _value(self, key: str) -> Any:
        shown, kind = self.values[key], self.spec(key).kind
        if kind in ("path", "optional_path"):
            return settings_file.path_text(shown, windows=self.windows)
        if kind in ("number", "whole"):
            return _number(shown)
        if kind in LIST_KINDS and isinstance(shown, str):
            return [line.strip() for line in shown.splitlines() if line.strip()]
        if kind == "text":
            return shown.strip()
        return shown

    # --- the rules ---------------------------------------------------------------------------

    def problems(self) -> dict[str, list[str]]:
        """The message(s) beside each field, in the settings' own words; "" for those that
        belong to no field of the window (a key the file has that the settings do not know)."""
        found: dict[str, list[str]] = {}
        for problem in self._problems():
            where = problem.setting if problem.setting in self.values else ""
            if where and not (self.show_all or where in self.touched):
                continue
            text = problem.beside if where else str(problem)
            if text not in found.get(where, []):
                found.setdefault(where, []).append(text)
        return found

    def _problems(self) -> list[Problem]:
        document = self.document_now()
        if self.rules is not None and self.rules.document == document:
            return self.rules.problems  # with the folders on the places looked at
        return settings.problems(document, check_folders=False)

    def blocking(self) -> list[Problem]:
        """Problems of the window's own fields: these stop a save."""
        return [p for p in self._problems() if p.setting in self.values]

    def look_at_rules(self, document: dict[str, Any]) -> RulesLook:
        """(Off Tk's thread.) The rules with the folders looked at, and the cautions."""
        found = settings.problems(document, check_folders=True)
        cautions: list[Problem] = []
        if not found:
            cautions = settings.cautions(settings.validate(document, check_folders=False))
        return RulesLook(document, found, cautions)

    def take_rules(self, look: RulesLook) -> None:
        self.rules = look

    def cautions(self) -> dict[str, list[str]]:
        document = self.document_now()
        if self.rules is None or self.rules.document != document:
            return {}
        found: dict[str, list[str]] = {}
        for caution in self.rules.cautions:
            found.setdefault(caution.setting, []).append(caution.beside)
        return found

    # --- looking at the places ---------------------------------------------------------------

    def look_at_home(self, text: str) -> PlaceLook:
        """(Off Tk's thread.) The subfolders a person would pick from, and how big it is."""
        path = self._path(text)
        if path is None:
            return PlaceLook(text)
        if not path.is_dir():
            return PlaceLook(text, "There is no such folder on this PC.", "problem")
        names = visible_folders(path)
        count = len(names)
        line = f"{count} folder{'s' if count != 1 else ''} in it. Tick the ones to keep safe."
        return PlaceLook(text, line, "good", tuple(names))

    def take_home(self, look: PlaceLook) -> None:
        if look.text != self.values[HOME]:
            return  # typed on meanwhile
        self.looks[HOME] = look
        present = list(look.folders)
        ticked = self.values[FOLDERS]
        if HOME in self.touched:  # a new folder: keep the ticks that exist there, else the usual
            kept = [f for f in ticked if _has(present, f, self.windows)]
            usual = [f for f in USUAL_FOLDERS if _has(present, f, self.windows)]
            real = [_spelled(present, f, self.windows) for f in (kept or usual)]
            real.sort(key=present.index)  # in the order the boxes are shown
            if real != ticked:
                self.values[FOLDERS] = real
                self.touched.add(FOLDERS)
        missing = [f for f in self.values[FOLDERS] if not _has(present, f, self.windows)]
        self.home_choices = present + missing

    def folder_note(self, folder: str) -> str:
        """Beside a ticked folder that is not on this PC (it may be on the share only)."""
        look = self.looks.get(HOME)
        if look is None or _has(list(look.folders), folder, self.windows):
            return ""
        return "not on this PC"

    def look_at_share(self, key: str, text: str, folders: Sequence[str] = ()) -> PlaceLook:
        """(Off Tk's thread.) Reachable or not, how many files, and for the home whether it
        holds the same folders as this PC; a share out of reach is ordinary, not an error."""
        path = self._path(text)
        if path is None:
            return PlaceLook(text)
        try:
            reachable = path.is_dir()
        except OSError:
            reachable = False
        if not reachable:
            return PlaceLook(text, AWAY_LINE, "warning")
        there = visible_folders(path)
        count, complete = count_files(path, folders if key == SHARE else ())
        files = f"{count:,} file{'s' if count != 1 else ''}"
        amount = files if complete else f"more than {files}"
        if count == 0 and complete:
            amount = "empty: the first backup copies this PC's folders there"
        line = f"Reachable, {amount}."
        if key == SHARE:
            line += " " + self._compare(folders, there)
        return PlaceLook(text, line, "good", tuple(there))

    def _compare(self, ticked: Sequence[str], there: list[str]) -> str:
        here = list(self.looks[HOME].folders) if HOME in self.looks else []
        wanted = list(ticked) or here
        if not wanted or not there:
            return ""
        only_here = [f for f in wanted if not _has(there, f, self.windows)]
        only_there = [f for f in there if not _has(here, f, self.windows)] if here else []
        if not only_here and (ticked or not only_there):
            return "It holds the same folders as this PC."
        parts = []
        if only_here:
            parts.append("only on this PC: " + ", ".join(only_here))
        if only_there and not ticked:
            parts.append("only on the share: " + ", ".join(only_there))
        return "Folders " + "; ".join(parts) + " (the sync brings them across)."

    def take_share(self, key: str, look: PlaceLook) -> None:
        if look.text == self.values[key]:
            self.looks[key] = look

    def look_at_backup(self, text: str) -> PlaceLook:
        """(Off Tk's thread.) Where the snapshots would go, and how much room there is."""
        path = self._path(text)
        if path is None:
            return PlaceLook(text)
        existing = next((p for p in (path, *path.parents) if p.is_dir()), None)
        if existing is None:
            return PlaceLook(text, "That disk is not there.", "problem")
        try:
            free = words.size_text(shutil.disk_usage(existing).free)
        except OSError as exc:
            return PlaceLook(text, f"Cannot look there: {_plain_error(exc)}.", "problem")
        made = "" if path.is_dir() else " The folder is made at the first backup."
        return PlaceLook(text, f"{free} free there.{made}", "good")

    def take_backup(self, look: PlaceLook) -> None:
        if look.text == self.values[BACKUP]:
            self.looks[BACKUP] = look

    def _path(self, text: str) -> Path | None:
        kept = settings_file.path_text(text, windows=self.windows)
        if not kept:
            return None
        path = Path(os.path.expandvars(os.path.expanduser(kept)))
        return path if path.is_absolute() else None

    # --- the USB drive -----------------------------------------------------------------------

    def look_at_drives(self) -> list[drives.Drive]:
        """(Off Tk's thread.) The drives connected now."""
        return drives.connected(self._value(DRIVE_NAME) or "MegaBackup", self._volumes())

    def take_drives(self, found: list[drives.Drive]) -> bool:
        """True when the list changed (a drive was plugged in or out)."""
        changed = [d.volume for d in found] != [d.volume for d in self.drives] or [
            d.marked for d in found
        ] != [d.marked for d in self.drives]
        self.drives = found
        if not self.drive_line:
            self.drive_line, self.drive_level = self._drive_summary()
        return changed

    def drive_rows(self) -> list[tuple[str, str, str, str, str]]:
        name = self._value(DRIVE_NAME) or "MegaBackup"
        return [d.describe(name) for d in self.drives]

    def _drive_summary(self) -> tuple[str, str]:
        name = self._value(DRIVE_NAME) or "MegaBackup"
        ours = [d for d in self.drives if d.is_ours(name)]
        if ours:
            called = ours[0].volume.label or words_path(ours[0].root)
            return f'{called} is the MegaBackup drive "{name}".', "good"
        if not self.drives:
            return "No drive is connected. Plug in the USB drive to use it.", "info"
        return "Pick the USB drive in the list, then Use this drive.", "info"

    def use_drive(self, index: int) -> bool:
        """Mark the chosen drive as the MegaBackup drive, as `megabackup init-drive` does (and
        refusing what it refuses); the drive is then found by its marker, whatever its letter."""
        if not 0 <= index < len(self.drives):
            self.drive_line, self.drive_level = "Pick a drive in the list first.", "problem"
            return False
        name = self._value(DRIVE_NAME) or "MegaBackup"
        drive = self.drives[index]
        folder = drives.marking_folder(drive, name)
        try:
            places.mark_drive(folder, name)
        except (places.DriveRefused, OSError) as exc:
            self.drive_line, self.drive_level = f"Not marked: {_plain_error(exc)}", "problem"
            return False
        # found by its marker where the scan looks; elsewhere (a folder, a mount point the scan
        # does not look at) its folder is given in the settings
        scanned = places.find_external(name, None, self._drive_roots)
        self.set(DRIVE_PATH, "" if scanned.path == folder else str(folder))
        where = "onto it" if folder == drive.root else f'into its folder "{folder.name}"'
        called = drive.volume.label or words_path(drive.root)
        self.drive_line = (
            f'{called} is now the MegaBackup drive "{name}"; the snapshots go {where}.'
        )
        self.drive_level = "good"
        self.drives = self.look_at_drives()
        return True

    # --- when --------------------------------------------------------------------------------

    def set_autostart(self, on: bool) -> None:
        self.autostart_on = on
        self.touched.add("autostart")

    def _autostart_now(self) -> bool | None:
        return None if self.autostart is None else self.autostart.state()

    # --- Save, Check, Open as text -----------------------------------------------------------

    def save(self) -> bool:
        """Write settings.toml (atomically, keeping comments, order and other keys) when no
        field has a problem; a refusal marks every problem and writes nothing."""
        wrong = self.blocking()
        if wrong:
            self.show_all = True
            count = len({p.setting for p in wrong})
            self.status = (
                f"Not saved: {count} setting{'s' if count != 1 else ''} to fix, each marked "
                "beside its field."
            )
            self.status_level = "problem"
            return False
        first = self.first_run
        try:
            saved = settings_file.save(self.settings_path, self.changes(), template=self.template)
        except settings.SettingsError as exc:  # a rule the window's check missed: say it
            self.show_all = True
            self.status, self.status_level = f"Not saved: {exc.problems[0]}", "problem"
            return False
        except OSError as exc:
            self.status = f"Not saved: {_plain_error(exc)}. The old file is as it was."
            self.status_level = "problem"
            return False
        self.document = settings.read_document(self.settings_path) or self.document
        self.touched.clear()
        self.show_all = False
        self.first_run = False
        if self.autostart is not None and self.autostart_on is not None:
            with contextlib.suppress(OSError):
                if self.autostart.enabled() != self.autostart_on:
                    self.autostart.set(self.autostart_on)
        self.status = "Saved. " + (
            "The first backup starts within a couple of minutes."
            if first or not self._has_run()
            else "The next backup uses these settings."
        )
        if saved.kept_copy is not None:
            self.status += f" The old file was kept as {saved.kept_copy.name}."
        left = self.problems().get("")
        if left:
            self.status += " The file still has: " + "; ".join(left)
        self.status_level = "good"
        self.file_note = ""
        self.on_saved()
        return True

    def _has_run(self) -> bool:
        try:
            return (
                self.paths.history.exists() and History(self.paths.history).last_run() is not None
            )
        except Exception:  # a damaged history is told elsewhere; here it only words a line
            return False

    def check(self) -> list[str]:
        """(Off Tk's thread.) What `megabackup check` says about the settings in the window."""
        wrong = self.blocking()
        if wrong:
            return ["Fix these settings first:"] + [f"  {p}" for p in wrong]
        try:
            loaded = settings.validate(self.document_now(), check_folders=True)
        except settings.SettingsError as exc:
            return ["Fix these settings first:"] + [f"  {p}" for p in exc.problems]
        report = checkup.check(
            loaded, self.paths, bundled_unison=self.bundled_unison, drive_roots=self._drive_roots
        )
        return report.lines()

    def take_check(self, lines: list[str]) -> None:
        self.check_lines = lines

    def text_file(self) -> Path:
        """The file for "Open as text" (the template is put there first if there is none)."""
        firstrun.install_template(self.settings_path, self.template)
        return self.settings_path


# ---------------------------------------------------------------------------------------------


def visible_folders(path: Path) -> list[str]:
    """The subfolders a person sees in Explorer: no hidden or system ones, none of ours, no
    junctions ("My Music" inside Documents), sorted as Explorer sorts them."""
    found = []
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.name.startswith((".", "$")) or not _is_dir(entry):
                    continue
                attributes = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
                if attributes & HIDDEN_SYSTEM_OR_JUNCTION:
                    continue
                found.append(entry.name)
    except OSError:
        return []
    return sorted(found, key=str.casefold)


HIDDEN_SYSTEM_OR_JUNCTION = 0x2 | 0x4 | 0x400  # FILE_ATTRIBUTE_HIDDEN, _SYSTEM, _REPARSE_POINT


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def count_files(
    root: Path,
    folders: Sequence[str] = (),
    limit: int = COUNT_LIMIT,
    seconds: float = COUNT_SECONDS,
) -> tuple[int, bool]:
    """(files found, True if that is all of them): a share may hold millions, so it stops at
    `limit` files or after `seconds`."""
    pending = [root / f for f in folders] if folders else [root]
    count, deadline = 0, time.monotonic() + seconds
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(".megabackup"):
                        continue
                    if _is_dir(entry) and not entry.is_symlink():
                        pending.append(Path(entry.path))
                    else:
                        count += 1
        except OSError:
            continue
        if count >= limit or time.monotonic() > deadline:
            return count, False
    return count, True


def words_path(path: Path) -> str:
    return winsys.display_path(path)


def _shown(key: str, value: Any, spec: Field) -> Any:
    """A settings value as its widget holds it: the home's folders as the ticked names, other
    lists one item per line."""
    if spec.kind == "flag":
        return bool(value)
    if key == FOLDERS:
        return list(value) if isinstance(value, (list, tuple)) else []
    if spec.kind in LIST_KINDS:
        return "\n".join(value or ()) if isinstance(value, (list, tuple)) else str(value or "")
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if not isinstance(value, str) else value


def _number(text: Any) -> Any:
    """ "4" -> 4, "2.5" and "2,5" -> 2.5; anything else stays text, which the rules refuse in
    their own words."""
    if not isinstance(text, str):
        return text
    cleaned = text.strip().replace(",", ".")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        number = float(cleaned)
    except ValueError:
        return text.strip()
    return number if number == number else text.strip()  # nan stays text


def _has(names: Sequence[str], name: str, windows: bool) -> bool:
    if windows:
        return name.casefold() in {n.casefold() for n in names}
    return name in names


def _spelled(names: Sequence[str], name: str, windows: bool) -> str:
    """The name as the disk spells it (Windows matches "documents" to "Documents")."""
    return next((n for n in names if (n.casefold() == name.casefold() if windows else n == name)),
                name)  # fmt: skip


def _plain_error(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)
