"""The FLUX tools from the editor: F5 on each tool prompt of the bundled tools library
against the strict fake, and the tool fields with path completion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.comfy_server import FakeComfy
from tests.tool_library import EXPECTED, copy_tools_library
from workbench.runs import history
from workbench.tui.widgets.jobs import JobsPanel

from .helpers import editor_ready, type_text, wait_until


@pytest.fixture
async def comfy():
    server = FakeComfy(default_steps=2)
    url = await server.start()
    try:
        yield server, url
    finally:
        await server.stop()


async def test_f5_runs_every_tool_prompt_to_an_image_of_the_expected_size(make_app, comfy,
                                                                          tmp_path):
    server, url = comfy
    library = copy_tools_library(tmp_path)
    app = make_app(library, comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.editor_screen.jobs  # (mounted on first use: the first F5 would)
        for index, name in enumerate(EXPECTED, start=1):
            app.editor_screen.browser.option_list.highlighted = index  # row 0 is the library header
            await wait_until(pilot, lambda name=name: app.editor_screen.spec.name == name)
            await pilot.press("f5")
            await wait_until(pilot, lambda index=index: len(panel.rows) == index
                             and panel.rows[-1].finished)
            row = panel.rows[-1]
            state = str(row.query_one(".job-state").render())
            width, height = EXPECTED[name][1]
            assert state.startswith(f"done: 1 image(s) {width}x{height} in"), (name, state)
            assert Image.open(row.images[0]).size == EXPECTED[name][1], name
            folder = Path(state.split(" in ", 1)[1])
            run = history.load_run(folder)
            # the spec is kept
            assert run.plan.variants[0].spec.tools == app.editor_screen.spec.tools
            [cell] = run.results.values()
            workflow = json.loads((folder / cell.workflow).read_text())
            assert workflow == server.submitted[-1]["prompt"]           # and the workflow
    assert len(server.submitted) == len(EXPECTED)


async def test_tool_fields_edit_the_spec_with_path_completion(make_app, tmp_path):
    library = copy_tools_library(tmp_path)
    app = make_app(library)
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        assert app.editor_screen.spec.name == "Tulips in place of the vase"
        field = app.editor_screen.editor.widget_for("mask")
        assert field.value == "tools-images/room-mask.png"
        field.focus()
        field.value = ""
        await type_text(pilot, "tools-images/room-d")
        await wait_until(pilot, lambda: field._suggestion == "tools-images/room-depth.png")
        await pilot.press("right")
        assert app.editor_screen.spec.tools.mask == "tools-images/room-depth.png"
        redux = app.editor_screen.editor.widget_for("redux")
        redux.focus()
        await type_text(pilot, "tools-images/room.png:0.4; tools-images/sun")
        await wait_until(pilot, lambda: redux._suggestion.endswith("sunset-reference.png"))
        await pilot.press("right")
        assert [(r.image, r.strength) for r in app.editor_screen.spec.tools.redux] == [
            ("tools-images/room.png", 0.4), ("tools-images/sunset-reference.png", 1.0)]
        outpaint = app.editor_screen.editor.widget_for("outpaint")
        outpaint.focus()
        await pilot.press(*"left=64")
        assert app.editor_screen.spec.tools.outpaint.left == 64
        await pilot.press("x")   # "left=64x" does not parse: nothing changes, it is marked
        assert app.editor_screen.spec.tools.outpaint.left == 64 and outpaint.has_class("-unparsed")
        app.flush_saves()   # what the autosave timer does
    from workbench.library import load_library

    text = library.read_text(encoding="utf-8")
    saved = load_library(library).get("Tulips in place of the vase")
    assert saved.tools.mask == "tools-images/room-depth.png"
    assert [(r.image, r.strength) for r in saved.tools.redux] == [
        ("tools-images/room.png", 0.4), ("tools-images/sunset-reference.png", 1.0)]
    assert saved.tools.outpaint.left == 64
    assert "# Bundled example library" in text   # the file's comments are kept
    assert "outpaint = { left = 64 }\n" in text   # spaced like the rest of the file


async def test_empty_parameters_show_the_tools_guidance_and_size(make_app, tmp_path):
    library = copy_tools_library(tmp_path)
    app = make_app(library)
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        editor = app.editor_screen.editor

        def hint(key: str) -> str:
            return editor.widget_for(key).placeholder.split(" · ")[0]

        assert app.editor_screen.spec.name == "Tulips in place of the vase"
        assert (hint("guidance"), hint("width")) == ("30 (default)",
                                                     "the source image's (default)")
        editor.widget_for("mask").value = ""   # no mask: the source is an img2img start
        await wait_until(pilot, lambda: not app.editor_screen.spec.tools.used)
        assert (hint("guidance"), hint("width"), hint("denoise")) == (
            "3.5 (default)", "1024 (default)", "0.7 (default)")
        editor.widget_for("control").value = "depth"
        editor.widget_for("control_image").value = "tools-images/room-depth.png"
        await wait_until(pilot, lambda: hint("guidance") == "10 (default)")
        assert hint("height") == "the control image's (default)"


async def test_ctrl_t_sweeps_a_control_on_and_off_on_the_same_seed(make_app, comfy, tmp_path,
                                                                   isolated_home):
    from textual.widgets import Select

    from workbench.tui.screens.compare import CompareScreen
    from workbench.tui.screens.plan_setup import PlanSetup

    from .helpers import screen_is

    server, url = comfy
    app = make_app(copy_tools_library(tmp_path), comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        await editor_ready(pilot, app)
        app.editor_screen.browser.option_list.highlighted = 3   # Room as a watercolour
        await wait_until(pilot, lambda: app.editor_screen.spec.name == "Room as a watercolour")
        await pilot.press("ctrl+t")
        await screen_is(pilot, PlanSetup)
        app.screen.query_one("#plan-b", Select).clear()           # a sweep of this prompt
        app.screen.query_one("#plan-seeds").value = "5"
        app.screen.query_one("#plan-axis").value = "tool=on,off"
        app.screen.query_one("#plan-seeds").focus()
        await pilot.press("enter")
        screen = await screen_is(pilot, CompareScreen)
        assert [c.id for c in screen.plan.cells()] == ["v0-s5-tool=on", "v0-s5-tool=off"]
        await wait_until(pilot, lambda: screen.run is not None and all(
            v.image is not None for v in screen.cells.values()))
        sizes = {cell_id: Image.open(view.image).size for cell_id, view in screen.cells.items()}
    graphs = [{n["class_type"] for n in job["prompt"].values()} for job in server.submitted]
    assert sorted("Canny" in g and "InstructPixToPixConditioning" in g for g in graphs) == [
        False, True]   # one run with the control, one without
    assert sizes == {"v0-s5-tool=on": (768, 512), "v0-s5-tool=off": (1024, 1024)}


async def test_f5_explains_a_missing_tool_model_and_shows_the_tools_notes(make_app, tmp_path,
                                                                          isolated_home):
    from tests.fakes.comfy_server import recorded_models
    from tests.tool_library import mask_png

    models = recorded_models()
    models["diffusion_models"] = ["flux1-dev.safetensors"]
    server = FakeComfy(default_steps=2, models=models)
    url = await server.start()
    try:
        library = copy_tools_library(tmp_path)
        (tmp_path / "tools-images" / "room-mask.png").write_bytes(mask_png((384, 256)))
        app = make_app(library, comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            await editor_ready(pilot, app)
            assert app.editor_screen.spec.name == "Tulips in place of the vase"
            await pilot.press("f5")
            panel = app.query_one(JobsPanel)
            await wait_until(pilot, lambda: panel.rows and panel.rows[-1].finished)
            state = str(panel.rows[-1].query_one(".job-state").render())
            assert state.startswith("failed:") and "'flux1-fill-dev.safetensors' is not " \
                "installed in models/diffusion_models" in state
            assert "huggingface.co/black-forest-labs/FLUX.1-Fill-dev" in state
            # the mask of half the size was resized, and the user was told
            notes = [n.message for n in app._notifications]
            assert any("the mask is 384x256, the source 768x512: the mask was resized" in n
                       for n in notes), notes
        assert server.submitted == []   # refused before sampling: nothing ran
    finally:
        await server.stop()
