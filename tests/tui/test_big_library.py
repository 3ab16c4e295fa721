"""A library of thousands of prompts in the TUI: the browser stays lazy (rows are drawn,
not built, and never measured), the linter's name lookup finds prompts without a dict of
them all, and autosave writes in a worker thread without losing an edit made meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path

from textual.widgets import Input

from workbench import workspace
from workbench.library import read_library
from workbench.linting import PromptsByName
from workbench.tui.widgets.browser import PromptList, _Row

from .helpers import wait_until


def write_library(path: Path, count: int, *, twins: int = 0) -> Path:
    lines = ["format = 1", 'title = "Big"', ""]
    for i in range(count):
        name = "Twin" if i < twins else f"Prompt {i:05d}"
        lines += ["[[prompts]]", f'name = "{name}"', f'subject = "a fox number {i}"',
                  f"seed = {i}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


async def test_the_browser_builds_only_the_rows_it_draws(make_app, tmp_path):
    path = write_library(tmp_path / "big.toml", 3000, twins=2)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        listing = app.editor_screen.browser.option_list
        assert isinstance(listing, PromptList) and listing.option_count == 3001
        built = [o for o in listing.options if isinstance(o, _Row) and o._prompt is not None]
        assert 0 < len(built) <= 40  # the visible rows, not 3000
        assert listing.virtual_size.height == 3001  # counted, one line each
        assert app.editor_screen.spec.name == "Twin"
        row = listing.get_option_at_index(1)
        assert str(row.prompt).startswith("Twin #1")
        await pilot.press("end")
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Prompt 02999")
        assert listing.highlighted == 3000
        assert listing.scroll_offset.y > 2900  # scrolled to the bottom row
        app.editor_screen.browser.query_one("#filter", Input).value = "Prompt 0299"
        # 00299, 0299x
        await wait_until(pilot, lambda: app.editor_screen.browser.visible_count() == 11)
        # the selection is kept when it still shows
        assert app.editor_screen.spec.name == "Prompt 02999"
        assert listing.highlighted == 11


async def test_renaming_a_twin_redraws_the_other_twin(make_app, tmp_path):
    path = write_library(tmp_path / "big.toml", 50, twins=2)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        listing = app.editor_screen.browser.option_list
        assert str(listing.get_option_at_index(2).prompt).startswith("Twin #2")
        name = app.editor_screen.editor.widget_for("name")
        name.focus()
        await pilot.press("end", "x")
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Twinx")
        assert str(listing.get_option_at_index(1).prompt) == "Twinx"
        assert str(listing.get_option_at_index(2).prompt) == "Twin"  # no longer one of two


def test_prompts_by_name_prefers_the_edited_library_and_the_last_of_a_name(tmp_path):
    first = read_library(write_library(tmp_path / "a.toml", 3))
    second = read_library(write_library(tmp_path / "b.toml", 5, twins=2))
    lookup = PromptsByName([first, second], first)
    assert lookup["Prompt 00001"] is first.prompts[1]     # the edited library wins
    assert lookup["Prompt 00004"] is second.prompts[4]
    assert lookup["Twin"] is second.prompts[1]            # the last of a name, as a dict
    assert lookup.get("nobody") is None and "Twin" in lookup
    assert len(lookup) == 6 and set(lookup) == {
        "Prompt 00000", "Prompt 00001", "Prompt 00002", "Prompt 00003", "Prompt 00004",
        "Twin"}
    assert dict(lookup)["Prompt 00002"] is first.prompts[2]
    other = PromptsByName([first, second], second)
    assert other["Prompt 00002"] is second.prompts[2]
    assert other["Prompt 00001"] is first.prompts[1]      # only in the other library


async def test_autosave_writes_in_a_thread(make_app, tmp_path, monkeypatch):
    path = write_library(tmp_path / "big.toml", 200)
    saved_on: list[str] = []
    real_save = workspace.save

    def recording_save(library, **kwargs):
        saved_on.append(threading.current_thread().name)
        return real_save(library, **kwargs)

    monkeypatch.setattr(workspace, "save", recording_save)
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        field = app.editor_screen.editor.widget_for("subject")
        field.focus()
        await pilot.press("end", *" in snow")
        await wait_until(pilot, lambda: "a fox number 0 in snow" in path.read_text())
        assert saved_on and threading.main_thread().name not in saved_on
        # an edit typed while the thread wrote is saved by the next timer: then it says so
        await wait_until(pilot, lambda: not app.saves.saving and "saved" in (
            status := str(app.query_one("#status").render())) and "not saved" not in status)


def test_an_edit_made_while_a_save_renders_stays_unsaved(tmp_path):
    library = read_library(write_library(tmp_path / "big.toml", 20))
    spec = library.prompts[3]
    spec.subject = "a red fox"
    data = library.encoded()               # what a worker thread writes...
    spec.subject = "a red fox in snow"     # ...while the user types on
    library.mark_saved(data)
    assert library.dirty                   # the newer text is still to be saved
    assert library.entries[3].saved.subject == "a red fox"
    assert "a red fox in snow" in library.render()
