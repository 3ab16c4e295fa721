"""The linter in the editor: spans flagged while typing, the problems panel, fixes, undo."""

from __future__ import annotations

from workbench.library import load_library
from workbench.tui.widgets.problems import ProblemsPanel

from .helpers import run_command, status_text, type_text, wait_until


def rules(app) -> list[str]:
    return [d.rule for d in app.editor_screen.diagnostics]


async def test_typing_a_pitfall_flags_it_and_the_fix_cleans_it(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.query_one(ProblemsPanel)
        assert [d.rule for d in app.editor_screen.diagnostics if d.severity != "info"] == []
        style = app.editor_screen.editor.widget_for("style")
        style.focus()
        await pilot.press("end", *", masterpiece")
        await wait_until(pilot, lambda: "sd-quality-tags" in rules(app))  # after the debounce
        found_rules = rules(app)
        found = next(d for d in app.editor_screen.diagnostics if d.rule == "sd-quality-tags")
        assert found.field == "style"
        assert style.value[found.start:found.end] == "masterpiece"
        assert any(s[:2] == (found.start, found.end) for s in style.highlighter.spans)
        assert panel.display
        row = str(panel.get_option_at_index(found_rules.index("sd-quality-tags")).prompt)
        assert "masterpiece" in row and row.startswith("W style:")
        assert "warning" in status_text(app)
        await pilot.press("ctrl+l")
        assert app.focused is panel
        panel.highlighted = found_rules.index("sd-quality-tags")
        await pilot.press("f")
        await wait_until(pilot, lambda: "sd-quality-tags" not in rules(app))
        assert "masterpiece" not in app.editor_screen.spec.style
        assert "masterpiece" not in app.editor_screen.composed.text
        assert style.value == app.editor_screen.spec.style
        await pilot.press("f12")
        assert "masterpiece" in app.editor_screen.spec.style
        app.flush_saves()
        assert "masterpiece" in load_library(library_dir / "studio.toml").get(
            "Amber perfume bottle").style
    assert "masterpiece" in load_library(library_dir / "studio.toml").get(
        "Amber perfume bottle").style


async def test_enter_on_a_problem_jumps_to_its_span(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        subject = app.editor_screen.editor.widget_for("subject")
        subject.focus()
        await pilot.press("home", *"((shiny)) ")
        await wait_until(pilot, lambda: "weight-syntax" in rules(app))
        index = rules(app).index("weight-syntax")
        await pilot.press("ctrl+l")
        app.query_one(ProblemsPanel).highlighted = index
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.focused is subject and subject.selection.start
                         != subject.selection.end)
        start, end = subject.selection
        assert subject.value[min(start, end):max(start, end)] == "((shiny))"


async def test_fix_all_safe_fixes_from_the_palette(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.editor.widget_for("style").focus()
        await pilot.press("end")
        await type_text(pilot, ", best quality, (glossy:1.3)")
        await wait_until(pilot, lambda: {"sd-quality-tags", "weight-syntax"} <= set(rules(app)))
        await run_command(pilot, "Apply all safe fixes")
        style = app.editor_screen.spec.style
        assert "best quality" not in style and ":1.3" not in style
        await wait_until(pilot, lambda: {"sd-quality-tags", "weight-syntax"}.isdisjoint(
            rules(app)))
