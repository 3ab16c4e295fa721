"""What a ComfyUI API workflow says it made: prompt text, seed and parameters.

The sampler (KSampler, KSamplerAdvanced, SamplerCustom(Advanced)) is found by walking back
from the output, then its links are followed: the conditioning to the prompt text (and
FluxGuidance / ReferenceLatent on the way), the model chain to the model files and LoRAs,
the latent to the size or the source image.  Values come from anywhere (a PNG found on
disk), so numbers are read with care: booleans, absurd strings and non-finite floats are
not numbers here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..spec import MAX_SEED, Lora

SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustomAdvanced", "SamplerCustom")
OUTPUTS = ("SaveImage", "PreviewImage", "SaveAnimatedWEBP", "SaveAnimatedPNG", "Image Save")


@dataclass
class Recovered:
    """Settings read back from an API workflow; ``None`` where the workflow doesn't say."""

    text: str | None = None
    negative: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    cfg: float | None = None
    sampler: str | None = None
    scheduler: str | None = None
    width: int | None = None
    height: int | None = None
    denoise: float | None = None
    batch_size: int | None = None
    models: list[str] = field(default_factory=list)      # diffusion model / checkpoint files
    encoders: list[str] = field(default_factory=list)    # text encoder files
    vae: str | None = None
    loras: list[Lora] = field(default_factory=list)
    source_image: str | None = None
    kontext: bool = False
    sampler_node: str | None = None

    @property
    def variant(self) -> str:
        names = " ".join(self.models).lower()
        if self.kontext or "kontext" in names:
            return "kontext"
        if "schnell" in names:
            return "schnell"
        return "dev"


def _is_link(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
            and isinstance(value[1], int) and not isinstance(value[1], bool))


class _Graph:
    def __init__(self, api: dict[str, Any]) -> None:
        self.nodes = {str(k): v for k, v in api.items()
                      if isinstance(v, dict) and isinstance(v.get("inputs", {}), dict)}

    def cls(self, node_id: str | None) -> str:
        node = self.nodes.get(node_id or "")
        return str(node.get("class_type", "")) if node else ""

    def inputs(self, node_id: str | None) -> dict[str, Any]:
        node = self.nodes.get(node_id or "")
        return node.get("inputs", {}) or {} if node else {}

    def link(self, node_id: str | None, name: str) -> str | None:
        value = self.inputs(node_id).get(name)
        return str(value[0]) if _is_link(value) else None

    def value(self, node_id: str | None, name: str, depth: int = 0) -> Any:
        """An input's literal value, following a link to a primitive/string node."""
        value = self.inputs(node_id).get(name)
        if not _is_link(value):
            return value
        if depth > 8:
            return None
        source = str(value[0])
        for key in ("value", "text", "string", "seed", "noise_seed", "int", "float"):
            if key in self.inputs(source):
                return self.value(source, key, depth + 1)
        return None

    def upstream(self, start: str | None, through: tuple[str, ...], limit: int = 64):
        """Yield node ids walking back from ``start`` along the first input named in
        ``through`` each node has (a chain: model <- lora <- loader)."""
        seen = set()
        node = start
        while node is not None and node not in seen and len(seen) < limit:
            seen.add(node)
            yield node
            node = next((self.link(node, n) for n in through if self.link(node, n)), None)


def _number(value: Any, kind: type) -> Any:
    """``value`` as an int or a finite float; None when it isn't one (or is absurd)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    try:
        number = float(value) if kind is float else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if kind is float and not math.isfinite(number):
        return None
    if kind is int and not -MAX_SEED <= number <= MAX_SEED:
        return None
    return number


def _find_sampler(graph: _Graph) -> str | None:
    """The sampler that feeds an output node (the first found walking back), else any."""
    outputs = [n for n in graph.nodes if graph.cls(n) in OUTPUTS] or list(graph.nodes)
    for out in outputs:
        queue, seen = [out], set()
        while queue:
            node = queue.pop(0)
            if node in seen:
                continue
            seen.add(node)
            if graph.cls(node) in SAMPLERS:
                return node
            queue.extend(str(v[0]) for v in graph.inputs(node).values() if _is_link(v))
    return next((n for n in graph.nodes if graph.cls(n) in SAMPLERS), None)


_CONDITIONING_INPUTS = ("conditioning", "conditioning_to", "conditioning_1", "positive")


def _read_conditioning(graph: _Graph, start: str | None, rec: Recovered | None) -> str | None:
    """The text at the end of a conditioning chain; notes FluxGuidance / ReferenceLatent."""
    for node in graph.upstream(start, _CONDITIONING_INPUTS):
        cls = graph.cls(node)
        if cls == "ConditioningZeroOut":
            return ""
        if rec is not None and cls == "FluxGuidance" and rec.guidance is None:
            rec.guidance = _number(graph.value(node, "guidance"), float)
        if rec is not None and cls == "ReferenceLatent":
            rec.kontext = True
        if cls == "CLIPTextEncodeFlux":
            if rec is not None and rec.guidance is None:
                rec.guidance = _number(graph.value(node, "guidance"), float)
            t5, clip_l = graph.value(node, "t5xxl"), graph.value(node, "clip_l")
            return next((t for t in (t5, clip_l) if isinstance(t, str)), None)
        text = graph.value(node, "text")
        if isinstance(text, str):
            return text
    return None


def _read_model(graph: _Graph, start: str | None, rec: Recovered) -> None:
    loras = []
    for node in graph.upstream(start, ("model",)):
        cls, inputs = graph.cls(node), graph.inputs(node)
        if "lora_name" in inputs:
            strength = _number(graph.value(node, "strength_model"), float)
            loras.append(Lora(str(graph.value(node, "lora_name")),
                              strength if strength is not None else 1.0))
        for key in ("unet_name", "ckpt_name", "model_name"):
            name = graph.value(node, key)
            if isinstance(name, str) and name not in rec.models:
                rec.models.append(name)
        if cls == "CheckpointLoaderSimple":
            break
    rec.loras = list(reversed(loras))  # loader order, nearest the base model first


def _read_latent(graph: _Graph, start: str | None, rec: Recovered) -> None:
    for node in graph.upstream(start, ("latent_image", "samples", "latent", "pixels",
                                       "image")):
        inputs = graph.inputs(node)
        if graph.cls(node) == "LoadImage" and isinstance(inputs.get("image"), str):
            rec.source_image = inputs["image"]
            return
        if "width" in inputs and "height" in inputs and rec.width is None \
                and graph.cls(node) != "ModelSamplingFlux":
            rec.width = _number(graph.value(node, "width"), int)
            rec.height = _number(graph.value(node, "height"), int)
            rec.batch_size = _number(graph.value(node, "batch_size"), int)


def recover_settings(api: dict[str, Any]) -> Recovered:
    """Prompt text, seed and parameters from a ComfyUI API workflow, found by following
    the sampler's links (KSampler / KSamplerAdvanced / SamplerCustom(Advanced))."""
    graph = _Graph(api)
    rec = Recovered()
    sampler = _find_sampler(graph)
    rec.sampler_node = sampler
    _read_loaders(graph, rec)
    if sampler is None:
        return rec
    links = {"model": graph.link(sampler, "model"), "positive": graph.link(sampler, "positive"),
             "negative": graph.link(sampler, "negative")}
    cls = graph.cls(sampler)
    if cls in ("KSampler", "KSamplerAdvanced", "SamplerCustom"):
        _read_sampler(graph, sampler, "seed" if cls == "KSampler" else "noise_seed", rec)
    if cls in ("SamplerCustomAdvanced", "SamplerCustom"):
        _read_custom_sampler(graph, sampler, rec, links)
    rec.text = _read_conditioning(graph, links["positive"], rec)
    if links["negative"]:
        rec.negative = _read_conditioning(graph, links["negative"], None)
    _read_model(graph, links["model"], rec)
    _read_latent(graph, graph.link(sampler, "latent_image"), rec)
    if not isinstance(rec.sampler, str):
        rec.sampler = None
    if not isinstance(rec.scheduler, str):
        rec.scheduler = None
    return rec


def _read_loaders(graph: _Graph, rec: Recovered) -> None:
    for node in graph.nodes:
        cls = graph.cls(node)
        if cls in ("DualCLIPLoader", "CLIPLoader", "TripleCLIPLoader"):
            rec.encoders += [v for k, v in sorted(graph.inputs(node).items())
                             if k.startswith("clip_name") and isinstance(v, str)]
        elif cls == "VAELoader" and isinstance(graph.inputs(node).get("vae_name"), str):
            rec.vae = graph.inputs(node)["vae_name"]


def _read_sampler(graph: _Graph, sampler: str, seed_key: str, rec: Recovered) -> None:
    rec.seed = _number(graph.value(sampler, seed_key), int)
    rec.steps = _number(graph.value(sampler, "steps"), int)
    rec.cfg = _number(graph.value(sampler, "cfg"), float)
    rec.sampler = graph.value(sampler, "sampler_name")
    rec.scheduler = graph.value(sampler, "scheduler")
    rec.denoise = _number(graph.value(sampler, "denoise"), float)


def _read_custom_sampler(graph: _Graph, sampler: str, rec: Recovered,
                         links: dict[str, str | None]) -> None:
    """SamplerCustom(Advanced): settings on its noise, guider, sampler and sigmas nodes;
    the guider also says where the model and the conditioning come from."""
    noise = graph.link(sampler, "noise")
    if noise and rec.seed is None:
        rec.seed = _number(graph.value(noise, "noise_seed"), int)
    guider = graph.link(sampler, "guider")
    if guider:
        links["model"] = graph.link(guider, "model") or links["model"]
        links["positive"] = graph.link(guider, "conditioning") or graph.link(guider,
                                                                             "positive")
        links["negative"] = graph.link(guider, "negative") or links["negative"]
        if rec.cfg is None:
            rec.cfg = _number(graph.value(guider, "cfg"), float)
    select = graph.link(sampler, "sampler")
    if select and rec.sampler is None:
        rec.sampler = graph.value(select, "sampler_name")
    sigmas = graph.link(sampler, "sigmas")
    if sigmas:
        rec.scheduler = rec.scheduler or graph.value(sigmas, "scheduler")
        rec.steps = rec.steps or _number(graph.value(sigmas, "steps"), int)
        if rec.denoise is None:
            rec.denoise = _number(graph.value(sigmas, "denoise"), float)
        links["model"] = links["model"] or graph.link(sigmas, "model")
