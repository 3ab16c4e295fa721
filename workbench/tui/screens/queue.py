"""The server's queue: what runs and what waits (ours named, others' by id), with keys to
interrupt the running prompt or take a waiting one off the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..actions import bindings
from ..widgets.footer import KeyFooter

if TYPE_CHECKING:
    from ...runs.session import ComfySession


class QueueScreen(ModalScreen[None]):
    SCOPE = "queue"  # its actions in the action table (keys, palette, help)
    BINDINGS = bindings("queue")

    def __init__(self, session: ComfySession) -> None:
        super().__init__()
        self.session = session  # the shared client, and the names of our jobs
        self.entries: list[tuple[str, str]] = []  # (state, prompt id)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("ComfyUI queue", style="bold"), id="dialog-title")
            yield OptionList(id="queue-list")
            yield Static("", id="queue-note")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.action_refresh()

    @work(exclusive=True, exit_on_error=False)
    async def action_refresh(self) -> None:
        note = self.query_one("#queue-note", Static)
        try:
            client = await self.session.client()
            state = await client.queue()
        except Exception as exc:  # unreachable, refused: say so, keep the screen usable
            note.update(Text(str(exc)))
            return
        names = self.session.job_names()
        self.entries = [("running", p) for p in state.running] + [
            ("waiting", p) for p in state.pending]
        listing = self.query_one("#queue-list", OptionList)
        listing.set_options([Option(Text.assemble((f"{kind:<8}", "bold"),
                                                  names.get(pid, f"prompt {pid[:8]}…")))
                             for kind, pid in self.entries])
        note.update(Text(f"{client.base_url}: {len(state.running)} running, "
                         f"{len(state.pending)} waiting · r refresh · d remove · i interrupt"))

    def _selected(self) -> tuple[str, str] | None:
        index = self.query_one("#queue-list", OptionList).highlighted
        return self.entries[index] if index is not None and self.entries else None

    async def action_delete(self) -> None:
        selected = self._selected()
        if selected is None or selected[0] != "waiting":
            self.notify("Pick a waiting prompt to remove", severity="warning")
            return
        await self._stop(selected[1], running=False)

    async def action_interrupt(self) -> None:
        running = [pid for kind, pid in self.entries if kind == "running"]
        if not running:
            self.notify("Nothing is running", severity="warning")
            return
        await self._stop(running[0], running=True)

    async def _stop(self, prompt_id: str, *, running: bool) -> None:
        try:
            await self.session.stop(prompt_id, running=running)
        except Exception as exc:  # the server went away meanwhile: say so, stay usable
            self.query_one("#queue-note", Static).update(Text(str(exc)))
            return
        self.action_refresh()
