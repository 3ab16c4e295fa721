"""The command palette: the action table's actions for the screen under it (with the keys
as they are bound now), and what that screen adds for the moment (the editor: the LLM
actions, this prompt's fixes, presets, sizes, reloading its library)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.screen import Screen

from .actions import ACTIONS, Action, Keys, key_of


def with_key(help_text: str, action: Action, keys: Keys | None) -> str:
    key = key_of(action, keys)
    return f"{help_text} ({key})" if key else help_text


def palette_commands(app: App, screen: Screen, keys: Keys | None) -> Iterable[SystemCommand]:
    """Commands for ``screen`` (the one under the palette): the app's actions, the screen's
    own (its ``SCOPE`` in the action table), then the screen's ``context_commands()``."""
    scope = getattr(screen, "SCOPE", None)
    for action in ACTIONS:
        if not action.palette or action.scope not in ("app", scope):
            continue
        target = app if action.scope == "app" else screen
        yield SystemCommand(action.name, with_key(action.help, action, keys),
                            lambda t=target, a=action.action: t.run_action(a))
    context = getattr(screen, "context_commands", None)
    if context is not None:
        yield from context()
