"""Pick one item from a list fetched in the background (LoRAs from the server, ...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...textsafe import sanitize
from ..actions import bindings


class PickScreen(ModalScreen[str | None]):
    BINDINGS = bindings("dialog")

    def __init__(self, title: str, load: Callable[[], Awaitable[list[str]]]) -> None:
        super().__init__()
        self.title_text, self.load = title, load
        self.items: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield OptionList(id="pick-list")
            yield Static(Text("loading…", style="dim"), id="pick-note")

    def on_mount(self) -> None:
        self._fetch()

    @work(exclusive=True, exit_on_error=False)
    async def _fetch(self) -> None:
        note = self.query_one("#pick-note", Static)
        try:
            self.items = await self.load()
        except Exception as exc:  # unreachable server and the like: say so, stay usable
            note.update(Text(str(exc)))
            return
        listing = self.query_one("#pick-list", OptionList)
        listing.set_options([Option(Text(sanitize(item)), id=str(i))
                             for i, item in enumerate(self.items)])
        note.update(Text(f"{len(self.items)} found" if self.items else "none found"))
        if self.items:
            listing.highlighted = 0
        listing.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.items[int(event.option.id)])
