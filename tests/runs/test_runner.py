"""The plan runner against the fake ComfyUI on real 127.0.0.1 ports: every cell once, the
same seed and text give the same bytes, a pool shares the work and survives losing a
server, cancel empties the queue, and the cache-friendly order saves model loads."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.comfy_server import FakeComfy
from workbench.comfy.client import ComfyClient
from workbench.config import ComfyUISettings, Config
from workbench.images.pngmeta import read_png_metadata
from workbench.runs import history
from workbench.runs.journal import Journal
from workbench.runs.plan import make_axis, make_plan
from workbench.runs.pool import Health
from workbench.runs.runner import CONTACT_SHEET, CellUpdate, NoServer, PlanRunner, RunnerOptions
from workbench.runs.single import RunService
from workbench.runs.uploads import UploadCache
from workbench.spec import Lora, Params, PromptSpec


def small(name: str, subject: str, **params) -> PromptSpec:
    values = dict(steps=3, width=32, height=32)
    values.update(params)
    return PromptSpec(name, subject=subject, params=Params(**values))


FOX = small("fox", "a red fox")
FOX_B = small("fox b", "a red fox in the snow")


@pytest.fixture
async def fakes():
    made: list[FakeComfy] = []

    async def start(**knobs) -> FakeComfy:
        server = FakeComfy(**knobs)
        await server.start()
        made.append(server)
        return server

    yield start
    for server in made:
        await server.stop()


def quick_client(url: str) -> ComfyClient:
    return ComfyClient(url, poll_interval=0.2, backoff=(0.05, 0.3))


def runner(plan, urls, tmp_path, *, on_update=None, journal=None, upload_cache=None,
           server_grace=None, health_interval=None, **options) -> PlanRunner:
    config = Config(comfyui=ComfyUISettings(urls=list(urls)))
    service = RunService(config, journal=journal or Journal(tmp_path / "journal.jsonl"),
                         uploads=upload_cache or UploadCache(tmp_path / "uploads.json"))
    health = Health()
    if server_grace is not None:
        health.grace = server_grace
    if health_interval is not None:
        health.interval = health_interval
    options.setdefault("client_factory", quick_client)
    return PlanRunner(plan, config, RunnerOptions(root=tmp_path / "runs", health=health,
                                                  **options),
                      service=service, on_update=on_update)


def manifest(run) -> dict:
    return json.loads(run.manifest_path.read_text())


async def test_same_seed_same_prompt_same_bytes_changed_prompt_differs(fakes, tmp_path):
    fake = await fakes(step_delay=0.005, preview_method="latent2rgb")
    plan = make_plan([FOX, FOX.copy(name="fox again"), FOX_B], seeds=[7, 8])
    updates: list[CellUpdate] = []
    run = await runner(plan, [fake.url], tmp_path, on_update=updates.append).run()
    data = {c.id: (run.folder / run.results[c.id].images[0]).read_bytes()
            for c in plan.cells()}
    pixels = {cid: Image.open(run.folder / run.results[cid].images[0]).tobytes()
              for cid in data}
    assert pixels["v0-s7"] == pixels["v1-s7"]          # same text + seed: same image
    assert pixels["v0-s7"] != pixels["v2-s7"]          # changed prompt: another image
    assert pixels["v0-s7"] != pixels["v0-s8"]          # changed seed: another image
    # the spec travelled in extra_pnginfo and SaveImage embedded it with the workflow
    meta = read_png_metadata(data["v2-s8"])
    assert meta.workbench["subject"] == "a red fox in the snow"
    assert meta.workbench["_cell"] == "v2-s8" and meta.prompt is not None
    assert {u.state for u in updates} >= {"queued", "running", "done"}
    progress = [u for u in updates if u.cell_id == "v0-s7" and u.steps]
    assert progress and progress[-1].steps == 3 and progress[-1].step == 3
    assert any(u.preview for u in updates)             # live previews passed on
    done = [u for u in updates if u.state == "done" and u.cell_id == "v0-s7"]
    assert done[-1].images[0].is_absolute() and done[-1].images[0].exists()


async def test_2x3x2_plan_fills_every_cell_once(fakes, tmp_path):
    fake = await fakes()
    plan = make_plan([FOX, FOX_B], seeds=[1, 2, 3], axes=[make_axis("guidance", [2.5, 3.5])])
    pool = runner(plan, [fake.url], tmp_path)
    run = await pool.run()
    assert pool.history_run is run and run.status == "finished"
    data = manifest(run)
    assert data["status"] == "finished"
    assert set(data["cells"]) == {c.id for c in plan.cells()} and len(data["cells"]) == 12
    assert all(c["status"] == "done" for c in data["cells"].values())
    assert len(fake.submitted) == 12
    submitted_cells = [s["extra_data"]["extra_pnginfo"]["workbench"]["_cell"]
                       for s in fake.submitted]
    assert sorted(submitted_cells) == sorted(c.id for c in plan.cells())
    cell = data["cells"]["v1-s2-guidance=3.5"]
    assert cell["seed"] == 2 and cell["params"]["guidance"] == 3.5
    assert cell["server"] == fake.url and cell["comfyui_version"] == "0.3.64"
    assert cell["batch_size"] == 1 and cell["prompt_id"]
    assert cell["timings"]["finished_at"] >= cell["timings"]["submitted_at"]
    workflow = json.loads((run.folder / cell["workflow"]).read_text())
    submitted = next(s for s in fake.submitted if s["prompt_id"] == cell["prompt_id"])
    assert workflow == submitted["prompt"]              # the exact workflow sent
    sheet = Image.open(run.folder / CONTACT_SHEET)
    assert pool.sheet_path == run.folder / CONTACT_SHEET and sheet.width > 256
    # filled in as cells arrived: exactly the sheet drawn from the recorded files
    from workbench.images.contact_sheet import plan_sheet

    from_files, _, _ = plan_sheet(plan, history.first_images(run))
    assert sheet.convert("RGB").tobytes() == from_files.tobytes()
    # nothing left open in the journal
    assert Journal(tmp_path / "journal.jsonl").unfinished() == []


async def test_window_of_one_sends_the_next_prompt_while_the_last_one_decodes(fakes,
                                                                               tmp_path):
    fake = await fakes(vae_delay=0.3, default_steps=2)
    most = 0

    async def watch():
        nonlocal most
        while True:
            most = max(most, fake.queue_remaining)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        run = await runner(make_plan([FOX], seeds=[1, 2, 3]), [fake.url], tmp_path,
                           window=1).run()
    finally:
        watcher.cancel()
    assert {r.status for r in run.results.values()} == {"done"}
    assert most == 2   # one decoding, the next already queued: never more


async def test_winner_and_rerun_reproduce_the_images(fakes, tmp_path):
    from workbench.library import load_library
    from workbench.runs.saved_plans import load_plans, set_winner

    fake = await fakes()
    library_file = tmp_path / "lib.toml"
    library_file.write_text('format = 1\n\n[[prompts]]\nname = "fox"\nsubject = "a red fox"\n')
    plan = make_plan([FOX, FOX_B], seeds=[5, 6])
    pool = runner(plan, [fake.url], tmp_path)
    first = await pool.run()
    set_winner(first.plan, "v1-s6", note="snowier", run=first,
               library=load_library(library_file))
    [saved], _ = load_plans(load_library(library_file), "fox")
    assert saved.is_winner("v1-s6") and saved.seeds == [5, 6]
    loaded = history.load_run(first.folder)
    assert loaded.plan.is_winner("v1-s6") and loaded.plan.winners[0].note == "snowier"
    fake.output_cache.clear()
    second = await runner(loaded.plan, [fake.url], tmp_path).run()
    assert second.folder != first.folder
    for cell in plan.cells():
        a = Image.open(first.image_paths(cell.id)[0]).tobytes()
        b = Image.open(second.image_paths(cell.id)[0]).tobytes()
        assert a == b, cell.id
    assert manifest(second)["plan"]["winners"][0]["cell"] == "v1-s6"


async def test_two_servers_share_the_work(fakes, tmp_path):
    one = await fakes(step_delay=0.01)
    two = await fakes(step_delay=0.01)
    plan = make_plan([FOX, FOX_B], seeds=[1, 2, 3, 4])
    run = await runner(plan, [one.url, two.url], tmp_path).run()
    assert len(one.submitted) > 0 and len(two.submitted) > 0
    assert len(one.submitted) + len(two.submitted) == 8
    servers = {r.server for r in run.results.values()}
    assert servers == {one.url, two.url}
    assert all(r.status == "done" for r in run.results.values())


async def test_server_going_away_mid_plan_loses_no_cell(fakes, tmp_path):
    one = await fakes(step_delay=0.02)
    two = await fakes(step_delay=0.02)
    plan = make_plan([FOX, FOX_B], seeds=[1, 2, 3, 4, 5, 6])
    pool = runner(plan, [one.url, two.url], tmp_path, server_grace=0.3,
                  health_interval=0.05)
    task = asyncio.create_task(pool.run())
    while len(two.submitted) < 2:
        await asyncio.sleep(0.01)
    await two.stop()
    run = await asyncio.wait_for(task, 30)
    data = manifest(run)
    assert len(data["cells"]) == 12
    assert all(c["status"] == "done" for c in data["cells"].values()), data["cells"]
    assert all(Path(run.folder / c["images"][0]).exists() for c in data["cells"].values())
    # every cell done exactly once; the ones that ran on the dropped server were moved
    prompt_ids = {c["prompt_id"] for c in data["cells"].values()}
    assert len(prompt_ids) == 12
    assert any(c["server"] == one.url for c in data["cells"].values())
    assert sum(s["extra_data"]["extra_pnginfo"]["workbench"]["_cell"] in data["cells"]
               for s in one.submitted) >= 12 - len(two.submitted)


async def test_cancel_ends_cells_cancelled_and_empties_the_queue(fakes, tmp_path):
    fake = await fakes(step_delay=0.05)
    plan = make_plan([FOX, FOX_B], seeds=[1, 2, 3])
    updates: list[CellUpdate] = []
    pool = runner(plan, [fake.url], tmp_path, on_update=updates.append)
    task = asyncio.create_task(pool.run())
    while not any(u.state == "running" for u in updates):
        await asyncio.sleep(0.01)
    await pool.cancel()
    run = await asyncio.wait_for(task, 10)
    assert run.status == "cancelled"
    states = {cid: u.state for cid, u in pool.updates.items()}
    assert set(states.values()) <= {"cancelled", "done"} and "cancelled" in states.values()
    assert fake.queue_remaining == 0 and fake._running is None
    data = manifest(run)
    assert {c["status"] for c in data["cells"].values()} <= {"cancelled", "done", "pending"}
    assert len(fake.submitted) <= 3          # the window bounded what reached the server


async def test_cache_order_loads_models_fewer_times(fakes, tmp_path):
    lora = [Lora("ep-sketch-flux.safetensors", 0.8)]
    specs = [FOX, small("fox lora", "a red fox", loras=lora), FOX_B]
    plan = make_plan(specs, seeds=[1, 2])
    ours, plain = await fakes(), await fakes()
    first = await runner(plan, [ours.url], tmp_path).run()
    second = await runner(plan, [plain.url], tmp_path, order="plain").run()
    for run in (first, second):
        assert all(r.status == "done" for r in run.results.values()), run.results
    # ours: no-LoRA cells together, then the LoRA ones; plain grid order switches back
    # (the sampler's model changes: the weights are re-patched on the GPU each time)
    assert ours.model_switches == 2
    assert plain.model_switches == 3 > ours.model_switches
    assert ours.model_loads == plain.model_loads == 1   # the loader itself stays cached
    order = [s["extra_data"]["extra_pnginfo"]["workbench"]["_cell"] for s in ours.submitted]
    assert order.index("v2-s2") < order.index("v1-s1")


async def test_no_server_reachable(tmp_path):
    plan = make_plan([FOX], seeds=[1])
    with pytest.raises(NoServer) as caught:
        await runner(plan, ["http://127.0.0.1:9"], tmp_path).run()
    assert "127.0.0.1:9" in str(caught.value)
    assert not (tmp_path / "runs").exists()


async def test_a_server_that_answers_then_fails_to_connect_leaves_no_run_folder(fakes,
                                                                                 tmp_path):
    from tests.fakes import faults

    fake = await fakes()
    fake.faults.set("GET /prompt", faults.status(500, "Internal Server Error"))
    # /system_stats answers (the folder is started), GET /prompt fails: no server
    with pytest.raises(NoServer):
        await runner(make_plan([FOX], seeds=[1]), [fake.url], tmp_path).run()
    assert any(h["path"].endswith("/system_stats") for h in fake.request_headers)
    runs = tmp_path / "runs"
    assert runs.is_dir() and list(runs.iterdir()) == []   # started meanwhile, then unmade


async def test_socket_drops_lose_nothing_and_submit_nothing_twice(fakes, tmp_path):
    fake = await fakes(step_delay=0.01, drop_ws_after_steps=4)
    plan = make_plan([FOX, FOX_B], seeds=[1, 2])
    run = await runner(plan, [fake.url], tmp_path).run()
    assert all(r.status == "done" for r in run.results.values()) and len(run.results) == 4
    assert len(fake.submitted) == 4


async def test_restarted_server_forgets_jobs_which_are_run_again(fakes, tmp_path):
    fake = await fakes(step_delay=0.02)
    plan = make_plan([FOX, FOX_B], seeds=[1, 2, 3])
    pool = runner(plan, [fake.url], tmp_path)
    task = asyncio.create_task(pool.run())
    while len(fake.submitted) < 2:
        await asyncio.sleep(0.01)
    await fake.restart(forget=True)
    run = await asyncio.wait_for(task, 30)
    assert all(r.status == "done" for r in run.results.values()) and len(run.results) == 6
    assert len(fake.submitted) > 6              # the forgotten ones were sent again
    assert len({r.prompt_id for r in run.results.values()}) == 6


async def test_source_image_uploaded_once_per_server(fakes, tmp_path):
    from workbench.runs.uploads import UploadCache

    fake = await fakes()
    library_dir = tmp_path / "lib"
    library_dir.mkdir()
    Image.new("RGB", (48, 32), (10, 200, 30)).save(library_dir / "src.png")
    a = small("fox i2i", "a red fox", denoise=0.6)
    a.source_image = "src.png"                  # relative to the library's folder
    b = a.copy(name="fox i2i b", subject="a grey fox")
    plan = make_plan([a, b], seeds=[1, 2])
    run = await runner(plan, [fake.url], tmp_path, base_dir=library_dir,
                       upload_cache=UploadCache(tmp_path / "uploads.json")).run()
    assert all(r.status == "done" for r in run.results.values()), run.results
    uploads = [h for h in fake.request_headers if h["path"].endswith("/upload/image")]
    assert len(uploads) == 1
    loads = {n["inputs"]["image"] for s in fake.submitted for n in s["prompt"].values()
             if n["class_type"] == "LoadImage"}
    assert len(loads) == 1


class NoExtraPngInfo(FakeComfy):
    """A server whose SaveImage drops extra_pnginfo (e.g. started with metadata off)."""

    def _render_outputs(self, job, nid):
        job.extra_data.pop("extra_pnginfo", None)
        return super()._render_outputs(job, nid)


async def test_spec_embedded_when_the_server_png_lacks_it(tmp_path):
    async with NoExtraPngInfo() as fake:
        plan = make_plan([FOX], seeds=[4])
        run = await runner(plan, [fake.url], tmp_path).run()
    meta = read_png_metadata(run.image_paths("v0-s4")[0].read_bytes())
    assert meta.prompt is not None                    # ComfyUI's own chunk kept
    assert meta.workbench["subject"] == "a red fox" and meta.workbench["_cell"] == "v0-s4"


async def test_resume_adopts_prompts_a_crashed_session_left(fakes, tmp_path):
    from workbench.runs.journal import JournalEntry

    fake = await fakes()
    plan = make_plan([FOX, FOX_B], seeds=[1, 2])
    journal = Journal(tmp_path / "journal.jsonl")
    crashed = history.create_run(plan, root=tmp_path / "runs")
    fake.stall()
    left: dict[str, str] = {}
    async with quick_client(fake.url) as old:     # the session that "crashed"
        for cell in plan.cells()[:2]:
            built = await RunService(Config()).prepare(old, cell.spec, seed=cell.seed)
            job = await old.submit(built.workflow)
            journal.submitting(JournalEntry(job.prompt_id, old.base_url, old.client_id,
                                            str(crashed.folder), built.workflow,
                                            cell.seed, {"run": str(crashed.folder),
                                                        "cell": cell.id}))
            journal.queued(job.prompt_id, job.number)
            left[cell.id] = job.prompt_id
    fake.resume()
    pool = runner(plan, [fake.url], tmp_path, existing=history.load_run(crashed.folder),
                  journal=journal, adopt_poll=0.05)
    run = await asyncio.wait_for(pool.run(), 20)
    assert run.folder == crashed.folder
    assert all(r.status == "done" for r in run.results.values()) and len(run.results) == 4
    assert len(fake.submitted) == 4                   # the two left behind were not re-sent
    for cid, pid in left.items():
        assert run.results[cid].prompt_id == pid
    assert journal.unfinished() == []


async def test_cancel_before_anything_was_sent(fakes, tmp_path):
    fake = await fakes()
    plan = make_plan([FOX, FOX_B], seeds=[1])
    pool = runner(plan, [fake.url], tmp_path)
    task = asyncio.create_task(pool.run())
    await pool.cancel()
    run = await asyncio.wait_for(task, 10)
    assert run.status == "cancelled" and fake.submitted == []
    assert {u.state for u in pool.updates.values()} == {"cancelled"}
    assert {r.status for r in run.results.values()} == {"cancelled"}
    # no cell done: no contact sheet (a sheet of empty frames says nothing)
    assert pool.sheet_path is None and not (run.folder / CONTACT_SHEET).exists()


async def test_a_dead_server_in_the_pool_is_skipped(fakes, tmp_path):
    fake = await fakes()
    plan = make_plan([FOX, FOX_B], seeds=[1, 2])
    pool = runner(plan, ["http://127.0.0.1:9", fake.url], tmp_path)
    run = await pool.run()
    assert [s.url for s in pool.servers] == [fake.url]
    assert {r.server for r in run.results.values()} == {fake.url}
    assert all(r.status == "done" for r in run.results.values())
