"""Shared test helpers: reading the recorded real tool output in tests/fixtures/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PLACEHOLDER = "<ROOT>"


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
