"""Decoding an image small: the checked open, sizes that fit a box, and the two kinds of
thumbnail made from the file itself, a pane's size and the *base* (at most `BASE` pixels
a side) that the thumbnail cache makes every half-block pane from.

Decoding is the cost of a preview: a photo-like 1024x1024 PNG saved as ComfyUI saves it
takes about 30 ms of CPU, by instruction count a little over half of it Pillow's
unfiltering (mostly Paeth rows), two fifths inflating (Pillow's Linux wheels inflate with
the system's zlib, not the zlib-ng they were built against) and the rest unpacking; PNG
has no reduced-size decode.  So it happens once per image, and what follows is cheap
(about 2 ms): JPEG is decoded at 1/2 to 1/8 scale (``draft``), a whole-number factor is
taken off with ``reduce`` (a box average), the rest with Lanczos.  Pillow is imported on
first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .halfblocks import flatten

if TYPE_CHECKING:
    from PIL import Image

#: The longest side of a base thumbnail: a half-block pane of up to 256 columns and 128
#: rows is made from it.
BASE = 256


class PreviewError(Exception):
    """An image that can't be previewed (missing, unreadable, too large), in words."""


# -- sizes ----------------------------------------------------------------------------------------

def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled (up or down) to fit ``box``, keeping the aspect ratio; at least 1x1."""
    w, h = size
    bw, bh = box
    if w <= 0 or h <= 0 or bw <= 0 or bh <= 0:
        return (max(1, bw), max(1, bh))
    scale = min(bw / w, bh / h)
    return (max(1, min(bw, round(w * scale))), max(1, min(bh, round(h * scale))))


def open_checked(path: Path) -> Image.Image:
    """``path`` opened with Pillow after the size caps (file bytes, then pixels) pass."""
    from PIL import Image

    from ..untrusted import is_regular_file
    from .pngmeta import MAX_FILE_BYTES, MAX_PIXELS

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PreviewError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB")
        if not is_regular_file(path):  # a FIFO or a device would block Pillow forever
            raise PreviewError(f"{path}: not a regular file")
        im = Image.open(path)
    except PreviewError:
        raise
    except FileNotFoundError:
        raise PreviewError(f"{path}: no such file") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PreviewError(f"{path}: not a readable image: {exc}") from None
    if im.width * im.height > MAX_PIXELS:
        im.close()
        raise PreviewError(f"{path}: {im.width}x{im.height} is too many pixels to preview")
    return im


def make_thumbnail(path: Path, box: tuple[int, int]) -> Image.Image:
    """``path`` as an RGB image of exactly `fit` (image size, ``box``): reduced cheaply
    first (JPEG ``draft``, integer ``reduce``), then filtered; small images are enlarged
    with nearest-neighbour so pixels stay crisp."""
    with open_checked(Path(path)) as im:
        target = fit(im.size, box)
        try:
            return shrink(im, target)
        except (OSError, ValueError, SyntaxError) as exc:
            raise PreviewError(f"{path}: not a readable image: {exc}") from None


def base_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size of an image's base thumbnail: the image fitted into `BASE` (never
    enlarged)."""
    return size if max(size) <= BASE else fit(size, (BASE, BASE))


def make_base(path: Path) -> Image.Image:
    """``path``'s base thumbnail (`base_size`), the one image every half-block preview
    of it is made from."""
    with open_checked(Path(path)) as im:
        try:
            return shrink(im, base_size(im.size))
        except (OSError, ValueError, SyntaxError) as exc:
            raise PreviewError(f"{path}: not a readable image: {exc}") from None


def shrink(im: Image.Image, target: tuple[int, int]) -> Image.Image:
    """An opened image decoded and resized to ``target``, as a new RGB image: JPEG is
    decoded at 1/2 to 1/8 scale (``draft``); a whole-number factor is taken off with
    ``reduce`` (a box average, far cheaper than a filter over a megapixel), the rest with
    Lanczos; small images are enlarged with nearest-neighbour so pixels stay crisp."""
    from PIL import Image

    im.draft("RGB", target)  # JPEG: decode at 1/2, 1/4, 1/8 scale; others: no-op
    im.load()
    work = im
    factor = min(im.width // max(1, target[0]), im.height // max(1, target[1]))
    if factor >= 2 and (im.width == target[0] * factor and im.height == target[1] * factor):
        work = im.reduce(factor)       # an exact multiple (1024 -> 256): the box is enough
    elif factor >= 4:
        work = im.reduce(factor // 2)  # then Lanczos over at least twice the target
    work = flatten(work)
    if work.size[0] > target[0] or work.size[1] > target[1]:
        work = work.resize(target, Image.Resampling.LANCZOS)
    elif work.size != target:
        work = work.resize(target, Image.Resampling.NEAREST)
    return work.copy() if work is im else work  # closing the file would drop its pixels


def from_base(base: Image.Image, box: tuple[int, int]) -> Image.Image | None:
    """The thumbnail for ``box`` made from a base thumbnail, or None when the box wants
    more pixels than the base has (a large pane, true-pixel graphics): then the image
    itself is decoded."""
    from PIL import Image

    target = fit(base.size, box)
    if target == base.size:
        return base
    if target[0] <= base.width and target[1] <= base.height:
        return base.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if max(base.size) < BASE:  # the base is the whole image: enlarge it, crisply
        return base.resize(target, Image.Resampling.NEAREST)
    return None
