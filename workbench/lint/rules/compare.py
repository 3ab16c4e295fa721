"""A/B rules: a comparison that can tell what made the difference (codes FX5xx).

Source: the FLUX guide (seed 000): iterate with the same seed so only what you edit
changes; the img2img audit (seed 002): a fixed seed is what makes results comparable.
"""

from __future__ import annotations

from ...spec import PARAM_FIELDS, TEXT_FIELDS, PromptSpec
from ..registry import Hit, rule

COMPARED = ("model", "raw", *TEXT_FIELDS, "source_image",
            *(f for f in PARAM_FIELDS if f != "preset"))


def _value(spec: PromptSpec, name: str):
    if hasattr(spec.params, name) and name not in ("model",):
        return getattr(spec.params, name)
    return getattr(spec, name)


def differing_fields(a: PromptSpec, b: PromptSpec) -> list[str]:
    """The fields (text, model, parameters) in which two specs differ, in editor order."""
    return [name for name in COMPARED if _value(a, name) != _value(b, name)]


@rule("ab-multiple-changes", "FX501", "info",
      needs=("compare",), family="compare",
      summary="the two sides of an A/B differ in more than one field",
      rationale="An A/B comparison can only tell which change did it when exactly one "
                "thing changes; with several, any difference in the images is ambiguous.",
      source="FLUX guide (seed 000), \"Rapid prototyping and iteration\": change one thing "
             "at a time with the same seed")
def ab_multiple_changes(ctx):
    other = ctx.compare_with
    if other is None:
        return
    changed = differing_fields(ctx.spec, other)
    if len(changed) > 1:
        first = changed[0]
        text = getattr(ctx.spec, first, None) if first in ("raw", *TEXT_FIELDS,
                                                          "source_image") else None
        yield Hit(first, 0, len(text) if isinstance(text, str) else 0,
                  f"the A/B differs in {len(changed)} fields: {', '.join(changed)}",
                  suggestion="change one field per comparison")


@rule("ab-seed", "FX502", "warning",
      needs=("compare",), family="compare",
      summary="the two sides of an A/B use different seeds",
      rationale="With different seeds every pixel differs for reasons that have nothing "
                "to do with the change being compared; fix one seed for both sides.",
      source="FLUX guide (seed 000), \"Using seeds for reproducibility\"; img2img audit "
             "(seed 002), issue 3")
def ab_seed(ctx):
    other = ctx.compare_with
    if other is None:
        return
    mine, theirs = ctx.spec.params.seed, other.params.seed
    if mine is not None and theirs is not None and mine != theirs:
        yield Hit("seed", 0, len(str(mine)), f"seed {mine} vs {theirs} on the other side",
                  suggestion=f"use seed {theirs} on both sides")
