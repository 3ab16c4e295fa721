"""The Ollama client against a hostile or broken server (issue 13 items 8 and 18): every
request, a whole streamed answer included, has a total deadline; an answer that is not
Ollama's is a message in words (never "Expecting value: line 1 column 1"); the library is
untouched."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.fakes import faults
from tests.fakes.ollama_server import FakeOllamaThread
from workbench import cli, locations
from workbench.llm import ollama as ollama_module
from workbench.llm.actions import Assistant
from workbench.llm.answers import InvalidAnswer
from workbench.llm.ollama import BadAnswer, OllamaClient, TimedOut

USER = [{"role": "user", "content": "A fox"}]
#: Far above the deadlines used here: reaching it means the client hung.
GUARD = 20


def part(content: str, done: bool = False) -> str:
    piece = {"model": "gemma3:4b", "created_at": "2026-11-26T10:00:00Z",
             "message": {"role": "assistant", "content": content}, "done": done}
    if done:
        piece["done_reason"] = "stop"
    return json.dumps(piece)


# -- item 8: a total deadline, whatever the server trickles ------------------------------------

@pytest.mark.parametrize("route, call, what", [
    ("POST /api/chat", lambda llm: llm.chat("gemma3:4b", USER), "POST /api/chat"),
    ("GET /api/tags", lambda llm: llm.models(), "GET /api/tags"),
    ("POST /api/show", lambda llm: llm.capabilities("gemma3:4b"), "POST /api/show"),
    ("GET /api/ps", lambda llm: llm.loaded_models(), "GET /api/ps"),
])
@pytest.mark.parametrize("fault", [faults.slow_loris(interval=0.1), faults.hang()],
                         ids=["slow-loris", "hang"])
async def test_a_trickling_or_silent_server_hits_the_total_deadline(fake, route, call, what,
                                                                    fault):
    """Every read is "in time" (per-read timeout 5 s), the answer never ends: the request
    is given up after the deadline, naming the server, the request and the setting."""
    fake.faults.set(route, fault)
    async with OllamaClient(fake.host, timeout=5.0, deadline=0.6, retry_delay=0) as llm:
        with pytest.raises(TimedOut) as caught:
            await asyncio.wait_for(call(llm), GUARD)
    message = str(caught.value)
    assert f"Ollama at {fake.host} did not finish answering {what}" in message
    assert "within 0.6 s" in message and "[ollama] timeout" in message


async def test_a_stream_that_keeps_sending_tokens_still_ends(fake):
    """Tokens arrive in time, one after another, for ever: the deadline covers the whole
    streamed answer, not each piece."""
    from tests.fakes.ollama_server import Reply

    fake.queue(Reply(" ".join(["word"] * 400), chunk_delay=0.02))
    async with OllamaClient(fake.host, deadline=0.5) as llm:
        seen: list[str] = []
        with pytest.raises(TimedOut, match="POST /api/chat"):
            await asyncio.wait_for(llm.chat("gemma3:4b", USER, on_token=seen.append), GUARD)
    assert seen, "the answer had started: it is the total that was cut"


async def test_the_deadline_comes_from_config(fake, tmp_path):
    from workbench.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(f'[ollama]\nhost = "{fake.host}"\ntimeout = 0.7\n', encoding="utf-8")
    config = load_config(path, env={})
    async with OllamaClient.from_config(config) as llm:
        assert llm.deadline == 0.7
        fake.faults.set("POST /api/chat", faults.slow_loris(interval=0.1))
        with pytest.raises(TimedOut, match="within 0.7 s"):
            await asyncio.wait_for(llm.chat("gemma3:4b", USER), GUARD)


# -- item 18: garbage is said in words --------------------------------------------------------

@pytest.mark.parametrize("fault, words", [
    (faults.html(), "an HTML page"),
    (faults.html(502), "an HTML page (HTTP 502)"),
    (faults.text("OK"), "text that is not JSON"),
    (faults.garbage(b"\x00\xff\xfe garbage"), "text that is not JSON"),
    (faults.json_lines(["[1, 2, 3]"]), "JSON of the wrong shape"),
    (faults.json_lines(['{"message": 5, "done": "maybe"}']), "JSON of the wrong shape"),
    (faults.json_lines(["[" * 100_000 + "]" * 100_000]), "JSON nested too deep"),
])
async def test_chat_garbage_is_a_bad_answer(fake, client, fault, words):
    fake.faults.set("POST /api/chat", fault)
    with pytest.raises(BadAnswer) as caught:
        await asyncio.wait_for(client.chat("gemma3:4b", USER), GUARD)
    message = str(caught.value)
    assert f"Ollama at {fake.host} answered POST /api/chat with {words}" in message
    assert "not Ollama's answer" in message and "OLLAMA_HOST" in message
    assert "Expecting value" not in message and "line 1 column" not in message


@pytest.mark.parametrize("fault, words", [
    (faults.html(), "an HTML page"),
    (faults.json_body([]), "JSON of the wrong shape"),
    (faults.json_body({"models": "none"}), "JSON of the wrong shape"),
    (faults.text("hello"), "text that is not JSON"),
])
async def test_model_list_garbage_is_a_bad_answer(fake, client, fault, words):
    fake.faults.set("GET /api/tags", fault)
    with pytest.raises(BadAnswer, match=f"answered GET /api/tags with {words}"):
        await client.models()


async def test_an_endless_answer_is_cut_off(fake, client, monkeypatch):
    monkeypatch.setattr(ollama_module, "MAX_ANSWER_CHARS", 1000)
    fake.faults.set("POST /api/chat", faults.json_lines([part("x" * 100)] * 50))
    with pytest.raises(BadAnswer, match="more than 1000 characters of answer"):
        await client.chat("gemma3:4b", USER)


async def test_a_prose_answer_to_decompose_says_what_it_was(fake, client):
    fake.queue("Sure! Here are the fields you asked for.", "Sorry, I cannot do JSON.")
    assistant = Assistant(client, model="gemma3:4b")
    with pytest.raises(InvalidAnswer) as caught:
        await assistant.decompose("A neon sign reading EXIT above a door")
    message = str(caught.value)
    assert "not JSON (the answer begins “Sorry, I cannot do JSON.”)" in message
    assert "Expecting value" not in message


# -- the CLI: a message and exit 1, the library untouched --------------------------------------

LIBRARY = """\
format = 1

[[prompts]]
name = "Sign"
raw = "A neon sign reading EXIT above a door"
"""


@pytest.fixture
def threaded():
    with FakeOllamaThread() as server:
        yield server


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "shots.toml"
    path.write_text(LIBRARY, encoding="utf-8")
    return path


def set_timeout(seconds: float) -> None:
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[ollama]\ntimeout = {seconds}\n", encoding="utf-8")


@pytest.mark.parametrize("fault", [faults.slow_loris(interval=0.2), faults.hang()],
                         ids=["slow-loris", "hang"])
def test_rewrite_against_a_stuck_ollama_ends_with_a_message(threaded, library, capsys, fault):
    threaded.faults.set("POST /api/chat", fault)
    set_timeout(1)
    code = cli.main(["rewrite", str(library), "Sign", "--action", "decompose", "--apply",
                     "--ollama-host", threaded.host])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"Ollama at {threaded.host} did not finish answering POST /api/chat" in err
    assert "within 1 s" in err and "Traceback" not in err
    assert library.read_text(encoding="utf-8") == LIBRARY


@pytest.mark.parametrize("fault, words", [
    (faults.html(), "an HTML page"),
    (faults.text("not json at all"), "text that is not JSON"),
])
def test_rewrite_against_a_garbage_server_says_so(threaded, library, capsys, fault, words):
    threaded.faults.set("POST /api/chat", fault)
    code = cli.main(["rewrite", str(library), "Sign", "--action", "decompose", "--apply",
                     "--ollama-host", threaded.host])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"answered POST /api/chat with {words}" in err
    assert "Expecting value" not in err and "Traceback" not in err
    assert library.read_text(encoding="utf-8") == LIBRARY


def test_rewrite_with_a_prose_answer_says_what_the_model_wrote(threaded, library, capsys):
    threaded.queue("I'd rather not.", "Still no.")
    assert cli.main(["rewrite", str(library), "Sign", "--action", "decompose",
                     "--ollama-host", threaded.host]) == 1
    err = capsys.readouterr().err
    assert "not JSON (the answer begins “Still no.”)" in err
    assert "Expecting value" not in err
