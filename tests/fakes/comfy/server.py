"""The fake ComfyUI server: aiohttp on a real 127.0.0.1 port, as strict as ComfyUI 0.3.64.

By default it behaves like a real server started with ``--preview-method none`` (the
default): the full recorded node set with its model lists, validation exactly as the
server does it (`validation`), the classic cache (only the previous prompt's node outputs
are reused), no preview frames, silent model loads / text encodes / VAE passes
(`execution`), outputs sized from the graph (`graph`), queue numbers from 0, and prompts
that run to the end when their client goes away.

Options (constructor arguments, also attributes settable at any time):
``cache`` ("classic" | "forever" | "none"), ``preview_method`` ("none" | "auto" |
"latent2rgb" | "taesd"), ``step_delay``, ``load_delay``, ``encode_delay``, ``vae_delay``,
``node_delay`` (any other node), ``node_delays`` ({class_type: seconds}),
``model_load_delay`` (a sampler whose model or LoRAs changed loads them before its
first step; counted in ``model_switches``), ``default_steps`` (every sampler
runs this many steps), ``drop_ws_after_steps``, ``broken_models`` (a loader fails like
the recorded dummy files), ``hostile`` (path-traversal names, markup and escapes in
messages, a decompression bomb, an oversized PNG), ``models`` (folder -> files).
Methods: `stall` / `resume`, `drop_websockets`, `restart` (a real restart forgets queue,
history and cache, keeps files), `add_input_image`.

Hostile modes, off by default: ``faults`` (`tests.fakes.faults.Faults`: slow loris, HTML or
list bodies, 401/500, huge or deep JSON per route), ``hostile_strings`` (escapes and markup
in every string the socket and /history carry: node ids, node types, exception messages,
tracebacks) and `send_raw` (any text or binary frame, e.g. deep JSON, ``1e400``, a bogus
preview header).
"""

from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import json
import posixpath
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from ..faults import Faults
from .cache import OutputCache
from .execution import MODEL_LOADERS, Execution
from .graph import node_key
from .images import decompression_bomb_png, oversized_png, render_png
from .recordings import MODEL_INPUTS, body, model_folders, recorded_models, with_files
from .validation import Rejected, validate_prompt

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
PREVIEW_METHODS = ("none", "auto", "latent2rgb", "taesd")
SERVER_ERROR = "500 Internal Server Error\n\nServer got itself in trouble"


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
    load_delay: float = 0.005
    encode_delay: float = 0.005
    vae_delay: float = 0.005
    node_delays: dict[str, float] = field(default_factory=dict)
    model_load_delay: float = 0.0
    default_steps: int | None = None   # override every sampler's step count (speed)
    preview_method: str = "none"
    preview: bool | None = None   # older flag: True/False overrides preview_method
    cache: str = "classic"
    drop_ws_after_steps: int | None = None
    broken_models: set[str] = field(default_factory=set)
    hostile: bool = False
    hostile_strings: bool = False
    faults: Faults = field(default_factory=lambda: Faults(strip_prefix="/api"))
    oversize_bytes: int = 3_000_000
    models: dict[str, list[str]] = field(default_factory=recorded_models)
    # -- observable state, for tests
    submitted: list[dict] = field(default_factory=list)
    executed_nodes: list[tuple[str, str]] = field(default_factory=list)
    runs: collections.Counter = field(default_factory=collections.Counter)
    node_seconds: list[tuple[str, float]] = field(default_factory=list)
    request_headers: list[dict[str, str]] = field(default_factory=list)
    busy_seconds: float = 0.0
    model_switches: int = 0   # samplers that had to load / re-patch their model first

    def __post_init__(self) -> None:
        if self.preview_method not in PREVIEW_METHODS:
            raise ValueError(f"preview_method: one of {', '.join(PREVIEW_METHODS)}")
        self._system_stats = body("system_stats.json")
        self._features = body("features.json")
        self._files: dict[tuple[str, str, str], Stored] = {}
        self._counters: dict[str, int] = {}
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self.flags: dict[str, dict] = {}
        self._all_ws: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task | None = None
        self.not_stalled = asyncio.Event()
        self.not_stalled.set()
        self._reset_queue()

    def _reset_queue(self) -> None:
        self._pending: list[Job] = []
        self._running: Job | None = None
        self._history: dict[str, dict] = {}
        self.output_cache = OutputCache(self.cache)
        self.gpu_model: str | None = None
        self._wake = asyncio.Event()
        self._number = 0
        self.last_node: str | None = None
        self.steps_seen = 0

    # -- what tests read ------------------------------------------------------------------

    @property
    def model_loads(self) -> int:
        """Diffusion model loader runs (a cached loader costs nothing)."""
        return sum(self.runs[name] for name in MODEL_LOADERS)

    @property
    def text_encodes(self) -> int:
        return sum(n for name, n in self.runs.items() if name.startswith("CLIPTextEncode"))

    @property
    def previews(self) -> str:
        """The preview method in effect (the older ``preview`` flag wins when set)."""
        if self.preview is None:
            return self.preview_method
        return "latent2rgb" if self.preview else "none"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        if self.output_cache.policy != self.cache:
            self.output_cache = OutputCache(self.cache)
        # features.json max_upload_size: a bigger upload gets 413, as on the server
        app = web.Application(client_max_size=int(self._features["max_upload_size"]),
                              middlewares=[self._record_headers, self.faults.middleware])
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
        """Stop and start again on the same port; a real restart loses queue, history
        and cached outputs (files on disk stay)."""
        await self.stop()
        if forget:
            self._reset_queue()
        self.not_stalled.set()
        await self.start()

    async def __aenter__(self) -> FakeComfy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def stall(self) -> None:
        """Freeze the worker before its next node or step (the job stays 'running')."""
        self.not_stalled.clear()

    def resume(self) -> None:
        self.not_stalled.set()

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

    # -- node set, files ------------------------------------------------------------------

    def object_info(self) -> dict:
        """The full node set with this server's model files and uploaded images."""
        inputs = [name for (kind, sub, name) in self._files
                  if kind == "input" and sub == "" and name.lower().endswith(IMAGE_EXTS)]
        return with_files(self.models, inputs)

    def _file_key(self, annotated: str) -> tuple[str, str, str]:
        """'sub/name.png [output]' -> ('output', 'sub', 'name.png'); input by default."""
        kind = "input"
        for folder in ("input", "output", "temp"):
            if annotated.endswith(f" [{folder}]"):
                annotated, kind = annotated[: -len(folder) - 3], folder
        sub, _, name = annotated.rpartition("/")
        return kind, sub, name

    def input_file(self, annotated: str) -> bytes | None:
        stored = self._files.get(self._file_key(annotated))
        return stored.data if stored else None

    def has_input_file(self, annotated: str) -> bool:
        return self._file_key(annotated) in self._files

    def is_changed(self, nid: str, node: dict) -> Any:
        """IS_CHANGED: an image loader's value is the hash of the file it reads."""
        if node.get("class_type") in ("LoadImage", "LoadImageMask", "LoadImageOutput"):
            data = self.input_file(str((node.get("inputs") or {}).get("image", "")))
            return hashlib.sha256(data).hexdigest() if data is not None else None
        return False

    def add_input_image(self, name: str, data: bytes) -> None:
        self._files[("input", "", name)] = Stored(data)

    def store_file(self, kind: str, sub: str, name: str, data: bytes) -> None:
        self._files[(kind, sub, name)] = Stored(data)

    def next_output_name(self, prefix: str) -> str:
        count = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = count
        return f"{posixpath.basename(prefix)}_{count:05}_.png"

    def broken_input(self, node: dict) -> str | None:
        for (class_type, name), _ in MODEL_INPUTS.items():
            if node["class_type"] == class_type and node["inputs"].get(name) in \
                    self.broken_models:
                return name
        return None

    def hostile_outputs(self, text: str, seed: Any, chunks: dict) -> list[dict]:
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

    # -- WebSocket ------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        self._sockets[sid] = ws
        self._all_ws.add(ws)
        self.flags[sid] = {}
        try:
            await ws.send_json({"type": "status", "data": {
                "status": {"exec_info": {"queue_remaining": self.queue_remaining}}, "sid": sid}})
            if self._running and self._running.extra_data.get("client_id") == sid \
                    and self.last_node is not None:
                await ws.send_json({"type": "executing", "data": {"node": self.last_node}})
            first = True
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and first:
                    first = False
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(data, dict) and data.get("type") == "feature_flags":
                        self.flags[sid] = dict(data.get("data") or {})
                        await ws.send_json({"type": "feature_flags", "data": dict(self._features)})
        finally:
            self._all_ws.discard(ws)
            if self._sockets.get(sid) is ws:
                del self._sockets[sid]
        return ws

    async def send(self, kind: str, data: dict, sid: str | None) -> None:
        """To one client (when it is connected), or to all with ``sid=None``."""
        if self.hostile_strings:
            data = taint(data)
        await self.send_raw(json.dumps({"type": kind, "data": data}), sid)

    async def send_raw(self, message: str | bytes, sid: str | None = None) -> None:
        """Any frame, as it is: text (``str``) or binary (``bytes``)."""
        targets = list(self._sockets.values()) if sid is None else \
            [self._sockets[sid]] if sid in self._sockets else []
        for ws in targets:
            try:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_str(message)
            except Exception:
                pass

    async def send_bytes(self, data: bytes, sid: str) -> None:
        ws = self._sockets.get(sid)
        if ws is not None:
            try:
                await ws.send_bytes(data)
            except Exception:
                pass

    async def _status(self) -> None:
        await self.send("status", {"status": {"exec_info": {
            "queue_remaining": self.queue_remaining}}}, None)

    # -- POST /prompt ---------------------------------------------------------------------

    async def _post_prompt(self, request: web.Request) -> web.Response:
        try:
            posted = json.loads(await request.text())
        except ValueError:
            return web.Response(status=500, text=SERVER_ERROR)
        if not isinstance(posted, dict):
            return web.Response(status=500, text=SERVER_ERROR)
        # the number is taken before anything is checked: a refused prompt uses one up
        if "number" in posted:
            number: float = float(posted["number"])
        else:
            number = -self._number if posted.get("front") else self._number
            self._number += 1
        if "prompt" not in posted:
            return _json_error("no_prompt", "No prompt provided", "No prompt provided")
        self.submitted.append(posted)
        prompt = posted["prompt"]
        if not isinstance(prompt, dict):
            if prompt in ([], "", None, 0):
                return _json_error("prompt_no_outputs", "Prompt has no outputs", "")
            return web.Response(status=500, text=SERVER_ERROR)
        prompt = copy.deepcopy(prompt)   # validation converts values in place, as ComfyUI does
        prompt_id = str(posted.get("prompt_id", uuid.uuid4()))
        try:
            result = validate_prompt(prompt, self.object_info(), self.has_input_file)
        except Exception:
            return web.Response(status=500, text=SERVER_ERROR)
        if isinstance(result, Rejected):
            if self.hostile:
                _hostile_details(result.body.get("node_errors", {}))
            return web.json_response(result.body, status=result.status)
        good, node_errors = result
        if self.hostile:
            _hostile_details(node_errors)
        extra = posted.get("extra_data") if isinstance(posted.get("extra_data"), dict) else {}
        extra = dict(extra)
        if "client_id" in posted:
            extra["client_id"] = posted["client_id"]
        job = Job(number, prompt_id, prompt, extra, sorted(good, key=node_key))
        self._pending.append(job)
        self._pending.sort(key=lambda j: j.number)
        self._wake.set()
        await self._status()
        return web.json_response({"prompt_id": prompt_id, "number": number,
                                  "node_errors": node_errors})

    # -- queue, interrupt, history --------------------------------------------------------

    async def _get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self.queue_remaining}})

    def _queue_item(self, job: Job) -> list:
        return [job.number, job.prompt_id, job.prompt, job.extra_data, job.outputs]

    async def _get_queue(self, request: web.Request) -> web.Response:
        return web.json_response({
            "queue_running": [self._queue_item(self._running)] if self._running else [],
            "queue_pending": [self._queue_item(j) for j in self._pending]})

    async def _post_queue(self, request: web.Request) -> web.Response:
        posted = await _json_or_empty(request)
        if posted.get("clear"):
            self._pending.clear()
        if isinstance(posted.get("delete"), list):
            gone = set(posted["delete"])
            self._pending = [j for j in self._pending if j.prompt_id not in gone]
        await self._status()
        return web.Response(status=200)

    async def _interrupt(self, request: web.Request) -> web.Response:
        """The flag is read before the next node and at sampler steps; a node already at
        work (a model load, a text encode) finishes first."""
        posted = await _json_or_empty(request)
        wanted = posted.get("prompt_id")
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
        posted = await _json_or_empty(request)
        if posted.get("clear"):
            self._history.clear()
        for pid in posted.get("delete") or []:
            self._history.pop(pid, None)
        return web.Response(status=200)

    async def _free(self, request: web.Request) -> web.Response:
        posted = await _json_or_empty(request)
        if posted.get("free_memory"):   # the executor is reset: its caches go too
            self.output_cache.clear()
        if posted.get("free_memory") or posted.get("unload_models"):
            self.gpu_model = None
        return web.Response(status=200)

    # -- files ----------------------------------------------------------------------------

    async def _view(self, request: web.Request) -> web.Response:
        if "filename" not in request.query:
            return web.Response(status=404)
        name = request.query["filename"]
        sub = request.query.get("subfolder", "")
        kind = request.query.get("type", "output")
        key = (kind, sub, name)
        if not (self.hostile and key in self._files):
            if not name or ".." in name or name.startswith("/"):
                return web.Response(status=400)
            if ".." in sub.split("/") or sub.startswith("/"):
                return web.Response(status=403)
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
        if image is None or not hasattr(image, "file") or not image.filename:
            return web.Response(status=400)
        sub = str(form.get("subfolder", ""))
        kind = str(form.get("type", "input")) or "input"
        if kind not in ("input", "temp", "output"):
            kind = "input"
        name = image.filename
        target = posixpath.normpath(posixpath.join("/base", sub, name))
        if not target.startswith("/base/") or sub.startswith("/") or name.startswith("/"):
            return web.Response(status=400)
        if "/" in name:   # ComfyUI opens <folder>/<a/b.png> without making "a": it fails
            return web.Response(status=500, text=SERVER_ERROR)
        overwrite = str(form.get("overwrite", "")).lower() in ("true", "1")
        data = image.file.read()
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
        return web.json_response(model_folders())

    async def _get_models_folder(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in self.models:
            return web.Response(status=404)
        return web.json_response(sorted(self.models[folder]))

    async def _get_embeddings(self, request: web.Request) -> web.Response:
        return web.json_response([])

    # -- the worker -----------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._wake.clear()
                await self._wake.wait()
            job = self._pending.pop(0)
            self._running = job
            await self._status()
            started = time.perf_counter()
            status, messages, outputs, meta = await Execution(self, job).run()
            self.busy_seconds += time.perf_counter() - started
            if self.hostile_strings:
                messages = [[kind, taint(data)] for kind, data in messages]
            self._history[job.prompt_id] = {
                "prompt": self._queue_item(job), "outputs": outputs,
                "status": {"status_str": status, "completed": status == "success",
                           "messages": messages}, "meta": meta}
            self._running = None
            self.last_node = None
            await self._status()
            sid = job.extra_data.get("client_id")
            if sid:
                await self.send("executing", {"node": None, "prompt_id": job.prompt_id}, sid)


def _json_error(kind: str, message: str, details: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message, "details": details,
                                        "extra_info": {}}, "node_errors": {}}, status=400)


def _hostile_details(node_errors: dict) -> None:
    from .execution import HOSTILE_TEXT

    for entry in node_errors.values():
        for err in entry["errors"]:
            err["details"] = f"{err['details']} {HOSTILE_TEXT}"


#: Message fields that are server text (ids, types, messages), tainted by ``hostile_strings``;
#: ``prompt_id`` and outputs stay as they are (they route messages and name files).
_TEXT_FIELDS = ("node", "node_id", "display_node", "display_node_id", "real_node_id",
                "node_type", "exception_type", "exception_message", "traceback", "executed",
                "nodes")


def taint(data: dict) -> dict:
    """``data`` with HOSTILE in every descriptive string (node ids included)."""
    from tests.hostile import HOSTILE

    def bad(value: Any) -> Any:
        if isinstance(value, str):
            return f"{value}{HOSTILE}"
        if isinstance(value, list):
            return [bad(v) for v in value]
        if isinstance(value, dict):   # progress_state's nodes: keyed by node id
            return {bad(k): taint(v) if isinstance(v, dict) else v for k, v in value.items()}
        return value

    return {k: bad(v) if k in _TEXT_FIELDS else v for k, v in data.items()}


async def _json_or_empty(request: web.Request) -> dict:
    try:
        text = await request.text()
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}
