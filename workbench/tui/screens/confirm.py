"""Small modal questions: yes/no, and the three ways out of a save conflict."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ...textsafe import sanitize
from ..actions import bindings


class ChoiceScreen(ModalScreen[str | None]):
    """A question with a few answers, each on a button and a letter key; Esc answers None."""

    BINDINGS = bindings("dialog")

    def __init__(self, title: str, body: str, choices: list[tuple[str, str, str]]) -> None:
        """``choices``: (key letter, button label, value returned)."""
        super().__init__()
        self.title_text, self.body, self.choices = title, body, choices
        for letter, label, value in choices:
            self._bindings.bind(letter, f"choose('{value}')", label)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(sanitize(self.title_text), style="bold"), id="dialog-title")
            yield Static(Text(sanitize(self.body, multiline=True)), id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                for i, (letter, label, value) in enumerate(self.choices):
                    yield Button(f"{label} ({letter})", id=f"choice-{value}",
                                 variant="primary" if i == 0 else "default")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))

    def action_choose(self, value: str) -> None:
        self.dismiss(value)


def confirm_delete(name: str) -> ChoiceScreen:
    return ChoiceScreen("Delete prompt?", f"Delete “{name}” from its library? "
                        "The previous file version stays in the .bak next to it.",
                        [("n", "Keep it", "no"), ("y", "Delete", "yes")])


def resolve_conflict(path: str, recovery: str) -> ChoiceScreen:
    return ChoiceScreen(
        "The library changed on disk",
        f"{path} was changed by something else since it was opened.\n"
        f"Your edits are safe in {recovery}.\n\n"
        "Reload: take the file from disk (your edits stay in the recovery file).\n"
        "Keep both: save yours beside it as a “(your copy)” library, then reload.\n"
        "Overwrite: replace the file on disk with your version.",
        [("r", "Reload", "reload"), ("k", "Keep both", "keep"), ("o", "Overwrite", "overwrite")])
