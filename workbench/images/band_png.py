"""An RGB PNG encoded in horizontal bands, each band again only when it changed.

A contact sheet fills in one cell at a time while a run goes on; encoding the whole sheet
once the last cell lands puts the full PNG encode (hundreds of ms for a sheet of photos)
after the last image.  Here every band (a row of cells) is deflated on its own, ending in
a full flush, so the compressed bands simply follow one another in the IDAT stream and a
change costs one band's encode.  Each band's first scanline uses filter type None and the
others the Average filter (computed by Pillow's `ImageChops`), so no scanline depends on
the band above it.  The result is an ordinary PNG any reader opens.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from PIL import Image, ImageChops

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ADLER_BASE = 65521
_NONE, _AVERAGE = b"\x00", b"\x03"


def deflate_band(band: Image.Image, level: int = 6) -> tuple[bytes, int, int]:
    """(raw deflate data ending in a full flush, adler-32 and length of the filtered
    bytes) of an RGB band."""
    band = band.convert("RGB") if band.mode != "RGB" else band
    width, height = band.size
    left = Image.new("RGB", band.size)
    left.paste(band.crop((0, 0, width - 1, height)), (1, 0))
    up = Image.new("RGB", band.size)
    up.paste(band.crop((0, 0, width, height - 1)), (0, 1))   # the first row: zeros above
    average = ImageChops.add(left, up, scale=2)   # floor((left + up) / 2), as PNG wants
    filtered = memoryview(ImageChops.subtract_modulo(band, average).tobytes())
    raw = band.tobytes()
    stride = width * 3
    # the first scanline unfiltered (it must not lean on the band above), the rest Average
    data = b"".join([_NONE, raw[:stride]] + [
        part for y in range(1, height)
        for part in (_AVERAGE, filtered[y * stride:(y + 1) * stride])])
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)
    return deflated, zlib.adler32(data), len(data)


def _adler_combine(first: int, second: int, second_length: int) -> int:
    """The adler-32 of two byte strings one after the other, from theirs (zlib's
    ``adler32_combine``, which Python does not expose)."""
    rem = second_length % _ADLER_BASE
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_BASE
    b = (rem * a1 + b1 + b2 - rem) % _ADLER_BASE
    return (b << 16) | a


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data))


def assemble_png(size: tuple[int, int], bands: Sequence[tuple[bytes, int, int]]) -> bytes:
    """The PNG of an RGB image of ``size`` from its `deflate_band` results, top to bottom."""
    adler = 1
    for _, band_adler, length in bands:
        adler = _adler_combine(adler, band_adler, length)
    final = zlib.compressobj(6, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)   # the last block
    stream = b"".join([b"\x78\x9c", *(b[0] for b in bands), final, struct.pack(">I", adler)])
    width, height = size
    return b"".join([_SIGNATURE,
                     _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
                     _chunk(b"IDAT", stream), _chunk(b"IEND", b"")])
