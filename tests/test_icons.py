"""Tests for the Pillow-drawn tray icons."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from megabackup.tray.icons import IconState, render, write_icon_files

SMALL_SIZES = (16, 24, 32, 48)
# A glyph that differs by fewer pixels than this would not be told apart at a glance.
MIN_DIFFERENT_PIXELS = 12


def _count_different(a: Image.Image, b: Image.Image, threshold: int = 48) -> int:
    """Pixels whose values differ by more than ``threshold`` (ignores antialias noise)."""
    diff = ImageChops.difference(a, b).point(lambda v: 255 if v > threshold else 0)
    return diff.histogram()[255]


def _glyph_mask(image: Image.Image) -> Image.Image:
    """Near-white pixels of the grayscale icon: the state glyph, whatever the body hue."""
    return image.convert("L").point(lambda v: 255 if v >= 224 else 0)


def test_states_have_the_expected_values() -> None:
    assert [s.value for s in IconState] == [
        "ok",
        "running",
        "paused",
        "warning",
        "error",
        "overdue",
        "waiting",
    ]


@pytest.mark.parametrize("size", SMALL_SIZES)
@pytest.mark.parametrize("state", list(IconState))
def test_render_gives_exact_size_rgba(state: IconState, size: int) -> None:
    image = render(state, size)
    assert image.size == (size, size)
    assert image.mode == "RGBA"


def test_running_with_progress_has_exact_size() -> None:
    image = render(IconState.RUNNING, 16, progress=0.5)
    assert image.size == (16, 16)
    assert image.mode == "RGBA"


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.combinations(list(IconState), 2)), ids=str
)
def test_states_differ_without_colour_at_16px(first: IconState, second: IconState) -> None:
    # All states share one silhouette, so the glyph must carry the state. Comparing
    # only the thresholded grayscale glyph means neither hue nor body brightness can
    # make two states look different.
    a, b = _glyph_mask(render(first, 16)), _glyph_mask(render(second, 16))
    assert _count_different(a, b) >= MIN_DIFFERENT_PIXELS


def test_icon_has_opaque_and_transparent_pixels() -> None:
    alpha = render(IconState.OK, 32).getchannel("A")
    low, high = alpha.getextrema()
    assert low == 0
    assert high == 255


def test_progress_changes_the_running_icon() -> None:
    quarter = render(IconState.RUNNING, 32, progress=0.25).convert("L")
    three_quarters = render(IconState.RUNNING, 32, progress=0.75).convert("L")
    assert _count_different(quarter, three_quarters) >= MIN_DIFFERENT_PIXELS


def test_write_icon_files_creates_pngs_and_multi_size_ico(tmp_path: Path) -> None:
    folder = tmp_path / "not-yet-there"
    written = write_icon_files(folder)

    expected_pngs = {folder / f"megabackup-{s.value}.png" for s in IconState}
    ico_path = folder / "megabackup.ico"
    assert set(written) == expected_pngs | {ico_path}
    for path in expected_pngs:
        with Image.open(path) as png:
            assert png.format == "PNG"
            assert png.size == (64, 64)
    with Image.open(ico_path) as ico:
        assert ico.format == "ICO"
        sizes = {w for w, _ in ico.info["sizes"]}
    assert {16, 32, 48, 256} <= sizes
