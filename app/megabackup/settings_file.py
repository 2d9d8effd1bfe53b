"""Writing settings.toml back from a window: the person's comments, key order and keys the
window does not show are kept, and the file is replaced whole or not at all. A leaf module.

Reading stays in settings.py (tomllib, or tomli on 3.10). Writing uses tomlkit, a round-trip
TOML library: it changes the values it is given and leaves every other byte of the file alone.
The template's comment beside each key is also what a window shows to explain that key.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from megabackup.files import atomic_write
from megabackup.settings import SCHEMA, Problem, SettingsError, problems

if sys.version_info >= (3, 11):
    import tomllib
else:  # the Windows rdiff-backup wheel pins us to 3.10, which has no tomllib
    import tomli as tomllib

MIN_COMMENT_GAP = 2  # spaces kept before a comment whose value grew into its column


@dataclass(frozen=True)
class Saved:
    path: Path
    kept_copy: Path | None = None  # the old file, when it could not be read as TOML


def path_text(text: str, *, windows: bool = os.name == "nt") -> str:
    """A path as the person typed or pasted it, the way the settings file keeps it: no
    surrounding quotes (Explorer's "Copy as path" adds them) and, on Windows, forward slashes:
    `\\\\nas\\andy` and `//nas/andy` are both `//nas/andy`, a mapped `Z:\\` is `Z:/`."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    if windows:
        text = text.replace("\\", "/")
    if len(text) > 1 and text.endswith("/") and not (windows and text.endswith(":/")):
        text = text.rstrip("/") or "/"
    if windows and len(text) == 2 and text[1] == ":":
        text += "/"  # "Z:" alone means the current folder on Z:, not its root
    return text


def save(
    path: Path,
    changes: Mapping[str, Any],
    *,
    template: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> Saved:
    """Set each "table.key" of `changes` in the settings file and write it atomically.

    The file is read as it stands (the template when there is none yet), so comments, order
    and keys the caller does not know survive. A value equal to the one in the file leaves
    that line untouched; a key the file lacks is added only when its value differs from the
    default. A value that the settings' rules refuse raises SettingsError and nothing is
    written (folders on the places are not looked at here); a key the rules do not know, or
    another old mistake in the file, is kept as it is: it is the person's, and `megabackup
    check` names it. A file that is not TOML at all is kept beside as a copy before a new
    one is written from the template."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    text, kept = _current_text(path, template)
    try:
        document = tomlkit.parse(text)
    except TOMLKitError:
        kept = _keep_unreadable(path, clock())
        text = template.read_text(encoding="utf-8-sig") if template is not None else ""
        document = tomlkit.parse(text)
    for name, value in changes.items():
        table_name, key = name.split(".", 1)
        _set(document, table_name, key, value)
    new_text = tomlkit.dumps(document)
    wrong = [p for p in problems(tomllib.loads(new_text), check_folders=False) if _ours(p, changes)]
    if wrong:  # a bad value of ours is never written; the file's own old mistakes stay its own
        raise SettingsError(path, wrong)
    atomic_write(path, new_text)
    return Saved(path, kept)


def _ours(problem: Problem, changes: Mapping[str, Any]) -> bool:
    return problem.setting in changes or problem.key == "file"


def key_notes(template: Path | None) -> dict[str, str]:
    """The comment beside each key of the template ("table.key" -> text), to explain it."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        document = tomlkit.parse(template.read_text(encoding="utf-8-sig")) if template else {}
    except (OSError, TOMLKitError):
        return {}
    notes: dict[str, str] = {}
    for table_name, table in document.items():
        if not hasattr(table, "value") or not hasattr(table.value, "body"):
            continue
        for key, item in table.value.body:
            if key is None:  # a blank line or a comment of its own
                continue
            comment = item.trivia.comment.lstrip("#").strip()
            if comment:
                notes[f"{table_name}.{key.key}"] = comment
    return notes


def _current_text(path: Path, template: Path | None) -> tuple[str, Path | None]:
    try:
        return path.read_text(encoding="utf-8-sig"), None
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(path, [_unreadable(exc)]) from None
    return (template.read_text(encoding="utf-8-sig") if template is not None else ""), None


def _unreadable(exc: Exception) -> Problem:
    reason = getattr(exc, "strerror", None) or str(exc)
    return Problem("file", f"cannot be read ({reason})", has_value=False)


def _keep_unreadable(path: Path, now: float) -> Path:
    """Move a file that is not TOML aside, so the person's text is never lost."""
    stamp = time.strftime("%Y-%m-%d %H%M%S", time.localtime(now))
    copy = path.with_name(f"{path.stem} (unreadable {stamp}){path.suffix}")
    os.replace(path, copy)
    return copy


def _set(document: Any, table_name: str, key: str, value: Any) -> None:
    import tomlkit

    if table_name not in document:
        if _is_default(table_name, key, value):
            return
        document.add(table_name, tomlkit.table())
    table = document[table_name]
    if not isinstance(table, dict):  # "desktop = 3": wrong anyway; the window's values win
        document[table_name] = table = tomlkit.table()
    if key not in table:
        if not _is_default(table_name, key, value):
            table.add(key, _plain(value))
        return
    old = table.item(key)  # the item with its comment (table[key] of a bool is a bare bool)
    if _same(old, value):
        return
    table[key] = _plain(value)
    _keep_comment_column(old, table.item(key))


def _keep_comment_column(old: Any, new: Any) -> None:
    """tomlkit keeps the comment but not its column; put it back where the template had it."""
    old_trivia, new_trivia = getattr(old, "trivia", None), getattr(new, "trivia", None)
    if old_trivia is None or new_trivia is None or not old_trivia.comment:
        return
    grown = len(new.as_string()) - len(old.as_string())
    gap = max(MIN_COMMENT_GAP, len(old_trivia.comment_ws) - grown)
    new_trivia.comment_ws = " " * gap


def _plain(value: Any) -> Any:
    """What tomlkit writes: paths as text, tuples as lists, no value as empty text."""
    if value is None:
        return ""
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _same(old: Any, value: Any) -> bool:
    unwrapped = old.unwrap() if hasattr(old, "unwrap") else old
    plain = _plain(value)
    return type(unwrapped) is type(plain) and unwrapped == plain  # 1 is not true, 4 not 4.0


def _is_default(table_name: str, key: str, value: Any) -> bool:
    spec = SCHEMA.get(table_name, {}).get(key)
    if spec is None:
        return False
    default = spec.default
    if default is None:
        return value in (None, "")
    return _plain(value) == _plain(default)
