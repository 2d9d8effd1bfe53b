"""Shared test helpers: reading the recorded real tool output in tests/fixtures/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gui.xvfb import start_xvfb
from support import small_tmpfs

FIXTURES = Path(__file__).parent / "fixtures"
PLACEHOLDER = "<ROOT>"
TK_SCREEN = "1280x1024"  # room for the set-up window, the tallest of MegaBackup's windows


@dataclass(frozen=True)
class Recordings:
    """Recorded output of a real tool run (see tests/fixtures/README.md)."""

    folder: Path

    def raw(self, tool: str, name: str, root: Path | str = PLACEHOLDER) -> bytes:
        data = (self.folder / tool / f"{name}.txt").read_bytes()
        return data.replace(PLACEHOLDER.encode(), str(root).encode())

    def lines(self, tool: str, name: str, root: Path | str = PLACEHOLDER) -> list[str]:
        """The lines as the runner delivers them: cut at \\n and \\r, right-stripped, no blanks."""
        text = self.raw(tool, name, root).decode("utf-8")
        return [line.rstrip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]

    def returncode(self, tool: str, name: str) -> int:
        for line in (self.folder / tool / "returncodes.txt").read_text().splitlines():
            key, _, code = line.partition(" ")
            if key == name:
                return int(code)
        raise KeyError(f"no recorded exit code for {tool}/{name}")


@pytest.fixture(scope="session")
def recorded() -> Recordings:
    return Recordings(FIXTURES)


@pytest.fixture(scope="session")
def tk_display(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One private X server for every Tk window the tests open in this process. Tk never closes
    a display it has opened, and when that server goes away the next Tk event loop on any
    display ends the process ("XIO: fatal IO error"), so it lives as long as the session."""
    if os.name == "nt":
        pytest.skip("the window tests drive an X server (Xvfb, xdotool, xprop); Linux only")
    missing = [tool for tool in ("Xvfb", "xdotool", "import") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (make system-packages installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    log = tmp_path_factory.mktemp("xvfb") / "xvfb.log"
    server, display = start_xvfb(TK_SCREEN, log)
    try:
        assert display, f"Xvfb did not start; see {log}"
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB file system (tmpfs) for a backup target: a real full disk, not a simulation."""
    with small_tmpfs(tmp_path / "small-disk", "3m") as mount_point:
        yield mount_point
