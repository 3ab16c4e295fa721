"""Built-in FLUX workflows and the step from a prompt spec to the workflow that is submitted.

The JSON files in ``workflows/`` are API-format graphs a real ComfyUI 0.3.64 accepted
(see ../shared/comfyui): dev text-to-image (KSampler, and SamplerCustomAdvanced), schnell,
img2img and Kontext edit, all loading FLUX from split files (UNETLoader + DualCLIPLoader +
VAELoader).  Two transforms cover the rest: `to_checkpoint` swaps the three loaders for one
CheckpointLoaderSimple (e.g. ``flux1-dev-fp8.safetensors``), and `insert_loras` chains one
or more LoraLoaderModelOnly between the model and everything that used it.

Model file names come from config (``[comfyui.models]``: dev, schnell, kontext, clip_l,
t5xxl, vae, checkpoint_dev, checkpoint_schnell, checkpoint_kontext, loading = "auto" |
"split" | "checkpoint"), default to the common names, and are picked from what the server
actually lists when it is known.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..presets import (
    Presets,
    effective_params,
    nearest_kontext_size,
    preset_values,
    presets_for,
)
from ..spec import IMG2IMG_DENOISE, VARIANT_DEFAULTS, Params, PromptSpec
from .graph import (
    Roles,
    apply_values,
    check_api_format,
    find_roles,
    is_link,
    load_overrides,
    load_workflow_file,
)
from .models import ModelFiles, choose_models, model_settings
from .tool_graph import (
    TOOL_BUILTINS,
    ToolError,
    apply_tools,
    scale_loaded,
    tool_files,
    tool_workflow_for,
)

#: name -> (file, variant it is for, needs a source image, one-line description)
BUILTINS: dict[str, tuple[str, str, bool, str]] = {
    "flux-dev": ("flux-dev.json", "dev", False, "FLUX dev text-to-image (KSampler)"),
    "flux-dev-advanced": ("flux-dev-advanced.json", "dev", False,
                          "FLUX dev text-to-image (SamplerCustomAdvanced + ModelSamplingFlux)"),
    "flux-schnell": ("flux-schnell.json", "schnell", False, "FLUX schnell, 4 steps, no guidance"),
    "flux-dev-img2img": ("flux-dev-img2img.json", "dev", True,
                         "FLUX dev image-to-image (denoise 0.75 unless the prompt sets one)"),
    "flux-kontext": ("flux-kontext.json", "kontext", True, "FLUX Kontext edit of a source image"),
    # FLUX.1 tools: what else they need is in tool_graph.TOOL_BUILTINS
    "flux-fill": ("flux-fill.json", "dev", True,
                  "FLUX.1 Fill: repaint the mask's white part of the source (guidance 30)"),
    "flux-fill-outpaint": ("flux-fill-outpaint.json", "dev", True,
                           "FLUX.1 Fill: extend the source by the prompt's outpaint padding"),
    "flux-canny": ("flux-canny.json", "dev", False,
                   "FLUX.1 Canny [dev]: keep the edges of a photo (guidance 30)"),
    "flux-canny-lora": ("flux-canny-lora.json", "dev", False,
                        "FLUX.1 dev + Canny LoRA (control_strength, BFL: 0.85)"),
    "flux-depth": ("flux-depth.json", "dev", False,
                   "FLUX.1 Depth [dev]: keep the depth of a supplied depth map (guidance 10)"),
    "flux-depth-lora": ("flux-depth-lora.json", "dev", False,
                        "FLUX.1 dev + Depth LoRA (control_strength, BFL: 0.85)"),
    "flux-redux": ("flux-redux.json", "dev", False, "FLUX.1 dev + Redux: variations of images"),
}

class WorkflowError(ValueError):
    pass


def load_builtin(name: str) -> dict:
    if name not in BUILTINS:
        raise WorkflowError(f"no built-in workflow {name!r}; built-ins: " + ", ".join(BUILTINS))
    text = resources.files(__package__).joinpath("workflows", BUILTINS[name][0]).read_text(
        encoding="utf-8")
    return json.loads(text)


def default_workflow_for(spec: PromptSpec, object_info: dict | None = None) -> str:
    if spec.tools.used:
        return tool_workflow_for(spec, object_info)[0]
    if spec.model == "kontext":
        return "flux-kontext"
    if spec.model == "schnell":
        return "flux-schnell"
    return "flux-dev-img2img" if spec.source_image else "flux-dev"


def set_model_files(workflow: dict, files: ModelFiles) -> dict:
    result = copy.deepcopy(workflow)
    for node in result.values():
        inputs = node.get("inputs", {})
        kind = node["class_type"]
        if kind == "UNETLoader":
            inputs["unet_name"] = files.unet
        elif kind == "DualCLIPLoader":
            inputs["clip_name1"], inputs["clip_name2"] = files.clip_l, files.t5xxl
        elif kind == "VAELoader":
            inputs["vae_name"] = files.vae
        elif kind == "CheckpointLoaderSimple" and files.checkpoint:
            inputs["ckpt_name"] = files.checkpoint
    if files.checkpoint:
        result = to_checkpoint(result, files.checkpoint)
    return result


def _new_id(workflow: dict) -> str:
    numbers = [int(k) for k in workflow if k.isdigit()]
    return str(max(numbers, default=0) + 1)


def _relink(workflow: dict, old: tuple[str, int], new: list) -> None:
    for node in workflow.values():
        for name, value in node.get("inputs", {}).items():
            if is_link(value) and (value[0], value[1]) == old:
                node["inputs"][name] = list(new)


def to_checkpoint(workflow: dict, ckpt_name: str) -> dict:
    """Replace UNETLoader + DualCLIPLoader + VAELoader by one CheckpointLoaderSimple
    (outputs MODEL 0, CLIP 1, VAE 2)."""
    result = copy.deepcopy(workflow)
    loaders = {kind: [nid for nid, n in result.items() if n["class_type"] == kind]
               for kind in ("UNETLoader", "DualCLIPLoader", "VAELoader")}
    if not any(loaders.values()):
        return result
    ck = _new_id(result)
    result[ck] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt_name},
                  "_meta": {"title": "Load Checkpoint"}}
    for kind, index in (("UNETLoader", 0), ("DualCLIPLoader", 1), ("VAELoader", 2)):
        for nid in loaders[kind]:
            _relink(result, (nid, 0), [ck, index])
            del result[nid]
    return result


def insert_loras(workflow: dict, loras: list[tuple[str, float]]) -> dict:
    """Chain one LoraLoaderModelOnly per (file, strength) after the model loader."""
    if not loras:
        return copy.deepcopy(workflow)
    result = copy.deepcopy(workflow)
    source = next((nid for nid, n in result.items()
                   if n["class_type"] in ("UNETLoader", "CheckpointLoaderSimple")), None)
    if source is None:
        raise WorkflowError("cannot add LoRAs: the workflow has no UNETLoader or "
                            "CheckpointLoaderSimple to chain them after")
    consumers = [(nid, name) for nid, n in result.items()
                 for name, value in n.get("inputs", {}).items()
                 if is_link(value) and value[0] == source and value[1] == 0]
    previous = [source, 0]
    for index, (name, strength) in enumerate(loras, 1):
        nid = _new_id(result)
        result[nid] = {"class_type": "LoraLoaderModelOnly",
                       "inputs": {"model": list(previous), "lora_name": name,
                                  "strength_model": float(strength)},
                       "_meta": {"title": f"LoRA {index}"}}
        previous = [nid, 0]
    for nid, name in consumers:
        result[nid]["inputs"][name] = list(previous)
    return result


#: img2img denoise when neither the prompt nor its preset sets one (seed 002: 0.65-0.7).
#: Nodes that mark a Kontext graph: it sizes the source itself and repaints all of it.
KONTEXT_NODES = ("FluxKontextImageScale", "ReferenceLatent")
#: ... and those of the tools that take a source but are no img2img (Fill, control).
_NOT_IMG2IMG = KONTEXT_NODES + ("InpaintModelConditioning", "InstructPixToPixConditioning")


def is_img2img(workflow: dict, roles: Roles, spec: PromptSpec) -> bool:
    """A source image feeds the graph and it is not a Kontext edit or a Fill job."""
    return (roles.source_image is not None and spec.model != "kontext"
            and not spec.tools.fill
            and not any(n["class_type"] in _NOT_IMG2IMG for n in workflow.values()))


def set_source_size(workflow: dict, roles: Roles, width: int, height: int) -> dict:
    """Make the source image enter the graph at ``width`` x ``height`` (an ImageScale right
    after its LoadImage, see `tool_graph.scale_loaded`)."""
    if roles.source_image is None:
        return copy.deepcopy(workflow)
    return scale_loaded(workflow, roles.source_image.node_id, width, height)


def img2img_denoise(spec: PromptSpec, params: Params, presets: Presets | None = None) -> float:
    """The prompt's denoise, else its preset's, else a caller's non-default one, else 0.7.

    (`effective_params` gives 0.7 too when the spec names its source image; this also
    covers a source given at run time, ``workbench run --image``.)"""
    if spec.params.denoise is not None:
        return float(spec.params.denoise)
    from_preset = preset_values(spec, presets).get("denoise")
    if from_preset is not None:
        return float(from_preset)
    default = VARIANT_DEFAULTS.get(spec.model, VARIANT_DEFAULTS["dev"]).denoise
    if params.denoise is not None and params.denoise != default:
        return float(params.denoise)
    return IMG2IMG_DENOISE


def requested_size(spec: PromptSpec, presets: Presets | None = None
                   ) -> tuple[int | None, int | None]:
    """The size the prompt (or its preset) asks for; ``None`` where neither does."""
    values = preset_values(spec, presets)
    width = spec.params.width if spec.params.width is not None else values.get("width")
    height = spec.params.height if spec.params.height is not None else values.get("height")
    return width, height


@dataclass
class BuiltWorkflow:
    """What will be submitted, and how it was made."""

    workflow: dict
    seed: int
    name: str
    roles: Roles
    values: dict[str, Any] = field(default_factory=dict)
    models: ModelFiles | None = None
    notes: list[str] = field(default_factory=list)


def resolve_workflow(choice: str | None, spec: PromptSpec) -> tuple[str, dict, dict]:
    """(name, API workflow, role overrides) for ``--workflow NAME|FILE`` or the spec's default."""
    if not choice:
        name = default_workflow_for(spec)
        return name, load_builtin(name), {}
    if choice in BUILTINS:
        return choice, load_builtin(choice), {}
    path = Path(choice).expanduser()
    if path.suffix.lower() == ".json" or path.exists():
        if not path.exists():
            raise WorkflowError(f"workflow file {path} does not exist")
        return str(path), load_workflow_file(path), load_overrides(path)
    raise WorkflowError(f"no built-in workflow {choice!r} and no such file; built-ins: "
                        + ", ".join(BUILTINS))


@dataclass
class _Draft:
    """A workflow being built: its name, graph, roles and what was noticed on the way."""

    name: str
    base: dict
    overrides: dict
    roles: Roles | None = None
    models: ModelFiles | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def builtin(self) -> bool:
        return self.name in BUILTINS

    def find_roles(self) -> None:
        self.roles = find_roles(self.base, self.overrides)


def build_workflow(spec: PromptSpec, text: str, params: Params | None = None, *,
                   workflow: str | dict | None = None, overrides: dict | None = None,
                   object_info: dict | None = None, config: Any = None,
                   source_image: str | None = None, seed: int | None = None,
                   rng: random.Random | None = None,
                   source_size: tuple[int, int] | None = None,
                   fit_1mp: bool = False, presets: Presets | None = None,
                   images: dict[str, str] | None = None,
                   sizes: dict[str, tuple[int, int]] | None = None) -> BuiltWorkflow:
    """The workflow to submit for ``spec``: ``text`` (the composed prompt) and the effective
    ``params`` written into the roles of a built-in (by name) or the user's own workflow
    (a dict, or a path / name via `resolve_workflow`).  ``source_image`` is the server-side
    name of an uploaded image for img2img / Kontext.  An unset seed gets a random one.

    LoRA trigger words missing from ``text`` are put in front of it.  For img2img,
    ``source_size`` (the checked source's size) decides the output size (snapped to 16, or
    about 1 MP with ``fit_1mp``; a differing requested size becomes a note) and denoise
    defaults to `IMG2IMG_DENOISE`.  ``images`` / ``sizes``: every input image's server-side
    name and checked size by role (source, mask, control_image, redux_N: FLUX tools)."""
    from ..loras import with_triggers

    params_given = params is not None
    presets = presets if presets is not None else presets_for(config)
    params = params or effective_params(spec, presets)
    images, sizes = _by_role(images, source_image), _by_role(sizes, source_size)
    source_image, source_size = images.get("source"), sizes.get("source")
    draft = _draft(spec, workflow, overrides, object_info, config)
    _add_loras(draft, [(lora.name, lora.strength) for lora in params.loras])
    if seed is None:
        seed = params.seed
    if seed is None:
        seed = (rng or random.SystemRandom()).randrange(0, 2 ** 50)
    # Built-ins take the variant's defaults; a user's own workflow keeps its own settings
    # unless the prompt (or the caller's ``params``) sets them.
    chosen = params if (draft.builtin or params_given) else spec.params
    values: dict[str, Any] = {
        "positive": with_triggers(text, params.loras), "seed": int(seed),
        "steps": chosen.steps, "guidance": chosen.guidance, "width": chosen.width,
        "height": chosen.height, "sampler": chosen.sampler, "scheduler": chosen.scheduler,
        "cfg": chosen.cfg, "negative": chosen.negative or None, "source_image": source_image,
        "denoise": chosen.denoise if (chosen.denoise is not None and (
            spec.params.denoise is not None or params_given
            or draft.roles.source_image is None)) else None,
    }
    if is_img2img(draft.base, draft.roles, spec) and source_image is not None:
        if draft.builtin or spec.params.denoise is not None or params_given:
            values["denoise"] = img2img_denoise(spec, params, presets)
        if source_size is not None:
            _fit_source(draft, values, spec, presets, source_size, fit_1mp)
    elif source_image is not None and source_size is not None:
        _kontext_size(draft, source_size, bool(params.keep_size))
    _fit_tools(draft, spec, values, images, sizes, presets, fit_1mp, object_info, config)
    _check_roles(draft, spec, params, source_image)
    built = apply_values(draft.base, draft.roles, values)
    return BuiltWorkflow(built, int(seed), draft.name, draft.roles,
                         {k: v for k, v in values.items() if v is not None}, draft.models,
                         draft.notes)


def _draft(spec: PromptSpec, workflow: str | dict | None, overrides: dict | None,
           object_info: dict | None, config: Any) -> _Draft:
    """The base graph (a built-in with the model files the server has, or the user's)."""
    notes: list[str] = []
    if isinstance(workflow, dict):
        draft = _Draft("custom", check_api_format(workflow), dict(overrides or {}))
    else:
        if not workflow and spec.tools.used:
            try:
                workflow, notes = tool_workflow_for(spec, object_info)
            except ToolError as exc:
                raise WorkflowError(str(exc)) from None
        name, base, sidecar = resolve_workflow(workflow, spec)
        draft = _Draft(name, base, {**sidecar, **(overrides or {})}, notes=notes)
    if draft.builtin:
        tool = TOOL_BUILTINS.get(draft.name)
        settings = model_settings(config)
        draft.models = choose_models(tool.unet if tool else BUILTINS[draft.name][1],
                                     object_info, settings)
        draft.base = set_model_files(draft.base, draft.models)
        draft.base, draft.models.tools = tool_files(draft.base, object_info, settings)
    draft.find_roles()
    return draft


def _by_role(by_role: dict | None, source: Any) -> dict:
    """Per-role images or sizes, with the source given the older way (``source_image``)."""
    return {**(by_role or {}), **({"source": source} if source is not None else {})}


def _fit_tools(draft: _Draft, spec: PromptSpec, values: dict, images: dict, sizes: dict,
               presets: Presets, fit_1mp: bool, object_info: dict | None, config: Any) -> None:
    """The FLUX tools into the draft (`tool_graph.apply_tools`), refusals in words."""
    try:
        apply_tools(draft, spec, values, images, sizes, requested=requested_size(spec, presets),
                    fit_1mp=fit_1mp, object_info=object_info, settings=model_settings(config))
    except ToolError as exc:
        raise WorkflowError(str(exc)) from None


def _add_loras(draft: _Draft, loras: list[tuple[str, float]]) -> None:
    """The prompt's LoRAs: into a user workflow's own loaders, else chained in."""
    if not loras:
        return
    if draft.roles.loras and not draft.builtin:
        for nid, (name, strength) in zip(draft.roles.loras, loras):
            inputs = draft.base[nid]["inputs"]
            inputs["lora_name"] = name
            for key in ("strength_model", "strength_clip"):
                if key in inputs:
                    inputs[key] = float(strength)
        extra = loras[len(draft.roles.loras):]
        if extra:
            draft.notes.append(f"{len(extra)} LoRA(s) beyond the workflow's own loaders were "
                               "not added")
        return
    draft.base = insert_loras(draft.base, loras)
    draft.find_roles()


def _fit_source(draft: _Draft, values: dict, spec: PromptSpec, presets: Presets,
                source_size: tuple[int, int], fit_1mp: bool) -> None:
    """img2img: the output follows the source's size (snapped; requests become notes)."""
    from ..images.source import plan_img2img_size

    plan = plan_img2img_size(source_size, requested_size(spec, presets), fit_1mp=fit_1mp)
    draft.notes.extend(plan.notes)
    draft.base = set_source_size(draft.base, draft.roles, plan.width, plan.height)
    draft.find_roles()
    values["width"], values["height"] = plan.width, plan.height


def _kontext_size(draft: _Draft, source_size: tuple[int, int], keep: bool) -> None:
    """A Kontext graph scales its source to the preferred ~1 MP size nearest in aspect
    (what the model was trained on), so the result has that size; ``keep`` scales the
    result back to the source's size.  The notes say which happened."""
    if not any(n.get("class_type") == "FluxKontextImageScale" for n in draft.base.values()):
        return
    width, height = source_size
    edit_w, edit_h = nearest_kontext_size(width, height)
    if (edit_w, edit_h) == (width, height):
        return
    if keep:
        draft.base = scale_outputs(draft.base, width, height)
        draft.notes.append(f"Kontext edited at {edit_w}x{edit_h} (its preferred size nearest "
                           f"the source's {width}x{height}); the result is scaled back to "
                           f"{width}x{height} (keep_size)")
    else:
        draft.notes.append(f"the result is {edit_w}x{edit_h}: Kontext edits at its preferred "
                           f"size nearest the source's {width}x{height}; keep_size = true "
                           "(--keep-size) scales it back to the source's size")


def scale_outputs(workflow: dict, width: int, height: int) -> dict:
    """Every saved image scaled to ``width`` x ``height`` first: an ImageScale put between
    each SaveImage / PreviewImage and the node that feeds it."""
    result = copy.deepcopy(workflow)
    for nid in [n for n, node in result.items()
                if node.get("class_type") in ("SaveImage", "PreviewImage")]:
        feed = result[nid].get("inputs", {}).get("images")
        if not is_link(feed):
            continue
        new = _new_id(result)
        result[new] = {"class_type": "ImageScale", "_meta": {
            "title": f"Back to the source's size {width}x{height}"}, "inputs": {
            "image": list(feed), "upscale_method": "lanczos", "width": int(width),
            "height": int(height), "crop": "disabled"}}
        result[nid]["inputs"]["images"] = [new, 0]
    return result


def _check_roles(draft: _Draft, spec: PromptSpec, params: Params,
                 source_image: str | None) -> None:
    roles, name = draft.roles, draft.name
    if roles.positive is None:
        raise WorkflowError(f"cannot find where the prompt text goes in {name}; give the "
                            "text node a title and name it in the sidecar "
                            "(<workflow>.roles.toml: [roles] positive = \"Title\")")
    if source_image is None and roles.source_image is not None and draft.builtin \
            and BUILTINS[name][2]:
        raise WorkflowError(f"{name} needs a source image (set source_image on the prompt)")
    if roles.guidance is None and params.guidance is not None and spec.model != "schnell":
        draft.notes.append("the workflow has no guidance input; guidance was not applied")
