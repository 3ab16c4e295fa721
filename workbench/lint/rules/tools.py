"""FLUX.1 tools rules: Fill, Canny, Depth and Redux (codes FX7xx).

Sources: BFL's reference code for the tools (github.com/black-forest-labs/flux:
``cli_fill.py`` samples Fill at guidance 30; ``cli_control.py`` Canny and the Canny LoRA at
30, Depth and the Depth LoRA at 10, LoRA scale 0.85; ``docs/fill.md``: the mask is an
image of the same size as the picture, black and white), ComfyUI's FLUX tools templates
(FluxGuidance 30 for Fill), and what users of Redux report (InvokeAI PR 7752, mflux PR
190: past a low strength Redux all but drowns the text prompt).

Every rule here is gated on the spec using a tool (`spec.Tools.used`), so a plain prompt
pays one attribute check; the image checks read file headers only, cached per file
version (`sources.image_size`).
"""

from __future__ import annotations

import time

from ...spec import tools_problem
from ...toolfiles import TOOL_MODELS, missing_tool_files
from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from .sources import image_size

BFL_TOOLS = ("BFL's FLUX.1 tools reference code (github.com/black-forest-labs/flux, "
             "cli_fill.py / cli_control.py)")
#: (low, high, recommended) FluxGuidance per tool model, around BFL's defaults.
GUIDANCE_RANGES = {"fill": (20.0, 40.0, 30.0), "canny": (20.0, 40.0, 30.0),
                   "depth": (5.0, 15.0, 10.0)}
#: A Fill (inpaint) prompt longer than this describes more than the masked area.
FILL_PROMPT_WORDS = 40
#: Redux strength from which the reference drowns the text (StyleModelApply "multiply").
REDUX_STRONG = 0.8
_SCENE_FIELDS = ("context", "foreground", "midground", "background")


def _tool_kind(spec) -> str | None:
    """"fill", "canny" or "depth" (the guidance-sensitive models), else None."""
    if spec.model != "dev":
        return None
    if spec.tools.fill:
        return "fill"
    control = spec.tools.control  # "" when a control image names no model kind
    return control if control in ("canny", "depth") and spec.tools.control_image.strip() \
        else None


@rule("tool-guidance", "FX701", "warning", needs=("tools",), family="tools", fix="unsafe",
      summary="Fill, Canny or Depth guidance far from what BFL made them for",
      rationale="The FLUX.1 tools models are guidance-distilled at much higher guidance "
                "than dev: BFL samples Fill and Canny at 30 and Depth at 10. At dev's usual "
                "2–3.5 a Fill comes out washed out and a control barely holds; far above, "
                "results over-saturate.",
      source=f"{BFL_TOOLS}: guidance 30 (Fill, Canny, Canny LoRA), 10 (Depth, Depth LoRA)")
def tool_guidance(ctx):
    kind = _tool_kind(ctx.spec)
    guidance = ctx.params.guidance
    if kind is None or guidance is None:
        return
    low, high, best = GUIDANCE_RANGES[kind]
    if low <= guidance <= high:
        return
    name = {"fill": "FLUX Fill", "canny": "FLUX Canny", "depth": "FLUX Depth"}[kind]
    current = ctx.spec.params.guidance
    text = "" if current is None else f"{current:g}"
    where = "" if current is not None else " (from the preset)"
    yield Hit("guidance", 0, len(text),
              f"guidance {guidance:g}{where} is far from the {best:g} {name} was made for "
              f"({low:g}–{high:g} works)",
              fix=Fix(f"set guidance {best:g}", (Edit("guidance", 0, len(text), f"{best:g}"),)),
              suggestion=f"BFL samples {name} at guidance {best:g}")


@rule("fill-prompt-scope", "FX702", "warning",
      needs=("tools",),
      when=lambda ctx: bool(ctx.spec.tools.mask.strip()) and ctx.spec.tools.outpaint is None,
      family="tools",
      summary="a Fill (inpaint) prompt that describes the whole picture",
      rationale="FLUX Fill repaints only the white part of the mask and keeps the rest; its "
                "prompt should say what goes there (BFL's example for a masked cup: \"a "
                "white paper cup\"). A description of the whole scene makes Fill paint the "
                "scene again, small, inside the mask.",
      source=f"{BFL_TOOLS}; docs/fill.md")
def fill_prompt_scope(ctx):
    spec = ctx.spec
    if not ctx.is_raw:
        for name in _SCENE_FIELDS:
            value = getattr(spec, name)
            if value.strip():
                yield Hit(name, 0, len(value),
                          f"`{name}` describes the rest of the picture, which Fill keeps: "
                          "say only what goes in the masked area",
                          suggestion="clear the scene fields; describe the new object, its "
                                     "material and how the room's light falls on it")
                return
    field, text = ctx.whole
    if ctx.whole_words > FILL_PROMPT_WORDS:
        yield Hit(field, 0, len(text),
                  f"{ctx.whole_words} words is long for a Fill prompt: describe only what "
                  "goes in the white part of the mask",
                  suggestion="e.g. \"a terracotta pot of white tulips, lit from the window\"")


@rule("redux-drowns-prompt", "FX703", "warning", needs=("tools",),
      when=lambda ctx: bool(ctx.spec.tools.redux),
      family="tools",
      summary="Redux at full strength with a prompt that asks for something else",
      rationale="At strength 1 a Redux reference all but replaces the text conditioning: "
                "the style or subject the prompt asks for hardly shows. Lower the reference's "
                "strength (0.3–0.6) to let the prompt steer, or sweep redux_strength in an "
                "A/B to find the balance.",
      source="ComfyUI's StyleModelApply (strength, \"multiply\"); InvokeAI PR 7752 (\"Redux "
             "almost totally nullifies text conditioning\"); mflux PR 190 (past a low "
             "strength the prompt has little influence)")
def redux_drowns_prompt(ctx):
    strong = [r for r in ctx.spec.tools.redux if r.strength >= REDUX_STRONG]
    if not strong:
        return
    style = "" if ctx.is_raw else ctx.spec.style
    if style.strip():
        field, text, asked = "style", style, f"the style you ask for ({style.strip()[:40]!r})"
    elif ctx.whole_words >= 12:
        field, text = ctx.whole
        asked = "what the prompt describes"
    else:
        return
    yield Hit(field, 0, len(text),
              f"a Redux reference at strength {strong[0].strength:g} drowns the text: "
              f"{asked} will hardly show",
              suggestion="set the reference's strength to 0.3–0.6, or compare with "
                         "--axis redux_strength=0.3,0.6,1")


_IMAGE_FIELDS = (("mask", "mask"), ("control_image", "control image"))


@rule("tool-image-missing", "FX704", "error", needs=("tools",), family="tools",
      summary="a mask, control image or Redux reference that is missing or not an image",
      rationale="Fill, Canny, Depth and Redux start from their images; a missing or "
                "unreadable file means the run cannot start.",
      source=f"{BFL_TOOLS}; img2img audit (seed 002): check images before uploading")
def tool_image_missing(ctx):
    tools = ctx.spec.tools
    for field, what in _IMAGE_FIELDS:
        path = getattr(tools, field).strip()
        if path and image_size(ctx.resolve(path)) is None:
            yield Hit(field, 0, len(getattr(tools, field)),
                      f"{what} {path!r} does not exist or is not a readable image")
    offset = 0
    for ref in tools.redux:
        if image_size(ctx.resolve(ref.image.strip())) is None:
            yield Hit("redux", offset, offset + len(ref.image),
                      f"Redux reference {ref.image.strip()!r} does not exist or is not a "
                      "readable image")
        offset += len(ref.image) + (len(f":{ref.strength:g}") if ref.strength != 1.0 else 0) + 2


@rule("mask-size", "FX705", "warning",
      needs=("tools",),
      when=lambda ctx: bool(ctx.spec.tools.mask.strip() and ctx.spec.source_image.strip()),
      family="tools",
      summary="a Fill mask whose size differs from the source image's",
      rationale="The mask must cover the same pixels as the picture it masks (BFL: \"an "
                "image of the same size as the conditioning image\"). One of the same shape "
                "is resized before upload; a different shape cannot be and is refused.",
      source=f"{BFL_TOOLS}; docs/fill.md")
def mask_size(ctx):
    tools = ctx.spec.tools
    mask = image_size(ctx.resolve(tools.mask.strip()))
    source = image_size(ctx.resolve(ctx.spec.source_image.strip()))
    if mask is None or source is None or mask == source:
        return
    same_shape = abs(mask[0] / mask[1] - source[0] / source[1]) <= 0.01 * source[0] / source[1]
    message = (f"the mask is {mask[0]}x{mask[1]}, the source {source[0]}x{source[1]}: " +
               ("it will be resized to fit" if same_shape else
                "a different shape, so the run will refuse it"))
    yield Hit("mask", 0, len(tools.mask), message,
              severity=None if same_shape else "error",
              suggestion="make the mask from the source image, white where it should change")


@rule("tool-conflict", "FX706", "error", needs=("tools",), family="tools",
      summary="FLUX tools that cannot run as written (a control without its image...)",
      rationale="A control needs both `control` (canny or depth) and `control_image`; Fill "
                "and a control cannot share one run; Fill, Canny and Depth are dev models.",
      source=BFL_TOOLS)
def tool_conflict(ctx):
    problem = tools_problem(ctx.spec)
    if problem:
        field = "control" if "control" in problem else "model"
        yield Hit(field, 0, len(ctx.spec.tools.control if field == "control"
                                else ctx.spec.model), problem)


def needed_tool_models(spec) -> list[tuple[str, str]]:
    """(field, `comfy.models.TOOL_MODELS` key) for the files ``spec``'s tools load."""
    tools = spec.tools
    needed = []
    if tools.fill:
        needed.append(("outpaint" if tools.outpaint is not None else "mask", "fill"))
    if tools.control in ("canny", "depth") and tools.control_image.strip():
        key = tools.control + ("_lora" if tools.control_strength is not None else "")
        needed.append(("control", key))
    if tools.redux:
        needed += [("redux", "redux"), ("redux", "clip_vision")]
    return needed


@rule("tool-model-missing", "FX707", "warning", needs=("tools",), family="tools",
      summary="a FLUX tools model file the server did not have when last asked",
      rationale="Fill, Canny, Depth and Redux each need their own model file on the "
                "ComfyUI server. The last run or `workbench doctor` saw this server's "
                "model lists; a file missing there will stop the run.",
      source="the server's object_info (kept from the last run or doctor); BFL's model "
             "pages on huggingface.co/black-forest-labs")
def tool_model_missing(ctx):
    needed = needed_tool_models(ctx.spec)
    fields = dict((key, field) for field, key in needed)
    for server, key, seen in missing_tool_files([key for _, key in needed]):
        model, field = TOOL_MODELS[key], fields[key]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(seen)) if seen else "earlier"
        value = _field_value(ctx.spec, field)
        yield Hit(field, 0, len(value),
                  f"{model.file} was not installed on {server} (seen {when})",
                  suggestion=model.advice())


def _field_value(spec, field: str) -> str:
    from ...fields import field_text

    return field_text(spec, field)
