"""The Kontext chain view against the fake ComfyUI: run a three-step chain, branch, snapshot."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.fakes.comfy_server import FakeComfy
from workbench.library import load_library
from workbench.tui.screens.chain import ChainScreen, InstructionInput

from .helpers import screen_is, wait_until, workers_done

CHAIN = '''\
format = 1
title = "Chain"

[[prompts]]
name = "edit 1"
model = "kontext"
source_image = "cat.png"
raw = "Put a red knitted hat on the cat while keeping its pose and the room the same"
seed = 1

[[prompts]]
name = "edit 2"
model = "kontext"
follows = "edit 1"
raw = "Make it snow outside the window while keeping the cat and the hat the same"
seed = 2

[[prompts]]
name = "edit 3"
model = "kontext"
follows = "edit 2"
raw = "Replace 'MEOW' with 'PURR' on the mug"
seed = 3
'''


@pytest.fixture
def chain_library(tmp_path):
    Image.new("RGB", (96, 64), (90, 120, 200)).save(tmp_path / "cat.png")
    path = tmp_path / "chain.toml"
    path.write_text(CHAIN)
    return path


@pytest.fixture
async def comfy():
    server = FakeComfy(default_steps=3)
    url = await server.start()
    try:
        yield server, url
    finally:
        await server.stop()


async def open_chain(app, pilot):
    app.editor_screen.browser.option_list.highlighted = 3  # "edit 3" (row 0 is the library header)
    await wait_until(pilot, lambda: app.editor_screen.spec.name == "edit 3")
    app.editor_screen.action_chain()
    return await screen_is(pilot, ChainScreen)


async def test_run_the_chain_and_branch(make_app, chain_library, comfy):
    server, url = comfy
    app = make_app(chain_library, comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_chain(app, pilot)
        assert isinstance(screen, ChainScreen)
        assert [v.label[:2] for v in screen.views] == ["so", "1.", "2.", "3."]
        assert screen.views[0].image is not None and screen.views[1].image is None
        await pilot.press("r")
        await wait_until(pilot, lambda: all(v.image is not None for v in screen.views[1:]))
        assert len(server.submitted) == 3
        # each step edits the previous result: three different images
        assert len({v.image.read_bytes() for v in screen.views[1:]}) == 3
        await pilot.press("left", "b")  # branch after edit 2
        await screen_is(pilot, InstructionInput)
        await pilot.press(*"Make the hat blue", "enter")
        await wait_until(pilot, lambda: app.screen is not screen)
        branched = await screen_is(pilot, ChainScreen)
        assert branched is not screen
        assert branched.chain.names == ["edit 1", "edit 2", branched.chain.names[-1]]
        assert branched.views[1].image is not None  # shared steps already made
        await pilot.press("r")
        await wait_until(pilot, lambda: branched.views[3].image is not None)
        assert len(server.submitted) == 4  # only the new step ran
        await pilot.press("escape")
        app.flush_saves()
        assert "Make the hat blue" in chain_library.read_text()
    saved = load_library(chain_library)
    new = [s for s in saved.prompts if s.raw == "Make the hat blue"]
    assert len(new) == 1 and new[0].follows == "edit 2"


async def test_not_a_chain_is_explained(make_app, library_dir):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.action_chain()
        await wait_until(pilot, lambda: app._notifications)
        assert not isinstance(app.screen, ChainScreen)
        assert any("Kontext" in n.message for n in app._notifications)


def test_chain_snapshot(snap_compare, make_app, chain_library):
    app = make_app(chain_library)

    async def run_before(pilot):
        await open_chain(app, pilot)
        await workers_done(pilot)  # the source image's preview is drawn in a thread

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


async def test_bundled_chain_generates_its_source_then_edits(make_app, tmp_path, comfy):
    import shutil

    from workbench.locations import bundled_prompts_dir

    server, url = comfy
    library = tmp_path / "kontext.toml"
    shutil.copy(bundled_prompts_dir() / "kontext.toml", library)
    app = make_app(library, comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        names = [s.name for s in app.editor_screen.library.prompts]
        tip = [s for s in app.editor_screen.library.prompts
               if s.model == "kontext" and s.follows][-1]
        app.editor_screen.browser.option_list.highlighted = names.index(tip.name) + 1
        await wait_until(pilot, lambda: app.editor_screen.spec is tip)
        app.editor_screen.action_chain()
        screen = await screen_is(pilot, ChainScreen)
        assert screen.views[0].label.startswith("source: ") and screen.views[0].image is None
        await pilot.press("r")
        await wait_until(pilot, lambda: all(v.image is not None for v in screen.views))
        assert len(server.submitted) == 4  # the poster, then three edits
        # the toast counts the edits (it said "4/3 steps done", the origin's image too)
        await wait_until(pilot, lambda: any("edits done" in n.message
                                            for n in app._notifications))
        assert any(n.message.startswith("3/3 edits done") for n in app._notifications)
        kinds = [{n["class_type"] for n in job["prompt"].values()} for job in server.submitted]
        assert "ReferenceLatent" not in kinds[0]
        assert all("ReferenceLatent" in k for k in kinds[1:])


async def test_a_wish_becomes_single_change_edits_and_the_source_is_described(
        make_app, chain_library):
    import json

    from tests.fakes.ollama_server import FakeOllama

    async with FakeOllama() as ollama:
        ollama.queue(json.dumps({"instructions": [
            "Make the hat blue while keeping the cat the same",
            "Add falling snow while keeping the room the same"]}))
        ollama.queue("A blue square photo.")
        app = make_app(chain_library, ollama_host=ollama.host)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_chain(app, pilot)
            await pilot.press("left", "k")  # after edit 2
            await screen_is(pilot, InstructionInput)
            await pilot.press(*"blue hat and snow", "enter")
            await wait_until(pilot, lambda: app.screen is not screen
                             and isinstance(app.screen, ChainScreen))
            new = await screen_is(pilot, ChainScreen)
            assert new.chain.instructions[-2:] == [
                "Make the hat blue while keeping the cat the same",
                "Add falling snow while keeping the room the same"]
            assert new.chain.names[:2] == ["edit 1", "edit 2"]
            assert "blue hat and snow" in json.dumps(ollama.chats[0]["messages"])
            await pilot.press("d")
            status = new.query_one("#chain-status")
            await wait_until(pilot, lambda: "blue square" in str(status.render()))
            assert "A blue square photo." in str(status.render())
            assert ollama.chats[-1]["messages"][-1]["images"]
            app.flush_saves()
    saved = load_library(chain_library)
    assert [s.follows for s in saved.prompts if "falling snow" in s.raw] != []


async def test_f5_on_a_chained_edit_runs_its_chain_up_to_it(make_app, chain_library, comfy):
    """(issue 14) F5 on a step that follows another said "flux-kontext needs a source
    image"; it runs the chain up to this step, in the chain view."""
    server, url = comfy
    app = make_app(chain_library, comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.browser.option_list.highlighted = 2  # "edit 2"
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "edit 2")
        await pilot.press("f5")
        screen = await screen_is(pilot, ChainScreen)
        assert screen.chain.names == ["edit 1", "edit 2"]
        # read before the run ends: on a loaded machine the toast's time may be up by then
        assert any("running its chain up to this step" in n.message
                   for n in app._notifications)
        await wait_until(pilot, lambda: all(v.image is not None for v in screen.views[1:]))
        assert len(server.submitted) == 2
        assert not app.editor_screen.jobs.rows  # no failed single run beside it
        assert not [n for n in app._notifications if n.severity == "error"]
