"""A comparison plan from what a user types in a form: the seeds (``1, 2, 3`` or
``4 random``) and sweep axes (``guidance=2.5,3.5; steps=20,30``)."""

from __future__ import annotations

from ..spec import PromptSpec
from .plan import PlanError, RunPlan, make_plan, parse_axis


def parse_seeds(text: str) -> tuple[list[int] | None, int]:
    """``"1, 2, 3"`` -> those seeds; ``"3 random"`` -> three drawn; blank -> two drawn."""
    words = text.replace(",", " ").split()
    if not words:
        return None, 2
    if len(words) == 2 and words[1] == "random" and words[0].isdigit():
        return None, int(words[0])
    try:
        seeds = [int(w) for w in words]
    except ValueError:
        raise PlanError(f"seeds: {text!r} is not a list of whole numbers (or 'N random')") \
            from None
    return seeds, len(seeds)


def build_plan(a: PromptSpec, b: PromptSpec | None, seeds_text: str, axis_text: str,
               name: str = "") -> RunPlan:
    seeds, count = parse_seeds(seeds_text)
    axes = [parse_axis(part) for part in axis_text.split(";") if part.strip()]
    specs = [a] + ([b] if b is not None else [])
    return make_plan(specs, seeds, seed_count=count, axes=axes,
                     name=name or " vs ".join(s.name for s in specs))
