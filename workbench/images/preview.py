"""Images in the terminal: thumbnails (`thumbnails`, made by `shrink`) drawn as half-blocks
or true pixels, one pane or a grid of them.

Half-blocks (``▄`` with the upper pixel as background and the lower as foreground) work in
every colour terminal (`halfblocks`, in true colour or the nearest xterm-256 colours).
Where the terminal speaks a graphics protocol (kitty's, or sixel), textual-image draws
real pixels (`graphics`, the one module that talks to textual-image).  A grid's tiles are
made in the shared thread pool and land one by one (`submit_preview`).

Pillow and rich-pixels are imported on first use: importing this module costs nothing
before the TUI's first frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from .graphics import cell_pixels, true_pixel_renderable
from .halfblocks import (
    BACKGROUND,
    HalfBlocks,
    flatten,
    halfblock_renderable,
    halfblock_segments,
)
from .shrink import (
    BASE,
    PreviewError,
    base_size,
    fit,
    from_base,
    make_base,
    make_thumbnail,
    open_checked,
)
from .thumbnails import (
    ThumbnailCache,
    default_cache,
    in_pool,
    remember_images,
    thread_pool,
)

__all__ = ["BACKGROUND", "BASE", "HalfBlocks", "PreviewError", "ThumbnailCache", "base_size",
           "default_cache", "fit", "flatten", "from_base", "grid", "halfblock_box",
           "halfblock_renderable", "halfblock_segments", "make_base", "make_thumbnail",
           "open_checked", "placeholder", "preview", "remember_images", "submit_preview",
           "thread_pool"]

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text


# -- panes and grids -------------------------------------------------------------------------------

def halfblock_box(columns: int, rows: int) -> tuple[int, int]:
    """Pixels a pane of ``columns`` x ``rows`` cells shows in half-blocks (two per cell)."""
    return (max(1, columns), max(2, rows * 2))


def preview(path: Path | str, columns: int, rows: int, *, protocol: str = "halfblocks",
            cache: ThumbnailCache | None = None) -> RenderableType:
    """A renderable showing the image at ``path`` fitted into ``columns`` x ``rows`` cells
    (aspect ratio kept).  ``protocol`` is a `graphics.detect_protocol` answer."""
    cache = cache or default_cache()
    if protocol == "halfblocks":
        return cache.halfblocks(Path(path), halfblock_box(columns, rows))
    cw, ch = cell_pixels()
    image = cache.get(Path(path), (columns * cw, rows * ch))
    cols = max(1, min(columns, round(image.width / cw)))
    lines = max(1, min(rows, round(image.height / ch)))
    return true_pixel_renderable(image, cols, lines, protocol)


def submit_preview(path: Path | str, columns: int, rows: int, *,
                   protocol: str = "halfblocks",
                   cache: ThumbnailCache | None = None) -> Future[RenderableType]:
    """`preview` made in the shared thread pool: the future's result is the renderable
    (or its `PreviewError`).  A grid submits all its tiles and draws each as it lands
    (``add_done_callback``, ``asyncio.wrap_future``)."""
    cache = cache or default_cache()  # chosen here, not in the thread: a test's cache dir
    if in_pool():
        future: Future[RenderableType] = Future()
        try:
            future.set_result(preview(path, columns, rows, protocol=protocol, cache=cache))
        except Exception as exc:  # noqa: BLE001 - handed to whoever waits on it
            future.set_exception(exc)
        return future
    return thread_pool().submit(preview, path, columns, rows, protocol=protocol, cache=cache)


def placeholder(columns: int, rows: int, message: str) -> Text:
    """A blank pane of the same size with a short message (pending, failed, missing)."""
    from rich.text import Text

    lines = [" " * columns] * rows
    mid = rows // 2
    lines[mid] = message[:columns].center(columns)
    return Text("\n".join(lines), style="dim")


def grid(paths: Sequence[Path | str | None], columns: int, pane: tuple[int, int], *,
         labels: Sequence[str] | None = None, protocol: str = "halfblocks",
         cache: ThumbnailCache | None = None) -> RenderableType:
    """Several previews in a grid filling ``pane`` (columns x rows of cells), one label
    line under each (escaped text, never markup); ``None`` paths show a placeholder.
    The tiles are made in parallel in the shared pool."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    count = max(1, len(paths))
    grid_rows = -(-count // max(1, columns))
    tile_w = max(1, (pane[0] - (columns - 1)) // columns)
    tile_h = max(1, pane[1] // grid_rows - (1 if labels else 0))
    table = Table.grid(padding=(0, 1))
    for _ in range(columns):
        table.add_column(width=tile_w, no_wrap=True)
    pending = [None if path is None else
               submit_preview(path, tile_w, tile_h, protocol=protocol, cache=cache)
               for path in paths]
    tiles: list[RenderableType] = []
    for i, future in enumerate(pending):
        if future is None:
            body: RenderableType = placeholder(tile_w, tile_h, "…")
        else:
            try:
                body = future.result()
            except (PreviewError, OSError):
                body = placeholder(tile_w, tile_h, "unreadable")
        if labels:
            label = Text(labels[i] if i < len(labels) else "", no_wrap=True,
                         overflow="ellipsis")
            body = Group(body, label)
        tiles.append(body)
    for start in range(0, len(tiles), columns):
        row = tiles[start:start + columns]
        table.add_row(*row, *([""] * (columns - len(row))))
    return table
