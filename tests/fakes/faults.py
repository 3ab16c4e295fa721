"""Hostile answers the fakes can give instead of their own, switched on per test.

Both fakes (`tests.fakes.comfy.FakeComfy`, `tests.fakes.ollama_server.FakeOllama`) carry
a `Faults` table and its aiohttp middleware; with the table empty (the default) they
behave exactly as before.  A test sets a rule for a route::

    fake.faults.set("GET /object_info", slow_loris())
    fake.faults.set("/prompt", status(401))          # any method
    fake.faults.set("GET /history/*", html(), times=1)

Routes are ``[METHOD ]PATH`` with shell wildcards; ComfyUI's ``/api`` prefix is ignored.
The faults are what a broken proxy, a wrong URL or an attacker's server answers:

- `slow_loris`: headers at once, then the body one byte every ``interval`` seconds, for
  ``seconds`` (default: forever) -- every read is "in time", the answer never ends;
- `hang`: the request is accepted and never answered;
- `html`, `text`: a page instead of JSON (a login page, a proxy's error);
- `json_body`: any JSON value (a list where an object belongs, a string...);
- `status`: an HTTP error code with a body (401 from an authenticating proxy, 500);
- `huge_json`: a valid JSON answer of ``size`` bytes, streamed (never held in memory);
- `deep_json`: ``[[[[...]]]]`` nested ``depth`` levels;
- `garbage`: raw bytes (``json_lines`` for a stream of lines).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    """One hostile answer (see the module docstring for the kinds)."""

    kind: str
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    interval: float = 1.0
    seconds: float | None = None
    size: int = 0


def slow_loris(interval: float = 2.0, seconds: float | None = None) -> Fault:
    return Fault("slow", interval=interval, seconds=seconds)


def hang() -> Fault:
    return Fault("hang")


def html(status_code: int = 200) -> Fault:
    return Fault("body", status_code, b"<!DOCTYPE html><html><head><title>Sign in</title>"
                 b"</head><body><form>Password: <input></form></body></html>", "text/html")


def text(body: str, status_code: int = 200) -> Fault:
    return Fault("body", status_code, body.encode(), "text/plain")


def json_body(value: Any, status_code: int = 200) -> Fault:
    return Fault("body", status_code, json.dumps(value).encode())


def raw_json(body: str, status_code: int = 200) -> Fault:
    """Text sent as JSON as it is (``1e400``, ``NaN``, broken JSON)."""
    return Fault("body", status_code, body.encode())


def status(code: int, body: str = "") -> Fault:
    return Fault("body", code, (body or f"{code} error").encode(), "text/plain")


def huge_json(size: int) -> Fault:
    return Fault("huge", size=size)


def deep_json(depth: int = 100_000) -> Fault:
    return Fault("body", 200, b"[" * depth + b"]" * depth)


def garbage(data: bytes, content_type: str = "application/octet-stream") -> Fault:
    return Fault("body", 200, data, content_type)


def json_lines(lines: list[str]) -> Fault:
    """An ``application/x-ndjson`` stream (Ollama's streaming answers) of these lines."""
    return Fault("body", 200, "".join(line + "\n" for line in lines).encode(),
                 "application/x-ndjson")


class Faults:
    """Route -> fault, applied by `middleware` before the fake's own handler."""

    def __init__(self, strip_prefix: str = "") -> None:
        self.rules: list[tuple[str, Fault, list[int | None]]] = []
        self.strip_prefix = strip_prefix
        self.hits: list[str] = []     # "METHOD /path" of every faulted request
        self._open: set[asyncio.Task] = set()

    def set(self, route: str, fault: Fault, *, times: int | None = None) -> None:
        """Answer requests matching ``route`` with ``fault`` (the first ``times`` only)."""
        self.rules = [r for r in self.rules if r[0] != route]
        self.rules.append((route, fault, [times]))

    def clear(self) -> None:
        self.rules.clear()

    def match(self, method: str, path: str) -> Fault | None:
        if self.strip_prefix and path.startswith(self.strip_prefix + "/"):
            path = path[len(self.strip_prefix):]
        for route, fault, left in self.rules:
            want_method, _, want_path = route.rpartition(" ")
            if want_method and want_method.upper() != method:
                continue
            if not fnmatch.fnmatchcase(path, want_path):
                continue
            if left[0] is not None:
                if left[0] <= 0:
                    continue
                left[0] -= 1
            self.hits.append(f"{method} {path}")
            return fault
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        fault = self.match(request.method, request.path) if self.rules else None
        if fault is None:
            return await handler(request)
        await request.read()   # the client's body is taken, as a real server would
        return await answer(request, fault)


async def answer(request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.kind == "hang":   # until the client gives up (so the fake can stop)
        while request.transport is not None and not request.transport.is_closing():
            await asyncio.sleep(0.05)
        return web.Response(status=504)
    if fault.kind == "body":
        return web.Response(status=fault.status, body=fault.body,
                            headers={"Content-Type": fault.content_type})
    response = web.StreamResponse(status=fault.status,
                                  headers={"Content-Type": fault.content_type})
    await response.prepare(request)
    try:
        await _stream(response, fault)
    except ConnectionError:   # the client gave up (its deadline): what a server sees
        pass
    return response


async def _stream(response: web.StreamResponse, fault: Fault) -> None:
    if fault.kind == "slow":
        loop = asyncio.get_running_loop()
        end = None if fault.seconds is None else loop.time() + fault.seconds
        await response.write(b"{")
        while end is None or loop.time() < end:
            await asyncio.sleep(fault.interval)
            await response.write(b" ")
        await response.write(b"}")
    elif fault.kind == "huge":
        chunk = b"x" * 65536
        await response.write(b'{"padding": "')
        sent = 0
        while sent < fault.size:
            await response.write(chunk)
            sent += len(chunk)
        await response.write(b'"}')
    await response.write_eof()
