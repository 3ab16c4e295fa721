"""Previews in a 256-colour terminal: what the terminal is sent, read back from the escape
sequences, colour by colour.  A flat area is one colour, the palette colour nearest to it;
a gradient steps through nearby colours in order, with no blotch of a far-off hue."""

from __future__ import annotations

import io
import random
import re

import pytest
from PIL import Image
from rich.console import Console

from workbench.images import halfblocks
from workbench.images.preview import ThumbnailCache, halfblock_renderable, preview

# The xterm palette, 16-255, written out here independently of the code under test.
LEVELS = (0, 95, 135, 175, 215, 255)
XTERM = {16 + 36 * r + 6 * g + b: (LEVELS[r], LEVELS[g], LEVELS[b])
         for r in range(6) for g in range(6) for b in range(6)}
XTERM.update({232 + i: (8 + 10 * i,) * 3 for i in range(24)})
SGR = re.compile(r"\x1b\[([0-9;]*)m|(\n)|([^\x1b\n])")
#: The nearest grey is found from the pixel's mean rounded to a whole level: a near-tie
#: between two greys may go either way.
TIE = 1.5


def dist(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5


def nearest_dist(rgb) -> float:
    return min(dist(rgb, colour) for colour in XTERM.values())


def shown(renderable, color_system="256", width=200):
    """Rows of (character, background, foreground) as a terminal of ``color_system`` is
    sent them: an xterm colour number, else what the code was (``"rgb(r,g,b)"``,
    ``"ansi 97"``)."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=color_system,
                      force_terminal=True, legacy_windows=False)
    console.print(renderable, end="")
    return parse(out.getvalue())


def parse(text: str):
    rows, row, fg, bg = [], [], None, None
    for match in SGR.finditer(text):
        params, newline, char = match.groups()
        if params is not None:
            codes = params.split(";")
            i = 0
            while i < len(codes):
                if codes[i] in ("38", "48") and codes[i + 1] == "5":
                    if codes[i] == "38":
                        fg = int(codes[i + 2])
                    else:
                        bg = int(codes[i + 2])
                    i += 3
                    continue
                if codes[i] in ("38", "48") and codes[i + 1] == "2":   # true colour
                    colour = "rgb(" + ",".join(codes[i + 2:i + 5]) + ")"
                    fg, bg = (colour, bg) if codes[i] == "38" else (fg, colour)
                    i += 5
                    continue
                code = int(codes[i] or 0)
                if code == 0:
                    fg = bg = None
                elif 30 <= code <= 37 or 90 <= code <= 97:                 # 16 colours
                    fg = f"ansi {code}"
                elif 40 <= code <= 47 or 100 <= code <= 107:
                    bg = f"ansi {code}"
                i += 1
        elif newline:
            rows.append(row)
            row = []
        else:
            row.append((char, bg, fg))
    if row:
        rows.append(row)
    return rows


def runs(sequence):
    out = []
    for item in sequence:
        if not out or out[-1] != item:
            out.append(item)
    return out


def luma(number) -> float:
    r, g, b = XTERM[number]
    return 0.299 * r + 0.587 * g + 0.114 * b


# Near-grey colours on both sides of the line Rich draws between its grey ramp and its
# colour cube (15 % saturation), where rounding each channel alone goes far off.
FLATS = [(62, 50, 44), (120, 110, 100), (200, 190, 170), (40, 60, 45), (128, 128, 128),
         (90, 70, 110), (180, 40, 40)]


@pytest.mark.parametrize("colour", FLATS)
def test_a_flat_colour_is_one_palette_colour_the_nearest(colour):
    rows = shown(halfblock_renderable(Image.new("RGB", (8, 6), colour)))
    assert len(rows) == 3 and all(len(row) == 8 for row in rows)
    numbers = {n for row in rows for _, bg, fg in row for n in (bg, fg)}
    assert len(numbers) == 1, numbers           # both halves of every cell: one colour
    [number] = numbers
    assert dist(XTERM[number], colour) <= nearest_dist(colour) + TIE, (
        f"{colour} shown as {number} {XTERM[number]}")


def test_a_grainy_flat_area_has_no_blotches_of_another_hue():
    rnd = random.Random(7)
    image = Image.new("RGB", (40, 20))
    pixels = [tuple(max(0, min(255, c + rnd.randint(-3, 3))) for c in (62, 50, 44))
              for _ in range(40 * 20)]
    image.putdata(pixels)
    rows = shown(halfblock_renderable(image))
    numbers = {n for row in rows for _, bg, fg in row for n in (bg, fg)}
    assert len(numbers) <= 2, numbers
    for y, row in enumerate(rows):
        for x, (_, bg, fg) in enumerate(row):
            upper, lower = pixels[2 * y * 40 + x], pixels[(2 * y + 1) * 40 + x]
            for number, source in ((bg, upper), (fg, lower)):
                assert dist(XTERM[number], source) <= nearest_dist(source) + TIE


@pytest.mark.parametrize("start, end", [((30, 25, 20), (230, 200, 170)),    # warm grey
                                         ((0, 0, 0), (255, 255, 255)),       # grey
                                         ((20, 30, 60), (120, 160, 230))])   # dusk sky
def test_a_gradient_steps_through_nearby_colours_in_order(start, end):
    width = 96
    image = Image.new("RGB", (width, 4))
    row_pixels = [tuple(round(s + (e - s) * x / (width - 1)) for s, e in zip(start, end,
                                                                           strict=True))
                  for x in range(width)]
    image.putdata(row_pixels * 4)
    rows = shown(halfblock_renderable(image))
    first = [bg for _, bg, _ in rows[0]]
    for row in rows:                                   # every half of every row alike
        assert [bg for _, bg, _ in row] == first == [fg for _, _, fg in row]
    steps = runs(first)
    assert len(steps) == len(set(steps)), f"a colour comes back: {steps}"
    lumas = [luma(n) for n in steps]
    assert lumas == sorted(lumas), f"not in order: {steps}"
    for number, source in zip(first, row_pixels, strict=True):
        assert dist(XTERM[number], source) <= nearest_dist(source) + TIE, (
            f"{source} shown as {number} {XTERM[number]}")


def test_truecolor_terminals_still_get_the_exact_colours():
    image = Image.new("RGB", (3, 2), (62, 50, 44))
    out = io.StringIO()
    Console(file=out, width=20, color_system="truecolor", force_terminal=True,
            legacy_windows=False).print(halfblock_renderable(image), end="")
    assert out.getvalue().count("38;2;62;50;44") == 3


def test_one_picture_draws_itself_for_each_console(tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (64, 64), (62, 50, 44)).save(path)
    picture = preview(path, 10, 5, cache=ThumbnailCache(tmp_path / "thumbs"))
    [[(_, bg, fg), *_], *_] = shown(picture, "256")
    assert bg == fg and dist(XTERM[bg], (62, 50, 44)) <= nearest_dist((62, 50, 44)) + TIE
    out = io.StringIO()
    Console(file=out, width=20, color_system="truecolor", force_terminal=True,
            legacy_windows=False).print(picture, end="")
    assert "48;2;62;50;44" in out.getvalue()


def test_the_expected_system_is_drawn_in_advance():
    before = halfblocks.expected_color_system()
    try:
        halfblocks.expect_color_system("256")
        picture = halfblock_renderable(Image.new("RGB", (2, 2), (1, 2, 3)))
        assert picture.drawn == ("256",)
        Console(file=io.StringIO(), color_system="truecolor").print(picture)
        assert picture.drawn == ("256", "truecolor")
        halfblocks.expect_color_system("truecolor")
        assert halfblock_renderable(Image.new("RGB", (2, 2))).drawn == ("truecolor",)
    finally:
        halfblocks.expect_color_system(before)
