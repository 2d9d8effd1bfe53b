"""Whether the sync has anything to do: both homes as a sync that changed nothing found them.

A sync that ran to the end and changed nothing on either side (no copy, no deletion, no conflict,
nothing skipped, failed or unreadable) found the two homes in step. The walks that this cycle's
snapshots took of them just before it are then saved as the proof. When a later cycle's walks of
both homes match that proof (the same selection, the same entries with the same sizes, times,
types and permissions, and nothing modified so close to the proof's walk that a later edit could
have kept its time), neither home changed since, so they are still in step and unison would find
nothing to do: the sync is skipped. Any doubt runs it: no proof, another selection, a walk that
could not read everything, a clock that went back, the full content check due.

Why the walks from before the sync and not new ones after it: an edit made while unison ran,
after unison had looked at that file, is in neither the sync nor those walks, so the next walk
differs and the sync runs. A walk taken after the sync would hold the edit, match the next walk,
and the edit would never reach the other side.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from megabackup.engine import manifest
from megabackup.files import atomic_write

RECORD = "sync-in-step.json"
FORMAT = 1


def still_in_step(
    folder: Path,
    key: str,
    desktop: manifest.Manifest,
    server: manifest.Manifest,
    *,
    server_doubt_seconds: float,
) -> bool:
    """True only when the walks of both homes now prove them unchanged since the proof.

    `key` names the sync's roots and selection; the server's walk gets a wider doubt window,
    as its times come from the share's clock."""
    saved = _load(folder, key)
    if saved is None:
        return False
    desktop_then, server_then = saved
    return manifest.unchanged(desktop, desktop_then) and manifest.unchanged(
        server, server_then, doubt_seconds=server_doubt_seconds
    )


def save(folder: Path, key: str, desktop: manifest.Manifest, server: manifest.Manifest) -> None:
    """The walks of both homes taken before a sync that found them in step; written whole."""
    if not (desktop.complete and server.complete):
        forget(folder)  # a walk that missed something proves nothing
        return
    data = {
        "format": FORMAT,
        "key": key,
        "desktop": manifest.as_data(desktop),
        "server": manifest.as_data(server),
    }
    atomic_write(folder / RECORD, json.dumps(data, sort_keys=True, indent=1))


def forget(folder: Path) -> None:
    """After any sync that did something, or did not finish: the next one runs in full."""
    with contextlib.suppress(OSError):  # one left behind still tells the truth of its walks
        (folder / RECORD).unlink()


def _load(folder: Path, key: str) -> tuple[manifest.Manifest, manifest.Manifest] | None:
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
        return None
    desktop, server = (
        manifest.from_data(data.get("desktop")),
        manifest.from_data(data.get("server")),
    )
    if desktop is None or server is None:
        return None
    return desktop, server
