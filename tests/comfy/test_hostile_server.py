"""The client against a hostile or broken ComfyUI (issue 13): every request has a total
deadline, every answer a size cap, bad WebSocket frames are skipped, server text arrives
escaped, and credentials in the URL never show."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

from tests.comfy.conftest import small_t2i
from tests.fakes import faults
from tests.fakes.comfy_server import FakeComfy
from tests.hostile import assert_terminal_safe
from workbench.comfy.client import (
    AuthRequired,
    BadAnswer,
    ComfyClient,
    ComfyError,
    TimedOut,
)
from workbench.comfy.events import ImageRef
from workbench.comfy.validate import explain_execution_error
from workbench.textsafe import redact_url

#: Every test here must end well within this, whatever the server does.
LIMIT = 15


async def connected(fake, **kwargs) -> ComfyClient:
    client = ComfyClient(fake.url, poll_interval=0.2, backoff=(0.05, 0.5), **kwargs)
    await asyncio.wait_for(client.connect(), LIMIT)
    return client


# -- item 8: a total deadline on every request ------------------------------------------------

@pytest.mark.parametrize("route, call", [
    ("GET /object_info", lambda c: c.object_info()),
    ("GET /system_stats", lambda c: c.system_stats()),
    ("POST /prompt", lambda c: c.submit(small_t2i())),
    ("GET /history/*", lambda c: c.history("some-id")),
])
async def test_slow_loris_answers_hit_the_total_deadline(fake, route, call):
    client = await connected(fake, timeout=1.0)
    try:
        fake.faults.set(route, faults.slow_loris(interval=0.2))
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimedOut) as caught:
            await asyncio.wait_for(call(client), LIMIT)
        took = asyncio.get_running_loop().time() - started
        assert took < 5, took
        message = str(caught.value)
        method, path = route.split(" ")
        assert method in message and path.split("/")[1] in message
        assert fake.url in message and "1 s" in message and "timeout" in message
    finally:
        await client.close()


async def test_a_server_that_never_answers_times_out_too(fake):
    client = await connected(fake, timeout=0.5)
    try:
        fake.faults.set("GET /queue", faults.hang())
        with pytest.raises(TimedOut, match="GET /queue"):
            await asyncio.wait_for(client.queue(), LIMIT)
    finally:
        await client.close()


async def test_download_deadline_grows_with_the_size_but_ends(fake):
    client = await connected(fake, timeout=0.5)
    try:
        fake.store_file("output", "", "big.png", b"\x89PNG" + b"\0" * 2_000_000)
        data = await client.download(ImageRef("big.png"))     # a real size is fine
        assert len(data) == 2_000_004
        fake.faults.set("GET /view", faults.slow_loris(interval=0.1))
        with pytest.raises(TimedOut, match="GET /view .*big.png"):
            await asyncio.wait_for(client.download(ImageRef("big.png")), LIMIT)
    finally:
        await client.close()


async def test_a_job_whose_history_never_answers_still_ends(fake):
    """The socket missed the end and /history never answers: the job ends as an error
    naming the request (after a few checks), it does not wait forever."""
    fake.step_delay = 0.05
    fake.drop_ws_after_steps = 1
    client = ComfyClient(fake.url, timeout=0.5, poll_interval=0.1, quiet_after=0.3,
                         backoff=(1.5, 1.5))
    await client.connect()
    try:
        fake.faults.set("GET /history/*", faults.slow_loris(interval=0.1))
        fake.faults.set("GET /queue", faults.slow_loris(interval=0.1))
        job = await client.submit(small_t2i())
        result = await job.wait(LIMIT)
        assert result.status == "error"
        assert "could not learn how prompt" in result.message
        assert "did not finish answering GET /" in result.message
    finally:
        await client.close()


async def test_a_job_that_ended_keeps_the_sockets_verdict_when_history_fails(fake):
    fake.step_delay = 0.1
    fake.drop_ws_after_steps = 1
    client = ComfyClient(fake.url, timeout=0.5, poll_interval=0.1, backoff=(0.05, 0.05))
    await client.connect()
    try:
        fake.faults.set("GET /history/*", faults.html())
        job = await client.submit(small_t2i())
        result = await job.wait(LIMIT)
        assert result.status == "success" and not result.from_history
        assert [i.filename for i in result.images] == ["flux_dev_00001_.png"]
    finally:
        await client.close()


# -- item 14/18: answers that are not what ComfyUI sends --------------------------------------

@pytest.mark.parametrize("fault, words", [
    (faults.html(), "not JSON"),
    (faults.json_body(["a", "list"]), "a list"),
    (faults.json_body("text"), "a string"),
    (faults.raw_json('{"x": 1e400}'), "out of range"),
    (faults.deep_json(50_000), "nested"),
    (faults.status(500, "Internal Server Error"), "HTTP 500"),
])
async def test_odd_bodies_become_bad_answers_with_the_request_named(fake, fault, words):
    client = await connected(fake)
    try:
        fake.faults.set("GET /object_info", fault)
        with pytest.raises(BadAnswer) as caught:
            await client.object_info()
        message = str(caught.value)
        assert words in message and "GET /object_info" in message and fake.url in message
        assert "Expecting value" not in message
    finally:
        await client.close()


@pytest.mark.parametrize("fault", [faults.html(), faults.json_body([1, 2]),
                                   faults.text("OK")])
async def test_post_prompt_200_with_a_non_object_body_is_a_bad_answer(fake, fault):
    client = await connected(fake)
    try:
        fake.faults.set("POST /prompt", fault)
        with pytest.raises(BadAnswer, match="POST /prompt"):
            await client.submit(small_t2i())
        assert client.jobs == []     # nothing is followed for a prompt that was not taken
    finally:
        await client.close()


async def test_401_says_to_set_the_auth_header(fake):
    fake.faults.set("GET /prompt", faults.status(401, "Unauthorized"))
    client = ComfyClient(fake.url)
    try:
        with pytest.raises(AuthRequired, match="COMFYUI_AUTH_HEADER"):
            await asyncio.wait_for(client.connect(), LIMIT)
    finally:
        await client.close()


async def test_json_answers_are_capped_while_streaming(fake):
    client = await connected(fake, max_json_bytes=1_000_000)
    try:
        fake.faults.set("GET /object_info", faults.huge_json(50_000_000))
        with pytest.raises(BadAnswer, match="more than"):
            await asyncio.wait_for(client.object_info(), LIMIT)
    finally:
        await client.close()


# -- item 16: bad WebSocket frames are skipped and counted ------------------------------------

BAD_FRAMES = [
    "[" * 100_000 + "]" * 100_000,                                    # deep JSON
    '{"type": "progress", "data": {"value": 1e400, "max": 3, "prompt_id": "x"}}',
    '{"type": "progress", "data": {"value": 1, "max": 3, "prompt_id": "x", "node": '
    + "[" * 5000 + "]" * 5000 + "}}",
    "not json at all",
    b"\x00\x00\x00\x04\xff\xff\xff\xff" + b"{}",                     # length past the end
    b"\x00\x00\x00\x04\x00\x00\x00\x05" + b"\xff\xfe\x00\x01\x02",    # metadata not UTF-8
    b"\x00\x00\x00\x04\x00\x00\x00\x04" + b'"x"' + b" ",             # metadata not an object
    b"\x00\x00\x00\x04" + struct.pack(">I", 20_010) + b"[" * 10_000 + b"]" * 10_000 + b"x",
    b"\x00\x00",
]


async def test_bad_frames_are_skipped_counted_and_the_socket_lives_on(fake):
    client = await connected(fake)
    try:
        loop_task = client._tasks[0]
        for frame in BAD_FRAMES:
            await fake.send_raw(frame)
        job = await client.submit(small_t2i())
        started = asyncio.get_running_loop().time()
        result = await job.wait(LIMIT)
        assert result.status == "success" and not result.from_history
        assert asyncio.get_running_loop().time() - started < 5   # no watchdog wait
        assert not loop_task.done() and client.connected
        assert client.bad_frames >= 7
        assert client.last_bad_frame
    finally:
        await client.close()


# -- item 5: server text is escaped where it becomes a message ---------------------------------

async def test_hostile_node_ids_and_error_text_arrive_escaped(fake):
    fake.hostile_strings = True
    fake.broken_models = {"flux1-dev.safetensors"}
    client = await connected(fake)
    try:
        events = []
        job = await client.submit(small_t2i(), on_event=lambda j, e: events.append(e))
        result = await job.wait(LIMIT)
        assert result.status == "error"
        assert_terminal_safe(str(explain_execution_error(result.error, small_t2i())))
        fields = [result.error.node_id, result.error.node_type, result.error.exception_type,
                  result.error.exception_message, *result.error.traceback]
        for value in fields + [getattr(e, "node", "") or "" for e in events]:
            assert_terminal_safe(value)
        assert any("Evil" in value for value in fields)   # the text is kept, made safe
    finally:
        await client.close()


# -- item 7: credentials in the URL ------------------------------------------------------------

def test_redact_url_hides_userinfo_only():
    assert redact_url("http://user:secret@host:8188/x") == "http://***@host:8188/x"
    assert redact_url("https://token@h") == "https://***@h"
    assert redact_url("http://host:8188") == "http://host:8188"
    assert redact_url("see http://a:b@h and https://c@d/e") == \
        "see http://***@h and https://***@d/e"
    assert redact_url("127.0.0.1:11434") == "127.0.0.1:11434"


async def test_credentials_are_used_but_never_shown(fake):
    url = fake.url.replace("http://", "http://user:s3cret@")
    client = ComfyClient(url)
    try:
        await asyncio.wait_for(client.connect(), LIMIT)
        assert client.connected
        assert "s3cret" not in client.base_url and client.base_url.startswith("http://***@")
        sent = [h for h in fake.request_headers if h["path"] == "/prompt"]
        assert sent and sent[-1]["Authorization"].startswith("Basic ")
        fake.faults.set("GET /object_info", faults.status(500))
        with pytest.raises(ComfyError) as caught:
            await client.object_info()
        assert "s3cret" not in str(caught.value) and "***@" in str(caught.value)
    finally:
        await client.close()


async def test_unreachable_with_credentials_does_not_print_them():
    client = ComfyClient("http://me:pw@127.0.0.1:9", timeout=2)
    try:
        with pytest.raises(ComfyError) as caught:
            await client.connect()
        assert "pw" not in str(caught.value).replace("pwd", "")
        assert "http://***@127.0.0.1:9" in str(caught.value)
    finally:
        await client.close()


def test_events_keep_outputs_raw_for_download():
    """File names are fetched exactly as the server named them (shown escaped elsewhere)."""
    from workbench.comfy.events import parse_text

    event = parse_text(json.dumps({"type": "executed", "data": {
        "node": "9\x1b]0;x\x07", "prompt_id": "p",
        "output": {"images": [{"filename": "a\x1b.png", "subfolder": "", "type": "output"}]}}}))
    assert event.images[0].filename == "a\x1b.png"
    assert_terminal_safe(event.node)


def test_fake_default_behaviour_is_unchanged():
    fake = FakeComfy()
    assert fake.faults.rules == [] and not fake.hostile_strings
