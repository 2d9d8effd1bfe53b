"""Screenshots of one Tk window (not the whole X screen it shares with the other windows)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def screenshot(display: str, root: Any, name: str) -> Path:
    """The window as it is on the screen now, into test-artifacts/NAME."""
    root.update()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    x, y = root.winfo_rootx(), root.winfo_rooty()
    width, height = root.winfo_width(), root.winfo_height()
    subprocess.run(
        ["import", "-window", "root", "-crop", f"{width}x{height}+{x}+{y}", "+repage", str(shot)],
        env=dict(os.environ, DISPLAY=display),
        check=True,
        timeout=30,
    )
    return shot
