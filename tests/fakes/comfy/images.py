"""The bytes the fake serves: saved PNGs, preview frames, and hostile files."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import struct
import zlib
from typing import Any

from PIL import Image, PngImagePlugin

#: ComfyUI's MAX_PREVIEW_RESOLUTION (``--preview-size``, default 512).
PREVIEW_SIZE = 512


def render_png(text: str, seed: Any, width: int, height: int, index: int = 0,
               chunks: dict[str, str] | None = None) -> bytes:
    """A 4x4 grid of colours from sha256(text, seed, size, batch index), as SaveImage would
    save it: RGB PNG with one tEXt chunk per metadata key."""
    digest = hashlib.sha256(f"{text}\0{seed}\0{width}\0{height}\0{index}".encode()).digest()
    small = Image.new("RGB", (4, 4))
    small.putdata([tuple(digest[(i * 2 + j) % 32] for j in range(3)) for i in range(16)])
    image = small.resize((max(1, width), max(1, height)), Image.NEAREST)
    info = PngImagePlugin.PngInfo()
    for key, value in (chunks or {}).items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=1)
    return buffer.getvalue()


def preview_size(width: int, height: int, limit: int = PREVIEW_SIZE) -> tuple[int, int]:
    """The server fits every preview into limit x limit, scaling small ones up too
    (ImageOps.contain), so a 128x128 job still sends 512x512 frames."""
    scale = min(limit / max(1, width), limit / max(1, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@functools.lru_cache(maxsize=32)
def preview_jpeg(width: int, height: int, step: int = 0) -> bytes:
    """A preview frame as the server sends it: the latent (1/8 of the image) made RGB,
    scaled up to fit 512 px, JPEG quality 95 (~34 KB for a 128x128 job, as recorded)."""
    latent = (max(1, width // 8), max(1, height // 8))
    rnd = random.Random(f"{width}x{height}:{step}")
    coarse = (max(1, latent[0] // 2), max(1, latent[1] // 2))
    shapes = Image.frombytes("RGB", coarse, rnd.randbytes(coarse[0] * coarse[1] * 3))
    noise = Image.frombytes("RGB", latent, rnd.randbytes(latent[0] * latent[1] * 3))
    small = Image.blend(shapes.resize(latent, Image.BILINEAR), noise, 0.25)
    image = small.resize(preview_size(width, height), Image.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def decompression_bomb_png(side: int = 40_000) -> bytes:
    """A tiny file whose header claims side x side pixels (1.6 G at the default)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _png_chunk(b"IEND", b""))


def oversized_png(size: int) -> bytes:
    """A valid small PNG padded with a private ancillary chunk to ``size`` bytes."""
    base = render_png("huge", 0, 16, 16)
    pad = max(0, size - len(base) - 12)
    return base[:-12] + _png_chunk(b"wbPd", b"\0" * pad) + base[-12:]
