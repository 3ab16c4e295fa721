"""Each cell's workflow, built and checked for the server it goes to, ahead if possible.

A plan's cells share input images and servers: each image file is read once
(`inputs.InputCache`) and uploaded once per server however many cells use it.  While a
server works on one prompt, the workflow of the cell it will most likely take next is
built and checked (`ahead`), so when the slot frees up only the journal write and the
POST stand between the GPU and its next job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from .inputs import InputCache, load_inputs
from .plan import Cell
from .pool import Server
from .single import RunService


class CellPrep:
    def __init__(self, service: RunService, base_dir: Path | None,
                 workflow: str | dict | None) -> None:
        self.service = service
        self.base_dir = base_dir
        self.workflow = workflow
        self._inputs = InputCache()   # each cell's images by role, each file read once
        self._uploads: dict[tuple, asyncio.Task] = {}
        self._ahead: dict[tuple[str, str], asyncio.Future] = {}   # (server, cell) -> built

    async def built(self, server: Server, cell: Cell) -> Any:
        """The cell's `BuiltWorkflow` for ``server`` (the one built ahead, if it was)."""
        ahead = self._ahead.pop((server.url, cell.id), None)
        return await (ahead if ahead is not None else self._prepare(server, cell))

    def ahead(self, server: Server, cell: Cell) -> None:
        """Start building ``cell`` for ``server`` (its errors come out of `built`)."""
        if (server.url, cell.id) in self._ahead:
            return
        task = asyncio.ensure_future(self._prepare(server, cell))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())   # seen when used
        self._ahead[(server.url, cell.id)] = task

    def cancel(self) -> None:
        """Drop what was built ahead and never used."""
        for task in self._ahead.values():
            task.cancel()
        self._ahead.clear()

    async def _prepare(self, server: Server, cell: Cell) -> Any:
        images = (await asyncio.to_thread(load_inputs, cell.spec, self.base_dir,
                                          cache=self._inputs)).images
        names = {}
        if images:
            key = (server.url, *sorted((role, i.sha256) for role, i in images.items()))
            task = self._uploads.get(key)
            if task is None:   # uploaded once per server, however many cells use it
                task = asyncio.ensure_future(self.service.upload(server.client, images))
                self._uploads[key] = task
            try:
                names = await asyncio.shield(task)
            except Exception:
                self._uploads.pop(key, None)
                raise
        return await self.service.prepare(server.client, cell.spec, seed=cell.seed,
                                          workflow=self.workflow, images=images, names=names)
