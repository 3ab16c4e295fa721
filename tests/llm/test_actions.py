"""Each action end to end: the real ollama client, a fake server, what was sent, what came back."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.fakes.ollama_server import Reply
from workbench.llm.actions import DECOMPOSE_SCHEMA, KONTEXT_SCHEMA
from workbench.llm.answers import InvalidAnswer, clean_answer, parse_instructions
from workbench.llm.ollama import LLMError, NoVision
from workbench.spec import TEXT_FIELDS, PromptSpec


def user_block(request: dict) -> str:
    content = request["messages"][-1]["content"]
    return content.split("<<<", 1)[1].split(">>>", 1)[0].strip()


async def test_rewrite_sends_the_prompt_and_cleans_the_answer(fake, assistant):
    fake.queue("Here is the rewritten prompt:\n```\nA red fox curled up in fresh snow, "
               "watercolor, soft morning light.\n```")
    proposal = await assistant.rewrite("red fox, snow, watercolor, morning")
    assert proposal.text == "A red fox curled up in fresh snow, watercolor, soft morning light."
    assert proposal.action == "rewrite" and proposal.model == "gemma3:4b"
    assert proposal.original == "red fox, snow, watercolor, morning"
    [request] = fake.chats
    assert request["model"] == "gemma3:4b" and request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert "FLUX" in request["messages"][0]["content"]
    assert user_block(request) == "red fox, snow, watercolor, morning"
    assert request["options"]["temperature"] == 0.4
    assert "format" not in request
    assert proposal.timings.first_token_s is not None
    assert proposal.timings.total_s >= proposal.timings.first_token_s


async def test_rewrite_streams_tokens_as_they_arrive(fake, assistant):
    fake.queue(Reply("A lighthouse at dusk", chunks=["A", " lighthouse", " at", " dusk"]))
    pieces: list[str] = []
    proposal = await assistant.rewrite("lighthouse", on_token=pieces.append)
    assert pieces == ["A", " lighthouse", " at", " dusk"]
    assert proposal.text == "A lighthouse at dusk"


@dataclass
class Diagnostic:
    message: str
    rule: str = "x"


async def test_fix_sends_every_lint_message(fake, assistant):
    fake.queue("A portrait of an old fisherman mending a net, natural light.")
    proposal = await assistant.fix(
        "old man, masterpiece, best quality",
        ["'masterpiece' is a tag-style booster FLUX ignores",
         Diagnostic("the prompt has no action: say what the subject does")])
    request = fake.chats[0]
    user = request["messages"][1]["content"]
    assert "- 'masterpiece' is a tag-style booster FLUX ignores" in user
    assert "- the prompt has no action: say what the subject does" in user
    assert user_block(request) == "old man, masterpiece, best quality"
    assert proposal.action == "fix"
    assert proposal.text == "A portrait of an old fisherman mending a net, natural light."


async def test_fix_without_diagnostics_asks_nothing(fake, assistant):
    with pytest.raises(LLMError, match="nothing to fix"):
        await assistant.fix("a fox", [])
    assert fake.chats == []


async def test_translate_keeps_in_image_text(fake, assistant):
    original = "Неоновая вывеска «ВЫХОД» над дверью, дождливая ночь"
    fake.queue('A neon sign reading "ВЫХОД" above a door on a rainy night.')
    proposal = await assistant.translate(original)
    request = fake.chats[0]
    assert user_block(request) == original
    assert "quotes" in request["messages"][0]["content"]
    assert proposal.text == 'A neon sign reading "ВЫХОД" above a door on a rainy night.'
    assert proposal.warnings == []


async def test_translate_warns_when_in_image_text_was_translated(fake, assistant):
    fake.queue('A neon sign reading "EXIT" above a door.')
    proposal = await assistant.translate("Неоновая вывеска «ВЫХОД» над дверью")
    assert proposal.warnings == ['the in-image text "ВЫХОД" is not in the proposal as written']


async def test_expand_turns_an_idea_into_a_prompt(fake, assistant):
    fake.queue('"A small robot watering a tomato plant on a sunny balcony, '
               'photographed with a 35mm lens."')
    proposal = await assistant.expand("robot gardener")
    assert proposal.text == ("A small robot watering a tomato plant on a sunny balcony, "
                             "photographed with a 35mm lens.")
    request = fake.chats[0]
    assert user_block(request) == "robot gardener"
    assert request["options"]["temperature"] == 0.7


FIELDS = {"subject": "an old lighthouse keeper", "action": "climbing a spiral staircase",
          "style": "oil painting", "context": "stormy night", "foreground": "",
          "midground": "", "background": "waves crashing on rocks",
          "text": "KEEP OUT", "camera": "low angle"}


async def test_decompose_uses_structured_output(fake, assistant):
    fake.queue(json.dumps(FIELDS))
    proposal = await assistant.decompose("An old lighthouse keeper climbs ...")
    request = fake.chats[0]
    assert request["format"] == DECOMPOSE_SCHEMA
    assert set(request["format"]["properties"]) == set(TEXT_FIELDS)
    assert proposal.fields == FIELDS
    assert proposal.attempts == 1
    spec = proposal.apply_to(PromptSpec("p", raw="An old lighthouse keeper climbs ..."))
    assert spec.raw == "" and spec.subject == FIELDS["subject"] and spec.text == "KEEP OUT"


async def test_decompose_retries_once_on_invalid_json(fake, assistant):
    fake.queue("Sure! subject: a keeper", json.dumps(FIELDS))
    proposal = await assistant.decompose("An old lighthouse keeper climbs ...")
    assert proposal.fields == FIELDS and proposal.attempts == 2
    first, second = fake.chats
    assert second["format"] == DECOMPOSE_SCHEMA
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "user"]
    assert second["messages"][2]["content"] == "Sure! subject: a keeper"
    assert "not JSON" in second["messages"][3]["content"]
    assert second["messages"][:2] == first["messages"]


@pytest.mark.parametrize("bad", [
    json.dumps({"subject": 5}),
    json.dumps(["a", "list"]),
    json.dumps({"subject": "x", "mood": "y"}),
    json.dumps({name: "" for name in TEXT_FIELDS}),
])
async def test_decompose_gives_up_after_one_retry(fake, assistant, bad):
    fake.queue(bad, bad, json.dumps(FIELDS))
    with pytest.raises(InvalidAnswer, match="twice"):
        await assistant.decompose("a keeper")
    assert len(fake.chats) == 2


async def test_decompose_fills_missing_fields_and_strips_fences(fake, assistant):
    fake.queue('```json\n{"subject": "a cat", "style": "ink drawing"}\n```')
    proposal = await assistant.decompose("a cat, ink drawing")
    assert proposal.fields == {**{n: "" for n in TEXT_FIELDS}, "subject": "a cat",
                               "style": "ink drawing"}


async def test_kontext_returns_single_change_instructions(fake, assistant, tmp_path):
    fake.queue(json.dumps({"instructions": ["Make the woman smile, keeping her face the same",
                                            "Add falling snow across the whole scene"]}))
    proposal = await assistant.kontext("make her smile, it's snowing")
    request = fake.chats[0]
    assert request["format"] == KONTEXT_SCHEMA
    assert user_block(request) == "make her smile, it's snowing"
    assert proposal.instructions == ["Make the woman smile, keeping her face the same",
                                     "Add falling snow across the whole scene"]
    # one change per edit: the first here, the second a step that follows it (issue 14:
    # they were glued into one run-on instruction)
    from workbench.chains import add_edits_after
    from workbench.library import new_library

    library = new_library(tmp_path / "lib.toml")
    first = library.add(proposal.apply_to(PromptSpec("edit", model="dev", source_image="a.png")))
    assert first.raw == "Make the woman smile, keeping her face the same."
    assert first.model == "kontext"  # Kontext instructions on a dev prompt: now Kontext
    [second] = add_edits_after(library, first, proposal.instructions[1:])
    assert second.raw == "Add falling snow across the whole scene"
    assert second.follows == "edit" and second.name == "edit › 2"
    assert [s.name for s in library.prompts] == ["edit", "edit › 2"]


def test_kontext_answer_as_plain_list_is_understood():
    assert parse_instructions("1. Make her smile\n2) Add snow\n- Keep the pose") == [
        "Make her smile", "Add snow", "Keep the pose"]


def png_bytes(size=(2000, 1000), color=(200, 20, 20), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG")
    return out.getvalue()


async def test_describe_sends_a_downscaled_image_and_caches_by_hash(fake, assistant, tmp_path):
    image = tmp_path / "source.png"
    image.write_bytes(png_bytes())
    first = await assistant.describe(image)
    assert "wide image dominated by red tones" in first.text  # the fake looked at it
    assert first.model == "llava:7b" and not first.cached
    [request] = fake.chats
    assert request["model"] == "llava:7b"
    [sent] = request["messages"][-1]["images"]
    with Image.open(io.BytesIO(base64.b64decode(sent))) as seen:
        assert seen.size == (1024, 512)
    assert fake.seen("/api/show") == [{"model": "llava:7b"}]

    copy = tmp_path / "same-bytes.png"
    copy.write_bytes(image.read_bytes())
    second = await assistant.describe(copy)
    assert second.cached and second.text == first.text
    assert len(fake.chats) == 1

    await assistant.describe(image, model="gemma3:4b")  # another model: asked again
    assert len(fake.chats) == 2


async def test_describe_flattens_transparent_images(fake, assistant, tmp_path):
    image = tmp_path / "alpha.png"
    image.write_bytes(png_bytes((64, 128), (0, 0, 255, 128), "RGBA"))
    proposal = await assistant.describe(image)
    assert "tall image dominated by blue tones" in proposal.text


async def test_describe_refuses_a_model_without_vision(fake, assistant, tmp_path):
    image = tmp_path / "source.png"
    image.write_bytes(png_bytes((32, 32)))
    with pytest.raises(NoVision) as caught:
        await assistant.describe(image, model="llama3.2:3b")
    assert str(caught.value).startswith("model llama3.2:3b cannot look at images")
    assert "completion, tools" in str(caught.value)
    assert fake.chats == []


async def test_describe_reports_a_file_that_is_not_an_image(fake, assistant, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("not a picture")
    with pytest.raises(LLMError, match="not an image that can be read"):
        await assistant.describe(bogus)
    assert fake.requests == []


async def test_thinking_is_kept_out_of_the_proposal(fake, assistant):
    assistant.think = True
    fake.queue(Reply("A fox in snow.", thinking="Let me think about foxes."))
    proposal = await assistant.rewrite("fox", model="qwen3:4b")
    assert fake.chats[0]["think"] is True
    assert proposal.text == "A fox in snow."
    assert proposal.thinking == "Let me think about foxes."


async def test_inline_think_blocks_are_removed(fake, assistant):
    fake.queue("<think>\nThe user wants a fox.\n</think>\n\nA fox in snow.")
    proposal = await assistant.rewrite("fox")
    assert proposal.text == "A fox in snow."


async def test_escape_sequences_and_markup_in_answers_are_neutralised(fake, assistant):
    fake.queue("\x1b]0;pwned\x07\x1b[31mA red [bold]fox[/bold]\x1b[0m in snow\x07.")
    proposal = await assistant.rewrite("fox")
    assert "\x1b" not in proposal.text and "\x07" not in proposal.text
    assert proposal.text == "A red [bold]fox[/bold] in snow."  # markup kept as plain text
    assert proposal.display_text == proposal.text

    fake.queue(json.dumps({"subject": "a fox\x1b[2J", "style": "ink\x9b31m"}))
    fields = (await assistant.decompose("fox")).fields
    # 0x9b is a one-byte CSI: the whole sequence goes
    assert fields["subject"] == "a fox" and fields["style"] == "ink"


@pytest.mark.parametrize("raw, clean", [
    ('"A fox in snow."', "A fox in snow."),
    ('"OPEN" sign and "CLOSED"', '"OPEN" sign and "CLOSED"'),
    ('A sign that says "OPEN".', 'A sign that says "OPEN".'),
    ("Prompt: A fox.", "A fox."),
    ("**A fox.**", "A fox."),
    ("Sure, here is your prompt:\n\nA fox in snow.", "A fox in snow."),
    ("```\nA fox.\n```", "A fox."),
    ("«Лиса в снегу»", "Лиса в снегу"),
    ("<think>unfinished reasoning", ""),
])
def test_clean_answer(raw, clean):
    assert clean_answer(raw) == clean


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_cleaned_answers_never_carry_control_characters(raw):
    cleaned = clean_answer(raw)
    assert not any(ord(c) < 32 and c not in "\n\t" for c in cleaned)
    assert not any(0x7F <= ord(c) <= 0x9F for c in cleaned)
