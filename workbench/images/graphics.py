"""True-pixel terminal graphics (kitty's protocol, sixel): the one place textual-image is
used by the core.

textual-image is pinned (pyproject) and only its public modules are imported here:
``textual_image.renderable`` to learn which protocol the terminal speaks and to draw with
it.  The size of a terminal cell in pixels is asked of the terminal directly (TIOCGWINSZ),
so nothing depends on textual-image's private helpers.  (In a Textual app, its widgets in
``textual_image.widget`` take the same images.)
"""

from __future__ import annotations

import os
import struct
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the protocol check runs before the TUI starts: no Pillow for it
    from PIL import Image
    from rich.console import RenderableType

PROTOCOLS: tuple[str, ...] = ("auto", "halfblocks", "kitty", "sixel")
DEFAULT_CELL = (10, 20)   # what a VT340 cell measures; used when the terminal won't say

_detected: str | None = None


class GraphicsError(ValueError):
    """An unknown protocol setting or a protocol that draws no true pixels."""


def detect_protocol(setting: str = "auto", *, stream: Any = None) -> str:
    """``"halfblocks"``, ``"kitty"`` or ``"sixel"``.  A setting other than ``auto`` wins;
    ``auto`` gives half-blocks when output isn't a terminal, else asks textual-image (which
    queries the terminal with escape sequences: call this before Textual starts, it can't
    read the answer afterwards).  The answer is remembered for the process."""
    global _detected
    setting = (setting or "auto").strip().lower()
    if setting in ("halfblocks", "kitty", "sixel"):
        return setting
    if setting != "auto":
        raise GraphicsError(f"image_protocol {setting!r} is not one of {', '.join(PROTOCOLS)}")
    if not _is_tty(stream if stream is not None else sys.__stdout__):
        return "halfblocks"
    if _detected is None:
        try:
            from textual_image import renderable as ti
            from textual_image.renderable import sixel, tgp

            _detected = ("sixel" if ti.Image is sixel.Image else
                         "kitty" if ti.Image is tgp.Image else "halfblocks")
        except Exception:  # noqa: BLE001 - a terminal that answers oddly is just not graphic
            _detected = "halfblocks"
    return _detected


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream) and stream.isatty()
    except (AttributeError, ValueError):
        return False


def true_pixel_renderable(image: Image.Image, columns: int, rows: int,
                          protocol: str) -> RenderableType:
    """textual-image's renderable for ``protocol`` (``kitty`` or ``sixel``), drawing
    ``image`` in ``columns`` x ``rows`` cells."""
    if protocol == "kitty":
        from textual_image.renderable.tgp import Image as Renderable
    elif protocol == "sixel":
        from textual_image.renderable.sixel import Image as Renderable
    else:
        raise GraphicsError(f"{protocol!r} is not a true-pixel protocol")
    return Renderable(image, width=columns, height=rows)


def cell_pixels(stream: Any = None) -> tuple[int, int]:
    """Pixels per terminal cell: the terminal's window size in pixels over its rows and
    columns (TIOCGWINSZ), else ``TEXTUAL_CELL_WIDTH``/``HEIGHT``, else 10x20."""
    stream = stream if stream is not None else sys.__stdout__
    size = _winsize(stream) if _is_tty(stream) else None
    if size is not None:
        rows, columns, width, height = size
        if rows and columns and width and height:
            return (max(1, width // columns), max(1, height // rows))
    env = (os.environ.get("TEXTUAL_CELL_WIDTH", ""), os.environ.get("TEXTUAL_CELL_HEIGHT", ""))
    if all(value.isdigit() and int(value) > 0 for value in env):
        return (int(env[0]), int(env[1]))
    return DEFAULT_CELL


def _winsize(stream: Any) -> tuple[int, int, int, int] | None:
    try:
        import fcntl
        import termios

        packed = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        return struct.unpack("HHHH", packed)
    except (ImportError, OSError, ValueError, AttributeError):
        return None
