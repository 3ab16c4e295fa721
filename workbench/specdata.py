"""A prompt spec as plain values: the one place specs are (de)serialised.

Library tables (TOML), run plans and manifests (JSON) and the ``workbench`` chunk in a PNG
all hold a spec the same way: library keys, unset values left out.  `spec_values` /
`spec_to_dict` write it, `spec_from_table` / `spec_from_dict` read it back, noting bad
values in words instead of raising deep inside a file format.
"""

from __future__ import annotations

import math
from typing import Any

from .spec import PARAM_FIELDS, VARIANTS, Lora, Params, PromptSpec


class SpecDataError(ValueError):
    """Values that do not make a valid spec (what is wrong, for the user)."""


#: Key order for prompts the workbench writes itself (hand-written order is kept as is).
SPEC_KEYS: tuple[str, ...] = (
    "name", "model", "tags", "subject", "action", "style", "context", "foreground",
    "midground", "background", "text", "camera", "raw", "source_image", "follows", "notes",
)
PROMPT_KEYS: tuple[str, ...] = SPEC_KEYS + PARAM_FIELDS
_INT_PARAMS = {"seed", "steps", "width", "height"}
_FLOAT_PARAMS = {"guidance", "denoise", "cfg"}
_STR_PARAMS = {"sampler", "scheduler", "preset"}


def spec_from_table(data: dict[str, Any], where: str, problems: list[str]) -> PromptSpec:
    """Build a spec from a prompt table's plain values, noting (not raising) bad values."""

    def bad(key: str, why: str) -> None:
        problems.append(f"{where}: `{key}` {why}; it is ignored (and kept in the file)")

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        name = where.rsplit(": ", 1)[-1]
        if "name" in data:
            bad("name", "must be a non-empty string")
    spec = PromptSpec(name=name)
    model = data.get("model", "dev")
    if model in VARIANTS:
        spec.model = model
    else:
        bad("model", f"is {model!r}, not one of {', '.join(VARIANTS)}")
    for key in SPEC_KEYS[3:]:
        if key in data:
            value = data[key]
            if isinstance(value, str):
                setattr(spec, key, value)
            else:
                bad(key, "must be a string")
    tags = data.get("tags", [])
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        spec.tags = list(tags)
    else:
        bad("tags", "must be a list of strings")
    spec.params = _params_from(data, bad)
    return spec


def _params_from(data: dict[str, Any], bad) -> Params:
    params = Params()
    for key in _INT_PARAMS:
        if key in data:
            value = data[key]
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(params, key, value)
            else:
                bad(key, "must be a whole number")
    for key in _FLOAT_PARAMS:
        if key in data:
            value = data[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value):
                setattr(params, key, float(value))
            else:
                bad(key, "must be a number")
    for key in _STR_PARAMS | {"negative"}:
        if key in data:
            if isinstance(data[key], str):
                setattr(params, key, data[key])
            else:
                bad(key, "must be a string")
    loras = data.get("loras", [])
    if not isinstance(loras, list):
        bad("loras", "must be a list of tables")
        loras = []
    for i, item in enumerate(loras, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            bad(f"loras[{i}]", "needs at least a `name`")
            continue
        strength = item.get("strength", 1.0)
        triggers = item.get("triggers", [])
        if isinstance(triggers, str):
            triggers = [triggers]
        if not isinstance(strength, (int, float)) or isinstance(strength, bool):
            bad(f"loras[{i}].strength", "must be a number")
            strength = 1.0
        params.loras.append(Lora(item["name"], float(strength),
                                 [t for t in triggers if isinstance(t, str)]))
    return params


def spec_values(spec: PromptSpec) -> dict[str, Any]:
    """The spec as TOML values, in `PROMPT_KEYS` order; empty/unset fields map to None."""
    values: dict[str, Any] = {"name": spec.name, "model": spec.model,
                              "tags": list(spec.tags) or None}
    for key in SPEC_KEYS[3:]:
        values[key] = getattr(spec, key) or None
    for key in PARAM_FIELDS:
        value = getattr(spec.params, key)
        if key == "loras":
            value = [_lora_value(lora) for lora in value] or None
        values[key] = value if value not in ("", None) else None
    return values


def _lora_value(lora: Lora) -> dict[str, Any]:
    value: dict[str, Any] = {"name": lora.name, "strength": lora.strength}
    if lora.triggers:
        value["triggers"] = list(lora.triggers)
    return value


def spec_to_dict(spec: PromptSpec) -> dict[str, Any]:
    """The spec as library-format keys with unset values left out (TOML has no null)."""
    return {k: v for k, v in spec_values(spec).items() if v is not None}


def spec_from_dict(data: dict[str, Any], where: str = "spec") -> PromptSpec:
    """Inverse of `spec_to_dict`; raises `SpecDataError` naming every bad value."""
    problems: list[str] = []
    spec = spec_from_table(dict(data), where, problems)
    if problems:
        raise SpecDataError("; ".join(problems))
    return spec
