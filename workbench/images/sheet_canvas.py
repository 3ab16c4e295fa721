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
    are exactly what `plan_sheet` draws from the same pictures."""

    def __init__(self, plan, *, cell_size: int = 256, level: int = 6) -> None:
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
        self._lock = threading.Lock()            # is never kept
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

    def encode(self, hold: str | None = None) -> None:
        """Encode every band that changed (a runner calls this while the GPU works), but
        the one ``hold`` (a cell id) is in while that row still waits for pictures: more
        are likely to land there first, so each row is encoded about once."""
        held = self._where[hold][0] if hold in self._where else None
        for index, (top, bottom) in enumerate(self._bands):
            with self._lock:
                if index in self._encoded or (index == held and not all(
                        cid in self.shown for cid in self.grid.cells[index])):
                    continue
                band = self.image.crop((0, top, self.image.width, bottom))
                version = self._versions[index]
            encoded = deflate_band(band, self.level)
            with self._lock:
                if self._versions[index] == version:
                    self._encoded[index] = encoded

    def png(self) -> bytes:
        while True:
            self.encode()
            with self._lock:
                if len(self._encoded) == len(self._bands):   # else changed meanwhile
                    return assemble_png(self.image.size,
                                        [self._encoded[i] for i in range(len(self._bands))])
