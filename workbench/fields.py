"""Every editable field of a prompt spec as text: how it is labelled, shown and parsed back.

The editor (and anything else that edits specs as text) goes through this table, so a
field's label, help and parsing rules live in one place.  Parsing never raises: it returns
an error message and leaves the spec as it was, so a half-typed number is never lost or
half-applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .spec import CONTROLS, MAX_SEED, VARIANTS, Lora, Outpaint, PromptSpec, Redux
from .specdata import (
    CONTROL_STRENGTH_RANGE,
    MASK_FEATHER_LIMIT,
    MASK_GROW_LIMIT,
    OUTPAINT_LIMIT,
    OUTPAINT_SIDES,
    REDUX_STRENGTH_RANGE,
)


@dataclass(frozen=True)
class FieldForm:
    """How the editor shows one spec field: label, help, kind and group."""
    key: str
    label: str
    help: str
    kind: str = "text"  # text | multiline | int | float | tags | loras | choice | path
    #                     | control | outpaint | redux
    group: str = "prompt"  # prompt | layers | image | tools | params | notes

    @property
    def is_param(self) -> bool:
        return self.group == "params"

    @property
    def completes_paths(self) -> bool:
        """The editor offers image-path completion here (see `complete_image_field`)."""
        return self.kind in ("path", "redux")


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
    FieldForm("source_image", "Source img", "Image to start from (img2img, Kontext, Fill)",
              "path", "image"),
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
    FieldForm("mask", "Mask", "FLUX Fill: PNG as big as the source, white = repaint",
              "path", "tools"),
    FieldForm("mask_grow", "Mask grow", f"Pixels to grow (or, negative, shrink) the mask; "
              f"±{MASK_GROW_LIMIT}", "int", "tools"),
    FieldForm("mask_feather", "Feather", "Pixels of soft edge on the mask (outpaint: "
              f"on the new border); 0-{MASK_FEATHER_LIMIT}", "int", "tools"),
    FieldForm("outpaint", "Outpaint", "FLUX Fill: new pixels per side, e.g. left=256 "
              "right=256 (snapped to 16)", "outpaint", "tools"),
    FieldForm("control", "Control", "Structure control: canny (edges of a photo) or depth "
              "(a depth map)", "control", "tools"),
    FieldForm("control_image", "Control img", "Photo for canny, depth map for depth",
              "path", "tools"),
    FieldForm("control_strength", "Strength", "Strength of the Canny/Depth LoRA on dev "
              "(set: the LoRA is used; BFL: 0.85)", "float", "tools"),
    FieldForm("redux", "Redux", "FLUX Redux references: ref.png:0.6; other.png (strength "
              f"{REDUX_STRENGTH_RANGE[0]:g}-{REDUX_STRENGTH_RANGE[1]:g}, default 1; below 1 the "
              "prompt counts more)", "redux", "tools"),
    FieldForm("notes", "Notes", "Free notes: why this prompt, what you learned", "multiline",
              "notes"),
)
FORM_BY_KEY = {form.key: form for form in FORMS}


def _holder(spec: PromptSpec, form: FieldForm):
    if form.is_param:
        return spec.params
    return spec.tools if form.group == "tools" else spec


def field_text(spec: PromptSpec, key: str) -> str:
    form = FORM_BY_KEY[key]
    value = getattr(_holder(spec, form), key)
    if form.kind == "tags":
        return ", ".join(value)
    if form.kind == "loras":
        return format_loras(value)
    if form.kind == "outpaint":
        return format_outpaint(value)
    if form.kind == "redux":
        return format_redux(value)
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
    setattr(_holder(spec, form), key, value)
    return None


def _int(form: FieldForm, stripped: str) -> int | None:
    if not stripped:
        return None
    try:
        value = int(stripped.replace("_", ""))
    except ValueError:
        raise ValueError(f"{stripped!r} is not a whole number") from None
    low, high = _INT_LIMITS.get(form.key, (-2**31, 2**31 - 1))
    if not low <= value <= high:
        raise ValueError(f"must be from {low} to {high}")
    return value


_INT_LIMITS = {"seed": (0, MAX_SEED), "mask_grow": (-MASK_GROW_LIMIT, MASK_GROW_LIMIT),
               "mask_feather": (0, MASK_FEATHER_LIMIT)}


def _float(form: FieldForm, stripped: str) -> float | None:
    if not stripped:
        return None
    try:
        value = float(stripped)
    except ValueError:
        raise ValueError(f"{stripped!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if form.key == "control_strength" and not (
            CONTROL_STRENGTH_RANGE[0] <= value <= CONTROL_STRENGTH_RANGE[1]):
        raise ValueError("must be from {:g} to {:g}".format(*CONTROL_STRENGTH_RANGE))
    return value


def _choice(form: FieldForm, stripped: str) -> str:
    if stripped not in VARIANTS:
        raise ValueError(f"must be one of {', '.join(VARIANTS)}")
    return stripped


def _control(form: FieldForm, stripped: str) -> str:
    if stripped.lower() not in CONTROLS + ("",):
        raise ValueError(f"must be {' or '.join(CONTROLS)} (or empty)")
    return stripped.lower()


_BY_KIND = {"int": _int, "float": _float, "choice": _choice, "control": _control,
            "outpaint": lambda form, stripped: parse_outpaint(stripped),
            "redux": lambda form, stripped: parse_redux(stripped)}


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


def format_outpaint(outpaint: Outpaint | None) -> str:
    if outpaint is None:
        return ""
    return " ".join(f"{side}={amount}" for side, amount in zip(OUTPAINT_SIDES, outpaint.sides)
                    if amount)


def parse_outpaint(text: str) -> Outpaint | None:
    """``left=256 right=256`` (commas also separate; one plain number pads every side)."""
    words = text.replace(",", " ").split()
    if not words:
        return None
    if len(words) == 1 and "=" not in words[0]:
        amount = _pixels(words[0], "every side")
        return Outpaint(amount, amount, amount, amount) if amount else None
    sides = dict.fromkeys(OUTPAINT_SIDES, 0)
    for word in words:
        side, sep, amount = word.partition("=")
        if not sep or side.lower() not in sides:
            raise ValueError(f"{word!r}: write sides as left=256 (sides: "
                             f"{', '.join(OUTPAINT_SIDES)})")
        sides[side.lower()] = _pixels(amount, side)
    if not any(sides.values()):
        return None
    return Outpaint(**sides)


def _pixels(text: str, side: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{side}: {text!r} is not a whole number of pixels") from None
    if not 0 <= value <= OUTPAINT_LIMIT:
        raise ValueError(f"{side}: must be from 0 to {OUTPAINT_LIMIT} pixels")
    return value


def format_redux(refs: list[Redux]) -> str:
    return "; ".join(ref.image if ref.strength == 1.0 else f"{ref.image}:{ref.strength:g}"
                     for ref in refs)


def parse_redux(text: str) -> list[Redux]:
    """``image[:strength]`` items separated by ``;`` (a number after the last colon is the
    strength, so a path may hold colons)."""
    refs = []
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        image, sep, tail = item.rpartition(":")
        strength = 1.0
        if not sep:
            image = item
        else:
            try:
                strength = float(tail)
            except ValueError:
                image = item  # no strength: the colon belongs to the path
        low, high = REDUX_STRENGTH_RANGE
        if not math.isfinite(strength) or not low <= strength <= high:
            raise ValueError(f"strength of {image.strip()!r} must be from {low:g} to {high:g}")
        if not image.strip():
            raise ValueError("a Redux reference needs an image path")
        refs.append(Redux(image.strip(), strength))
    return refs
