"""The FLUX.1 tools' images, checked before anything is sent: masks, padding, sizes.

A Fill mask must fit the picture it masks: BFL's reference code wants one of the same
size holding only black and white ("white = repaint").  `check_mask` reads it like any
source (`source.check_source`: content-sniffed, EXIF-rotated, bombs refused), turns it
into one grey channel (transparency counts as black, colour as its brightness), resizes
one of the same shape to the source's size with a note (a different shape is refused:
stretching would move the masked area), and refuses a mask with nothing to repaint or
nothing kept.  The bytes uploaded are that grey PNG, so what ComfyUI's LoadImageMask
reads (its red channel) is exactly the mask the user sees.

`plan_tool_size` sizes a Fill source or a control image (multiples of 16, and about
1 MP when it is larger than FLUX works well at); `plan_outpaint` snaps the padding to
multiples of 16 and keeps the result within what FLUX can make.  `control_notes` flags a
control image that does not look like what its control expects.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageOps

from ..presets import STANDARD_PIXELS, snap16
from ..spec import Outpaint
from ..textsafe import one_line
from .source import SourceImage, SourceImageError, load_source

#: A repainted or generated picture larger than this is scaled to about 1 MP (a note says
#: so): FLUX.1 is trained around 1 MP and works well up to about 2 MP.
TOOL_MAX_PIXELS = int(2.1 * 1024 * 1024)
#: An outpainted result may not exceed this per side.
TOOL_MAX_SIDE = 2048
#: Mask pixels at least this bright are repainted (LoadImageMask reads 0-1; FLUX Fill
#: treats the mask as binary, DifferentialDiffusion uses the grey in between).
WHITE = 128
_SHAPE_TOLERANCE = 0.01


class ToolImageError(SourceImageError):
    """A mask, control image or reference that cannot be used (says which, and why)."""

    def __init__(self, what: str, path: Path | str, problem: str) -> None:
        super().__init__(path, problem)
        self.what = what
        self.args = (f"{what} {one_line(str(path))}: {problem}",)

    def __str__(self) -> str:
        return self.args[0]


def load_tool_image(what: str, path: Path | str) -> SourceImage:
    """`source.load_source`, its errors naming ``what`` the image is for."""
    try:
        return load_source(path)
    except ToolImageError:
        raise
    except SourceImageError as exc:
        raise ToolImageError(what, exc.path, exc.problem) from None


def MaskError(path: Path | str, problem: str) -> ToolImageError:  # noqa: N802
    return ToolImageError("mask", path, problem)


@dataclass(frozen=True)
class CheckedMask:
    """The mask to upload (one grey channel, the source's size) and what was done to it."""

    image: SourceImage
    repainted: float               # share of the picture at least half white
    notes: list[str] = field(default_factory=list)


def load_mask(path: Path | str, source_size: tuple[int, int]) -> CheckedMask:
    """Read and check a mask file for a source of ``source_size``; raises a
    `ToolImageError` saying what is wrong."""
    return check_mask(load_tool_image("mask", path), source_size)


def check_mask(checked: SourceImage, source_size: tuple[int, int]) -> CheckedMask:
    """`load_mask` for an already checked image."""
    path, notes = checked.path, []
    with Image.open(io.BytesIO(checked.data)) as opened:
        opened.load()
        grey = _grey(opened, notes)
    if grey.size != tuple(source_size):
        grey = _fit(grey, source_size, path, notes)
    repainted = _coverage(grey, path)
    buffer = io.BytesIO()
    grey.save(buffer, "PNG", compress_level=1)
    data = buffer.getvalue()
    # oriented=True: the bytes are a PNG whatever the file was (`SourceImage.suffix`)
    image = SourceImage(path, data, hashlib.sha256(data).hexdigest(), grey.width, grey.height,
                        checked.format, True)
    return CheckedMask(image, repainted, notes)


def _grey(image: Image.Image, notes: list[str]) -> Image.Image:
    """One channel, 0-255: transparent pixels black, colours by their brightness."""
    if image.mode in ("L", "1", "I", "I;16", "F"):
        return image.convert("L") if image.mode != "L" else image.copy()
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] < 255:
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        rgba = Image.alpha_composite(black, rgba)
        notes.append("the mask's transparent parts count as black (kept)")
    rgb = rgba.convert("RGB")
    red, green, blue = rgb.split()
    if ImageChops.difference(red, green).getbbox() or ImageChops.difference(red, blue).getbbox():
        notes.append("the mask has colours; only their brightness counts (white = repaint)")
    return rgb.convert("L")


def _fit(grey: Image.Image, size: tuple[int, int], path: Path, notes: list[str]) -> Image.Image:
    width, height = size
    if abs(grey.width / grey.height - width / height) > _SHAPE_TOLERANCE * width / height:
        raise MaskError(path, f"is {grey.width}x{grey.height} but the source is {width}x"
                        f"{height}, a different shape; make the mask from the source image "
                        "(same size, white where it should be repainted)")
    notes.append(f"the mask is {grey.width}x{grey.height}, the source {width}x{height}: the "
                 "mask was resized to fit")
    return grey.resize((width, height), Image.BILINEAR)


def _coverage(grey: Image.Image, path: Path) -> float:
    histogram = grey.histogram()
    total = grey.width * grey.height
    repainted = sum(histogram[WHITE:]) / total
    if repainted == 0:
        raise MaskError(path, "is empty: nothing in it is white, so nothing would be "
                        "repainted (paint the area to change in white on black)")
    if grey.getextrema()[0] >= 250:
        raise MaskError(path, "is all white: the whole picture would be repainted; leave "
                        "black what should stay (or drop the mask for text-to-image)")
    return repainted


@dataclass
class ToolSize:
    """The size a Fill source or control image enters the graph at, and why."""

    width: int
    height: int
    notes: list[str] = field(default_factory=list)


def plan_tool_size(size: tuple[int, int], requested: tuple[int | None, int | None]
                   = (None, None), *, what: str = "source", fit_1mp: bool = False) -> ToolSize:
    """The image decides the output size: snapped to 16, scaled to about 1 MP when asked
    or when it is larger than FLUX works well at; a requested size that differs is noted."""
    width, height = size
    big = width * height > TOOL_MAX_PIXELS
    if fit_1mp or big:
        scale = math.sqrt(STANDARD_PIXELS / (width * height))
        planned = ToolSize(snap16(width * scale), snap16(height * scale))
    else:
        planned = ToolSize(snap16(width), snap16(height))
    if (planned.width, planned.height) != tuple(size):
        how = ("scaled to about 1 MP: FLUX works well up to about 2 MP" if big and not fit_1mp
               else "scaled to about 1 MP" if fit_1mp else "snapped to multiples of 16")
        planned.notes.append(f"the {what} is {width}x{height}; the output is {planned.width}x"
                             f"{planned.height} ({how})")
    asked_w, asked_h = requested
    if (asked_w is not None and asked_w != planned.width) or \
            (asked_h is not None and asked_h != planned.height):
        shown = "x".join("?" if v is None else str(v) for v in (asked_w, asked_h))
        planned.notes.append(f"requested size {shown} was not applied: the {what} decides the "
                             f"size ({planned.width}x{planned.height}); resize the {what} to "
                             "change it")
    return planned


@dataclass
class OutpaintPlan:
    """Padding per side (multiples of 16) and the size of the result."""

    left: int
    top: int
    right: int
    bottom: int
    width: int
    height: int
    notes: list[str] = field(default_factory=list)


class OutpaintError(ValueError):
    pass


def _snap_side(amount: int) -> int:
    return 0 if amount <= 0 else snap16(amount)


def plan_outpaint(size: tuple[int, int], outpaint: Outpaint) -> OutpaintPlan:
    """The padding snapped to multiples of 16 and the result's size; `OutpaintError` when
    the result would be outside what FLUX can make."""
    sides = [_snap_side(a) for a in outpaint.sides]
    width, height = size[0] + sides[0] + sides[2], size[1] + sides[1] + sides[3]
    plan = OutpaintPlan(*sides, width, height)
    if tuple(sides) != outpaint.sides:
        shown = ", ".join(f"{n} {a}" for n, a in zip(("left", "top", "right", "bottom"), sides)
                          if a)
        plan.notes.append(f"outpaint padding snapped to multiples of 16: {shown}")
    if max(width, height) > TOOL_MAX_SIDE or width * height > TOOL_MAX_SIDE ** 2:
        raise OutpaintError(f"outpainting {size[0]}x{size[1]} by that padding makes {width}x"
                            f"{height}, more than FLUX can make ({TOOL_MAX_SIDE} pixels a side); "
                            "pad less, or start from a smaller picture (--megapixel)")
    if width * height > TOOL_MAX_PIXELS:
        plan.notes.append(f"the outpainted picture is {width}x{height} "
                          f"({width * height / 2**20:.1f} MP); past about 2 MP FLUX's results "
                          "get worse")
    return plan


def control_notes(image: SourceImage, control: str) -> list[str]:
    """What looks wrong with a control image for ``control`` (cheap: a 64 px thumbnail)."""
    with Image.open(io.BytesIO(image.data)) as opened:
        small = ImageOps.contain(opened.convert("RGB"), (64, 64))
    red, green, blue = (band.histogram() for band in small.split())
    pixels = small.width * small.height
    mean = [sum(i * n for i, n in enumerate(h)) / pixels for h in (red, green, blue)]
    grey = small.convert("L").histogram()
    dark = sum(grey[:32]) / pixels
    if control == "depth" and max(mean) - min(mean) > 12:
        return ["the depth control image has colour: FLUX Depth expects a depth map (grey, "
                "near = light, far = dark), e.g. made with Depth Anything"]
    if control == "canny" and dark > 0.85:
        return ["the canny control image looks like an edge map already: the workflow runs "
                "ComfyUI's Canny node on it, so give it the plain photo"]
    return []
