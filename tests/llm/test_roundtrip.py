"""Decompose -> compose keeps every field's content, for the bundled examples and some
awkward prompts: what the model returns survives parsing, validation and applying."""

from __future__ import annotations

import json

import pytest

from workbench import locations
from workbench.collection import load_collection
from workbench.compose import clean, compose
from workbench.spec import TEXT_FIELDS, PromptSpec

AWKWARD = [
    PromptSpec("quotes", subject='a chalkboard', action='reading "Soup of the day"',
               text='TODAY: 5 €', style="chalk art {not a placeholder}"),
    PromptSpec("unicode", subject="狐狸", context="雪の朝, зимнее утро", camera="85mm f/1.4"),
    PromptSpec("layers", subject="a tram", foreground="wet cobblestones\nwith puddles",
               midground="a red tram", background="misty hills", style="35mm film"),
    PromptSpec("backslash", subject=r"a sign with C:\path\to\file", text="\\o/"),
]


def bundled_specs() -> list[PromptSpec]:
    folder = locations.bundled_prompts_dir()
    if not folder.is_dir():
        return []
    return [s for lib in load_collection(folder).libraries for s in lib.prompts if not s.is_raw]


@pytest.mark.parametrize("spec", AWKWARD + bundled_specs(), ids=lambda s: s.name)
async def test_decompose_then_compose_keeps_every_field(fake, assistant, spec):
    composed = compose(spec)
    by_text = {composed: {name: getattr(spec, name) for name in TEXT_FIELDS}}

    def model(request: dict) -> str:
        prompt = request["messages"][1]["content"].split("<<<\n", 1)[1].rsplit("\n>>>", 1)[0]
        return json.dumps(by_text[prompt], ensure_ascii=False)

    fake.responder = model
    proposal = await assistant.decompose(composed)
    rebuilt = proposal.apply_to(PromptSpec(spec.name, raw=composed))
    for name in TEXT_FIELDS:
        assert getattr(rebuilt, name) == clean(getattr(spec, name)), name
    assert compose(rebuilt) == composed
