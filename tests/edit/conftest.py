"""The ComfyUI fixtures (the fake on a real port, a connected client, the threaded fake for
CLI verbs) shared with tests/comfy, plus source images made with Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.comfy.conftest import client, fake, object_info, threaded_fake  # noqa: F401
from workbench.runs.uploads import UploadCache


def make_image(path: Path, size=(40, 24), *, fmt: str = "PNG", color=(200, 40, 40),
               orientation: int | None = None) -> Path:
    """A picture with a marked top-left corner (so a rotation shows), saved as ``fmt``."""
    image = Image.new("RGB", size, color)
    image.paste((0, 255, 0), (0, 0, min(8, size[0]), min(8, size[1])))
    kwargs = {}
    if orientation is not None:
        exif = image.getexif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def cache(tmp_path):
    return UploadCache(tmp_path / "uploads.json")


def uploads(server) -> list[str]:
    """The paths of the upload requests the fake received."""
    return [h["path"] for h in server.request_headers if h["path"].endswith("/upload/image")]
