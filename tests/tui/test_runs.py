"""Running a prompt from the editor against the fake ComfyUI on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from tests.fakes.comfy_server import FakeComfy
from workbench.tui.widgets.jobs import JobRow, JobsPanel

from .helpers import screen_is, wait_until


@pytest.fixture
async def comfy():
    server = FakeComfy(step_delay=0.1, default_steps=6)
    url = await server.start()
    try:
        yield server, url
    finally:
        await server.stop()


async def test_f5_runs_the_prompt_to_files_with_progress(make_app, comfy, isolated_home):
    server, url = comfy
    app = make_app(comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        panel = app.query_one(JobsPanel)
        assert panel.display
        row = panel.rows[0]
        # every state the row is given (a loaded machine may handle several progress
        # events between two polls of what is on screen)
        seen: list[str] = []
        show = row.state
        row.state = lambda text, fraction=None: seen.append(text) or show(text, fraction)
        await wait_until(pilot, lambda: row.finished)
        state = str(row.query_one(".job-state").render())
        assert state.startswith("done: 1 image(s) 1024x1024 in"), state
        # the row reads the node's title and the sampling steps, as the CLI does
        assert any(s.startswith("sampling step ") for s in seen), seen
        assert not any("node " in s for s in seen), seen
        submitted = server.submitted[-1]["prompt"]
        texts = [n["inputs"]["text"] for n in submitted.values()
                 if n["class_type"] == "CLIPTextEncode" and n["inputs"].get("text")]
        assert app.editor_screen.composed.text in texts
        seeds = [n["inputs"]["seed"] for n in submitted.values() if "seed" in n["inputs"]]
        assert seeds == [1234]  # the prompt's own seed
        folder = Path(state.split(" in ", 1)[1])
        assert list(folder.glob("cells/*.png")) and json.loads(
            (folder / "manifest.json").read_text())["kind"] == "single"
        from workbench.runs.history import list_runs

        assert [r.folder for r in list_runs()] == [folder]  # the run history lists it
        panel.focus()
        await pilot.press("v")
        from workbench.tui.screens.image import ImageScreen

        viewer = await screen_is(pilot, ImageScreen)
        assert viewer.path == row.images[0]
        image = viewer.query_one("#single-image")
        await wait_until(pilot, lambda: "▄" in "".join(s.text for s in image.render_line(5)))


async def test_unreachable_server_says_how_to_fix(make_app):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(comfyui_urls=f"http://127.0.0.1:{port}")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        row = app.query_one(JobsPanel).rows[0]
        await wait_until(pilot, lambda: row.finished)
        state = str(row.query_one(".job-state").render())
        assert state.startswith("failed:") and f"127.0.0.1:{port}" in state
        assert "COMFYUI_URL" in state
        assert app.is_running  # the editor carries on


async def test_cancel_interrupts_the_running_job(make_app, isolated_home):
    server = FakeComfy(step_delay=0.2, default_steps=40)
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f5")
            panel = app.query_one(JobsPanel)
            row: JobRow = panel.rows[0]
            await wait_until(pilot, lambda: "step" in str(row.query_one(".job-state").render()))
            panel.focus()
            await pilot.press("c")
            await wait_until(pilot, lambda: row.finished)
            state = str(row.query_one(".job-state").render())
            # asked for: it reads cancelled, not failed, and no error toast says otherwise
            assert state == "cancelled" and not row.has_class("-failed")
            assert not [n for n in app._notifications if n.severity == "error"]
            assert server.queue_remaining == 0
    finally:
        await server.stop()


async def test_a_silent_node_shows_its_title_and_a_running_timer(make_app, isolated_home):
    server = FakeComfy(encode_delay=2.5, default_steps=3)
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f5")
            row: JobRow = app.query_one(JobsPanel).rows[0]

            def state() -> str:
                return str(row.query_one(".job-state").render())

            # the server sends nothing while it encodes: the ticker keeps the timer going
            # (past 0 s; which whole second a loaded machine draws first is not the point)
            ticking = re.compile(r"encoding text… [12] s · “Positive Prompt”")
            await wait_until(pilot, lambda: ticking.fullmatch(state()))
            await wait_until(pilot, lambda: row.finished)
            assert state().startswith("done: 1 image(s)")
    finally:
        await server.stop()


async def test_prompts_an_earlier_session_left_show_their_progress(make_app, isolated_home,
                                                                  tmp_path):
    from tests.comfy.conftest import small_t2i
    from workbench.comfy.client import ComfyClient
    from workbench.runs.journal import Journal, JournalEntry

    server = FakeComfy(step_delay=0.05, encode_delay=0.005)
    url = await server.start()
    try:
        workflow = small_t2i(seed=9)
        workflow["8"]["inputs"]["steps"] = 12
        server.stall()     # it waits on the server until the new session follows it
        async with ComfyClient(url, client_id="old-session") as old:
            job = await old.submit(workflow)
            Journal().submitting(JournalEntry(job.prompt_id, url, "old-session",
                                              str(tmp_path / "old-run"), workflow, 9,
                                              {"spec": {"name": "Old fox"}}))
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f5")
            panel = app.query_one(JobsPanel)
            await wait_until(pilot, lambda: any(r.title == "earlier: Old fox"
                                                for r in panel.rows))
            earlier = next(r for r in panel.rows if r.title == "earlier: Old fox")
            await wait_until(pilot, lambda: earlier.query(".job-state"))   # composed
            seen: list[str] = []  # every state the row is given (see the F5 test)
            show = earlier.state
            earlier.state = lambda text, fraction=None: seen.append(text) or show(text,
                                                                                  fraction)
            server.resume()
            await wait_until(pilot, lambda: earlier.finished)
            assert any(s.startswith("sampling step ") for s in seen), seen
            assert str(earlier.query_one(".job-state").render()).startswith(
                "done: 1 image(s)")
            await wait_until(pilot, lambda: all(r.finished for r in panel.rows))
        assert Journal().unfinished() == []
    finally:
        await server.stop()


async def test_queue_view_lists_and_removes_waiting_prompts(make_app, isolated_home):
    from workbench.tui.screens.queue import QueueScreen

    # the running job samples for a minute: the interrupt lands while it runs on any load
    server = FakeComfy(step_delay=0.2, default_steps=300)
    url = await server.start()
    try:
        app = make_app(comfyui_urls=url)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f5", "down", "f5")  # two jobs: one runs, one waits
            panel = app.query_one(JobsPanel)
            await wait_until(pilot, lambda: len(panel.rows) == 2 and all(
                r.job is not None for r in panel.rows))
            app.editor_screen.action_queue()
            screen = await screen_is(pilot, QueueScreen)
            await wait_until(pilot, lambda: len(screen.entries) == 2)
            listing = screen.query_one("#queue-list")
            assert "running" in str(listing.get_option_at_index(0).prompt)
            assert "Lisbon poster" in str(listing.get_option_at_index(1).prompt)
            listing.highlighted = 1
            await pilot.press("d")
            await wait_until(pilot, lambda: len(screen.entries) == 1)
            await pilot.press("i")
            await wait_until(pilot, lambda: all(r.finished for r in panel.rows))
            states = [str(r.query_one(".job-state").render()) for r in panel.rows]
            assert all(s.startswith("cancelled") for s in states), states
    finally:
        await server.stop()


async def test_add_lora_from_the_servers_list(make_app, comfy, library_dir):
    from workbench.library import load_library
    from workbench.tui.screens.pick import PickScreen

    server, url = comfy
    app = make_app(comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        app.editor_screen.action_add_lora()
        screen = await screen_is(pilot, PickScreen)
        await wait_until(pilot, lambda: screen.items)
        assert "ep-sketch-flux.safetensors" in screen.items
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.editor_screen.spec.params.loras)
        assert [l.name for l in app.editor_screen.spec.params.loras] == [screen.items[0]]
        app.flush_saves()
        assert load_library(library_dir / "studio.toml").get(
            "Amber perfume bottle").params.loras[0].name == screen.items[0]
    saved = load_library(library_dir / "studio.toml").get("Amber perfume bottle")
    assert saved.params.loras[0].name == screen.items[0]


async def test_run_history_lists_single_runs_and_opens_them(make_app, comfy, isolated_home):
    """F5's run is in Ctrl+P's run history like any comparison, and opens as a grid."""
    from workbench.tui.screens.compare import CompareScreen
    from workbench.tui.screens.history import HistoryScreen

    server, url = comfy
    app = make_app(comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        row = app.query_one(JobsPanel).rows[0]
        await wait_until(pilot, lambda: row.finished)
        app.editor_screen.action_history()
        history = await screen_is(pilot, HistoryScreen)
        [listed] = history.runs
        assert listed.kind == "single" and listed.done == 1
        assert listed.name == app.editor_screen.spec.name
        assert "1/1 cells" in str(history.query_one("#history-list").get_option_at_index(0)
                                  .prompt)
        await pilot.press("enter")
        await screen_is(pilot, CompareScreen)
        assert app.screen.plan.size == 1
        assert app.screen.run.folder == listed.folder


async def test_one_session_client_for_runs_queue_and_loras(make_app, comfy, isolated_home):
    """The run panel, the queue view and the LoRA picker share the app's one ComfyUI
    session: one WebSocket on the server, connected on first use (not at start-up)."""
    from workbench.tui.screens.pick import PickScreen
    from workbench.tui.screens.queue import QueueScreen

    server, url = comfy
    app = make_app(comfyui_urls=url)
    async with app.run_test(size=(120, 40)) as pilot:
        assert server.flags == {}  # nothing before the first use
        app.editor_screen.action_add_lora()
        picker = await screen_is(pilot, PickScreen)
        await wait_until(pilot, lambda: picker.items)
        await pilot.press("escape")
        await pilot.press("f5")
        row = app.query_one(JobsPanel).rows[0]
        await wait_until(pilot, lambda: row.finished)
        app.editor_screen.action_queue()
        queue = await screen_is(pilot, QueueScreen)
        await wait_until(pilot, lambda: "running" in str(queue.query_one("#queue-note")
                                                         .render()))
        assert len(server.flags) == 1
        [job] = server.submitted
        assert job["client_id"] in server.flags
