"""Shortcuts the rules take to skip work give the answers of the work they skip: checked on
arbitrary specs (the property tests' strategy) and on every corpus prompt."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypothesis import given

from workbench.lint.context import LintContext
from workbench.lint.rules.length import content_words, has_content_words
from workbench.spec import PromptSpec

from .test_properties import SETTINGS, specs

CORPUS = Path(__file__).parent / "corpus"
TEXTS = [entry["text"] for name in ("prompts.toml", "heldout.toml")
         for entry in tomllib.loads((CORPUS / name).read_text(encoding="utf-8"))["prompt"]]


def _agrees(spec: PromptSpec) -> None:
    counted = content_words(LintContext(spec))
    for count in range(0, 14):
        assert has_content_words(LintContext(spec), count) == (counted >= count), \
            (spec, count, counted)


@SETTINGS
@given(specs())
def test_has_content_words_agrees_with_the_count(spec):
    _agrees(spec)


def test_has_content_words_agrees_on_the_corpus():
    for text in TEXTS:
        _agrees(PromptSpec(name="p", raw=text))
        for cut in (3, 6, 12):  # short ones too, around the thresholds
            _agrees(PromptSpec(name="p", raw=" ".join(text.split()[:cut])))
    _agrees(PromptSpec(name="p", raw="masterpiece, best quality, 8k, 4 5 6, ultra-detailed x-5"))
