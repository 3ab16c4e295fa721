"""Every editable field of a prompt spec as text: how it is labelled, shown and parsed back.

The editor (and anything else that edits specs as text) goes through this table, so a
field's label, help and parsing rules live in one place.  Parsing never raises: it returns
an error message and leaves the spec as it was, so a half-typed number is never lost or
half-applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .spec import MAX_SEED, VARIANTS, Lora, PromptSpec


@dataclass(frozen=True)
class FieldForm:
    key: str
    label: str
    help: str
    kind: str = "text"  # text | multiline | int | float | tags | loras | choice
    group: str = "prompt"  # prompt | layers | image | params | notes

    @property
    def is_param(self) -> bool:
        return self.group == "params"


FORMS: tuple[FieldForm, ...] = (
    FieldForm("name", "Name", "Unique name of this prompt in its library", group="head"),
    FieldForm("model", "Model", "FLUX.1 variant: dev, schnell or kontext", "choice", "head"),
    FieldForm("tags", "Tags", "Comma-separated tags, for filtering with #tag", "tags", "head"),
    FieldForm("subject", "Subject", "Who or what the image is about; FLUX weighs it most"),
    FieldForm("action", "Action", "What the subject is doing"),
    FieldForm("style", "Style", "Medium, look and lighting, described rather than named"),
    FieldForm("context", "Context", "Setting, time, mood"),
    FieldForm("foreground", "Foreground", "What is closest to the camera", group="layers"),
    FieldForm("midground", "Middle", "The middle ground", group="layers"),
    FieldForm("background", "Background", "What is far away", group="layers"),
    FieldForm("text", "Image text", "Exact text that must appear in the image (quoted)"),
    FieldForm("camera", "Camera", "Lens, angle, depth of field, film stock"),
    FieldForm("raw", "Raw text", "Raw-text mode: when set, this is the prompt and the "
              "structured fields are ignored", "multiline"),
    FieldForm("source_image", "Source img", "Image to start from (img2img, Kontext)",
              group="image"),
    FieldForm("follows", "Follows", "Prompt whose result this Kontext edit continues",
              group="image"),
    FieldForm("seed", "Seed", "Fixed seed; empty = drawn once per run", "int", "params"),
    FieldForm("steps", "Steps", "Sampling steps (dev 20-50, schnell 1-4)", "int", "params"),
    FieldForm("guidance", "Guidance", "FluxGuidance (dev 2.0-3.5; schnell ignores it)",
              "float", "params"),
    FieldForm("cfg", "CFG", "Sampler cfg; keep 1.0 for dev and schnell", "float", "params"),
    FieldForm("width", "Width", "Pixels, a multiple of 16", "int", "params"),
    FieldForm("height", "Height", "Pixels, a multiple of 16", "int", "params"),
    FieldForm("sampler", "Sampler", "ComfyUI sampler name, e.g. euler", group="params"),
    FieldForm("scheduler", "Scheduler", "ComfyUI scheduler, e.g. simple", group="params"),
    FieldForm("denoise", "Denoise", "1.0 for text-to-image; 0.5-0.85 for img2img", "float",
              "params"),
    FieldForm("negative", "Negative", "Negative prompt (no effect at cfg 1)", group="params"),
    FieldForm("preset", "Preset", "Named preset of parameters", group="params"),
    FieldForm("loras", "LoRAs", "file.safetensors:0.8:trigger, other trigger; next.safetensors",
              "loras", "params"),
    FieldForm("notes", "Notes", "Free notes: why this prompt, what you learned", "multiline",
              "notes"),
)
FORM_BY_KEY = {form.key: form for form in FORMS}


def field_text(spec: PromptSpec, key: str) -> str:
    form = FORM_BY_KEY[key]
    value = getattr(spec.params, key) if form.is_param else getattr(spec, key)
    if form.kind == "tags":
        return ", ".join(value)
    if form.kind == "loras":
        return format_loras(value)
    if value is None:
        return ""
    if form.kind == "float":
        return f"{value:g}"
    return str(value)


def set_field(spec: PromptSpec, key: str, text: str) -> str | None:
    """Apply ``text`` to ``spec``; returns an error message (and changes nothing) if invalid."""
    form = FORM_BY_KEY[key]
    try:
        value = _parse(form, text)
    except ValueError as exc:
        return f"{form.label}: {exc}"
    setattr(spec.params if form.is_param else spec, key, value)
    return None


def _int(form: FieldForm, stripped: str) -> int | None:
    if not stripped:
        return None
    try:
        value = int(stripped.replace("_", ""))
    except ValueError:
        raise ValueError(f"{stripped!r} is not a whole number") from None
    low, high = (0, MAX_SEED) if form.key == "seed" else (-2**31, 2**31 - 1)
    if not low <= value <= high:
        raise ValueError(f"must be from {low} to {high}")
    return value


def _float(form: FieldForm, stripped: str) -> float | None:
    if not stripped:
        return None
    try:
        value = float(stripped)
    except ValueError:
        raise ValueError(f"{stripped!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _choice(form: FieldForm, stripped: str) -> str:
    if stripped not in VARIANTS:
        raise ValueError(f"must be one of {', '.join(VARIANTS)}")
    return stripped


_BY_KIND = {"int": _int, "float": _float, "choice": _choice}


def _parse(form: FieldForm, text: str):
    stripped = text.strip()
    if form.kind in _BY_KIND:
        return _BY_KIND[form.kind](form, stripped)
    if form.kind == "tags":
        return [t.strip().lstrip("#") for t in text.split(",") if t.strip().lstrip("#")]
    if form.kind == "loras":
        return parse_loras(text)
    if form.key == "name":
        if not stripped:
            raise ValueError("a prompt needs a name")
        return stripped
    if form.key in ("sampler", "scheduler", "preset"):
        return stripped or None
    return text


def format_loras(loras: list[Lora]) -> str:
    return "; ".join(
        ":".join([lora.name, f"{lora.strength:g}"] + ([", ".join(lora.triggers)]
                                                       if lora.triggers else []))
        for lora in loras)


def parse_loras(text: str) -> list[Lora]:
    """``name[:strength[:trigger, trigger]]`` items separated by ``;``."""
    loras = []
    for item in text.split(";"):
        if not item.strip():
            continue
        name, _, rest = item.strip().partition(":")
        strength_text, _, triggers = rest.partition(":")
        strength = 1.0
        if strength_text.strip():
            try:
                strength = float(strength_text)
            except ValueError:
                raise ValueError(f"strength {strength_text.strip()!r} of {name.strip()!r} "
                                 "is not a number") from None
            if not math.isfinite(strength):
                raise ValueError(f"strength of {name.strip()!r} must be a finite number")
        if not name.strip():
            raise ValueError("a LoRA needs a file name")
        loras.append(Lora(name.strip(), strength,
                          [t.strip() for t in triggers.split(",") if t.strip()]))
    return loras
