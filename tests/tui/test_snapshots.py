"""Snapshots of the main screen at the two sizes that matter: a roomy terminal and 80x24."""

from __future__ import annotations


def test_main_screen_120x40(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(120, 40))


def test_main_screen_80x24(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(80, 24))


def test_editing_raw_prompt_80x24(snap_compare, make_app):
    async def run_before(pilot):
        await pilot.press("ctrl+f", *"@schnell", "enter")

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_delete_confirmation(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["f8"])


def test_high_contrast_theme_80x24(snap_compare, make_app):
    assert snap_compare(make_app(theme="high-contrast"), terminal_size=(80, 24))


def test_flux_tools_fields_80x24(snap_compare, make_app, tmp_path):
    """The editor's FLUX tools group (with its title) on a Fill prompt: labels, values and
    help of every tool field."""
    from tests.tool_library import copy_tools_library

    from .helpers import editor_ready

    app = make_app(copy_tools_library(tmp_path))

    async def run_before(pilot):
        await editor_ready(pilot, app)
        editor = app.editor_screen.editor   # scrolled, not focused: no blinking cursor
        editor.scroll_to_center(editor.widget_for("outpaint"), animate=False, immediate=True)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
