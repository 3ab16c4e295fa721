"""One action table: the [keys] config table remaps keys, and the palette, F1 help and the
footer show the keys as they are bound now; each screen offers its own actions."""

from __future__ import annotations


from workbench.tui.actions import ACTIONS, BY_ID, key_of, user_keys
from workbench.tui.messages import CellProgress, JobProgress
from workbench.tui.widgets.help import HelpPanel

from .helpers import screen_is, wait_until


def keyed_app(library_dir, keys: str):
    from workbench.config import load_config
    from workbench.locations import config_file
    from workbench.tui.app import WorkbenchApp

    config_file().parent.mkdir(parents=True, exist_ok=True)
    config_file().write_text(f"[keys]\n{keys}\n")
    return WorkbenchApp(load_config(env={}), library_dir)


def palette(app, screen) -> dict[str, str]:
    return {c.title: c.help for c in app.get_system_commands(screen)}


def help_panel_text(app) -> str:
    return app.screen.query_one(HelpPanel).text


async def test_keys_table_remaps_a_key_and_everything_shows_it(library_dir):
    from workbench.tui.screens.history import HistoryScreen

    app = keyed_app(library_dir, 'run = "f10"\nhistory = "ctrl+r"\nnot_an_action = "x"')
    async with app.run_test(size=(120, 40)) as pilot:
        editor = app.editor_screen
        bound = {key: b.binding.action for key, b in editor.active_bindings.items()}
        assert bound.get("f10") == "run" and "f5" not in bound
        assert any("[keys] not_an_action: no such action" in n.message
                   for n in app._notifications)
        commands = palette(app, editor)
        assert commands["Run on ComfyUI"].endswith("(F10)")
        assert commands["Run history"].endswith("(Ctrl+R)")   # a palette-only action, keyed
        assert commands["Compare A/B"].endswith("(Ctrl+T)")   # the default, unchanged
        await pilot.press("f1")
        await wait_until(pilot, lambda: app.screen.query(HelpPanel)
                         and "F10" in help_panel_text(app))
        text = help_panel_text(app)
        assert "F10" in text and "Run the selected prompt on ComfyUI" in text
        assert "Kontext chain" in editor.HELP_MORE and "Ctrl+R" in editor.HELP_MORE
        await pilot.press("f1")
        await pilot.press("ctrl+r")
        await screen_is(pilot, HistoryScreen)


async def test_palette_offers_the_actions_of_the_screen_under_it(make_app, tmp_path):
    from workbench.runs.history import create_run
    from workbench.runs.plan import make_plan
    from workbench.spec import PromptSpec
    from workbench.tui.screens.compare import CompareScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        on_editor = palette(app, app.editor_screen)
        assert {"New prompt", "Run on ComfyUI", "Save now", "Preset: quality"} <= set(
            on_editor)
        assert "Winner" not in on_editor
        plan = make_plan([PromptSpec(name="a", subject="x"), PromptSpec(name="b")],
                         seeds=[1], name="p")
        run = create_run(plan, root=tmp_path / "runs")
        app.push_screen(CompareScreen(plan, run=run))
        compare = await screen_is(pilot, CompareScreen)
        on_compare = palette(app, compare)
        assert {"Winner", "Final on dev", "Save now"} <= set(on_compare)
        assert "New prompt" not in on_compare and "Preset: quality" not in on_compare
        # and the editor's keys are off while another screen is on top
        await pilot.press("f3")
        assert app.screen is compare and len(app.editor_screen.library.prompts) == 3


def test_the_table_is_one_place():
    assert len(BY_ID) == len(ACTIONS)
    assert all(a.help and a.label for a in ACTIONS)
    keys = user_keys({"run": "ctrl+shift+r", "chain": "f11", "nope": "x"})
    assert keys.keymap == {"run": "ctrl+shift+r"} and keys.added == {"chain": "f11"}
    assert key_of(BY_ID["run"], keys) == "Ctrl+Shift+R"
    assert key_of(BY_ID["chain"], keys) == "F11" and key_of(BY_ID["chain"]) == ""
    assert key_of(BY_ID["save"]) == "F6"


def test_progress_messages_replace_only_what_they_supersede():
    from workbench.runs.plan_run import CellUpdate

    running = CellProgress(CellUpdate("a", "running", 3, 28, 0.1))
    assert running.can_replace(CellProgress(CellUpdate("a", "running", 4, 28, 0.14)))
    assert not running.can_replace(CellProgress(CellUpdate("b", "running", 4, 28, 0.14)))
    done = CellProgress(CellUpdate("a", "done", images=["x.png"]))
    assert not done.can_replace(CellProgress(CellUpdate("a", "running")))
    step = JobProgress("job0", "step 3/28", 0.1)
    assert step.can_replace(JobProgress("job0", "step 4/28", 0.14))
    assert not step.can_replace(JobProgress("job1", "step 4/28", 0.14))
    assert not JobProgress("job0", "queued", job=object()).can_replace(
        JobProgress("job0", "step 1/28", 0.03))
