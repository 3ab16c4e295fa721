"""(issue 18) A keystroke in a field and the composed prompt it changes reach the terminal
in the same frame: no frame shows the field with the new text and the composed pane
without it (the edit used to travel to the composed pane by messages, and the screen
painted the field alone in between, the prompt one or two frame periods later)."""

from __future__ import annotations

from .helpers import Terminal, editor_ready, wait_until


async def test_the_field_and_the_composed_prompt_change_in_one_frame(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        screen = app.editor_screen
        while screen.spec is not None and screen.spec.raw:  # a prompt made of fields
            await pilot.press("down")
        field = screen.editor.widget_for("subject")
        field.focus()
        field.cursor_position = len(field.value)
        field.insert_text_at_cursor(" zq")
        await wait_until(pilot, lambda: "zq" in screen.composed.text)
        terminal = Terminal(app)
        frames: list[list[str]] = []
        shown = app._display

        def display(screen_, renderable) -> None:
            shown(screen_, renderable)
            if renderable is not None:
                frames.append(list(terminal.lines))

        app._display = display
        await pilot.pause()
        frames.clear()

        field_row, pane = field.region, screen.composed.region
        for key, word in (("j", "zqj"), ("k", "zqjk"), ("v", "zqjkv")):
            await pilot.press(key)
            await wait_until(pilot, lambda w=word: any(
                w in line[pane.x:pane.right] for frame in frames
                for line in frame[pane.y:pane.bottom]))
            in_field = [word in frame[field_row.y][field_row.x:field_row.right]
                        for frame in frames]
            in_pane = [any(word in line[pane.x:pane.right]
                           for line in frame[pane.y:pane.bottom]) for frame in frames]
            assert any(in_field), f"{word!r} never shown in the field"
            stale = [n for n, (f, p) in enumerate(zip(in_field, in_pane)) if f and not p]
            assert not stale, (f"frames {stale} of {len(frames)} show {word!r} in the field "
                               f"but not in the composed prompt")
            frames.clear()
