"""LoRA and img2img rules: trigger words, source images, size and denoise (codes FX4xx).

Sources: the FLUX guide (seed 000: a LoRA is woken by its trigger word), the LoRA service
notes (seed 003: the trigger is prepended to the prompt), and the img2img audit (seed 002:
keep the source image's size; denoise 0.5 is too low, colour changes need 0.8–0.9).
"""

from __future__ import annotations

import os
from pathlib import Path
from stat import S_ISREG

from ...compose import clean
from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import Lazy
from .lighting import WHITE_BG_RE
from .quality import QUALITY

_PLAIN = Lazy(r"[\w][\w '’.\-]*")

IMG2IMG_AUDIT = "img2img audit (seed 002)"
_SIZES: dict[str, tuple[int, int, tuple[int, int] | None]] = {}


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image file, reading only its header; cached per file version.
    None when the file is missing or not an image."""
    key = str(path)
    try:
        stat = os.stat(key)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        _SIZES.pop(key, None)
        return None
    if not S_ISREG(stat.st_mode):  # a FIFO or /dev/stdin would block Pillow forever
        return None
    cached = _SIZES.get(key)
    if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
        return cached[2]
    size: tuple[int, int] | None
    try:
        from PIL import Image

        with Image.open(key) as image:  # lazy: parses the header, decodes nothing
            size = (int(image.width), int(image.height))
    except Exception:  # not an image, truncated, unsupported...
        size = None
    if len(_SIZES) > 512:
        _SIZES.clear()
    _SIZES[key] = (stat.st_mtime_ns, stat.st_size, size)
    return size


def source_size(ctx) -> tuple[int, int] | None:
    path = ctx.spec.source_image.strip()
    return image_size(ctx.resolve(path)) if path else None


@rule("lora-trigger-missing", "FX401", "warning",
      needs=("loras",), family="sources", fix="safe",
      summary="a LoRA is attached but none of its trigger words is in the prompt",
      rationale="A FLUX LoRA is applied by mentioning its trigger word in the prompt; "
                "without it the LoRA's style or character mostly stays asleep.",
      source="FLUX guide (seed 000), \"LoRA and fine-tuning\"; LoRA service notes "
             "(seed 003): the trigger is prepended to the prompt")
def lora_trigger_missing(ctx):
    loras = ctx.spec.params.loras
    if not loras:
        return
    text = ctx.composed.lower()
    offset = 0
    for lora in loras:
        start, offset = offset, offset + len(lora.name) + 2
        triggers = [t for t in (clean(t) for t in lora.triggers) if t]
        if not triggers or any(t.lower() in text for t in triggers):
            continue
        trigger = triggers[0]
        field = "raw" if ctx.is_raw else "subject"
        yield Hit("loras", start, start + len(lora.name),
                  f"LoRA {lora.name!r} is attached but its trigger "
                  f"{', '.join(repr(t) for t in triggers)} is not in the prompt",
                  fix=Fix(f"put {trigger!r} at the start of the prompt",
                          (Edit(field, 0, 0, f"{trigger} "),), safe=_safe(trigger))
                  if _PLAIN.fullmatch(trigger) else None)


def _safe(trigger: str) -> bool:
    """A trigger no other rule would rewrite, so adding it is safe to do unattended."""
    return not QUALITY.search(trigger) and not WHITE_BG_RE.search(trigger)


@rule("source-image-missing", "FX404", "error",
      needs=("source_image",), family="sources",
      summary="the source image does not exist or is not an image",
      rationale="img2img and Kontext edits start from `source_image`; a missing or "
                "unreadable file means the run cannot start.",
      source=f"{IMG2IMG_AUDIT}: validate the image before uploading it to ComfyUI")
def source_image_missing(ctx):
    path = ctx.spec.source_image
    if not path.strip():
        return
    if source_size(ctx) is None:
        yield Hit("source_image", 0, len(path),
                  f"source image {path.strip()!r} {_why_unreadable(ctx, path)}")


def _why_unreadable(ctx, path: str) -> str:
    """Why ``path`` gives no image: the file system's own answer, never an exception."""
    if "\0" in path:
        return "contains a NUL byte"
    resolved = ctx.resolve(path.strip())
    try:
        return ("is not a readable image" if resolved.is_file() else
                "is not a regular file" if resolved.exists() else "does not exist")
    except OSError as exc:  # a name too long for the file system, a loop of links...
        return f"cannot be read ({exc.strerror or exc})"


@rule("img2img-size", "FX402", "warning",
      when=lambda ctx: ctx.is_img2img, needs=("source_image",),
      family="sources", fix="safe",
      summary="img2img with a requested size different from the source image's",
      rationale="img2img should run at the source image's size; a different size "
                "stretches or crops the composition and loses quality.",
      source=f"{IMG2IMG_AUDIT}, critical issue 1 and issue 5: use the source image's size "
             "for img-to-img")
def img2img_size(ctx):
    if not ctx.is_img2img:
        return
    params = ctx.spec.params
    if params.width is None and params.height is None:
        return  # unset: the run uses the source's own size
    size = source_size(ctx)
    if size is None:
        return
    width, height = ctx.param("width"), ctx.param("height")
    if (width, height) == size:
        return
    edits = []
    for name, value in (("width", size[0]), ("height", size[1])):
        current = getattr(params, name)
        edits.append(Edit(name, 0, len("" if current is None else str(current)), str(value)))
    field = "width" if params.width is not None else "height"
    value = getattr(params, field)
    yield Hit(field, 0, len(str(value)),
              f"{width}x{height} differs from the source image's {size[0]}x{size[1]}",
              fix=Fix(f"use the source size {size[0]}x{size[1]}", tuple(edits), safe=True))


DENOISE_LOW = 0.5
DENOISE_SUGGESTED = 0.7


@rule("denoise-range", "FX403", "warning",
      when=lambda ctx: ctx.is_img2img, needs=("source_image",),
      family="sources", fix="unsafe",
      summary="img2img denoise below 0.5 (changes nothing) or 1.0 (ignores the source)",
      rationale="In img2img, denoise is how much of the source is repainted: below 0.5 "
                "little changes (a colour change needs 0.8–0.9), and at 1.0 the source is "
                "ignored entirely. 0.65–0.7 is a good default.",
      source=f"{IMG2IMG_AUDIT}, issue 4: denoise 0.5 is too low; 0.65–0.7 default, 0.8–0.9 "
             "for colour changes")
def denoise_range(ctx):
    if not ctx.is_img2img:
        return
    denoise = ctx.param("denoise")
    if denoise is None:
        return
    current = ctx.spec.params.denoise
    text = "" if current is None else f"{current:g}"
    if denoise < DENOISE_LOW:
        why = f"denoise {denoise:g} is too low to change much of the source"
    elif denoise >= 1.0:
        why = (f"denoise {denoise:g}" + (" (the default)" if current is None else "") +
               " repaints everything: the source image is ignored")
    else:
        return
    yield Hit("denoise", 0, len(text), why,
              fix=Fix(f"set denoise {DENOISE_SUGGESTED:g}",
                      (Edit("denoise", 0, len(text), f"{DENOISE_SUGGESTED:g}"),)),
              suggestion="0.65–0.7 for most edits, 0.8–0.9 to change colours")
