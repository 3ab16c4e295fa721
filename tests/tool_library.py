"""The bundled FLUX tools library (prompts/tools.toml and its images) copied for a test,
and small images made to measure for the checks around it."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image, ImageDraw

from workbench.locations import bundled_prompts_dir

#: prompt name -> (tool, the size its image must come out at on the fake)
EXPECTED = {
    "Tulips in place of the vase": ("fill", (768, 512)),
    "Room, wider": ("outpaint", (1024, 512)),
    "Room as a watercolour": ("canny", (768, 512)),
    "Room in a log cabin": ("depth", (768, 512)),
    "Harbour in sunset colours": ("redux", (1024, 768)),
}


def copy_tools_library(folder: Path) -> Path:
    """prompts/tools.toml and tools-images/ in ``folder``; returns the library's path."""
    bundled = bundled_prompts_dir()
    shutil.copy(bundled / "tools.toml", folder / "tools.toml")
    shutil.copytree(bundled / "tools-images", folder / "tools-images")
    return folder / "tools.toml"


def png(size: tuple[int, int], colour=(120, 90, 60), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def mask_png(size: tuple[int, int], box: tuple[int, int, int, int] | None = None,
             mode: str = "L") -> bytes:
    """Black with a white ``box`` (default: the middle third)."""
    width, height = size
    box = box or (width // 3, height // 3, 2 * width // 3, 2 * height // 3)
    image = Image.new(mode, size, 0)
    ImageDraw.Draw(image).rectangle(box, fill=255 if mode == "L" else (255,) * len(mode))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
