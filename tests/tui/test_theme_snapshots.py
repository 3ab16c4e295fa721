"""Every bundled theme, and NO_COLOR, on the screens people look at longest: the main
screen, the problems panel with its cursor row, and the compare grid (issue 14: selected
rows white on white, flagged spans told apart by colour alone)."""

from __future__ import annotations

import pytest

from workbench.locations import bundled_themes_dir

from .test_compare import compare_app, recorded_run  # noqa: F401 (a fixture)

THEMES = sorted(p.stem for p in bundled_themes_dir().glob("*.toml"))
LOOKS = [*THEMES, "no-color"]


def _app(make_app, look: str, monkeypatch):
    if look == "no-color":
        monkeypatch.setenv("NO_COLOR", "1")
        return make_app()
    return make_app(theme=look)


def test_four_bundled_themes():
    assert THEMES == ["high-contrast", "solarized-dusk", "workbench-dark", "workbench-light"]


@pytest.mark.parametrize("look", LOOKS)
def test_main_screen(snap_compare, make_app, monkeypatch, look):
    assert snap_compare(_app(make_app, look, monkeypatch), terminal_size=(100, 30))


@pytest.mark.parametrize("look", LOOKS)
def test_problems_panel(snap_compare, make_app, monkeypatch, look):
    async def run_before(pilot):
        from .helpers import type_text, wait_until

        app = pilot.app
        app.editor_screen.editor.widget_for("style").focus()
        await pilot.press("end")
        await type_text(pilot, ", masterpiece, best quality, (glowing:1.4)")
        await wait_until(pilot, lambda: len(app.editor_screen.diagnostics) >= 3)
        await pilot.press("ctrl+l", "down")

    assert snap_compare(_app(make_app, look, monkeypatch), terminal_size=(100, 30),
                        run_before=run_before)


@pytest.mark.parametrize("look", LOOKS)
def test_compare_grid(snap_compare, make_app, monkeypatch, recorded_run, look):  # noqa: F811
    if look == "no-color":
        monkeypatch.setenv("NO_COLOR", "1")
    app, open_compare = compare_app(lambda: _app(make_app, look, monkeypatch),
                                    recorded_run)
    assert snap_compare(app, terminal_size=(100, 30), run_before=open_compare)
