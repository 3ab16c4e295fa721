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


def sampling_steps(plan: RunPlan) -> int:
    """How many sampling steps the whole plan takes (each cell's steps, else its model's
    default): with a measured seconds-per-step, the estimate shown before Run."""
    from ..spec import VARIANT_DEFAULTS

    total = 0
    for cell in plan.cells():
        steps = cell.spec.params.steps
        if steps is None:
            steps = VARIANT_DEFAULTS.get(cell.spec.model, VARIANT_DEFAULTS["dev"]).steps or 0
        total += steps
    return total


def plan_summary(plan: RunPlan, step_seconds: float | None) -> str:
    """``8 cells (2 prompts × 2 seeds × 2 guidance) · 224 steps · about 4 min``."""
    parts = [f"{len(plan.variants)} prompt{'s' * (len(plan.variants) > 1)}",
             f"{len(plan.seeds)} seed{'s' * (len(plan.seeds) > 1)}",
             *(f"{len(axis.values)} {axis.name}" for axis in plan.axes)]
    steps = sampling_steps(plan)
    text = f"{plan.size} cell{'s' * (plan.size != 1)} ({' × '.join(parts)}) · {steps} steps"
    if step_seconds:
        seconds = steps * step_seconds
        text += (f" · about {seconds / 60:.0f} min" if seconds >= 90
                 else f" · about {seconds:.0f} s") + " at the server's recent step rate"
    else:
        text += " · time: not known until a run has measured the server"
    return text
