"""Half-blocks: an image drawn in any colour terminal, two pixels a cell (``▄`` with the
upper pixel as background and the lower as foreground), as rich-pixels draws them.

A preview pane is thousands of distinct colour pairs, so the segments are built here for
speed: the pixels' colours are made in a few C-level passes over the whole picture, and
each cell's style and segment directly.  Pillow, Rich's colour classes and rich-pixels are
imported on first use.

In a 256-colour terminal the picture is drawn in the xterm palette chosen here, not left
to the terminal layer's downgrade: Rich (and so Textual) sends a colour whose saturation
is under 15 % to the grey ramp and any other to the colour cube by rounding each channel
on its own, so a near-grey area whose pixels sit on either side of that line breaks into
grey and olive or purple blotches, with rims around flat areas.  Here each pixel gets its
nearest colour among the 240 fixed xterm colours (`to_xterm256`, exact, no dithering: a
dithered flat area would be speckled), so a flat area stays one colour, a gradient steps
through neighbouring colours in order, and both halves of a cell are mapped the same way.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.segment import Segment
    from rich_pixels import Pixels

BACKGROUND = (24, 24, 24)  # what transparent pixels are laid on

#: The colour systems a picture is drawn for: exact colours, or the xterm palette.
TRUECOLOR, EIGHT_BIT = "truecolor", "256"

_expected = TRUECOLOR


def expect_color_system(system: str | None) -> None:
    """Tell the renderer which colour system the screen speaks (Rich's name for it:
    ``"truecolor"``, ``"256"``, ``"standard"``...), so pictures made off the UI thread are
    drawn for it in advance; a picture shown elsewhere still draws itself for the console
    it is rendered on."""
    global _expected
    _expected = _drawn_for(system)


def expected_color_system() -> str:
    return _expected


def _drawn_for(system: str | None) -> str:
    # Only the 256-colour palette is chosen here; 16-colour terminals and no colour are
    # left to the terminal layer (a 16-colour picture is a poor picture whatever we do).
    return EIGHT_BIT if system == EIGHT_BIT else TRUECOLOR


_CUBE = [0, 95, 135, 175, 215, 255]     # the levels of each channel in the colour cube
_RAMP = [8 + 10 * i for i in range(24)]  # the grey ramp, numbers 232-255


def xterm_palette() -> list[tuple[int, int, int]]:
    """The 240 fixed colours of the xterm 256-colour palette, numbers 16 to 255: the
    6x6x6 cube, then the 24-step grey ramp.  (0 to 15 are left out: every terminal theme
    sets them differently.)"""
    cube = [(r, g, b) for r in _CUBE for g in _CUBE for b in _CUBE]
    return cube + [(v, v, v) for v in _RAMP]


def _nearest_levels(levels: list[int], value: int) -> int:
    return min(range(len(levels)), key=lambda i: (abs(levels[i] - value), i))


_indexes: tuple[list[int], list[int]] | None = None


def _level_indexes() -> tuple[list[int], list[int]]:
    """value -> index of the nearest cube level, and of the nearest ramp grey (ties: the
    darker); made at the first 256-colour picture (this module loads at start-up)."""
    global _indexes
    if _indexes is None:
        _indexes = ([_nearest_levels(_CUBE, v) for v in range(256)],
                    [_nearest_levels(_RAMP, v) for v in range(256)])
    return _indexes


def to_xterm256(image: Image.Image) -> Image.Image:
    """Each pixel's nearest xterm colour number (16-255, by distance in RGB), as an
    ``L`` image.  The palette's shape makes it exact and cheap: the nearest cube colour is
    the nearest level in each channel on its own, the nearest ramp grey is the one nearest
    the pixel's mean; whichever of the two is nearer wins (a few Pillow operations over
    the whole image, no per-pixel Python; Pillow's own `quantize` is off by up to 3 levels
    a channel, enough to flicker between neighbours in a gradient)."""
    from PIL import ImageMath

    cube_index, ramp_index = _level_indexes()
    rgb = flatten(image)
    r, g, b = rgb.split()
    mean = rgb.convert("L", (1 / 3, 1 / 3, 1 / 3, 0))
    return ImageMath.lambda_eval(
        lambda a: _choose(a, *(_band(a, band) for band in "rgb")),
        r=r, g=g, b=b,
        ir=r.point(cube_index), ig=g.point(cube_index), ib=b.point(cube_index),
        lr=r.point([_CUBE[i] for i in cube_index]),
        lg=g.point([_CUBE[i] for i in cube_index]),
        lb=b.point([_CUBE[i] for i in cube_index]),
        grey=mean.point([_RAMP[i] for i in ramp_index]),
        ramp=mean.point(ramp_index))


def _band(a, band):
    return a[band], a["l" + band], a["i" + band]


def _choose(a, red, green, blue):
    cube_error = sum((v - level) * (v - level) for v, level, _ in (red, green, blue))
    grey = a["grey"]
    grey_error = sum((v - grey) * (v - grey) for v, _, _ in (red, green, blue))
    cube = 16 + 36 * red[2] + 6 * green[2] + blue[2]
    use_cube = cube_error <= grey_error
    return a["convert"](use_cube * cube + (1 - use_cube) * (232 + a["ramp"]), "L")


def flatten(im: Image.Image) -> Image.Image:
    """``im`` as RGB, transparency laid on the preview background."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


def halfblock_segments(image: Image.Image, colors: str = TRUECOLOR) -> list[Segment]:
    """``image`` as rows of ``▄`` cells (background = upper pixel, foreground = lower),
    each row ending in a newline; an odd last row is ``▀`` in the upper pixel's colour.
    ``colors``: ``"truecolor"`` (exact colours) or ``"256"`` (nearest xterm colours).

    What rich-pixels' half-cell renderer draws, made for speed (a pane is thousands of
    distinct colour pairs): every pixel's colour is made in one pass of C-level ``map``
    calls, and each cell's style and segment directly, without parsing or validating (a
    run of equal cells shares one)."""
    import gc

    # Thousands of small acyclic objects: pausing the cycle collector saves its passes.
    enabled = gc.isenabled()
    gc.disable()
    try:
        rgb = flatten(image)
        if _drawn_for(colors) == EIGHT_BIT:
            numbers = to_xterm256(rgb).tobytes()
            table = _xterm_colors()
            pixels = list(map(table.__getitem__, numbers))
            names = list(map(_XTERM_NAMES.__getitem__, numbers))
        else:
            names, pixels = _true_colors(rgb.tobytes())
        return _halfblock_segments(names, pixels, rgb.width, rgb.height)
    finally:
        if enabled:
            gc.enable()


def _true_colors(data: bytes) -> tuple[list[str], list]:
    """The ``#rrggbb`` name and the Rich colour of each pixel of RGB ``data``: what
    `Color.from_rgb` makes, built by ``map`` over the whole picture (a Python loop
    making two tuples a pixel was half the cost of a pane)."""
    from itertools import repeat
    from operator import add

    from rich.color import Color, ColorType
    from rich.color_triplet import ColorTriplet

    count = len(data) // 3
    new = tuple.__new__
    names = list(map(add, repeat("#", count), data.hex(" ", 3).split()))
    triplets = map(new, repeat(ColorTriplet, count), zip(data[::3], data[1::3], data[2::3]))
    colors = list(map(new, repeat(Color, count),
                      zip(names, repeat(ColorType.TRUECOLOR), repeat(None), triplets)))
    return names, colors


_XTERM_COLORS: list | None = None
_XTERM_NAMES: list[str] = []


def _xterm_colors() -> list:
    """Rich colours for xterm numbers 0-255 (16-255 filled in), made once, and their
    names in `_XTERM_NAMES`."""
    global _XTERM_COLORS
    if _XTERM_COLORS is None:
        from rich.color import Color, ColorType
        from rich.color_triplet import ColorTriplet

        # The triplet rides along: Textual turns a colour without one into true colour
        # (its ANSI filter), which would send it through the downgrade this module avoids.
        table: list = [None] * 16
        table += [Color(f"color({16 + i})", ColorType.EIGHT_BIT, 16 + i, ColorTriplet(*rgb))
                  for i, rgb in enumerate(xterm_palette())]
        _XTERM_NAMES[:] = [color.name if color else "" for color in table]
        _XTERM_COLORS = table
    return _XTERM_COLORS


def _halfblock_segments(names: list[str], colors: list, width: int,
                        height: int) -> list[Segment]:
    """The cells of a picture whose pixels (row by row) have these Rich ``colors``,
    named ``names``.  A cell the same as the one before it shares its segment (a flat
    area is one style a row); a photograph's cells are nearly all distinct, and looking
    each up in a table of all the picture's cells cost more than it saved."""
    from operator import add

    from rich.segment import Segment
    from rich.style import Style

    new, new_style = tuple.__new__, Style.__new__
    segments: list[Segment] = []
    append = segments.append
    newline = Segment("\n")
    for top in range(0, (height - height % 2) * width, 2 * width):
        bottom, end = top + width, top + 2 * width
        last = segment = None
        for pair, bg, fg in zip(map(add, names[top:bottom], names[bottom:end]),
                                colors[top:bottom], colors[bottom:end]):
            if pair != last:
                style = new_style(Style)  # what `Style.from_color(fg, bg)` sets
                style._ansi = style._style_definition = style._link = style._meta = None
                style._hash = None
                style._color, style._bgcolor = fg, bg
                style._set_attributes = style._attributes = 0
                style._link_id, style._null = "", False
                segment, last = new(Segment, ("▄", style, None)), pair
            append(segment)
        append(newline)
    if height % 2:  # odd height: the last row has no lower pixel
        last = (height - 1) * width
        for color in colors[last:last + width]:
            append(Segment("▀", Style.from_color(color)))
        append(newline)
    return segments


class HalfBlocks:
    """An already-sized image as half-blocks, drawn for the colour system of the console
    that renders it (exact colours, or the nearest xterm-256 colours); the drawing for
    the expected system is made at once (off the UI thread), any other on first use.
    Each drawing is a rich-pixels `Pixels`."""

    def __init__(self, image: Image.Image, colors: str | None = None) -> None:
        self.image = flatten(image)
        self.size = self.image.size
        self._drawings: dict[str, Pixels] = {}
        self._lock = threading.Lock()
        self.drawing(colors or _expected)

    def drawing(self, colors: str | None) -> Pixels:
        """The drawing for ``colors`` (made once)."""
        from rich_pixels import Pixels

        system = _drawn_for(colors)
        with self._lock:
            drawing = self._drawings.get(system)
            if drawing is None:
                drawing = self._drawings[system] = Pixels.from_segments(
                    halfblock_segments(self.image, system))
            return drawing

    @property
    def drawn(self) -> tuple[str, ...]:
        """The colour systems drawn so far."""
        return tuple(self._drawings)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.drawing(console.color_system)


def halfblock_renderable(image: Image.Image, colors: str | None = None) -> HalfBlocks:
    """An already-sized image as half-blocks (one cell per column, two rows per cell),
    drawn for ``colors`` in advance (default: the expected colour system)."""
    return HalfBlocks(image, colors)
