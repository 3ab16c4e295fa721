"""Running one queued prompt the way ComfyUI's PromptExecutor does, message for message.

For each prompt: ``execution_start``, ``execution_cached`` (the nodes the cache still
holds), then node by node in the server's order ``progress_state`` (running),
``executing``, the node's work, ``progress_state`` (finished).  A cached output node
re-sends its ``executed`` output instead.  The work of a node is silent: a model load, a
text encode or a VAE pass sends nothing at all for as long as it takes (the delays are
per node type).  Only samplers talk while they work: per step ``progress_state``,
``progress`` and, when the server was started with a preview method, a binary preview
frame.  An interrupt is honoured where the server checks for it: before a node starts and
at sampler steps — never inside a silent node.  The prompt runs to its end whether or not
its client is still connected.
"""

from __future__ import annotations

import asyncio
import copy
import json
import struct
import time
from typing import TYPE_CHECKING, Any

from .graph import Sizer, execution_order, image_size, is_link, node_key, signatures
from .images import preview_jpeg, render_png

if TYPE_CHECKING:
    from .server import FakeComfy, Job

SAMPLERS = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
MODEL_LOADERS = {"UNETLoader", "CheckpointLoaderSimple"}
ENCODERS_PREFIX = ("CLIPTextEncode", "CLIPVisionEncode")
VAE_NODES = {"VAEDecode", "VAEEncode", "VAEDecodeTiled", "VAEEncodeTiled",
             "VAEEncodeForInpaint", "InpaintModelConditioning",
             "InstructPixToPixConditioning"}
HOSTILE_TEXT = "[bold red]pwned[/] \x1b[31mred\x1b[0m \x1b]0;title\x07 [link=file:///etc]x[/link]"
#: What str() of a linked value looks like in an execution_error's current_inputs.
REPRS = {
    "MODEL": "<comfy.model_patcher.ModelPatcher object at 0x7f3c{n:08x}>",
    "CLIP": "<comfy.sd.CLIP object at 0x7f3c{n:08x}>",
    "VAE": "<comfy.sd.VAE object at 0x7f3c{n:08x}>",
    "CLIP_VISION": "<comfy.clip_vision.ClipVisionModel object at 0x7f3c{n:08x}>",
    "STYLE_MODEL": "<comfy.sd.StyleModel object at 0x7f3c{n:08x}>",
    "CONDITIONING": "[[tensor([[[-0.0796,  0.0311, -0.1273,  ...,  0.0312, -0.0442,  0.0853]]]), "
                    "{'pooled_output': tensor([[-0.2109,  0.4048,  ..., -0.0431,  0.1870]])}]]",
    "LATENT": "{'samples': tensor([[[[0., 0., 0.,  ..., 0., 0., 0.]]]])}",
    "IMAGE": "tensor([[[[0.5020, 0.4980, 0.5059],\n          ...,\n          "
             "[0.4941, 0.5020, 0.5020]]]])",
    "MASK": "tensor([[[0., 0., 0.,  ..., 0., 0., 0.]]])",
}


def is_loader(class_type: str) -> bool:
    return class_type.endswith(("Loader", "LoaderSimple", "LoaderModelOnly"))


def node_delay(fake: FakeComfy, class_type: str) -> float:
    """How long a node of this type works in silence (a sampler: before its first step,
    besides `model_load_delay` when its model changed)."""
    if class_type in fake.node_delays:
        return fake.node_delays[class_type]
    if is_loader(class_type):
        return fake.load_delay
    if class_type.startswith(ENCODERS_PREFIX):
        return fake.encode_delay
    if class_type in VAE_NODES:
        return fake.vae_delay
    if class_type in SAMPLERS:
        return 0.0
    return fake.node_delay


def _ms() -> int:
    return int(time.time() * 1000)


def _meta(nid: str) -> dict:
    return {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}


class Execution:
    """One prompt on the fake's worker; `run()` gives (status, messages, outputs, meta)
    for the history entry."""

    def __init__(self, fake: FakeComfy, job: Job) -> None:
        self.fake, self.job = fake, job
        self.pid, self.prompt = job.prompt_id, job.prompt
        self.sid = job.extra_data.get("client_id")
        self.messages: list = []
        self.states: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.meta: dict[str, dict] = {}
        self.executed: list[str] = []

    # -- messages ------------------------------------------------------------------------

    async def note(self, kind: str, data: dict) -> None:
        """An execution_* message: kept for the history entry, sent to the submitter."""
        self.messages.append([kind, data])
        await self.to_owner(kind, data)

    async def to_owner(self, kind: str, data: dict) -> None:
        if self.sid:
            await self.fake.send(kind, data, self.sid)

    async def progress_state(self) -> None:
        # without a client_id the server broadcasts these (recorded)
        await self.fake.send("progress_state", {"prompt_id": self.pid,
                                                "nodes": copy.deepcopy(self.states)}, self.sid)

    def state(self, nid: str, value: float, maximum: float, kind: str) -> None:
        self.states[nid] = {"value": value, "max": maximum, "state": kind, "node_id": nid,
                            "prompt_id": self.pid, "display_node_id": nid,
                            "parent_node_id": None, "real_node_id": nid}

    async def executed_message(self, nid: str, ui: dict | None) -> None:
        await self.to_owner("executed", {"node": nid, "display_node": nid, "output": ui,
                                         "prompt_id": self.pid})

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> tuple[str, list, dict, dict]:
        fake, prompt = self.fake, self.prompt
        info = fake.object_info()
        keys = signatures(prompt, fake.is_changed)
        cached = fake.output_cache.start_prompt(keys)
        await self.note("execution_start", {"prompt_id": self.pid, "timestamp": _ms()})
        await self.note("execution_cached", {"nodes": cached, "prompt_id": self.pid,
                                             "timestamp": _ms()})
        is_output = lambda nid: bool(info[prompt[nid]["class_type"]].get("output_node"))  # noqa: E731
        order = execution_order(prompt, self.job.outputs, set(cached), is_output)
        sizer = Sizer(prompt, info, lambda name: image_size(fake.input_file(name)))
        for nid in order:
            class_type = prompt[nid]["class_type"]
            if nid in cached:   # an output node: its UI output again, nothing re-run
                ui = fake.output_cache.ui(keys[nid])
                if ui is not None:
                    self.outputs[nid], self.meta[nid] = ui, _meta(nid)
                await self.executed_message(nid, ui)
                self.state(nid, 1.0, 1.0, "finished")
                await self.progress_state()
                continue
            await fake.not_stalled.wait()
            self.state(nid, 0.0, 1.0, "running")
            await self.progress_state()
            fake.last_node = nid
            await self.to_owner("executing", {"node": nid, "display_node": nid,
                                              "prompt_id": self.pid})
            if self.job.interrupted:
                return await self.interrupted(nid, class_type)
            fake.executed_nodes.append((self.pid, nid))
            fake.runs[class_type] += 1
            started = time.perf_counter()
            delay = node_delay(fake, class_type)
            if delay:
                await asyncio.sleep(delay)   # silent: nothing is sent while a node works
            broken = fake.broken_input(prompt[nid])
            if broken is not None:
                await self.failed(nid, class_type, info, list(prompt))
                return "error", self.messages, self.outputs, self.meta
            if class_type in SAMPLERS:
                await self.load_model(nid, keys)
                if not await self.sample(nid, class_type, sizer):
                    return await self.interrupted(nid, class_type)
            ui = self.ui_output(nid, class_type, sizer)
            if ui is not None:
                self.outputs[nid], self.meta[nid] = ui, _meta(nid)
                await self.executed_message(nid, ui)
            fake.output_cache.store(keys[nid], ui)
            fake.node_seconds.append((class_type, time.perf_counter() - started))
            self.executed.append(nid)
            if class_type in SAMPLERS:
                self.states[nid]["state"] = "finished"
            else:
                self.state(nid, 1.0, 1.0, "finished")
            await self.progress_state()
        await self.note("execution_success", {"prompt_id": self.pid, "timestamp": _ms()})
        return "success", self.messages, self.outputs, self.meta

    async def interrupted(self, nid: str, class_type: str) -> tuple[str, list, dict, dict]:
        await self.note("execution_interrupted", {
            "prompt_id": self.pid, "node_id": nid, "node_type": class_type,
            "executed": list(self.executed), "timestamp": _ms()})
        return "error", self.messages, self.outputs, self.meta

    async def failed(self, nid: str, class_type: str, info: dict, all_nodes: list) -> None:
        message = "Error while deserializing header: header too large\n"
        if self.fake.hostile:
            message = f"{HOSTILE_TEXT}\n{message}"
        await self.note("execution_error", {
            "prompt_id": self.pid, "node_id": nid, "node_type": class_type,
            "executed": list(self.executed), "exception_message": message,
            "exception_type": "safetensors._safetensors_rust.SafetensorError",
            "traceback": ['  File "<COMFYUI_DIR>/comfy/utils.py", line 59, in '
                          'load_torch_file\n'],
            "current_inputs": self.current_inputs(nid, info),
            "current_outputs": all_nodes, "timestamp": _ms()})

    def current_inputs(self, nid: str, info: dict) -> dict:
        """Every input the node was called with, each a one-item list (the server maps
        nodes over input lists); linked values appear as the str() of the object."""
        inputs = self.prompt[nid]["inputs"]
        schema = info[self.prompt[nid]["class_type"]]["input"]
        names = [*(schema.get("required") or {}), *(schema.get("optional") or {})]
        result = {}
        for name in names:
            if name not in inputs:
                continue
            value = inputs[name]
            if is_link(value):
                source_class = self.prompt[value[0]]["class_type"]
                kind = info[source_class]["output"][value[1]]
                template = REPRS.get(kind, f"<{kind} object at 0x7f3c{{n:08x}}>")
                value = template.format(n=(hash((self.pid, value[0])) & 0xFFFFFFFF))
            result[name] = [value]
        return result

    async def load_model(self, nid: str, keys: dict[str, str]) -> None:
        """A sampler whose model (with its LoRAs) differs from the last sampler's first
        loads it onto the GPU and patches it: silent time before step 1."""
        inputs = self.prompt[nid]["inputs"]
        model = inputs.get("model")
        guider = inputs.get("guider")
        if model is None and is_link(guider):   # SamplerCustomAdvanced: the guider's model
            model = self.prompt.get(guider[0], {}).get("inputs", {}).get("model")
        key = keys.get(model[0]) if is_link(model) else None
        if key != self.fake.gpu_model:
            self.fake.gpu_model = key
            self.fake.model_switches += 1
            if self.fake.model_load_delay:
                await asyncio.sleep(self.fake.model_load_delay)

    async def sample(self, nid: str, class_type: str, sizer: Sizer) -> bool:
        """The steps of a sampler; False when an interrupt stopped it."""
        fake = self.fake
        steps = fake.default_steps or steps_of(self.prompt, nid)
        loop = asyncio.get_running_loop()
        start = loop.time()
        size = sizer.output(nid)
        for step in range(1, steps + 1):
            await fake.not_stalled.wait()
            if self.job.interrupted:
                return False
            if fake.step_delay:  # on a fixed schedule, so sleeps do not drift
                await asyncio.sleep(max(0.0, start + step * fake.step_delay - loop.time()))
            self.state(nid, step, steps, "running")
            await self.progress_state()
            await self.step_messages(nid, step, steps, size.width, size.height)
            fake.steps_seen += 1
            if fake.drop_ws_after_steps and fake.steps_seen >= fake.drop_ws_after_steps:
                fake.drop_ws_after_steps = None
                await fake.drop_websockets()
        return True

    async def step_messages(self, nid: str, step: int, steps: int, width: int,
                            height: int) -> None:
        if not self.sid:
            return
        fake = self.fake
        progress = {"value": step, "max": steps, "prompt_id": self.pid, "node": nid}
        if fake.previews == "none":
            await fake.send("progress", progress, self.sid)
            return
        frame = preview_jpeg(width, height, step % 4)
        if fake.flags.get(self.sid, {}).get("supports_preview_metadata"):
            metadata = json.dumps({"node_id": nid, "prompt_id": self.pid,
                                   "display_node_id": nid, "parent_node_id": None,
                                   "real_node_id": nid, "image_type": "image/jpeg"}).encode()
            await fake.send_bytes(struct.pack(">II", 4, len(metadata)) + metadata + frame,
                                  self.sid)
            await fake.send("progress", progress, self.sid)
        else:
            await fake.send("progress", progress, self.sid)
            await fake.send_bytes(struct.pack(">II", 1, 1) + frame, self.sid)

    # -- outputs ---------------------------------------------------------------------------

    def ui_output(self, nid: str, class_type: str, sizer: Sizer) -> dict | None:
        if class_type in ("SaveImage", "PreviewImage"):
            return {"images": self.render(nid, sizer)}
        if class_type == "PreviewAny":
            value = self.prompt[nid]["inputs"].get("source")
            return {"text": [str(value) if not is_link(value) else "None"]}
        return None

    def render(self, nid: str, sizer: Sizer) -> list[dict]:
        fake, job = self.fake, self.job
        node = self.prompt[nid]
        kind = "output" if node["class_type"] == "SaveImage" else "temp"
        prefix = str(node["inputs"].get("filename_prefix", "ComfyUI")) if kind == "output" \
            else "ComfyUI_temp_fake"
        size = sizer.input(nid, "images") or sizer.output(nid)
        text, seed = picture_params(self.prompt, nid)
        chunks = {"prompt": json.dumps(self.prompt)}
        for key, value in (job.extra_data.get("extra_pnginfo") or {}).items():
            chunks[key] = json.dumps(value)
        images = []
        for index in range(size.batch):
            name = fake.next_output_name(prefix)
            data = render_png(text, seed, size.width, size.height, index, chunks)
            fake.store_file(kind, "", name, data)
            images.append({"filename": name, "subfolder": "", "type": kind})
        if fake.hostile and kind == "output":
            images.extend(fake.hostile_outputs(text, seed, chunks))
        return images


def picture_params(prompt: dict, out_id: str) -> tuple[str, Any]:
    """What a picture depends on besides its size: the prompt texts, the source images and
    the seed upstream of this output (the PNG is a function of them)."""
    texts, seed = [], None
    for nid in sorted(_upstream(prompt, out_id), key=node_key):
        node = prompt[nid]
        inputs = node.get("inputs", {})
        class_type = node["class_type"]
        if class_type.startswith("CLIPTextEncode"):
            texts.extend(str(v) for k, v in inputs.items()
                         if isinstance(v, str) and k in ("text", "t5xxl", "clip_l"))
        for key in ("seed", "noise_seed"):
            if key in inputs and not is_link(inputs[key]) and seed is None:
                seed = inputs[key]
        if class_type == "EmptyImage":
            texts.append(f"color={inputs.get('color')}")
        if class_type in ("LoadImage", "LoadImageMask"):
            texts.append(f"source={inputs.get('image')}")
    return " | ".join(texts), seed


def _upstream(prompt: dict, nid: str) -> set[str]:
    seen: set[str] = set()
    stack = [nid]
    while stack:
        current = stack.pop()
        if current in seen or current not in prompt:
            continue
        seen.add(current)
        for value in (prompt[current].get("inputs") or {}).values():
            if is_link(value):
                stack.append(value[0])
    return seen


def steps_of(prompt: dict, nid: str) -> int:
    inputs = prompt[nid].get("inputs", {})
    if "steps" in inputs and not is_link(inputs["steps"]):
        return max(1, int(inputs["steps"]))
    sigmas = inputs.get("sigmas")
    if is_link(sigmas):
        steps = prompt.get(sigmas[0], {}).get("inputs", {}).get("steps")
        if isinstance(steps, (int, str)) and str(steps).isdigit():
            return max(1, int(steps))
    return 1

