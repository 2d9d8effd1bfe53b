"""The first run: put the settings template in place, open the set-up window, say what it is for.

Until the three places are filled in, the worker treats the settings as unusable: the status
line says to fill them in and no cycle runs, not even on schedule. The worker reloads the file
on every save, so a good save starts normal operation without a restart.

"Not filled in" means: one of the three places still reads as the template's example and that
example does not exist here. An example that exists is someone's real folder (the template
carries the original topology), so it counts as filled in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from megabackup import bundle, winsys
from megabackup.files import atomic_write
from megabackup.notify import Notice, NoticeKind
from megabackup.places import PLACES
from megabackup.settings import read_document

log = logging.getLogger(__name__)

FILL_IN = "fill in your three places in the settings"
WELCOME = Notice(
    "Welcome to MegaBackup",
    "Tell MegaBackup where your files are in the window that just opened: the folder you work "
    "in, the same folders on the network share, and a folder for snapshots on this PC. Save, "
    "and backups start.",
    NoticeKind.SETTINGS,
)


def install_template(settings_path: Path, template: Path | None = None) -> bool:
    """Copy the template to settings_path if there is no file there yet; True if it did."""
    if settings_path.exists():
        return False
    source = template or bundle.settings_template()
    if source is None:
        log.warning("no settings template is shipped; %s stays missing", settings_path)
        return False
    atomic_write(settings_path, source.read_bytes())  # the worker may be reading it
    log.info("first run: the settings template was copied to %s", settings_path)
    return True


def unfilled(settings_path: Path, template: Path | None = None) -> list[str]:
    """The places (by name) still at the template's example that does not exist here."""
    left = examples_left(settings_path, template)
    return [place.name for place in PLACES if place.required and place.setting in left]


def examples_left(settings_path: Path, template: Path | None = None) -> set[str]:
    """The settings ("table.key") of every place still at the template's example that does not
    exist here: the set-up window shows these as empty fields."""
    source = template or bundle.settings_template()
    if source is None:
        return set()
    mine, example = read_document(settings_path), read_document(source)
    if mine is None or example is None:
        return set()  # unreadable: loading the settings names the problem
    left = set()
    for place in PLACES:
        table, key = place.setting.split(".")
        value, sample = _value(mine, table, key), _value(example, table, key)
        # the examples are Windows paths: compare them the Windows way, on any system
        if value is None or sample is None or not winsys.same_path(value, sample, windows=True):
            continue
        # a source must exist; the desktop backup may not yet, but its parent must
        if not _present(Path(value), must_exist=place.is_source):
            left.add(place.setting)
    return left


def welcome(open_window: Callable[[], object], notify: Callable[..., object]) -> None:
    """Open the set-up window and say what it is for."""
    try:
        open_window()
    except Exception as exc:  # the notification still says what to do
        log.warning("cannot open the set-up window: %r", exc)
    notify(WELCOME)


def _value(data: dict[str, Any], table: str, key: str) -> str | None:
    section = data.get(table)
    value = section.get(key) if isinstance(section, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _present(path: Path, *, must_exist: bool) -> bool:
    try:
        return path.is_dir() if must_exist else (path.is_dir() or path.parent.is_dir())
    except OSError:
        return False
