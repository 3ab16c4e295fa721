"""An async ComfyUI client: submit workflows, follow them live, fetch what they made.

One `ComfyClient` per server.  `connect()` checks the server over HTTP and opens the
WebSocket with this client's id *before* anything is submitted (ComfyUI only tells the
submitting client about its prompt).  `submit()` returns a `Job` at once; the job is fed
by the socket (progress, previews, outputs) and finishes on the end-of-prompt marker.

Nothing is lost when the network is not kind: a dropped socket reconnects with backoff
and every unfinished job is checked against /history (finished ones are completed from
it) and /queue (still queued or running ones keep waiting); a job the server no longer
knows (restarted, queue cleared) ends as ``lost`` with a message that says so, never as a
hang.  The same check runs for jobs that go quiet for too long.

The API is built for several callers: the CLI (`run`), the TUI (Textual workers awaiting
`Job.wait()` / iterating `Job.events()`), and a later A/B runner keeping a bounded window
of jobs in flight on several servers (`submit`, `Job.wait`, `Job.cancel`,
`queue_length`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .. import tls
from ..textsafe import one_line, redact_url
from ..untrusted import MAX_JSON_BYTES
from .events import (
    Event,
    ImageRef,
    Lost,
)
from .http import (
    DEFAULT_TIMEOUT,
    MIN_RATE,
    Answer,
    AuthRequired,
    BadAnswer,
    ComfyError,
    DownloadTooLarge,
    HttpSide,
    ServerRejected,
    TimedOut,
    Unreachable,
)
from .job import Job, JobResult, QueueState, result_from_history
from .live import SocketFeed

__all__ = ["AuthRequired", "BadAnswer", "ComfyClient", "ComfyError", "DownloadTooLarge",
           "Job", "JobResult", "QueueState", "ServerRejected", "TimedOut", "Unreachable",
           "client_from_config", "parse_auth_header", "result_from_history"]

DEFAULT_MAX_DOWNLOAD = 256 * 1024 * 1024
#: A job is given up when the server (still connected) fails this many checks in a row.
MAX_FAILED_CHECKS = 3


class ComfyClient(HttpSide, SocketFeed):
    """A connection to one ComfyUI server.  Use as ``async with ComfyClient(url) as c``.

    ``base_url`` is the server as it is shown and stored (credentials in the URL redacted);
    ``timeout`` is the total deadline of one request (`http.HttpSide`)."""

    def __init__(self, base_url: str, *, auth_header: str = "", verify_tls: bool = True,
                 client_id: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 max_download_bytes: int = DEFAULT_MAX_DOWNLOAD,
                 max_json_bytes: int = MAX_JSON_BYTES, min_rate: float = MIN_RATE,
                 poll_interval: float = 1.0, quiet_after: float = 20.0,
                 backoff: tuple[float, float] = (0.1, 5.0),
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        url = base_url.rstrip("/")
        self.base_url = redact_url(url)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ComfyError(f"not an http(s) URL: {one_line(redact_url(base_url))!r}")
        self.client_id = client_id or uuid.uuid4().hex
        self.verify_tls = verify_tls
        self.headers = parse_auth_header(auth_header)
        self.timeout = float(timeout)
        self.min_rate = float(min_rate)
        self.max_json_bytes = max_json_bytes
        self.max_download_bytes = max_download_bytes
        self.poll_interval = poll_interval
        self.quiet_after = quiet_after
        self.backoff = backoff
        self.ws_url = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc,
                                  parts.path.rstrip("/") + "/ws",
                                  f"clientId={self.client_id}", ""))
        self._http = httpx.AsyncClient(base_url=url + "/", headers=self.headers,
                                       verify=tls.verify(verify_tls), timeout=self.timeout,
                                       transport=transport)
        self._jobs: dict[str, Job] = {}
        self._object_info: dict | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        self._running_pid: str | None = None
        self.reconnects = 0
        self.last_ws_error: str = ""
        self.bad_frames = 0               # WebSocket frames skipped as unusable
        self.last_bad_frame: str = ""
        self.queue_remaining: int | None = None
        self.supports_preview_metadata = False

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> ComfyClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, ws_timeout: float = 10.0) -> None:
        """Check the server answers (its queue length is kept in ``queue_remaining``), then
        open the WebSocket (before any submit)."""
        self.queue_remaining = _remaining(await self.get_json("prompt"))
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._ws_loop()),
                           asyncio.create_task(self._watchdog())]
        try:
            await asyncio.wait_for(self._connected.wait(), ws_timeout)
        except TimeoutError:
            # HTTP works but the socket does not (a proxy?): jobs are followed by polling.
            pass

    def spawn(self, coro: Any) -> asyncio.Task:
        """Run a background check, keeping a reference so it is not collected early."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def close(self) -> None:
        """Stop following.  Jobs still open end as ``detached`` (they may go on running on
        the server; a journal lets the next session collect them)."""
        self._closing = True
        for job in list(self._jobs.values()):
            job.settle(JobResult(job.prompt_id, "detached", message="the client was closed "
                                  "before the prompt finished; it may still run on the server",
                                  submitted_at=job.submitted_at, started_at=job.started_at,
                                  finished_at=time.time()))
        for task in [*self._tasks, *self._background]:
            task.cancel()
        for task in [*self._tasks, *self._background]:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        await self._http.aclose()

    # -- HTTP (deadlines, caps and errors: `http.HttpSide`) ------------------------------

    async def get_json(self, path: str, shape: type | None = dict, **params: Any) -> Any:
        """GET ``path`` as JSON of ``shape`` (None: any); `BadAnswer` when it is not."""
        answer = await self._request("GET", path, params=params or None)
        return answer.json(shape)

    async def _post(self, path: str, body: Any = None) -> None:
        answer = await self._request("POST", path, json=body if body is not None else {})
        if answer.status != 200:
            raise answer.bad(f"HTTP {answer.status}")

    async def system_stats(self) -> dict:
        return await self.get_json("system_stats")

    @property
    def known_object_info(self) -> dict | None:
        """The node schemas fetched so far (None until `object_info` ran), for explaining
        a refusal without another request."""
        return self._object_info

    async def object_info(self, node: str | None = None, *, refresh: bool = False) -> dict:
        """Node schemas; the full set is fetched once and kept."""
        if node is not None:
            if self._object_info is not None and not refresh and node in self._object_info:
                return {node: self._object_info[node]}
            return await self.get_json(f"object_info/{node}")
        if self._object_info is None or refresh:
            answer = await self._request("GET", "object_info")
            self._object_info = _parsed_object_info(answer)
        return self._object_info

    async def models(self, folder: str) -> list[str] | None:
        """Files in a model folder (``diffusion_models``, ``loras``...), None if unknown
        (an older server, or an answer that is not a list)."""
        answer = await self._request("GET", f"models/{folder}")
        try:
            data = answer.json(list)
        except BadAnswer:
            return None
        return [str(x) for x in data]

    async def queue(self) -> QueueState:
        data = await self.get_json("queue")

        def ids(items: Any) -> list[str]:
            items = items if isinstance(items, list) else []
            return [str(i[1]) for i in items if isinstance(i, list) and len(i) > 1]

        return QueueState(ids(data.get("queue_running")), ids(data.get("queue_pending")))

    async def queue_length(self) -> int:
        """Prompts running or waiting on the server (everyone's, not just ours)."""
        return _remaining(await self.get_json("prompt"))

    async def history(self, prompt_id: str | None = None, *, max_items: int | None = None,
                      offset: int | None = None) -> dict:
        if prompt_id is not None:
            return await self.get_json(f"history/{prompt_id}")
        params = {k: v for k, v in (("max_items", max_items), ("offset", offset))
                  if v is not None}
        return await self.get_json("history", **params)

    async def interrupt(self, prompt_id: str | None = None) -> None:
        await self._post("interrupt", {"prompt_id": prompt_id} if prompt_id else {})

    async def delete_from_queue(self, prompt_ids: list[str]) -> None:
        await self._post("queue", {"delete": list(prompt_ids)})

    async def upload_image(self, source: Path | bytes, name: str | None = None, *,
                           overwrite: bool = False, subfolder: str = "",
                           kind: str = "input") -> ImageRef:
        """Put an image in the server's input folder; returns the name LoadImage wants."""
        if isinstance(source, (str, Path)):
            data = Path(source).read_bytes()
            name = name or Path(source).name
        else:
            data = source
        name = name or "workbench_input.png"
        form = {"type": kind, "overwrite": "true" if overwrite else "false"}
        if subfolder:
            form["subfolder"] = subfolder
        answer = await self._request("POST", "upload/image", data=form, size=len(data),
                                     files={"image": (name, data, "image/png")})
        body = answer.json(dict)
        self._object_info = None  # LoadImage's list changed
        return ImageRef(str(body.get("name", name)), str(body.get("subfolder", "")),
                        str(body.get("type", kind)))

    async def download(self, image: ImageRef, max_bytes: int | None = None) -> bytes:
        """An output's bytes via /view, refusing more than ``max_bytes``."""
        limit = self.max_download_bytes if max_bytes is None else max_bytes
        params = {"filename": image.filename, "subfolder": image.subfolder, "type": image.type}
        return await self.download_bytes(params, image.filename, limit)

    # -- jobs ---------------------------------------------------------------------------

    def forget(self, job: Job) -> None:
        """Stop following ``job`` (it has ended)."""
        self._jobs.pop(job.prompt_id, None)

    @property
    def jobs(self) -> list[Job]:
        """Jobs of this client not finished yet."""
        return list(self._jobs.values())

    async def submit(self, workflow: dict, *, prompt_id: str | None = None,
                     extra_pnginfo: dict | None = None, front: bool = False,
                     on_event: Callable[[Job, Event], None] | None = None) -> Job:
        """POST the workflow; the returned job is already being followed.  ``on_event``
        is attached before the POST: a fast (or cached) prompt can finish before the
        answer to it arrives, and its events must not be missed."""
        pid = prompt_id or str(uuid.uuid4())
        job = Job(self, pid, workflow)
        job.on_event = on_event
        self._jobs[pid] = job
        body: dict[str, Any] = {"prompt": workflow, "client_id": self.client_id,
                                "prompt_id": pid}
        if extra_pnginfo:
            body["extra_data"] = {"extra_pnginfo": extra_pnginfo}
        if front:
            body["front"] = True
        try:
            answer = await self._request("POST", "prompt", json=body)
            if answer.status != 200:
                try:
                    rejection: Any = answer.json(None, any_status=True)
                except BadAnswer:
                    rejection = answer.text
                raise ServerRejected(answer.status, rejection)
            data = answer.json(dict)
        except ComfyError:
            self._jobs.pop(pid, None)
            raise
        number = data.get("number")
        job.number = number if isinstance(number, (int, float)) else None
        errors = data.get("node_errors")
        job.node_errors = errors if isinstance(errors, dict) else {}
        if job.state == "submitting":
            job.state = "queued"
        return job

    def attach(self, prompt_id: str, workflow: dict | None = None,
               submitted_at: float | None = None) -> Job:
        """Follow a prompt submitted earlier (e.g. before a crash) by this client id."""
        job = self._jobs.get(prompt_id)
        if job is None:
            job = Job(self, prompt_id, workflow)
            job.state = "queued"
            job.gap = True
            if submitted_at:
                job.submitted_at = submitted_at
            self._jobs[prompt_id] = job
            self.spawn(self.check_job(job))
        return job

    async def check_job(self, job: Job) -> None:
        """Settle a job from /history, or confirm it is still queued, or declare it lost."""
        if job.done:
            return
        try:
            entry = (await self.history(job.prompt_id)).get(job.prompt_id)
            if entry is None:
                queue = await self.queue()
                if job.prompt_id in queue or job.state == "submitting":
                    return
                entry = (await self.history(job.prompt_id)).get(job.prompt_id)
        except ComfyError as exc:
            self._check_failed(job, exc)
            return
        job.failed_checks = 0
        if entry is not None and not isinstance(entry, dict):
            return  # not a history entry: asked again later
        if entry is None:
            event = Lost(job.prompt_id, reason=f"ComfyUI at {self.base_url} no longer knows "
                         f"prompt {job.prompt_id}: the server was probably restarted or its "
                         "queue cleared, so this job will not finish")
            job.publish(event)
            job.settle(JobResult(job.prompt_id, "lost", message=event.reason,
                                  submitted_at=job.submitted_at, started_at=job.started_at,
                                  finished_at=time.time()))
            return
        job.settle(result_from_history(job, entry))


    def _check_failed(self, job: Job, exc: ComfyError) -> None:
        """/history or /queue did not answer about ``job``: an ended job keeps what the
        socket told; a server that is there but keeps failing to say ends the job as an
        error (never a wait without end); a server that is away is waited for."""
        if job.fallback is not None:
            job.settle(job.fallback)
            return
        job.failed_checks += 1
        if self.connected and job.failed_checks >= MAX_FAILED_CHECKS:
            job.settle(JobResult(job.prompt_id, "error", message=(
                f"could not learn how prompt {job.prompt_id} ended: {exc}"),
                submitted_at=job.submitted_at, started_at=job.started_at,
                finished_at=time.time()))


#: Parsed node schemas by the SHA-256 of the answer: ~0.5 MB of JSON (several MB with
#: custom nodes) is parsed and checked once, however many identical servers a pool has
#: and however many runs a session makes.  Shared, so never changed by its readers.
_OBJECT_INFO: OrderedDict[bytes, dict] = OrderedDict()
_OBJECT_INFO_KEEP = 4


def _parsed_object_info(answer: Answer) -> dict:
    if answer.status != 200:
        return answer.json(dict)   # raises, saying what it was
    key = hashlib.sha256(answer.body).digest()
    value = _OBJECT_INFO.get(key)
    if value is None:
        value = answer.json(dict)
        _OBJECT_INFO[key] = value
        while len(_OBJECT_INFO) > _OBJECT_INFO_KEEP:
            _OBJECT_INFO.popitem(last=False)
    else:
        _OBJECT_INFO.move_to_end(key)
    return value


def parse_auth_header(value: str) -> dict[str, str]:
    """``"Name: value"`` as a header dict; a bare token is sent as ``Authorization``."""
    value = (value or "").strip()
    if not value:
        return {}
    name, sep, rest = value.partition(":")
    if sep and name.strip() and " " not in name.strip():
        return {name.strip(): rest.strip()}
    return {"Authorization": value}


def client_from_config(config: Any, url: str | None = None, **kwargs: Any) -> ComfyClient:
    """A client for ``url`` (default: the first configured server) with the config's auth/TLS."""
    kwargs.setdefault("timeout", config.comfyui.timeout)
    return ComfyClient(url or config.comfyui.url, auth_header=config.comfyui.auth_header,
                       verify_tls=config.comfyui.verify_tls, **kwargs)


def _remaining(answer: dict) -> int:
    """Prompts running or waiting, from a ``GET /prompt`` answer (0 when it is odd)."""
    info = answer.get("exec_info")
    value = info.get("queue_remaining", 0) if isinstance(info, dict) else 0
    return value if isinstance(value, int) and value >= 0 else 0
