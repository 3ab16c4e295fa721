"""The fake is as strict as the real server: checked against the recordings of a real
ComfyUI 0.3.64 and against ComfyUI's own rules, so it cannot drift kinder again."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import time

import httpx
import pytest
import websockets
from PIL import Image

from tests.comfy.conftest import recorded, small_t2i
from tests.fakes.comfy.graph import Sizer, execution_order
from tests.fakes.comfy.recordings import object_info_full
from tests.fakes.comfy_server import FakeComfy, render_png
from tests.fixtures import glob_at_least

TOOLS = [p.stem.removeprefix("workflow_flux_tools_")
         for p in glob_at_least("workflow_flux_tools_*.json", 7)]


def png(size: tuple[int, int], mode: str = "RGB", color=(120, 90, 60)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else 255).save(out, "PNG")
    return out.getvalue()


class Socket:
    """A raw WebSocket client that records (shape, arrival time) of every frame."""

    def __init__(self, url: str, client_id: str) -> None:
        self.url = url.replace("http", "ws") + f"/ws?clientId={client_id}"
        self.client_id = client_id
        self.frames: list[tuple[tuple, float, object]] = []

    async def __aenter__(self) -> Socket:
        self.ws = await websockets.connect(self.url, max_size=None)
        first = json.loads(await self.ws.recv())
        assert first["type"] == "status" and first["data"]["sid"] == self.client_id
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def flags(self) -> None:
        await self.ws.send(json.dumps({"type": "feature_flags",
                                       "data": {"supports_preview_metadata": True}}))
        await self.receive_one()

    async def receive_one(self) -> tuple:
        frame = await self.ws.recv()
        if isinstance(frame, bytes):
            shape = ("binary", struct.unpack(">I", frame[:4])[0])
            data: object = frame
        else:
            message = json.loads(frame)
            shape, data = text_shape(message["type"], message["data"]), message["data"]
        self.frames.append((shape, time.monotonic(), data))
        return shape

    async def until_done(self, prompt_id: str, timeout: float = 10) -> list[tuple]:
        async def loop():
            while True:
                shape = await self.receive_one()
                if shape == ("executing", None) and self.frames[-1][2]["prompt_id"] == prompt_id:
                    return [f[0] for f in self.frames]
        return await asyncio.wait_for(loop(), timeout)


def text_shape(kind: str, data: dict) -> tuple:
    """What must match the real server: type, node, step, cache list, queue length."""
    if kind in ("executing", "executed"):
        return (kind, data.get("node"))
    if kind == "progress":
        return (kind, data["node"], data["value"], data["max"])
    if kind == "progress_state":
        return (kind, tuple((nid, s["state"], s["value"], s["max"])
                            for nid, s in data["nodes"].items()))
    if kind == "execution_cached":
        return (kind, tuple(data["nodes"]))
    if kind == "status":
        return (kind, data["status"]["exec_info"]["queue_remaining"])
    return (kind,)


def recorded_shapes(name: str) -> list[tuple]:
    shapes = []
    for message in recorded(name)["messages"][1:]:   # [0]: the status sent on connect
        if message["frame"] == "binary":
            shapes.append(("binary", message["event_type"]))
        else:
            shapes.append(text_shape(message["type"], message["data"]))
    return shapes


async def post(url: str, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.post("/prompt", json=body)


async def history(url: str, prompt_id: str, timeout: float = 10) -> dict:
    async with httpx.AsyncClient(base_url=url) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entry = (await http.get(f"/history/{prompt_id}")).json()
            if entry:
                return entry[prompt_id]
            await asyncio.sleep(0.02)
    raise AssertionError(f"{prompt_id} never finished")


async def test_a_real_flux_dev_run_message_for_message_with_and_without_flags():
    """The recorded real runs (loaders cached from an earlier prompt, then only the seed
    changed): same messages in the same order, previews of the same kind and size, and
    silence while the text encoder works."""
    flags_run = recorded("ws_sequence_real_flux_dev_run.json")
    plain_run = recorded("ws_sequence_real_flux_dev_run_noflags.json")
    prompts = [flags_run["history"][flags_run["prompt_id"]]["prompt"][2],
               plain_run["history"][plain_run["prompt_id"]]["prompt"][2]]
    fake = FakeComfy(preview_method="latent2rgb", encode_delay=0.25, step_delay=0.01)
    await fake.start()
    try:
        warm = json.loads(json.dumps(prompts[0]))
        warm["4"]["inputs"]["text"] = "an earlier prompt"
        warm["7"]["inputs"]["width"] = 64
        for prompt, run, flags in ((prompts[0], flags_run, True), (prompts[1], plain_run, False)):
            async with Socket(fake.url, "recorder") as ws:
                if flags:
                    await ws.flags()
                    assert ws.frames[-1][0] == ("feature_flags",)
                if prompt is prompts[0]:   # the warm-up: the loaders are cached after it
                    pid = (await post(fake.url, {"prompt": warm, "client_id": "recorder"})
                           ).json()["prompt_id"]
                    await ws.until_done(pid)
                    ws.frames = ws.frames[:1] if flags else []
                pid = (await post(fake.url, {"prompt": prompt, "client_id": "recorder"})
                       ).json()["prompt_id"]
                shapes = await ws.until_done(pid)
                assert shapes == recorded_shapes(
                    "ws_sequence_real_flux_dev_run.json" if flags
                    else "ws_sequence_real_flux_dev_run_noflags.json")
                frames = [data for shape, _, data in ws.frames if shape[0] == "binary"]
                real = [m["len"] for m in run["messages"] if m["frame"] == "binary"]
                for frame, length in zip(frames, real):
                    assert 0.5 < len(frame) / length < 2   # real-sized, not a thumbnail
                jpeg = frames[0][8 + struct.unpack(">I", frames[0][4:8])[0]:] if flags \
                    else frames[0][8:]
                assert Image.open(io.BytesIO(jpeg)).size == (512, 512)
                if flags:
                    times = [t for shape, t, _ in ws.frames]
                    encode = [shape for shape, _, _ in ws.frames].index(("executing", "4"))
                    assert times[encode + 1] - times[encode] >= 0.2   # silent while encoding
    finally:
        await fake.stop()


@pytest.mark.parametrize("name", ["ws_sequence_sampling_tiny_flux.json",
                                  "ws_sequence_sampling_tiny_flux_seed_changed.json",
                                  "ws_sequence_real_flux_dev_run.json",
                                  "ws_sequence_ok.json"])
def test_execution_order_is_the_real_servers(name):
    run = recorded(name)
    if "workflow" in run:
        prompt = run["workflow"]
    elif "history" in run:
        prompt = run["history"][run["prompt_id"]]["prompt"][2]
    else:   # ws_sequence_ok.json ran the model-free SaveImage workflow
        prompt = recorded("workflow_model_free_save.json")
    messages = run["messages"]
    ran = [m["data"]["node"] for m in messages if m.get("type") == "executing"
           and m["data"]["node"] is not None]
    [cached] = [m["data"]["nodes"] for m in messages if m.get("type") == "execution_cached"]
    info = object_info_full()
    is_output = lambda nid: bool(info[prompt[nid]["class_type"]].get("output_node"))  # noqa: E731
    outputs = [nid for nid in prompt if is_output(nid)]
    assert execution_order(prompt, outputs, set(cached), is_output) == ran


async def test_classic_cache_keeps_only_the_last_prompt_and_forever_is_an_option(fake):
    fake.default_steps = 1

    async def run(server, text):
        response = await post(server.url, {"prompt": small_t2i(seed=1, text=text)})
        return await history(server.url, response.json()["prompt_id"])

    for text in ("a fox", "a cat", "a fox"):
        entry = await run(fake, text)
    cached = entry["status"]["messages"][1][1]["nodes"]
    assert fake.text_encodes == 3 and "4" not in cached and {"1", "2", "3"} <= set(cached)
    forever = FakeComfy(cache="forever", default_steps=1)
    await forever.start()
    try:
        for text in ("a fox", "a cat", "a fox"):
            entry = await run(forever, text)
        assert forever.text_encodes == 2
        assert set(entry["status"]["messages"][1][1]["nodes"]) == set(small_t2i())
    finally:
        await forever.stop()


async def test_interrupt_waits_for_a_silent_node_and_works_at_sampler_steps(fake):
    fake.encode_delay, fake.step_delay, fake.default_steps = 0.4, 0.05, 50
    async with Socket(fake.url, "me") as ws:
        pid = (await post(fake.url, {"prompt": small_t2i(seed=3), "client_id": "me"})
               ).json()["prompt_id"]
        while ("executing", "4") not in [f[0] for f in ws.frames]:
            await ws.receive_one()
        asked = time.monotonic()
        async with httpx.AsyncClient(base_url=fake.url) as http:
            assert (await http.post("/interrupt", json={"prompt_id": pid})).status_code == 200
        await ws.until_done(pid)
    shapes = [f[0] for f in ws.frames]
    stopped = next(f for f in ws.frames if f[0] == ("execution_interrupted",))
    assert stopped[1] - asked >= 0.3              # the text encode ran to its end first
    assert stopped[2]["node_id"] != "4" and "4" in stopped[2]["executed"]
    silent = shapes.index(("executing", "4"))
    assert ws.frames[silent + 1][1] - ws.frames[silent][1] >= 0.3   # nothing meanwhile

    fake.encode_delay = 0.0
    earlier_steps = fake.steps_seen
    async with Socket(fake.url, "me") as ws:
        pid = (await post(fake.url, {"prompt": small_t2i(seed=4), "client_id": "me"})
               ).json()["prompt_id"]
        while not any(f[0][0] == "progress" for f in ws.frames):
            await ws.receive_one()
        async with httpx.AsyncClient(base_url=fake.url) as http:
            await http.post("/interrupt", json={})
        steps_when_asked = fake.steps_seen - earlier_steps
        await ws.until_done(pid)
    stopped = next(f[2] for f in ws.frames if f[0] == ("execution_interrupted",))
    steps = [f[0][2] for f in ws.frames if f[0][0] == "progress"]
    assert stopped["node_id"] == "8" and stopped["node_type"] == "KSampler"
    assert max(steps) <= steps_when_asked + 1 < 50   # the step under way, then it stops


async def test_a_prompt_runs_to_the_end_when_its_client_goes_away(fake):
    fake.step_delay, fake.default_steps = 0.02, 10
    async with Socket(fake.url, "gone") as ws:
        pid = (await post(fake.url, {"prompt": small_t2i(seed=5), "client_id": "gone"})
               ).json()["prompt_id"]
        while ("executing", "8") not in [f[0] for f in ws.frames]:
            await ws.receive_one()
    entry = await history(fake.url, pid)            # nobody is listening any more
    assert entry["status"]["status_str"] == "success"
    assert entry["outputs"]["10"]["images"][0]["filename"].endswith(".png")


async def test_no_previews_unless_started_with_a_preview_method(fake):
    fake.default_steps = 2
    async with Socket(fake.url, "p") as ws:
        await ws.flags()
        pid = (await post(fake.url, {"prompt": small_t2i(seed=6), "client_id": "p"})
               ).json()["prompt_id"]
        shapes = await ws.until_done(pid)
    assert ("progress", "8", 2, 2) in shapes and not [s for s in shapes if s[0] == "binary"]
    fake.preview_method = "taesd"
    workflow = small_t2i(seed=7)
    workflow["7"]["inputs"].update(width=1024, height=768)
    async with Socket(fake.url, "p") as ws:
        pid = (await post(fake.url, {"prompt": workflow, "client_id": "p"})).json()["prompt_id"]
        await ws.until_done(pid)
    frames = [data for shape, _, data in ws.frames if shape == ("binary", 1)]
    assert len(frames) == 2
    assert Image.open(io.BytesIO(frames[0][8:])).size == (512, 384)


async def test_queue_numbers_uploads_view_and_error_inputs(fake):
    async with httpx.AsyncClient(base_url=fake.url) as http:
        first = (await http.post("/prompt", json={"prompt": small_t2i(seed=1)})).json()
        refused = await http.post("/prompt", json={"prompt": {"1": {"class_type": "Nope",
                                                                     "inputs": {}}}})
        second = (await http.post("/prompt", json={"prompt": small_t2i(seed=2)})).json()
        assert (first["number"], refused.status_code, second["number"]) == (0, 400, 2)

        bad = await http.post("/upload/image", files={"image": ("a/b.png", png((8, 8)),
                                                                 "image/png")})
        assert bad.status_code == 500 and bad.headers["content-type"].startswith("text/plain")
        assert bad.text == "500 Internal Server Error\n\nServer got itself in trouble"
        escape = await http.post("/upload/image", files={"image": ("../b.png", png((8, 8)),
                                                                    "image/png")})
        assert escape.status_code == 400
        assert (await http.get("/view")).status_code == 404
        assert (await http.get("/view", params={"filename": ""})).status_code == 400

    from workbench.comfy.workflows import insert_loras

    fake.broken_models = {"flux1-canny-dev-lora.safetensors"}
    workflow = insert_loras(small_t2i(seed=9), [("flux1-canny-dev-lora.safetensors", 0.7)])
    async with Socket(fake.url, "err") as ws:
        pid = (await post(fake.url, {"prompt": workflow, "client_id": "err"})).json()["prompt_id"]
        await ws.until_done(pid)
    error = next(data for shape, _, data in ws.frames if shape == ("execution_error",))
    inputs = error["current_inputs"]
    assert error["node_type"] == "LoraLoaderModelOnly"
    assert inputs["lora_name"] == ["flux1-canny-dev-lora.safetensors"]
    assert inputs["strength_model"] == [0.7]
    assert inputs["model"][0].startswith("<comfy.model_patcher.ModelPatcher object at 0x")


def sizer_for(prompt: dict, files: dict[str, tuple[int, int]]) -> Sizer:
    from tests.fakes.comfy.graph import Size

    return Sizer(prompt, object_info_full(),
                 lambda name: (Size(*files[name]), False) if name in files else None)


def test_sizes_follow_the_graph():
    kontext = recorded("workflow_flux_kontext_edit.json")
    size = sizer_for(kontext, {"workbench_input.png": (400, 300)}).output("9")
    assert (size.width, size.height) == (1184, 880)          # measured on the real server
    tall = sizer_for(kontext, {"workbench_input.png": (300, 700)}).output("9")
    assert (tall.width, tall.height) == (672, 1568)
    img2img = recorded("workflow_flux_dev_img2img.json")
    size = sizer_for(img2img, {"workbench_input.png": (517, 333)}).output("9")
    assert (size.width, size.height) == (1272, 816)    # 1 MP is 1276x822; the VAE keeps /8
    img2img["21"] = {"class_type": "ImageScale", "inputs": {
        "image": ["20", 0], "upscale_method": "lanczos", "width": 512, "height": 336,
        "crop": "disabled"}}
    size = sizer_for(img2img, {"workbench_input.png": (517, 333)}).output("9")
    assert (size.width, size.height) == (512, 336)     # what the workbench snaps to
    t2i = recorded("workflow_flux_dev_t2i.json")
    t2i["7"]["inputs"].update(width=1000, height=1004, batch_size=3)
    size = sizer_for(t2i, {}).output("9")
    assert (size.width, size.height, size.batch) == (1000, 1000, 3)


async def upload_tool_images(http: httpx.AsyncClient, mask_size=(512, 384)) -> None:
    for name, data in (("tools_src.png", png((512, 384))), ("tools_depth.png", png((640, 480))),
                       ("tools_mask.png", png(mask_size, "L"))):
        answer = await http.post("/upload/image", files={"image": (name, data, "image/png")})
        assert answer.json()["name"] == name


EXPECTED_SIZE = {"fill_inpaint": (512, 384), "fill_outpaint": (768, 384),
                 "canny_full": (512, 384), "canny_lora": (512, 384),
                 "depth_full": (640, 480), "redux": (1024, 1024)}


@pytest.mark.parametrize("tool", TOOLS)
async def test_flux_tools_graphs_as_the_real_server_takes_them(fake, tool):
    fake.default_steps = 1
    expected = recorded("flux_tools_validation_results.json")[tool]
    workflow = recorded(f"workflow_flux_tools_{tool}.json")
    async with httpx.AsyncClient(base_url=fake.url) as http:
        await upload_tool_images(http)
        answer = await http.post("/prompt", json={"prompt": workflow})
        assert answer.status_code == expected["status"]
        body = answer.json()
        if answer.status_code != 200:
            assert body == expected["response"]
            return
        assert body["node_errors"] == {}
        entry = await history(fake.url, body["prompt_id"])
        image = entry["outputs"]["10"]["images"][0]
        data = (await http.get("/view", params=image)).content
    assert Image.open(io.BytesIO(data)).size == EXPECTED_SIZE[tool]


async def test_a_mask_of_another_size_is_resized_not_refused(fake):
    """InpaintModelConditioning interpolates the mask to the image (ComfyUI nodes.py), so
    a real server runs it; the result has the image's size."""
    fake.default_steps = 1
    async with httpx.AsyncClient(base_url=fake.url) as http:
        await upload_tool_images(http, mask_size=(100, 60))
        answer = await http.post("/prompt", json={
            "prompt": recorded("workflow_flux_tools_fill_inpaint.json")})
        entry = await history(fake.url, answer.json()["prompt_id"])
        assert entry["status"]["status_str"] == "success"
        data = (await http.get("/view", params=entry["outputs"]["10"]["images"][0])).content
    assert Image.open(io.BytesIO(data)).size == (512, 384)


async def test_tools_graphs_are_validated_like_any_other(fake):
    workflow = recorded("workflow_flux_tools_fill_outpaint.json")
    workflow["15"]["inputs"]["left"] = -8
    workflow["1"]["inputs"]["unet_name"] = "flux1-fill-dev-missing.safetensors"
    async with httpx.AsyncClient(base_url=fake.url) as http:
        await upload_tool_images(http)
        answer = await http.post("/prompt", json={"prompt": workflow})
    errors = answer.json()["node_errors"]
    assert answer.status_code == 400
    assert errors["15"]["errors"][0]["type"] == "value_smaller_than_min"
    assert errors["1"]["errors"][0]["type"] == "value_not_in_list"
    assert "flux1-fill-dev.safetensors" in errors["1"]["errors"][0]["details"]


async def test_saved_images_keep_the_graph_seed_and_text(fake):
    fake.default_steps = 1
    response = await post(fake.url, {"prompt": small_t2i(seed=11, text="a heron")})
    entry = await history(fake.url, response.json()["prompt_id"])
    async with httpx.AsyncClient(base_url=fake.url) as http:
        data = (await http.get("/view", params=entry["outputs"]["10"]["images"][0])).content
    image = Image.open(io.BytesIO(data))
    assert image.tobytes() == Image.open(io.BytesIO(render_png("a heron", 11, 32, 32))).tobytes()


def test_the_older_preview_flag_still_starts_a_fake_with_previews():
    assert FakeComfy().previews == "none"
    assert FakeComfy(preview=True).previews == "latent2rgb"
    assert FakeComfy(preview_method="taesd", preview=False).previews == "none"
