"""A prompt spec as plain values: the one place specs are (de)serialised.

Library tables (TOML), run plans and manifests (JSON) and the ``workbench`` chunk in a PNG
all hold a spec the same way: library keys, unset values left out.  `spec_values` /
`spec_to_dict` write it, `spec_from_table` / `spec_from_dict` read it back, noting bad
values (wrong type, out of range, not finite) in words instead of raising deep inside a
file format.
"""

from __future__ import annotations

import math
from typing import Any

from .spec import (
    CONTROLS,
    MAX_SEED,
    PARAM_FIELDS,
    VARIANTS,
    Lora,
    Outpaint,
    Params,
    PromptSpec,
    Redux,
    Tools,
)


class SpecDataError(ValueError):
    """Values that do not make a valid spec (what is wrong, for the user)."""


#: Key order for prompts the workbench writes itself (hand-written order is kept as is).
SPEC_KEYS: tuple[str, ...] = (
    "name", "model", "tags", "subject", "action", "style", "context", "foreground",
    "midground", "background", "text", "camera", "raw", "source_image", "follows", "notes",
)
#: The FLUX.1 tools' keys (`spec.Tools`), written right after ``source_image``.
TOOL_KEYS: tuple[str, ...] = ("mask", "mask_grow", "mask_feather", "outpaint", "control",
                              "control_image", "control_strength", "redux")
_AFTER_SOURCE = SPEC_KEYS.index("source_image") + 1
PROMPT_KEYS: tuple[str, ...] = (SPEC_KEYS[:_AFTER_SOURCE] + TOOL_KEYS
                                + SPEC_KEYS[_AFTER_SOURCE:] + PARAM_FIELDS)
#: What the tools' numbers may be (pixels, strengths).
MASK_GROW_LIMIT = 512
MASK_FEATHER_LIMIT = 256
OUTPAINT_LIMIT = 2048
CONTROL_STRENGTH_RANGE = (0.0, 2.0)
REDUX_STRENGTH_RANGE = (0.0, 10.0)
OUTPAINT_SIDES = ("left", "top", "right", "bottom")
_INT_PARAMS = {"seed", "steps", "width", "height"}
_FLOAT_PARAMS = {"guidance", "denoise", "cfg"}
_STR_PARAMS = {"sampler", "scheduler", "preset"}
_BOOL_PARAMS = {"keep_size"}


def shown(value: Any) -> str:
    """A value quoted for a message: repr escapes control and bidi characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def spec_from_table(data: dict[str, Any], where: Any, problems: list[str], *,
                    fallback_name: str | None = None) -> PromptSpec:
    """Build a spec from a prompt table's plain values, noting (not raising) bad values.

    ``data`` may hold anything (a TOML file, a PNG's JSON): a value of the wrong type or
    out of range is reported in ``problems`` and ignored.  ``where`` names the prompt in
    those messages: a string, or an object whose ``at(key)`` gives ``file:line:col: ...``.
    """
    def bad(key: str, why: str) -> None:
        locate = getattr(where, "at", None)
        place = locate(key) if locate is not None else str(where)
        problems.append(f"{place}: `{key}` {why}; it is ignored (and kept in the file)")

    if not isinstance(data, dict):
        problems.append(f"{where}: a prompt must be a table, not {_type_name(data)}; "
                        "it is ignored")
        data = {}
    # (a 10,000-prompt library builds 10,000 specs on every `workbench lint`: the spec is
    # made once, from values checked in the order their problems are reported)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        name = fallback_name or str(where).rsplit(": ", 1)[-1]
        if "name" in data:
            bad("name", "must be a non-empty string")
    values: dict[str, Any] = {"name": name, "model": "dev"}
    model = data.get("model", "dev")
    if isinstance(model, str) and model in VARIANTS:
        values["model"] = model
    else:
        bad("model", f"is {shown(model)}, not one of {', '.join(VARIANTS)}")
    keys = data.keys()
    if not keys.isdisjoint(_TEXT_KEY_SET):
        _texts_into(values, data, bad)
    tags = _tags_from(data, bad)
    params = _params_from(data, bad)
    if keys.isdisjoint(_TOOL_KEY_SET):
        return PromptSpec(**values, tags=tags, params=params)
    return PromptSpec(**values, tags=tags, params=params, tools=_tools_from(data, bad))


def _texts_into(values: dict[str, Any], data: dict[str, Any], bad) -> None:
    for key in _TEXT_KEYS:
        if key in data:
            value = data[key]
            if isinstance(value, str):
                values[key] = value
            else:
                bad(key, f"must be a string, not {_type_name(value)}")


def _tags_from(data: dict[str, Any], bad) -> list[str]:
    if "tags" not in data:
        return []
    tags = data["tags"]
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return list(tags)
    bad("tags", "must be a list of strings")
    return []


_TEXT_KEYS = SPEC_KEYS[3:]
_TEXT_KEY_SET = frozenset(_TEXT_KEYS)
_TOOL_KEY_SET = frozenset(TOOL_KEYS)


def _type_name(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return names.get(type(value), f"a {type(value).__name__}")


#: Whole-number parameters and the values they may take.
_INT_RANGES = {"seed": (0, MAX_SEED), "steps": (-2**31, 2**31 - 1),
               "width": (-2**31, 2**31 - 1), "height": (-2**31, 2**31 - 1)}


def _params_from(data: dict[str, Any], bad) -> Params:
    params = Params()
    present = data.keys() & _PARAM_KEYS
    if present:
        values = params.__dict__
        for key in _INT_ORDER:
            if key in present:
                value, (low, high) = data[key], _INT_RANGES[key]
                if not isinstance(value, int) or isinstance(value, bool):
                    bad(key, "must be a whole number")
                elif not low <= value <= high:
                    bad(key, f"is out of range (it must be from {low} to {high})")
                else:
                    values[key] = value
        for keys, fits, convert, why in _SIMPLE_PARAMS:
            for key in keys:
                if key in present:
                    if fits(data[key]):
                        values[key] = convert(data[key])
                    else:
                        bad(key, why)
    if "loras" in data:
        params.loras = _loras_from(data["loras"], bad)
    return params


def _loras_from(loras: Any, bad) -> list[Lora]:
    if not isinstance(loras, list):
        bad("loras", "must be a list of tables")
        return []
    found = []
    for i, item in enumerate(loras, start=1):
        lora = _lora_from(item, f"loras[{i}]", bad)
        if lora is not None:
            found.append(lora)
    return found


def _in_field_order(keys) -> tuple[str, ...]:
    return tuple(key for key in PARAM_FIELDS if key in keys)


_INT_ORDER = _in_field_order(_INT_PARAMS)
#: (keys in field order, accepts the value, converts it, what is wrong otherwise)
_SIMPLE_PARAMS = (
    (_in_field_order(_FLOAT_PARAMS), lambda v: _is_number(v), float, "must be a finite number"),
    (_in_field_order(_BOOL_PARAMS), lambda v: isinstance(v, bool), bool,
     "must be true or false"),
    (_in_field_order(_STR_PARAMS | {"negative"}), lambda v: isinstance(v, str), str,
     "must be a string"),
)
_PARAM_KEYS = frozenset((*_INT_ORDER, *(key for keys, *_ in _SIMPLE_PARAMS for key in keys)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)


def _lora_from(item: Any, where: str, bad) -> Lora | None:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        bad(where, "needs at least a `name`")
        return None
    strength = item.get("strength", 1.0)
    triggers = item.get("triggers", [])
    if isinstance(triggers, str):
        triggers = [triggers]
    if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
        bad(f"{where}.triggers", f"must be a list of strings, not {_type_name(triggers)}")
        triggers = [t for t in triggers if isinstance(t, str)] \
            if isinstance(triggers, list) else []
    if not _is_number(strength):
        bad(f"{where}.strength", "must be a finite number")
        strength = 1.0
    return Lora(item["name"], float(strength), list(triggers))


def _tools_from(data: dict[str, Any], bad) -> Tools:
    tools = Tools()
    for key in ("mask", "control_image"):
        if key in data:
            if isinstance(data[key], str):
                setattr(tools, key, data[key])
            else:
                bad(key, f"must be a string (a path), not {_type_name(data[key])}")
    if "control" in data:
        control = data["control"]
        if control in CONTROLS or control == "":
            tools.control = control
        else:
            bad("control", f"is {shown(control)}, not one of {', '.join(CONTROLS)}")
    tools.mask_grow = _whole(data, "mask_grow", -MASK_GROW_LIMIT, MASK_GROW_LIMIT, bad)
    tools.mask_feather = _whole(data, "mask_feather", 0, MASK_FEATHER_LIMIT, bad)
    if "control_strength" in data:
        tools.control_strength = _in_range(data["control_strength"], "control_strength",
                                           CONTROL_STRENGTH_RANGE, bad)
    if "outpaint" in data:
        tools.outpaint = outpaint_from(data["outpaint"], "outpaint", bad)
    if "redux" in data:
        tools.redux = _redux_from(data["redux"], bad)
    return tools


def _whole(data: dict[str, Any], key: str, low: int, high: int, bad) -> int | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool):
        bad(key, "must be a whole number of pixels")
    elif not low <= value <= high:
        bad(key, f"is out of range (it must be from {low} to {high} pixels)")
    else:
        return value
    return None


def _in_range(value: Any, key: str, limits: tuple[float, float], bad) -> float | None:
    if not _is_number(value):
        bad(key, "must be a finite number")
    elif not limits[0] <= value <= limits[1]:
        bad(key, f"is out of range (it must be from {limits[0]:g} to {limits[1]:g})")
    else:
        return float(value)
    return None


def outpaint_from(value: Any, key: str, bad) -> Outpaint | None:
    """``{left, top, right, bottom}`` in pixels (missing sides are 0), or None after
    noting what is wrong."""
    if not isinstance(value, dict):
        bad(key, "must be a table like { left = 128, right = 128 } (pixels per side)")
        return None
    unknown = [k for k in value if k not in OUTPAINT_SIDES]
    if unknown:
        bad(key, f"has unknown side(s) {', '.join(map(shown, unknown))} (sides: "
            f"{', '.join(OUTPAINT_SIDES)})")
        return None
    sides = []
    for side in OUTPAINT_SIDES:
        amount = value.get(side, 0)
        if not isinstance(amount, int) or isinstance(amount, bool) \
                or not 0 <= amount <= OUTPAINT_LIMIT:
            bad(f"{key}.{side}", f"must be a whole number of pixels from 0 to {OUTPAINT_LIMIT}")
            return None
        sides.append(amount)
    if not any(sides):
        bad(key, "adds no pixels on any side")
        return None
    return Outpaint(*sides)


def _redux_from(items: Any, bad) -> list[Redux]:
    if isinstance(items, (str, dict)):
        items = [items]
    if not isinstance(items, list):
        bad("redux", "must be a list of tables like { image = \"ref.png\", strength = 0.6 }")
        return []
    found = []
    for i, item in enumerate(items, start=1):
        where = f"redux[{i}]"
        if isinstance(item, str):
            item = {"image": item}
        if not isinstance(item, dict) or not isinstance(item.get("image"), str) \
                or not item["image"].strip():
            bad(where, "needs an `image` (a path)")
            continue
        strength = _in_range(item.get("strength", 1.0), f"{where}.strength",
                             REDUX_STRENGTH_RANGE, bad)
        found.append(Redux(item["image"], 1.0 if strength is None else strength))
    return found


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


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
    values.update(tools_values(spec.tools))
    return values


def tools_values(tools: Tools) -> dict[str, Any]:
    """The tools as TOML values (unset ones None), keyed by `TOOL_KEYS`."""
    outpaint = None
    if tools.outpaint is not None:
        outpaint = {side: amount for side, amount in zip(OUTPAINT_SIDES, tools.outpaint.sides)
                    if amount}
    return {"mask": tools.mask or None, "mask_grow": tools.mask_grow,
            "mask_feather": tools.mask_feather, "outpaint": outpaint,
            "control": tools.control or None, "control_image": tools.control_image or None,
            "control_strength": tools.control_strength,
            "redux": [{"image": r.image, "strength": r.strength} for r in tools.redux] or None}


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
