"""Start a private X server on a free display number: for the GUI tests, and for the benchmark's
idle-tray measurement, which borrows it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def start_xvfb(size: str, log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """(the Xvfb process, its DISPLAY such as ":3"); the display is "" when it did not start.
    The caller ends the process."""
    read, write = os.pipe()
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
            pass_fds=(write,),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    finally:
        os.close(write)
        if log is not None:
            output.close()  # type: ignore[union-attr]
    with os.fdopen(read) as stream:
        number = stream.readline().strip()
    return process, f":{number}" if number else ""
