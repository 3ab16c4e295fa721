"""A run's contact sheet, drawn while the run goes on and written as it closes.

Each cell's first image is drawn on the sheet (`images.sheet_canvas.SheetCanvas`) from
the bytes the runner just downloaded, in a thread, while the GPU works on the next
prompt; its row is encoded once complete.  When the run closes, only what is left is
done: an earlier session's cells read from their files, the last row encoded, the file
written.  A cell whose record then failed (or whose picture could not be drawn from
memory) is set right and the sheet written again.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from . import history
from .plan import RunPlan

CONTACT_SHEET = "contact-sheet.png"
MAX_DRAWN = 144   # pictures drawn from the downloads (the rest from their files)


class RunSheet:
    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.path: Path | None = None
        self._drawn: dict[str, asyncio.Future] = {}   # cell id -> its picture drawn on
        self._canvas: Any = None                       # made with the first picture
        self._lock = threading.Lock()

    def add(self, cell_id: str, data: bytes) -> None:
        """Draw a cell's image (its bytes) on the sheet, in a thread."""
        if len(self._drawn) < MAX_DRAWN:
            self._drawn[cell_id] = asyncio.ensure_future(
                asyncio.to_thread(self._draw, cell_id, data))

    def drop(self, cell_id: str) -> None:
        """The cell's record failed: its picture is taken off when the sheet is written."""
        self._drawn.pop(cell_id, None)

    async def write(self, run: history.Run, *, final: bool = False) -> None:
        """Write the sheet (none when no cell is done).  ``final``: every record has
        settled, so a picture whose record failed goes and one that could not be drawn
        from memory is read from its file."""
        await asyncio.gather(*self._drawn.values(), return_exceptions=True)
        images = history.first_images(run)
        drawn = {cid for cid, task in self._drawn.items()
                 if not task.cancelled() and task.exception() is None}
        if not drawn and not any(images.values()):   # a sheet of empty frames says nothing
            return
        path = run.folder / CONTACT_SHEET
        await asyncio.to_thread(self._write, images, drawn, final, path)
        self.path = path

    async def close(self, run: history.Run) -> None:
        """After every record settled: write again if the sheet shows other cells than
        the manifest holds as done; then let the picture's memory go."""
        if self._canvas is not None:
            recorded = {cid for cid, image in history.first_images(run).items() if image}
            if recorded != self._canvas.shown:
                await self.write(run, final=True)
        self._canvas = None

    def _sheet_canvas(self):
        with self._lock:   # made at first use, from any thread
            if self._canvas is None:
                from ..images.sheet_canvas import SheetCanvas

                self._canvas = SheetCanvas(self.plan)
            return self._canvas

    def _draw(self, cell_id: str, data: bytes) -> None:
        from ..images.contact_sheet import sheet_tile

        canvas = self._sheet_canvas()
        canvas.put(cell_id, sheet_tile(data))
        canvas.encode(complete_only=True)

    def _write(self, images: dict, drawn: set[str], final: bool, path: Path) -> None:
        canvas = self._sheet_canvas()
        for cid, image in images.items():
            if cid in drawn and (cid in canvas.shown or not final):
                continue   # drawn from memory (its record may still be on its way)
            if image is not None and cid not in canvas.shown:
                canvas.put(cid, image)
            elif image is None and cid in canvas.shown:
                canvas.put(cid, None)
        write_atomic(path, canvas.png())
