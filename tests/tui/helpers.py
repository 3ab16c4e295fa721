"""Deterministic waits for Pilot tests: wait for a condition, never for a guessed time.

A fixed ``pause(0.3)`` is both slow on an idle machine and too short on a loaded one.
``wait_until`` lets the app run until what the test needs is true, with a monotonic
deadline that only matters when something is really broken.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable
from time import monotonic

#: Generous: it is only reached when the condition never comes true (a real failure).
TIMEOUT = 20.0
_POLL = 0.02


def _describe(condition: Callable[[], object]) -> str:
    try:
        return inspect.getsource(condition).strip()
    except (OSError, TypeError):
        return repr(condition)


async def wait_until(pilot, condition: Callable[[], object], timeout: float = TIMEOUT,
                     what: str | None = None) -> None:
    """Let the app process messages until ``condition()`` is true; fail after ``timeout`` s.

    True at once: back at once.  Otherwise the app, which runs in this event loop, works
    while the test sleeps, and a true condition counts once it still holds after a
    `Pilot.pause` (which has every widget of the screen handle what was queued): the test
    goes on from a settled app, as when it paused between every check, without a pause's
    message to every widget each 20 ms of waiting."""
    if condition():
        return
    deadline = monotonic() + timeout
    while True:
        await asyncio.sleep(_POLL)
        if condition():
            await pilot.pause()
            if condition():
                return
        if monotonic() >= deadline:
            raise AssertionError(f"not true after {timeout:g} s: {what or _describe(condition)}")


async def type_text(pilot, text: str) -> None:
    """Type ``text`` into the focused field: all but the last character inserted at the
    cursor at once, the last one pressed as a key, so the app sees a real keystroke.

    Typed key by key, every character costs the test a full frame (~0.1 s on a loaded
    machine) without testing anything the last key doesn't."""
    from textual.widgets import Input, TextArea

    await pilot.pause()  # a focus() just asked for lands first
    field = pilot.app.focused
    head, last = text[:-1], text[-1:]
    if head:
        if isinstance(field, Input):
            field.insert_text_at_cursor(head)
        elif isinstance(field, TextArea):
            field.insert(head)
        else:
            raise AssertionError(f"type_text: {field!r} does not take text")
    if last:
        await pilot.press(last)


def status_text(app) -> str:
    """The status line as the user reads it."""
    return str(app.screen_stack[0].query_one("#status").render())


async def editor_ready(pilot, app) -> None:
    """Wait until every editor field is mounted (those below the fold mount lazily)."""
    from workbench.fields import FORMS

    editor = app.editor_screen.editor
    await wait_until(pilot, lambda: all(editor._widget(f.key) is not None for f in FORMS),
                     what="all editor fields mounted")


async def run_command(pilot, query: str) -> None:
    """Pick a command in the palette (Ctrl+P) as a user would: query, wait for it, Enter."""
    from textual.command import CommandList, CommandPalette
    from textual.widgets import Input

    app = pilot.app
    await pilot.press("ctrl+p")
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    # The query goes in at once: typed key by key, Textual would search once per key.
    palette.query_one(Input).value = query
    hits = palette.query_one(CommandList)

    def found() -> bool:
        if hits.highlighted is None:
            return False
        return query.lower() in str(hits.get_option_at_index(hits.highlighted).prompt).lower()

    await wait_until(pilot, found, what=f"{query!r} highlighted in the command palette")
    await pilot.press("enter")
    await wait_until(pilot, lambda: not isinstance(app.screen, CommandPalette),
                     what="the command palette closed")
    await pilot.pause()  # the command's own messages


async def screen_is(pilot, kind):
    """Wait until a screen of type ``kind`` is on top and mounted; return it."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted,
                     what=f"a mounted {kind.__name__} on top")
    return app.screen


async def workers_done(pilot, group: str | None = None) -> None:
    """Wait until the app's background workers (of ``group``) have finished and what they
    handed back to the app has landed: image previews, model calls, runs."""
    app = pilot.app

    def idle() -> bool:
        return not any(not w.is_finished for w in app.workers
                       if group is None or w.group == group)

    await wait_until(pilot, idle, what=f"workers {group or ''} finished")
    await pilot.pause()


def screen_lines(app) -> list[str]:
    """The top screen as the user reads it: one plain string per terminal row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


class Terminal:
    """What a real terminal would show: the app's screen updates (full or partial) played
    onto a grid of cells.  `screen_lines` is what the app means to show; a difference
    between the two is a region the app forgot to repaint (stale text on the screen)."""

    _TOKEN = re.compile(r"\x1b\[(\d+);(\d+)H|\x1b\[[0-9;:?]*[A-Za-z]|\x1b\][^\x07]*\x07|"
                        r"([^\x1b\n]+)|\n")

    def __init__(self, app) -> None:
        self.app = app
        width, height = app.size
        self.cells = [[" "] * width for _ in range(height)]
        original = app._display

        def display(screen, renderable) -> None:
            from textual._compositor import CompositorUpdate

            if isinstance(renderable, CompositorUpdate):
                self.feed(renderable.render_segments(app.console))
            original(screen, renderable)

        app._display = display
        app.screen.refresh()  # a full frame to start from

    def differences(self, meant: list[str]) -> list[str]:
        return [f"row {y}:\n  shown {shown!r}\n  meant {want!r}"
                for y, (shown, want) in enumerate(zip(self.lines, meant)) if shown != want]

    def feed(self, data: str) -> None:
        from rich.cells import cell_len

        x = y = 0
        for match in self._TOKEN.finditer(data):
            if match.group(1):
                y, x = int(match.group(1)) - 1, int(match.group(2)) - 1
            elif match.group(3):
                for char in match.group(3):
                    if 0 <= y < len(self.cells) and 0 <= x < len(self.cells[y]):
                        self.cells[y][x] = char
                    x += max(1, cell_len(char))

    @property
    def lines(self) -> list[str]:
        return ["".join(row) for row in self.cells]
