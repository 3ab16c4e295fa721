"""Half-blocks: an image drawn in any colour terminal, two pixels a cell (``▄`` with the
upper pixel as background and the lower as foreground), as rich-pixels draws them.

A preview pane is thousands of distinct colour pairs, so the segments are built here for
speed: the pixels are read in one go and each colour, style and segment made once,
directly.  Pillow, Rich's colour classes and rich-pixels are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image
    from rich.segment import Segment
    from rich_pixels import Pixels

BACKGROUND = (24, 24, 24)  # what transparent pixels are laid on


def flatten(im: Image.Image) -> Image.Image:
    """``im`` as RGB, transparency laid on the preview background."""
    from PIL import Image

    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


def halfblock_segments(image: Image.Image) -> list[Segment]:
    """``image`` as rows of ``▄`` cells (background = upper pixel, foreground = lower),
    each row ending in a newline; an odd last row is ``▀`` in the upper pixel's colour.

    What rich-pixels' half-cell renderer draws, made for speed (a pane is thousands of
    distinct colour pairs): the pixels are read in one go, and each colour, style and
    segment is built once, directly, without parsing or validating."""
    import gc

    # Thousands of small acyclic objects: pausing the cycle collector saves its passes.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _halfblock_segments(flatten(image))
    finally:
        if enabled:
            gc.enable()


def _halfblock_segments(rgb: Image.Image) -> list[Segment]:
    from rich.color import Color, ColorType
    from rich.color_triplet import ColorTriplet
    from rich.segment import Segment
    from rich.style import Style

    new, truecolor, new_style = tuple.__new__, ColorType.TRUECOLOR, Style.__new__
    width, height = rgb.size
    data = rgb.tobytes()
    stride = width * 3
    columns = range(0, stride, 3)
    colors: dict[bytes, Color] = {}
    cells: dict[bytes, Segment] = {}
    color_of, cell_of = colors.get, cells.get
    segments: list[Segment] = []
    append = segments.append
    newline = Segment("\n")
    for y in range(0, height - 1, 2):
        top = data[y * stride:(y + 1) * stride]
        bottom = data[(y + 1) * stride:(y + 2) * stride]
        for pair in [top[x:x + 3] + bottom[x:x + 3] for x in columns]:
            segment = cell_of(pair)
            if segment is None:
                upper, lower = pair[:3], pair[3:]
                bg = color_of(upper)
                if bg is None:  # what `Color.from_rgb` makes, minus its checks
                    bg = colors[upper] = new(Color, ("#" + upper.hex(), truecolor, None,
                                                     new(ColorTriplet, upper)))
                fg = color_of(lower)
                if fg is None:
                    fg = colors[lower] = new(Color, ("#" + lower.hex(), truecolor, None,
                                                     new(ColorTriplet, lower)))
                style = new_style(Style)  # what `Style.from_color(fg, bg)` sets
                style._ansi = style._style_definition = style._link = style._meta = None
                style._hash = None
                style._color, style._bgcolor = fg, bg
                style._set_attributes = style._attributes = 0
                style._link_id, style._null = "", False
                segment = cells[pair] = new(Segment, ("▄", style, None))
            append(segment)
        append(newline)
    if height % 2:  # odd height: the last row has no lower pixel
        top = data[(height - 1) * stride:]
        for x in columns:
            append(Segment("▀", Style.from_color(Color.from_rgb(*top[x:x + 3]))))
        append(newline)
    return segments


def halfblock_renderable(image: Image.Image) -> Pixels:
    """An already-sized image as half-blocks (one cell per column, two rows per cell)."""
    from rich_pixels import Pixels

    return Pixels.from_segments(halfblock_segments(image))
