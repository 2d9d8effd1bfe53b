"""Entry for `python -m megabackup` and the frozen exe.

- `--rdiff-backup ARGS` runs rdiff-backup itself in this process's main thread: the exe calls
  itself that way, so the person needs neither Python nor rdiff-backup installed. The runner
  starts that child with pipes for its output, so it has a real stdout even from a windowed exe.
- The exe with no arguments (a double-click) starts the tray. `megabackup` and
  `python -m megabackup` with no arguments print the help, as a command-line tool does.
- A windowed exe has no stdout or stderr (both None). Before anything can print, they are
  pointed at the console of the program that started the exe (cmd, PowerShell) if there is one,
  else at `output.log` in the state folder, so no print, log call or library write can crash.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

OUTPUT_LOG = "output.log"
OUTPUT_LOG_LIMIT = 1_000_000  # bytes; started afresh beyond this, it only holds stray output


def main() -> int:
    args = sys.argv[1:]
    give_output_a_home(console=bool(args) and args[0] not in ("--rdiff-backup", "tray"))
    if args[:1] == ["--rdiff-backup"]:
        from rdiffbackup.run import main_run

        return int(main_run(args[1:]) or 0)
    if os.name == "nt":
        from megabackup import winsys

        winsys.quiet_drive_errors()  # scanning an empty card reader must not pop up a dialog
    if not args and getattr(sys, "frozen", False):
        args = ["tray"]  # double-clicked
    from megabackup.cli import main as cli_main

    return cli_main(args)


def give_output_a_home(*, console: bool = False) -> Path | None:
    """Replace a None sys.stdout/sys.stderr; return the log file used, if any."""
    if sys.stdout is not None and sys.stderr is not None:
        return None
    stream: TextIO | None = None
    if console and os.name == "nt":
        from megabackup import winsys

        stream = winsys.parent_console()
    log_file = None
    if stream is None:
        stream, log_file = _output_log()
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream
    return log_file


def _output_log() -> tuple[TextIO, Path | None]:
    from megabackup.locations import AppPaths

    path = AppPaths.from_environment().root / OUTPUT_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size > OUTPUT_LOG_LIMIT
        # line-buffered, appended: the tray and its children may write at once
        mode = "w" if fresh else "a"
        return open(path, mode, encoding="utf-8", errors="replace", buffering=1), path
    except OSError:
        return open(os.devnull, "w", encoding="utf-8"), None


if __name__ == "__main__":
    sys.exit(main())
