"""Entry for `python -m megabackup` and the frozen exe.

`--rdiff-backup ARGS` runs rdiff-backup itself in this process's main thread: the exe calls
itself that way, so the person needs neither Python nor rdiff-backup installed.
"""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--rdiff-backup":
        from rdiffbackup.run import main_run

        return int(main_run(sys.argv[2:]) or 0)
    from megabackup.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
