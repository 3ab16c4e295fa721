"""FLUX.1 tools in a workflow: which built-in, which files, and the nodes they need.

The built-ins (`TOOL_BUILTINS`) are graphs a real ComfyUI 0.3.64 accepted (../shared/
comfyui/workflow_flux_tools_*.json): Fill (``flux1-fill-dev`` + DifferentialDiffusion +
InpaintModelConditioning at guidance 30; outpaint through ImagePadForOutpaint), Canny and
Depth (the full ``flux1-canny-dev`` / ``flux1-depth-dev`` with InstructPixToPix-
Conditioning, or dev with the BFL control LoRA; Canny edges made by ComfyUI's Canny node
from a plain photo, depth maps supplied), and Redux (StyleModelLoader + CLIPVisionLoader
with ``sigclip_vision_patch14_384`` + CLIPVisionEncode + StyleModelApply).

`tool_workflow_for` picks the built-in a spec's tools call for; `fit_tools` writes a
spec's tools into a draft workflow (built-in or the user's own): the images, the sizes
they imply, the outpaint padding, one StyleModelApply per Redux reference, the mask's
grow and feather.  Nothing here talks to a server.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..spec import PromptSpec, tools_problem
from .models import TOOL_MODELS, input_options, tool_file
from .tool_roles import consumers, is_control_lora, redux_chain


class ToolError(ValueError):
    """A spec's tools that no workflow can run as asked (the message says what to change)."""


@dataclass(frozen=True)
class ToolBuiltin:
    """A tools built-in: the diffusion model variant it loads (`models.choose_models`),
    the inputs it cannot run without, and the control LoRA it loads on dev."""

    unet: str
    needs: tuple[str, ...]
    lora: str = ""


TOOL_BUILTINS: dict[str, ToolBuiltin] = {
    "flux-fill": ToolBuiltin("fill", ("source", "mask")),
    "flux-fill-outpaint": ToolBuiltin("fill", ("source", "outpaint")),
    "flux-canny": ToolBuiltin("canny", ("control_image",)),
    "flux-canny-lora": ToolBuiltin("dev", ("control_image",), "canny_lora"),
    "flux-depth": ToolBuiltin("depth", ("control_image",)),
    "flux-depth-lora": ToolBuiltin("dev", ("control_image",), "depth_lora"),
    "flux-redux": ToolBuiltin("dev", ("redux",)),
}
_NEEDS_WORDS = {"source": "a source_image", "mask": "a mask", "outpaint": "outpaint padding",
                "control_image": "a control_image", "redux": "a redux reference"}


def _installed(object_info: dict | None, key: str) -> bool | None:
    model = TOOL_MODELS[key]
    files = input_options(object_info, model.node, model.input)
    return None if files is None else tool_file(key, object_info) in files


def tool_workflow_for(spec: PromptSpec, object_info: dict | None = None) -> tuple[str, list[str]]:
    """(built-in name, notes) for a spec that uses tools; `ToolError` when they clash.
    A control with ``control_strength`` uses the control LoRA on dev (the full models
    have no strength); so does one whose full model the server lacks while it has the
    LoRA."""
    problem = tools_problem(spec)
    if problem:
        raise ToolError(f"prompt {spec.name!r}: {problem}")
    tools, notes = spec.tools, []
    if tools.outpaint is not None:
        if tools.mask.strip():
            notes.append("outpaint makes its own mask: the prompt's mask is not used")
        return "flux-fill-outpaint", notes
    if tools.mask.strip():
        return "flux-fill", notes
    if tools.control:
        lora = tools.control_strength is not None
        if not lora and _installed(object_info, tools.control) is False \
                and _installed(object_info, f"{tools.control}_lora"):
            notes.append(f"{TOOL_MODELS[tools.control].file} is not installed; using the "
                         f"{tools.control} LoRA on dev instead")
            lora = True
        return f"flux-{tools.control}" + ("-lora" if lora else ""), notes
    return ("flux-redux" if spec.model == "dev" else "flux-schnell"), notes


def tool_files(workflow: dict, object_info: dict | None,
               settings: dict[str, str] | None) -> tuple[dict, dict[str, str]]:
    """(workflow with the server's tool files, {`TOOL_MODELS` key: file} it loads)."""
    result, used = copy.deepcopy(workflow), {}
    for node in result.values():
        inputs, kind = node.setdefault("inputs", {}), node.get("class_type")
        key = None
        if kind == "StyleModelLoader":
            key, name = "redux", "style_model_name"
        elif kind == "CLIPVisionLoader":
            key, name = "clip_vision", "clip_name"
        elif is_control_lora(node):
            key = "canny_lora" if "canny" in str(inputs.get("lora_name")).lower() \
                else "depth_lora"
            name = "lora_name"
        if key is not None:
            inputs[name] = used[key] = tool_file(key, object_info, settings)
    return result, used


# -- graph edits --------------------------------------------------------------------------

def _new_id(workflow: dict) -> str:
    numbers = [int(k) for k in workflow if k.isdigit()]
    return str(max(numbers, default=0) + 1)


def _add(workflow: dict, kind: str, inputs: dict, title: str) -> str:
    nid = _new_id(workflow)
    workflow[nid] = {"class_type": kind, "inputs": inputs, "_meta": {"title": title}}
    return nid


def _relink(workflow: dict, old: str, new: str, skip: set[str]) -> None:
    """Point every reader of ``old``'s first output at ``new``'s instead (not ``skip``)."""
    for user, name, socket in consumers(workflow).get(old, []):
        if socket == 0 and user not in skip:
            workflow[user]["inputs"][name] = [new, 0]


def scale_loaded(workflow: dict, node_id: str, width: int, height: int) -> dict:
    """Make the image ``node_id`` loads enter the graph at ``width`` x ``height``: a scale
    node right after it becomes an ImageScale to that size; without one, an ImageScale is
    put between it and what reads its pixels."""
    result = copy.deepcopy(workflow)
    readers = [(u, n) for u, n, socket in consumers(result).get(node_id, []) if socket == 0]
    scale = {"image": [node_id, 0], "upscale_method": "lanczos", "width": int(width),
             "height": int(height), "crop": "disabled"}
    title = {"title": f"Scale to {width}x{height}"}
    scalers = [u for u, _ in readers if result[u]["class_type"] in
               ("ImageScaleToTotalPixels", "ImageScale", "ImageScaleBy")]
    for nid in scalers:
        result[nid] = {"class_type": "ImageScale", "inputs": dict(scale), "_meta": title}
    if not scalers and readers:
        new = _add(result, "ImageScale", dict(scale), title["title"])
        for nid, name in readers:
            result[nid]["inputs"][name] = [new, 0]
    return result


def add_mask_edge(workflow: dict, mask_node: str, grow: int | None,
                  feather: int | None) -> tuple[dict, list[str]]:
    """GrowMask and a blur (MaskToImage → ImageBlur → ImageToMask) after the mask loader,
    before what reads the mask.  ImageBlur's radius stops at 31 pixels."""
    result, notes = copy.deepcopy(workflow), []
    last = mask_node
    made: set[str] = set()
    if grow:
        last = _add(result, "GrowMask", {"mask": [last, 0], "expand": int(grow),
                                         "tapered_corners": True}, f"Grow mask {grow:+d} px")
        made.add(last)
    if feather:
        radius = min(31, int(feather))
        if radius < feather:
            notes.append(f"mask feather {feather} px is more than ComfyUI's ImageBlur takes; "
                         "31 px was used")
        image = _add(result, "MaskToImage", {"mask": [last, 0]}, "Mask as image")
        blur = _add(result, "ImageBlur", {"image": [image, 0], "blur_radius": radius,
                                          "sigma": max(0.1, min(10.0, radius / 3))},
                    f"Feather mask {radius} px")
        last = _add(result, "ImageToMask", {"image": [blur, 0], "channel": "red"},
                    "Feathered mask")
        made |= {image, blur, last}
    if last != mask_node:
        _relink(result, mask_node, last, made)
    return result, notes


def add_redux(workflow: dict, anchor: str, count: int, loaders: tuple[str, str]) -> dict:
    """Make ``workflow`` apply ``count`` Redux references: one CLIPVisionEncode +
    StyleModelApply per reference, chained on the positive conditioning after ``anchor``
    (the FluxGuidance or text node) when the graph has none, else after its last one.
    ``loaders``: (style model file, CLIP vision file) for loaders it has to add."""
    result = copy.deepcopy(workflow)
    chain = redux_chain(result)
    if len(chain) >= count:
        return result
    if chain:
        last = chain[-1]
        style = result[last]["inputs"]["style_model"]
        encode = result[last]["inputs"]["clip_vision_output"][0]
        vision = result[encode]["inputs"]["clip_vision"]
    else:
        last = anchor
        style = [_add(result, "StyleModelLoader", {"style_model_name": loaders[0]},
                      "Load Redux Model"), 0]
        vision = [_add(result, "CLIPVisionLoader", {"clip_name": loaders[1]},
                       "Load CLIP Vision"), 0]
    first_new = None
    for index in range(len(chain) + 1, count + 1):
        image = _add(result, "LoadImage", {"image": "workbench_redux.png"},
                     f"Redux Reference {index}")
        encoded = _add(result, "CLIPVisionEncode", {"clip_vision": list(vision),
                                                    "image": [image, 0], "crop": "center"},
                       f"Encode Reference {index}")
        apply = _add(result, "StyleModelApply", {
            "conditioning": [last, 0], "style_model": list(style),
            "clip_vision_output": [encoded, 0], "strength": 1.0,
            "strength_type": "multiply"}, f"Apply Redux {index}")
        first_new = first_new or apply
        last = apply
    negatives = {n for n, node in result.items() if node["class_type"] == "ConditioningZeroOut"}
    _relink(result, anchor if not chain else chain[-1], last, negatives | {first_new})
    return result


def redux_anchor(workflow: dict, roles: Any) -> str | None:
    """Where a first Redux chain goes: after the positive FluxGuidance, else the text."""
    if roles.guidance is not None and \
            workflow[roles.guidance.node_id]["class_type"] == "FluxGuidance":
        return roles.guidance.node_id
    return roles.positive.node_id if roles.positive is not None else None


def missing_inputs(name: str, spec: PromptSpec, images: dict[str, str]) -> list[str]:
    """What built-in ``name`` needs that this run does not give it (in words)."""
    builtin = TOOL_BUILTINS.get(name)
    if builtin is None:
        return []
    given = set(images) | ({"outpaint"} if spec.tools.outpaint is not None else set()) | \
        ({"redux"} if spec.tools.redux else set())
    return [_NEEDS_WORDS[need] for need in builtin.needs if need not in given]


# -- a spec's tools into a draft ----------------------------------------------------------

def apply_tools(draft: Any, spec: PromptSpec, values: dict, images: dict[str, str],
                sizes: dict[str, tuple[int, int]], *, requested: tuple, fit_1mp: bool,
                object_info: dict | None, settings: dict[str, str] | None) -> None:
    """`fit_tools` when the spec or the workflow has any tool, then the tool files the
    built-in now loads (a Redux chain may have added loaders)."""
    roles = draft.roles
    if not (spec.tools.used or draft.name in TOOL_BUILTINS or roles.tools or roles.redux):
        return
    fit_tools(draft, spec, values, images, sizes, requested=requested, fit_1mp=fit_1mp,
              object_info=object_info, settings=settings)
    if draft.builtin:
        draft.base, draft.models.tools = tool_files(draft.base, object_info, settings)


def fit_tools(draft: Any, spec: PromptSpec, values: dict, images: dict[str, str],
              sizes: dict[str, tuple[int, int]], *, requested: tuple, fit_1mp: bool,
              object_info: dict | None, settings: dict[str, str] | None) -> None:
    """Write ``spec``'s tools into ``draft`` (a `workflows._Draft`: ``base``, ``roles``,
    ``notes``, ``builtin``, ``find_roles()``) and ``values`` (role -> value).
    ``images``: role -> server-side name; ``sizes``: role -> the checked image's size."""
    missing = missing_inputs(draft.name, spec, images)
    if missing:
        raise ToolError(f"{draft.name} needs {' and '.join(missing)} (set it on the prompt)")
    tools = spec.tools
    control = draft.roles.tools.get("control_image")
    if "source" in images and draft.roles.source_image is None and control is not None \
            and not tools.control_image.strip() and not draft.builtin:
        values["control_image"] = images["source"]   # as before tools had their own roles
        draft.notes.append(f"{draft.name}'s only image input is a control image "
                           f"({control.describe()}): the source image went there")
    if tools.redux:
        _fit_redux(draft, spec, images, object_info, settings)
    mask_node = draft.roles.tools.get("mask")
    if draft.builtin and mask_node is not None and (tools.mask_grow or tools.mask_feather):
        draft.base, notes = add_mask_edge(draft.base, mask_node.node_id, tools.mask_grow,
                                          tools.mask_feather)
        draft.notes.extend(notes)
        draft.find_roles()
    if tools.fill:
        _fit_fill(draft, spec, values, images, sizes, requested, fit_1mp)
    if tools.control_image.strip():
        _fit_control(draft, spec, values, images, sizes, requested, fit_1mp)
    inserted = draft.builtin and tools.outpaint is None   # add_mask_edge did it
    for role in ("mask_grow", "mask_feather"):
        value = getattr(tools, role)
        if value is None or inserted:
            continue
        if draft.roles.tools.get(role) is not None:
            values[role] = value
        else:
            draft.notes.append(f"{draft.name} has no input for {role.replace('_', ' ')}; "
                               "it was not applied")


def _need_role(draft: Any, role: str, what: str, hint: str) -> None:
    if draft.roles.tools.get(role) is None:
        raise ToolError(f"the prompt has {what} but {draft.name} has no {role.replace('_', ' ')} "
                        f"input ({hint}); use a built-in workflow or add one")


def _fit_fill(draft: Any, spec: PromptSpec, values: dict, images: dict, sizes: dict,
              requested: tuple, fit_1mp: bool) -> None:
    from ..images.tool_inputs import OutpaintError, plan_outpaint, plan_tool_size

    roles, tools = draft.roles, spec.tools
    size = sizes.get("source")
    if roles.source_image is not None and size is not None:
        plan = plan_tool_size(size, requested, fit_1mp=fit_1mp)
        draft.notes.extend(plan.notes)
        if (plan.width, plan.height) != tuple(size):
            draft.base = scale_loaded(draft.base, roles.source_image.node_id, plan.width,
                                      plan.height)
            draft.find_roles()
        size = (plan.width, plan.height)
        values["width"], values["height"] = size
    if tools.outpaint is not None:
        _need_role(draft, "outpaint_left", "outpaint padding", "ImagePadForOutpaint")
        if size is not None:
            try:
                pad = plan_outpaint(size, tools.outpaint)
            except OutpaintError as exc:
                raise ToolError(str(exc)) from None
            draft.notes.extend(pad.notes)
            sides = (pad.left, pad.top, pad.right, pad.bottom)
            values["width"], values["height"] = pad.width, pad.height
        else:
            sides = tools.outpaint.sides
        for side, amount in zip(("left", "top", "right", "bottom"), sides):
            values[f"outpaint_{side}"] = amount
    elif "mask" in images:
        _need_role(draft, "mask", "a mask", "LoadImageMask feeding InpaintModelConditioning")
        values["mask"] = images["mask"]


def _fit_control(draft: Any, spec: PromptSpec, values: dict, images: dict, sizes: dict,
                 requested: tuple, fit_1mp: bool) -> None:
    from ..images.tool_inputs import plan_tool_size

    tools = spec.tools
    _need_role(draft, "control_image", "a control image",
               "a LoadImage feeding InstructPixToPixConditioning")
    if "control_image" in images:
        values["control_image"] = images["control_image"]
    size = sizes.get("control_image")
    if size is not None:
        plan = plan_tool_size(size, requested, what="control image", fit_1mp=fit_1mp)
        draft.notes.extend(plan.notes)
        if (plan.width, plan.height) != tuple(size):
            draft.base = scale_loaded(draft.base, draft.roles.tools["control_image"].node_id,
                                      plan.width, plan.height)
            draft.find_roles()
        values["width"], values["height"] = plan.width, plan.height
    if tools.control_strength is not None:
        if draft.roles.tools.get("control_strength") is not None:
            values["control_strength"] = tools.control_strength
        else:
            draft.notes.append(f"{draft.name} loads the full {tools.control} model, which has "
                               f"no strength; control_strength works with flux-{tools.control}"
                               "-lora")


def _fit_redux(draft: Any, spec: PromptSpec, images: dict, object_info: dict | None,
               settings: dict[str, str] | None) -> None:
    refs = spec.tools.redux
    if draft.builtin:
        anchor = redux_anchor(draft.base, draft.roles)
        if anchor is None:
            raise ToolError(f"{draft.name}: no positive conditioning to apply Redux to")
        draft.base = add_redux(draft.base, anchor, len(refs),
                               (tool_file("redux", object_info, settings),
                                tool_file("clip_vision", object_info, settings)))
        draft.find_roles()
    chains = draft.roles.redux
    if not chains:
        raise ToolError(f"the prompt has Redux references but {draft.name} has no "
                        "StyleModelApply; use a built-in workflow or add one")
    for index, ((image, strength), ref) in enumerate(zip(chains, refs), start=1):
        name = images.get(f"redux_{index}")
        if image is not None and name is not None:
            draft.base[image.node_id]["inputs"][image.input] = name
        draft.base[strength.node_id]["inputs"][strength.input] = float(ref.strength)
    if len(refs) > len(chains):
        draft.notes.append(f"{len(refs) - len(chains)} Redux reference(s) beyond the "
                           "workflow's own were not added")
