"""Judging a plan's cells as its image jobs finish (``workbench ab --judge``, the compare
screen's judge key).

Each done cell is handed over as it is recorded (`LiveJudge.update`, a runner's
``on_update``).  When Ollama has a GPU of its own (`JudgeSettings.may_interleave`) the
cell is judged at once, one at a time, in a task beside the runner: the image jobs never
wait for it (the pixel work runs in a thread, the vision request is I/O).  When Ollama
shares ComfyUI's GPU the cells are only collected and judged after the last image job,
and the vision model is unloaded at the end (`RunJudge.finish`), so a vision model never
holds memory a FLUX job needs.  `finish` judges what is left, sums up and writes
``judge.json`` (`record.keep`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ..runs import history
from .cache import VerdictCache
from .run_judge import CellJudgement, RunJudge, RunJudgement
from .settings import JudgeSettings


class LiveJudge:
    """Judges the cells of one plan's run as they are done; ``on_cell(CellJudgement)``
    after each."""

    def __init__(self, config, *, model: str = "", vision: bool = True, client=None,
                 cache: VerdictCache | None = None,
                 on_cell: Callable[[CellJudgement], Any] | None = None,
                 interleave: bool | None = None) -> None:
        self.config = config
        self.settings = JudgeSettings.from_config(config, model=model)
        #: judge as cells finish (else: after the image jobs)
        self.interleave = self.settings.may_interleave if interleave is None else interleave
        self.on_cell = on_cell
        self.judge: RunJudge | None = None
        self.seconds = 0.0          # spent judging cells (pixels and model), wall time
        self.pictures = 0
        self._options = {"model": model, "vision": vision, "client": client,
                         "cache": cache}
        self._waiting: list[str] = []
        self._task: asyncio.Task | None = None

    def _judge_for(self, run: history.Run) -> RunJudge:
        if self.judge is None:
            self.judge = RunJudge(run, self.config, **self._options)
        return self.judge

    def update(self, run: history.Run | None, update) -> None:
        """A runner's `CellUpdate`: a done cell (its images recorded) is judged now or
        after the image jobs.  Call on the event loop."""
        if run is None or update.state != "done" or not update.images:
            return
        self.cell_done(run, update.cell_id)

    def cell_done(self, run: history.Run, cell_id: str) -> None:
        judge = self._judge_for(run)
        if cell_id in judge.cells or cell_id in self._waiting:
            return
        self._waiting.append(cell_id)
        if self.interleave and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while self._waiting:
            await self._one(self._waiting.pop(0))

    async def _one(self, cell_id: str) -> None:
        judge = self.judge
        result = judge.run.results.get(cell_id)
        if result is None or result.status != "done" or not result.images:
            return
        started = time.perf_counter()
        cell = await judge.judge_cell(cell_id)
        self.seconds += time.perf_counter() - started
        self.pictures += len(cell.images)
        if self.on_cell is not None:
            self.on_cell(cell)

    async def finish(self, run: history.Run, *, write: bool = True) -> RunJudgement:
        """After the image jobs: judge every done cell not judged yet, sum up, free the
        GPU and (by default) write ``judge.json``."""
        judge = self._judge_for(run)
        if self._task is not None:
            await self._task
        self._waiting = [c for c in judge.judgeable() if c not in judge.cells]
        await self._drain()
        return await judge.finish(write=write)

    async def close(self) -> None:
        """Stop judging (the run was abandoned); nothing is written."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.judge is not None:
            await self.judge.close()
