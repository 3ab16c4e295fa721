"""Rule triggers are necessary conditions: a rule the plan does not call for a prompt would
have found nothing in it (see `workbench.lint.plan`).  Checked on every corpus prompt, as a
text-to-image prompt, a Kontext edit and a set of structured fields, plus varied
syntax-heavy and non-English texts."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

from workbench.lint import RULES
from workbench.lint.context import LintContext
from workbench.lint.plan import plan_for
from workbench.spec import TEXT_FIELDS, Params, PromptSpec

CORPUS = Path(__file__).parent / "corpus"
TEXTS = [entry["text"] for name in ("prompts.toml", "heldout.toml")
         for entry in tomllib.loads((CORPUS / name).read_text(encoding="utf-8"))["prompt"]]
NOISE = ["(red:1.2)", "[blue]", "{a|b}", "word::2", "<lora:x:0.8>", "BREAK", "EasyNegative",
         "embedding:foo", '"OPEN"', "'sign'", "«text»", "8K", "HDR", "best quality",
         "white background", "WHITE BACKGROUND", "no blur", "Not", "by Greg Rutkowski",
         "in the style of Monet", "artgerm", "写着", "桜の花", "Привет мир", "El gato y la casa",
         "golden hour", "lit", "a sign that reads HELLO", "TITLE CASE WORDS", "\t", "，", "、"]


def _specs():
    rng = random.Random(11)
    for text in TEXTS:
        yield PromptSpec(name="t2i", raw=text), False
        yield PromptSpec(name="edit", model="kontext", raw=text), True
        fields = dict(zip(rng.sample(TEXT_FIELDS, 3), text.split(",", 2)))
        yield PromptSpec(name="fields", **fields), None
    for i in range(300):
        words = rng.sample(TEXTS, 2)[0].split() + rng.sample(NOISE, 4)
        rng.shuffle(words)
        text = " ".join(words)
        yield PromptSpec(name=f"noise {i}", model=rng.choice(["dev", "schnell"]), raw=text,
                         params=Params(steps=rng.choice([None, 4, 60]),
                                       width=rng.choice([None, 1000, 4096]))), None


def test_a_rule_the_plan_skips_finds_nothing():
    plan = plan_for(None)
    missed = []
    for spec, edit in _specs():
        ctx = LintContext(spec, edit=edit)
        called = {rule.slug for rule in plan.rules_for(ctx)}
        for rule in RULES.values():
            if rule.slug in called or (rule.when is not None and not rule.when(ctx)):
                continue
            if list(rule.check(ctx)):
                missed.append((rule.slug, spec.name, spec.raw[:60]))
    assert not missed, missed[:10]


def test_the_plan_skips_most_rules_on_a_plain_prompt():
    spec = PromptSpec(name="p", raw="An old fisherman mends a green net on a wooden pier, "
                                    "soft golden light, documentary photograph")
    called = {rule.slug for rule in plan_for(None).rules_for(LintContext(spec))}
    assert "negation" not in called and "weight-syntax" not in called
    assert "lora-tag" not in called and "steps-range" not in called
    assert {"prompt-length", "keyword-list"} <= called
