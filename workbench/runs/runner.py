"""Carrying a `RunPlan` through one or more ComfyUI servers into a run folder.

Why it is built this way:

* **No idle server.**  Each server gets ``window`` prompts in flight (default 2): when one
  finishes the next is already queued, so the GPU never waits on our download, disk writes
  or the next POST (one at a time leaves a ~15-19 ms gap per job).  Nothing polls for
  work; slots are refilled the moment a job ends.
* **Cache-friendly order.**  Cells go out in `plan.order_for_cache` order (same model and
  LoRA set together, then the same text together) and a server takes whole
  `group_by_model` groups, so a model is loaded once per server, not once per switch.
  An idle server with nothing left to take steals single cells from the tail of the
  busiest server's share.
* **Several servers.**  Work is pulled by whichever healthy server has a free slot (the
  least busy one pulls most).  A server whose socket stays down longer than
  ``server_grace`` and whose HTTP does not answer is dropped: its queued and in-flight
  cells go back to the others.  A cell is recorded once, by the first success; jobs the
  server forgot (``lost``) are re-queued.
* **Nothing lost on a crash.**  Every submission is journaled like ``workbench run``'s
  (`workbench.runs.journal`); the journal entry names the run folder and the cell, so a
  later `PlanRunner(existing=run)` re-attaches to what is still on the server.

Results land through `history.record_cell` (images, the exact workflow, seed, params,
server and its ComfyUI version, batch size, timings, prompt id).  The spec travels in
``extra_data.extra_pnginfo["workbench"]`` so SaveImage embeds it, and is embedded by us when
a server's PNG lacks it.  At the end the contact sheet is written as
``contact-sheet.png`` in the run folder.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..comfy.client import ComfyClient, ComfyError, Job, JobResult, ServerRejected, Unreachable
from ..comfy.events import Event, ExecutionStart, Preview, Progress
from ..runs.journal import Journal, JournalEntry
from ..runs.results import check_image
from ..runs.uploads import UploadCache, ensure_uploaded
from ..comfy.validate import explain_execution_error, explain_interrupted, explain_rejection
from ..images.source import SourceImage, SourceImageError, load_source
from ..spec import source_path
from ..textsafe import one_line
from . import history
from .plan import Cell, RunPlan, group_by_model, order_for_cache

CONTACT_SHEET = "contact-sheet.png"
#: where `workbench run`'s crash recovery puts a journaled cell it collects (ours adopts it)
RECOVERED = "recovered"
STATES = ("waiting", "queued", "running", "done", "error", "cancelled")
MAX_ATTEMPTS = 3          # a cell whose job is lost this often ends as an error


class NoServer(ComfyError):
    """None of the configured servers answered."""


@dataclass
class CellUpdate:
    """Where one cell stands; sent to ``on_update`` on every change."""

    cell_id: str
    state: str            # "waiting" | "queued" | "running" | "done" | "error" | "cancelled"
    step: int = 0
    steps: int = 0
    fraction: float = 0.0
    preview: bytes | None = None   # latest live preview image bytes (JPEG/PNG) if sent
    images: list[Path] = field(default_factory=list)  # absolute paths once done
    error: str = ""
    server: str = ""


@dataclass
class _Submitted:
    """What recording needs of a workflow that was sent (by us or an earlier session)."""

    workflow: dict
    name: str = ""


class _Server:
    """One ComfyUI server in the pool and the cells it has taken."""

    def __init__(self, url: str, client: ComfyClient) -> None:
        self.url = url
        self.client = client
        self.healthy = True
        self.version = ""
        self.own: deque[Cell] = deque()       # taken, not yet submitted
        self.inflight: dict[str, tuple[Cell, Job | None]] = {}   # cell id -> (cell, job)
        self.tasks: set[asyncio.Task] = set()
        self.down_since: float | None = None
        self.submitted = 0
        self.queued_before = 0   # prompts (anyone's) it had when we connected


class PlanRunner:
    """Runs every not-yet-done cell of ``plan`` and records it in a run folder.

    ``run()`` returns the `history.Run` (manifest written); ``history_run`` holds it while
    it runs (``run`` is the method).  ``cancel()`` stops it cleanly.  ``updates`` maps
    cell id -> its latest `CellUpdate`.
    """

    def __init__(self, plan: RunPlan, config, *, servers: list[str] | None = None,
                 window: int = 2, root: Path | None = None, base_dir: Path | None = None,
                 on_update: Callable[[CellUpdate], None] | None = None,
                 client_factory: Callable[[str], ComfyClient] | None = None,
                 existing: history.Run | None = None, workflow: str | dict | None = None,
                 journal: Journal | None = None, meta: dict | None = None,
                 server_grace: float = 5.0, last_server_grace: float = 60.0,
                 health_interval: float = 0.25,
                 thumb_box: tuple[int, int] | None = (256, 256),
                 upload_cache: UploadCache | None = None, sheet: bool = True,
                 order: str | Callable[[list[Cell]], list[Cell]] = "cache") -> None:
        self.plan = plan
        self.config = config
        urls = servers if servers else list(config.comfyui.urls)
        self.server_urls = list(dict.fromkeys(u.rstrip("/") for u in urls))
        self.window = max(1, int(window))
        self.root = root
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.on_update = on_update
        self.client_factory = client_factory
        self.workflow = workflow
        self.journal = journal if journal is not None else Journal()
        self.meta = dict(meta or {})
        self.server_grace = server_grace
        self.last_server_grace = last_server_grace
        self.adopt_poll = 1.0   # how often a prompt left by a crashed session is checked
        self.health_interval = health_interval
        self.thumb_box = thumb_box
        self.upload_cache = upload_cache
        self.write_sheet = sheet
        if not callable(order) and order not in ("cache", "plain"):
            raise ValueError(f"order must be 'cache', 'plain' or a function, not {order!r}")
        # "plain" (grid order) or a function of the cells: to measure what ordering saves
        self.order = order
        self.history_run: history.Run | None = existing
        self.updates: dict[str, CellUpdate] = {
            c.id: CellUpdate(c.id, "waiting") for c in plan.cells()}
        self.sheet_path: Path | None = None
        self.servers: list[_Server] = []
        self._queue: deque[list[Cell]] = deque()   # whole model groups not yet taken
        self._attempts: dict[str, int] = {}
        self._settled: set[str] = set()
        self._todo: set[str] = set()
        self._cancelling = False
        self._changed: asyncio.Event | None = None
        self._finishers: set[asyncio.Task] = set()
        self._record_lock: asyncio.Lock | None = None
        self._journal_lock: asyncio.Lock | None = None
        self._sources: dict[Path, SourceImage] = {}
        self._uploads: dict[tuple[str, str], asyncio.Task] = {}
        self._all_done: asyncio.Event | None = None

    # -- public ----------------------------------------------------------------------------

    @property
    def folder(self) -> Path | None:
        return self.history_run.folder if self.history_run is not None else None

    async def run(self) -> history.Run:
        """Run every cell not yet done; raises `NoServer` when no server answers (before
        a run folder is made).  Cancelling the task that awaits this stops following the
        prompts (they stay journaled, so ``existing=`` can pick them up later); use
        `cancel` to stop them on the server too."""
        self._changed = asyncio.Event()
        self._all_done = asyncio.Event()
        self._record_lock = asyncio.Lock()
        self._journal_lock = asyncio.Lock()
        await self._connect_all()
        watchers: list[asyncio.Task] = []
        try:
            if self.history_run is None:
                self.history_run = await asyncio.to_thread(
                    history.create_run, self.plan, root=self.root, meta=self.meta)
            elif self.history_run.status != "running":
                await asyncio.to_thread(history.set_status, self.history_run, "running")
            run = self.history_run
            for cid, result in run.results.items():
                if result.status == "done" and cid in self.updates:
                    self._settled.add(cid)
                    self._emit(cid, state="done", fraction=1.0,
                               images=[run.folder / p for p in result.images],
                               server=result.server)
            todo = run.missing_cells()
            self._todo = {c.id for c in todo}
            for cell in todo:
                self._emit(cell.id, state="waiting")
            if callable(self.order):
                ordered = list(self.order(list(todo)))
            else:
                ordered = order_for_cache(todo) if self.order == "cache" else list(todo)
            for group in group_by_model(ordered):
                self._queue.append(group)
            if self._cancelling:          # cancelled while connecting
                self._queue.clear()
                for cell in todo:
                    self._settle_cancelled(cell.id)
            await self._adopt_journaled(run)
            self._poke()
            for server in self.servers:
                for _ in range(self.window):
                    self._spawn(server, self._worker(server))
            watchers = [asyncio.create_task(self._watch(s)) for s in self.servers]
            await self._all_done.wait()
            await self._stop_tasks(watchers)
            while self._finishers:
                await asyncio.gather(*list(self._finishers), return_exceptions=True)
            status = "cancelled" if self._cancelling else "finished"
            await asyncio.to_thread(history.set_status, run, status)
            if self.write_sheet:
                await asyncio.to_thread(self._contact_sheet, run)
            return run
        finally:
            await self._stop_tasks(watchers)
            for task in list(self._finishers):
                if not task.done():
                    task.cancel()
            await asyncio.gather(*(s.client.close() for s in self.servers),
                                 return_exceptions=True)

    async def _stop_tasks(self, watchers: list[asyncio.Task]) -> None:
        tasks = [t for t in watchers if not t.done()]
        for server in self.servers:
            tasks += [t for t in server.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def cancel(self) -> None:
        """Stop: nothing new is submitted, queued jobs are deleted, running ones
        interrupted; every unfinished cell ends ``cancelled``."""
        self._cancelling = True
        for server in self.servers:
            server.own.clear()
        self._queue.clear()
        jobs = [(s, job) for s in self.servers for _, job in list(s.inflight.values())
                if job is not None]
        # delete everything waiting first (one request per server), then interrupt
        for server in self.servers:
            ids = [job.prompt_id for _, job in server.inflight.values() if job is not None]
            if ids and server.healthy:
                try:
                    await server.client.delete_from_queue(ids)
                except ComfyError:
                    pass
        await asyncio.gather(*(job.cancel() for _, job in jobs), return_exceptions=True)
        for cid in list(self._todo - self._settled):
            if not any(cid in s.inflight for s in self.servers):
                self._settle_cancelled(cid)
        self._poke()

    def mark_winner(self, cell_id: str, note: str = "", library=None):
        """Mark ``cell_id`` a winner in the run's manifest and, given the `Library` the
        plan belongs to, in the plan saved with its first prompt.  Returns the `Winner`."""
        if self.history_run is None:
            winner = self.plan.mark_winner(cell_id, note)
        else:
            winner = history.mark_winner(self.history_run, cell_id, note)
        if library is not None:
            from .saved_plans import save_plan

            save_plan(library, self.history_run.plan if self.history_run else self.plan)
        return winner

    # -- servers ---------------------------------------------------------------------------

    def _make_client(self, url: str) -> ComfyClient:
        if self.client_factory is not None:
            return self.client_factory(url)
        from ..comfy.client import client_from_config

        return client_from_config(self.config, url)

    async def _connect_all(self) -> None:
        if not self.server_urls:
            raise NoServer("no ComfyUI server configured (set COMFYUI_URL or --servers)")
        clients = [self._make_client(url) for url in self.server_urls]
        results = await asyncio.gather(*(self._connect(c) for c in clients),
                                       return_exceptions=True)
        problems = []
        for url, client, result in zip(self.server_urls, clients, results):
            if isinstance(result, BaseException):
                problems.append(one_line(str(result)) or type(result).__name__)
                await client.close()
                continue
            server = _Server(url, client)
            server.version, server.queued_before = result
            self.servers.append(server)
        # least queued first: it takes the first group (others' prompts count too)
        self.servers.sort(key=lambda s: s.queued_before)
        if not self.servers:
            raise NoServer("no ComfyUI server answered:\n" + "\n".join(
                f"  - {p}" for p in problems))

    @staticmethod
    async def _connect(client: ComfyClient) -> tuple[str, int]:
        await client.connect()
        # the node schemas are needed for the first cell anyway: fetch them alongside
        stats, _, queued = await asyncio.gather(
            client.system_stats(), client.object_info(), client.queue_length(),
            return_exceptions=True)
        if isinstance(stats, Unreachable):
            raise stats
        try:
            version = str((stats.get("system") or {}).get("comfyui_version", ""))
        except AttributeError:
            version = ""
        return version, queued if isinstance(queued, int) else 0

    async def _watch(self, server: _Server) -> None:
        """Drop a server whose socket stays down and whose HTTP does not answer."""
        while server.healthy:
            await asyncio.sleep(self.health_interval)
            if server.client.connected:
                server.down_since = None
                continue
            now = time.monotonic()
            if server.down_since is None:
                server.down_since = now
                continue
            alone = not any(s.healthy for s in self.servers if s is not server)
            grace = max(self.server_grace, self.last_server_grace) if alone \
                else self.server_grace
            if now - server.down_since < grace:
                continue
            try:
                await server.client.get_json("prompt")
                server.down_since = now   # HTTP answers: jobs are followed by polling
            except ComfyError as exc:
                self._drop(server, f"{server.url} went away: {one_line(str(exc))}")

    def _drop(self, server: _Server, reason: str) -> None:
        if not server.healthy:
            return
        server.healthy = False
        moved = [cell for cell, _ in server.inflight.values()] + list(server.own)
        server.own.clear()
        for cid, (_, job) in list(server.inflight.items()):
            if job is not None:
                self._journal_bg(self.journal.finished, job.prompt_id, "moved")
        server.inflight.clear()
        for task in list(server.tasks):
            task.cancel()
        others = [s for s in self.servers if s.healthy]
        if not others:
            for cell in moved:
                self._settle_error(cell, f"no server left: {reason}")
            for group in list(self._queue):
                for cell in group:
                    self._settle_error(cell, f"no server left: {reason}")
            self._queue.clear()
        else:
            for cell in reversed(moved):
                if cell.id not in self._settled:
                    self._emit(cell.id, state="waiting", step=0, steps=0, fraction=0.0,
                               server="", preview=None)
                    self._queue.appendleft([cell])
        self._poke()

    # -- scheduling ------------------------------------------------------------------------

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()
        if self._all_done is not None and not (self._todo - self._settled):
            self._all_done.set()

    def _next_cell(self, server: _Server) -> Cell | None:
        if self._cancelling or not server.healthy:
            return None
        while True:
            if server.own:
                cell = server.own.popleft()
            elif self._queue:
                server.own.extend(self._queue.popleft())
                continue
            else:
                victims = [s for s in self.servers if s is not server and s.healthy and s.own]
                if not victims:
                    return None
                cell = max(victims, key=lambda s: len(s.own)).own.pop()
            if cell.id not in self._settled:
                return cell

    def _spawn(self, server: _Server, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        server.tasks.add(task)
        task.add_done_callback(server.tasks.discard)
        return task

    async def _worker(self, server: _Server) -> None:
        """One in-flight slot of ``server``: take a cell, submit, follow, hand it to a
        finisher, take the next one right away."""
        while server.healthy and not self._all_done.is_set():
            cell = self._next_cell(server)
            if cell is None:
                self._changed.clear()
                if self._cancelling or self._all_done.is_set():
                    return
                # nothing to take now; work may come back from a server that goes away
                await self._changed.wait()
                continue
            await self._carry(server, cell)

    async def _carry(self, server: _Server, cell: Cell) -> None:
        server.inflight[cell.id] = (cell, None)
        try:
            built = await self._prepare(server, cell)
        except Unreachable as exc:
            server.inflight.pop(cell.id, None)
            server.own.appendleft(cell)
            self._drop(server, str(exc))
            return
        except Exception as exc:   # a workflow/source problem: this cell can't run
            server.inflight.pop(cell.id, None)
            self._settle_error(cell, one_line(str(exc)) or type(exc).__name__, server=server)
            return
        if self._cancelling:
            server.inflight.pop(cell.id, None)
            self._settle_cancelled(cell.id)
            return
        run = self.history_run
        prompt_id = str(uuid.uuid4())
        from ..images.pngmeta import workbench_chunk

        extra = {"workbench": workbench_chunk(cell.spec, run=run.id, cell=cell.id)}
        async with self._journal_lock:
            await asyncio.to_thread(self.journal.submitting, JournalEntry(
                prompt_id, server.client.base_url, server.client.client_id,
                str(run.folder / RECOVERED),
                built.workflow, cell.seed, {"run": str(run.folder), "cell": cell.id,
                                            "workflow": built.name}))
        try:
            job = await server.client.submit(built.workflow, prompt_id=prompt_id,
                                             extra_pnginfo=extra)
        except ServerRejected as exc:
            server.inflight.pop(cell.id, None)
            self._journal_bg(self.journal.finished, prompt_id, "rejected")
            problems = explain_rejection(exc.status, exc.body, built.workflow,
                                         server.client._object_info)
            self._settle_error(cell, "; ".join(str(p) for p in problems) or str(exc),
                               server=server, workflow=built.workflow)
            return
        except ComfyError as exc:
            server.inflight.pop(cell.id, None)
            self._journal_bg(self.journal.finished, prompt_id, "not-sent")
            server.own.appendleft(cell)
            self._drop(server, str(exc))
            return
        server.submitted += 1
        server.inflight[cell.id] = (cell, job)
        self._journal_bg(self.journal.queued, prompt_id, job.number)
        if self._cancelling:
            await job.cancel()
        job.on_event = lambda j, e, cid=cell.id: self._on_event(cid, j, e)
        # events may have come in before the POST answered: start from the job's state
        self._emit(cell.id, state="running" if job.state == "running" else "queued",
                   server=server.url, error="", step=job.step, steps=job.steps,
                   fraction=job.fraction,
                   preview=job.latest_preview.data if job.latest_preview else None)
        result = await job.wait()
        server.inflight.pop(cell.id, None)
        self._finish_later(server, cell, built, result)

    async def _prepare(self, server: _Server, cell: Cell):
        from ..runs.jobs import prepare

        source = await self._source(cell)
        name = None
        if source is not None:
            key = (server.url, source.sha256)
            task = self._uploads.get(key)
            if task is None:   # uploaded once per server, however many cells use it
                async def upload(client=server.client, source=source) -> str:
                    return await ensure_uploaded(client, source, cache=self.upload_cache,
                                                 object_info=await client.object_info())

                task = asyncio.ensure_future(upload())
                self._uploads[key] = task
            try:
                name = await asyncio.shield(task)
            except Exception:
                self._uploads.pop(key, None)
                raise
        return await prepare(server.client, cell.spec, workflow=self.workflow,
                             config=self.config, seed=cell.seed, source=source,
                             source_name=name)

    async def _source(self, cell: Cell) -> SourceImage | None:
        if not cell.spec.source_image:
            return None
        path = source_path(cell.spec.source_image, self.base_dir)
        if path not in self._sources:
            if not path.is_file():
                raise SourceImageError(path, "does not exist")
            self._sources[path] = await asyncio.to_thread(load_source, path)
        return self._sources[path]

    async def _adopt_journaled(self, run: history.Run) -> None:
        """Follow prompts an earlier session of this run left on a server in the pool."""
        try:
            entries = await asyncio.to_thread(self.journal.unfinished)
        except OSError:
            return
        by_url = {s.client.base_url: s for s in self.servers}
        for entry in entries:
            cid = (entry.meta or {}).get("cell")
            server = by_url.get(entry.server.rstrip("/"))
            if entry.meta.get("run") != str(run.folder) or cid not in self._todo \
                    or server is None or cid in self._settled:
                continue
            cell = self.plan.cell(cid)
            if cell is None:
                continue
            for group in self._queue:   # it is in flight already: don't submit it again
                if cell in group:
                    group.remove(cell)
            job = server.client.attach(entry.prompt_id, entry.workflow, entry.submitted_at)
            server.inflight[cid] = (cell, job)
            self._emit(cid, state="queued", server=server.url)
            job.on_event = lambda j, e, c=cid: self._on_event(c, j, e)

            built = _Submitted(entry.workflow, str(entry.meta.get("workflow", "")))

            async def follow(server=server, cell=cell, job=job, built=built) -> None:
                # the socket that hears about it died with the old session: ask the server
                while True:
                    try:
                        result = await job.wait(self.adopt_poll)
                        break
                    except asyncio.TimeoutError:
                        await server.client.check_job(job)
                server.inflight.pop(cell.id, None)
                self._finish_later(server, cell, built, result)

            self._spawn(server, follow())
        self._queue = deque(g for g in self._queue if g)

    # -- events and results ----------------------------------------------------------------

    def _on_event(self, cell_id: str, job: Job, event: Event) -> None:
        if cell_id in self._settled:
            return
        if isinstance(event, ExecutionStart):
            self._emit(cell_id, state="running", fraction=job.fraction)
        elif isinstance(event, Progress):
            self._emit(cell_id, state="running", step=event.value, steps=event.max,
                       fraction=job.fraction)
        elif isinstance(event, Preview) and event.data:
            self._emit(cell_id, preview=bytes(event.data))

    def _finish_later(self, server: _Server, cell: Cell, built, result: JobResult) -> None:
        self._background(self._finish(server, cell, built, result))

    async def _finish(self, server: _Server, cell: Cell, built, result: JobResult) -> None:
        try:
            await self._settle_result(server, cell, built, result)
        except Exception as exc:   # never leave a cell unsettled: the run would not end
            if cell.id in self._settled:
                self._emit(cell.id, state="error", error=f"could not record: {exc}")
                self._poke()
            else:
                self._settle_error(cell, one_line(str(exc)) or type(exc).__name__,
                                   server=server)

    async def _settle_result(self, server: _Server, cell: Cell, built,
                             result: JobResult) -> None:
        if cell.id in self._settled:
            self._journal_bg(self.journal.finished, result.prompt_id, "duplicate")
            return
        run = self.history_run
        details = dict(server=server.url, comfyui_version=server.version,
                       batch_size=_batch_size(built.workflow), prompt_id=result.prompt_id,
                       timings={k: v for k, v in result.timings().items() if v is not None})
        if result.status == "success":
            try:
                images = await self._download(server, cell, result)
            except ComfyError as exc:
                self._settle_error(cell, f"download failed: {one_line(str(exc))}",
                                   server=server, workflow=built.workflow, **details)
                self._journal_bg(self.journal.finished, result.prompt_id, "error")
                return
            if cell.id in self._settled:
                return
            self._settled.add(cell.id)
            async with self._record_lock:
                recorded = await asyncio.to_thread(history.record_cell, run, cell, images,
                                                   built.workflow, **details)
            self._journal_bg(self.journal.finished, result.prompt_id, "success")
            paths = [run.folder / p for p in recorded.images]
            self._emit(cell.id, state="done", fraction=1.0, images=paths,
                       step=self.updates[cell.id].steps)
            if self.thumb_box and paths:
                self._background(self._prefetch(paths))
            self._poke()
            return
        self._journal_bg(self.journal.finished, result.prompt_id, result.status)
        if result.status in ("cancelled", "interrupted") and self._cancelling:
            self._settle_cancelled(cell.id, server=server, workflow=built.workflow,
                                   details=details)
            return
        if result.status in ("lost", "detached") and not self._cancelling:
            self._attempts[cell.id] = self._attempts.get(cell.id, 0) + 1
            if self._attempts[cell.id] < MAX_ATTEMPTS and any(s.healthy for s in self.servers):
                self._emit(cell.id, state="waiting", step=0, steps=0, fraction=0.0)
                self._queue.appendleft([cell])
                self._poke()
                return
        if result.error is not None:
            message = str(explain_execution_error(result.error, built.workflow))
        elif result.interrupted is not None:
            message = str(explain_interrupted(result.interrupted, built.workflow))
        else:
            message = result.message or result.status
        self._settle_error(cell, one_line(message), server=server, workflow=built.workflow,
                           **details)

    async def _download(self, server: _Server, cell: Cell, result: JobResult) -> list[bytes]:
        from ..images.pngmeta import embed_spec, read_png_metadata

        images = []
        for ref in result.images:
            if ref.type != "output":
                continue
            data = await server.client.download(ref)
            await asyncio.to_thread(check_image, data)
            if data[:8] == b"\x89PNG\r\n\x1a\n":
                try:
                    has_spec = read_png_metadata(data).workbench is not None
                except Exception:
                    has_spec = True
                if not has_spec:
                    data = embed_spec(data, cell.spec, run=self.history_run.id, cell=cell.id)
            images.append(data)
        if not images:
            raise ComfyError("the job finished without a saved image")
        return images

    async def _prefetch(self, paths: list[Path]) -> None:
        from ..images.preview import default_cache

        try:
            await asyncio.to_thread(default_cache().prefetch, paths, self.thumb_box)
        except Exception:
            pass   # a preview cache that fails is only a slower preview

    def _settle_error(self, cell: Cell, message: str, *, server: _Server | None = None,
                      workflow: dict | None = None, **details: Any) -> None:
        if cell.id in self._settled:
            return
        self._settled.add(cell.id)
        details.setdefault("server", server.url if server else "")
        details.setdefault("comfyui_version", server.version if server else "")
        self._record_bg(history.record_cell_error, self.history_run, cell, message,
                        workflow=workflow, **details)
        self._emit(cell.id, state="error", error=message, server=details["server"])
        self._poke()

    def _settle_cancelled(self, cell_id: str, *, server: _Server | None = None,
                          workflow: dict | None = None, details: dict | None = None) -> None:
        if cell_id in self._settled:
            return
        self._settled.add(cell_id)
        cell = self.plan.cell(cell_id)
        if cell is not None and self.history_run is not None:
            self._record_bg(history.record_cell, self.history_run, cell, [], workflow,
                            status="cancelled", error="cancelled", **(details or {}))
        self._emit(cell_id, state="cancelled")
        self._poke()

    def _emit(self, cell_id: str, **changes: Any) -> None:
        current = self.updates.get(cell_id)
        if current is None:
            return
        update = replace(current, **changes)
        self.updates[cell_id] = update
        if self.on_update is not None:
            try:
                self.on_update(update)
            except Exception:
                pass   # a display callback must never break the run

    def _journal_bg(self, fn, *args) -> None:
        """Journal writes (fsynced) off the loop, in the order they were asked for."""
        async def write() -> None:
            async with self._journal_lock:
                try:
                    await asyncio.to_thread(fn, *args)
                except OSError:
                    pass
        self._background(write())

    def _record_bg(self, fn, *args, **kwargs) -> None:
        """Manifest writes off the loop, one at a time."""
        async def write() -> None:
            async with self._record_lock:
                await asyncio.to_thread(fn, *args, **kwargs)
        self._background(write())

    def _background(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._finishers.add(task)
        task.add_done_callback(self._finishers.discard)

    def _contact_sheet(self, run: history.Run) -> None:
        from ..images.contact_sheet import plan_sheet, save_sheet

        images = {}
        for cell in run.plan.cells():
            paths = run.image_paths(cell.id)
            result = run.results.get(cell.id)
            images[cell.id] = paths[0] if paths and result and result.status == "done" else None
        sheet, _, _ = plan_sheet(run.plan, images)
        self.sheet_path = run.folder / CONTACT_SHEET
        save_sheet(sheet, self.sheet_path)


def _batch_size(workflow: dict) -> int:
    for node in (workflow or {}).values():
        value = (node.get("inputs") or {}).get("batch_size") if isinstance(node, dict) else None
        if isinstance(value, int) and value > 0:
            return value
    return 1


__all__ = ["CONTACT_SHEET", "CellUpdate", "NoServer", "PlanRunner"]
