"""What a ComfyUI server answers over HTTP, read so that no answer can hang or flood us.

httpx's timeouts are per read: a server that trickles a byte every few seconds never
trips them.  `HttpSide` gives every request a *total* deadline (``timeout`` seconds; an
upload or a download also gets the time its size needs at ``min_rate`` bytes a second)
and reads every body with a byte cap while it streams, so a 200 MB answer is refused
after the first ``max_json_bytes`` instead of filling memory.  JSON is parsed by
`untrusted.loads_json` (depth and number limits) and checked for the shape ComfyUI sends.

Every failure is a `ComfyError` that names the server (credentials redacted) and the
request, in words: `Unreachable` (nothing answered), `TimedOut`, `AuthRequired` (401/403:
set COMFYUI_AUTH_HEADER), `BadAnswer` (an HTTP error, an HTML page, a list where an
object belongs, JSON too big or too deep), `ServerRejected` (POST /prompt refused the
workflow) and `DownloadTooLarge`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from ..textsafe import one_line, redact_url
from ..untrusted import JsonError, loads_json

#: Seconds one request may take from start to last byte (``[comfyui] timeout``).
DEFAULT_TIMEOUT = 60.0
#: Bytes a second an upload or download is granted beyond the deadline (a slow link).
MIN_RATE = 100 * 1024

_KINDS = {list: "a list", str: "a string", int: "a number", float: "a number",
          bool: "true/false", type(None): "null", dict: "an object"}


class ComfyError(Exception):
    """Anything that went wrong talking to ComfyUI, phrased for a person."""


class Unreachable(ComfyError):
    """The server did not answer at all."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(
            f"ComfyUI is not reachable at {url} ({reason}). Start ComfyUI (or the SSH tunnel "
            "to it), or point the workbench at the right server: set COMFYUI_URL, pass "
            "--comfyui-url URL, or set [comfyui] urls in config.toml.")


class TimedOut(ComfyError):
    """A request did not finish within its deadline."""


class BadAnswer(ComfyError):
    """The server answered, but not as ComfyUI does (error status, HTML, wrong shape...)."""


class AuthRequired(BadAnswer):
    """401/403: the server (or a proxy in front of it) wants credentials."""


class DownloadTooLarge(BadAnswer):
    pass


class ServerRejected(ComfyError):
    """POST /prompt answered with an error (usually 400 with ``node_errors``)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            text = f"{error.get('type', 'error')}: {error.get('message', '')}"
        else:
            text = str(body)[:200]
        super().__init__(f"ComfyUI rejected the workflow (HTTP {status}): {one_line(text)}")

    @property
    def node_errors(self) -> dict:
        if isinstance(self.body, dict) and isinstance(self.body.get("node_errors"), dict):
            return self.body["node_errors"]
        return {}


def why(exc: BaseException) -> str:
    """An exception's text, one safe line without credentials."""
    return redact_url(one_line(str(exc))) or type(exc).__name__


@dataclass
class Answer:
    """One HTTP answer, its body read in full (within the cap)."""

    server: str
    what: str            # "GET /object_info"
    status: int
    body: bytes
    content_type: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def snippet(self) -> str:
        return one_line(self.text[:160])

    def bad(self, problem: str) -> BadAnswer:
        return BadAnswer(f"ComfyUI at {self.server} answered {self.what} with {problem}; is "
                         "this the ComfyUI URL (not a proxy's or another service's page)?")

    def json(self, shape: type | None = dict, *, any_status: bool = False) -> Any:
        """The body as JSON of ``shape`` (None: any), or `BadAnswer` saying what it was
        (an HTTP error status is one, unless ``any_status``)."""
        if self.status != 200 and not any_status:
            raise self.bad(f"HTTP {self.status}" + (f" ({self.snippet()})" if self.body
                                                   else ""))
        try:
            value = loads_json(self.body, max_bytes=len(self.body) + 1)
        except JsonError as exc:
            if self.body.lstrip()[:1] == b"<" or "html" in self.content_type:
                raise self.bad("an HTML page, not JSON") from None
            if exc.syntax:
                raise self.bad(f"text that is not JSON ({self.snippet()!r})") from None
            raise self.bad(f"JSON it cannot use: {exc}") from None
        if shape is not None and not isinstance(value, shape):
            raise self.bad(f"{_KINDS.get(type(value), 'something else')} where ComfyUI "
                           f"sends {_KINDS.get(shape, shape.__name__)}")
        return value


class HttpSide:
    """Needs from the client: ``_http`` (an `httpx.AsyncClient`), ``base_url`` (shown),
    ``timeout``, ``min_rate`` and ``max_json_bytes``."""

    def timed_out(self, what: str, seconds: float) -> TimedOut:
        return TimedOut(f"ComfyUI at {self.base_url} did not finish answering {what} within "
                        f"{round(seconds, 1):g} s; the server or the link is too slow (raise "
                        "[comfyui] timeout in config.toml if it is only busy)")

    async def _request(self, method: str, path: str, *, limit: int | None = None,
                       size: int = 0, **kwargs: Any) -> Answer:
        """One request, its answer read in full: at most ``limit`` bytes (default
        ``max_json_bytes``), within the deadline (plus ``size / min_rate`` seconds)."""
        what = f"{method} /{path.lstrip('/')}"
        limit = self.max_json_bytes if limit is None else limit
        seconds = self.timeout + size / self.min_rate
        try:
            async with asyncio.timeout(seconds):
                async with self._http.stream(method, path.lstrip("/"), **kwargs) as response:
                    body = await self._read(response, what, limit)
        except TimeoutError:
            raise self.timed_out(what, seconds) from None
        except (ComfyError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._failed(exc, what, seconds) from exc
        answer = Answer(self.base_url, what, response.status_code, body,
                        response.headers.get("content-type", ""))
        if answer.status in (401, 403):
            raise AuthRequired(
                f"ComfyUI at {self.base_url} refused {what} (HTTP {answer.status}): it, or "
                "a proxy in front of it, wants credentials. Set COMFYUI_AUTH_HEADER=\"Name: "
                "value\" (e.g. \"Authorization: Bearer TOKEN\") or [comfyui] auth_header "
                "in config.toml")
        return answer

    async def _read(self, response: httpx.Response, what: str, limit: int) -> bytes:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise self._too_big(what, limit)
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > limit:
                raise self._too_big(what, limit)
        return bytes(data)

    def _too_big(self, what: str, limit: int) -> BadAnswer:
        return BadAnswer(f"ComfyUI at {self.base_url} answered {what} with more than "
                         f"{limit / 2**20:.0f} MB; refused")

    def _failed(self, exc: Exception, what: str, seconds: float) -> ComfyError:
        """A transport exception as the `ComfyError` a caller can show."""
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return Unreachable(self.base_url, why(exc))
        if isinstance(exc, httpx.TimeoutException):
            return self.timed_out(what, seconds)
        return ComfyError(f"{what} at {self.base_url} failed: {why(exc)}")

    async def download_bytes(self, params: dict, name: str, limit: int) -> bytes:
        """GET /view, streamed: at most ``limit`` bytes, within the deadline plus the time
        the announced (or received) size needs at ``min_rate``."""
        what = f"GET /view ({one_line(name)!r})"
        loop = asyncio.get_running_loop()
        start = loop.time()
        seconds = self.timeout
        try:
            async with asyncio.timeout(seconds) as deadline:
                async with self._http.stream("GET", "view", params=params) as response:
                    if response.status_code != 200:
                        raise BadAnswer(f"ComfyUI at {self.base_url} answered {what} with "
                                        f"HTTP {response.status_code}")
                    length = response.headers.get("content-length", "")
                    if length.isdigit() and int(length) > limit:
                        raise DownloadTooLarge(f"{one_line(name)!r} is {int(length)} bytes, "
                                               f"more than the {limit}-byte limit")
                    announced = int(length) if length.isdigit() else 0
                    data = bytearray()
                    seconds = self.timeout + announced / self.min_rate
                    deadline.reschedule(start + seconds)
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > limit:
                            raise DownloadTooLarge(f"{one_line(name)!r} is more than the "
                                                   f"{limit}-byte limit")
                        seconds = self.timeout + max(announced, len(data)) / self.min_rate
                        deadline.reschedule(start + seconds)
                    return bytes(data)
        except TimeoutError:
            raise self.timed_out(what, seconds) from None
        except (ComfyError, asyncio.CancelledError):
            raise
        except Exception as exc:
            raise self._failed(exc, what, seconds) from exc
