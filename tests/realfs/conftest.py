"""The `realfs_world` fixture: MegaBackup's places on real filesystems (see world.py).

A test asks for options with the marker, e.g. `@pytest.mark.realfs(exfat=True)` or
`@pytest.mark.realfs(external="exfat", size="512M")`; every test in this folder carries the
`realfs` marker, so `pytest -m "not realfs"` leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .world import World, missing_requirements

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents and item.get_closest_marker("realfs") is None:
            item.add_marker(pytest.mark.realfs)


def world_options(request: pytest.FixtureRequest) -> dict[str, object]:
    marker = request.node.get_closest_marker("realfs")
    return dict(marker.kwargs) if marker else {}


def skip_unless_possible(options: dict[str, object]) -> None:
    exfat = bool(options.get("exfat")) or options.get("external") == "exfat"
    reason = missing_requirements(exfat=exfat)
    if reason:
        pytest.skip(reason)


@pytest.fixture
def realfs_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """A built world; taken down after the test whatever happened in it (a leak fails it)."""
    options = world_options(request)
    skip_unless_possible(options)
    world = World(tmp_path / "world", **options)  # type: ignore[arg-type]
    try:
        world.build()  # takes down what it built if it fails half-way
        yield world
    finally:
        world.teardown()
