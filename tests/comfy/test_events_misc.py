"""Typed events from the recorded messages, model-load accounting, TLS and polling fallback."""

from __future__ import annotations

import json
import ssl
import struct

import pytest

from tests.comfy.conftest import recorded, small_t2i
from tests.fixtures import glob_at_least
from workbench.comfy.client import ComfyClient, ComfyError, parse_auth_header
from workbench.comfy.events import (
    Executed,
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    Preview,
    Progress,
    ProgressState,
    Status,
    Unknown,
    parse_binary,
    parse_text,
)

SEQUENCES = [p.name for p in glob_at_least("ws_sequence_*.json", 11)]


@pytest.mark.parametrize("name", SEQUENCES)
def test_every_recorded_text_message_parses_to_its_type(name):
    data = recorded(name)
    messages = data.get("messages") or [m for key in ("owner_messages", "observer_messages")
                                        for m in data.get(key, []) if isinstance(m, dict)]
    assert messages
    for message in messages:
        if message.get("frame") != "text":
            continue
        event = parse_text({"type": message["type"], "data": message["data"]})
        assert not isinstance(event, Unknown), message["type"]
        if isinstance(event, Executing) and message["data"]["node"] is None:
            assert event.node is None and event.prompt_id
        if isinstance(event, ProgressState):
            assert set(event.nodes) == set(message["data"]["nodes"])


def test_specific_recorded_payloads():
    ok = recorded("ws_sequence_ok.json")["messages"]
    executed = next(parse_text(m) for m in ok if m.get("type") == "executed")
    assert isinstance(executed, Executed)
    assert [(i.filename, i.type, i.node_id) for i in executed.images] == [
        ("workbench_test_00001_.png", "output", "3")]
    first = parse_text(ok[0])
    assert isinstance(first, Status) and first.sid == recorded("ws_sequence_ok.json")[
        "client_id_value"]
    cached = next(parse_text(m) for m in recorded("ws_sequence_cached.json")["messages"]
                  if m.get("type") == "execution_cached")
    assert isinstance(cached, ExecutionCached) and cached.nodes == ["1", "2", "3"]
    stopped = next(parse_text(m) for m in recorded("ws_sequence_interrupted.json")["messages"]
                   if m.get("type") == "execution_interrupted")
    assert isinstance(stopped, ExecutionInterrupted)
    assert (stopped.node_id, stopped.executed) == ("3", ["1", "2"])
    error = next(parse_text(m) for m in recorded("ws_sequence_execution_error.json")["messages"]
                 if m.get("type") == "execution_error")
    assert isinstance(error, ExecutionError) and error.node_type == "VAELoader"
    steps = [parse_text(m) for m in recorded("ws_sequence_sampling_tiny_flux.json")["messages"]
             if m.get("type") == "progress"]
    assert [(s.value, s.max, s.node) for s in steps if isinstance(s, Progress)] == [
        (1, 3, "8"), (2, 3, "8"), (3, 3, "8")]
    assert isinstance(parse_text("not json"), Unknown)
    assert isinstance(parse_text({"type": "brand_new", "data": {}}), Unknown)


def test_binary_frames_of_both_recorded_kinds():
    meta_message = next(m for m in recorded("ws_sequence_sampling_tiny_flux_preview_metadata.json")
                        ["messages"] if m["frame"] == "binary")
    meta = json.dumps(meta_message["decoded"]["metadata"]).encode()
    jpeg = bytes.fromhex("ffd8ffe0") + b"\0" * 20
    frame = struct.pack(">II", 4, len(meta)) + meta + jpeg
    assert frame[:8].hex() == meta_message["first_bytes_hex"][:16].replace(
        "000000a6", f"{len(meta):08x}")
    preview = parse_binary(frame)
    assert isinstance(preview, Preview) and preview.node == "8" and preview.data == jpeg
    assert preview.prompt_id == meta_message["decoded"]["metadata"]["prompt_id"]
    legacy_message = next(m for m in recorded("ws_sequence_sampling_tiny_flux_seed_changed.json")
                          ["messages"] if m["frame"] == "binary")
    legacy = bytes.fromhex(legacy_message["first_bytes_hex"])
    parsed = parse_binary(legacy)
    assert parsed.image_type == "image/jpeg" and parsed.data.startswith(b"\xff\xd8\xff\xe0")
    assert parse_binary(struct.pack(">II", 3, 0)) is None   # a kind we do not show
    with pytest.raises(ValueError):                          # not a frame at all: counted
        parse_binary(b"\0")


async def test_model_loads_follow_the_classic_cache(fake, client):
    """A loader re-runs only when the previous prompt did not have it (same inputs): a new
    seed or a LoRA costs no model load; dev, schnell, dev costs three."""
    from workbench.comfy.workflows import insert_loras

    await (await client.submit(small_t2i(seed=1))).wait(5)
    await (await client.submit(small_t2i(seed=2))).wait(5)
    assert fake.model_loads == 1
    with_lora = insert_loras(small_t2i(seed=3), [("ep-sketch-flux.safetensors", 0.5)])
    await (await client.submit(with_lora)).wait(5)
    assert fake.model_loads == 1 and fake.runs["LoraLoaderModelOnly"] == 1
    schnell = small_t2i(seed=4)
    schnell["1"]["inputs"]["unet_name"] = "flux1-schnell.safetensors"
    await (await client.submit(schnell)).wait(5)
    assert fake.model_loads == 2
    await (await client.submit(small_t2i(seed=5))).wait(5)
    assert fake.model_loads == 3   # dev's outputs were dropped when schnell ran
    assert fake.text_encodes == 1  # the text never changed


async def test_jobs_complete_by_polling_when_the_socket_cannot_open(fake):
    comfy = ComfyClient(fake.url, poll_interval=0.05, backoff=(5.0, 5.0))
    comfy.ws_url = "ws://127.0.0.1:9/ws"  # e.g. a proxy that does not pass WebSockets
    await comfy.connect(ws_timeout=0.2)
    try:
        assert not comfy.connected
        result = await (await comfy.submit(small_t2i())).wait(5)
        assert result.status == "success" and result.from_history and len(result.images) == 1
    finally:
        await comfy.close()


async def test_tls_is_verified_unless_turned_off():
    secure = ComfyClient("https://gpu.example:8443/comfy")
    assert secure.ws_url.startswith("wss://gpu.example:8443/comfy/ws?clientId=")
    context = secure._ssl()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    insecure = ComfyClient("https://gpu.example:8443", verify_tls=False)
    assert insecure._ssl().verify_mode == ssl.CERT_NONE
    assert ComfyClient("http://h:1")._ssl() is None
    for comfy in (secure, insecure):
        await comfy.close()
    with pytest.raises(ComfyError):
        ComfyClient("ftp://nope")


def test_auth_header_forms():
    assert parse_auth_header("Authorization: Bearer abc") == {"Authorization": "Bearer abc"}
    assert parse_auth_header("X-Api-Key:k") == {"X-Api-Key": "k"}
    assert parse_auth_header("Bearer abc") == {"Authorization": "Bearer abc"}
    assert parse_auth_header("") == {}
