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
