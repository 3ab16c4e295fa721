"""An in-process ComfyUI fake (aiohttp, real 127.0.0.1 port) driven by recorded answers.

Everything it says is shaped after ``tests/fixtures/comfyui`` (recorded from ComfyUI 0.3.64):
POST /prompt is validated against the recorded ``object_info_flux.json`` with the server's
own error shapes, jobs run through the recorded WebSocket message order (status,
execution_start, execution_cached, progress_state, executing, progress, binary previews
type 1 / type 4 after the ``feature_flags`` handshake, executed, execution_success |
execution_error | execution_interrupted, status, executing node=null), repeated work is
served from a signature cache (only nodes whose inputs changed re-run), and SaveImage
writes real PNGs, deterministic in (prompt text, seed, width, height), carrying ``prompt``
and every ``extra_pnginfo`` key as tEXt chunks.

Knobs (attributes, settable any time): ``step_delay``, ``node_delay``, ``model_load_delay``
(charged when the model/LoRA set changes), ``preview``, ``drop_ws_after_steps``,
``broken_models`` (loader fails like the recorded dummy files), ``hostile`` (path-traversal
names, markup and escapes in messages, a decompression bomb, an oversized PNG), and the
methods `stall`/`resume`, `drop_websockets`, `restart` (forget queue and history).

Run by hand: ``uv run python -m tests.fakes.comfy_server --port 8188``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import io
import json
import struct
import time
import traceback
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image, PngImagePlugin

from tests.fixtures import COMFY as RECORDED


def _recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def _body(name: str, key: str | None = None) -> Any:
    data = _recorded(name)
    if key is not None:
        data = data[key]
    return data["body"]


SAMPLERS = {"KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced"}
OUTPUT_NODES_WITHOUT_SCHEMA = {"PreviewAny", "SaveAnimatedWEBP", "SaveAnimatedPNG", "SaveLatent"}
#: Loader input -> the model folder its list comes from.
MODEL_INPUTS: dict[tuple[str, str], str] = {
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("VAELoader", "vae_name"): "vae",
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("LoraLoader", "lora_name"): "loras",
}
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
HOSTILE_TEXT = "[bold red]pwned[/] \x1b[31mred\x1b[0m \x1b]0;title\x07 [link=file:///etc]x[/link]"


def recorded_models() -> dict[str, list[str]]:
    index = _recorded("models_index.json")
    return {path.rsplit("/", 1)[1]: list(rec["body"]) for path, rec in index.items()
            if path.startswith("/models/") and rec["status"] == 200}


class _ValidationCrash(Exception):
    """An exception inside validation that ComfyUI reports as ``exception_during_*``."""


@dataclass
class Job:
    number: float
    prompt_id: str
    prompt: dict
    extra_data: dict
    outputs: list[str]
    interrupted: bool = False


@dataclass
class Stored:
    data: bytes
    content_type: str = "image/png"


@dataclass
class FakeComfy:
    """The fake server.  ``await start()`` returns the base URL; ``await stop()`` ends it."""

    host: str = "127.0.0.1"
    port: int = 0
    step_delay: float = 0.0
    node_delay: float = 0.0
    model_load_delay: float = 0.0
    default_steps: int | None = None   # override every sampler's step count (speed)
    preview: bool = True
    drop_ws_after_steps: int | None = None
    broken_models: set[str] = field(default_factory=set)
    hostile: bool = False
    oversize_bytes: int = 3_000_000
    models: dict[str, list[str]] = field(default_factory=recorded_models)
    # -- observable state, for tests
    submitted: list[dict] = field(default_factory=list)
    model_loads: int = 0
    executed_nodes: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[dict[str, str]] = field(default_factory=list)
    busy_seconds: float = 0.0

    def __post_init__(self) -> None:
        self._object_info: dict = _recorded("object_info_flux.json")
        self._known = set(_recorded("object_info_node_names.json")) | set(self._object_info)
        self._system_stats = _body("system_stats.json")
        self._features = _body("features.json")
        self._files: dict[tuple[str, str, str], Stored] = {}
        self._counters: dict[str, int] = {}
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._flags: dict[str, dict] = {}
        self._all_ws: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task | None = None
        self._not_stalled = asyncio.Event()
        self._not_stalled.set()
        self._reset_queue()

    def _reset_queue(self) -> None:
        self._pending: list[Job] = []
        self._running: Job | None = None
        self._history: dict[str, dict] = {}
        self._cache: dict[str, dict | None] = {}
        self._loaded: frozenset | None = None
        self._wake = asyncio.Event()
        self._number = 0
        self._last_node: str | None = None
        self._steps_seen = 0

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        app = web.Application(client_max_size=200 * 1024 * 1024,
                              middlewares=[self._record_headers])
        routes = [
            ("GET", "/ws", self._ws),
            ("POST", "/prompt", self._post_prompt),
            ("GET", "/prompt", self._get_prompt),
            ("GET", "/queue", self._get_queue),
            ("POST", "/queue", self._post_queue),
            ("POST", "/interrupt", self._interrupt),
            ("GET", "/history", self._get_history),
            ("GET", "/history/{prompt_id}", self._get_history_one),
            ("POST", "/history", self._post_history),
            ("GET", "/view", self._view),
            ("POST", "/upload/image", self._upload),
            ("GET", "/system_stats", self._stats),
            ("GET", "/object_info", self._get_object_info),
            ("GET", "/object_info/{node}", self._get_object_info_one),
            ("GET", "/features", self._get_features),
            ("GET", "/models", self._get_models),
            ("GET", "/models/{folder}", self._get_models_folder),
            ("GET", "/embeddings", self._get_embeddings),
            ("POST", "/free", self._free),
        ]
        for method, path, handler in routes:
            for prefix in ("", "/api"):
                app.router.add_route(method, prefix + path, handler)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._worker = asyncio.create_task(self._work())
        return self.url

    @web.middleware
    async def _record_headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.request_headers.append({"path": request.path, **dict(request.headers)})
        return await handler(request)

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except (asyncio.CancelledError, Exception):
                pass
            self._worker = None
        await self.drop_websockets()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, *, forget: bool = True) -> None:
        """Stop and start again on the same port; a real restart loses queue and history."""
        await self.stop()
        if forget:
            self._reset_queue()
        self._not_stalled.set()
        await self.start()

    async def __aenter__(self) -> FakeComfy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def stall(self) -> None:
        """Freeze the worker between steps (the job stays 'running', no messages come)."""
        self._not_stalled.clear()

    def resume(self) -> None:
        self._not_stalled.set()

    async def drop_websockets(self) -> None:
        for ws in list(self._all_ws):
            try:
                await ws.close()
            except Exception:
                pass
        self._all_ws.clear()
        self._sockets.clear()

    @property
    def queue_remaining(self) -> int:
        return len(self._pending) + (1 if self._running else 0)

    # -- object_info with this server's files --------------------------------------------

    def object_info(self) -> dict:
        info = copy.deepcopy(self._object_info)
        for (node, name), folder in MODEL_INPUTS.items():
            if node not in info:
                continue
            files = sorted(self.models.get(folder, []))
            if folder == "vae":
                files = files + ["pixel_space"]
            for section in info[node]["input"].values():
                if name in section:
                    section[name][0] = files
        load = info.get("LoadImage")
        if load:
            load["input"]["required"]["image"][0] = sorted(
                name for (kind, sub, name), _ in self._files.items()
                if kind == "input" and sub == "" and name.lower().endswith(IMAGE_EXTS))
        return info

    # -- WebSocket ------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        self._sockets[sid] = ws
        self._all_ws.add(ws)
        self._flags[sid] = {}
        try:
            await ws.send_json({"type": "status", "data": {
                "status": {"exec_info": {"queue_remaining": self.queue_remaining}}, "sid": sid}})
            if self._running and self._running.extra_data.get("client_id") == sid \
                    and self._last_node is not None:
                await ws.send_json({"type": "executing", "data": {"node": self._last_node}})
            first = True
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and first:
                    first = False
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(data, dict) and data.get("type") == "feature_flags":
                        self._flags[sid] = dict(data.get("data") or {})
                        await ws.send_json({"type": "feature_flags", "data": dict(self._features)})
        finally:
            self._all_ws.discard(ws)
            if self._sockets.get(sid) is ws:
                del self._sockets[sid]
        return ws

    async def _send(self, kind: str, data: dict, sid: str | None) -> None:
        message = json.dumps({"type": kind, "data": data})
        targets = list(self._sockets.values()) if sid is None else \
            [self._sockets[sid]] if sid in self._sockets else []
        for ws in targets:
            try:
                await ws.send_str(message)
            except Exception:
                pass

    async def _to_owner(self, kind: str, data: dict, sid: str | None) -> None:
        """Execution messages go to the submitting client only; without one, to nobody."""
        if sid:
            await self._send(kind, data, sid)

    async def _send_bytes(self, data: bytes, sid: str) -> None:
        ws = self._sockets.get(sid)
        if ws is not None:
            try:
                await ws.send_bytes(data)
            except Exception:
                pass

    async def _status(self) -> None:
        await self._send("status", {"status": {"exec_info": {
            "queue_remaining": self.queue_remaining}}}, None)

    # -- POST /prompt and validation ------------------------------------------------------

    async def _post_prompt(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=500, text="500 Internal Server Error\n\n"
                                "Server got itself in trouble")
        if not isinstance(body, dict) or "prompt" not in body:
            return _error(400, "no_prompt", "No prompt provided", "No prompt provided")
        prompt = body["prompt"]
        self.submitted.append(body)
        if not isinstance(prompt, dict):
            return _error(400, "prompt_no_outputs", "Prompt has no outputs", "")
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        result = self.validate(prompt)
        if isinstance(result, web.Response):
            return result
        good, node_errors = result
        if not good:
            return web.json_response({"error": {
                "type": "prompt_outputs_failed_validation",
                "message": "Prompt outputs failed validation", "details": "",
                "extra_info": {}}, "node_errors": node_errors}, status=400)
        if "number" in body:
            number: float = float(body["number"])
        else:
            self._number += 1
            number = -self._number if body.get("front") else self._number
        extra = dict(body.get("extra_data") or {})
        if body.get("client_id"):
            extra["client_id"] = body["client_id"]
        job = Job(number, prompt_id, prompt, extra, sorted(good, key=_node_key))
        self._pending.append(job)
        self._pending.sort(key=lambda j: j.number)
        self._wake.set()
        await self._status()
        return web.json_response({"prompt_id": prompt_id, "number": number,
                                  "node_errors": node_errors})

    def validate(self, prompt: dict) -> web.Response | tuple[list[str], dict]:
        """ComfyUI's validate_prompt: (good outputs, node_errors) or a 400 response."""
        info = self.object_info()
        for node_id, node in prompt.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return _error(400, "invalid_prompt", "Cannot execute because a node is missing "
                              "the class_type property.", f"Node ID '#{node_id}'")
            if node["class_type"] not in self._known:
                return _error(400, "invalid_prompt", "Cannot execute because node "
                              f"{node['class_type']} does not exist.", f"Node ID '#{node_id}'")
        outputs = [nid for nid, node in prompt.items() if self._is_output(node["class_type"], info)]
        if not outputs:
            return _error(400, "prompt_no_outputs", "Prompt has no outputs", "")
        good: list[str] = []
        node_errors: dict[str, dict] = {}
        validated: dict[str, tuple[bool, list]] = {}
        for out in outputs:
            try:
                ok = self._validate_inputs(prompt, out, validated, info)
            except Exception as exc:
                ok = False
                validated[out] = (False, [{
                    "type": "exception_during_validation",
                    "message": "Exception when validating node", "details": str(exc),
                    "extra_info": {"exception_type": type(exc).__name__,
                                   "traceback": traceback.format_tb(exc.__traceback__)}}])
            if ok:
                good.append(out)
                continue
            for nid, (valid, reasons) in validated.items():
                if not valid and reasons:
                    entry = node_errors.setdefault(nid, {
                        "errors": reasons, "dependent_outputs": [],
                        "class_type": prompt[nid]["class_type"]})
                    if out not in entry["dependent_outputs"]:
                        entry["dependent_outputs"].append(out)
        if self.hostile:
            for entry in node_errors.values():
                for err in entry["errors"]:
                    err["details"] = f"{err['details']} {HOSTILE_TEXT}"
        return good, node_errors

    def _is_output(self, class_type: str, info: dict) -> bool:
        if class_type in info:
            return bool(info[class_type].get("output_node"))
        return class_type in OUTPUT_NODES_WITHOUT_SCHEMA

    def _validate_inputs(self, prompt: dict, node_id: str, validated: dict, info: dict) -> bool:
        if node_id in validated:
            return validated[node_id][0]
        node = prompt[node_id]
        class_type = node["class_type"]
        inputs = node.get("inputs") or {}
        schema = info.get(class_type)
        errors: list[dict] = []
        valid = True
        if schema is None:  # a node we have no recorded schema for: follow links only
            for value in inputs.values():
                if _is_link(value):
                    o_id = value[0]
                    prompt[o_id]["class_type"]  # KeyError escapes, as in ComfyUI
                    if not self._validate_inputs(prompt, o_id, validated, info):
                        valid = False
            validated[node_id] = (valid, [])
            return valid
        required = schema["input"].get("required", {})
        optional = schema["input"].get("optional", {})
        for name in list(required) + [o for o in optional if o in inputs]:
            config = required.get(name) or optional[name]
            kind = config[0]
            extra = config[1] if len(config) > 1 else {}
            if name not in inputs:
                errors.append({"type": "required_input_missing",
                               "message": "Required input is missing", "details": name,
                               "extra_info": {"input_name": name}})
                valid = False
                continue
            value = inputs[name]
            if _is_link(value):
                o_id, index = value[0], value[1]
                o_class = prompt[o_id]["class_type"]   # KeyError escapes (inner exception)
                o_schema = info.get(o_class)
                if o_schema is not None:
                    received = tuple(o_schema["output"])[index]   # IndexError escapes
                    if not _types_match(received, kind):
                        errors.append({
                            "type": "return_type_mismatch",
                            "message": "Return type mismatch between linked nodes",
                            "details": f"{name}, received_type({received}) mismatch "
                                       f"input_type({kind})",
                            "extra_info": {"input_name": name, "input_config": config,
                                           "received_type": received, "linked_node": value}})
                        valid = False
                        continue
                try:
                    if not self._validate_inputs(prompt, o_id, validated, info):
                        valid = False
                except Exception as exc:
                    validated[o_id] = (False, [{
                        "type": "exception_during_inner_validation",
                        "message": "Exception when validating inner node", "details": str(exc),
                        "extra_info": {"input_name": name, "input_config": config,
                                       "exception_message": str(exc),
                                       "exception_type": type(exc).__name__,
                                       "traceback": traceback.format_tb(exc.__traceback__),
                                       "linked_node": value}}])
                    valid = False
                continue
            if class_type == "LoadImage" and name == "image":
                if not self._has_input_file(value):
                    errors.append({"type": "custom_validation_failed",
                                   "message": "Custom validation failed for node",
                                   "details": f"image - Invalid image file: {value}",
                                   "extra_info": {"input_name": "image"}})
                    valid = False
                continue
            converters = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}
            if isinstance(kind, str) and kind in converters:
                try:
                    value = converters[kind](value)
                except Exception as exc:
                    errors.append({
                        "type": "invalid_input_type",
                        "message": f"Failed to convert an input value to a {kind} value",
                        "details": f"{name}, {inputs[name]}, {exc}",
                        "extra_info": {"input_name": name, "input_config": config,
                                       "received_value": inputs[name],
                                       "exception_message": str(exc)}})
                    valid = False
                    continue
                if "min" in extra and value < extra["min"]:
                    errors.append({
                        "type": "value_smaller_than_min",
                        "message": f"Value {value} smaller than min of {extra['min']}",
                        "details": name, "extra_info": {"input_name": name,
                                                        "input_config": config,
                                                        "received_value": value}})
                    valid = False
                if "max" in extra and value > extra["max"]:
                    errors.append({
                        "type": "value_bigger_than_max",
                        "message": f"Value {value} bigger than max of {extra['max']}",
                        "details": name, "extra_info": {"input_name": name,
                                                        "input_config": config,
                                                        "received_value": value}})
                    valid = False
            elif isinstance(kind, list) or kind == "COMBO":
                options = extra.get("options", []) if kind == "COMBO" else kind
                if kind == "COMBO" and "options" not in extra:
                    continue  # remote lists (LoadImageOutput) are not checked here
                if value not in options:
                    shown, config_out = (f"(list of length {len(options)})", None) \
                        if len(options) > 20 else (str(options), [config[0], extra])
                    errors.append({"type": "value_not_in_list", "message": "Value not in list",
                                   "details": f"{name}: '{value}' not in {shown}",
                                   "extra_info": {"input_name": name,
                                                  "input_config": config_out,
                                                  "received_value": value}})
                    valid = False
        if errors:
            valid = False
        validated[node_id] = (valid, errors)
        return valid

    def _has_input_file(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        name = value.removesuffix(" [input]")
        sub, _, base = name.rpartition("/")
        return ("input", sub, base) in self._files

    # -- queue, interrupt, history ---------------------------------------------------------

    async def _get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self.queue_remaining}})

    def _queue_item(self, job: Job) -> list:
        return [job.number, job.prompt_id, job.prompt, job.extra_data, job.outputs]

    async def _get_queue(self, request: web.Request) -> web.Response:
        return web.json_response({
            "queue_running": [self._queue_item(self._running)] if self._running else [],
            "queue_pending": [self._queue_item(j) for j in self._pending]})

    async def _post_queue(self, request: web.Request) -> web.Response:
        body = await _json_or_empty(request)
        if body.get("clear"):
            self._pending.clear()
        if isinstance(body.get("delete"), list):
            gone = set(body["delete"])
            self._pending = [j for j in self._pending if j.prompt_id not in gone]
        await self._status()
        return web.Response(status=200)

    async def _interrupt(self, request: web.Request) -> web.Response:
        body = await _json_or_empty(request)
        wanted = body.get("prompt_id")
        if self._running and (not wanted or wanted == self._running.prompt_id):
            self._running.interrupted = True
        return web.Response(status=200)

    async def _get_history(self, request: web.Request) -> web.Response:
        max_items = request.query.get("max_items")
        max_items_i = int(max_items) if max_items is not None else None
        offset = int(request.query.get("offset", -1))
        if offset < 0 and max_items_i is not None:
            offset = len(self._history) - max_items_i
        out: dict = {}
        for i, key in enumerate(self._history):
            if i >= offset:
                out[key] = self._history[key]
                if max_items_i is not None and len(out) >= max_items_i:
                    break
        return web.json_response(out)

    async def _get_history_one(self, request: web.Request) -> web.Response:
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: self._history[pid]} if pid in self._history else {})

    async def _post_history(self, request: web.Request) -> web.Response:
        body = await _json_or_empty(request)
        if body.get("clear"):
            self._history.clear()
        for pid in body.get("delete") or []:
            self._history.pop(pid, None)
        return web.Response(status=200)

    async def _free(self, request: web.Request) -> web.Response:
        self._loaded = None
        return web.Response(status=200)

    # -- files ----------------------------------------------------------------------------

    async def _view(self, request: web.Request) -> web.Response:
        name = request.query.get("filename", "")
        sub = request.query.get("subfolder", "")
        kind = request.query.get("type", "output")
        key = (kind, sub, name)
        if not (self.hostile and key in self._files):
            if not name or ".." in name or ".." in sub or name.startswith("/") \
                    or sub.startswith("/"):
                return web.Response(status=400)
        stored = self._files.get(key)
        if stored is None:
            return web.Response(status=404)
        headers = {"Content-Disposition": f'filename="{name}"'} if name.isprintable() else {}
        return web.Response(body=stored.data, content_type=stored.content_type, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        try:
            form = await request.post()
        except Exception:
            return web.Response(status=400)
        image = form.get("image")
        if image is None or not hasattr(image, "file"):
            return web.Response(status=400)
        sub = str(form.get("subfolder", ""))
        kind = str(form.get("type", "input")) or "input"
        if ".." in sub or sub.startswith("/") or kind not in ("input", "temp", "output"):
            return web.Response(status=400)
        overwrite = str(form.get("overwrite", "")).lower() == "true"
        data = image.file.read()
        name = Path(image.filename or "upload.png").name
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, i = name, 1
        while not overwrite and (kind, sub, candidate) in self._files \
                and self._files[(kind, sub, candidate)].data != data:
            candidate = f"{stem} ({i}){dot}{ext}"
            i += 1
        self._files[(kind, sub, candidate)] = Stored(data, image.content_type or "image/png")
        return web.json_response({"name": candidate, "subfolder": sub, "type": kind})

    def add_input_image(self, name: str, data: bytes) -> None:
        self._files[("input", "", name)] = Stored(data)

    # -- the rest -------------------------------------------------------------------------

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self._system_stats)

    async def _get_object_info(self, request: web.Request) -> web.Response:
        return web.json_response(self.object_info())

    async def _get_object_info_one(self, request: web.Request) -> web.Response:
        node = request.match_info["node"]
        info = self.object_info()
        return web.json_response({node: info[node]} if node in info else {})

    async def _get_features(self, request: web.Request) -> web.Response:
        return web.json_response(self._features)

    async def _get_models(self, request: web.Request) -> web.Response:
        return web.json_response(_body("models_index.json", "/models"))

    async def _get_models_folder(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in self.models:
            return web.Response(status=404)
        return web.json_response(sorted(self.models[folder]))

    async def _get_embeddings(self, request: web.Request) -> web.Response:
        return web.json_response([])

    # -- execution ------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._wake.clear()
                await self._wake.wait()
            job = self._pending.pop(0)
            self._running = job
            await self._status()
            started = time.perf_counter()
            status, messages, outputs, meta = await self._execute(job)
            self.busy_seconds += time.perf_counter() - started
            self._history[job.prompt_id] = {
                "prompt": self._queue_item(job), "outputs": outputs,
                "status": {"status_str": status, "completed": status == "success",
                           "messages": messages}, "meta": meta}
            self._running = None
            self._last_node = None
            await self._status()
            sid = job.extra_data.get("client_id")
            if sid:
                await self._to_owner("executing", {"node": None, "prompt_id": job.prompt_id}, sid)

    async def _execute(self, job: Job) -> tuple[str, list, dict, dict]:
        pid, prompt = job.prompt_id, job.prompt
        sid = job.extra_data.get("client_id")
        messages: list = []

        async def note(kind: str, data: dict) -> None:
            messages.append([kind, data])
            if sid:
                await self._send(kind, data, sid)

        order = _execution_order(prompt, job.outputs)
        signatures = {nid: _signature(prompt, nid) for nid in order}
        cached = [nid for nid in order if signatures[nid] in self._cache]
        await note("execution_start", {"prompt_id": pid, "timestamp": _ms()})
        await note("execution_cached", {"nodes": cached, "prompt_id": pid, "timestamp": _ms()})
        states: dict[str, dict] = {}
        outputs: dict[str, dict] = {}
        meta: dict[str, dict] = {}
        executed: list[str] = []

        async def progress_state() -> None:
            await self._send("progress_state", {"prompt_id": pid,
                                                "nodes": copy.deepcopy(states)}, sid)

        def state(nid: str, value: float, maximum: float, kind: str) -> None:
            states[nid] = {"value": value, "max": maximum, "state": kind, "node_id": nid,
                           "prompt_id": pid, "display_node_id": nid, "parent_node_id": None,
                           "real_node_id": nid}

        wanted_models = frozenset(
            (node["class_type"], json.dumps(node.get("inputs", {}), sort_keys=True, default=str))
            for node in prompt.values() if node["class_type"] in
            {"UNETLoader", "CheckpointLoaderSimple", "LoraLoaderModelOnly", "LoraLoader"})
        if wanted_models and wanted_models != self._loaded:
            self._loaded = wanted_models
            self.model_loads += 1
            charge_load = self.model_load_delay
        else:
            charge_load = 0.0

        for nid in order:
            node = prompt[nid]
            class_type = node["class_type"]
            if nid in cached:
                ui = self._cache[signatures[nid]]
                if ui is not None:
                    outputs[nid] = ui
                    meta[nid] = _meta(nid)
                    await self._to_owner("executed", {"node": nid, "display_node": nid,
                                                  "output": ui, "prompt_id": pid}, sid)
                    state(nid, 1, 1, "finished")
                    await progress_state()
                continue
            await self._not_stalled.wait()
            state(nid, 0.0, 1.0, "running")
            await progress_state()
            self._last_node = nid
            await self._to_owner("executing", {"node": nid, "display_node": nid,
                                           "prompt_id": pid}, sid)
            if job.interrupted:
                data = {"prompt_id": pid, "node_id": nid, "node_type": class_type,
                        "executed": list(executed), "timestamp": _ms()}
                await note("execution_interrupted", data)
                return "error", messages, outputs, meta
            self.executed_nodes.append((pid, nid))
            if class_type in {"UNETLoader", "CheckpointLoaderSimple"} and charge_load:
                await asyncio.sleep(charge_load)
                charge_load = 0.0
            broken = self._broken_input(node)
            if broken is not None:
                message = "Error while deserializing header: header too large\n"
                if self.hostile:
                    message = f"{HOSTILE_TEXT}\n{message}"
                await note("execution_error", {
                    "prompt_id": pid, "node_id": nid, "node_type": class_type,
                    "executed": list(executed), "exception_message": message,
                    "exception_type": "safetensors._safetensors_rust.SafetensorError",
                    "traceback": ['  File "<COMFYUI_DIR>/comfy/utils.py", line 59, in '
                                  'load_torch_file\n'],
                    "current_inputs": {k: [v] for k, v in node["inputs"].items()
                                       if not _is_link(v)},
                    "current_outputs": list(order), "timestamp": _ms()})
                return "error", messages, outputs, meta
            if class_type in SAMPLERS:
                steps = self.default_steps or _steps_of(prompt, nid)
                for step in range(1, steps + 1):
                    await self._not_stalled.wait()
                    if job.interrupted:
                        data = {"prompt_id": pid, "node_id": nid, "node_type": class_type,
                                "executed": list(executed), "timestamp": _ms()}
                        await note("execution_interrupted", data)
                        return "error", messages, outputs, meta
                    if self.step_delay:  # on a fixed schedule, so sleeps do not drift
                        loop = asyncio.get_running_loop()
                        if step == 1:
                            sampler_start = loop.time()
                        await asyncio.sleep(max(0.0, sampler_start + step * self.step_delay
                                                - loop.time()))
                    state(nid, step, steps, "running")
                    await progress_state()
                    await self._step_messages(pid, nid, step, steps, sid)
                    self._steps_seen += 1
                    if self.drop_ws_after_steps and self._steps_seen >= self.drop_ws_after_steps:
                        self.drop_ws_after_steps = None
                        await self.drop_websockets()
                states[nid]["state"] = "finished"
            elif self.node_delay:
                await asyncio.sleep(self.node_delay)
            ui = None
            if class_type in ("SaveImage", "PreviewImage"):
                ui = {"images": self._render_outputs(job, nid)}
                outputs[nid] = ui
                meta[nid] = _meta(nid)
                await self._to_owner("executed", {"node": nid, "display_node": nid, "output": ui,
                                              "prompt_id": pid}, sid)
            self._cache[signatures[nid]] = ui
            executed.append(nid)
            if class_type not in SAMPLERS:
                state(nid, 1.0, 1.0, "finished")
            await progress_state()
        await note("execution_success", {"prompt_id": pid, "timestamp": _ms()})
        return "success", messages, outputs, meta

    def _broken_input(self, node: dict) -> str | None:
        for (class_type, name), _ in MODEL_INPUTS.items():
            if node["class_type"] == class_type and node["inputs"].get(name) in self.broken_models:
                return name
        return None

    async def _step_messages(self, pid: str, nid: str, step: int, steps: int,
                             sid: str | None) -> None:
        if not sid:
            return
        progress = {"value": step, "max": steps, "prompt_id": pid, "node": nid}
        if not self.preview:
            await self._send("progress", progress, sid)
            return
        if self._flags.get(sid, {}).get("supports_preview_metadata"):
            metadata = json.dumps({"node_id": nid, "prompt_id": pid, "display_node_id": nid,
                                   "parent_node_id": None, "real_node_id": nid,
                                   "image_type": "image/jpeg"}).encode()
            await self._send_bytes(struct.pack(">II", 4, len(metadata)) + metadata
                                   + _preview_jpeg(), sid)
            await self._send("progress", progress, sid)
        else:
            await self._send("progress", progress, sid)
            await self._send_bytes(struct.pack(">II", 1, 1) + _preview_jpeg(), sid)

    def _render_outputs(self, job: Job, nid: str) -> list[dict]:
        prompt = job.prompt
        node = prompt[nid]
        kind = "output" if node["class_type"] == "SaveImage" else "temp"
        prefix = str(node["inputs"].get("filename_prefix", "ComfyUI")) if kind == "output" \
            else "ComfyUI_temp_fake"
        text, seed, width, height, batch = self._picture_params(prompt, nid)
        chunks = {"prompt": json.dumps(prompt)}
        for key, value in (job.extra_data.get("extra_pnginfo") or {}).items():
            chunks[key] = json.dumps(value)
        images = []
        for index in range(batch):
            count = self._counters.get(prefix, 0) + 1
            self._counters[prefix] = count
            name = f"{Path(prefix).name}_{count:05}_.png"
            data = render_png(text, seed, width, height, index, chunks)
            self._files[(kind, "", name)] = Stored(data)
            images.append({"filename": name, "subfolder": "", "type": kind})
        if self.hostile and kind == "output":
            images.extend(self._hostile_outputs(text, seed, chunks))
        return images

    def _hostile_outputs(self, text: str, seed: int, chunks: dict) -> list[dict]:
        good = render_png(text, seed, 32, 32, 0, chunks)
        entries = [
            ("../../../escape_[bold]x\x1b[31m.png", "../..", good),
            ("/tmp/absolute.png", "/etc", good),
            ("bomb.png", "", decompression_bomb_png()),
            ("huge.png", "", oversized_png(self.oversize_bytes)),
        ]
        images = []
        for name, sub, data in entries:
            self._files[("output", sub, name)] = Stored(data)
            images.append({"filename": name, "subfolder": sub, "type": "output"})
        return images

    def _picture_params(self, prompt: dict, out_id: str) -> tuple[str, Any, int, int, int]:
        upstream = _upstream(prompt, out_id)
        texts, seed, width, height, batch = [], None, 64, 64, 1
        for nid in sorted(upstream, key=_node_key):
            node = prompt[nid]
            inputs = node.get("inputs", {})
            class_type = node["class_type"]
            if class_type.startswith("CLIPTextEncode"):
                texts.extend(str(v) for k, v in inputs.items()
                             if isinstance(v, str) and k in ("text", "t5xxl", "clip_l"))
            for key in ("seed", "noise_seed"):
                if key in inputs and not _is_link(inputs[key]) and seed is None:
                    seed = inputs[key]
            if class_type in ("EmptySD3LatentImage", "EmptyLatentImage", "EmptyImage"):
                width, height = int(inputs.get("width", 64)), int(inputs.get("height", 64))
                batch = max(1, int(inputs.get("batch_size", 1)))
                if class_type == "EmptyImage":
                    texts.append(f"color={inputs.get('color')}")
            if class_type == "LoadImage":
                stored = self._files.get(("input", "", str(inputs.get("image", ""))))
                if stored is not None:
                    try:
                        width, height = Image.open(io.BytesIO(stored.data)).size
                    except Exception:
                        pass
                texts.append(f"source={inputs.get('image')}")
        return " | ".join(texts), seed, width, height, batch


# -- helpers ------------------------------------------------------------------------------

def _error(status: int, kind: str, message: str, details: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message, "details": details,
                                        "extra_info": {}}, "node_errors": {}}, status=status)


async def _json_or_empty(request: web.Request) -> dict:
    try:
        text = await request.text()
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and isinstance(value[1], int)


def _types_match(received: str, wanted: Any) -> bool:
    if not isinstance(wanted, str) or wanted == "COMBO":
        return True
    if "*" in (received, wanted):
        return True
    return bool(set(received.split(",")) & set(wanted.split(",")))


def _node_key(nid: str) -> tuple:
    return (0, int(nid), "") if nid.isdigit() else (1, 0, nid)


def _upstream(prompt: dict, nid: str) -> set[str]:
    seen: set[str] = set()
    stack = [nid]
    while stack:
        current = stack.pop()
        if current in seen or current not in prompt:
            continue
        seen.add(current)
        for value in (prompt[current].get("inputs") or {}).values():
            if _is_link(value):
                stack.append(value[0])
    return seen


def _execution_order(prompt: dict, outputs: list[str]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(nid: str) -> None:
        if nid in seen:
            return
        seen.add(nid)
        for value in (prompt[nid].get("inputs") or {}).values():
            if _is_link(value):
                visit(value[0])
        order.append(nid)

    for out in outputs:
        visit(out)
    return order


def _signature(prompt: dict, nid: str, memo: dict | None = None) -> str:
    memo = {} if memo is None else memo
    if nid in memo:
        return memo[nid]
    node = prompt[nid]
    parts: dict[str, Any] = {"class_type": node["class_type"]}
    for key, value in sorted((node.get("inputs") or {}).items()):
        parts[key] = ["link", _signature(prompt, value[0], memo), value[1]] if _is_link(value) \
            else value
    if node["class_type"] in ("SaveImage", "PreviewImage"):
        parts["__id"] = nid
    memo[nid] = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return memo[nid]


def _steps_of(prompt: dict, nid: str) -> int:
    inputs = prompt[nid].get("inputs", {})
    if "steps" in inputs and not _is_link(inputs["steps"]):
        return max(1, int(inputs["steps"]))
    sigmas = inputs.get("sigmas")
    if _is_link(sigmas):
        steps = prompt.get(sigmas[0], {}).get("inputs", {}).get("steps")
        if isinstance(steps, (int, str)) and str(steps).isdigit():
            return max(1, int(steps))
    return 1


def _meta(nid: str) -> dict:
    return {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid}


def _ms() -> int:
    return int(time.time() * 1000)


_PREVIEW: bytes | None = None


def _preview_jpeg() -> bytes:
    global _PREVIEW
    if _PREVIEW is None:
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), (90, 60, 160)).save(buffer, "JPEG", quality=80)
        _PREVIEW = buffer.getvalue()
    return _PREVIEW


def render_png(text: str, seed: Any, width: int, height: int, index: int = 0,
               chunks: dict[str, str] | None = None) -> bytes:
    """A 4x4 grid of colours from sha256(text, seed, size, batch index), as SaveImage would
    save it: RGB PNG with one tEXt chunk per metadata key."""
    digest = hashlib.sha256(f"{text}\0{seed}\0{width}\0{height}\0{index}".encode()).digest()
    small = Image.new("RGB", (4, 4))
    small.putdata([tuple(digest[(i * 2 + j) % 32] for j in range(3)) for i in range(16)])
    image = small.resize((max(1, width), max(1, height)), Image.NEAREST)
    info = PngImagePlugin.PngInfo()
    for key, value in (chunks or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def decompression_bomb_png(side: int = 40_000) -> bytes:
    """A tiny file whose header claims side x side pixels (1.6 G at the default)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _png_chunk(b"IEND", b""))


def oversized_png(size: int) -> bytes:
    """A valid small PNG padded with a private ancillary chunk to ``size`` bytes."""
    base = render_png("huge", 0, 16, 16)
    pad = max(0, size - len(base) - 12)
    return base[:-12] + _png_chunk(b"wbPd", b"\0" * pad) + base[-12:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake ComfyUI server for trying the "
                                     "workbench without a GPU.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--step-delay", type=float, default=0.05,
                        help="seconds per sampler step (default 0.05)")
    parser.add_argument("--steps", type=int, default=None,
                        help="run every sampler for this many steps instead of its own")
    parser.add_argument("--model-load-delay", type=float, default=0.0)
    parser.add_argument("--hostile", action="store_true")
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = FakeComfy(host=args.host, port=args.port, step_delay=args.step_delay,
                         default_steps=args.steps, model_load_delay=args.model_load_delay,
                         hostile=args.hostile)
        url = await fake.start()
        print(f"fake ComfyUI listening on {url} (Ctrl+C to stop)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
