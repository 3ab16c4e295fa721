"""Source images for img2img and Kontext: checked before anything is sent, and sized.

The img2img audit (seed 002) found images going to ComfyUI unchecked and img2img runs
forced to a requested size.  Here a source is read once, by content (the file name's
suffix proves nothing): PNG, JPEG or WEBP only, not corrupt (Pillow ``verify`` then a full
``load``), at most 4096x4096, with decompression bombs refused from the header before any
decoding.  EXIF orientation is applied, so the server sees the picture the way the user
does; the bytes to upload and their sha256 come out of it (the upload cache keys on that).

`img2img_size` is the output size a source implies: its own size snapped to multiples of
16, or scaled to about 1 MP keeping the aspect; `plan_img2img_size` also flags a requested
size that differs instead of silently applying it.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from ..presets import STANDARD_PIXELS, snap16
from ..textsafe import one_line
from ..untrusted import FileTooLarge, NotRegularFile, read_regular

MAX_SIDE = 4096
#: Files larger than this are not even read (a 4096x4096 PNG is at most ~64 MB).
MAX_FILE_BYTES = 80 * 1024 * 1024
#: Header pixel counts above this are refused as decompression bombs, before decoding.
BOMB_PIXELS = MAX_SIDE * MAX_SIDE * 2
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
_EXIF_ORIENTATION = 0x0112


class SourceImageError(ValueError):
    """A source image that cannot be used; the message says which file and what is wrong."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"source image {one_line(str(path))}: {problem}")


@dataclass(frozen=True)
class SourceImage:
    """A checked source: the bytes to upload (EXIF orientation applied) and what they are."""

    path: Path
    data: bytes = field(repr=False)
    sha256: str
    width: int
    height: int
    format: str          # of the file as given: PNG, JPEG or WEBP
    oriented: bool       # EXIF orientation was applied (the bytes are then a PNG)

    @property
    def suffix(self) -> str:
        return ".png" if self.oriented else FORMATS[self.format]

    @property
    def upload_name(self) -> str:
        """The name to give the server: the file's stem with the suffix its content has."""
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.path.stem)
        return f"{stem.strip('.')[:80] or 'source'}{self.suffix}"

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def sniff_format(head: bytes) -> str | None:
    """The image format the first bytes announce (``None``: not one we know)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\0", b"MM\0*"):
        return "TIFF"
    if head[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1", b"ftypheix"):
        return "AVIF/HEIC"
    if head[:4] == b"%PDF":
        return "PDF"
    return None


def load_source(path: Path | str, *, max_side: int = MAX_SIDE) -> SourceImage:
    """Read and check ``path``; raises `SourceImageError` saying what is wrong."""
    path = Path(path).expanduser()
    try:
        # Never blocks: a FIFO, /dev/stdin or a device is refused before it is read.
        data = read_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise SourceImageError(path, "the file does not exist") from None
    except NotRegularFile as exc:
        raise SourceImageError(path, exc.strerror) from None
    except FileTooLarge as exc:
        raise SourceImageError(path, f"the file {exc.strerror}") from None
    except OSError as exc:
        raise SourceImageError(path, f"cannot be read: {one_line(exc.strerror or str(exc))}"
                               ) from exc
    return check_source(data, path, max_side=max_side)


def check_source(data: bytes, path: Path | str = "image", *,
                 max_side: int = MAX_SIDE) -> SourceImage:
    """`load_source` for bytes already in memory (``path`` names them in messages)."""
    path = Path(path)
    if not data:
        raise SourceImageError(path, "the file is empty")
    kind = sniff_format(data[:16])
    if kind not in FORMATS:
        what = f"a {kind} file" if kind else "not an image file"
        raise SourceImageError(path, f"is {what}; only PNG, JPEG and WEBP are accepted "
                               "(the format is read from the content, not the name)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                width, height = image.size
                _check_dimensions(path, width, height, max_side)
                image.verify()
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                image.load()
                orientation = _orientation(image)
                oriented = orientation not in (None, 1)
                if oriented:
                    upright = ImageOps.exif_transpose(image)
                    buffer = io.BytesIO()
                    upright.save(buffer, "PNG", compress_level=1)  # speed over size
                    data = buffer.getvalue()
                    width, height = upright.size
    except SourceImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise SourceImageError(path, "refused as a decompression bomb (its header claims far "
                               f"more pixels than it could hold): {one_line(str(exc))[:120]}"
                               ) from exc
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise SourceImageError(path, f"is a damaged or truncated {kind} file: "
                               f"{one_line(str(exc))[:160]}") from exc
    return SourceImage(path, data, hashlib.sha256(data).hexdigest(), width, height, kind,
                       oriented)


def _check_dimensions(path: Path, width: int, height: int, max_side: int) -> None:
    if width * height > BOMB_PIXELS:
        raise SourceImageError(path, f"refused as a decompression bomb: its header claims "
                               f"{width}x{height} pixels")
    if width <= 0 or height <= 0:
        raise SourceImageError(path, f"has no pixels ({width}x{height})")
    if width > max_side or height > max_side:
        raise SourceImageError(path, f"is {width}x{height}, larger than the {max_side}x"
                               f"{max_side} limit; scale it down first")


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # a broken EXIF block is not worth refusing the picture for
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def img2img_size(width: int, height: int, *, fit_1mp: bool = False) -> tuple[int, int]:
    """The output size for a ``width`` x ``height`` source: its own size snapped to
    multiples of 16, or (``fit_1mp``) scaled to about 1 MP with the same aspect."""
    if fit_1mp:
        scale = math.sqrt(STANDARD_PIXELS / (width * height))
        return snap16(width * scale), snap16(height * scale)
    return snap16(width), snap16(height)


@dataclass
class SizePlan:
    """The size an img2img run will use, and what the user should know about it."""

    width: int
    height: int
    notes: list[str] = field(default_factory=list)


def plan_img2img_size(source: tuple[int, int], requested: tuple[int | None, int | None]
                      = (None, None), *, fit_1mp: bool = False) -> SizePlan:
    """The source decides the size; a ``requested`` one that differs is flagged, not used."""
    width, height = img2img_size(*source, fit_1mp=fit_1mp)
    plan = SizePlan(width, height)
    if (width, height) != tuple(source):
        how = "scaled to about 1 MP" if fit_1mp else "snapped to multiples of 16"
        plan.notes.append(f"the source is {source[0]}x{source[1]}; the output is {width}x"
                          f"{height} ({how})")
    asked_w, asked_h = requested
    if (asked_w is not None and asked_w != width) or (asked_h is not None and asked_h != height):
        shown = "x".join("?" if v is None else str(v) for v in (asked_w, asked_h))
        plan.notes.append(f"requested size {shown} differs from the source's; img2img follows "
                          f"the source ({width}x{height}), so it was not applied — resize the "
                          "source image to change the output size")
    return plan


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def image_candidates(typed: str, *, limit: int = 50, cwd: Path | None = None) -> list[str]:
    """Completions for a path being typed in a source-image picker: folders (ending in
    "/") and files with an image suffix whose names start with what was typed.  Hidden
    entries only when the typed name starts with a dot.  Completions keep the user's
    form (``~``, relative) so they can replace the input as is."""
    head, _, stem = typed.rpartition("/")
    shown_dir = f"{head}/" if typed.count("/") else ""
    folder = Path(head or ("/" if typed.startswith("/") else ".")).expanduser()
    if not folder.is_absolute():
        folder = (cwd or Path.cwd()) / folder
    try:
        entries = sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name.lower()))
    except (OSError, ValueError):  # ValueError: a NUL byte in what was typed
        return []
    found: list[str] = []
    for entry in entries:
        name = entry.name
        if not name.startswith(stem) or (name.startswith(".") and not stem.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            found.append(f"{shown_dir}{name}/")
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            found.append(f"{shown_dir}{name}")
        if len(found) >= limit:
            break
    return found


def complete_image_field(typed: str, *, limit: int = 50, cwd: Path | None = None) -> list[str]:
    """`image_candidates` for a whole field's text: in a ``;``-separated list (Redux
    references) the last item is completed and the items before it are kept."""
    head, sep, last = typed.rpartition(";")
    stripped = last.lstrip()
    prefix = head + sep + last[:len(last) - len(stripped)]
    return [prefix + found for found in image_candidates(stripped, limit=limit, cwd=cwd)]
