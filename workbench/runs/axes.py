"""Sweep axes of a run plan: which setting a grid varies, its values, and how a value is
put into a spec.

``guidance``, ``steps``, ``sampler``, ``scheduler``, ``model``, ``size`` and
``lora:<file>`` (one LoRA's strength) vary generation; the FLUX.1 tools add
``mask_grow`` / ``mask_feather`` (pixels), ``control_strength`` (the control LoRA),
``redux_strength`` (every reference) and ``tool`` = ``on`` / ``off`` (the same prompt and
seed with and without its tools, to see what the control does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..spec import VARIANTS, Lora, PromptSpec, Tools
from ..specdata import (
    CONTROL_STRENGTH_RANGE,
    MASK_FEATHER_LIMIT,
    MASK_GROW_LIMIT,
    REDUX_STRENGTH_RANGE,
)

#: Sweep axes a plan understands; ``lora:<file name>`` sweeps one LoRA's strength.
AXIS_NAMES: tuple[str, ...] = ("guidance", "steps", "sampler", "scheduler", "model", "size",
                               "mask_grow", "mask_feather", "control_strength",
                               "redux_strength", "tool")
#: The axes only a prompt with FLUX tools can vary.
TOOL_AXES = ("mask_grow", "mask_feather", "control_strength", "redux_strength", "tool")
LORA_AXIS_PREFIX = "lora:"
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")


class PlanError(ValueError):
    """A plan that can't be built or read: what is wrong, in words for the user."""


@dataclass
class Axis:
    """One sweep dimension: which setting and the values it takes, in order."""

    name: str
    values: list[Any]

    @property
    def lora_name(self) -> str | None:
        return self.name[len(LORA_AXIS_PREFIX):] if self.name.startswith(LORA_AXIS_PREFIX) \
            else None

    @property
    def label(self) -> str:
        return f"lora {self.lora_name}" if self.lora_name is not None else self.name


def _number(name: str, value: Any) -> float:
    number = float(value)
    if not math.isfinite(number) or (name == "guidance" and number < 0):
        raise ValueError
    return number


def _steps(name: str, value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError
    steps = int(value)
    if steps < 1:
        raise ValueError
    return steps


def _word(name: str, value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError
    return text


def _model(name: str, value: Any) -> str:
    if value not in VARIANTS:
        raise ValueError
    return value


def _size(name: str, value: Any) -> str:
    width, height = parse_size(str(value))
    return f"{width}x{height}"


def _pixels(name: str, value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError
    pixels = int(value)
    low, high = (-MASK_GROW_LIMIT, MASK_GROW_LIMIT) if name == "mask_grow" \
        else (0, MASK_FEATHER_LIMIT)
    if not low <= pixels <= high:
        raise ValueError
    return pixels


def _strength(name: str, value: Any) -> float:
    number = float(value)
    low, high = CONTROL_STRENGTH_RANGE if name == "control_strength" else REDUX_STRENGTH_RANGE
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError
    return number


def _on_off(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    word = str(value).strip().lower()
    if word not in ("on", "off"):
        raise ValueError
    return word


#: axis -> its value checker (``lora:<file>`` axes check like guidance)
_AXIS_VALUES: dict[str, Callable[[str, Any], Any]] = {
    "guidance": _number, "steps": _steps, "sampler": _word, "scheduler": _word,
    "model": _model, "size": _size, "mask_grow": _pixels, "mask_feather": _pixels,
    "control_strength": _strength, "redux_strength": _strength, "tool": _on_off}


def axis_value(name: str, value: Any) -> Any:
    """``value`` checked and converted for axis ``name`` (strings from a CLI are fine)."""
    check = _number if name.startswith(LORA_AXIS_PREFIX) else _AXIS_VALUES.get(name)
    if check is None:
        raise PlanError(f"unknown axis {name!r}; use one of {', '.join(AXIS_NAMES)} "
                        f"or {LORA_AXIS_PREFIX}<lora file>")
    try:
        return check(name, value)
    except (TypeError, ValueError, OverflowError):
        raise PlanError(f"{value!r} is not a valid value for the {name} axis") from None


def parse_size(text: str) -> tuple[int, int]:
    """``"1024x768"`` -> ``(1024, 768)``."""
    match = _SIZE.match(text)
    if not match or not all(int(g) > 0 for g in match.groups()):
        raise ValueError(f"{text!r} is not a size like 1024x768")
    return int(match.group(1)), int(match.group(2))


def make_axis(name: str, values: Iterable[Any]) -> Axis:
    """A checked axis; duplicate values are refused (they would make identical cells)."""
    name = name.strip()
    if name.startswith(LORA_AXIS_PREFIX) and not name[len(LORA_AXIS_PREFIX):].strip():
        raise PlanError("a lora axis needs the LoRA file name: lora:<file>=0.5,1.0")
    converted = [axis_value(name, v) for v in values]
    if not converted:
        raise PlanError(f"the {name} axis has no values")
    if len(set(map(repr, converted))) != len(converted):
        raise PlanError(f"the {name} axis repeats a value")
    return Axis(name, converted)


def parse_axis(text: str) -> Axis:
    """``"guidance=2.5,3.5"`` / ``"lora:film.safetensors=0.5,1"`` -> `Axis`."""
    name, sep, values = text.partition("=")
    if not sep:
        raise PlanError(f"{text!r}: write an axis as NAME=V1,V2 (e.g. guidance=2.5,3.5)")
    return make_axis(name, [v.strip() for v in values.split(",") if v.strip()])


def apply_axis(spec: PromptSpec, name: str, value: Any) -> None:
    """Set one axis value on ``spec`` (in place)."""
    params = spec.params
    if name == "guidance":
        params.guidance = float(value)
    elif name == "steps":
        params.steps = int(value)
    elif name == "sampler":
        params.sampler = str(value)
    elif name == "scheduler":
        params.scheduler = str(value)
    elif name == "model":
        spec.model = value
    elif name == "size":
        params.width, params.height = parse_size(str(value))
    elif name in TOOL_AXES:
        _apply_tool_axis(spec, name, value)
    elif name.startswith(LORA_AXIS_PREFIX):
        lora_name = name[len(LORA_AXIS_PREFIX):]
        for lora in params.loras:
            if lora.name == lora_name:
                lora.strength = float(value)
                break
        else:
            params.loras.append(Lora(lora_name, float(value)))
    else:
        raise PlanError(f"unknown axis {name!r}")


def _apply_tool_axis(spec: PromptSpec, name: str, value: Any) -> None:
    tools = spec.tools
    if name == "tool":
        if value == "off":
            spec.tools = Tools()   # same prompt and seed, no mask, control or references
    elif name == "redux_strength":
        for ref in tools.redux:
            ref.strength = float(value)
    else:
        setattr(tools, name, value)


def tool_axis_problem(spec: PromptSpec, name: str) -> str | None:
    """Why axis ``name`` would change nothing for ``spec`` (None: it matters)."""
    tools = spec.tools
    needs = {"mask_grow": tools.mask.strip() and tools.outpaint is None,
             "mask_feather": tools.fill, "control_strength": bool(tools.control_image),
             "redux_strength": bool(tools.redux), "tool": tools.used}
    if name in needs and not needs[name]:
        what = {"mask_grow": "a mask", "mask_feather": "a mask or outpaint padding",
                "control_strength": "a control image", "redux_strength": "Redux references",
                "tool": "FLUX tools"}[name]
        return f"the {name} axis needs a prompt with {what}; {spec.name!r} has none"
    return None

