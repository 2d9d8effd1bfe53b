"""Entry for `python -m megabackup` and the frozen exe.

- `--rdiff-backup ARGS` runs rdiff-backup itself in this process's main thread: the exe calls
  itself that way, so the person needs neither Python nor rdiff-backup installed. The runner
  starts that child with pipes for its output, so it has a real stdout even from a windowed exe,
  and this process ends with the one that started it. Nothing may escape it: in a windowed exe
  an exception that leaves the script shows a modal "Unhandled exception" dialog and the process
  waits for a click that never comes, holding up the cycle (a full disk raises OSError inside
  rdiff-backup; `list increments --size` on a deleted file raises KeyError). The traceback goes
  to the output the runner reads instead.
- The exe with no arguments (a double-click) starts the tray. `megabackup` and
  `python -m megabackup` with no arguments print the help, as a command-line tool does.
- A windowed exe has no stdout or stderr (both None). Before anything can print, they are
  pointed at the console of the program that started the exe (cmd, PowerShell) if there is one,
  else at `output.log` in the state folder, so no print, log call or library write can crash.
- Redirected output on Windows uses the ANSI code page with strict errors, so a file name
  outside it (Greek, Japanese, an emoji) would crash a print: every stream speaks UTF-8, and a
  character that cannot be written becomes a replacement mark.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

OUTPUT_LOG = "output.log"
OUTPUT_LOG_LIMIT = 1_000_000  # bytes; started afresh beyond this, it only holds stray output
RDIFF_CRASHED = 1  # rdiff-backup's own "error" bit: the caller reads it as a failed command


def main() -> int:
    args = sys.argv[1:]
    give_output_a_home(console=bool(args) and args[0] not in ("--rdiff-backup", "tray"))
    speak_utf8()
    if args[:1] == ["--rdiff-backup"]:
        return run_rdiff_backup(args[1:])
    if os.name == "nt":
        from megabackup import winsys

        winsys.quiet_drive_errors()  # scanning an empty card reader must not pop up a dialog
    if not args and getattr(sys, "frozen", False):
        args = ["tray"]  # double-clicked
    from megabackup.cli import main as cli_main

    return cli_main(args)


def run_rdiff_backup(argv: Sequence[str]) -> int:
    """rdiff-backup in this process; whatever it raises ends as a traceback and an exit code."""
    try:
        from rdiffbackup.run import main_run

        from megabackup.tools.runner import end_with_parent

        end_with_parent()  # the exe's bootloader may be killed; this second process goes too
        return int(main_run(list(argv)) or 0)
    except SystemExit as exc:  # its fatal errors: the message is out already
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else RDIFF_CRASHED)
    except BaseException:  # anything at all: never let it reach the windowed exe's dialog
        with contextlib.suppress(BaseException):  # nor a failing write of the traceback
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
        return RDIFF_CRASHED


def speak_utf8() -> None:
    """stdout and stderr in UTF-8 with replacement, whatever code page the system would use."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(encoding="utf-8", errors="replace")


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
