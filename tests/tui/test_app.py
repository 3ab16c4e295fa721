"""Pilot tests: drive the app with keys and assert on what the user sees and what is on disk."""

from __future__ import annotations

import tomllib

from textual.widgets import Input, OptionList

from workbench import workspace
from workbench.library import load_library
from workbench.tui.app import LINT_DELAY
from workbench.tui.screens.confirm import ChoiceScreen

from .helpers import (
    editor_ready,
    run_command,
    screen_is,
    screen_lines,
    status_text,
    type_text,
    wait_until,
)


async def test_typing_updates_composed_pane_and_saves(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        assert app.editor_screen.spec.name == "Amber perfume bottle"
        await pilot.press("enter")  # activate the highlighted prompt: focus goes to Subject
        await wait_until(pilot, lambda: app.focused.id == "f-subject")
        await pilot.press("end")
        await type_text(pilot, " and a silk ribbon")
        assert app.editor_screen.composed.text.startswith(
            "An amber glass perfume bottle with a brushed brass cap and a silk ribbon "
            "standing on a slab of wet black slate.")
        assert "22 words" not in app.editor_screen.composed.border_subtitle
        # saved by the autosave timer alone (no quit, no F6)
        await wait_until(pilot, lambda: "silk ribbon" in (library_dir / "studio.toml").read_text())
        data = tomllib.loads((library_dir / "studio.toml").read_text())
        assert data["prompts"][0]["subject"].endswith("and a silk ribbon")
        text = (library_dir / "studio.toml").read_text()
        assert text.startswith("# Sample library for TUI tests and snapshots.")


async def test_layers_and_text_fields(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)  # "text" is below the fold: mounted after a frame
        app.editor_screen.editor.widget_for("foreground").focus()
        await type_text(pilot, "scattered rose petals")
        assert ("In the foreground, scattered rose petals; in the background, smooth charcoal "
                "gradient.") in app.editor_screen.composed.text
        app.editor_screen.editor.widget_for("text").focus()
        await pilot.press(*"NOIR")
        composed = app.editor_screen.composed.text
        assert 'The image shows the text "NOIR", spelled exactly.' in composed
    saved = load_library(library_dir / "studio.toml").get("Amber perfume bottle")
    assert saved.foreground == "scattered rose petals" and saved.text == "NOIR"


async def test_invalid_number_is_marked_and_not_saved(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)  # the generation fields mount after the first frame
        steps = app.editor_screen.editor.widget_for("steps")
        assert steps.placeholder.startswith("28 (default)") and steps.value == "28"
        steps.focus()
        await pilot.press("end", "backspace", "backspace", *"3x")
        assert steps.has_class("-unparsed")
        assert "not a whole number" in status_text(app)
        assert app.editor_screen.spec.params.steps == 3  # the last value that parsed
        # The lint that follows each keystroke (and a save) must not hide the error.
        app.editor_screen.run_lint()
        app.flush_saves()
        assert app.editor_screen.diagnostics and "not a whole number" in status_text(app)
        await pilot.press("backspace", "0")
        assert not steps.has_class("-unparsed") and app.editor_screen.spec.params.steps == 30
        app.editor_screen.run_lint()
        assert "not a whole number" not in status_text(app)
    assert load_library(library_dir / "studio.toml").get(
        "Amber perfume bottle").params.steps == 30


async def test_a_parse_error_stays_until_that_field_parses(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        steps = app.editor_screen.editor.widget_for("steps")
        steps.focus()
        await pilot.press("end", *"x")
        app.editor_screen.editor.widget_for("subject").focus()
        await pilot.press("end", *" again")  # a good edit elsewhere, then its lint
        app.editor_screen.run_lint()
        assert "not a whole number" in status_text(app) and steps.has_class("-unparsed")
        await pilot.press("escape", "down")  # another prompt: the unparsed text is not kept
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Lisbon poster")
        app.editor_screen.run_lint()
        assert "not a whole number" not in status_text(app)


async def test_quitting_right_after_a_keystroke_is_clean(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.editor.widget_for("subject").focus()
        await pilot.press("end", "!")  # a lint is now due in LINT_DELAY
        await app.action_quit()
    # run_test re-raises anything the app raised while shutting down; a lint that is
    # still due must not look for the editor once it is gone.
    app.editor_screen.run_lint()
    assert load_library(library_dir / "studio.toml").get(
        "Amber perfume bottle").subject.endswith("!")


async def test_a_pending_lint_dies_with_the_editor(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.editor.widget_for("subject").focus()
        await pilot.press("end", "!")  # a lint is now due in LINT_DELAY
        await app.screen_stack[0].query_one("#main").remove()  # as when the app closes
        app.editor_screen.run_lint()  # what the timer calls: it must not look for the editor
        # The timer itself went with the editor: nothing fires once its delay has passed
        # (a lint that ran would fail the test when run_test re-raises it).
        await pilot.pause(LINT_DELAY * 3)


async def test_new_duplicate_rename_delete(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")  # duplicate
        assert app.editor_screen.spec.name == "Amber perfume bottle copy"
        assert app.focused.id == "f-name"
        await pilot.press(*"Bottle v2")  # the name is selected, typing replaces it
        assert app.editor_screen.spec.name == "Bottle v2"
        await pilot.press("f3")
        assert app.editor_screen.spec.name == "Untitled"
        await pilot.press("f8")
        await screen_is(pilot, ChoiceScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        await pilot.press("f6")
    names = [s.name for s in load_library(library_dir / "studio.toml").prompts]
    assert names == ["Amber perfume bottle", "Bottle v2", "Lisbon poster", "Quick sketch"]


async def test_delete_can_be_cancelled(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f8")
        await screen_is(pilot, ChoiceScreen)
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        assert app.editor_screen.spec.name == "Amber perfume bottle"
    assert len(load_library(library_dir / "studio.toml").prompts) == 3


async def test_filter_by_tag_and_model(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+f", *"#poster")
        assert app.editor_screen.browser.visible_count() == 1
        assert app.editor_screen.spec.name == "Lisbon poster"
        app.editor_screen.browser.query_one("#filter", Input).value = ""
        await pilot.press(*"@schnell")
        assert app.editor_screen.spec.name == "Quick sketch"
        assert app.editor_screen.composed.text.startswith("A fox curled up asleep")
        assert "raw" in app.editor_screen.composed.border_subtitle
        await pilot.press("enter")
        assert isinstance(app.focused, OptionList)


async def test_conflict_on_disk_is_not_clobbered(make_app, library_dir):
    path = library_dir / "studio.toml"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        path.write_text(path.read_text().replace("Lisbon poster", "Porto poster"))
        app.editor_screen.editor.widget_for("context").focus()
        await pilot.press("end", *" at night")
        app.flush_saves()  # what the autosave timer does
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceScreen)  # no question pops up mid-typing
        assert "conflict" in str(app.query_one("#status").render())
        assert app.editor_screen.spec.context.endswith("at night")
        assert "Porto poster" in path.read_text()  # theirs is untouched
        assert "at night" in workspace.recovery_path(app.editor_screen.library).read_text()
        await pilot.press("f6")
        await screen_is(pilot, ChoiceScreen)
        await pilot.press("k")  # keep both
        await wait_until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        mine = library_dir / "studio.your-copy.toml"
        assert "at night" in mine.read_text()
        assert app.collection.libraries[0].get("Porto poster") is not None  # reloaded theirs
        assert app.collection.libraries[1].path == mine  # and yours, beside it
        # (issue 14: "Keep both" made a look-alike the user went on editing unawares)
        # yours is titled as a copy, and listed after the original, also next time
        assert app.collection.libraries[1].title == "Studio (your copy)"
        assert sorted(library_dir.glob("*.toml"))[0].name == "studio.toml"
        # the notice says where it is; the editor stays on the original's prompt
        assert any("(your copy)" in n.message and str(mine) in n.message
                   for n in app._notifications)
        assert app.editor_screen.library is app.collection.libraries[0]
        assert app.editor_screen.spec.name == "Amber perfume bottle"
        assert not app.editor_screen.spec.context.endswith("at night")
        rows = [str(o.prompt) for o in app.editor_screen.browser.option_list._options]
        assert any("Studio (your copy)" in row for row in rows)


async def test_conflict_overwrite(make_app, library_dir):
    path = library_dir / "studio.toml"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        path.write_text(path.read_text().replace("Lisbon poster", "Porto poster"))
        app.editor_screen.editor.widget_for("context").focus()
        await pilot.press("end", *" at night")
        app.flush_saves()  # what the autosave timer does: a conflict
        await pilot.press("f6")
        await screen_is(pilot, ChoiceScreen)
        await pilot.press("o")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
    text = path.read_text()
    assert "at night" in text and "Lisbon poster" in text


async def test_markup_and_escapes_from_a_file_are_shown_literally(make_app, tmp_path):
    lib = tmp_path / "odd.toml"
    lib.write_text('[[prompts]]\nname = "[bold red]x[/]"\n'
                   'subject = "a [link=x]cat[/link] \\u001b[31m"\n')
    app = make_app(lib)
    async with app.run_test(size=(120, 40)):
        assert app.editor_screen.composed.text == "A [link=x]cat[/link] [31m."
        rendered = str(app.editor_screen.composed.render())
        assert "[link=x]cat[/link]" in rendered
        option = app.editor_screen.browser.option_list.get_option_at_index(1)
        assert str(option.prompt) == "[bold red]x[/]"


async def test_malformed_library_is_reported_and_others_open(make_app, library_dir):
    (library_dir / "broken.toml").write_text('[[prompts]]\nname = "x\n')
    app = make_app()
    async with app.run_test(size=(120, 40)):
        assert [lib.path.name for lib in app.collection.libraries] == ["studio.toml"]
        messages = [n.message for n in app._notifications]
        assert any("broken.toml:2:" in m for m in messages)
    assert (library_dir / "broken.toml").read_text() == '[[prompts]]\nname = "x\n'


async def test_theme_choice_is_remembered(make_app, isolated_home):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        from workbench.config import load_config

        app.theme = "textual-light"
        await wait_until(pilot, lambda: load_config().ui.theme == "textual-light")
    assert load_config().ui.theme == "textual-light"


async def test_first_start_seeds_user_libraries(isolated_home):
    from workbench.config import load_config
    from workbench.locations import libraries_dir
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(load_config(env={}), None)
    async with app.run_test(size=(80, 24)):
        assert libraries_dir().is_dir()
        assert app.collection.libraries  # bundled examples were copied (or an empty library)
        assert isinstance(app.editor_screen.browser.query_one("#filter"), Input)


async def test_empty_parameters_show_the_variant_default(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+f", *"@schnell", "enter")
        await editor_ready(pilot, app)
        assert app.editor_screen.spec.name == "Quick sketch"
        assert app.editor_screen.editor.widget_for("steps").placeholder.startswith("4 (default)")
        app.editor_screen.editor.widget_for("model").value = "dev"
        await wait_until(pilot, lambda: app.editor_screen.spec.model == "dev")
        assert app.editor_screen.editor.widget_for("steps").placeholder.startswith("28 (default)")


async def test_bundled_themes_are_registered_and_no_color_is_honoured(make_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(theme="high-contrast")
    async with app.run_test(size=(80, 24)):
        assert {"workbench-dark", "workbench-light", "high-contrast"} <= set(app.available_themes)
        assert app.theme == "high-contrast"
        assert app.no_color


async def test_palette_sets_preset_and_aspect_size(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await run_command(pilot, "Size: 16:9 HD")
        params = app.editor_screen.spec.params
        assert (params.width, params.height) == (1920, 1088)
        await run_command(pilot, "Preset: quality")
        assert app.editor_screen.spec.params.preset == "quality"
        assert app.editor_screen.editor.widget_for("preset").value == "quality"
    saved = load_library(library_dir / "studio.toml").get("Amber perfume bottle")
    assert (saved.params.width, saved.params.preset) == (1920, "quality")


async def test_source_image_path_completes_relative_to_the_library(make_app, library_dir):
    from PIL import Image

    (library_dir / "sources").mkdir()
    Image.new("RGB", (32, 32)).save(library_dir / "sources" / "portrait.png")
    (library_dir / "sources" / "notes.txt").write_text("not an image")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)  # below-the-fold fields mount after the first frame
        field = app.editor_screen.editor.widget_for("source_image")
        field.focus()
        await pilot.press(*"sou")
        await wait_until(pilot, lambda: field._suggestion == "sources/")
        await pilot.press("right")  # accept "sources/"
        await pilot.press("p")
        await wait_until(pilot, lambda: field._suggestion == "sources/portrait.png")
        await pilot.press("right")
        assert field.value == "sources/portrait.png"
        assert app.editor_screen.spec.source_image == "sources/portrait.png"


async def test_the_model_list_is_made_when_it_opens_and_follows_the_prompt(make_app):
    """The model field's drop-down is mounted at its first opening (start-up cost); until
    then the field still shows each prompt's model, and the list, once open, picks one."""
    from workbench.spec import VARIANTS

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        editor = app.editor_screen
        field = editor.editor.widget_for("model")
        assert not field.query("SelectOverlay")  # not made before it is needed

        def line() -> str:
            return screen_lines(app)[field.region.y]

        await wait_until(pilot, lambda: "dev" in line())
        editor.browser.option_list.focus()
        await pilot.press("down", "down")  # "Quick sketch", a schnell prompt
        await wait_until(pilot, lambda: editor.spec.name == "Quick sketch")
        await wait_until(pilot, lambda: "schnell" in line() and field.value == "schnell")
        assert not field.query("SelectOverlay")

        field.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: field.expanded and field.query("SelectOverlay"))
        chosen = VARIANTS[(VARIANTS.index("schnell") + 1) % len(VARIANTS)]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: editor.spec.model == chosen)
        assert chosen in line() and not field.expanded
