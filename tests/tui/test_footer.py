"""The key bar is rebuilt when the keys it shows change, and only then (Textual's own Footer
removed and mounted every key at each focus change: six rebuilds during start-up alone)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from .helpers import editor_ready, screen_is, wait_until


def _keys(screen) -> list[FooterKey]:
    return list(screen.query(FooterKey))


async def test_focus_changes_keep_the_keys_and_a_dialog_changes_them(make_app):
    from workbench.tui.screens.confirm import ChoiceScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        editor = app.editor_screen
        await wait_until(pilot, lambda: any(k.key == "f5" for k in _keys(editor)))
        before = _keys(editor)
        for key in ("tab", "tab", "shift+tab"):  # focus moves; the same keys apply
            await pilot.press(key)
        editor.refresh_bindings()
        for _ in range(3):
            await pilot.pause()
        assert _keys(editor) == before  # the very same widgets: nothing was rebuilt

        await pilot.press("f8")  # a dialog over the editor: the editor's keys are off
        await screen_is(pilot, ChoiceScreen)
        await wait_until(pilot, lambda: not any(k.key == "f5" for k in _keys(editor)))
        await pilot.press("escape")
        await wait_until(pilot, lambda: [(k.key, k.description) for k in _keys(editor)]
                         == [(k.key, k.description) for k in before])
