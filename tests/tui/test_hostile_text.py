"""The TUI never writes an escape sequence, C1 control or bidi override from a library to
the terminal (issue 13 item 4): the screen as it would be written is checked with every
prompt selected, in dialogs and toasts, first with the widgets' own sanitising alone (the
safety line filter off), then as shipped."""

from __future__ import annotations

import os

import pytest

from tests.hostile import HOSTILE, assert_terminal_safe, broken_hostile_file, hostile_library
from workbench import workspace
from workbench.tui.screens.confirm import ChoiceScreen

from .helpers import screen_is


def terminal_output(app) -> str:
    """What Textual would write to the terminal for a full redraw of the top screen."""
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


@pytest.fixture
def hostile_dir(tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    hostile_library(folder)
    broken_hostile_file(folder)
    return folder


@pytest.mark.parametrize("safety_net", [False, True])
async def test_hostile_library_reaches_the_screen_sanitised(make_app, hostile_dir,
                                                            safety_net):
    app = make_app(hostile_dir)
    safety = getattr(app, "_safety", None)  # the line filter (absent before it existed)
    if safety is not None:
        app._safety = type(safety)(enabled=safety_net)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.editor_screen.spec is not None and app.editor_screen.spec.name == f"A {HOSTILE}"
        for index in range(2):
            await pilot.pause()
            output = terminal_output(app)
            assert_terminal_safe(output, f"prompt {index + 1}")
            assert "[bold]B[/bold]" in output or "[bold]" in output  # markup shown as text
            app.editor_screen.editor.scroll_end(animate=False)  # the fields below the fold
            await pilot.pause()
            assert_terminal_safe(terminal_output(app), f"prompt {index + 1}, lower fields")
            app.editor_screen.editor.scroll_home(animate=False)
            await pilot.press("down")
        await pilot.press("f8")  # the delete question names the prompt
        await screen_is(pilot, ChoiceScreen)
        await pilot.pause()  # drawn
        assert_terminal_safe(terminal_output(app), "delete dialog")
        await pilot.press("n")


async def test_read_only_library_keeps_edits_in_recovery_and_says_so_once(make_app,
                                                                          tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "studio.toml"
    text = '[[prompts]]\nname = "Fox"\nsubject = "a fox"\n'
    path.write_text(text)
    os.chmod(path, 0o444)
    app = make_app(folder)
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.editor.widget_for("subject").focus()
        await pilot.press("end", *" in snow")
        app.flush_saves()
        await pilot.pause()
        recovery = workspace.recovery_path(app.editor_screen.library)
        assert "in snow" in recovery.read_text()
        assert path.read_text() == text
        await pilot.press(*" at dawn")
        app.flush_saves()
        await pilot.pause()
        assert "in snow at dawn" in recovery.read_text()
        messages = [n.message for n in app._notifications]
        told = [m for m in messages if "read-only (mode 0444)" in m and str(recovery) in m]
        assert len(told) == 1  # said once, not at every autosave
        assert "not saved: edits kept in recovery file" in str(app.query_one("#status")
                                                              .render())
        assert path.read_text() == text


async def test_keep_both_removes_the_recovery_file(make_app, library_dir):
    path = library_dir / "studio.toml"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        path.write_text(path.read_text().replace("Lisbon poster", "Porto poster"))
        app.editor_screen.editor.widget_for("context").focus()
        await pilot.press("end", *" at night")
        app.flush_saves()
        await pilot.pause()
        recovery = workspace.recovery_path(app.editor_screen.library)
        assert recovery.exists()
        await pilot.press("f6")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("k")  # keep both
        await pilot.pause()
        assert "at night" in (library_dir / "studio.your-copy.toml").read_text()
        assert not recovery.exists()
        assert workspace.pending_recoveries() == []  # nothing to announce next start


async def test_no_pillow_on_the_ui_thread_at_start_and_special_files_do_not_freeze(
        make_app, tmp_path, monkeypatch):
    import threading

    from PIL import Image

    folder = tmp_path / "src"
    folder.mkdir()
    Image.new("RGB", (48, 32)).save(folder / "photo.png")
    os.mkfifo(folder / "pipe.png")
    (folder / "lib.toml").write_text(
        '[[prompts]]\nname = "Edit"\nmodel = "kontext"\nraw = "Make it snow"\n'
        'source_image = "pipe.png"\n\n[[prompts]]\nname = "Img2img"\nsubject = "a fox"\n'
        'source_image = "photo.png"\nwidth = 64\nheight = 64\n\n'
        '[[prompts]]\nname = "Stdin"\nmodel = "kontext"\nraw = "Add a hat"\n'
        'source_image = "/dev/stdin"\n\n[[prompts]]\nname = "Nul"\nmodel = "kontext"\n'
        'raw = "Add a cat"\nsource_image = "cat\\u0000.png"\n')
    opened_on: list[str] = []
    real_open = Image.open

    def watched(*args, **kwargs):
        opened_on.append(threading.current_thread().name)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", watched)
    app = make_app(folder)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if app.editor_screen.diagnostics:
                break
        assert any(d.code == "FX404" and "not a regular file" in d.message
                   for d in app.editor_screen.diagnostics)
        assert opened_on and threading.main_thread().name not in opened_on
        await pilot.press("down")  # the img2img prompt: its size came from the cache
        await pilot.pause()
        found = app.editor_screen.diagnostics
        assert any(d.code == "FX402" and "48x32" in d.message for d in found)
        await pilot.press("down", "down")  # a NUL byte in the path: a message, no crash
        await pilot.pause()
        assert app.editor_screen.spec.name == "Nul"
        found = app.editor_screen.diagnostics
        assert any(d.code == "FX404" and "NUL byte" in d.message for d in found)
        assert threading.main_thread().name not in opened_on


async def test_a_big_library_is_read_without_tomlkit_and_an_edit_autosaved_without_it(
        make_app, tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    path = folder / "big.toml"
    path.write_text("# my prompts\nformat = 1\n\n" + "".join(
        f'[[prompts]]\nname = "P{i}"  # note {i}\nsubject = "a fox number {i}"\n\n'
        for i in range(300)))
    app = make_app(folder)
    async with app.run_test(size=(120, 40)) as pilot:
        library = app.editor_screen.library
        assert not library.has_document  # shown from tomllib's values only
        app.editor_screen.editor.widget_for("subject").focus()
        await pilot.press("end", *" in snow")
        for _ in range(100):
            await pilot.pause(0.05)
            if "in snow" in path.read_text():
                break
        assert not library.has_document  # only the edited prompt's piece was parsed
        text = path.read_text()
        assert 'subject = "a fox number 0 in snow"' in text
        assert text.startswith("# my prompts") and 'name = "P299"  # note 299' in text
