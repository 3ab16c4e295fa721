"""An image in the TUI on a 256-colour terminal (no COLORTERM=truecolor): what the screen
sends for it, through Textual's own filters and colour downgrade, is the palette colour
nearest to the image's, the same for every cell of a flat area."""

from __future__ import annotations

import textual.constants
from PIL import Image

from tests.images.test_preview_256 import TIE, XTERM, dist, nearest_dist, parse
from workbench.images import halfblocks
from workbench.tui.screens.image import ImageScreen

from .helpers import screen_is, wait_until

FLAT = (62, 50, 44)   # a dark warm grey: Rich's own downgrade makes it olive (95, 95, 0)


async def test_a_flat_image_is_one_nearest_colour_on_a_256_colour_screen(
        make_app, tmp_path, monkeypatch):
    path = tmp_path / "flat.png"
    Image.new("RGB", (512, 512), FLAT).save(path)
    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "256")
    before = halfblocks.expected_color_system()
    app = make_app()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.console.color_system == "256"
            assert halfblocks.expected_color_system() == "256"   # drawn for it in advance
            app.push_screen(ImageScreen(path))
            viewer = await screen_is(pilot, ImageScreen)
            image = viewer.query_one("#single-image")
            await wait_until(pilot, lambda: "▄" in "".join(
                s.text for s in image.render_line(3)))
            cells = [cell for y in range(image.content_size.height)
                     for cell in parse(image.render_line(y).render(app.console))[0]
                     if cell[0] == "▄"]
    finally:
        halfblocks.expect_color_system(before)
    assert len(cells) >= 20 * 20
    numbers = {n for _, bg, fg in cells for n in (bg, fg)}
    assert len(numbers) == 1, numbers
    [number] = numbers
    assert dist(XTERM[number], FLAT) <= nearest_dist(FLAT) + TIE
