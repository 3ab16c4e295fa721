"""Contact sheets: a plan's images in one PNG, labelled like an X/Y plot.

Rows and columns carry the values that differ (variant, seed, axis values); each row's
header also prints the words that differ from the first variant, and a footer prints
every variant's full prompt, so the sheet explains itself when shared.  Drawing uses
Pillow's bundled font, so it needs no font files.  `SheetLayout` says where everything
went, for tests and for anything that maps a click back to a cell.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..compose import compose
from ..textsafe import one_line
from .preview import PreviewError, fit, flatten, open_checked

Box = tuple[int, int, int, int]   # left, top, right, bottom (right/bottom exclusive)

BACKGROUND = (255, 255, 255)
CELL_BACKGROUND = (232, 232, 232)
INK = (20, 20, 20)
MUTED = (110, 110, 110)


@dataclass
class SheetLayout:
    """Where things are on the sheet, in pixels."""

    size: tuple[int, int]
    cells: list[list[Box]]             # [row][column] -> the cell's box
    images: list[list[Box | None]]     # the image inside each cell (None: missing)
    title: Box | None
    column_headers: list[Box]
    row_headers: list[Box]
    footer: Box | None


@dataclass
class SheetGrid:
    """What goes where: cell ids by row and column, and their labels."""

    cells: list[list[str]]
    row_labels: list[str]
    column_labels: list[str]
    title: str = ""
    notes: list[str] = field(default_factory=list)


def sheet_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _line_height(font) -> int:
    left, top, right, bottom = font.getbbox("Hgy|")
    return bottom + 4


#: Labels are cut to this many characters before wrapping, each footer note to this many
#: lines and the footer to this many in all: a 100,000-character prompt must not make a
#: sheet 25,000 pixels tall (or take minutes to measure).
MAX_LABEL_CHARS = 800
MAX_NOTE_LINES = 4
MAX_FOOTER_LINES = 48


def label_text(label: object) -> str:
    """A label as one printable line, cut to `MAX_LABEL_CHARS` (with "…")."""
    text = one_line(str(label)[: MAX_LABEL_CHARS * 4])
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def wrap(text: str, font, width: int, max_lines: int | None = None) -> list[str]:
    """``text`` broken into lines no wider than ``width`` pixels (long words are cut)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while font.getlength(word) > width and len(word) > 1:
                low, high = 1, len(word)  # the longest prefix that fits (at least 1)
                while low < high:
                    mid = (low + high + 1) // 2
                    if font.getlength(word[:mid]) <= width:
                        low = mid
                    else:
                        high = mid - 1
                lines.append(word[:low])
                word = word[low:]
            line = word
        lines.append(line)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def word_changes(base: str, other: str) -> str:
    """The words ``other`` changes relative to ``base``: ``-old +new`` (empty if none)."""
    a, b = base.split(), other.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            out.append("-" + " ".join(a[i1:i2]))
        if op in ("replace", "insert"):
            out.append("+" + " ".join(b[j1:j2]))
    return " ".join(out)


@dataclass
class _Frame:
    """Where things go on a sheet: fonts, measures, and the wrapped label lines."""

    font: Any
    small: Any
    cell: int
    gap: int
    margin: int
    header_w: int
    caption_h: int = 0    # the line under each cell (scores), when there are captions
    width: int = 0
    top: int = 0          # the column headers' top
    grid_top: int = 0
    grid_left: int = 0
    col_lines: list = field(default_factory=list)
    row_lines: list = field(default_factory=list)
    note_lines: list = field(default_factory=list)

    @property
    def line_h(self) -> int:
        return _line_height(self.font)

    @property
    def small_h(self) -> int:
        return _line_height(self.small)

    @property
    def pitch(self) -> int:
        """From one row's top to the next one's."""
        return self.cell + self.caption_h + self.gap


def render_sheet(images: Sequence[Sequence[Image.Image | Path | str | None]],
                 row_labels: Sequence[str], column_labels: Sequence[str], *,
                 title: str = "", notes: Sequence[str] = (), cell_size: int = 256,
                 font_size: int = 14, row_header_width: int | None = None,
                 gap: int = 8, margin: int = 16,
                 captions: Sequence[Sequence[str]] | None = None
                 ) -> tuple[Image.Image, SheetLayout]:
    """Draw the grid ``images[row][column]`` (PIL images or paths; ``None`` for a missing
    image) with its labels, and ``captions[row][column]`` (a judge's scores) under each
    cell.  Text is escaped to one printable line per label first."""
    rows = len(images)
    columns = max((len(r) for r in images), default=0)
    if rows == 0 or columns == 0:
        raise ValueError("a contact sheet needs at least one image cell")
    frame = _frame(rows, columns, row_labels, column_labels, title, notes, cell_size,
                   font_size, row_header_width, gap, margin)
    if captions is not None:
        frame.caption_h = frame.small_h + 4
    footer_h = len(frame.note_lines) * frame.small_h + 8 if frame.note_lines else 0
    grid_h = rows * frame.pitch - gap
    height = frame.grid_top + grid_h + (gap + footer_h if footer_h else 0) + margin
    sheet = Image.new("RGB", (frame.width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    title_box = None
    if title:
        title_box = (margin, margin, frame.width - margin, frame.top)
        draw.text((margin, margin), wrap(label_text(title), frame.font,
                                         frame.width - 2 * margin, 1)[0],
                  fill=INK, font=frame.font)
    col_boxes = _draw_columns(draw, frame, columns)
    row_boxes, cell_boxes, image_boxes = _draw_rows(sheet, draw, frame, images, columns)
    if captions is not None:
        _draw_captions(draw, frame, captions, cell_boxes)
    footer_box = None
    if frame.note_lines:
        y0 = frame.grid_top + grid_h + gap
        footer_box = (margin, y0, frame.width - margin, y0 + footer_h)
        for i, line in enumerate(frame.note_lines):
            draw.text((margin, y0 + i * frame.small_h), line, fill=MUTED, font=frame.small)
    layout = SheetLayout((frame.width, height), cell_boxes, image_boxes, title_box, col_boxes,
                         row_boxes, footer_box)
    return sheet, layout


def _frame(rows: int, columns: int, row_labels, column_labels, title: str, notes,
           cell_size: int, font_size: int, row_header_width: int | None, gap: int,
           margin: int) -> _Frame:
    header_w = row_header_width if row_header_width is not None else max(
        120, min(320, cell_size))
    frame = _Frame(sheet_font(font_size), sheet_font(max(8, font_size - 2)), cell_size, gap, margin,
                   header_w)
    frame.width = margin * 2 + header_w + gap + columns * cell_size + (columns - 1) * gap
    frame.col_lines = [wrap(label_text(label), frame.font, cell_size, 3)
                       for label in column_labels]
    frame.row_lines = [wrap(label_text(label), frame.font, header_w - 4,
                            max(1, cell_size // frame.line_h)) for label in row_labels]
    note_lines = [line for note in notes for line in wrap(
        label_text(note), frame.small, frame.width - 2 * margin, MAX_NOTE_LINES)]
    if len(note_lines) > MAX_FOOTER_LINES:
        note_lines = note_lines[:MAX_FOOTER_LINES - 1] + [
            "… (every prompt in full is in the run's manifest)"]
    frame.note_lines = note_lines
    col_header_h = max((len(lines) for lines in frame.col_lines), default=1) \
        * frame.line_h + 4
    frame.top = margin + (frame.line_h + 8 if title else 0)
    frame.grid_top = frame.top + col_header_h + gap
    frame.grid_left = margin + header_w + gap
    return frame


def _draw_columns(draw: ImageDraw.ImageDraw, frame: _Frame, columns: int) -> list[Box]:
    boxes = []
    for c in range(columns):
        left = frame.grid_left + c * (frame.cell + frame.gap)
        boxes.append((left, frame.top, left + frame.cell, frame.grid_top - frame.gap))
        for i, line in enumerate(frame.col_lines[c] if c < len(frame.col_lines) else []):
            draw.text((left, frame.top + i * frame.line_h), line, fill=INK, font=frame.font)
    return boxes


def _draw_rows(sheet: Image.Image, draw: ImageDraw.ImageDraw, frame: _Frame, images,
               columns: int) -> tuple[list[Box], list[list[Box]], list[list[Box | None]]]:
    row_boxes, cell_boxes, image_boxes = [], [], []
    for r, row in enumerate(images):
        y = frame.grid_top + r * frame.pitch
        row_boxes.append((frame.margin, y, frame.margin + frame.header_w, y + frame.cell))
        for i, line in enumerate(frame.row_lines[r] if r < len(frame.row_lines) else []):
            draw.text((frame.margin, y + i * frame.line_h), line, fill=INK, font=frame.font)
        cell_row, image_row = [], []
        for c in range(columns):
            x = frame.grid_left + c * (frame.cell + frame.gap)
            box = (x, y, x + frame.cell, y + frame.cell)
            cell_row.append(box)
            draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=CELL_BACKGROUND)
            source = row[c] if c < len(row) else None
            image_row.append(paste_picture(sheet, draw, source, box, frame.small))
        cell_boxes.append(cell_row)
        image_boxes.append(image_row)
    return row_boxes, cell_boxes, image_boxes


def _draw_captions(draw: ImageDraw.ImageDraw, frame: _Frame, captions,
                   cell_boxes: list[list[Box]]) -> None:
    for row, boxes in zip(captions, cell_boxes):
        for text, box in zip(row, boxes):
            if text:
                line = wrap(label_text(text), frame.small, frame.cell, 1)[0]
                draw.text((box[0], box[3] + 2), line, fill=INK, font=frame.small)


def paste_picture(sheet: Image.Image, draw: ImageDraw.ImageDraw, source, box: Box,
                  font) -> Box | None:
    """Draw ``source`` (a picture, a file, or None) fitted and centred in ``box`` on a
    cell's background already drawn; "missing"/"unreadable" when there is none."""
    size = box[2] - box[0]
    image = None
    if isinstance(source, Image.Image):
        image = flatten(source)
    elif source is not None:
        try:
            with open_checked(Path(source)) as opened:
                opened.draft("RGB", (size, size))
                opened.load()
                image = flatten(opened)
                if image is opened:  # closing the file would drop its pixels
                    image = opened.copy()
        except PreviewError:
            image = None
    if image is None:
        text = "missing" if source is None else "unreadable"
        draw.text((box[0] + 6, box[1] + 6), text, fill=MUTED, font=font)
        return None
    image = _fitted(image, size)
    target = image.size
    left = box[0] + (size - target[0]) // 2
    top = box[1] + (size - target[1]) // 2
    sheet.paste(image, (left, top))
    return (left, top, left + target[0], top + target[1])


def _fitted(image: Image.Image, size: int) -> Image.Image:
    """``image`` scaled to fit a ``size`` square, as a sheet cell shows it."""
    target = fit(image.size, (size, size))
    if image.size == target:
        return image
    shrinking = target[0] < image.size[0]
    return image.resize(target, Image.Resampling.LANCZOS if shrinking
                        else Image.Resampling.NEAREST)


def sheet_tile(data: bytes, size: int = 256) -> Image.Image | None:
    """A sheet cell's picture made from image bytes already in memory (a runner has them
    when it records a cell, so the sheet at the end need not read and decode every file
    again); exactly what `render_sheet` would draw from the file.  None: unreadable."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (size, size))
            opened.load()
            image = flatten(opened)
            if image is opened:
                image = opened.copy()
    except Exception:  # noqa: BLE001 - the sheet then reads the file (and says why)
        return None
    return _fitted(image, size)


# -- plans ---------------------------------------------------------------------------------------

def _dim_label(plan, dim: int, index: int) -> str:
    if dim == 0:
        return plan.variants[index].label
    if dim == 1:
        return f"seed {plan.seeds[index]}"
    axis = plan.axes[dim - 2]
    return f"{axis.label} {axis.values[index]}"


def plan_grid(plan, row_dims: Sequence[int] | None = None) -> SheetGrid:
    """Lay a plan out as an X/Y plot: by default one row per variant (or, with a single
    variant, per value of the first coordinate that varies) and the other coordinates
    across.  Coordinates: 0 = variant, 1 = seed, 2.. = the plan's axes in order."""
    shape = plan.shape
    if row_dims is None:
        varying = [d for d, n in enumerate(shape) if n > 1]
        row_dims = [0] if shape[0] > 1 or not varying else [varying[0]]
    row_dims = list(row_dims)
    col_dims = [d for d in range(len(shape)) if d not in row_dims]
    rows, row_labels = [], []
    base_text = compose(plan.variants[0].spec)
    texts = [compose(v.spec) for v in plan.variants]
    column_keys = list(product(*(range(shape[d]) for d in col_dims)))
    column_labels = [" · ".join(_dim_label(plan, d, i) for d, i in zip(col_dims, key)
                                if shape[d] > 1 or d == 1) for key in column_keys]
    for row_key in product(*(range(shape[d]) for d in row_dims)):
        label = " · ".join(_dim_label(plan, d, i) for d, i in zip(row_dims, row_key))
        if 0 in row_dims and len(plan.variants) > 1:
            variant = row_key[row_dims.index(0)]
            changes = word_changes(base_text, texts[variant]) if variant else ""
            label = f"{label}: {changes}" if changes else label
        row_labels.append(label)
        row = []
        for col_key in column_keys:
            coords = [0] * len(shape)
            for d, i in zip(row_dims, row_key):
                coords[d] = i
            for d, i in zip(col_dims, col_key):
                coords[d] = i
            row.append(plan.cell_at(coords).id)
        rows.append(row)
    notes = [f"{v.label}: {text}" for v, text in zip(plan.variants, texts)]
    return SheetGrid(rows, row_labels, column_labels, title=plan.name, notes=notes)


def plan_sheet(plan, images: dict[str, Path | Image.Image | None], *,
               row_dims: Sequence[int] | None = None, cell_size: int = 256,
               captions: dict[str, str] | None = None
               ) -> tuple[Image.Image, SheetLayout, SheetGrid]:
    """The contact sheet of a plan, ``images`` mapping cell id -> its (first) image and
    ``captions`` cell id -> the line printed under it (a judge's scores)."""
    grid = plan_grid(plan, row_dims)
    cells = [[images.get(cid) for cid in row] for row in grid.cells]
    lines = None if captions is None else [[captions.get(cid, "") for cid in row]
                                           for row in grid.cells]
    sheet, layout = render_sheet(cells, grid.row_labels, grid.column_labels, title=grid.title,
                                 notes=grid.notes, cell_size=cell_size, captions=lines)
    return sheet, layout, grid


def save_sheet(sheet: Image.Image, path: Path) -> None:
    """Write the sheet as PNG atomically."""
    import io

    from ..atomic import write_atomic

    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=False, compress_level=6)
    write_atomic(Path(path), out.getvalue())

