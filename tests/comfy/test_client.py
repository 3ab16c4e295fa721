"""The real client against the fake over 127.0.0.1: runs, progress, drops, restarts, cancels."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from tests.comfy.conftest import recorded, small_t2i
from tests.fakes.comfy_server import FakeComfy
from workbench.comfy.client import ComfyClient, ServerRejected, Unreachable
from workbench.comfy.events import (
    Disconnected,
    Executing,
    ExecutionCached,
    ExecutionStart,
    ExecutionSuccess,
    Lost,
    Preview,
    Progress,
    Reconnected,
)


async def test_job_events_progress_and_outputs(fake, client):
    fake.default_steps = 4
    fake.preview_method = "latent2rgb"   # a server started with --preview-method
    job = await client.submit(small_t2i())
    seen = [event async for event in job.events()]
    result = await job.wait(5)
    assert result.status == "success"
    kinds = [type(e) for e in seen]
    assert kinds.index(ExecutionStart) < kinds.index(ExecutionSuccess)
    assert isinstance(seen[-1], Executing) and seen[-1].node is None
    steps = [(e.value, e.max) for e in seen if isinstance(e, Progress)]
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    previews = [e for e in seen if isinstance(e, Preview)]
    assert len(previews) == 4 and all(p.node == "8" for p in previews)
    assert client.supports_preview_metadata
    assert [i.filename for i in result.images] == ["flux_dev_00001_.png"]
    assert result.timings()["running_s"] is not None
    data = await client.download(result.images[0])
    assert Image.open(io.BytesIO(data)).size == (32, 32)


async def test_sampled_comes_after_the_last_step_before_the_decode_ends(fake, client):
    fake.default_steps, fake.vae_delay = 3, 0.4
    steps = []
    job = await client.submit(small_t2i(seed=11), on_event=lambda j, e: steps.append(
        (e.value, e.max)) if isinstance(e, Progress) else None)
    await asyncio.wait_for(job.sampled(), 5)
    sampled_at = asyncio.get_running_loop().time()
    assert steps[-1] == (3, 3) and not job.done   # still decoding and saving
    assert (await job.wait(5)).status == "success"
    assert asyncio.get_running_loop().time() - sampled_at >= 0.3   # the decode's time
    # a sampler served from the cache never steps: sampled() waits for the end
    job = await client.submit(small_t2i(seed=11))
    await asyncio.wait_for(job.sampled(), 5)
    assert job.done and job.step == 0


async def test_same_prompt_and_seed_same_image_different_prompt_different(fake, client):
    async def pixels(workflow):
        result = await (await client.submit(workflow)).wait(5)
        data = await client.download(result.images[0])
        return Image.open(io.BytesIO(data)).tobytes()

    first = await pixels(small_t2i(seed=5, text="a fox"))
    fake.output_cache.clear()  # force a real re-run rather than the cached output
    assert await pixels(small_t2i(seed=5, text="a fox")) == first
    assert await pixels(small_t2i(seed=5, text="a cat")) != first
    assert await pixels(small_t2i(seed=6, text="a fox")) != first


async def test_repeated_work_is_reported_cached(fake, client):
    await (await client.submit(small_t2i(seed=1))).wait(5)
    job = await client.submit(small_t2i(seed=2))
    events = [e async for e in job.events()]
    cached = next(e for e in events if isinstance(e, ExecutionCached))
    assert set(cached.nodes) == {"1", "2", "3", "4", "5", "6", "7"}
    assert (await job.wait()).cached_nodes == cached.nodes


async def test_dropped_socket_mid_run_still_collects_every_result(fake, client):
    fake.step_delay = 0.02
    fake.drop_ws_after_steps = 5
    jobs = [await client.submit(small_t2i(seed=s)) for s in range(3)]
    results = [await job.wait(10) for job in jobs]
    assert [r.status for r in results] == ["success"] * 3
    assert all(len(r.images) == 1 for r in results)
    assert len({r.images[0].filename for r in results}) == 3
    assert client.reconnects >= 1
    assert any(r.from_history for r in results)


async def test_reconnect_event_reaches_the_job(fake, client):
    fake.step_delay = 0.05
    job = await client.submit(small_t2i())
    seen = []

    async def watch():
        async for event in job.events():
            seen.append(event)
            if isinstance(event, Progress) and event.value == 1:
                await fake.drop_websockets()

    await asyncio.wait_for(watch(), 10)
    kinds = [type(e) for e in seen]
    assert Disconnected in kinds and Reconnected in kinds
    assert kinds.index(Disconnected) < kinds.index(Reconnected)
    assert (await job.wait()).status == "success"


async def test_restarted_server_that_forgot_the_queue_fails_the_jobs_clearly(fake, client):
    fake.step_delay = 0.05
    long = small_t2i(seed=1)
    long["8"]["inputs"]["steps"] = 100  # still sampling when the interrupt lands, on any load
    running = await client.submit(long)
    waiting = await client.submit(small_t2i(seed=2))
    await asyncio.sleep(0.1)
    await fake.restart(forget=True)
    results = [await running.wait(10), await waiting.wait(10)]
    assert [r.status for r in results] == ["lost", "lost"]
    assert "restarted" in results[0].message and running.prompt_id in results[0].message
    # the client keeps working with the new server
    again = await (await client.submit(small_t2i(seed=3))).wait(10)
    assert again.status == "success"


async def test_stalled_server_keeps_the_job_waiting_until_it_resumes(fake, client):
    client.quiet_after = 0.1
    fake.stall()
    job = await client.submit(small_t2i())
    await asyncio.sleep(0.5)
    assert not job.done  # still in the queue: not lost, not failed
    fake.resume()
    assert (await job.wait(5)).status == "success"


async def test_cancel_waiting_job_deletes_it_and_running_job_is_interrupted(fake, client):
    fake.step_delay = 0.05
    long = small_t2i(seed=1)
    long["8"]["inputs"]["steps"] = 100  # still sampling when the interrupt lands, on any load
    running = await client.submit(long)
    waiting = await client.submit(small_t2i(seed=2))
    assert await client.queue_length() == 2
    await waiting.cancel()
    assert (await waiting.wait(2)).status == "cancelled"
    assert waiting.prompt_id not in await client.queue()
    while running.step < 1:
        await asyncio.sleep(0.01)
    await running.cancel()
    result = await running.wait(5)
    assert result.status == "interrupted"
    assert result.interrupted is not None and result.interrupted.node_id == "8"
    assert await client.queue_length() == 0


async def test_rejected_workflow_raises_with_the_server_answer(fake, client):
    body = recorded("error_value_not_in_list.json")["request"]["json"]["prompt"]
    with pytest.raises(ServerRejected) as caught:
        await client.submit(body)
    assert caught.value.status == 400
    assert "1" in caught.value.node_errors
    assert client.jobs == []


async def test_execution_error_is_reported(fake, client):
    fake.broken_models = {"ae.safetensors"}
    result = await (await client.submit(small_t2i())).wait(5)
    assert result.status == "error"
    assert result.error.node_id == "3" and result.error.node_type == "VAELoader"
    assert "header too large" in result.error.exception_message


async def test_path_prefix_and_auth_header_are_used():
    server = FakeComfy()
    await server.start()
    try:
        async with ComfyClient(server.url + "/api/", auth_header="X-Token: s3cret") as comfy:
            assert comfy.ws_url.startswith(f"ws://127.0.0.1:{server.port}/api/ws?clientId=")
            result = await (await comfy.submit(small_t2i())).wait(5)
            assert result.status == "success"
            assert len(await comfy.download(result.images[0])) > 0
        paths = {h["path"] for h in server.request_headers}
        assert {"/api/prompt", "/api/ws", "/api/view"} <= paths
        assert all(h.get("X-Token") == "s3cret" for h in server.request_headers)
    finally:
        await server.stop()


async def test_unreachable_server_names_the_url_and_the_fix():
    comfy = ComfyClient("http://127.0.0.1:9")
    with pytest.raises(Unreachable) as caught:
        await comfy.connect()
    await comfy.close()
    text = str(caught.value)
    assert "http://127.0.0.1:9" in text and "COMFYUI_URL" in text and "--comfyui-url" in text


async def test_attach_follows_a_prompt_submitted_by_an_earlier_client(fake):
    fake.step_delay = 0.02
    fake.default_steps = 6
    async with ComfyClient(fake.url) as first:
        job = await first.submit(small_t2i())
        fake.stall()  # the first session ends mid-run
        client_id, prompt_id = first.client_id, job.prompt_id
    async with ComfyClient(fake.url, client_id=client_id) as second:
        attached = second.attach(prompt_id, small_t2i())
        fake.resume()
        steps = [e async for e in attached.events() if isinstance(e, Progress)]
        result = await attached.wait(5)
    assert result.status == "success" and len(result.images) == 1
    assert steps, "live progress should reach a client re-using the id"


async def test_lost_event_for_unknown_prompt(fake, client):
    job = client.attach("no-such-prompt")
    events = []
    async for event in job.events():
        events.append(event)
    assert isinstance(events[-1], Lost)
    assert (await job.wait()).status == "lost"


async def test_closing_the_client_releases_waiters(fake):
    fake.stall()
    comfy = ComfyClient(fake.url)
    await comfy.connect()
    job = await comfy.submit(small_t2i())
    await comfy.close()
    result = await job.wait(2)
    assert result.status == "detached" and "may still run" in result.message


async def test_connecting_reads_how_busy_the_server_is(fake, client):
    """The pool ranks servers by it (least busy first) without asking a second time."""
    fake.stall()
    for seed in (1, 2, 3):
        await client.submit(small_t2i(seed=seed))
    other = ComfyClient(fake.url)
    try:
        await other.connect()
        assert other.queue_remaining == 3 == await other.queue_length()
    finally:
        fake.resume()
        await other.close()


async def test_identical_node_schemas_are_parsed_once_and_a_changed_answer_again(fake,
                                                                                client):
    second = FakeComfy()
    await second.start()
    other = ComfyClient(second.url)
    try:
        first_info = await client.object_info()
        # the same bytes from another server: the parsed schemas are shared, not re-read
        assert await other.object_info() is first_info
        second.add_input_image("fox.png", b"\x89PNG")   # its LoadImage list changes
        changed = await other.object_info(refresh=True)
        assert changed is not first_info
        assert "fox.png" in changed["LoadImage"]["input"]["required"]["image"][0]
        assert "fox.png" not in first_info["LoadImage"]["input"]["required"]["image"][0]
    finally:
        await other.close()
        await second.stop()
