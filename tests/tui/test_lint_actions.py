"""A problem whose fix is an LLM action (non-English: translate) offers that action."""

from __future__ import annotations

from workbench.tui.screens.assist import AssistScreen
from workbench.tui.widgets.problems import ProblemsPanel


async def test_fix_on_non_english_opens_translate(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.spec.raw = "一只橘猫坐在木窗台上，窗外下着雪，温暖的灯光"
        app.editor_screen.run_lint()
        await pilot.pause()
        rules = [d.rule for d in app.editor_screen.diagnostics]
        assert rules == ["non-english"]
        panel = app.query_one(ProblemsPanel)
        panel.focus()
        panel.highlighted = 0
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, AssistScreen) and app.screen.action == "translate"
