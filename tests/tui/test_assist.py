"""LLM assistance in the TUI, against a fake Ollama on 127.0.0.1 through the real client."""

from __future__ import annotations

import json
import socket

import pytest

from tests.fakes.ollama_server import FakeOllama, Reply
from workbench.library import load_library
from workbench.tui.screens.assist import AssistScreen, word_diff
from workbench.tui.screens.assist_menu import ActionMenu

from .helpers import screen_is, screen_lines, wait_until


async def assist(pilot, downs: int = 0) -> AssistScreen:
    """F9, then the action ``downs`` rows below the first (rewrite) in the menu."""
    await pilot.press("f9")
    await screen_is(pilot, ActionMenu)
    await pilot.press(*["down"] * downs, "enter")
    return await screen_is(pilot, AssistScreen)

REWRITE = ("An amber glass perfume bottle with a brushed brass cap stands on wet black "
           "slate, lit by a soft diffused key light and a thin rim light.")


@pytest.fixture
async def fake():
    async with FakeOllama() as server:
        yield server


async def test_rewrite_streams_then_accept_and_undo(make_app, library_dir, fake):
    fake.queue(Reply(REWRITE, chunk_delay=0.01))
    path = library_dir / "studio.toml"
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        original = app.editor_screen.composed.text
        screen = await assist(pilot)  # first action: rewrite
        await wait_until(pilot, lambda: screen.proposal is not None)
        sent = fake.chats[-1]
        assert sent["model"] == "gemma3:4b"
        assert original in json.dumps(sent["messages"][-1]["content"])
        assert screen.proposal.text == REWRITE
        assert "lint: 0 → 0 problems" in str(screen.query_one("#assist-status").render())
        assert "brass cap standing stands on" in str(screen.query_one("#new-text").render())
        assert path.read_text() == (library_dir / "studio.toml").read_text()
        before = path.read_text()
        await pilot.press("a")
        assert app.editor_screen.spec.raw == REWRITE and app.editor_screen.composed.text == REWRITE
        app.flush_saves()
        assert load_library(path).get("Amber perfume bottle").raw == REWRITE
        assert before != path.read_text()
        await pilot.press("f12")
        assert app.editor_screen.spec.raw == "" and app.editor_screen.composed.text == original


async def test_escape_mid_stream_changes_nothing(make_app, library_dir, fake):
    fake.queue(Reply(REWRITE, chunk_delay=0.3))
    path = library_dir / "studio.toml"
    before = path.read_bytes()
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await assist(pilot)
        await wait_until(pilot, lambda: screen.streamed != "")
        await pilot.press("escape")
        assert not isinstance(app.screen, AssistScreen)
        assert app.editor_screen.spec.raw == ""
        app.flush_saves()  # nothing to save: the file is untouched
        assert path.read_bytes() == before
    assert path.read_bytes() == before


async def test_ollama_not_running_says_how_to_fix(make_app, library_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(ollama_host=f"127.0.0.1:{port}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await assist(pilot)
        status = screen.query_one("#assist-status")
        await wait_until(pilot, lambda: "not reachable" in str(status.render()))
        text = str(status.render())
        assert "ollama serve" in text and "OLLAMA_HOST" in text
        await pilot.press("a")  # nothing to accept
        assert isinstance(app.screen, AssistScreen)
        await pilot.press("escape")
        assert app.editor_screen.spec.raw == ""


async def test_missing_model_says_ollama_pull(make_app, fake):
    app = make_app(ollama_host=fake.host, ollama_model="llama9:1b")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await assist(pilot)
        status = screen.query_one("#assist-status")
        await wait_until(pilot, lambda: "ollama pull llama9:1b" in str(status.render()))
        await pilot.pause(1.5)  # deliberate: past the 1 s "waiting for the first token" tick
        assert "ollama pull llama9:1b" in str(status.render())


async def test_decompose_accepts_only_picked_fields(make_app, fake):
    fields = {"subject": "a fox", "action": "asleep in fresh snow", "style": "soft pink dawn light",
              "context": "", "foreground": "", "midground": "", "background": "", "text": "",
              "camera": ""}
    fake.queue(json.dumps(fields))
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+f", *"@schnell", "enter")
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Quick sketch")
        screen = await assist(pilot, downs=4)  # decompose
        await wait_until(pilot, lambda: screen.proposal is not None)
        picks = screen.query_one("#field-picks")
        assert set(picks.selected) == {"subject", "action", "style"}
        picks.deselect("style")
        await pilot.press("a")
        spec = app.editor_screen.spec
        assert (spec.subject, spec.action, spec.style) == (
            "a fox", "asleep in fresh snow", "")
        assert app.editor_screen.spec.raw  # not every field was taken: raw mode stays


async def test_model_output_markup_and_escapes_are_shown_literally(make_app, fake):
    fake.queue("A [bold]red[/bold] fox \x1b[2J in snow.")
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await assist(pilot)
        await wait_until(pilot, lambda: screen.proposal is not None)
        rendered = str(screen.query_one("#new-text").render())
        assert "[bold]red[/bold]" in rendered and "\x1b" not in rendered


def test_word_diff_marks_insertions_and_deletions():
    diff = word_diff("a red fox in snow", "a small red fox on snow")
    assert diff.plain == "a small red fox in on snow"
    styles = {diff.plain[s.start:s.end]: str(s.style) for s in diff.spans}
    assert styles["small "] == "bold green" and styles["in "] == "strike red"


async def test_prompt_actions_are_off_while_the_assist_screen_is_up(make_app, fake):
    fake.queue(Reply(REWRITE, chunk_delay=0.01))
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await assist(pilot)
        await wait_until(pilot, lambda: screen.proposal is not None)
        await pilot.press("f3", "f8")  # would add / delete a prompt under the screen
        assert app.screen is screen
        assert [s.name for s in app.editor_screen.library.prompts] == [
            "Amber perfume bottle", "Lisbon poster", "Quick sketch"]


async def test_model_picker_lists_installed_models_and_is_used(make_app, fake):
    fake.queue(Reply(REWRITE))
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f9")
        select = (await screen_is(pilot, ActionMenu)).query_one("#model")
        await wait_until(pilot, lambda: len(select._options) > 1)
        names = [value for _, value in select._options]
        assert {"gemma3:4b", "llava:7b", "qwen3:4b"} <= set(names)
        select.value = "llava:7b"
        app.screen.query_one("#actions").focus()
        await pilot.press("enter")
        screen = await screen_is(pilot, AssistScreen)
        await wait_until(pilot, lambda: screen.proposal is not None)
        assert fake.chats[-1]["model"] == "llava:7b"


async def test_model_picker_shows_the_model_and_opens_a_readable_list(make_app, fake):
    """(issue 14) The picker read "Model" with nothing after it, and opened one column
    wide."""
    app = make_app(ollama_host=fake.host, ollama_model="qwen3:4b")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f9")
        select = (await screen_is(pilot, ActionMenu)).query_one("#model")
        await wait_until(pilot, lambda: len(select._options) > 1)
        await pilot.pause()
        row = screen_lines(app)[select.region.y]
        assert "Model" in row and "qwen3:4b" in row and select.region.width > 30
        await pilot.press("tab", "enter")  # to the picker, open it
        await wait_until(pilot, lambda: select.expanded)
        await pilot.pause()
        shown = "\n".join(screen_lines(app))
        assert all(name in shown for name in ("gemma3:4b", "llava:7b", "llama3.2:3b"))
        assert select.query_one("SelectOverlay").region.width >= 30


async def test_menu_says_when_the_default_model_is_not_pulled(make_app, fake):
    app = make_app(ollama_host=fake.host, ollama_model="mistral:7b")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f9")
        note = (await screen_is(pilot, ActionMenu)).query_one("#model-note")
        await wait_until(pilot, lambda: "ollama pull mistral:7b" in str(note.render()))


async def test_fix_action_sends_lint_findings_and_lints_the_proposal(make_app, fake):
    fake.queue("A fox asleep in fresh snow at dawn, soft pink light, masterpiece, 8k.")
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+f", *"@schnell", "enter")
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Quick sketch")
        app.editor_screen.editor.widget_for("raw").focus()
        await pilot.press("end", *" ((sharp))")
        await wait_until(pilot, lambda: "weight-syntax" in
                         [d.rule for d in app.editor_screen.diagnostics])
        app.editor_screen.editor.widget_for("name").focus()
        screen = await assist(pilot, downs=1)  # fix
        await wait_until(pilot, lambda: screen.proposal is not None)
        sent = json.dumps(fake.chats[-1]["messages"])
        assert "weight syntax" in sent
        status = str(screen.query_one("#assist-status").render())
        assert "fixed weight-syntax" in status and "new sd-quality-tags" in status


async def test_describe_the_source_image_with_a_vision_model(make_app, library_dir, fake):
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 30, 30)).save(library_dir / "red.png")
    fake.queue("A plain red square on a flat background.")
    app = make_app(ollama_host=fake.host, ollama_model="llama3.2:3b")
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.spec.source_image = "red.png"
        app.editor_screen.action_assist("describe", "llava:7b")
        screen = await screen_is(pilot, AssistScreen)
        await wait_until(pilot, lambda: screen.proposal is not None)
        sent = fake.chats[-1]
        assert sent["model"] == "llava:7b" and sent["messages"][-1]["images"]
        await pilot.press("a")
        assert app.editor_screen.spec.raw == "A plain red square on a flat background."


async def test_describe_with_a_text_only_model_is_refused_plainly(make_app, library_dir, fake):
    from PIL import Image

    Image.new("RGB", (64, 48)).save(library_dir / "dark.png")
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.spec.source_image = "dark.png"
        app.editor_screen.action_assist("describe", "llama3.2:3b")
        await screen_is(pilot, AssistScreen)
        status = app.screen.query_one("#assist-status")
        await wait_until(pilot, lambda: "vision" in str(status.render()))
        assert not fake.chats


async def test_kontext_proposal_on_a_dev_prompt_makes_a_step_per_edit(make_app, fake):
    """(issue 14) A kontext proposal accepted on a dev prompt stayed dev silently, its
    edits glued into one instruction; undo then spoke of "the proposal" for any change."""
    fake.queue(json.dumps({"instructions": ["Make the bottle blue",
                                            "Add a sprig of lavender beside it"]}))
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(120, 40)) as pilot:
        library = app.editor_screen.library
        screen = await assist(pilot, downs=5)  # kontext
        await wait_until(pilot, lambda: screen.proposal is not None)
        await pilot.press("a")
        spec = app.editor_screen.spec
        assert spec.model == "kontext" and spec.raw == "Make the bottle blue."
        assert any("the model is now kontext (it was dev)" in n.message
                   for n in app._notifications)
        step = library.get("Amber perfume bottle › 2")
        assert step is not None and step.follows == "Amber perfume bottle"
        assert step.raw == "Add a sprig of lavender beside it"
        await pilot.press("f12")
        assert app.editor_screen.spec.model == "dev"
        assert any("before the last fix, preset or proposal" in n.message
                   for n in app._notifications)


async def test_decompose_shows_whole_values_and_lint_agrees_with_the_panel(make_app, fake):
    long_style = ("flat 1960s screen-print illustration with warm ochre and teal inks, "
                  "visible paper grain and slightly misregistered colour layers")
    fields = {"subject": "a retro travel poster of Lisbon", "action": "", "style": long_style,
              "context": "", "foreground": "", "midground": "", "background": "",
              "text": "", "camera": ""}
    fake.queue(json.dumps(fields))
    app = make_app(ollama_host=fake.host)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("down")  # Lisbon poster
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Lisbon poster")
        panel_count = len(app.editor_screen.diagnostics)
        screen = await assist(pilot, downs=4)  # decompose
        await wait_until(pilot, lambda: screen.proposal is not None)
        shown = " ".join(line.strip() for line in screen_lines(app))
        assert "misregistered colour layers" in shown  # whole, not cut at ~45 characters
        status = str(screen.query_one("#assist-status").render())
        assert f"lint: {panel_count} →" in status
        # a field the proposal would empty is not picked unless asked for
        assert "text" not in screen.query_one("#field-picks").selected
