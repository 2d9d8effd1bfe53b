"""Load and validate settings.toml into frozen dataclasses, reporting every problem at once.

A leaf module: it imports only other leaves, so every layer can use it.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from megabackup.errors import MegaBackupError
from megabackup.outcome import ExitCode
from megabackup.places import PLACES, Place, ask

if sys.version_info >= (3, 11):
    import tomllib
else:  # the Windows rdiff-backup wheel pins us to 3.10, which has no tomllib
    import tomli as tomllib

CONFLICT_POLICIES = ("keep-both", "skip")
# The folder-list check looks only at places that answer at once: a share out of reach must not
# hold up reading the settings (the preflight waits for it, and calls it away).
LOOK_SECONDS = 2.0
DEFAULT_IGNORE = ("*.tmp", "~$*", ".~lock.*#", "Thumbs.db", "desktop.ini", ".DS_Store")


@dataclass(frozen=True)
class DesktopSettings:
    home: Path
    backup: Path


@dataclass(frozen=True)
class ServerSettings:
    home: Path
    data: Path | None


@dataclass(frozen=True)
class ExternalSettings:
    name: str
    path: Path | None


@dataclass(frozen=True)
class FolderSettings:
    home: tuple[str, ...]
    data: tuple[str, ...]
    ignore: tuple[str, ...]


@dataclass(frozen=True)
class SafetySettings:
    conflicts: str
    max_clock_skew_seconds: int
    max_deletions: int  # the sync waits for an OK above this many deletions...
    max_deletions_percent: float  # ...or above this share of the files on the other side


@dataclass(frozen=True)
class ScheduleSettings:
    every_hours: float
    full_check_every_days: float = 1.0  # unison compares contents, not only sizes and times
    on_battery: bool = True  # False: a scheduled backup waits for mains power ("Back up now" not)
    on_drive_connected: bool = True  # the USB drive plugged in starts a backup when one is due


@dataclass(frozen=True)
class NotificationSettings:
    on_success: bool
    overdue_days: int
    away_hours: int = 24  # a place away this long is told (shorter absences are ordinary life)


@dataclass(frozen=True)
class ToolSettings:
    rdiff_backup: Path | None
    unison: Path | None


@dataclass(frozen=True)
class RetentionSettings:
    keep_days: int = 365
    min_free_percent: float = 10


@dataclass(frozen=True)
class VerifySettings:
    every_days: float = 7  # 0: never on a schedule (megabackup verify still works)


@dataclass(frozen=True)
class Settings:
    desktop: DesktopSettings
    server: ServerSettings
    external: ExternalSettings
    folders: FolderSettings
    safety: SafetySettings
    schedule: ScheduleSettings
    notifications: NotificationSettings
    tools: ToolSettings
    retention: RetentionSettings = RetentionSettings()
    verify: VerifySettings = VerifySettings()
    source: Path | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the settings: where, what was found, and why it is wrong."""

    key: str
    reason: str
    value: Any = None
    has_value: bool = True

    def __str__(self) -> str:
        if not self.has_value:
            return f"{self.key}: {self.reason}"
        return f"{self.key} = {_show(self.value)}: {self.reason}"

    @property
    def setting(self) -> str:
        """The "table.key" it is about: "folders.home[2]" is about folders.home."""
        return re.sub(r"\[\d+\]$", "", self.key)

    @property
    def beside(self) -> str:
        """The message for a window to show beside the setting's field: the reason in the same
        words as `megabackup check`, as a sentence there ("This is not a full path; ..."), led
        by the item when one item of a list is wrong ('"Musik" exists on neither side ...')."""
        if self.setting != self.key and self.has_value:
            return f"{_show(self.value)} {self.reason}"
        return f"This {self.reason}"


class SettingsError(MegaBackupError):
    """The settings file cannot be used; carries every problem found."""

    exit_code = ExitCode.USAGE

    def __init__(self, source: Path | None, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        where = str(source) if source else "settings"
        lines = [f"{where}: {len(problems)} problem(s):"] + [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------
# The schema: one row per key. Kinds: path, optional_path, text, flag, whole, number,
# names, choice. A missing key takes its default; REQUIRED has none.
REQUIRED = object()


@dataclass(frozen=True)
class Field:
    kind: str
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()


SCHEMA: dict[str, dict[str, Field]] = {
    "desktop": {"home": Field("path"), "backup": Field("path")},
    "server": {"home": Field("path"), "data": Field("optional_path", None)},
    "external": {"name": Field("text", "MegaBackup"), "path": Field("optional_path", None)},
    "folders": {
        "home": Field("names", ()),
        "data": Field("names", ()),
        "ignore": Field("patterns", DEFAULT_IGNORE),
    },
    "safety": {
        "conflicts": Field("choice", "keep-both", choices=CONFLICT_POLICIES),
        "max_clock_skew_seconds": Field("whole", 120, low=1, high=86_400),
        "max_deletions": Field("whole", 1000, low=1, high=10_000_000),
        "max_deletions_percent": Field("number", 30, low=1, high=100),
    },
    "schedule": {
        "every_hours": Field("number", 4, low=0.25, high=24 * 31),
        "full_check_every_days": Field("number", 1, low=0, high=365),
        "on_battery": Field("flag", True),
        "on_drive_connected": Field("flag", True),
    },
    "notifications": {
        "on_success": Field("flag", True),
        "overdue_days": Field("whole", 7, low=1, high=3650),
        "away_hours": Field("whole", 24, low=1, high=24 * 365),
    },
    "tools": {"rdiff_backup": Field("optional_path", None), "unison": Field("optional_path", None)},
    "retention": {
        "keep_days": Field("whole", 365, low=1, high=36_500),
        "min_free_percent": Field("number", 10, low=0, high=90),
    },
    "verify": {"every_days": Field("number", 7, low=0, high=3650)},
}


def load(path: Path, *, check_folders: bool = True) -> Settings:
    """Read, parse and validate one settings file; raise SettingsError listing every problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(path, [_no_value("file", "not found")]) from None
    except OSError as exc:
        raise SettingsError(path, [_no_value("file", f"cannot be read ({exc.strerror})")]) from None
    return parse(raw, source=path, check_folders=check_folders)


def to_toml(tables: dict[str, dict[str, Any]], comment: str = "") -> str:
    """Settings as TOML text, for the files MegaBackup writes itself (the demo's, the
    benchmark's): paths with forward slashes, as the template asks."""
    lines = [f"# {comment}"] if comment else []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = value.as_posix() if isinstance(value, Path) else str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_document(path: Path) -> dict[str, Any] | None:
    """The file's TOML as it stands, unvalidated; None when it cannot be read or parsed."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None


def parse(raw: bytes, *, source: Path | None = None, check_folders: bool = True) -> Settings:
    """Validate settings given as TOML bytes (see load)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SettingsError(
            source, [_no_value("file", f"is not UTF-8 text (bad byte on line {line})")]
        ) from None
    if not text.strip():
        raise SettingsError(source, [_no_value("file", "is empty")])
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(source, [_no_value("file", _explain_toml_error(exc))]) from None
    return validate(document, source=source, check_folders=check_folders)


def problems(document: dict[str, Any], *, check_folders: bool = True) -> list[Problem]:
    """Every problem validate() would raise, as a list (empty when the settings are good)."""
    try:
        validate(document, check_folders=check_folders)
    except SettingsError as exc:
        return exc.problems
    return []


def validate(
    document: dict[str, Any], *, source: Path | None = None, check_folders: bool = True
) -> Settings:
    """Turn a parsed TOML document into Settings, or raise SettingsError with every problem."""
    problems: list[Problem] = []
    values: dict[str, dict[str, Any]] = {}
    for table in document:
        if table not in SCHEMA:
            problems.append(_unknown(table, document[table], SCHEMA))
    for table, fields in SCHEMA.items():
        given = document.get(table, {})
        if not isinstance(given, dict):
            problems.append(Problem(table, "must be a table, e.g. [" + table + "]", given))
            given = {}
        for key in given:
            if key not in fields:
                problems.append(_unknown(f"{table}.{key}", given[key], fields, prefix=table))
        values[table] = {}
        for key, spec in fields.items():
            name = f"{table}.{key}"
            if key not in given:
                if spec.default is REQUIRED:
                    problems.append(_no_value(name, "is missing; it is required"))
                values[table][key] = None if spec.default is REQUIRED else spec.default
                continue
            values[table][key] = _convert(name, given[key], spec, problems)
    _check_places(values, problems)
    if values["folders"]["data"] and values["server"]["data"] is None:
        problems.append(
            Problem(
                "folders.data",
                "lists data folders, but server.data is not set, so they would never be backed "
                "up; set server.data or leave the list empty",
                list(values["folders"]["data"]),
            )
        )
    if check_folders:
        _check_folder_lists(values, problems)
    if problems:
        raise SettingsError(source, problems)
    return Settings(
        desktop=DesktopSettings(**values["desktop"]),
        server=ServerSettings(**values["server"]),
        external=ExternalSettings(**values["external"]),
        folders=FolderSettings(**values["folders"]),
        safety=SafetySettings(**values["safety"]),
        schedule=ScheduleSettings(
            every_hours=float(values["schedule"]["every_hours"]),
            full_check_every_days=float(values["schedule"]["full_check_every_days"]),
            on_battery=values["schedule"]["on_battery"],
            on_drive_connected=values["schedule"]["on_drive_connected"],
        ),
        notifications=NotificationSettings(**values["notifications"]),
        tools=ToolSettings(**values["tools"]),
        retention=RetentionSettings(**values["retention"]),
        verify=VerifySettings(every_days=float(values["verify"]["every_days"])),
        source=source,
    )


# ---------------------------------------------------------------------------
# Conversions of single values


def _convert(name: str, value: Any, spec: Field, problems: list[Problem]) -> Any:
    converter = _CONVERTERS[spec.kind]
    try:
        return converter(value, spec)
    except _Invalid as exc:
        problems.append(Problem(name, str(exc), value))
        return None


class _Invalid(ValueError):
    pass


def _to_path(value: Any, spec: Field) -> Path:
    if not isinstance(value, str):
        raise _Invalid(f"must be a path in quotes, not {_type_name(value)}")
    if not value.strip():
        raise _Invalid("is empty; give a full path such as " + _example_path())
    if any(ord(c) < 32 for c in value):  # "D:\backup" in TOML quotes reads as D: + backspace
        raise _Invalid(
            "contains a control character: a \\ in quotes starts an escape such as \\b or \\n; "
            "write paths with forward slashes, e.g. " + _example_path()
        )
    expanded = os.path.expandvars(os.path.expanduser(value.strip()))
    path = Path(expanded)
    if not path.is_absolute():
        raise _Invalid("is not a full path; give one such as " + _example_path())
    return path


def _to_optional_path(value: Any, spec: Field) -> Path | None:
    if isinstance(value, str) and not value.strip():
        return None
    return _to_path(value, spec)


def _to_text(value: Any, spec: Field) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be text in quotes, not {_type_name(value)}")
    if not value.strip():
        raise _Invalid("is empty")
    if any(c in value for c in '/\\:*?"<>|'):
        raise _Invalid('must not contain any of / \\ : * ? " < > |')
    return value.strip()


def _to_flag(value: Any, spec: Field) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false (no quotes), not {_type_name(value)}")
    return value


def _to_number(value: Any, spec: Field) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid(f"must be a number (no quotes), not {_type_name(value)}")
    _check_range(value, spec)
    return value


def _to_whole(value: Any, spec: Field) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"must be a whole number (no quotes), not {_type_name(value)}")
    _check_range(value, spec)
    return value


def _check_range(value: float, spec: Field) -> None:
    if value != value:  # nan is valid TOML, and compares false with every bound
        raise _Invalid("is not a number")
    if spec.low is not None and value < spec.low:
        raise _Invalid(f"is too small; the smallest allowed is {spec.low:g}")
    if spec.high is not None and value > spec.high:
        raise _Invalid(f"is too large; the largest allowed is {spec.high:g}")


def _to_choice(value: Any, spec: Field) -> str:
    if not isinstance(value, str) or value not in spec.choices:
        options = " or ".join(f'"{c}"' for c in spec.choices)
        hint = _did_you_mean(str(value), spec.choices)
        raise _Invalid(f"must be {options}{hint}")
    return value


def _to_string_list(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise _Invalid(f'must be a list of {what} in square brackets, e.g. ["{value}"]')
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of {what}, not {_type_name(value)}")
    for item in value:
        if not isinstance(item, str):
            raise _Invalid(f"every item must be text in quotes; {_show(item)} is not")
    return tuple(value)


def _to_names(value: Any, spec: Field) -> tuple[str, ...]:
    names = _to_string_list(value, "folder names")
    seen: set[str] = set()
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if not name.strip():
            raise _Invalid("contains an empty folder name")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            raise _Invalid(f"{_show(name)} must be a folder name inside home, not a full path")
        if ".." in parts or "." in parts:
            raise _Invalid(f"{_show(name)} must not contain '.' or '..'")
        key = _fold(name.replace("\\", "/").strip("/"))
        if key in seen:
            raise _Invalid(f"{_show(name)} is listed twice")
        seen.add(key)
    return tuple(name.replace("\\", "/").strip("/") for name in names)


def _to_patterns(value: Any, spec: Field) -> tuple[str, ...]:
    patterns = _to_string_list(value, "name patterns")
    for pattern in patterns:
        if not pattern.strip():
            raise _Invalid("contains an empty pattern")
        if "\\" in pattern:
            raise _Invalid(f"{_show(pattern)}: write paths in patterns with / not \\")
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise _Invalid(f"{_show(pattern)} must be relative to the home or data folder")
    return patterns


def path_pattern(pattern: str) -> str | None:
    """The rule of folders.ignore: a pattern with a "/" matches a path from the root of the place
    (the path it names, slashes at its ends dropped, is returned); one without matches a name at
    any depth (None)."""
    return pattern.strip("/") if "/" in pattern else None


_CONVERTERS: dict[str, Callable[[Any, Field], Any]] = {
    "path": _to_path,
    "optional_path": _to_optional_path,
    "text": _to_text,
    "flag": _to_flag,
    "number": _to_number,
    "whole": _to_whole,
    "choice": _to_choice,
    "names": _to_names,
    "patterns": _to_patterns,
}


# ---------------------------------------------------------------------------
# Checks across keys


def _check_places(values: dict[str, dict[str, Any]], problems: list[Problem]) -> None:
    """The same folder for two places, or one place inside another, would back up into itself."""
    places = [
        (place.setting, f"the {place.name}", values[table][key])
        for place in PLACES
        for table, key in [place.setting.split(".")]
        if values[table][key] is not None
    ]
    for i, (key_a, label_a, path_a) in enumerate(places):
        for key_b, label_b, path_b in places[i + 1 :]:
            a, b = _norm(path_a), _norm(path_b)
            if a == b:
                problems.append(
                    Problem(key_b, f"is the same folder as {key_a} ({label_a})", str(path_b))
                )
            elif _inside(a, b) or _inside(b, a):
                inner_key, _inner_label, outer_key, outer_label = (
                    (key_a, label_a, key_b, label_b)
                    if _inside(a, b)
                    else (key_b, label_b, key_a, label_a)
                )
                inner_path = path_a if inner_key == key_a else path_b
                where = f"is inside {outer_key} ({outer_label})"
                if _norm(inner_path) != _norm(inner_path, follow_links=False):
                    where = f"is a link to {_real(inner_path)}, {where[3:]}"
                if not place_by_setting(inner_key).is_source:
                    reason = f"{where}: a backup target must not be inside a folder it backs up"
                else:
                    reason = f"{where}; places must not overlap"
                problems.append(Problem(inner_key, reason, str(inner_path)))


def cautions(settings: Settings) -> list[Problem]:
    """What is allowed but unwise, for `megabackup check` and the set-up window to say: the
    desktop backup on the same disk as the desktop home, where one failing disk takes both."""
    home, backup = settings.desktop.home, settings.desktop.backup
    home_disk, backup_disk = _disk_of(home), _disk_of(backup)
    if home_disk is None or home_disk != backup_disk:
        return []
    reason = (
        "is on the same disk as desktop.home (the desktop home): one disk failure would take "
        "both; a folder on a second disk is safer"
    )
    return [Problem("desktop.backup", reason, str(backup))]


def _disk_of(path: Path) -> int | None:
    """The device (on Windows the volume serial number) of path, or of its nearest existing
    parent for a folder not made yet; None when nothing of it can be looked at."""
    for candidate in (path, *path.parents):
        try:
            return candidate.stat().st_dev
        except OSError:
            continue
    return None


def place_by_setting(key: str) -> Place:
    return next(p for p in PLACES if p.setting == key)


def _check_folder_lists(values: dict[str, dict[str, Any]], problems: list[Problem]) -> None:
    """Every listed folder must exist on at least one side, so none is silently never backed up."""
    sides = {
        "home": [values["desktop"]["home"], values["server"]["home"]],
        "data": [values["server"]["data"]],
    }
    for kind, roots in sides.items():
        names = values["folders"][kind]
        configured = [r for r in roots if r is not None]
        surveys = [_survey(root, names) for root in configured] if names else []
        if not names or not configured or None in surveys:
            # An unreachable place is reported by the preflight, not as a settings error, and a
            # folder that is missing here may well be on the side that could not be looked at.
            continue
        found = [survey for survey in surveys if survey is not None]
        existing = sorted({child for survey in found for child in survey.children})
        where = "desktop or server home" if kind == "home" else "server data folder"
        for index, name in enumerate(names):
            if any(name in survey.folders for survey in found):
                continue
            if any(name in survey.others for survey in found):
                problems.append(
                    Problem(
                        f"folders.{kind}[{index}]", f"is a file, not a folder, in {where}", name
                    )
                )
                continue
            reason = f"exists on neither side (not in the {where})"
            problems.append(
                Problem(f"folders.{kind}[{index}]", reason + _folder_hint(name, existing), name)
            )


@dataclass(frozen=True)
class _Survey:
    children: tuple[str, ...]  # the folders in a place's root
    folders: frozenset[str]  # the listed names that are folders there
    others: frozenset[str]  # the listed names that are there, but not as folders


def _survey(root: Path, names: Iterable[str]) -> _Survey | None:
    """What a place holds of the listed folders, asked for at most LOOK_SECONDS; None when it
    is not there or does not answer in that time."""

    def question() -> _Survey | None:
        if not root.is_dir():
            return None
        with os.scandir(root) as entries:
            children = tuple(entry.name for entry in entries if entry.is_dir())
        folders = frozenset(name for name in names if (root / name).is_dir())
        others = frozenset(n for n in names if n not in folders and (root / n).exists())
        return _Survey(children, folders, others)

    answer = ask(f"survey {root} {sorted(names)}", question).answer(LOOK_SECONDS)
    return answer.value if isinstance(answer.value, _Survey) else None


def _folder_hint(name: str, existing: list[str]) -> str:
    glued = _split_into(name, existing)
    if glued:
        listed = ", ".join(f'"{part}"' for part in glued)
        return (
            f"; it looks like {len(glued)} folder names run together: {listed}. "
            "Is a comma missing between them?"
        )
    pieces = [piece.strip() for piece in name.split(",")]
    if len(pieces) > 1 and all(_fold(p) in {_fold(e) for e in existing} for p in pieces):
        listed = ", ".join(f'"{p}"' for p in pieces)
        return f"; put each name in its own quotes: {listed}"
    return _did_you_mean(name, existing)


def _split_into(name: str, existing: list[str]) -> list[str] | None:
    """Split name into two or more existing folder names (a missing comma glues them)."""
    by_key = {_fold(e): e for e in existing}
    key = _fold(name)
    # best[i] = a split of key[:i] into known names
    best: list[list[str] | None] = [None] * (len(key) + 1)
    best[0] = []
    for end in range(1, len(key) + 1):
        for start in range(end):
            prefix = best[start]
            piece = key[start:end].strip()
            if prefix is not None and piece in by_key:
                best[end] = [*prefix, by_key[piece]]
                break
    found = best[len(key)]
    return found if found and len(found) > 1 else None


# ---------------------------------------------------------------------------
# Small helpers


def _unknown(key: str, value: Any, known: Iterable[str], prefix: str = "") -> Problem:
    last = key.rsplit(".", 1)[-1]
    hint = _did_you_mean(last, list(known), prefix)
    return Problem(
        key, f"is not a known setting{hint}", value, has_value=not isinstance(value, dict)
    )


def _did_you_mean(word: str, options: Iterable[str], prefix: str = "") -> str:
    options = list(options)
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not matches:
        folded = {o.lower(): o for o in options}
        matches = [folded[word.lower()]] if word.lower() in folded else []
    if not matches:
        return ""
    full = f"{prefix}.{matches[0]}" if prefix else matches[0]
    return f'; did you mean "{full}"?'


def _explain_toml_error(exc: Exception) -> str:
    message = str(exc)
    hint = ""
    if "Unclosed array" in message or "Expected ',' or ']'" in message:
        hint = ' Is a comma missing between two items of a list, e.g. ["Documents", "Music"]?'
    elif "Cannot declare" in message or "Cannot overwrite" in message:
        hint = " A table or key is given twice."
    elif "Invalid value" in message or "Invalid statement" in message:
        hint = ' Text values need quotes, e.g. home = "C:/Users/me".'
    elif "Unescaped" in message or "escape" in message.lower() or "hex value" in message:
        hint = ' Write Windows paths with forward slashes, e.g. "C:/Users/me".'
    return f"is not valid TOML: {message}.{hint}"


def _no_value(key: str, reason: str) -> Problem:
    return Problem(key, reason, has_value=False)


def _type_name(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)


def _example_path() -> str:
    return '"C:/Users/me/Documents"' if os.name == "nt" else '"/home/me/Documents"'


def _fold(name: str) -> str:
    """Folder names compare case-insensitively on Windows, as the file system does."""
    return name.casefold() if os.name == "nt" else name


def _norm(path: Path, follow_links: bool = True) -> str:
    """The folder a path really is: a link (a junction on Windows) is followed, or a backup
    reached through one could sit inside the folder it backs up and copy itself into itself."""
    absolute = _real(path) if follow_links else os.path.abspath(path)
    return os.path.normcase(os.path.normpath(absolute))


def _real(path: Path) -> str:
    """The path with its links followed, asked for at most LOOK_SECONDS: a share that does not
    answer is taken as it is written (the preflight reports it as away)."""
    absolute = os.path.abspath(path)
    answer = ask(f"realpath {absolute}", lambda: os.path.realpath(absolute)).answer(LOOK_SECONDS)
    return answer.value if isinstance(answer.value, str) else absolute


def _inside(inner: str, outer: str) -> bool:
    return inner.startswith(outer.rstrip(os.sep) + os.sep)
