"""The vision verdict against the fake Ollama over a real socket: what is sent, how answers
are validated and retried, the cache, and each way the model can be unavailable."""

from __future__ import annotations

import json

import pytest

from tests.fakes.ollama_server import FakeModel, Reply, colour_key
from tests.judge.conftest import BLUE, RED, fox, picture
from workbench.judge import pixels
from workbench.judge.adherence import VisionJudge, parse_verdict, verdict_schema
from workbench.judge.cache import VerdictCache
from workbench.judge.checklist import build_checklist
from workbench.llm.actions import InvalidAnswer
from workbench.llm.ollama import ModelMissing, NotReachable, NoVision, OllamaClient

CHECKLIST = build_checklist(fox(text="OPEN"))


def answer(**statuses) -> str:
    items = {key: {"status": statuses.get(key, "present"), "reason": f"{key} looks right"}
             for key in CHECKLIST.keys}
    return json.dumps({"items": items, "text_seen": "OPEN"})


@pytest.fixture
async def judge(ollama, tmp_path):
    async with OllamaClient(ollama.host, retry_delay=0) as client:
        yield VisionJudge(client, "llava:7b", cache=VerdictCache(tmp_path / "cache"))


def encoded(colour=RED, seed=0) -> str:
    return pixels.for_model(picture(colour, seed))


async def test_request_carries_image_schema_and_checklist(ollama, judge):
    verdict = await judge.verdict("a" * 64, CHECKLIST, encoded())
    chat = ollama.vision_chats[0]
    assert chat["model"] == "llava:7b"
    assert chat["format"] == verdict_schema(CHECKLIST)
    items_schema = chat["format"]["properties"]["items"]
    assert items_schema["required"] == ["subject", "action", "style", "text"]
    assert items_schema["properties"]["subject"]["properties"]["status"]["enum"] == \
        ["present", "partly", "absent"]
    user = chat["messages"][1]
    assert "- subject: a red fox" in user["content"] and user["images"]
    assert chat["options"]["temperature"] == 0
    assert set(verdict.items) == set(CHECKLIST.keys)
    assert ollama.seen("/api/show")  # the model was checked first


async def test_answers_follow_the_fake_table_per_picture(ollama, judge):
    ollama.vision_table[colour_key(RED)] = {
        "items": {"subject": "absent", "action": {"status": "partly", "reason": "lying"}},
        "text_seen": "OPNE"}
    red = await judge.verdict("r" * 64, CHECKLIST, encoded(RED))
    assert red.statuses["subject"] == "absent"
    assert red.items["action"].status == "partly" and red.items["action"].reason == "lying"
    assert red.text_seen == "OPNE"
    blue_once = await judge.verdict("b" * 64, CHECKLIST, encoded(BLUE, 1))
    blue_again = await judge.verdict("c" * 64, CHECKLIST, encoded(BLUE, 2))
    assert blue_once.statuses == blue_again.statuses     # derived from the colour
    assert blue_once.statuses != red.statuses


async def test_cache_hits_by_image_checklist_and_model(ollama, judge, tmp_path):
    await judge.verdict("1" * 64, CHECKLIST, encoded())
    again = await judge.verdict("1" * 64, CHECKLIST, lambda: pytest.fail("not encoded"))
    assert again.cached and len(ollama.vision_chats) == 1
    other = build_checklist(fox(subject="a grey wolf"))
    await judge.verdict("1" * 64, other, encoded())
    assert len(ollama.vision_chats) == 2
    judge.model = "gemma3:4b"
    await judge.verdict("1" * 64, CHECKLIST, encoded())
    assert len(ollama.vision_chats) == 3
    # a corrupt cache file is a miss, not a crash
    path = judge.cache.path("1" * 64, CHECKLIST.hash, "gemma3:4b")
    path.write_text("{not json")
    await judge.verdict("1" * 64, CHECKLIST, encoded())
    assert len(ollama.vision_chats) == 4 and json.loads(path.read_text())["model"] == "gemma3:4b"


def test_odd_cache_files_are_misses_that_never_block(tmp_path):
    import os

    cache = VerdictCache(tmp_path)
    key = ("5" * 64, CHECKLIST.hash, "llava:7b")
    path = cache.path(*key)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)                                   # would block a plain read
    assert cache.get(*key) is None
    path.unlink()
    path.write_text("[" * 5000 + "]" * 5000)          # deeper than any answer
    assert cache.get(*key) is None
    path.write_text('{"image": "' + "5" * 64 + '", "answer": {"n": NaN}}')
    assert cache.get(*key) is None
    cache.put(*key, {"items": {}, "text_seen": ""})
    assert cache.get(*key) == {"items": {}, "text_seen": ""} and cache.misses == 3


async def test_malformed_answer_is_retried_once(ollama, judge):
    ollama.queue("I think the fox is there!", answer(subject="partly"))
    verdict = await judge.verdict("2" * 64, CHECKLIST, encoded())
    assert verdict.attempts == 2 and verdict.statuses["subject"] == "partly"
    retry = ollama.vision_chats[1]["messages"]
    assert retry[2] == {"role": "assistant", "content": "I think the fox is there!"}
    assert "could not be used: not JSON" in retry[3]["content"]


async def test_two_bad_answers_give_a_clear_error_and_nothing_cached(ollama, judge):
    ollama.queue(json.dumps({"items": {"subject": {"status": "present", "reason": ""}},
                             "text_seen": ""}), "[]")
    with pytest.raises(InvalidAnswer, match=r"did not give a usable checklist answer twice "
                                            r"\(a JSON list, not an object\)"):
        await judge.verdict("3" * 64, CHECKLIST, encoded())
    assert "no verdict for action, style, text" in \
        ollama.vision_chats[1]["messages"][3]["content"]
    assert judge.cached("3" * 64, CHECKLIST) is None


async def test_huge_and_deep_answers_are_refused(ollama, judge):
    ollama.queue(Reply("x" * 40_000, chunks=["x" * 40_000]), "[" * 15_000 + "]" * 15_000)
    with pytest.raises(InvalidAnswer, match="nested more than 6 levels deep"):
        await judge.verdict("4" * 64, CHECKLIST, encoded())
    assert "characters long" in ollama.vision_chats[1]["messages"][3]["content"]


def test_parse_verdict_rules():
    text = json.dumps({"items": {"subject": {"status": "Present.", "reason": "a fox\x1b[31m"},
                                 "action": "partial", "style": False,
                                 "text": {"status": "no", "reason": "x" * 500},
                                 "extra": "present"},
                       "text_seen": "OPEN\x07 now\u0085"})
    verdict = parse_verdict("```json\n" + text + "\n```", CHECKLIST, "m")
    assert verdict.statuses == {"subject": "present", "action": "partly", "style": "absent",
                                "text": "absent"}
    assert verdict.items["subject"].reason == "a fox"           # escape removed
    assert len(verdict.items["text"].reason) == 160
    assert "\x07" not in verdict.text_seen and "\x85" not in verdict.text_seen
    with pytest.raises(InvalidAnswer, match="no present/partly/absent status for subject"):
        parse_verdict(json.dumps({"items": {k: "maybe" if k == "subject" else "present"
                                            for k in CHECKLIST.keys}}), CHECKLIST, "m")
    with pytest.raises(InvalidAnswer, match='no "items" object'):
        parse_verdict('{"text_seen": ""}', CHECKLIST, "m")
    with pytest.raises(InvalidAnswer, match="more than 6 levels"):
        parse_verdict(json.dumps({"items": [[[[[[["x"]]]]]]]}), CHECKLIST, "m")
    listed = json.dumps({"items": [{"key": k, "status": "present"} for k in CHECKLIST.keys]})
    assert parse_verdict(listed, CHECKLIST, "m").statuses["style"] == "present"


async def test_model_without_vision(ollama, judge):
    judge.model = "llama3.2:3b"
    with pytest.raises(NoVision, match="cannot look at images.*vision_model"):
        await judge.verdict("5" * 64, CHECKLIST, encoded())
    assert not ollama.vision_chats


async def test_model_missing(ollama, judge):
    judge.model = "qwen2.5vl:7b"
    with pytest.raises(ModelMissing, match="ollama pull qwen2.5vl:7b"):
        await judge.verdict("6" * 64, CHECKLIST, encoded())


async def test_unreachable(tmp_path):
    async with OllamaClient("127.0.0.1:9", retry_delay=0) as client:
        judge = VisionJudge(client, "llava:7b", cache=VerdictCache(tmp_path))
        with pytest.raises(NotReachable, match="ollama serve"):
            await judge.verdict("7" * 64, CHECKLIST, encoded())


async def test_total_deadline(ollama, judge):
    from workbench.llm.ollama import TimedOut

    judge.deadline = 0.3
    ollama.queue(Reply(answer(), chunk_delay=0.2))
    with pytest.raises(TimedOut, match="within 0.3 s"):
        await judge.verdict("8" * 64, CHECKLIST, encoded())


def test_fake_models_listing_has_vision_and_text_models():
    # the tests above rely on these being what the fake installs
    from tests.fakes.ollama_server import default_models

    caps = {m.name: m.capabilities for m in default_models()}
    assert "vision" in caps["llava:7b"] and "vision" not in caps["llama3.2:3b"]
    assert isinstance(default_models()[0], FakeModel)
