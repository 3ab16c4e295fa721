"""One cell of a grid or a chain strip: its image as half-blocks (made off the UI thread),
or its progress while it runs (with the server's live preview frames), and its label.

Used by the compare screen (a plan's grid) and the chain view (a strip of edits).
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.message import Message
from textual.widgets import Static

from ...textsafe import for_markup, one_line

BAR = 10


def progress_text(state: str, fraction: float = 0.0, step: int = 0, steps: int = 0,
                  error: str = "") -> Text:
    """What a cell without an image shows: its state and, while running, a bar."""
    if state == "running":
        filled = int(round(fraction * BAR))
        text = Text("▰" * filled + "▱" * (BAR - filled), style="bold")
        text.append(f" {step}/{steps}" if steps else f" {int(fraction * 100)}%")
        return text
    if state == "error":
        return Text(f"failed: {one_line(error)}", style="bold red")
    return Text(state or "waiting", style="dim italic")


def thumbnail_box(view: Static) -> tuple[int, int]:
    """The thumbnail size (pixels) a cell of this size shows in half-blocks."""
    from ...images.preview import halfblock_box

    width, height = view.content_size
    return halfblock_box(max(1, width), max(1, height))


class CellView(Static):
    """One cell: image (or progress) with its label underneath."""

    class Chosen(Message):
        def __init__(self, cell: CellView) -> None:
            super().__init__()
            self.cell = cell

    def __init__(self, cell_id: str, label: str) -> None:
        super().__init__("", classes="cell")
        self.cell_id, self.label = cell_id, label
        self.state, self.fraction, self.step, self.steps, self.error = "waiting", 0.0, 0, 0, ""
        self.image: Path | None = None
        self.winner = False
        self.badge = ""          # the judge's scores (adherence %, text ✓/✗, soft, =A)
        self._picture = None
        self._picture_size: tuple[int, int] | None = None

    def on_mount(self) -> None:
        self.border_subtitle = for_markup(self.label)  # border titles are markup
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def on_click(self) -> None:
        self.post_message(self.Chosen(self))

    def set_progress(self, state: str, fraction: float = 0.0, step: int = 0, steps: int = 0,
                     error: str = "") -> None:
        self.state, self.fraction, self.step, self.steps, self.error = (
            state, fraction, step, steps, error)
        self._redraw()

    def set_image(self, path: Path | None) -> None:
        self.image = path
        self._picture = None
        self.border_title = self._title()
        self._redraw()

    def set_live_preview(self, data: bytes) -> None:
        """A preview frame the server sent mid-sampling (shown until the image arrives)."""
        if self.image is None:
            self.border_title = progress_text(self.state, self.fraction, self.step,
                                              self.steps).plain
            width, height = self.content_size
            if width >= 2 and height >= 1:
                self._render_live(data, width, height)

    @work(thread=True, exclusive=True, group="live", exit_on_error=False)
    def _render_live(self, data: bytes, width: int, height: int) -> None:
        import io

        from PIL import Image, UnidentifiedImageError

        from ...images.preview import fit, halfblock_box, halfblock_renderable

        try:
            with Image.open(io.BytesIO(data)) as frame:
                frame = frame.convert("RGB")
                frame = frame.resize(fit(frame.size, halfblock_box(width, height)))
        except (UnidentifiedImageError, OSError, ValueError):
            return  # a bad preview frame is just skipped
        picture = halfblock_renderable(frame)
        self.app.call_from_thread(self._live_ready, picture)

    def _live_ready(self, picture) -> None:
        if self.image is None:
            self.update(picture)

    def set_winner(self, winner: bool) -> None:
        self.winner = winner
        self.set_class(winner, "-winner")
        self.border_title = self._title()

    def set_badge(self, badge: str, *, best: bool = False) -> None:
        """The judge's scores for this cell, in its top border (``best``: the highest
        adherence in its column)."""
        self.badge = badge
        self.set_class(best, "-best")
        if self.image is not None or not badge:
            self.border_title = self._title()

    def _title(self) -> str:
        """The top border: winner mark and judge badge (markup-escaped)."""
        parts = (["★ winner"] if self.winner else []) + ([self.badge] if self.badge else [])
        return for_markup(" · ".join(parts))

    def _redraw(self) -> None:
        width, height = self.content_size
        if self.image is None or width < 2 or height < 1:
            self.update(progress_text(self.state, self.fraction, self.step, self.steps,
                                      self.error))
            return
        if self._picture is not None and self._picture_size == (width, height):
            self.update(self._picture)
            return
        self.update(Text("loading…", style="dim"))
        self._render_picture(self.image, width, height)

    @work(exclusive=True, group="picture", exit_on_error=False)
    async def _render_picture(self, path: Path, width: int, height: int) -> None:
        # Made in the core's shared pool (as many threads as cores): a grid's tiles land
        # one after another, instead of sixteen threads all finishing at the end.
        import asyncio

        from ...images.preview import PreviewError, submit_preview

        try:
            picture = await asyncio.wrap_future(submit_preview(path, width, height))
        except (PreviewError, OSError) as exc:
            self.update(Text(f"unreadable: {one_line(str(exc))}", style="red"))
            return
        self._picture_ready(picture, (width, height), path)

    def _picture_ready(self, picture, size: tuple[int, int], path: Path) -> None:
        if path != self.image:
            return  # a newer image arrived meanwhile
        self._picture, self._picture_size = picture, size
        if size == tuple(self.content_size):
            self.update(picture)
        else:
            self._redraw()
