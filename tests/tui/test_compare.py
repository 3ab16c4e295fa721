"""The compare screen on a recorded run: grid, labels, moving, single view, A|B flip, winner."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from PIL import Image

from workbench.runs.history import create_run, load_run, record_cell
from workbench.runs.plan import make_plan
from workbench.spec import PromptSpec
from workbench.tui.screens.compare import CompareScreen
from workbench.tui.widgets.cell import progress_text
from workbench.tui.screens.single_view import SingleView, crop_box

from .helpers import screen_is, wait_until, workers_done

COLOURS = {0: (200, 40, 40), 1: (40, 160, 60)}  # variant A red, B green


def png(colour, size=(64, 64), marker=None) -> bytes:
    image = Image.new("RGB", size, colour)
    if marker:  # a white square in one corner, to see zoom and pan
        for x in range(8):
            for y in range(8):
                image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def recorded_run(tmp_path):
    a = PromptSpec(name="Fox A", subject="a red fox", action="asleep in snow")
    b = PromptSpec(name="Fox B", subject="an arctic fox", action="asleep in snow")
    plan = make_plan([a, b], seeds=[11, 22], name="fox colours",
                     created="2026-11-23T10:00:00+00:00")
    run = create_run(plan, root=tmp_path / "runs",
                     now=datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    for cell in plan.cells():
        if cell.variant == 1 and cell.seed == 22:
            continue  # one cell still missing
        record_cell(run, cell, [png(COLOURS[cell.variant], marker=True)], {"1": {}},
                    server="http://127.0.0.1:8188", comfyui_version="0.3.64")
    return load_run(run.folder)


def compare_app(make_app, run):
    app = make_app()

    async def open_compare(pilot):
        app.push_screen(CompareScreen(run.plan, run=run))
        await screen_is(pilot, CompareScreen)
        await workers_done(pilot)  # the cells' pictures are drawn in threads

    return app, open_compare


async def test_grid_shows_images_labels_and_missing_cells(make_app, recorded_run):
    app, open_compare = compare_app(make_app, recorded_run)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compare(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.grid.row_labels[0] == "A"
        assert screen.grid.row_labels[1].startswith("B:")
        assert screen.grid.column_labels == ["seed 11", "seed 22"]
        views = [[screen.cells[c] for c in row] for row in screen.grid.cells]
        assert views[1][1].image is None and "waiting" in str(views[1][1].render())
        # the red cell renders red half-blocks
        strip = views[0][0].render_line(views[0][0].size.height // 2)
        colours = {seg.style.bgcolor.triplet for seg in strip if seg.style and seg.style.bgcolor}
        assert any(c.red > 150 and c.green < 80 for c in colours if c is not None)
        assert "3/4 cells" in str(screen.query_one("#compare-title").render())


async def test_moving_opening_flipping_and_marking_a_winner(make_app, recorded_run):
    app, open_compare = compare_app(make_app, recorded_run)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compare(pilot)
        screen = app.screen
        await pilot.press("down")
        assert (screen.row, screen.col) == (1, 0)
        assert "B · seed 11" in str(screen.query_one("#compare-status").render())
        await pilot.press("up", "enter")
        single = await screen_is(pilot, SingleView)
        first = single.cell_id
        await pilot.press("plus", "plus")
        assert single.zoom == 2.0
        await pilot.press("tab")
        assert single.cell_id == screen.counterpart(first) and single.zoom == 2.0
        await pilot.press("w")
        assert screen.plan.is_winner(single.cell_id)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert screen.cells[single.cell_id].has_class("-winner")
    again = load_run(recorded_run.folder)
    assert [w.cell for w in again.plan.winners] == [single.cell_id]


def test_crop_box_keeps_the_region_inside_the_image():
    assert crop_box((100, 50), 1.0, (0.5, 0.5)) == (0, 0, 100, 50)
    assert crop_box((100, 50), 2.0, (0.5, 0.5)) == (25, 12, 75, 37)
    assert crop_box((100, 50), 4.0, (0.0, 0.0)) == (0, 0, 25, 12)
    assert crop_box((100, 50), 4.0, (1.0, 1.0)) == (75, 38, 100, 50)


def test_progress_text():
    assert progress_text("running", 0.5, 14, 28).plain == "▰▰▰▰▰▱▱▱▱▱ 14/28"
    assert progress_text("error", error="boom\x1b[2J").plain == "failed: boom"
    assert progress_text("queued").plain == "queued"


def test_compare_snapshot_120x40(snap_compare, make_app, recorded_run):
    app, open_compare = compare_app(make_app, recorded_run)
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_compare)


def test_compare_snapshot_80x24(snap_compare, make_app, recorded_run):
    app, open_compare = compare_app(make_app, recorded_run)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_compare)


async def test_ctrl_t_runs_an_ab_plan_into_the_grid(make_app, library_dir, isolated_home):
    from tests.fakes.comfy_server import FakeComfy

    server = FakeComfy(default_steps=4, step_delay=0.05)
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            from workbench.tui.screens.plan_setup import PlanSetup

            await pilot.press("ctrl+t")
            await screen_is(pilot, PlanSetup)
            app.screen.query_one("#plan-seeds").value = "5, 6"
            app.screen.query_one("#plan-axis").value = "guidance=2.5,3.5"
            app.screen.query_one("#plan-seeds").focus()
            await pilot.press("enter")
            screen = await screen_is(pilot, CompareScreen)
            assert screen.plan.size == 8  # A, B x 2 seeds x 2 guidance values
            await wait_until(pilot, lambda: all(v.image is not None
                                                for v in screen.cells.values()))
            assert len(server.submitted) == 8
            await wait_until(pilot, lambda: screen.run is not None)  # the run is wrapped up
            assert "8/8 cells" in str(screen.query_one("#compare-title").render())
            # the grid's thumbnails were made as the images arrived: found ready, not made
            from workbench.images.preview import default_cache
            from workbench.tui.widgets.cell import thumbnail_box

            await app.workers.wait_for_complete()
            cache, view = default_cache(), screen.current
            misses = cache.misses
            cache.get(view.image, thumbnail_box(view))
            assert cache.misses == misses
            await pilot.press("right", "w")
            winner = screen.current.cell_id
            await workers_done(pilot, "plans")
            run_folder = screen.run.folder
        manifest = load_run(run_folder)
        assert [w.cell for w in manifest.plan.winners] == [winner]
        assert (run_folder / "contact-sheet.png").is_file()
        # the plan (with its winner) is kept with the prompt in the library
        from workbench.runs.saved_plans import load_plans
        from workbench.library import load_library

        plans, problems = load_plans(load_library(library_dir / "studio.toml"),
                                     "Amber perfume bottle")
        assert problems == [] and plans and plans[-1].is_winner(winner)
    finally:
        await server.stop()


async def test_final_on_dev_reruns_the_same_seeds_on_dev(make_app, library_dir, isolated_home):
    from tests.fakes.comfy_server import FakeComfy

    server = FakeComfy(default_steps=2)
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+f", *"@schnell", "enter")
            sketch = app.editor_screen.spec
            plan = make_plan([sketch], seeds=[3, 4], name="sketch draft")
            app.editor_screen.compare(plan, app.editor_screen.library, sketch.name)
            draft = await screen_is(pilot, CompareScreen)
            await wait_until(pilot, lambda: all(v.image is not None
                                                for v in draft.cells.values()))
            await pilot.press("f")
            await wait_until(pilot, lambda: app.screen is not draft)
            final = await screen_is(pilot, CompareScreen)
            assert final.plan.seeds == [3, 4]
            assert all(v.spec.model == "dev" for v in final.plan.variants)
            await wait_until(pilot, lambda: all(v.image is not None
                                                for v in final.cells.values()))
            loaders = [n["inputs"].get("unet_name") for job in server.submitted[-2:]
                       for n in job["prompt"].values() if n["class_type"] == "UNETLoader"]
            assert loaders and all("dev" in name for name in loaders)
    finally:
        await server.stop()


async def test_single_view_uses_true_pixels_when_the_terminal_has_them(make_app, recorded_run):
    from textual_image.widget import TGPImage

    app = make_app(image_protocol="kitty")
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CompareScreen(recorded_run.plan, run=recorded_run))
        await screen_is(pilot, CompareScreen)
        await pilot.press("enter")
        single = await screen_is(pilot, SingleView)
        await pilot.press("plus")
        pixels = single.query_one("#single-pixels")
        assert isinstance(pixels, TGPImage)
        await wait_until(pilot, lambda: pixels.image is not None
                         and pixels.image.size == (42, 42))  # the 64 px image at zoom 1.5
        assert pixels.image.getpixel((0, 0)) == (200, 40, 40)  # centred: no corner
        await pilot.press("left", "left", "up", "up")  # pan to the top-left corner
        await wait_until(pilot, lambda: pixels.image.getpixel((0, 0)) == (255, 255, 255))


def test_detect_protocol_settings():
    from workbench.images.graphics import detect_protocol

    assert detect_protocol("sixel") == "sixel"
    assert detect_protocol("auto", stream=io.StringIO()) == "halfblocks"  # not a terminal


async def test_closing_a_running_comparison_lets_it_finish(make_app, isolated_home):
    """The compare screen owns its run; Esc while it runs goes back to the editor and the
    run goes on to its end (manifest, contact sheet, a toast), then the screen is let go."""
    from tests.fakes.comfy_server import FakeComfy

    server = FakeComfy(default_steps=4, step_delay=0.05)
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            editor = app.editor_screen
            plan = make_plan([editor.spec], seeds=[1, 2], name="left running")
            editor.compare(plan, editor.library, editor.spec.name)
            screen = await screen_is(pilot, CompareScreen)
            await wait_until(pilot, lambda: screen.run is not None)  # started
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is editor)
            await wait_until(pilot, lambda: any("left running: 2/2 cells done" in n.message
                                                for n in app._notifications))
            await wait_until(pilot, lambda: not screen.is_attached)
            assert (screen.run.folder / "contact-sheet.png").is_file()
            assert len(server.submitted) == 2
    finally:
        await server.stop()


async def test_cells_read_seed_and_axis_only_and_long_row_words_are_not_broken(make_app,
                                                                              recorded_run):
    """(issue 14) At 80x24 every cell label read "A · seed…" and the B row label broke
    words with a hyphen ("-post-apocalyp / tic")."""
    app, open_compare = compare_app(make_app, recorded_run)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_compare(pilot)
        screen = app.screen
        assert sorted(v.label for v in screen.cells.values()) == [
            "seed 11", "seed 11", "seed 22", "seed 22"]
        row_label = screen.query(".row-label").last()
        assert row_label.content.overflow == "ellipsis"  # (fold broke words with a hyphen)
        title = str(screen.query_one("#compare-title").render())
        assert "run folder" in title and not title.rstrip().endswith("· run")
        assert "A · seed 11" in str(screen.query_one("#compare-status").render())


async def test_plan_setup_counts_cells_and_estimates_time_before_run(make_app):
    from workbench.tui.screens.plan_setup import PlanSetup

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.editor_screen.jobs.timings.step = 0.5  # what an earlier run measured
        await pilot.press("ctrl+t")
        setup = await screen_is(pilot, PlanSetup)
        setup.query_one("#plan-seeds").value = "5, 6"
        setup.query_one("#plan-axis").value = "guidance=2.5,3.5"
        summary = setup.query_one("#plan-summary")
        await wait_until(pilot, lambda: "8 cells" in str(summary.render()))
        text = str(summary.render())
        # 8 cells of 28 steps (the sample's A has 28; B takes dev's default, 28)
        assert "2 prompts × 2 seeds × 2 guidance" in text and "224 steps" in text
        assert "about 2 min" in text
        # the sweep's help is not a placeholder cut at the input's width
        assert "lora:FILE" in str(setup.query_one("#plan-axes-help").render())
