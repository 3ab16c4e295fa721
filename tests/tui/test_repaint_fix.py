"""(issue 14, item 8) A panel appearing after a scroll left stale text on the screen: a
Textual 8 compositor bug, worked around in `workbench.tui.repaint_fix` (see there).

The scenario is Textual's alone (no workbench widget): a scrolled form above a boxed pane,
and a hidden panel below that appears; what a real terminal shows (the frames played
onto a grid, `helpers.Terminal`) must be what the app means to show."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


async def scenario(patched: bool) -> list[str]:
    """The rows a terminal would show wrong after the panel appears."""
    from textual.app import App
    from textual.containers import Vertical, VerticalScroll
    from textual.widgets import Label, Static

    from tests.tui.helpers import Terminal, screen_lines

    if patched:
        from workbench.tui import repaint_fix

        repaint_fix.install()

    class Form(App):
        CSS = """#form { height: 1fr; }  #box { height: 5; border: round green; }
                 #panel { height: auto; display: none; border-top: solid red; }"""

        def compose(self):
            with Vertical():
                with VerticalScroll(id="form"):
                    for i in range(40):
                        yield Label(f"field {i}")
                yield Static("composed text", id="box")
                with Vertical(id="panel"):
                    yield Label("run 1")
                    yield Label("run 2")

    app = Form()
    async with app.run_test(size=(40, 16)) as pilot:
        terminal = Terminal(app)
        await pilot.pause()
        app.query_one("#form").scroll_to(y=10, animate=False)  # a partial (scroll) layout
        await pilot.pause()
        panel = app.query_one("#panel")
        panel.display = True
        # What Textual itself does when a mount completes (await_mount -> refresh ->
        # size -> region): the compositor's map is rebuilt before the next layout.
        assert panel.region is not None
        for _ in range(3):
            await pilot.pause()
        return terminal.differences(screen_lines(app))


async def test_a_panel_that_appears_leaves_nothing_stale():
    assert await scenario(patched=True) == []


def test_without_the_fix_textual_leaves_the_moved_box_on_screen():
    """The scenario does reach the bug (so the test above can fail): run unpatched in a
    fresh interpreter, the box that moved up is still drawn where it was.  If this fails
    after a Textual upgrade, the bug is fixed upstream and `repaint_fix` can go."""
    code = ("import asyncio, json\n"
            "from tests.tui.test_repaint_fix import scenario\n"
            "print(json.dumps(asyncio.run(scenario(patched=False))))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stale = json.loads(done.stdout.strip().splitlines()[-1])
    assert stale and any("╭" in row or "composed text" in row for row in stale), stale
