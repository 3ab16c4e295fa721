"""One image, as large as the terminal allows: zoom into a region, pan, and flip A|B at
the same spot to see exactly what the change did."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from ...textsafe import one_line, sanitize
from ..actions import bindings
from ..widgets.footer import KeyFooter

ZOOMS = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def crop_box(size: tuple[int, int], zoom: float, center: tuple[float, float]
             ) -> tuple[int, int, int, int]:
    """The region of an image of ``size`` shown at ``zoom`` around ``center`` (0..1)."""
    width, height = size
    w, h = max(1, int(width / zoom)), max(1, int(height / zoom))
    cx = min(max(center[0] * width, w / 2), width - w / 2)
    cy = min(max(center[1] * height, h / 2), height - h / 2)
    left, top = int(round(cx - w / 2)), int(round(cy - h / 2))
    return left, top, left + w, top + h


class SingleView(Screen[None]):
    SCOPE = "single"  # its actions in the action table (keys, palette, help)
    BINDINGS = bindings("single")

    def __init__(self, compare, cell_id: str) -> None:
        super().__init__()
        self.compare, self.cell_id = compare, cell_id
        self.zoom_index = 0
        self.center = (0.5, 0.5)
        self._image: Image.Image | None = None
        self._image_path: Path | None = None

    @property
    def protocol(self) -> str:
        """kitty or sixel: true pixels through textual-image; otherwise half-blocks."""
        config = getattr(self.app, "config", None)
        return config.runtime.image_protocol if config is not None else "halfblocks"

    def compose(self) -> ComposeResult:
        if self.protocol == "kitty":
            from textual_image.widget import TGPImage

            yield TGPImage(id="single-pixels")
        elif self.protocol == "sixel":
            from textual_image.widget import SixelImage

            yield SixelImage(id="single-pixels")
        else:
            yield Static("", id="single-image")
        yield Static("", id="single-caption")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self._refresh_view()

    def on_resize(self) -> None:
        self._refresh_view()

    @property
    def zoom(self) -> float:
        return ZOOMS[self.zoom_index]

    def _refresh_view(self) -> None:
        view = self.compare.cells[self.cell_id]
        caption = Text(sanitize(view.label), style="bold")
        caption.append(f"  zoom {self.zoom:g}x")
        if self.compare.plan.is_winner(self.cell_id):
            caption.append("  ★ winner", style="bold")
        self.query_one("#single-caption", Static).update(caption)
        pane = self.query_one("#single-image, #single-pixels")
        width, height = pane.content_size
        if view.image is None:
            if isinstance(pane, Static):
                pane.update(Text("no image yet", style="dim"))
        elif width > 0 and height > 0:
            self._draw(view.image, width, height, self.zoom, self.center)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _draw(self, path: Path, width: int, height: int, zoom: float,
              center: tuple[float, float]) -> None:
        from ...images.preview import (
            PreviewError,
            fit,
            halfblock_box,
            halfblock_renderable,
            open_checked,
        )

        try:
            if self._image_path != path:
                with open_checked(path) as opened:
                    self._image = opened.convert("RGB")
                self._image_path = path
            region = self._image.crop(crop_box(self._image.size, zoom, center))
            if self.protocol in ("kitty", "sixel"):  # the terminal scales true pixels
                self.app.call_from_thread(self._show_pixels, region)
                return
            region = region.resize(fit(region.size, halfblock_box(width, height)),
                                   Image.Resampling.LANCZOS)
            picture = halfblock_renderable(region)
        except (PreviewError, OSError) as exc:
            picture = Text(f"unreadable: {one_line(str(exc))}", style="red")
            if self.protocol in ("kitty", "sixel"):
                self.app.call_from_thread(self.notify, picture.plain, severity="error")
                return
        self.app.call_from_thread(self.query_one("#single-image", Static).update, picture)

    def _show_pixels(self, region: Image.Image) -> None:
        self.query_one("#single-pixels").image = region

    def action_zoom(self, step: int) -> None:
        self.zoom_index = max(0, min(len(ZOOMS) - 1, self.zoom_index + step))
        self._refresh_view()

    def action_pan(self, dx: int, dy: int) -> None:
        step = 0.25 / self.zoom
        self.center = (min(1.0, max(0.0, self.center[0] + dx * step)),
                       min(1.0, max(0.0, self.center[1] + dy * step)))
        self._refresh_view()

    def action_flip(self) -> None:
        other = self.compare.counterpart(self.cell_id)
        if other is None or other == self.cell_id:
            self.notify("No other variant to flip to", severity="warning")
            return
        self.cell_id = other  # same zoom and centre: the same spot in the other image
        self._refresh_view()

    def action_winner(self) -> None:
        self.compare.action_winner(self.cell_id)
        self._refresh_view()

    def action_close(self) -> None:
        self.dismiss(None)
