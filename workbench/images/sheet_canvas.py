"""A plan's contact sheet filled in while its run goes on, so writing it costs little.

`contact_sheet.plan_sheet` draws a whole sheet at once; a runner that did that after the
last image would make the user wait for every picture to be drawn and the whole PNG to
be encoded (hundreds of ms for a sheet of photos).  `SheetCanvas` draws the labels and
empty frames once, each picture as its cell arrives, and encodes the PNG row by row
(`band_png`), so at the end only the last row's band is left to encode.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PIL import Image, ImageDraw

from .band_png import assemble_png, deflate_band
from .contact_sheet import CELL_BACKGROUND, paste_picture, plan_grid, render_sheet, sheet_font


class SheetCanvas:
    """A plan's contact sheet drawn once (labels, empty frames) and filled in as pictures
    arrive (`put`, from any thread); `png` encodes it band by band (`band_png`: one band
    per row of cells, each encoded again only once one of its pictures changed), so the
    sheet at the end of a run costs the last row's band, not the whole image.  The pixels
    are exactly what `plan_sheet` draws from the same pictures.  Deflate ``level`` 1 by
    default: the last row is encoded while the user waits for the run to end, and at 1 it
    takes about half as long as at 6 for a sheet of photos only ~5% bigger."""

    def __init__(self, plan, *, cell_size: int = 256, level: int = 1) -> None:
        grid = plan_grid(plan)
        self.grid = grid
        self.level = level
        self.image, self.layout = render_sheet(
            [[None] * len(row) for row in grid.cells], grid.row_labels, grid.column_labels,
            title=grid.title, notes=grid.notes, cell_size=cell_size)
        self._small = sheet_font(12)
        self._where = {cid: (r, c) for r, row in enumerate(grid.cells)
                       for c, cid in enumerate(row)}
        tops = [row[0][1] for row in self.layout.cells]
        self._bands = list(zip([0, *tops[1:]], [*tops[1:], self.image.height]))
        self._encoded: dict[int, tuple[bytes, int, int]] = {}
        self._versions = [0] * len(self._bands)   # a band's changes, so a stale encode
        self._busy: dict[int, int] = {}          # is never kept; band -> version at work
        self._lock = threading.Condition()
        self.shown: set[str] = set()   # the cells with a picture

    def put(self, cell_id: str, picture: Image.Image | Path | str | None) -> None:
        """Draw ``cell_id``'s picture (a `sheet_tile`, a file, or None: "missing")."""
        where = self._where.get(cell_id)
        if where is None:
            return
        r, c = where
        box = self.layout.cells[r][c]
        with self._lock:
            draw = ImageDraw.Draw(self.image)
            draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=CELL_BACKGROUND)
            self.layout.images[r][c] = paste_picture(self.image, draw, picture, box, self._small)
            (self.shown.add if self.layout.images[r][c] else self.shown.discard)(cell_id)
            self._encoded.pop(r, None)
            self._versions[r] += 1

    def encode(self, complete_only: bool = False) -> None:
        """Encode every band that changed, at once (zlib works outside the GIL);
        ``complete_only``: only the rows whose every cell has its picture (a runner calls
        it after each picture while the GPU works: a row still waiting for pictures
        would be encoded again, so each row is encoded about once)."""
        jobs = []
        with self._lock:
            for index, (top, bottom) in enumerate(self._bands):
                if index in self._encoded or self._busy.get(index) == self._versions[index] \
                        or (complete_only and not all(cid in self.shown
                                                      for cid in self.grid.cells[index])):
                    continue   # encoded, being encoded (by another thread), or waiting
                self._busy[index] = self._versions[index]
                jobs.append((index, self._versions[index],
                             self.image.crop((0, top, self.image.width, bottom))))
        if len(jobs) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(len(jobs), 4)) as pool:
                done = list(pool.map(lambda job: deflate_band(job[2], self.level), jobs))
        else:
            done = [deflate_band(job[2], self.level) for job in jobs]
        with self._lock:
            for (index, version, _), encoded in zip(jobs, done):
                if self._busy.get(index) == version:
                    del self._busy[index]
                if self._versions[index] == version:   # else it changed meanwhile
                    self._encoded[index] = encoded
            self._lock.notify_all()

    def png(self) -> bytes:
        while True:
            self.encode()
            with self._lock:
                while self._busy and len(self._encoded) < len(self._bands):
                    self._lock.wait()   # a band another thread is encoding
                if len(self._encoded) == len(self._bands):   # else changed meanwhile
                    return assemble_png(self.image.size,
                                        [self._encoded[i] for i in range(len(self._bands))])
