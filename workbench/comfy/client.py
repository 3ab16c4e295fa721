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
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .. import tls
from ..textsafe import one_line
from .events import (
    Event,
    ImageRef,
    Lost,
)
from .job import Job, JobResult, QueueState, result_from_history
from .live import SocketFeed

__all__ = ["ComfyClient", "ComfyError", "DownloadTooLarge", "Job", "JobResult", "QueueState",
           "ServerRejected", "Unreachable", "client_from_config", "parse_auth_header",
           "result_from_history"]

DEFAULT_MAX_DOWNLOAD = 256 * 1024 * 1024


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


class DownloadTooLarge(ComfyError):
    pass


class ComfyClient(SocketFeed):
    """A connection to one ComfyUI server.  Use as ``async with ComfyClient(url) as c``."""

    def __init__(self, base_url: str, *, auth_header: str = "", verify_tls: bool = True,
                 client_id: str | None = None, timeout: float = 30.0,
                 max_download_bytes: int = DEFAULT_MAX_DOWNLOAD,
                 poll_interval: float = 1.0, quiet_after: float = 20.0,
                 backoff: tuple[float, float] = (0.1, 5.0),
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ComfyError(f"not an http(s) URL: {one_line(base_url)!r}")
        self.client_id = client_id or uuid.uuid4().hex
        self.verify_tls = verify_tls
        self.headers = parse_auth_header(auth_header)
        self.max_download_bytes = max_download_bytes
        self.poll_interval = poll_interval
        self.quiet_after = quiet_after
        self.backoff = backoff
        self.ws_url = urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc,
                                  parts.path.rstrip("/") + "/ws",
                                  f"clientId={self.client_id}", ""))
        self._http = httpx.AsyncClient(base_url=self.base_url + "/", headers=self.headers,
                                       verify=tls.verify(verify_tls), timeout=timeout,
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
        self.queue_remaining: int | None = None
        self.supports_preview_metadata = False

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> ComfyClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, ws_timeout: float = 10.0) -> None:
        """Check the server answers, then open the WebSocket (before any submit)."""
        await self.get_json("prompt")
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

    # -- HTTP ---------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path.lstrip("/"), **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreachable(self.base_url, one_line(str(exc)) or type(exc).__name__) from exc
        except httpx.HTTPError as exc:
            raise ComfyError(f"{method} {path} at {self.base_url} failed: "
                             f"{one_line(str(exc)) or type(exc).__name__}") from exc

    async def get_json(self, path: str, **params: Any) -> Any:
        response = await self._request("GET", path, params=params or None)
        if response.status_code in (401, 403):
            raise ComfyError(f"{self.base_url} refused access (HTTP {response.status_code}); "
                             "if it sits behind an authenticating proxy, set "
                             "COMFYUI_AUTH_HEADER=\"Name: value\" or [comfyui] auth_header "
                             "in config.toml")
        if response.status_code != 200:
            raise ComfyError(f"GET /{path.lstrip('/')} answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise ComfyError(f"GET /{path.lstrip('/')} did not answer JSON") from exc

    async def _post(self, path: str, body: Any = None) -> httpx.Response:
        response = await self._request("POST", path, json=body if body is not None else {})
        if response.status_code != 200:
            raise ComfyError(f"POST /{path} answered HTTP {response.status_code}")
        return response

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
            self._object_info = await self.get_json("object_info")
        return self._object_info

    async def models(self, folder: str) -> list[str] | None:
        """Files in a model folder (``diffusion_models``, ``loras``...), None if unknown."""
        response = await self._request("GET", f"models/{folder}")
        if response.status_code != 200:
            return None
        data = response.json()
        return [str(x) for x in data] if isinstance(data, list) else None

    async def queue(self) -> QueueState:
        data = await self.get_json("queue")

        def ids(items: Any) -> list[str]:
            return [str(i[1]) for i in items or [] if isinstance(i, list) and len(i) > 1]

        return QueueState(ids(data.get("queue_running")), ids(data.get("queue_pending")))

    async def queue_length(self) -> int:
        """Prompts running or waiting on the server (everyone's, not just ours)."""
        data = await self.get_json("prompt")
        return int((data.get("exec_info") or {}).get("queue_remaining", 0))

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
        response = await self._request("POST", "upload/image", data=form,
                                       files={"image": (name, data, "image/png")})
        if response.status_code != 200:
            raise ComfyError(f"upload of {one_line(name)} answered HTTP {response.status_code}")
        body = response.json()
        self._object_info = None  # LoadImage's list changed
        return ImageRef(str(body.get("name", name)), str(body.get("subfolder", "")),
                        str(body.get("type", kind)))

    async def download(self, image: ImageRef, max_bytes: int | None = None) -> bytes:
        """An output's bytes via /view, refusing more than ``max_bytes``."""
        limit = self.max_download_bytes if max_bytes is None else max_bytes
        params = {"filename": image.filename, "subfolder": image.subfolder, "type": image.type}
        try:
            async with self._http.stream("GET", "view", params=params) as response:
                if response.status_code != 200:
                    raise ComfyError(f"/view answered HTTP {response.status_code} for "
                                     f"{one_line(image.filename)!r}")
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > limit:
                    raise DownloadTooLarge(f"{one_line(image.filename)!r} is {int(length)} bytes, "
                                           f"more than the {limit}-byte limit")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > limit:
                        raise DownloadTooLarge(f"{one_line(image.filename)!r} is more than the "
                                               f"{limit}-byte limit")
                return bytes(data)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Unreachable(self.base_url, one_line(str(exc))) from exc
        except httpx.HTTPError as exc:
            raise ComfyError(f"download of {one_line(image.filename)!r} failed: "
                             f"{one_line(str(exc))}") from exc

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
            response = await self._request("POST", "prompt", json=body)
        except ComfyError:
            self._jobs.pop(pid, None)
            raise
        if response.status_code != 200:
            self._jobs.pop(pid, None)
            try:
                data: Any = response.json()
            except ValueError:
                data = response.text
            raise ServerRejected(response.status_code, data)
        data = response.json()
        job.number = data.get("number")
        job.node_errors = data.get("node_errors") or {}
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
        except ComfyError:
            return  # the server is away; the socket loop keeps trying
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
    return ComfyClient(url or config.comfyui.url, auth_header=config.comfyui.auth_header,
                       verify_tls=config.comfyui.verify_tls, **kwargs)
