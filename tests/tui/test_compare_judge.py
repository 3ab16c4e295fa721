"""The compare screen's judge against the fake Ollama on 127.0.0.1: ``j`` judges the run,
each cell gets a badge, ``d`` shows the checklist with the model's (sanitised) reasons,
``b`` walks the cells best first, a summary row per variant; a judged run shows its scores
when opened again; a missing model says how to get it; a running plan is judged as it
goes."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest
from PIL import Image, ImageDraw

from tests.fakes.ollama_server import FakeOllama, colour_key
from workbench.runs.history import create_run, load_run, record_cell, set_status
from workbench.runs.plan import make_plan
from workbench.spec import PromptSpec
from workbench.tui.screens.compare import CompareScreen

from .helpers import run_command, screen_is, wait_until, workers_done

RED, GREEN = (200, 40, 40), (40, 160, 60)
HOSTILE = "\x1b]52;c;cHduZWQ=\x07[bold red]gone\x1b[2J\u202e"


def picture(colour, seed: int) -> bytes:
    image = Image.new("RGB", (64, 64), colour)
    draw = ImageDraw.Draw(image)
    for n in range(6):   # edges, so the picture has a sharpness
        x = (seed * 7 + n * 11) % 56
        draw.rectangle((x, n * 9, x + 6, n * 9 + 5), fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def sign_run(tmp_path):
    """A (red), B (only its notes differ: the very same pictures) and C (green)."""
    a = PromptSpec(name="Shop", subject="a bakery shop front", style="film photo",
                   text="OPEN")
    b = PromptSpec(name="Shop notes", subject="a bakery shop front", style="film photo",
                   text="OPEN", notes="same words")
    c = PromptSpec(name="Shop green", subject="a green bakery shop front",
                   style="film photo", text="OPEN")
    plan = make_plan([a, b, c], seeds=[11, 22], name="shop signs",
                     created="2026-11-23T10:00:00+00:00")
    run = create_run(plan, root=tmp_path / "runs",
                     now=datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))
    for cell in plan.cells():
        colour = GREEN if cell.variant == 2 else RED
        record_cell(run, cell, [picture(colour, cell.seed)], {"1": {}},
                    server="http://127.0.0.1:8188", comfyui_version="0.3.64")
    set_status(run, "finished")
    return load_run(run.folder)


@pytest.fixture
async def ollama():
    async with FakeOllama() as fake:
        fake.vision_table[colour_key(RED)] = {
            "items": {"subject": "present", "style": "present",
                      "text": {"status": "absent", "reason": HOSTILE}},
            "text_seen": "OPEN"}
        fake.vision_table[colour_key(GREEN)] = {
            "items": {"subject": "partly", "style": "present", "text": "present"},
            "text_seen": "OPN"}
        yield fake


def compare_app(make_app, run, ollama_host="127.0.0.1:9", **overrides):
    app = make_app(ollama_host=ollama_host, **overrides)

    async def open_compare(pilot):
        app.push_screen(CompareScreen(run.plan, run=run, config=app.config))
        await screen_is(pilot, CompareScreen)
        await workers_done(pilot)

    return app, open_compare


def title(view) -> str:
    return str(view.border_title or "")


async def test_judge_key_badges_details_summary_and_best(make_app, sign_run, ollama):
    app, open_compare = compare_app(make_app, sign_run, ollama.host)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compare(pilot)
        screen = app.screen
        assert screen.judgement is None and title(screen.cells["v0-s11"]) == ""
        await pilot.press("j")
        await wait_until(pilot, lambda: screen.judgement is not None and screen.live is None)
        cells = screen.cells
        # A: subject and style present, the sign's text absent (weighted), text read right
        assert title(cells["v0-s11"]) == "69% T✓"
        # B drew the very same pictures as A: "same as A"; C's are different
        assert all("=A" in title(cells[f"v1-s{s}"]) for s in (11, 22))
        assert not any("=A" in title(cells[f"v{v}-s{s}"]) for v in (0, 2) for s in (11, 22))
        # C's sign reads "OPN": the text check catches the missing word
        assert all("T✗" in title(cells[f"v2-s{s}"]) for s in (11, 22))
        data = json.loads((sign_run.folder / "judge.json").read_text(encoding="utf-8"))
        assert data["cells"]["v2-s11"]["images"][0]["text"]["missing_words"] == ["open"]
        assert title(cells["v0-s11"]).split()[0] == \
            f"{data['cells']['v0-s11']['adherence'] * 100:.0f}%"
        summary = str(screen.query_one("#judge-summary").render())
        assert screen.query_one("#judge-summary").display
        assert "A: adherence" in summary and "C: adherence" in summary
        assert "text 0%" in summary and "2 same as A" in summary

        panel = screen.query_one("#judge-panel")
        assert not panel.display
        await pilot.press("d")
        assert panel.display
        shown = str(panel.render())
        assert '✓ Subject: a bakery shop front — the fake looked at a picture' in shown
        assert '✗ Image text: the text "OPEN" — [bold red]gone\n' in shown
        assert "[bold red]gone" in shown                         # markup stays text
        assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
        assert 'text: read "OPEN"' in shown and "sharpness" in shown

        await pilot.press("b")       # the best cell first: C or A, by the fake's answers
        best = max(data["cells"], key=lambda c: data["cells"][c]["adherence"])
        assert screen.current.cell_id == best
        assert best in str(panel.render()) or screen.current.label in str(panel.render())
        await pilot.press("d")
        assert not panel.display
    again = load_run(sign_run.folder)
    assert again.judge["model"] == "llava:7b" and len(again.judge["variants"]) == 3


async def test_a_judged_run_shows_its_scores_when_opened(make_app, sign_run, ollama):
    from workbench.judge import judge_run

    await judge_run(sign_run.folder, make_app(ollama_host=ollama.host).config)
    asked = len(ollama.vision_chats)
    run = load_run(sign_run.folder)
    app, open_compare = compare_app(make_app, run)        # Ollama not even reachable
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compare(pilot)
        screen = app.screen
        await wait_until(pilot, lambda: screen.judgement is not None)
        assert "=A" in title(screen.cells["v1-s22"])
        assert screen.query_one("#judge-summary").display
        assert len(ollama.vision_chats) == asked


async def test_the_judge_is_in_the_keymap_palette_and_help(library_dir, sign_run, ollama):
    """From the one action table: ``[keys]`` remaps it, the palette and F1 show it."""
    from workbench.tui.widgets.help import HelpPanel

    from .test_keys import help_panel_text, keyed_app, palette

    app = keyed_app(library_dir, '"compare.judge" = "f10"')
    app.config.ollama.host = ollama.host
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CompareScreen(sign_run.plan, run=sign_run, config=app.config))
        screen = await screen_is(pilot, CompareScreen)
        assert palette(app, screen)["Judge results"].endswith("(F10)")
        assert "Judge details" in palette(app, screen)
        await pilot.press("f1")
        await wait_until(pilot, lambda: app.screen.query(HelpPanel)
                         and "F10" in help_panel_text(app))
        assert "Score each cell against its prompt" in help_panel_text(app)
        await pilot.press("f1")  # F1 again closes it
        await pilot.press("j")                       # remapped: j does nothing now
        await pilot.press("f10")
        await wait_until(pilot, lambda: screen.judgement is not None)
        assert len(ollama.vision_chats) == 4       # B = A: its answers from the cache


async def test_a_damaged_judge_file_is_reported_not_shown(make_app, sign_run):
    (sign_run.folder / "judge.json").write_text('{"cells": {"v0-s11": {"adherence": "x", '
                                                '"images": 5}}, "variants": 3',
                                                encoding="utf-8")
    app, open_compare = compare_app(make_app, sign_run)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compare(pilot)
        await wait_until(pilot, lambda: any(n.title == "Judge results not shown"
                                            for n in app._notifications))
        assert app.screen.judgement is None
        assert title(app.screen.cells["v0-s11"]) == ""
        (sign_run.folder / "judge.json").write_text(
            '{"cells": {"v0-s11": {"adherence": "x", "images": 5, "same_as_a": true}}, '
            '"variants": 3}', encoding="utf-8")
    app, open_compare = compare_app(make_app, sign_run)
    async with app.run_test(size=(120, 40)) as pilot:     # valid JSON, odd values
        await open_compare(pilot)
        await wait_until(pilot, lambda: app.screen.judgement is not None)
        assert title(app.screen.cells["v0-s11"]) == "- =A"
        await pilot.press("d", "b")
        assert "adherence -" in str(app.screen.query_one("#judge-panel").render())


async def test_history_lists_the_judged_scores(make_app, sign_run, ollama):
    from workbench.judge import judge_run
    from workbench.tui.screens.history import HistoryScreen

    await judge_run(sign_run.folder, make_app(ollama_host=ollama.host).config)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(HistoryScreen(sign_run.folder.parent))
        history = await screen_is(pilot, HistoryScreen)
        listed = str(history.query_one("#history-list").get_option_at_index(0).prompt)
        assert "judged A " in listed and "% · B " in listed


async def test_missing_model_says_how_to_get_it(make_app, sign_run, ollama):
    app, open_compare = compare_app(make_app, sign_run, ollama.host)
    app.config.ollama.vision_model = "qwen2.5vl:7b"
    async with app.run_test(size=(120, 40)) as pilot:
        await open_compare(pilot)
        screen = app.screen
        await run_command(pilot, "Judge results")       # from the palette too
        await wait_until(pilot, lambda: screen.judgement is not None)
        messages = [n.message for n in app._notifications]
        assert any("run `ollama pull qwen2.5vl:7b`" in m for m in messages)
        # the pixel checks still ran: "same as A" needs no model
        assert "=A" in title(screen.cells["v1-s11"]) and "-" in title(screen.cells["v0-s11"])
        assert not ollama.vision_chats


async def test_a_running_comparison_is_judged_after_its_image_jobs(make_app, ollama):
    """Ollama and ComfyUI on one host share a GPU: ``j`` while the plan runs waits for
    the image jobs, then judges every cell."""
    from tests.fakes.comfy_server import FakeComfy

    server = FakeComfy(default_steps=4, step_delay=0.2)   # ~0.8 s per cell
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url, ollama_host=ollama.host)
        async with app.run_test(size=(120, 40)) as pilot:
            editor = app.editor_screen
            plan = make_plan([editor.spec], seeds=[1, 2], name="judged while running")
            editor.compare(plan, editor.library, editor.spec.name)
            screen = await screen_is(pilot, CompareScreen)
            await wait_until(pilot, lambda: screen.run is not None)
            await pilot.press("j")
            assert screen.live is not None and not screen.live.interleave
            await wait_until(pilot, lambda: any(u.state == "done" for u in
                                                screen.runner.updates.values()))
            assert screen.running and not ollama.vision_chats   # waits for the jobs
            await wait_until(pilot, lambda: not screen.running)
            await wait_until(pilot, lambda: screen.judgement is not None)
            assert set(screen.judgement["cells"]) == {"v0-s1", "v0-s2"}
            assert (screen.run.folder / "judge.json").is_file()
            assert all(title(v) for v in screen.cells.values())
            assert len(ollama.vision_chats) == 2
    finally:
        await server.stop()


async def test_a_running_comparison_is_judged_as_cells_finish_on_its_own_gpu(make_app,
                                                                              ollama):
    """With ``unload_before_jobs = false`` (Ollama has a GPU of its own) a done cell gets
    its badge while the plan's other image jobs still run."""
    from tests.fakes.comfy_server import FakeComfy

    server = FakeComfy(default_steps=4, step_delay=0.3)   # ~1.2 s per cell
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url, ollama_host=ollama.host)
        app.config.ollama.unload_before_jobs = False
        async with app.run_test(size=(120, 40)) as pilot:
            editor = app.editor_screen
            plan = make_plan([editor.spec], seeds=[1, 2], name="judged as it goes")
            editor.compare(plan, editor.library, editor.spec.name)
            screen = await screen_is(pilot, CompareScreen)
            await wait_until(pilot, lambda: screen.run is not None)
            await pilot.press("j")
            assert screen.live.interleave
            await wait_until(pilot, lambda: any(title(v) for v in screen.cells.values()))
            assert screen.running and len(ollama.vision_chats) == 1   # jobs still going
            await wait_until(pilot, lambda: screen.judgement is not None)
            assert set(screen.judgement["cells"]) == {"v0-s1", "v0-s2"}
            assert len(ollama.vision_chats) == 2
    finally:
        await server.stop()


def test_compare_snapshot_with_judge_badges(snap_compare, make_app, sign_run):
    """The grid with each cell's badge, the summary per variant and the checklist panel
    (judged beforehand on a fake whose answers come from a fixed table)."""
    import asyncio

    from workbench.judge import judge_run

    async def judged():
        async with FakeOllama() as fake:
            fake.vision_table[colour_key(RED)] = {
                "items": {"subject": "present", "style": "present",
                          "text": {"status": "absent", "reason": "no sign is visible"}},
                "text_seen": ""}
            fake.vision_table[colour_key(GREEN)] = {
                "items": {"subject": {"status": "partly", "reason": "the shop is grey"},
                          "style": "present", "text": "present"},
                "text_seen": "OPN"}
            await judge_run(sign_run.folder, make_app(ollama_host=fake.host).config)

    asyncio.run(judged())
    run = load_run(sign_run.folder)
    app, open_compare = compare_app(make_app, run)

    async def open_with_details(pilot):
        await open_compare(pilot)
        await wait_until(pilot, lambda: app.screen.judgement is not None)
        await pilot.press("right", "down", "d")
        await workers_done(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=open_with_details)
