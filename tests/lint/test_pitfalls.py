"""The bundled pitfalls library: each pitfall shows exactly the rules it was written for."""

from __future__ import annotations

import pytest

from workbench.library import load_library
from workbench.lint import RULES, fix_all, lint
from workbench.locations import bundled_prompts_dir

LIBRARY = load_library(bundled_prompts_dir() / "pitfalls.toml")
CONTEXT = {spec.name: spec for spec in LIBRARY.prompts}
#: Rules a single library prompt cannot show: they need an A/B partner or a server.
NEEDS_MORE_THAN_A_PROMPT = {"ab-multiple-changes", "ab-seed", "tool-model-missing"}


def _lint(spec):
    return lint(spec, context=CONTEXT, base_dir=LIBRARY.path.parent)


def test_the_library_loads_cleanly():
    assert LIBRARY.problems == []
    assert LIBRARY.title == "FLUX pitfalls"


@pytest.mark.parametrize("spec", LIBRARY.prompts, ids=[s.name for s in LIBRARY.prompts])
def test_each_prompt_yields_exactly_its_rules(spec):
    expected = {tag for tag in spec.tags if tag in RULES}
    if "pitfall" in spec.tags:
        assert expected, f"{spec.name}: a pitfall must name the rule it shows"
        assert spec.notes.strip(), f"{spec.name}: a pitfall explains itself in notes"
    else:
        assert not expected
    assert {d.rule for d in _lint(spec)} == expected


def test_every_rule_that_a_prompt_can_show_has_a_pitfall():
    shown = {tag for spec in LIBRARY.prompts if "pitfall" in spec.tags for tag in spec.tags}
    missing = set(RULES) - shown - NEEDS_MORE_THAN_A_PROMPT - {"vram-estimate"}
    assert not missing


def test_vram_pitfall_is_shown_against_a_small_card():
    # vram-estimate needs to know the card: at 8 GB the 1024x1024 prompts are fine...
    specs = [s for s in LIBRARY.prompts if "pitfall" in s.tags]
    assert not any(d.rule == "vram-estimate" for s in specs
                   for d in lint(s, context=CONTEXT, base_dir=LIBRARY.path.parent,
                                 server_vram_gb=8))
    # ...and at 4 GB every full-size text-to-image prompt is over budget.
    over = [s for s in specs if any(d.rule == "vram-estimate" for d in lint(
        s, context=CONTEXT, base_dir=LIBRARY.path.parent, server_vram_gb=4))]
    assert len(over) > 10


FIXABLE = [s for s in LIBRARY.prompts if "pitfall" in s.tags
           and all(d.fix is not None and d.fix.safe for d in _lint(s))]


def test_the_library_has_safely_fixable_pitfalls():
    assert len(FIXABLE) >= 6


@pytest.mark.parametrize("spec", FIXABLE, ids=lambda s: s.name)
def test_safe_fixes_cure_the_fixable_pitfalls(spec):
    fixed, count = fix_all(spec, context=CONTEXT, base_dir=LIBRARY.path.parent)
    assert count >= 1
    remaining = {d.rule for d in _lint(fixed)}
    assert not remaining & {t for t in spec.tags if t in RULES}
