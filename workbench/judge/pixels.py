"""Checks that need no model, on the decoded pixels (Pillow only, no numpy).

- **sharpness**: variance of the Laplacian of a grey copy at most `WORK_SIDE` pixels on
  its long side (downscaling first makes the figure comparable across image sizes; it is
  the usual focus measure: a blurred picture has weak second derivatives everywhere);
- **clipping**: the share of pixels at the extremes of the grey histogram (blown-out
  highlights at ``>= 253``, crushed shadows at ``<= 2``);
- **fingerprint**: a block-mean perceptual hash, for "no visible change": the grey
  picture as 32x32 block averages plus an 8x8 colour thumbnail.  The distance between two
  fingerprints is the largest block difference (0-255), so a change confined to one
  region (a sign's lettering, a swapped hand) counts as much as a global one, while
  re-encoding, resizing and sensor-like noise move block averages by a level or two.  Two
  pictures are the same picture when their distance is at most `SAME_DISTANCE`.

Why not the ``imagehash`` library: it needs numpy and scipy (tens of MB) for what is a
resize and a comparison here.  And why not its dHash/pHash bits: they flip at random in
the flat and smooth areas generated pictures are full of (a re-encoded copy of a flat red
picture differed in 5 % of dHash bits in our tests, as much as a real change), and a
Hamming distance spreads a local change thin; block averages compared by their largest
difference have neither problem.

Images are opened defensively (size limits before decoding, decompression bombs refused,
EXIF orientation applied, alpha flattened onto white), once: the same decoded picture
serves the checks and, on a cache miss, the copy sent to the vision model.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

from ..textsafe import one_line
from ..untrusted import FileTooLarge, NotRegularFile, read_regular

MAX_FILE_BYTES = 80 * 1024 * 1024
MAX_PIXELS = 64_000_000
#: Long side of the grey copy the sharpness is measured on.
WORK_SIDE = 512
#: Below this Laplacian variance (on the WORK_SIDE copy) a picture counts as soft.  A rough,
#: deliberately low line (a 1 px Gaussian blur of a textured picture lands near it; flat,
#: clean pictures can be sharp and still score little): compare the variants of one run
#: rather than trusting the absolute figure.
SHARPNESS_LOW = 100.0
SHADOW_MAX, HIGHLIGHT_MIN = 2, 253
#: Share of clipped pixels (either end) above which a picture is flagged.
CLIPPED_SHARE = 0.05
GREY_BLOCKS, COLOUR_BLOCKS = 32, 8
#: Largest block difference (0-255) two pictures may have and still be "the same picture".
SAME_DISTANCE = 10
#: Long side of the copy sent to the vision model.
MODEL_MAX_SIDE = 1024

_BOX3 = ImageFilter.BoxBlur(1)


class ImageProblem(ValueError):
    """A result image that can't be checked; the message names the file and the problem."""


@dataclass
class LoadedImage:
    path: Path
    sha256: str             # of the file
    image: Image.Image      # RGB, orientation applied

    @property
    def picture_sha256(self) -> str:
        """Of the picture alone: every cell's PNG carries its own spec and workflow, so the
        same picture (same prompt and seed, another name) differs as a file but not here."""
        digest = hashlib.sha256(f"{self.image.width}x{self.image.height}:".encode())
        digest.update(self.image.tobytes())
        return digest.hexdigest()


@dataclass
class PixelMetrics:
    width: int
    height: int
    sharpness: float
    clipped_highlights: float
    clipped_shadows: float
    fingerprint: str         # hex: 32x32 grey block means, then 8x8 RGB block means

    @property
    def sharpness_low(self) -> bool:
        return self.sharpness < SHARPNESS_LOW

    @property
    def clipped(self) -> bool:
        return max(self.clipped_highlights, self.clipped_shadows) > CLIPPED_SHARE

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(sharpness=round(self.sharpness, 2),
                   clipped_highlights=round(self.clipped_highlights, 4),
                   clipped_shadows=round(self.clipped_shadows, 4),
                   sharpness_low=self.sharpness_low, clipped=self.clipped)
        return out


def load_image(path: Path) -> LoadedImage:
    """Read and decode a result image; raises `ImageProblem` saying what is wrong."""
    path = Path(path)
    name = one_line(str(path))
    try:  # a regular file only (a FIFO or a device named like a result would block)
        data = read_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise ImageProblem(f"{name}: the image is missing") from None
    except FileTooLarge as exc:
        raise ImageProblem(f"{name}: {exc.strerror} to check") from None
    except NotRegularFile as exc:
        raise ImageProblem(f"{name}: {exc.strerror}") from None
    except OSError as exc:
        raise ImageProblem(f"{name}: cannot read: {one_line(exc.strerror or str(exc))}") \
            from None
    return decode_image(data, path)


def decode_image(data: bytes, path: Path | str = "image") -> LoadedImage:
    path = Path(path)
    name = one_line(str(path))
    if not data:
        raise ImageProblem(f"{name}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ImageProblem(f"{name}: {image.width}x{image.height} is too many pixels "
                                   "to check")
            image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode != "RGB":
            if image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", image.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                image = flat
            else:
                image = image.convert("RGB")
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem(f"{name}: too many pixels to check (refused as a possible "
                           "decompression bomb)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageProblem(f"{name}: not an image that can be read "
                           f"({one_line(str(exc)) or type(exc).__name__})") from None
    return LoadedImage(path, hashlib.sha256(data).hexdigest(), image)


def measure(image: Image.Image) -> PixelMetrics:
    """Sharpness, clipping and fingerprint of an RGB picture."""
    grey = image.convert("L")
    width, height = grey.size
    histogram = grey.histogram()
    total = max(1, width * height)
    shadows = sum(histogram[:SHADOW_MAX + 1]) / total
    highlights = sum(histogram[HIGHLIGHT_MIN:]) / total
    factor = max(1, -(-max(width, height) // WORK_SIDE))
    work = grey.reduce(factor) if factor > 1 else grey
    return PixelMetrics(width, height, laplacian_variance(work), highlights, shadows,
                        fingerprint(work, image))


def laplacian_variance(grey: Image.Image) -> float:
    """Variance of the 8-neighbour Laplacian of a grey picture (the border left out).

    The picture minus its 3x3 box blur is exactly -1/9 of that Laplacian, and both are
    fast in Pillow (a generic 3x3 `ImageFilter.Kernel` is several times slower); Pillow
    clamps to 0-255, so the positive and negative halves are taken separately and
    recombined from their sums and sums of squares."""
    if grey.width < 3 or grey.height < 3:
        return 0.0
    inner = (1, 1, grey.width - 1, grey.height - 1)
    sharp, blurred = grey.crop(inner), grey.filter(_BOX3).crop(inner)
    pos = ImageStat.Stat(ImageChops.subtract(sharp, blurred))
    neg = ImageStat.Stat(ImageChops.subtract(blurred, sharp))
    count = pos.count[0]
    mean = (pos.sum[0] - neg.sum[0]) / count
    return 81.0 * max(0.0, (pos.sum2[0] + neg.sum2[0]) / count - mean * mean)


def fingerprint(grey: Image.Image, image: Image.Image) -> str:
    """Block means of the grey picture and of the colour one, as hex (`picture_distance`
    compares them)."""
    blocks = grey.resize((GREY_BLOCKS, GREY_BLOCKS), Image.Resampling.BOX).tobytes()
    step = max(1, min(image.size) // (COLOUR_BLOCKS * 8))
    small = image.reduce(step) if step > 1 else image
    colour = small.resize((COLOUR_BLOCKS, COLOUR_BLOCKS), Image.Resampling.BOX).tobytes()
    return (blocks + colour).hex()


def picture_distance(a: str, b: str) -> int:
    """The largest block difference between two fingerprints (255 when they can't be
    compared: different kinds, or not fingerprints at all)."""
    try:
        x, y = bytes.fromhex(a), bytes.fromhex(b)
    except ValueError:
        return 255
    if len(x) != len(y) or not x:
        return 255
    return max(abs(p - q) for p, q in zip(x, y))


def same_picture(a: PixelMetrics, b: PixelMetrics) -> bool:
    """Whether two results show no visible change (see the module docstring)."""
    return picture_distance(a.fingerprint, b.fingerprint) <= SAME_DISTANCE


def for_model(image: Image.Image, max_side: int = MODEL_MAX_SIDE) -> str:
    """The picture as base64 JPEG, at most ``max_side`` on its long side."""
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, format="JPEG", quality=90)
    return base64.b64encode(out.getvalue()).decode("ascii")
