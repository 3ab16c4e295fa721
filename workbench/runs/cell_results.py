"""How a plan cell's job ends up in its run: the part of `runner.PlanRunner` that turns
events and results into cell updates and records.

A success is downloaded and checked; its picture goes to the contact sheet at once and
the run may close while its files, manifest entry and journal entry are written (the run
waits for them).  A lost or detached job goes back in the queue a few times; any other
ending is recorded with the server's failure in words.  A mixin: the runner supplies the
state it reads (``recorder``, ``sheet``, ``pool``, ``updates``, ``_settled``,
``_attempts``, ``_cancelling``) and `_emit`, `_poke`, `_settle_error`,
`_settle_cancelled`.
"""

from __future__ import annotations

from ..comfy.client import Job, JobResult
from ..comfy.events import Event, ExecutionStart, Preview, Progress
from ..textsafe import one_line
from .plan import Cell
from .pool import Server
from .recorder import job_details, problems_of

MAX_ATTEMPTS = 3          # a cell whose job is lost this often ends as an error


class CellResults:
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

    async def _record(self, server: Server, cell: Cell, workflow: dict,
                      result: JobResult) -> None:
        try:
            await self._settle_result(server, cell, workflow, result)
        except Exception as exc:   # never leave a cell unsettled: the run would not end
            await self.recorder.settle(result.prompt_id, "error")
            if cell.id in self._settled:
                self._emit(cell.id, state="error", error=f"could not record: {exc}")
                self._poke()
            else:
                self._settle_error(cell, one_line(str(exc)) or type(exc).__name__,
                                   at=server)

    async def _settle_result(self, server: Server, cell: Cell, workflow: dict,
                             result: JobResult) -> None:
        if cell.id in self._settled:
            await self.recorder.settle(result.prompt_id, "duplicate")
            return
        details = job_details(result, workflow, server.url, server.version)
        if result.status == "success":
            await self._record_success(server, cell, workflow, result, details)
            return
        await self.recorder.settle(result.prompt_id, result.status)
        if result.status in ("cancelled", "interrupted") and self._cancelling:
            self._settle_cancelled(cell, workflow=workflow, details=details)
        elif result.status in ("lost", "detached") and not self._cancelling \
                and self._retry(cell):
            return
        else:
            message = "; ".join(str(p) for p in problems_of(result, workflow))
            self._settle_error(cell, one_line(message or result.message or result.status),
                               workflow=workflow, **details)

    async def _record_success(self, server: Server, cell: Cell, workflow: dict,
                              result: JobResult, details: dict) -> None:
        collected = await self.recorder.collect(server.client, result, cell)
        if not collected.images:
            reasons = "; ".join(r["reason"] for r in collected.refused)
            self._settle_error(cell, "no usable image came back" + (
                f" ({one_line(reasons)})" if reasons else ""), workflow=workflow,
                refused=collected.refused, **details)
            await self.recorder.settle(result.prompt_id, "error")
            return
        if cell.id in self._settled:
            return
        self._settled.add(cell.id)
        if self.sheet is not None:   # drawn while the GPU works
            self.sheet.add(cell.id, collected.images[0])
        # the run may close now: its contact sheet is drawn while this cell's files,
        # manifest entry and journal entry are written (`_close_run` waits for them)
        self._poke()
        try:
            recorded = await self.recorder.record(cell, collected.images, workflow,
                                                  refused=collected.refused, **details)
        except BaseException:
            if self.sheet is not None:
                self.sheet.drop(cell.id)
            raise
        self._emit(cell.id, state="done", fraction=1.0, step=self.updates[cell.id].steps,
                   images=[self.history_run.folder / p for p in recorded.images])
        await self.recorder.settle(result.prompt_id, "success")

    def _retry(self, cell: Cell) -> bool:
        """A lost job goes back in the queue, a few times, while a server is left."""
        self._attempts[cell.id] = self._attempts.get(cell.id, 0) + 1
        if self._attempts[cell.id] >= MAX_ATTEMPTS or not self.pool.healthy:
            return False
        self._emit(cell.id, state="waiting", step=0, steps=0, fraction=0.0)
        self.pool.requeue([cell])
        self._poke()
        return True
