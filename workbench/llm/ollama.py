"""A thin wrapper over the official `ollama.AsyncClient`, phrased for the workbench.

It adds what the workbench needs around the client: the host from config, "is this model
installed / can it see images" checks, streaming with callbacks and cancellation (cancel the
task; the HTTP stream is closed), one retry where it is safe, timings, and errors that say
what to do (`LLMError` and subclasses) instead of raw HTTP failures.

httpx's timeouts are per read, so a server that trickles a byte every few seconds would
never trip them: every request (a whole streamed answer included) also has a *total*
deadline (``[ollama] timeout``, `TimedOut` naming the server and the request).  An answer
that is not Ollama's (an HTML page, garbage, a list where an object belongs, JSON too deep)
is a `BadAnswer` in words, never a parser's message.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import ollama

from .. import tls
from ..textsafe import one_line

#: Reading the first token can take a minute while a big model loads; connecting can't.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=180.0, write=30.0, pool=10.0)
RETRY_DELAY = 0.5
#: Seconds one request may take from start to last byte, a whole streamed answer included.
DEFAULT_DEADLINE = 300.0
#: Characters of answer (and thinking) kept; a server that streams without end is cut off.
MAX_ANSWER_CHARS = 4 * 1024 * 1024


class LLMError(Exception):
    """Something went wrong talking to Ollama; ``str()`` is a message for the user."""


class NotReachable(LLMError):
    pass


class ModelMissing(LLMError):
    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(f"model {model} is not installed: run `ollama pull {model}`")


class OutOfMemory(LLMError):
    pass


class NoVision(LLMError):
    pass


class AnswerCut(LLMError):
    """The model stopped at its length limit (``done_reason: length``); ``partial`` holds
    what it wrote, which is not used."""

    def __init__(self, model: str, partial: str) -> None:
        self.model, self.partial = model, partial
        super().__init__(f"the answer from {model} was cut off at its length limit; nothing "
                         "was changed (try again, or raise num_ctx/num_predict)")


class StreamBroken(LLMError):
    pass


class TimedOut(LLMError):
    pass


class BadAnswer(LLMError):
    """The server answered, but not as Ollama does (garbage, HTML, the wrong shape)."""


@dataclass
class ModelInfo:
    name: str
    size: int = 0
    family: str = ""
    parameter_size: str = ""


@dataclass
class ChatResult:
    """A finished answer: ``content`` is the answer only, ``thinking`` kept apart."""

    model: str
    content: str
    thinking: str = ""
    done_reason: str = ""
    #: Seconds from sending the request to the first streamed piece (model load shows here).
    first_token_s: float | None = None
    total_s: float = 0.0
    load_s: float = 0.0
    eval_count: int = 0


TokenCallback = Callable[[str], Any]


class OllamaClient:
    """Talks to one Ollama server.  Use as ``async with OllamaClient(host) as llm: ...``."""

    def __init__(self, host: str, *, timeout: httpx.Timeout | float | None = None,
                 deadline: float = DEFAULT_DEADLINE, retry_delay: float = RETRY_DELAY,
                 on_use: Callable[[], None] | None = None) -> None:
        self.host = host or "127.0.0.1:11434"
        self.deadline = deadline   # seconds a request may take, start to last byte
        self.retry_delay = retry_delay
        self.on_use = on_use   # told before each chat: a model may then hold GPU memory
        self._client = ollama.AsyncClient(host=self.host, timeout=timeout or DEFAULT_TIMEOUT,
                                          verify=tls.verify())
        self._capabilities: dict[str, list[str]] = {}

    @classmethod
    def from_config(cls, config) -> OllamaClient:
        """A client for the configured host that tells the session's GPU sharing when a
        model is used (`llm.gpu.sharing_for`)."""
        from .gpu import sharing_for

        return cls(config.ollama.host, deadline=config.ollama.timeout,
                   on_use=sharing_for(config).note_llm_used)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OllamaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- errors ----------------------------------------------------------------------------
    def not_reachable(self) -> NotReachable:
        return NotReachable(f"Ollama is not reachable at {self.host}: start it with "
                            "`ollama serve` or set OLLAMA_HOST")

    def timed_out(self, what: str, model: str = "") -> TimedOut:
        return TimedOut(f"Ollama at {self.host} did not finish answering {what}"
                        + (f" (model {model})" if model else "")
                        + f" within {self.deadline:g} s; nothing was changed (raise "
                        "[ollama] timeout in config.toml if the model is only slow)")

    def bad_answer(self, what: str, problem: str) -> BadAnswer:
        return BadAnswer(f"Ollama at {self.host} answered {what} with {problem}, not "
                         "Ollama's answer; nothing was changed. Is OLLAMA_HOST the Ollama "
                         "server (not a proxy's or another service's page)?")

    def _translate(self, exc: BaseException, model: str = "", what: str = "") -> LLMError:
        """Turn a client/transport exception into a message a user can act on."""
        if isinstance(exc, LLMError):
            return exc
        odd = _odd_answer(exc)
        if odd:
            return self.bad_answer(what or "a request", odd)
        if isinstance(exc, (ConnectionError, httpx.ConnectError)):
            return self.not_reachable()
        if isinstance(exc, httpx.TimeoutException):
            return TimedOut(f"Ollama at {self.host} did not answer in time"
                            + (f" (model {model})" if model else "")
                            + "; it may still be loading the model, try again")
        if isinstance(exc, ollama.ResponseError):
            text = one_line(str(exc.error))
            low = text.lower()
            if text.lstrip().startswith("<"):
                return self.bad_answer(what or "a request",
                                       f"an HTML page (HTTP {exc.status_code})")
            if exc.status_code == 404 or ("not found" in low and "model" in low):
                return ModelMissing(model or _model_in(text))
            if "memory" in low:
                return OutOfMemory(f"Ollama could not load {model or 'the model'}: {text}. "
                                   "Free GPU memory (let ComfyUI finish or unload its "
                                   "models) or pick a smaller model")
            if exc.status_code == -1:
                return StreamBroken(f"Ollama stopped in the middle of the answer: {text}; "
                                    "nothing was changed")
            return LLMError(f"Ollama error ({exc.status_code}): {text}")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            return StreamBroken(f"the connection to Ollama at {self.host} broke in the "
                                "middle of the answer; nothing was changed")
        if isinstance(exc, httpx.HTTPError):
            return LLMError(f"Ollama at {self.host}: {one_line(str(exc)) or type(exc).__name__}")
        return LLMError(f"Ollama: {one_line(str(exc))}")

    async def _retrying(self, call: Callable[[], Any], model: str = "",
                        what: str = "") -> Any:
        """Run an idempotent request, once more after a short pause if the connection
        failed (a server that is just starting); both tries within the deadline."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._twice(call, model, what)
        except TimeoutError:
            raise self.timed_out(what, model) from None

    async def _twice(self, call: Callable[[], Any], model: str, what: str) -> Any:
        try:
            return await call()
        except (ConnectionError, httpx.TransportError):
            await asyncio.sleep(self.retry_delay)
        except Exception as exc:
            raise self._translate(exc, model, what) from exc
        try:
            return await call()
        except Exception as exc:
            raise self._translate(exc, model, what) from exc

    # -- models ----------------------------------------------------------------------------
    async def models(self) -> list[ModelInfo]:
        """Installed models (``/api/tags``), for a model picker."""
        listing = await self._retrying(self._client.list, what="GET /api/tags")
        out = []
        for m in listing.models:
            details = m.details
            out.append(ModelInfo(m.model or "", int(m.size or 0),
                                 (details.family or "") if details else "",
                                 (details.parameter_size or "") if details else ""))
        return out

    async def capabilities(self, model: str) -> list[str]:
        """What ``model`` can do (``/api/show``); raises `ModelMissing` if not installed."""
        if model not in self._capabilities:
            shown = await self._retrying(lambda: self._client.show(model), model,
                                         "POST /api/show")
            self._capabilities[model] = list(shown.capabilities or [])
        return self._capabilities[model]

    async def ensure_model(self, model: str) -> None:
        await self.capabilities(model)

    async def ensure_vision(self, model: str) -> None:
        caps = await self.capabilities(model)
        if "vision" not in caps:
            raise NoVision(f"model {model} cannot look at images (it can: "
                           f"{', '.join(caps) or 'nothing listed'}); pick a vision model "
                           "such as llava or gemma3 ([ollama] vision_model in config.toml; "
                           "`ollama pull llava:7b` installs one)")

    async def loaded_models(self) -> list[str]:
        listing = await self._retrying(self._client.ps, what="GET /api/ps")
        return [m.model or m.name or "" for m in listing.models]

    async def unload(self, model: str) -> None:
        """Ask Ollama to free ``model``'s memory now (``keep_alive: 0``)."""
        try:
            async with asyncio.timeout(self.deadline):
                await self._client.generate(model=model, keep_alive=0)
        except TimeoutError:
            raise self.timed_out("POST /api/generate", model) from None
        except Exception as exc:
            raise self._translate(exc, model, "POST /api/generate") from exc

    async def unload_all(self) -> list[str]:
        """Unload every loaded model (before FLUX jobs on a shared GPU); returns their names."""
        names = await self.loaded_models()
        for name in names:
            await self.unload(name)
        return names

    # -- chat ------------------------------------------------------------------------------
    async def chat(self, model: str, messages: Sequence[Mapping[str, Any]], *,
                   format: str | dict[str, Any] | None = None,
                   options: Mapping[str, Any] | None = None,
                   think: bool | None = None,
                   keep_alive: str | float | None = None,
                   on_token: TokenCallback | None = None,
                   on_thinking: TokenCallback | None = None) -> ChatResult:
        """Stream one answer.  ``on_token`` gets each piece of the answer as it arrives
        (``on_thinking`` the reasoning, which never joins the answer).  Cancel the task to
        stop: the stream is closed and `asyncio.CancelledError` propagates.

        Raises `AnswerCut` when the model hit its length limit, `TimedOut` past the
        deadline, other `LLMError`s for server trouble.  A refused connection is retried
        once (nothing was sent yet)."""
        started = time.perf_counter()
        if self.on_use is not None:
            self.on_use()  # a model may now hold GPU memory again
        result = ChatResult(model=model, content="")
        try:
            async with asyncio.timeout(self.deadline):
                finished = await self._stream_chat(model, messages, result, started,
                                                   (format, options, think, keep_alive),
                                                   on_token, on_thinking)
        except TimeoutError:
            raise self.timed_out("POST /api/chat", model) from None
        if not finished:
            raise StreamBroken(f"the answer from {model} ended before it was finished; "
                               "nothing was changed")
        result.total_s = time.perf_counter() - started
        if result.done_reason == "length":
            raise AnswerCut(model, result.content)
        return result

    async def _stream_chat(self, model: str, messages, result: ChatResult, started: float,
                           extra: tuple, on_token: TokenCallback | None,
                           on_thinking: TokenCallback | None) -> bool:
        """Open the chat and read it into ``result``; whether the final part arrived."""
        what = "POST /api/chat"
        try:
            stream = await self._open_chat(model, messages, *extra)
        except Exception as exc:
            raise self._translate(exc, model, what) from exc
        try:
            return await self._read_stream(stream, result, started, on_token, on_thinking)
        except asyncio.CancelledError:
            raise
        except _TooLong:
            raise self.bad_answer(what, f"more than {MAX_ANSWER_CHARS} characters of "
                                  "answer") from None
        except Exception as exc:
            raise self._translate(exc, model, what) from exc
        finally:
            await stream.aclose()

    @staticmethod
    async def _read_stream(stream, result: ChatResult, started: float,
                           on_token: TokenCallback | None,
                           on_thinking: TokenCallback | None) -> bool:
        """Fill ``result`` from the streamed parts; whether the final part arrived."""
        content: list[str] = []
        thinking: list[str] = []
        finished = False
        size = 0
        async for part in stream:
            if result.first_token_s is None:
                result.first_token_s = time.perf_counter() - started
            message = part.message
            size += len(message.thinking or "") + len(message.content or "")
            if size > MAX_ANSWER_CHARS:
                raise _TooLong
            if message.thinking:
                thinking.append(message.thinking)
                if on_thinking is not None:
                    on_thinking(message.thinking)
            if message.content:
                content.append(message.content)
                if on_token is not None:
                    on_token(message.content)
            if part.done:
                finished = True
                result.done_reason = part.done_reason or ""
                result.load_s = (part.load_duration or 0) / 1e9
                result.eval_count = part.eval_count or 0
        result.content = "".join(content)
        result.thinking = "".join(thinking)
        return finished

    async def _open_chat(self, model, messages, format, options, think, keep_alive):
        kwargs: dict[str, Any] = {"stream": True}
        if format is not None:
            kwargs["format"] = format
        if options:
            kwargs["options"] = dict(options)
        if think is not None:
            kwargs["think"] = think
        if keep_alive is not None:
            kwargs["keep_alive"] = keep_alive
        stream = await self._client.chat(model=model, messages=list(messages), **kwargs)
        # The client only connects when the generator is first advanced: pull the first
        # part here so a refused connection can be retried before anything was received.
        for attempt in (1, 2):
            try:
                first = await stream.__anext__()
                break
            except (ConnectionError, httpx.ConnectError):
                if attempt == 2:
                    raise
                await asyncio.sleep(self.retry_delay)
                stream = await self._client.chat(model=model, messages=list(messages),
                                                 **kwargs)
            except StopAsyncIteration:
                first = None
                break
        return _prepend(first, stream)


async def _prepend(first, stream):
    try:
        if first is not None:
            yield first
        async for part in stream:
            yield part
    finally:
        await stream.aclose()


class _TooLong(Exception):
    pass


def _odd_answer(exc: BaseException) -> str:
    """What was wrong with an answer the client could not parse ("" if that was not it)."""
    if isinstance(exc, json.JSONDecodeError):
        html = str(exc.doc).lstrip()[:1] == "<"
        return "an HTML page" if html else "text that is not JSON"
    if isinstance(exc, RecursionError):
        return "JSON nested too deep"
    name = type(exc).__name__
    if name == "ValidationError" or isinstance(exc, (TypeError, AttributeError, KeyError,
                                                     ValueError)):
        return "JSON of the wrong shape"
    return ""


def _model_in(text: str) -> str:
    for quote in ("'", '"'):
        if text.count(quote) >= 2:
            return text.split(quote)[1]
    return "the model"


