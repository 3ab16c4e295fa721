"""In which order a plan's cells go out, so ComfyUI re-uses what it caches.

ComfyUI keeps the previous job's node outputs: a job with the same model + LoRA set skips
the model load, one with the same text skips the encoding.  `order_for_cache` groups
cells that way, `group_by_model` cuts the order into the units a server should take
whole, and `cache_cost` counts what an order would reload and re-encode.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from ..compose import compose
from .plan import Cell


def model_key(cell: Cell) -> tuple:
    """What ComfyUI must (re)load for a cell: the model variant and the LoRA set with its
    strengths (a different strength re-patches the model)."""
    loras = tuple(sorted((lora.name, lora.strength) for lora in cell.spec.params.loras))
    return (cell.spec.model, loras)


def text_key(cell: Cell) -> tuple:
    """What the text encoder sees: the composed prompt and the negative text.  (This
    assumes every model variant uses the same text encoder files; a runner that knows the
    actual workflows can pass its own keys, e.g. the loader and CLIPTextEncode inputs.)"""
    return (compose(cell.spec), cell.spec.params.negative)


KeyFn = Callable[[Cell], Hashable]


def order_for_cache(cells: Sequence[Cell], *, model_key: KeyFn = model_key,
                    text_key: KeyFn = text_key) -> list[Cell]:
    """``cells`` reordered so jobs sharing a model + LoRA set run together and, within
    that, jobs sharing the prompt text run together.  Groups keep their first-appearance
    order and cells keep plan order inside a group, except that a model group starts with
    the text the previous group ended on (that encoding is still cached)."""
    by_model: dict[Hashable, dict[Hashable, list[Cell]]] = {}
    for cell in cells:
        by_model.setdefault(model_key(cell), {}).setdefault(text_key(cell), []).append(cell)
    ordered: list[Cell] = []
    last_text: Hashable = object()
    for groups in by_model.values():
        keys = list(groups)
        if last_text in groups:
            keys.remove(last_text)
            keys.insert(0, last_text)
        for key in keys:
            ordered.extend(groups[key])
        last_text = keys[-1]
    return ordered


def group_by_model(cells: Sequence[Cell], *, model_key: KeyFn = model_key
                   ) -> list[list[Cell]]:
    """Consecutive runs of cells sharing a model + LoRA set (apply to `order_for_cache`'s
    result): the units a runner can hand to one server so it loads the model once."""
    groups: list[list[Cell]] = []
    last = object()
    for cell in cells:
        key = model_key(cell)
        if key != last:
            groups.append([])
            last = key
        groups[-1].append(cell)
    return groups


@dataclass(frozen=True)
class CacheCost:
    """Model loads and text encodings a submission order costs (the first ones included)."""

    model_loads: int
    text_encodes: int


def cache_cost(cells: Sequence[Cell], *, model_key: KeyFn = model_key,
               text_key: KeyFn = text_key) -> CacheCost:
    """Count, for jobs run in this order on one server that caches only the previous job's
    node outputs, how often the model + LoRA set changes and how often the text does."""
    loads = encodes = 0
    last_model = last_text = None
    for cell in cells:
        mk, tk = model_key(cell), text_key(cell)
        if mk != last_model:
            loads += 1
        if tk != last_text:
            encodes += 1
        last_model, last_text = mk, tk
    return CacheCost(loads, encodes)
