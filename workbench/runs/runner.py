"""Carrying a `RunPlan` through one or more ComfyUI servers into a run folder.

The parts: a `pool.ServerPool` (connect, health, drop, steal), the one run service
(`single.RunService`: upload, build, check, journal, submit), a `recorder.CellRecorder`
(download, embed, record, journal) and, here, the orchestration: each server keeps
``window`` prompts queued or sampling (the GPU never waits on our downloads or the next
POST; the next workflow is built while one runs and sent while one decodes), cells go
out in `order.order_for_cache` order, a cell is recorded once (the first success), lost
jobs are re-queued, and ``RunnerOptions(existing=run)`` re-attaches to what an earlier
session left on the servers.

Little waits once the last image is in: the run folder was made while the servers
connected, the contact sheet was drawn and encoded row by row as cells arrived
(`contact_sheet.SheetCanvas`), and it is written while the last cell's files, manifest
entry (which carries the run's final status) and journal entry are.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..comfy.client import BadAnswer, ComfyClient, ComfyError, Job, Unreachable
from ..comfy.validate import InvalidWorkflow
from ..textsafe import one_line
from . import history
from .cell_prep import CellPrep
from .cell_results import CellResults
from .order import group_by_model, order_for_cache
from .plan import Cell, RunPlan
from .plan_run import CellUpdate, RunnerOptions
from .pool import NoServer, Server, ServerPool
from .recorder import CellRecorder
from .recovery import entries_of_run, follow_attached
from .run_sheet import CONTACT_SHEET, RunSheet
from .single import RunService


class PlanRunner(CellResults):
    """Runs every not-yet-done cell of ``plan`` and records it in a run folder.

    ``run()`` returns the `history.Run` (manifest written); ``history_run`` holds it while
    it runs.  ``cancel()`` stops it cleanly.  ``updates`` maps cell id -> its latest
    `CellUpdate`.
    """

    def __init__(self, plan: RunPlan, config: Any, options: RunnerOptions | None = None, *,
                 service: RunService | None = None,
                 on_update: Callable[[CellUpdate], None] | None = None) -> None:
        self.plan = plan
        self.config = config
        self.options = options or RunnerOptions()
        if not callable(self.options.order) and self.options.order not in ("cache", "plain"):
            raise ValueError("order must be 'cache', 'plain' or a function, "
                             f"not {self.options.order!r}")
        self.service = service or RunService.for_session(config)
        self.on_update = on_update
        self.history_run: history.Run | None = self.options.existing
        self.updates = {c.id: CellUpdate(c.id, "waiting") for c in plan.cells()}
        self.sheet = RunSheet(plan) if self.options.sheet else None
        urls = self.options.servers or list(config.comfyui.urls)
        self.pool = ServerPool(urls, self._make_client, self.options.health)
        self.recorder: CellRecorder | None = None
        self._attempts: dict[str, int] = {}
        self._settled: set[str] = set()
        self._todo: set[str] = set()
        self._cancelling = False
        self._changed: asyncio.Event | None = None
        self._all_done: asyncio.Event | None = None
        self._pending: set[asyncio.Task] = set()
        self.prep = CellPrep(self.service, self.options.base_dir, self.options.workflow)
        self._status_from = -1   # manifest writes before the final status was set

    @property
    def sheet_path(self) -> Path | None:
        """The contact sheet, once written."""
        return self.sheet.path if self.sheet is not None else None

    @property
    def servers(self) -> list[Server]:
        return self.pool.servers

    @property
    def folder(self) -> Path | None:
        return self.history_run.folder if self.history_run is not None else None

    def _make_client(self, url: str) -> ComfyClient:
        if self.options.client_factory is not None:
            return self.options.client_factory(url)
        from ..comfy.client import client_from_config

        return client_from_config(self.config, url)

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> history.Run:
        """Run every cell not yet done; raises `NoServer` when no server answers (before
        a run folder is made).  Cancelling the task that awaits this stops following the
        prompts (they stay journaled, so ``existing=`` can pick them up later); use
        `cancel` to stop them on the server too."""
        self._changed, self._all_done = asyncio.Event(), asyncio.Event()
        journaled = asyncio.ensure_future(self._journaled())   # read while connecting
        try:
            opening = await self._connect()
        except BaseException:
            journaled.cancel()
            raise
        watchers: list[asyncio.Task] = []
        try:
            run = await (opening or self._open_run())
            await self._adopt_journaled(run, await journaled)
            self._poke()
            for server in self.servers:
                for _ in range(max(1, self.options.window)):
                    server.spawn(self._worker(server))
            watchers = [asyncio.create_task(self.pool.watch(s, self._drop))
                        for s in self.servers]
            await self._all_done.wait()
            await self._stop(watchers)
            await self._close_run(run)
            return run
        finally:
            await self._stop(watchers)
            for task in list(self._pending):
                task.cancel()
            self.prep.cancel()
            await self.pool.close()

    async def _connect(self) -> asyncio.Future | None:
        """Connect the pool; a new run's folder is made as soon as a server has answered
        (while the node schemas and sockets are still coming), and removed again should
        none of them connect after all.  Returns the folder's making, if started."""
        opening: asyncio.Future | None = None

        def answered() -> None:
            nonlocal opening
            if opening is None and self.history_run is None:
                opening = asyncio.ensure_future(self._open_run())

        try:
            await self.pool.connect(on_answer=answered)
        except BaseException:
            if opening is not None:
                await asyncio.gather(opening, return_exceptions=True)
                if self.history_run is not None:   # made here a moment ago: unmade
                    await asyncio.to_thread(shutil.rmtree, self.history_run.folder, True)
                    self.history_run = None
            raise
        return opening

    async def _journaled(self) -> list:
        journal = self.service.journal
        try:
            return await asyncio.to_thread(journal.unfinished) if journal else []
        except OSError:
            return []

    async def _open_run(self) -> history.Run:
        """The run folder (made now, or the one resumed), its done cells announced and the
        rest queued in cache-friendly model groups."""
        if self.history_run is None:
            self.history_run = await asyncio.to_thread(
                history.create_run, self.plan, root=self.options.root, meta=self.options.meta)
        elif self.history_run.status != "running":
            await asyncio.to_thread(history.set_status, self.history_run, "running")
        run = self.history_run
        self.recorder = self.service.recorder(run)
        for cid, result in run.results.items():
            if result.status == "done" and cid in self.updates:
                self._settled.add(cid)
                self._emit(cid, state="done", fraction=1.0, server=result.server,
                           images=[run.folder / p for p in result.images])
        todo = run.missing_cells()
        self._todo = {c.id for c in todo}
        order = self.options.order
        ordered = list(order(list(todo))) if callable(order) else (
            order_for_cache(todo) if order == "cache" else list(todo))
        self.pool.queue.extend(group_by_model(ordered))
        if self._cancelling:          # cancelled while connecting
            self.pool.clear()
            for cell in todo:
                self._settle_cancelled(cell)
        return run

    async def _close_run(self, run: history.Run) -> None:
        """The last records and journal entries settle while the contact sheet is drawn
        from the pictures made on arrival (it need not wait for the last manifest write);
        the final status is the manifest's last write."""
        writes = [self._finish_records(run)]
        if self.sheet is not None:
            writes.append(self.sheet.write(run))
        for outcome in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
        if self.sheet is not None:
            await self.sheet.close(run)   # a record (or a picture) failed meanwhile

    async def _finish_records(self, run: history.Run) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        status = "cancelled" if self._cancelling else "finished"
        async with self.recorder.manifest_lock:
            if run.status != status or self.recorder.manifest_writes <= self._status_from:
                await asyncio.to_thread(history.set_status, run, status)

    async def _stop(self, watchers: list[asyncio.Task]) -> None:
        await self.pool.stop_tasks(watchers)

    async def cancel(self) -> None:
        """Stop: nothing new is submitted, queued jobs are deleted, running ones
        interrupted; every unfinished cell ends ``cancelled``."""
        self._cancelling = True
        self.pool.clear()
        jobs = [job for s in self.servers for _, job in list(s.inflight.values())
                if job is not None]
        await self.pool.delete_queued()   # everything waiting first, one request a server
        await asyncio.gather(*(job.cancel() for job in jobs), return_exceptions=True)
        for cid in list(self._todo - self._settled):
            cell = self.plan.cell(cid)
            if cell is not None and not any(cid in s.inflight for s in self.servers):
                self._settle_cancelled(cell)
        self._poke()

    # -- a server's slots -----------------------------------------------------------------------

    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()
        if self._all_done is not None and not (self._todo - self._settled) \
                and not self._all_done.is_set():
            self._all_done.set()
            if self.history_run is not None and self.recorder is not None:
                # the run's status goes into the manifest writes still to come (the last
                # cell's): `_finish_records` writes it only if none comes
                self.history_run.status = "cancelled" if self._cancelling else "finished"
                self._status_from = self.recorder.manifest_writes

    async def _worker(self, server: Server) -> None:
        """One in-flight slot of ``server``: take a cell, submit, follow it until its
        sampling is done (`Job.sampled`: its decode and save overlap the next POST, so
        even a window of 1 keeps the GPU busy), hand it to a finisher, take the next."""
        while server.healthy and not self._all_done.is_set():
            cell = None if self._cancelling else self.pool.next_cell(
                server, lambda c: c.id in self._settled)
            if cell is None:
                self._changed.clear()
                if self._cancelling or self._all_done.is_set():
                    return
                await self._changed.wait()   # work may come back from a dropped server
                continue
            try:
                await self._carry(server, cell)
            except Exception as exc:  # noqa: BLE001 - never leave a cell (and the run) hanging
                server.inflight.pop(cell.id, None)
                self._settle_error(cell, f"{type(exc).__name__}: {one_line(str(exc))}",
                                   at=server)

    async def _carry(self, server: Server, cell: Cell) -> None:
        server.inflight[cell.id] = (cell, None)
        try:
            built = await self.prep.built(server, cell)
        except Unreachable as exc:
            self._lose_server(server, cell, str(exc))
            return
        except Exception as exc:   # a workflow/source problem: this cell can't run
            server.inflight.pop(cell.id, None)
            self._settle_error(cell, one_line(str(exc)) or type(exc).__name__, at=server)
            return
        if self._cancelling:
            server.inflight.pop(cell.id, None)
            self._settle_cancelled(cell)
            return
        try:
            job = await self.service.submit(
                server.client, built.workflow, cell, self.recorder, seed=built.seed,
                workflow_name=built.name,
                on_event=lambda j, e, cid=cell.id: self._on_event(cid, j, e))
        except (InvalidWorkflow, BadAnswer) as exc:   # refused (explained), or garbage
            server.inflight.pop(cell.id, None)
            self._settle_error(cell, one_line(str(exc)), at=server, workflow=built.workflow)
            return
        except ComfyError as exc:   # the server went away: its cells go to the others
            self._lose_server(server, cell, str(exc))
            return
        await self._follow(server, cell, job, built.workflow)

    def _lose_server(self, server: Server, cell: Cell, reason: str) -> None:
        server.inflight.pop(cell.id, None)
        server.own.appendleft(cell)
        self._drop(server, reason)

    async def _follow(self, server: Server, cell: Cell, job: Job, workflow: dict) -> None:
        server.inflight[cell.id] = (cell, job)
        if self._cancelling:
            await job.cancel()
        # events may have come in before the POST answered: start from the job's state
        self._emit(cell.id, state="running" if job.state == "running" else "queued",
                   server=server.url, error="", step=job.step, steps=job.steps,
                   fraction=job.fraction,
                   preview=job.latest_preview.data if job.latest_preview else None)
        self._prepare_next(server)
        await job.sampled()
        if not job.done:   # decoding and saving: the slot sends its next prompt meanwhile
            server.spawn(self._finish(server, cell, job, workflow))
            return
        await self._finish(server, cell, job, workflow)

    def _prepare_next(self, server: Server) -> None:
        """Build and check the workflow of the cell ``server`` will most likely take next
        while this one runs (the slot then only journals and POSTs it)."""
        nxt = server.own[0] if server.own else (self.pool.queue[0][0] if self.pool.queue
                                                  else None)
        if nxt is not None and nxt.id not in self._settled and not self._cancelling:
            self.prep.ahead(server, nxt)

    async def _finish(self, server: Server, cell: Cell, job: Job, workflow: dict) -> None:
        result = await job.wait()
        server.inflight.pop(cell.id, None)
        self._background(self._record(server, cell, workflow, result))

    def _drop(self, server: Server, reason: str) -> None:
        if not server.healthy:
            return
        held = self.pool.drop(server)
        for _, job in held:
            if job is not None:
                self._background(self.recorder.settle(job.prompt_id, "moved"))
        cells = [cell for cell, _ in held]
        if not self.pool.healthy:
            for cell in cells + [c for group in self.pool.queue for c in group]:
                self._settle_error(cell, f"no server left: {reason}")
            self.pool.queue.clear()
        else:
            for cell in cells:
                if cell.id not in self._settled:
                    self._emit(cell.id, state="waiting", step=0, steps=0, fraction=0.0,
                               server="", preview=None)
            self.pool.requeue([c for c in cells if c.id not in self._settled])
        self._poke()

    # -- an earlier session's prompts ------------------------------------------------------------

    async def _adopt_journaled(self, run: history.Run, entries: list) -> None:
        """Follow prompts an earlier session of this run left on a server in the pool
        (``entries``: the journal's unfinished ones)."""
        for cid, entry in entries_of_run(entries, run).items():
            server = self.pool.by_url(entry.server)
            cell = self.plan.cell(cid)
            if cid not in self._todo or server is None or cid in self._settled or cell is None:
                continue
            self.pool.withdraw(cell)   # it is in flight already: don't submit it again
            job = server.client.attach(entry.prompt_id, entry.workflow, entry.submitted_at)
            server.inflight[cid] = (cell, job)
            self._emit(cid, state="queued", server=server.url)
            job.on_event = lambda j, e, c=cid: self._on_event(c, j, e)
            server.spawn(self._follow_adopted(server, cell, job, entry.workflow))

    async def _follow_adopted(self, server: Server, cell: Cell, job: Job,
                              workflow: dict) -> None:
        result = await follow_attached(server.client, job, self.options.adopt_poll)
        server.inflight.pop(cell.id, None)
        self._background(self._record(server, cell, workflow, result))

    def _settle_error(self, cell: Cell, message: str, *, at: Server | None = None,
                      workflow: dict | None = None, **details: Any) -> None:
        if cell.id in self._settled:
            return
        self._settled.add(cell.id)
        details.setdefault("server", at.url if at else "")
        details.setdefault("comfyui_version", at.version if at else "")
        self._background(self.recorder.record(cell, [], workflow, status="error",
                                              error=message, **details))
        self._emit(cell.id, state="error", error=message, server=details["server"])
        self._poke()

    def _settle_cancelled(self, cell: Cell, *, workflow: dict | None = None,
                          details: dict | None = None) -> None:
        if cell.id in self._settled:
            return
        self._settled.add(cell.id)
        if self.recorder is not None:
            self._background(self.recorder.record(cell, [], workflow, status="cancelled",
                                                  error="cancelled", **(details or {})))
        self._emit(cell.id, state="cancelled")
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
            except Exception:  # noqa: BLE001 - a display callback must never break the run
                pass

    def _background(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


__all__ = ["CONTACT_SHEET", "CellUpdate", "NoServer", "PlanRunner", "RunnerOptions"]
