"""Tray icons for each backup state, drawn with Pillow.

Every state has its own colour *and* its own mostly-white glyph on one shared
rounded-square body, so the state can be told apart in grayscale and by
colour-blind users. Shapes are laid out on a
16x16 design grid so the smallest tray size stays crisp; larger sizes scale up.

Regenerate the shipped files in ``icons/`` with ``python -m megabackup.tray.icons``.
"""

from __future__ import annotations

import argparse
import math
from enum import Enum
from pathlib import Path

from PIL import Image, ImageDraw

from megabackup import bundle

Colour = tuple[int, int, int]
Point = tuple[float, float]

# Supersampling factor: drawing large and downsampling with LANCZOS gives
# smooth edges without losing the hard 1px outline at 16 px.
_SUPERSAMPLE = 4
_GRID = 16  # design units per icon side
_ICO_SIZES = (16, 24, 32, 48, 64, 256)
_PNG_SIZE = 64
_WHITE: Colour = (255, 255, 255)
_DARK: Colour = (24, 24, 24)


class IconState(str, Enum):
    """What the tray icon shows; values are used in file names."""

    OK = "ok"
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"
    ERROR = "error"
    OVERDUE = "overdue"
    WAITING = "waiting"  # a place is away (the share, a disk): ordinary life, not a fault


# Body colours are mid-dark so a white glyph has strong contrast on all of them.
_BODY: dict[IconState, Colour] = {
    IconState.OK: (34, 150, 70),
    IconState.RUNNING: (28, 112, 214),
    IconState.PAUSED: (112, 118, 128),
    IconState.WARNING: (230, 150, 0),
    IconState.ERROR: (212, 46, 40),
    IconState.OVERDUE: (132, 72, 204),
    IconState.WAITING: (0, 128, 140),
}


def _mix(base: Colour, target: Colour, t: float) -> Colour:
    """Blend ``base`` towards ``target`` by ``t`` (0 = base, 1 = target)."""
    r, g, b = (round(x + (y - x) * t) for x, y in zip(base, target, strict=True))
    return (r, g, b)


class _Pen:
    """Draws in 16-unit design coordinates on a supersampled canvas."""

    def __init__(self, size: int) -> None:
        self.px = size * _SUPERSAMPLE
        self.unit = self.px / _GRID
        self.image = Image.new("RGBA", (self.px, self.px), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.image)

    def _p(self, v: float) -> float:
        return v * self.unit

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
        # Pillow treats the right/bottom coordinate as inclusive, hence the -1.
        return (self._p(x0), self._p(y0), self._p(x1) - 1, self._p(y1) - 1)

    def rounded(self, box: tuple[float, float, float, float], radius: float, fill: Colour) -> None:
        self.draw.rounded_rectangle(self._box(*box), radius=self._p(radius), fill=fill)

    def disk(self, centre: Point, radius: float, fill: Colour) -> None:
        cx, cy = centre
        self.draw.ellipse(self._box(cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)

    def stroke(self, points: list[Point], width: float, fill: Colour) -> None:
        """Polyline with round joints and round caps (bold strokes read better small)."""
        xy = [(self._p(x), self._p(y)) for x, y in points]
        self.draw.line(xy, fill=fill, width=round(self._p(width)), joint="curve")
        for end in (points[0], points[-1]):
            self.disk(end, width / 2, fill)

    def polygon(self, points: list[Point], fill: Colour) -> None:
        self.draw.polygon([(self._p(x), self._p(y)) for x, y in points], fill=fill)

    def arc(
        self,
        centre: Point,
        radius: float,
        start: float,
        sweep: float,
        width: float,
        fill: Colour,
        caps: bool = True,
    ) -> None:
        """Clockwise arc from ``start`` degrees (0 = 12 o'clock) spanning ``sweep`` degrees."""
        cx, cy = centre
        outer = radius + width / 2
        box = self._box(cx - outer, cy - outer, cx + outer, cy + outer)
        # Pillow measures from 3 o'clock; shift so 0 means 12 o'clock.
        self.draw.arc(box, start - 90, start - 90 + sweep, fill=fill, width=round(self._p(width)))
        if caps:
            for angle in (start, start + sweep):
                self.disk(_on_circle(centre, radius, angle), width / 2, fill)

    def result(self, size: int) -> Image.Image:
        return self.image.resize((size, size), Image.Resampling.LANCZOS)


def _on_circle(centre: Point, radius: float, angle: float) -> Point:
    """Point at ``angle`` degrees clockwise from 12 o'clock."""
    rad = math.radians(angle)
    return (centre[0] + radius * math.sin(rad), centre[1] - radius * math.cos(rad))


def _body(pen: _Pen, colour: Colour) -> None:
    # Dark outline for light taskbars, light inner edge for dark taskbars.
    pen.rounded((0, 0, 16, 16), 4, _mix(colour, _DARK, 0.7))
    pen.rounded((1, 1, 15, 15), 3, _mix(colour, _WHITE, 0.55))
    pen.rounded((2, 2, 14, 14), 2.2, colour)


def _check(pen: _Pen) -> None:
    pen.stroke([(4.6, 8.4), (7.0, 10.8), (11.4, 5.6)], 2.3, _WHITE)


def _running(pen: _Pen, colour: Colour, progress: float | None) -> None:
    centre, radius, width = (8.0, 8.0), 3.6, 2.1
    if progress is None:
        # Circular arrow: an open ring with an arrowhead at its clockwise end.
        start, sweep = 50.0, 230.0
        pen.arc(centre, radius, start, sweep, width, _WHITE)
        tip_angle = start + sweep
        base = _on_circle(centre, radius, tip_angle)
        # Arrowhead points clockwise, i.e. along the tangent.
        tangent = math.radians(tip_angle)
        tx, ty = math.cos(tangent), math.sin(tangent)
        nx, ny = math.sin(tangent), -math.cos(tangent)  # outward normal
        half, length = 2.7, 3.0
        pen.polygon(
            [
                (base[0] + nx * half, base[1] + ny * half),
                (base[0] - nx * half, base[1] - ny * half),
                (base[0] + tx * length, base[1] + ty * length),
            ],
            _WHITE,
        )
        return
    # Progress ring: a dim full track, and a white arc whose length is the progress.
    pen.arc(centre, radius, 0, 360, width, _mix(colour, _DARK, 0.45), caps=False)
    fraction = min(max(progress, 0.0), 1.0)
    if fraction > 0:
        pen.arc(centre, radius, 0, 360 * fraction, width, _WHITE, caps=fraction < 1)


def _paused(pen: _Pen) -> None:
    pen.rounded((4.6, 4.4, 7.1, 11.6), 0.7, _WHITE)
    pen.rounded((8.9, 4.4, 11.4, 11.6), 0.7, _WHITE)


def _warning(pen: _Pen, colour: Colour) -> None:
    # White triangle badge with a dark exclamation mark; the mark sits on whole
    # grid units so it stays a crisp 2 px column at 16 px.
    tri = [(8.0, 2.0), (14.0, 13.0), (2.0, 13.0)]
    pen.polygon(tri, _WHITE)
    pen.stroke([*tri, tri[0]], 0.8, _WHITE)  # rounds the triangle's corners
    mark = _mix(colour, _DARK, 0.8)
    pen.rounded((7, 5.5, 9, 9), 0.4, mark)
    pen.rounded((7, 10, 9, 12), 0.5, mark)


def _error(pen: _Pen) -> None:
    pen.stroke([(5.2, 5.2), (10.8, 10.8)], 2.3, _WHITE)
    pen.stroke([(10.8, 5.2), (5.2, 10.8)], 2.3, _WHITE)


def _overdue(pen: _Pen, colour: Colour) -> None:
    # Clock badge: white face with bold hands at 12 and 3 o'clock, on whole grid
    # units so they stay crisp at 16 px.
    pen.disk((8.0, 8.0), 5.0, _WHITE)
    hands = _mix(colour, _DARK, 0.6)
    pen.rounded((7, 4.2, 9, 9), 0.5, hands)
    pen.rounded((7, 7, 11.2, 9), 0.5, hands)


def _waiting(pen: _Pen) -> None:
    # Hourglass: a bar above and below, two sand triangles meeting in the middle.
    pen.rounded((4.2, 3.0, 11.8, 4.6), 0.5, _WHITE)
    pen.rounded((4.2, 11.4, 11.8, 13.0), 0.5, _WHITE)
    pen.polygon([(5.2, 4.4), (10.8, 4.4), (8.6, 7.6), (7.4, 7.6)], _WHITE)
    pen.polygon([(7.4, 8.4), (8.6, 8.4), (10.8, 11.6), (5.2, 11.6)], _WHITE)
    pen.rounded((7.4, 7.2, 8.6, 8.8), 0.3, _WHITE)  # the neck


def render(state: IconState, size: int = 64, progress: float | None = None) -> Image.Image:
    """Draw the tray icon for ``state`` as a ``size`` x ``size`` RGBA image.

    ``progress`` (0..1) is only used by ``RUNNING``: it sets the length of the
    progress ring. Without it, ``RUNNING`` shows a circular arrow instead.
    """
    state = IconState(state)
    if size < 1:
        raise ValueError(f"icon size must be positive, got {size}")
    colour = _BODY[state]
    pen = _Pen(size)
    _body(pen, colour)
    match state:
        case IconState.OK:
            _check(pen)
        case IconState.RUNNING:
            _running(pen, colour, progress)
        case IconState.PAUSED:
            _paused(pen)
        case IconState.WARNING:
            _warning(pen, colour)
        case IconState.ERROR:
            _error(pen)
        case IconState.OVERDUE:
            _overdue(pen, colour)
        case IconState.WAITING:
            _waiting(pen)
    return pen.result(size)


def write_icon_files(folder: Path) -> list[Path]:
    """Write ``megabackup-<state>.png`` for every state plus a multi-size ``megabackup.ico``."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for state in IconState:
        path = folder / f"megabackup-{state.value}.png"
        render(state, _PNG_SIZE).save(path)
        written.append(path)
    # Render each ICO size natively rather than letting Pillow shrink the 256 px one,
    # so the small sizes keep their pixel-aligned outline.
    frames = [render(IconState.OK, size) for size in _ICO_SIZES]
    ico_path = folder / "megabackup.ico"
    frames[-1].save(
        ico_path,
        format="ICO",
        sizes=[(s, s) for s in _ICO_SIZES],
        append_images=frames[:-1],
    )
    written.append(ico_path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Regenerate MegaBackup's tray icon files.")
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=bundle.SOURCE_ROOT / "icons",
        help="output folder (default: the repository's icons/ folder)",
    )
    for written_path in write_icon_files(parser.parse_args().folder):
        print(written_path)
