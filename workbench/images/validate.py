"""Is this data a safe image?  Checked before anything a server sent is written or shown.

The server is not trusted: every downloaded image is opened with Pillow's decompression-
bomb guard turned into an error, its pixel count checked from the header before anything
is decoded, and verified.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

from ..textsafe import one_line

#: More pixels than this is refused (8K x 8K; FLUX makes ~1-4 MP).
MAX_PIXELS = 64 * 1024 * 1024


class UnsafeImage(ValueError):
    """Not an image, a corrupt one, or one too large to open safely."""


def check_image(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[int, int, str]:
    """(width, height, format) of an image, or `UnsafeImage` if it is not one, is corrupt,
    or claims more than ``max_pixels`` (checked from the header, before decoding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                kind = image.format or "?"
                if width * height > max_pixels:
                    raise UnsafeImage(f"{width}x{height} pixels is more than the "
                                      f"{max_pixels}-pixel limit")
                image.verify()
    except UnsafeImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnsafeImage(f"decompression bomb refused: {one_line(str(exc))[:160]}") from exc
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise UnsafeImage(f"not a readable image: {one_line(str(exc))[:160]}") from exc
    return width, height, kind
