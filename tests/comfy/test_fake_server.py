"""The fake must answer like the recorded ComfyUI, or the client tests prove nothing."""

from __future__ import annotations

import io
import json
import struct

import httpx
import pytest
import websockets
from PIL import Image

from tests.comfy.conftest import recorded, small_t2i
from tests.fakes.comfy.recordings import first_session_models
from tests.fakes.comfy_server import render_png
from tests.fixtures import glob_at_least

ERROR_FILES = [p.name for p in glob_at_least("error_*.json", 18)]


def _strip(value):
    """Drop what differs run to run (ids, numbers, tracebacks with local paths)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()
                if k not in ("traceback", "prompt_id", "number")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.mark.parametrize("name", ERROR_FILES)
async def test_post_prompt_answers_like_the_recording(fake, name):
    fake.models = first_session_models()   # the files the server had when these were made
    record = recorded(name)
    request = record["request"]
    async with httpx.AsyncClient(base_url=fake.url) as http:
        if "json" in request:
            response = await http.post(request["path"], json=request["json"])
        else:
            response = await http.post(request["path"], content=request["data"])
    assert response.status_code == record["status"]
    if record["body_kind"] == "json":
        assert _strip(response.json()) == _strip(record["body"])
    else:
        assert response.text == record["body"]


async def _run_and_collect(url: str, workflow: dict, flags: bool) -> list:
    async with websockets.connect(url.replace("http", "ws") + "/ws?clientId=test") as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "status" and first["data"]["sid"] == "test"
        if flags:
            await ws.send(json.dumps({"type": "feature_flags",
                                      "data": {"supports_preview_metadata": True}}))
            reply = json.loads(await ws.recv())
            assert reply == {"type": "feature_flags", "data": recorded("features.json")["body"]}
        async with httpx.AsyncClient(base_url=url) as http:
            answer = (await http.post("/prompt", json={"prompt": workflow,
                                                       "client_id": "test"})).json()
        messages = []
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                messages.append(("binary", struct.unpack(">I", frame[:4])[0], frame))
                continue
            data = json.loads(frame)
            messages.append((data["type"], data["data"]))
            if data["type"] == "executing" and data["data"]["node"] is None:
                assert data["data"]["prompt_id"] == answer["prompt_id"]
                return messages


def _recorded_types(name: str) -> list[str]:
    return [m["type"] for m in recorded(name)["messages"][1:] if m["frame"] == "text"]


async def test_normal_then_cached_run_follow_the_recorded_order(fake):
    workflow = recorded("workflow_model_free_save.json")
    first = await _run_and_collect(fake.url, workflow, flags=False)
    assert [m[0] for m in first] == _recorded_types("ws_sequence_ok.json")
    again = await _run_and_collect(fake.url, workflow, flags=False)
    assert [m[0] for m in again] == _recorded_types("ws_sequence_cached.json")
    cached = next(m[1] for m in again if m[0] == "execution_cached")
    assert sorted(cached["nodes"]) == ["1", "2", "3"]
    executed = [m[1] for m in again if m[0] == "executed"]
    assert executed[0]["output"] == next(m[1] for m in first if m[0] == "executed")["output"]


async def test_only_changed_nodes_rerun_with_previews_of_both_kinds(fake):
    fake.default_steps = 3
    fake.preview_method = "latent2rgb"   # as the recording server was started
    first = await _run_and_collect(fake.url, small_t2i(seed=1), flags=True)
    kinds = [m[0] if m[0] != "binary" else f"binary{m[1]}" for m in first]
    # with feature_flags: progress_state, binary type 4, then progress
    step = kinds.index("progress")
    assert kinds[step - 2: step + 1] == ["progress_state", "binary4", "progress"]
    preview = next(m[2] for m in first if m[0] == "binary")
    length = struct.unpack(">I", preview[4:8])[0]
    meta = json.loads(preview[8:8 + length])
    assert meta["node_id"] == "8" and meta["image_type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview[8 + length:])).format == "JPEG"

    second = await _run_and_collect(fake.url, small_t2i(seed=2), flags=False)
    cached = next(m[1]["nodes"] for m in second if m[0] == "execution_cached")
    assert sorted(cached) == ["1", "2", "3", "4", "5", "6", "7"]
    ran = [m[1]["node"] for m in second if m[0] == "executing" and m[1]["node"]]
    assert ran == ["8", "9", "10"]
    kinds = [m[0] if m[0] != "binary" else f"binary{m[1]}" for m in second]
    step = kinds.index("progress")
    # without: progress_state, progress, then binary type 1
    assert kinds[step - 1: step + 2] == ["progress_state", "progress", "binary1"]


async def test_history_paging_view_and_upload(fake):
    async with httpx.AsyncClient(base_url=fake.url) as http:
        ids = []
        for color in (1, 2, 3):
            workflow = recorded("workflow_model_free_save.json")
            workflow["1"]["inputs"]["color"] = color
            ids.append((await http.post("/api/prompt", json={"prompt": workflow})).json()
                       ["prompt_id"])
        for _ in range(100):
            if len((await http.get("/history")).json()) == 3:
                break
            await fake_sleep()
        newest = await http.get("/history", params={"max_items": 2})
        assert list(newest.json()) == ids[1:]
        paged = await http.get("/history", params={"max_items": 2, "offset": 1})
        assert list(paged.json()) == ids[1:]
        assert list((await http.get("/history", params={"max_items": 1, "offset": 0})).json()) \
            == ids[:1]
        entry = (await http.get(f"/history/{ids[0]}")).json()[ids[0]]
        image = entry["outputs"]["3"]["images"][0]
        view = await http.get("/view", params=image)
        assert view.headers["content-type"] == "image/png"
        png = Image.open(io.BytesIO(view.content))
        assert json.loads(png.info["prompt"])["1"]["inputs"]["color"] == 1
        assert (await http.get("/view", params={"filename": "../secret.txt"})).status_code == 400
        assert (await http.get("/view", params={"filename": "nope.png"})).status_code == 404
        assert (await http.get("/history/unknown")).json() == {}

        data = render_png("input", 1, 16, 16)
        up = await http.post("/upload/image", files={"image": ("in.png", data, "image/png")})
        assert up.json() == {"name": "in.png", "subfolder": "", "type": "input"}
        other = render_png("other", 1, 16, 16)
        renamed = await http.post("/upload/image",
                                  files={"image": ("in.png", other, "image/png")})
        assert renamed.json()["name"] == "in (1).png"
        same = await http.post("/upload/image", files={"image": ("in.png", data, "image/png")})
        assert same.json()["name"] == "in.png"
        bad = await http.post("/upload/image", data={"subfolder": "../../etc"},
                              files={"image": ("e.png", data, "image/png")})
        assert bad.status_code == 400 and bad.content == b""
        info = (await http.get("/object_info/LoadImage")).json()
        assert info["LoadImage"]["input"]["required"]["image"][0] == ["in (1).png", "in.png"]
        assert (await http.get("/object_info/NoSuchNode")).json() == {}
        assert (await http.get("/models/unet")).status_code == 404


async def fake_sleep():
    import asyncio

    await asyncio.sleep(0.01)


def test_saved_pngs_are_deterministic_and_carry_metadata():
    chunks = {"prompt": "{}", "workflow": '{"nodes": []}'}
    one = render_png("a fox", 7, 48, 32, 0, chunks)
    assert one == render_png("a fox", 7, 48, 32, 0, chunks)
    assert one != render_png("a cat", 7, 48, 32, 0, chunks)
    assert one != render_png("a fox", 8, 48, 32, 0, chunks)
    image = Image.open(io.BytesIO(one))
    assert image.size == (48, 32) and image.mode == "RGB"
    assert image.info["workflow"] == '{"nodes": []}'


async def test_other_clients_see_only_broadcasts(fake):
    """As recorded: an observer gets status only; a prompt without client_id sends no
    execution messages to anyone, but its progress_state is broadcast."""
    import asyncio

    ws_url = fake.url.replace("http", "ws") + "/ws?clientId="
    async with websockets.connect(ws_url + "owner") as owner, \
            websockets.connect(ws_url + "observer") as observer:
        await owner.recv(), await observer.recv()
        async with httpx.AsyncClient(base_url=fake.url) as http:
            mine = recorded("workflow_model_free_save.json")
            await http.post("/prompt", json={"prompt": mine, "client_id": "owner"})
            anonymous = recorded("workflow_model_free_save.json")
            anonymous["1"]["inputs"]["color"] = 77
            await http.post("/prompt", json={"prompt": anonymous})
            while len((await http.get("/history")).json()) < 2:
                await asyncio.sleep(0.01)

        async def drain(ws):
            kinds = []
            while True:
                try:
                    kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2))["type"])
                except TimeoutError:
                    return kinds

        seen_by_owner, seen_by_observer = await drain(owner), await drain(observer)
    assert set(seen_by_observer) == {"status", "progress_state"}
    assert seen_by_owner.count("execution_start") == 1
    assert seen_by_owner.count("execution_success") == 1
    assert seen_by_owner.count("executed") == 1


def test_fake_runs_by_hand_as_a_module():
    import socket
    import subprocess
    import sys

    from tests.conftest import REPO

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tests.fakes.comfy_server", "--port",
                               str(port), "--step-delay", "0.2", "--load-delay", "0",
                               "--encode-delay", "0.5", "--vae-delay", "0", "--cache", "forever",
                               "--preview-method", "latent2rgb"],
                              cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert f"listening on http://127.0.0.1:{port}" in server.stdout.readline()
        stats = httpx.get(f"http://127.0.0.1:{port}/system_stats").json()
        assert stats["system"]["comfyui_version"] == "0.3.64"
    finally:
        server.terminate()
        server.wait(10)
