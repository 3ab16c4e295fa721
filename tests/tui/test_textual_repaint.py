"""(issue 14, item 8) Stale text when the Runs panel first appears: the cause is Textual's
(8.2.8), shown here on Textual alone, and the workaround `JobsPanel` uses.

Textual's `Compositor.reflow` (``_compositor.py``) marks dirty the widgets whose geometry
differs between ``_full_map`` and the new layout.  The lazy `Compositor.full_map`
property rebuilds ``_full_map`` from the DOM as it is *now* when the map is invalidated
(after a scroll, or an update of a widget not yet mapped) and a widget's region is asked
for; asked between a change of the layout and the next reflow (Textual's own
`await_mount` does it: `refresh` -> `size` -> `region`), the reflow compares the new
layout with itself and the widgets that moved are never repainted.  The app's tests
cannot patch Textual's private compositor (`test_import_hygiene`), so `JobsPanel`
repaints the screen after each layout that moved it (`test_newcomer` checks the app).

The scenario: a scrolled form above a boxed pane, and a hidden panel below that appears;
what a real terminal shows (the frames played onto a grid, `helpers.Terminal`) against
what the app means to show."""

from __future__ import annotations


async def scenario(repaint: bool) -> list[str]:
    """The rows a terminal would show wrong after the panel appears (``repaint``: with
    `JobsPanel`'s workaround)."""
    from textual.app import App
    from textual.containers import Vertical, VerticalScroll
    from textual.widgets import Label, Static

    from tests.tui.helpers import Terminal, screen_lines

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
        app.query_one("#form").scroll_to(y=10, animate=False)  # invalidates the full map
        await pilot.pause()
        panel = app.query_one("#panel")
        if repaint:  # as JobsPanel does: the layouts that moved the panel repaint all
            drawn = [panel.region]

            def after_layout(_screen) -> None:
                if panel.region != drawn[0]:
                    drawn[0] = panel.region
                    app.screen.refresh()

            app.screen.screen_layout_refresh_signal.subscribe(panel, after_layout, immediate=True)
        panel.display = True
        # What Textual itself does when a mount completes: a region asked for before the
        # next layout (the map is rebuilt with the panel already shown).
        assert panel.region is not None
        for _ in range(3):
            await pilot.pause()
        return terminal.differences(screen_lines(app))


async def test_textual_leaves_the_moved_box_on_screen():
    """The cause, in Textual alone: the box that moved up is still drawn where it was.
    If this fails after a Textual upgrade, the bug is fixed there and `JobsPanel` can drop
    its repaint."""
    stale = await scenario(repaint=False)
    assert stale and any("╭" in row or "composed text" in row for row in stale), stale


async def test_a_repaint_after_the_layout_leaves_nothing_stale():
    assert await scenario(repaint=True) == []
