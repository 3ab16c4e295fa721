"""A fake Ollama server for tests, benches and trying the LLM features without a model.

It runs in-process on a real 127.0.0.1 port and answers the endpoints the workbench uses
(/api/version, /api/tags, /api/show, /api/ps, /api/chat, /api/generate) in the shapes of
``tests/fixtures/ollama/README.md``, so the real `ollama` client is exercised end to end.

Tests script the answers: queue `Reply` objects (or plain strings) on ``fake.replies``, or
set ``fake.responder`` to a function of the request body; otherwise a canned, plausible
answer is made up from the request.  A judge request (an image and a ``format`` schema
with ``items`` and ``text_seen``) gets schema-shaped JSON that is deterministic per image:
looked up in ``fake.vision_table`` by the picture's average colour (`colour_key`), and
otherwise derived from that colour.  Every request body is kept in ``fake.requests`` so a
test can assert what the app sent.  ``fake.faults`` (`tests.fakes.faults.Faults`, empty by
default) makes a route answer like a hostile or broken server instead: slow loris, HTML,
garbage lines, 500, huge answers.  By hand::

    uv run python -m tests.fakes.ollama_server --port 11434
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import io
import json
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.faults import Faults

NS = 1_000_000_000


@dataclass
class FakeModel:
    """An installed model: its name, family and what it can do (``/api/show`` capabilities)."""

    name: str
    family: str = "gemma3"
    capabilities: tuple[str, ...] = ("completion",)
    parameter_size: str = "4.3B"
    size: int = 3_338_801_804
    #: When set, chat/generate fail with a 500 carrying this message (e.g. out of memory).
    load_error: str = ""


def default_models() -> list[FakeModel]:
    return [
        FakeModel("gemma3:4b", "gemma3", ("completion", "vision")),
        FakeModel("llava:7b", "llama", ("completion", "vision"), "7B", 4_733_363_377),
        FakeModel("llama3.2:3b", "llama", ("completion", "tools"), "3.2B", 2_019_393_189),
        FakeModel("qwen3:4b", "qwen3", ("completion", "tools", "thinking"), "4.0B",
                  2_497_293_931),
        FakeModel("llama3.3:70b", "llama", ("completion", "tools"), "70.6B", 42_520_413_916,
                  load_error="model requires more system memory (42.6 GiB) than is "
                             "available (6.1 GiB)"),
    ]


@dataclass
class Reply:
    """One scripted answer.

    ``content`` is streamed in word-sized chunks (or exactly ``chunks`` when given), after
    ``thinking`` chunks when the request asked to think.  ``status`` other than 200 answers
    ``{"error": error}`` with that status instead; ``error_after`` sends ``{"error": error}``
    as a stream line after that many content chunks; ``stop_after`` just ends the stream
    there.
    """

    content: str = ""
    thinking: str = ""
    done_reason: str = "stop"
    chunks: list[str] | None = None
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    status: int = 200
    error: str = ""
    error_after: int | None = None
    #: End the stream cleanly after this many content chunks, without the final "done".
    stop_after: int | None = None


@dataclass
class Seen:
    """A request the fake received."""

    method: str
    path: str
    body: dict[str, Any]


def split_chunks(text: str) -> list[str]:
    """Word-sized pieces with their leading whitespace, as a tokenizer would stream them."""
    return re.findall(r"\s*\S+|\s+$", text) or [""]


class FakeOllama:
    def __init__(self, models: list[FakeModel] | None = None, version: str = "0.12.6") -> None:
        self.models = {m.name: m for m in (models if models is not None else default_models())}
        self.version = version
        self.replies: deque[Reply | str] = deque()
        self.responder: Callable[[dict[str, Any]], Reply | str] | None = None
        self.requests: list[Seen] = []
        self.loaded: set[str] = set()
        #: Streams the client walked away from before the end (cancellation).
        self.aborted = 0
        #: perf_counter() when each stream's first content chunk was written (benches).
        self.first_token_sent: list[float] = []
        #: Judge answers by `colour_key` of the picture: ``{"items": {key: status or
        #: {"status", "reason"}}, "text_seen": "..."}``; items left out are derived.
        self.vision_table: dict[tuple[int, int, int], dict[str, Any]] = {}
        self.faults = Faults()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- life cycle ------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024,
                              middlewares=[self.faults.middleware])
        app.router.add_get("/", self._root)
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_get("/api/ps", self._ps)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/chat", self._chat)
        app.router.add_post("/api/generate", self._generate)
        return app

    async def start(self, port: int = 0) -> FakeOllama:
        self._runner = web.AppRunner(self.app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOllama:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def host(self) -> str:
        """What OLLAMA_HOST would hold for this server."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # -- what tests look at ----------------------------------------------------------------
    def seen(self, path: str) -> list[dict[str, Any]]:
        return [s.body for s in self.requests if s.path == path]

    @property
    def chats(self) -> list[dict[str, Any]]:
        return self.seen("/api/chat")

    @property
    def vision_chats(self) -> list[dict[str, Any]]:
        """Chat requests that carried an image."""
        return [body for body in self.chats if _images_of(body, True)]

    def queue(self, *replies: Reply | str) -> None:
        self.replies.extend(replies)

    # -- handlers --------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            raise web.HTTPBadRequest(text=json.dumps({"error": "invalid JSON body"}),
                                     content_type="application/json") from None
        if not isinstance(body, dict):
            raise _error(400, "request body must be a JSON object")
        self.requests.append(Seen(request.method, request.path, body))
        return body

    async def _root(self, request: web.Request) -> web.Response:
        return web.Response(text="Ollama is running")

    async def _version(self, request: web.Request) -> web.Response:
        self.requests.append(Seen("GET", request.path, {}))
        return web.json_response({"version": self.version})

    async def _tags(self, request: web.Request) -> web.Response:
        self.requests.append(Seen("GET", request.path, {}))
        return web.json_response({"models": [self._listing(m) for m in self.models.values()]})

    async def _ps(self, request: web.Request) -> web.Response:
        self.requests.append(Seen("GET", request.path, {}))
        return web.json_response({"models": [
            {**self._listing(self.models[name]), "expires_at": "2026-11-23T10:05:00Z",
             "size_vram": self.models[name].size}
            for name in sorted(self.loaded) if name in self.models]})

    def _listing(self, m: FakeModel) -> dict[str, Any]:
        return {"name": m.name, "model": m.name, "modified_at": "2026-10-02T09:12:44.1+00:00",
                "size": m.size, "digest": hashlib.sha256(m.name.encode()).hexdigest(),
                "details": self._details(m)}

    @staticmethod
    def _details(m: FakeModel) -> dict[str, Any]:
        families = [m.family] + (["clip"] if "vision" in m.capabilities else [])
        return {"parent_model": "", "format": "gguf", "family": m.family,
                "families": families, "parameter_size": m.parameter_size,
                "quantization_level": "Q4_K_M"}

    def _model(self, body: dict[str, Any]) -> FakeModel:
        name = body.get("model") or body.get("name") or ""
        if not name:
            raise _error(400, "model is required")
        model = self.models.get(name) or self.models.get(f"{name}:latest")
        if model is None:
            raise _error(404, f"model '{name}' not found")
        return model

    async def _show(self, request: web.Request) -> web.Response:
        m = self._model(await self._body(request))
        return web.json_response({
            "modelfile": f"FROM {m.name}\n", "parameters": "temperature 0.8",
            "template": "{{ .Prompt }}", "details": self._details(m),
            "model_info": {"general.architecture": m.family},
            "capabilities": list(m.capabilities),
            "modified_at": "2026-10-02T09:12:44.1+00:00"})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        return await self._answer(request, body, chat=True)

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        model = self._model(body)
        if not body.get("prompt") and body.get("keep_alive") in (0, "0", "0s"):
            self.loaded.discard(model.name)
            return web.json_response({"model": model.name, "created_at": _now(),
                                      "response": "", "done": True, "done_reason": "unload"})
        return await self._answer(request, body, chat=False)

    async def _answer(self, request: web.Request, body: dict[str, Any],
                      chat: bool) -> web.StreamResponse:
        model = self._check_request(body, chat)
        reply = self._next_reply(body)
        if reply.status != 200:
            raise _error(reply.status, reply.error or "internal error")
        self.loaded.add(model.name)
        piece = functools.partial(_piece, model.name, chat)
        thinking = reply.thinking if body.get("think") else ""
        final = {**piece(), "done": True, "done_reason": reply.done_reason,
                 "total_duration": 912_345_678, "load_duration": 12_345_678,
                 "prompt_eval_count": 61, "prompt_eval_duration": 80_000_000,
                 "eval_count": max(1, len(split_chunks(reply.content))),
                 "eval_duration": 700_000_000}
        if not body.get("stream", True):
            return await _whole_answer(reply, thinking, piece, final)
        return await self._streamed_answer(request, reply, thinking, piece, final)

    def _check_request(self, body: dict[str, Any], chat: bool) -> FakeModel:
        """The model asked for, once the request is one it can answer (else the server's
        400 / 404 / 500 error)."""
        model = self._model(body)
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not (isinstance(fmt, dict) and "type" in fmt):
            raise _error(400, "invalid JSON schema in format")
        if body.get("think") and "thinking" not in model.capabilities:
            raise _error(400, f'"{model.name}" does not support thinking')
        images = _images_of(body, chat)
        if images and "vision" not in model.capabilities:
            raise _error(500, "this model is missing data required for image input")
        if model.load_error:
            raise _error(500, model.load_error)
        return model

    async def _streamed_answer(self, request: web.Request, reply: Reply, thinking: str,
                               piece: Piece, final: dict[str, Any]) -> web.StreamResponse:
        """NDJSON lines: the thinking chunks, the content chunks, then ``final``."""
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)

        async def send(obj: dict[str, Any]) -> None:
            await response.write(json.dumps(obj).encode() + b"\n")

        try:
            await asyncio.sleep(reply.first_token_delay)
            for part in (split_chunks(thinking) if thinking else []):
                await send({**piece("", part), "done": False})
                await asyncio.sleep(reply.chunk_delay)
            if await self._send_content(send, reply, piece):
                await send(final)
                await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.aborted += 1
            raise
        return response

    async def _send_content(self, send: Callable[[dict[str, Any]], Awaitable[None]],
                            reply: Reply, piece: Piece) -> bool:
        """Stream the content chunks; False when the reply ends the stream early instead
        (``stop_after``, or an error line for ``error_after``)."""
        chunks = reply.chunks if reply.chunks is not None else split_chunks(reply.content)
        for i, part in enumerate(chunks):
            if reply.stop_after is not None and i == reply.stop_after:
                return False
            if reply.error_after is not None and i == reply.error_after:
                await send({"error": reply.error or "internal error"})
                return False
            if i == 0:
                self.first_token_sent.append(time.perf_counter())
            await send({**piece(part), "done": False})
            await asyncio.sleep(reply.chunk_delay)
        if reply.error_after is not None:
            await send({"error": reply.error or "internal error"})
            return False
        return True

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        if self.replies:
            reply = self.replies.popleft()
        elif self.responder is not None:
            reply = self.responder(body)
        elif _judge_keys(body) is not None:
            reply = judge_reply(body, self.vision_table)
        else:
            reply = plausible_reply(body)
        return Reply(content=reply) if isinstance(reply, str) else reply


def _error(status: int, message: str) -> web.HTTPException:
    kinds = {400: web.HTTPBadRequest, 404: web.HTTPNotFound, 500: web.HTTPInternalServerError}
    kind = kinds.get(status, web.HTTPInternalServerError)
    return kind(text=json.dumps({"error": message}), content_type="application/json")


#: One answer object without "done": `_piece` with the model and endpoint filled in.
Piece = Callable[..., dict[str, Any]]


def _piece(model: str, chat: bool, content: str = "", thinking: str = "") -> dict[str, Any]:
    """A chat ``message`` or a generate ``response`` object, with its thinking if any."""
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        return {"model": model, "created_at": _now(), "message": message}
    out: dict[str, Any] = {"model": model, "created_at": _now(), "response": content}
    if thinking:
        out["thinking"] = thinking
    return out


async def _whole_answer(reply: Reply, thinking: str, piece: Piece,
                        final: dict[str, Any]) -> web.Response:
    """The non-streamed answer: ``final`` with the whole content in it."""
    if reply.error_after is not None:
        raise _error(500, reply.error or "internal error")
    await asyncio.sleep(reply.first_token_delay)
    final.update(piece(reply.content, thinking))
    final["done"] = True
    return web.json_response(final)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".1Z"


def _images_of(body: dict[str, Any], chat: bool) -> list[str]:
    if not chat:
        return list(body.get("images") or [])
    return [img for m in body.get("messages") or [] if isinstance(m, dict)
            for img in (m.get("images") or [])]


# -- canned answers ----------------------------------------------------------------------------

def _last_user_text(body: dict[str, Any]) -> str:
    if "messages" not in body:
        return str(body.get("prompt") or "")
    users = [m.get("content") or "" for m in body.get("messages") or []
             if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users else ""


def _quoted_block(text: str) -> str:
    """The part of a templated message the user wrote (between ``<<<`` and ``>>>``)."""
    match = re.search(r"<<<\n?(.*?)\n?>>>", text, re.S)
    return (match.group(1) if match else text).strip()


def _describe_image(data: str) -> str:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            width, height = image.size
            r, g, b = image.convert("RGB").resize((1, 1)).getpixel((0, 0))
    except Exception:
        return "A photograph with soft, even light and a calm, muted palette."
    tone = max((("red", r), ("green", g), ("blue", b)), key=lambda t: t[1])[0]
    shape = "square" if width == height else ("wide" if width > height else "tall")
    return (f"A {shape} image dominated by {tone} tones, lit softly from the left, with a "
            f"shallow depth of field and a quiet, minimal composition.")


def colour_key(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """An average colour on a 6-level cube (0-5 per channel): robust to JPEG re-encoding,
    so a test names the picture it made by the colour it painted (red -> (5, 0, 0))."""
    return tuple(round(c / 51) for c in rgb[:3])


def _mean_colour(data: str) -> tuple[int, int, int] | None:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            return image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    except Exception:
        return None


def _judge_keys(body: dict[str, Any]) -> list[str] | None:
    """The checklist keys of a judge request, or None when it is not one."""
    fmt = body.get("format")
    if not isinstance(fmt, dict) or not _images_of(body, "messages" in body):
        return None
    props = fmt.get("properties") or {}
    items = props.get("items")
    if "text_seen" not in props or not isinstance(items, dict):
        return None
    return list(items.get("required") or (items.get("properties") or {}).keys())


_DERIVED = ("present", "present", "partly", "absent")


def judge_reply(body: dict[str, Any], table: dict[tuple[int, int, int], dict[str, Any]]
                ) -> Reply:
    """A schema-shaped checklist answer for the picture in ``body``: from ``table`` by its
    colour, the rest derived from the colour (same picture, same answer)."""
    keys = _judge_keys(body) or []
    colour = _mean_colour(_images_of(body, "messages" in body)[-1])
    key = colour_key(colour) if colour else (0, 0, 0)
    entry = table.get(key, {})
    if "content" in entry:  # a test wants this exact (maybe broken) answer
        return Reply(entry["content"])
    wanted = entry.get("items", {})
    items = {}
    for name in keys:
        given = wanted.get(name)
        if isinstance(given, dict):
            items[name] = {"status": given.get("status", "present"),
                           "reason": given.get("reason", "as the test said")}
            continue
        if isinstance(given, str):
            status = given
        else:
            digest = hashlib.sha256(f"{key}{name}".encode()).digest()
            status = _DERIVED[digest[0] % len(_DERIVED)]
        items[name] = {"status": status,
                       "reason": f"the fake looked at a picture of average colour {colour}"}
    return Reply(json.dumps({"items": items, "text_seen": entry.get("text_seen", "")},
                            ensure_ascii=False))


def plausible_reply(body: dict[str, Any]) -> Reply:
    """A made-up but sensible answer, so the app can be tried with no model at all."""
    images = _images_of(body, "messages" in body)
    if images:
        return Reply(_describe_image(images[-1]))
    text = _quoted_block(_last_user_text(body))
    fmt = body.get("format")
    props = fmt.get("properties", {}) if isinstance(fmt, dict) else {}
    if "instructions" in props:
        wishes = [w.strip(" .") for w in re.split(r",|;|\band\b|\n", text) if w.strip(" .")]
        steps = [f"Change only this: {w}; keep the person's face, pose and the framing the same"
                 for w in wishes] or ["Keep everything the same"]
        return Reply(json.dumps({"instructions": steps}))
    if props:
        fields = {name: "" for name in props}
        quoted = re.findall(r'"([^"]+)"', text)
        if "text" in fields and quoted:
            fields["text"] = quoted[0]
            text = re.sub(r'[^.]*"[^"]+"[^.]*\.?', "", text)
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        order = [k for k in ("subject", "style", "context", "background", "camera")
                 if k in fields]
        for name, value in zip(order, sentences):
            fields[name] = value.rstrip(".")
        for extra in sentences[len(order):]:
            fields[order[-1] if order else next(iter(fields))] += " " + extra.rstrip(".")
        return Reply(json.dumps(fields, ensure_ascii=False))
    if fmt == "json":
        return Reply(json.dumps({"answer": text}))
    asked = _last_user_text(body)
    if "<<<" in asked:  # a fix: drop the words the problems quote ('masterpiece', ...)
        for term in re.findall(r"'([^'\n]+)'", asked.split("<<<", 1)[0]):
            text = re.sub(rf",?\s*\b{re.escape(term)}\b", "", text, flags=re.I)
        text = text.strip(" ,") or text
    base = text.strip().rstrip(".") or "A quiet still life"
    base = base[0].upper() + base[1:]
    tail = ", shown in natural light with soft shadows, photographed on a 50mm lens."
    answer = base + "." if base.endswith(tail[:-1]) else base + tail
    return Reply(answer, thinking="The user wants a FLUX prompt; keep their meaning, add light.")


class FakeOllamaThread:
    """The fake on its own event loop in a background thread, for synchronous callers
    (the CLI runs ``asyncio.run`` itself).  ``with FakeOllamaThread() as fake: ...``"""

    def __init__(self, fake: FakeOllama | None = None) -> None:
        self.fake = fake or FakeOllama()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="fake-ollama")

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


# -- by hand -----------------------------------------------------------------------------------

async def _serve(port: int) -> None:
    fake = await FakeOllama().start(port)
    print(f"fake Ollama listening on {fake.url} (models: {', '.join(fake.models)}); "
          "Ctrl+C stops it", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake Ollama server with canned answers.")
    parser.add_argument("--port", type=int, default=11434)
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
