"""The composed pane's footer: exact T5 and CLIP-L counts, and the end of CLIP-L's window
marked in the text."""

from __future__ import annotations

from workbench import tokens
from workbench.tui.widgets.composed import CLIP_MARK

from .helpers import wait_until


async def test_footer_shows_exact_counts(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "T5 " in app.editor_screen.composed.border_subtitle)
        text = app.editor_screen.composed.text
        counted = tokens.count(text)
        subtitle = app.editor_screen.composed.border_subtitle
        assert f"T5 {counted.t5}/512" in subtitle
        assert f"CLIP-L {counted.clip}/77" in subtitle and "est." not in subtitle


async def test_the_clip_window_end_is_marked(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        raw = ("A lighthouse keeper climbs the spiral stairs of an old stone tower at dusk, "
               "carrying a brass lantern that throws warm light on the curved walls. ") * 3
        app.editor_screen.spec.raw = raw
        app.editor_screen.composed.show(app.editor_screen.spec)
        await wait_until(pilot, lambda: CLIP_MARK in app.editor_screen.composed.border_subtitle)
        counted = tokens.count(app.editor_screen.composed.text)
        assert counted.clip > 77 and counted.clip_cut is not None
        rendered = app.editor_screen.composed.render()
        plain = rendered.plain if hasattr(rendered, "plain") else str(rendered)
        assert CLIP_MARK in plain
        assert plain.index(CLIP_MARK) == counted.clip_cut
        assert f"ends at {CLIP_MARK}" in app.editor_screen.composed.border_subtitle
        # what is copied and sent is unchanged
        assert CLIP_MARK not in app.editor_screen.composed.text
