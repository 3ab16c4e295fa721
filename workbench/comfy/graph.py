"""Finding the knobs in an API-format workflow: which node holds the prompt, the seed, ...

Users bring their own ComfyUI workflows ("Export (API)").  To run a library prompt through
one, the workbench must know where the positive text goes, which input is the seed, the
steps, the guidance, the size, the source image and the LoRA loaders.  `find_roles` follows
the graph the way a sampler reads it (positive conditioning back through FluxGuidance,
ReferenceLatent and friends to the text encoder; the latent back to the empty latent;
SamplerCustomAdvanced's noise/guider/sigmas to RandomNoise/BasicGuider/BasicScheduler)
and falls back to node titles.  A sidecar ``<workflow>.roles.toml`` overrides any role by
node title::

    [roles]
    positive = "My prompt"                       # the node titled "My prompt", its text
    seed = { title = "Seed", input = "value" }   # or name the input explicitly

A UI-format file (the graph with "nodes" and "links") cannot be run and gets a message
saying how to export the API format.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..textsafe import one_line
from ..untrusted import read_json_file
from .tool_roles import TOOL_ROLE_INPUTS, TOOL_ROLE_NAMES, find_tool_roles, image_uses

SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
LATENT_SOURCES = ("EmptySD3LatentImage", "EmptyLatentImage", "EmptyHunyuanLatentImage")
LORA_LOADERS = ("LoraLoaderModelOnly", "LoraLoader")
#: Inputs never followed when tracing conditioning back to its text.
_NOT_CONDITIONING = {"model", "clip", "vae", "latent", "latent_image", "pixels", "image",
                     "control_net", "style_model", "clip_vision_output", "mask", "samples"}
ROLE_NAMES = ("positive", "negative", "seed", "steps", "guidance", "cfg", "width", "height",
              "sampler", "scheduler", "denoise", "source_image")
#: The input a role means on a node named by title, in order of preference.
_ROLE_INPUTS = {
    "positive": ("text", "t5xxl", "prompt", "string", "value"),
    "negative": ("text", "t5xxl", "prompt", "string", "value"),
    "seed": ("seed", "noise_seed", "value", "int"),
    "steps": ("steps", "value", "int"),
    "guidance": ("guidance", "cfg", "value", "float"),
    "cfg": ("cfg",),
    "width": ("width", "value", "int"),
    "height": ("height", "value", "int"),
    "sampler": ("sampler_name",),
    "scheduler": ("scheduler",),
    "denoise": ("denoise",),
    "source_image": ("image",),
}


class WorkflowFormatError(ValueError):
    """The file is not a runnable API-format workflow."""


class RoleError(ValueError):
    """A sidecar role override names a node that is not there."""


@dataclass(frozen=True)
class Slot:
    """One input of one node: where a value goes."""

    node_id: str
    input: str
    title: str = ""

    def describe(self) -> str:
        return f"node {self.node_id} “{one_line(self.title)}” input {self.input}"


@dataclass
class Roles:
    positive: Slot | None = None
    negative: Slot | None = None
    seed: Slot | None = None
    steps: Slot | None = None
    guidance: Slot | None = None
    cfg: Slot | None = None
    width: Slot | None = None
    height: Slot | None = None
    sampler: Slot | None = None
    scheduler: Slot | None = None
    denoise: Slot | None = None
    source_image: Slot | None = None
    #: More places the same value must go (CLIPTextEncodeFlux's clip_l, ModelSamplingFlux size).
    also: dict[str, list[Slot]] = field(default_factory=dict)
    loras: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)
    #: FLUX.1 tools (`tool_roles`): mask, control image and strength, outpaint sides...
    tools: dict[str, Slot] = field(default_factory=dict)
    #: Redux references in the order applied: (image slot or None, strength slot).
    redux: list[tuple[Slot | None, Slot]] = field(default_factory=list)

    def slot(self, role: str) -> Slot | None:
        return getattr(self, role) if role in ROLE_NAMES else self.tools.get(role)

    def describe(self) -> list[str]:
        """One line per role: where it is and how it was found."""
        lines = []
        for role in ROLE_NAMES:
            slot = self.slot(role)
            if slot is not None:
                how = self.how.get(role, "")
                lines.append(f"{role}: {slot.describe()}" + (f" ({how})" if how else ""))
        for role, slot in self.tools.items():
            how = self.how.get(role, "")
            lines.append(f"{role}: {slot.describe()}" + (f" ({how})" if how else ""))
        for i, (image, strength) in enumerate(self.redux, 1):
            lines.append(f"redux {i}: {image.describe() if image else '?'}, strength "
                         f"{strength.describe()}")
        if self.loras:
            lines.append("loras: nodes " + ", ".join(self.loras))
        return lines


def title_of(workflow: dict, node_id: str) -> str:
    node = workflow.get(node_id) or {}
    meta = node.get("_meta") if isinstance(node, dict) else None
    title = meta.get("title") if isinstance(meta, dict) else None
    return str(title or node.get("class_type", "?"))


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and isinstance(value[1], int)


def check_api_format(data: Any, source: str = "workflow") -> dict:
    """``data`` as an API-format workflow, or a `WorkflowFormatError` saying what to do."""
    if isinstance(data, dict) and isinstance(data.get("nodes"), list) and "links" in data:
        raise WorkflowFormatError(
            f"{source} is a ComfyUI UI-format workflow (it has \"nodes\" and \"links\"); the "
            "workbench needs the API format. In ComfyUI open it and use Workflow → Export "
            "(API) (or enable dev mode and \"Save (API Format)\"), then load that file.")
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and "client_id" in data:
        data = data["prompt"]
    if not isinstance(data, dict) or not data:
        raise WorkflowFormatError(f"{source} is not an API-format workflow (expected a JSON "
                                  "object of nodes keyed by id)")
    for node_id, node in data.items():
        if not isinstance(node, dict) or "class_type" not in node:
            raise WorkflowFormatError(f"{source}: node {one_line(str(node_id))} has no "
                                      "class_type; is this an API-format export?")
        if not isinstance(node.get("inputs", {}), dict):
            raise WorkflowFormatError(f"{source}: node {one_line(str(node_id))} has no inputs "
                                      "object")
    return {str(k): v for k, v in data.items()}


def load_workflow_file(path: Path) -> dict:
    try:
        data = read_json_file(path)
    except OSError as exc:
        raise WorkflowFormatError(f"{path}: cannot read: {exc}") from exc
    except ValueError as exc:
        raise WorkflowFormatError(f"{path}: not valid JSON: {exc}") from exc
    return check_api_format(data, str(path))


def sidecar_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".roles.toml")


def load_overrides(path: Path) -> dict[str, Any]:
    """The ``[roles]`` table of the workflow's sidecar TOML ({} when there is none)."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return {}
    try:
        data = tomllib.loads(sidecar.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise RoleError(f"{sidecar}: {exc}") from exc
    roles = data.get("roles", {})
    if not isinstance(roles, dict):
        raise RoleError(f"{sidecar}: [roles] must be a table")
    return roles


def _node_key(node_id: str) -> tuple:
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def _upstream(workflow: dict, start: str) -> list[str]:
    seen: list[str] = []
    stack = [start]
    while stack:
        current = stack.pop()
        if current in seen or current not in workflow:
            continue
        seen.append(current)
        for value in (workflow[current].get("inputs") or {}).values():
            if is_link(value):
                stack.append(value[0])
    return seen


def _outputs(workflow: dict) -> list[str]:
    names = ("SaveImage", "PreviewImage", "SaveAnimatedWEBP", "SaveAnimatedPNG", "PreviewAny")
    return sorted((nid for nid, n in workflow.items() if n["class_type"] in names
                   or n["class_type"].startswith("Save")), key=_node_key)


def _linked(workflow: dict, node_id: str, name: str) -> str | None:
    value = (workflow.get(node_id, {}).get("inputs") or {}).get(name)
    return value[0] if is_link(value) and value[0] in workflow else None


def _link_index(workflow: dict, node_id: str, name: str) -> int:
    value = (workflow.get(node_id, {}).get("inputs") or {}).get(name)
    return value[1] if is_link(value) else 0


class _Finder:
    def __init__(self, workflow: dict) -> None:
        self.wf = workflow
        self.roles = Roles()
        self.uses = image_uses(workflow)   # loaders of masks, control images, references

    def slot(self, node_id: str, name: str) -> Slot:
        return Slot(node_id, name, title_of(self.wf, node_id))

    def set(self, role: str, slot: Slot | None, how: str) -> None:
        if slot is not None and getattr(self.roles, role) is None:
            setattr(self.roles, role, slot)
            self.roles.how[role] = how

    def value_slot(self, node_id: str, names: tuple[str, ...], depth: int = 0) -> Slot | None:
        """The first of ``names`` on the node; a linked value is followed to its source."""
        inputs = self.wf[node_id].get("inputs") or {}
        for name in names:
            if name not in inputs:
                continue
            value = inputs[name]
            if is_link(value) and value[0] in self.wf and depth < 4:
                source = value[0]
                found = self.value_slot(source, names + ("value", "seed", "int", "float",
                                                         "string", "text"), depth + 1)
                return found
            if not is_link(value):
                return self.slot(node_id, name)
        return None

    def text_of(self, start: str, index: int = 0) -> tuple[Slot | None, list[Slot], str | None]:
        """Trace conditioning back to its text encoder: (text slot, extra slots, guidance).
        Nodes carrying both ``positive`` and ``negative`` (ControlNetApplyAdvanced,
        InpaintModelConditioning) are followed on the side their output ``index`` is."""
        queue, seen, guidance = [(start, index)], set(), None
        while queue:
            nid, out = queue.pop(0)
            if nid in seen or nid not in self.wf:
                continue
            seen.add(nid)
            node = self.wf[nid]
            inputs = node.get("inputs") or {}
            kind = node["class_type"]
            if kind == "FluxGuidance" and guidance is None:
                guidance = nid
            if kind == "CLIPTextEncodeFlux":
                if guidance is None:
                    guidance = nid
                main = self.value_slot(nid, ("t5xxl",))
                extra = [s for s in [self.value_slot(nid, ("clip_l",))] if s]
                return main, extra, guidance
            if "text" in inputs or kind.startswith("CLIPTextEncode"):
                return self.value_slot(nid, ("text", "prompt")), [], guidance
            if "positive" in inputs and "negative" in inputs:
                side = inputs["negative" if out == 1 else "positive"]
                if is_link(side):
                    queue.append((side[0], side[1]))
                continue
            for name, value in inputs.items():
                if is_link(value) and name not in _NOT_CONDITIONING:
                    queue.append((value[0], value[1]))
        return None, [], guidance

    def find(self) -> Roles:
        wf, roles = self.wf, self.roles
        roles.outputs = _outputs(wf)
        feeding: list[str] = []   # nodes upstream of an output
        for out in roles.outputs:
            feeding += [n for n in _upstream(wf, out) if n not in feeding]
        samplers = sorted((n for n in wf if wf[n]["class_type"] in SAMPLERS),
                          key=lambda n: (n not in feeding, _node_key(n)))
        if samplers:
            self._from_sampler(samplers[0])
        if roles.guidance is None:
            for nid in sorted(wf, key=_node_key):
                if wf[nid]["class_type"] == "FluxGuidance":
                    self.set("guidance", self.value_slot(nid, ("guidance",)), "FluxGuidance")
                    break
        for nid in sorted(wf, key=_node_key):
            self._by_class(nid, feeding)
        if roles.positive is None:
            self._positive_by_title()
        find_tool_roles(wf, roles, self.uses, self.slot)
        roles.loras = _lora_chain_order(wf, roles.loras)
        return roles

    def _from_sampler(self, sampler: str) -> None:
        """The roles the sampler's inputs lead to: its settings, the prompt texts along its
        conditioning, the size at its latent."""
        wf = self.wf
        title = f"{wf[sampler]['class_type']} {sampler}"
        if wf[sampler]["class_type"] == "SamplerCustomAdvanced":
            positive, negative = self._custom_sampler(sampler, title)
        else:
            positive, negative = _linked(wf, sampler, "positive"), _linked(wf, sampler,
                                                                           "negative")
            for role, names in (("seed", ("seed", "noise_seed")), ("steps", ("steps",)),
                                ("cfg", ("cfg",)), ("sampler", ("sampler_name",)),
                                ("scheduler", ("scheduler",)), ("denoise", ("denoise",))):
                self.set(role, self.value_slot(sampler, names), title)
            sigmas = _linked(wf, sampler, "sigmas")
            if sigmas:
                self.set("steps", self.value_slot(sigmas, ("steps",)), f"{title} sigmas")
        if positive:
            self._positive(positive, _link_index(wf, sampler, "positive"), title)
        if negative:
            text, _, _ = self.text_of(negative, _link_index(wf, sampler, "negative"))
            if text is not None and text != self.roles.positive:
                self.set("negative", text, f"followed from the negative input of {title}")
        latent = _linked(wf, sampler, "latent_image")
        for nid in _upstream(wf, latent) if latent else []:
            kind = wf[nid]["class_type"]
            if kind in LATENT_SOURCES or ("Latent" in kind and {"width", "height"} <= set(
                    wf[nid].get("inputs") or {})):
                self.set("width", self.value_slot(nid, ("width",)), "the empty latent")
                self.set("height", self.value_slot(nid, ("height",)), "the empty latent")
                break

    def _custom_sampler(self, sampler: str, title: str) -> tuple[str | None, str | None]:
        """SamplerCustomAdvanced: settings sit on its guider, noise, sigmas and sampler
        nodes; returns where its (positive, negative) conditioning comes from."""
        wf = self.wf
        positive = negative = None
        guider = _linked(wf, sampler, "guider")
        if guider:
            positive = _linked(wf, guider, "conditioning") or \
                _linked(wf, guider, "positive") or _linked(wf, guider, "cond1")
            negative = _linked(wf, guider, "negative")
            self.set("cfg", self.value_slot(guider, ("cfg",)), f"on the guider of {title}")
        noise = _linked(wf, sampler, "noise")
        if noise:
            self.set("seed", self.value_slot(noise, ("noise_seed", "seed")), f"{title} noise")
        sigmas = _linked(wf, sampler, "sigmas")
        if sigmas:
            for role in ("steps", "scheduler", "denoise"):
                self.set(role, self.value_slot(sigmas, (role,)), f"{title} sigmas")
        picker = _linked(wf, sampler, "sampler")
        if picker:
            self.set("sampler", self.value_slot(picker, ("sampler_name",)), title)
        return positive, negative

    def _positive(self, source: str, index: int, title: str) -> None:
        text, extra, guidance = self.text_of(source, index)
        self.set("positive", text, f"followed from the positive input of {title}")
        if extra:
            self.roles.also.setdefault("positive", []).extend(extra)
        if guidance:
            self.set("guidance", self.value_slot(guidance, ("guidance",)),
                     "on the positive conditioning path")

    def _by_class(self, nid: str, feeding: list[str]) -> None:
        """Roles a node holds by what it is (loaders, noise, latent sources)."""
        roles, kind = self.roles, self.wf[nid]["class_type"]
        if kind == "ModelSamplingFlux" and roles.width is not None:
            for role in ("width", "height"):
                slot = self.value_slot(nid, (role,))
                if slot:
                    roles.also.setdefault(role, []).append(slot)
        if kind in ("LoadImage", "LoadImageOutput") and nid in feeding and nid not in self.uses:
            self.set("source_image", self.slot(nid, "image"), "LoadImage feeding the output")
        if kind in LORA_LOADERS:
            roles.loras.append(nid)
        if kind == "RandomNoise":
            self.set("seed", self.value_slot(nid, ("noise_seed",)), "RandomNoise")
        if kind in LATENT_SOURCES:
            self.set("width", self.value_slot(nid, ("width",)), kind)
            self.set("height", self.value_slot(nid, ("height",)), kind)

    def _positive_by_title(self) -> None:
        """The last resort: a node whose title says it holds the prompt."""
        for nid in sorted(self.wf, key=_node_key):
            title = title_of(self.wf, nid).lower()
            if "negative" not in title and ("positive" in title or "prompt" in title):
                self.set("positive", self.value_slot(nid, _ROLE_INPUTS["positive"]),
                         "by its title")


def _lora_chain_order(workflow: dict, loras: list[str]) -> list[str]:
    def depth(nid: str) -> int:
        return sum(1 for n in _upstream(workflow, nid) if n in loras)

    return sorted(loras, key=lambda n: (depth(n), _node_key(n)))


def find_roles(workflow: dict, overrides: dict[str, Any] | None = None) -> Roles:
    """Where each role lives in ``workflow``; ``overrides`` (role -> title or {title, input})
    win over what the graph says."""
    workflow = check_api_format(workflow)
    roles = _Finder(workflow).find()
    for role, spec in (overrides or {}).items():
        if role not in ROLE_NAMES + TOOL_ROLE_NAMES:
            raise RoleError(f"unknown role {one_line(str(role))!r}; roles are "
                            + ", ".join(ROLE_NAMES + TOOL_ROLE_NAMES))
        title, name = (spec.get("title"), spec.get("input")) if isinstance(spec, dict) \
            else (spec, None)
        matches = [nid for nid in workflow if title_of(workflow, nid) == title]
        if not matches:
            titles = sorted({title_of(workflow, n) for n in workflow})
            raise RoleError(f"role {role}: no node titled {one_line(str(title))!r}; the "
                            "titles are: " + ", ".join(one_line(t) for t in titles))
        nid = sorted(matches, key=_node_key)[0]
        inputs = workflow[nid].get("inputs") or {}
        wanted = {**_ROLE_INPUTS, **TOOL_ROLE_INPUTS}[role]
        if name is None:
            name = next((n for n in wanted if n in inputs), None)
        if name is None or name not in inputs:
            raise RoleError(f"role {role}: node {nid} “{one_line(str(title))}” has no input "
                            f"{one_line(str(name or wanted[0]))!r}; its inputs "
                            "are: " + ", ".join(inputs))
        if role in ROLE_NAMES:
            setattr(roles, role, Slot(nid, name, title_of(workflow, nid)))
        else:
            roles.tools[role] = Slot(nid, name, title_of(workflow, nid))
        roles.also.pop(role, None)
        roles.how[role] = "set in the sidecar by title"
    return roles


def apply_values(workflow: dict, roles: Roles, values: dict[str, Any]) -> dict:
    """A copy of ``workflow`` with each role's value written where the role lives.
    Roles the workflow lacks are skipped; ``None`` values are left as the workflow has them."""
    result = copy.deepcopy(workflow)
    for role, value in values.items():
        slot = roles.slot(role)
        if value is None or slot is None:
            continue
        for target in [slot, *roles.also.get(role, [])]:
            result[target.node_id]["inputs"][target.input] = value
    return result
