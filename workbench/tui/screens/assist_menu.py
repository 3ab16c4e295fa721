"""F9's menu: what to ask the local LLM for, and which installed model to ask.

Kept apart from `assist` (the proposal screen) so that opening the menu imports no
network client: the Ollama client (with httpx and pydantic, most of a second of imports
on a slow machine) is loaded in the thread that lists the installed models, after the
menu is on screen.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.widgets.select import InvalidSelectValueError

from ...llm.action_names import ACTIONS
from ..actions import bindings


def _client(config):
    """(an Ollama client for ``config``, or None and why not): imported and made in a
    thread (the first TLS context reads the CA bundle)."""
    from ...llm.ollama import LLMError, OllamaClient

    try:
        return OllamaClient.from_config(config), ""
    except LLMError as exc:
        return None, str(exc)


class ActionMenu(ModalScreen[tuple[str, str] | None]):
    """Pick what to ask for, and which installed model to ask (listed from /api/tags)."""

    BINDINGS = bindings("dialog")
    NAME = "assist-menu"  # installed under this name: see `EditorScreen._action_menu`

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("Ask the local model to…", style="bold"), id="dialog-title")
            yield OptionList(*[Option(Text.assemble((name, "bold"), f"  {help}"), id=name)
                               for name, help in ACTIONS.items()], id="actions")
            with Horizontal(id="model-row"):
                yield Static("Model ", classes="field-label")
                yield Select([(self.config.ollama.model, self.config.ollama.model)],
                             value=self.config.ollama.model, allow_blank=False, compact=True,
                             id="model")
            yield Static("", id="model-note")

    def on_screen_resume(self) -> None:
        """Each time it is shown (it is built once): from the first action, the configured
        model, and the models installed now."""
        actions = self.query_one("#actions", OptionList)
        actions.highlighted = 0
        actions.focus()
        self.query_one("#model-note", Static).update("")
        select, wanted = self.query_one("#model", Select), self.config.ollama.model
        try:
            select.value = wanted
        except InvalidSelectValueError:  # the settings name another model now
            select.set_options([(wanted, wanted)])
            select.value = wanted
        self.list_models()

    @work(exclusive=True)
    async def list_models(self) -> None:
        note = self.query_one("#model-note", Static)
        client, problem = await asyncio.to_thread(_client, self.config)
        if client is None:
            note.update(Text(problem))
            return
        from ...llm.ollama import LLMError  # (loaded by now)

        try:
            async with client:
                names = [m.name for m in await client.models()]
        except LLMError as exc:
            note.update(Text(str(exc)))
            return
        wanted = self.config.ollama.model
        select = self.query_one("#model", Select)
        select.set_options([(n, n) for n in dict.fromkeys([wanted, *names])])
        select.value = wanted
        if wanted not in names:
            note.update(Text(f"{wanted} is not installed: run `ollama pull {wanted}` or "
                             "pick another model"))

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((event.option.id, str(self.query_one("#model", Select).value)))
