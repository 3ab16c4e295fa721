"""Issue 14: the TUI as a newcomer meets it (readable fields, help that helps, nothing
that looks unfinished).  Each test drives the app with keys and reads what is on screen."""

from __future__ import annotations

from .helpers import screen_lines, wait_until


def row_of(app, label: str) -> str:
    return next(line for line in screen_lines(app) if f"▕ {label}" in line)


async def test_long_field_values_show_their_start_and_read_in_full(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down")  # a prompt after the first: its fields are refilled
        editor = app.editor_screen.editor
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Lisbon poster")
        await pilot.pause()
        assert "a retro travel poster of Lisbon" in row_of(app, "Subject")
        assert "steep street" not in row_of(app, "Subject")
        assert not editor.peek.display
        await pilot.press("enter")  # into Subject: its whole value shows under the form
        await wait_until(pilot, lambda: editor.peek.display)
        shown = " ".join(line for line in screen_lines(app))
        assert "climbing a steep" in shown and "street" in shown
        await pilot.press("end", *" at dusk")
        await pilot.press("tab")  # leaving the field shows its start again
        await wait_until(pilot, lambda: not editor.peek.display)
        assert "a retro travel poster of Lisbon" in row_of(app, "Subject")
