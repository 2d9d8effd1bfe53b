"""When something last happened (retention, the full sync check): one small JSON file each.

A leaf module. A missing or damaged stamp reads as "never"; a stamp is written whole or not at all.
"""

from __future__ import annotations

import json
from pathlib import Path


def read_stamp(folder: Path, name: str) -> float | None:
    try:
        return float(json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))["last_run"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_stamp(folder: Path, name: str, when: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.json"
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(json.dumps({"last_run": when}) + "\n", encoding="utf-8")
    temporary.replace(target)


def due(last: float | None, now: float, every_seconds: float) -> bool:
    """Never done, done "in the future" (the clock was set back), or done long enough ago."""
    return last is None or last > now or now - last >= every_seconds
