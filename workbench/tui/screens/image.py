"""One image file, fitted to the terminal (a single run's result, an imported PNG)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from ...textsafe import one_line
from ..actions import bindings
from ..widgets.footer import KeyFooter


class ImageScreen(Screen[None]):
    BINDINGS = bindings("image")

    def __init__(self, path: Path, caption: str = "") -> None:
        super().__init__()
        self.path, self.caption = Path(path), caption

    def compose(self) -> ComposeResult:
        yield Static(Text("loading…", style="dim"), id="single-image")
        yield Static(Text(one_line(self.caption or str(self.path))), id="single-caption")
        yield KeyFooter(compact=True)

    def on_resize(self) -> None:
        pane = self.query_one("#single-image", Static)
        width, height = pane.content_size
        if width and height:
            self._draw(width, height)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _draw(self, width: int, height: int) -> None:
        from ...images.preview import PreviewError, preview

        try:
            picture = preview(self.path, width, height)
        except (PreviewError, OSError) as exc:
            picture = Text(f"unreadable: {one_line(str(exc))}", style="red")
        self.app.call_from_thread(self.query_one("#single-image", Static).update, picture)
