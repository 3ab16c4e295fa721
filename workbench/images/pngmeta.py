"""What a PNG remembers about how it was made, and how to make it remember our spec.

ComfyUI's SaveImage writes tEXt chunks: ``prompt`` (the API workflow that ran, as JSON),
``workflow`` (the editor graph) and one chunk per other ``extra_pnginfo`` key; the
workbench sends its spec as ``workbench``.  From any ComfyUI-made PNG this module recovers
the prompt text, seed and parameters by following the sampler's links in the API
workflow, so an image found on disk can become a library entry again.

Files come from anywhere, so reading is guarded: a file-size cap, a pixel-count cap
checked before anything is decoded, and Pillow's own text-chunk limits.  Malformed JSON in
a chunk is reported in words, never raised from deep inside.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ..spec import Lora, Params, PromptSpec
from ..specdata import spec_from_table, spec_to_dict
from ..untrusted import JsonError, loads_json, open_regular
from .workflow_settings import Recovered, recover_settings

#: Refuse files and images bigger than this before decoding anything.
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_PIXELS = 8192 * 8192
WORKBENCH_CHUNK = "workbench"
#: Version of the ``workbench`` chunk `workbench_chunk` writes (kept as ``_format``).
CHUNK_FORMAT = 1
#: What early versions of ``workbench run`` wrote instead of the spec: its composed text.
_LEGACY_KEYS = frozenset({"name", "model", "seed", "text", "chain_step"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"



class PngMetaError(Exception):
    """The file can't be read as an image with metadata: which file and why."""


@dataclass
class PngMetadata:
    """The text chunks of a PNG, decoded.  ``problems`` says which chunks were unusable."""

    path: str = ""
    size: tuple[int, int] = (0, 0)
    text: dict[str, str] = field(default_factory=dict)
    prompt: dict[str, Any] | None = None       # ComfyUI API workflow
    workflow: dict[str, Any] | None = None     # ComfyUI editor (UI) graph
    workbench: dict[str, Any] | None = None    # our spec
    problems: list[str] = field(default_factory=list)


# -- reading chunks ------------------------------------------------------------------------------

def read_png_metadata(source: str | Path | bytes) -> PngMetadata:
    """The text chunks of a PNG file (or its bytes), with the JSON ones decoded.

    Raises `PngMetaError` when it isn't a readable image or is over the size caps."""
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        if isinstance(source, (bytes, bytearray)):
            if len(source) > MAX_FILE_BYTES:
                raise PngMetaError(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MB")
            handle: Any = io.BytesIO(source)
        else:
            handle = open_regular(source)  # a FIFO or a device would block forever
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                handle.close()
                raise PngMetaError(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MB")
    except OSError as exc:
        raise PngMetaError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        with handle, Image.open(handle) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise PngMetaError(f"{name}: {width}x{height} is too many pixels to open")
            # ComfyUI writes its chunks before the image data, so the header pass has them
            # (`info`); `text` also reads chunks after the image data, decoding the pixels.
            text = {k: v for k, v in im.info.items() if isinstance(v, str)}
            if im.format == "PNG" and "prompt" not in text:
                text = {k: str(v) for k, v in im.text.items()}
    except PngMetaError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PngMetaError(f"{name}: not a readable image: {exc}") from None
    meta = PngMetadata(path=name, size=(width, height), text=text)
    for key in ("prompt", "workflow", WORKBENCH_CHUNK):
        if key in text:
            setattr(meta, key, _json_chunk(text[key], key, meta.problems))
    return meta


def _json_chunk(raw: str, key: str, problems: list[str]) -> dict[str, Any] | None:
    try:  # NaN, Infinity, 1e400, 5000-digit numbers and deep nesting are refused here
        value = loads_json(raw)
    except JsonError as exc:
        problems.append(f"the {key!r} chunk is not valid JSON ({exc}); it is ignored")
        return None
    if not isinstance(value, dict):
        problems.append(f"the {key!r} chunk holds a JSON {type(value).__name__}, not an "
                        "object; it is ignored")
        return None
    return value


# -- building a spec ----------------------------------------------------------------------------

def spec_from_recovered(rec: Recovered, name: str, notes: str = "") -> PromptSpec:
    """A raw-text spec holding what the workflow says (unset where it says nothing)."""
    params = Params(seed=rec.seed, steps=rec.steps, guidance=rec.guidance, width=rec.width,
                    height=rec.height, sampler=rec.sampler, scheduler=rec.scheduler,
                    denoise=rec.denoise, cfg=rec.cfg, negative=rec.negative or "",
                    loras=[Lora(lora.name, lora.strength) for lora in rec.loras])
    spec = PromptSpec(name=name, model=rec.variant, raw=rec.text or "",
                      source_image=rec.source_image or "", params=params)
    files = []
    if rec.models:
        files.append("model " + ", ".join(rec.models))
    if rec.encoders:
        files.append("text encoders " + ", ".join(rec.encoders))
    if rec.vae:
        files.append("VAE " + rec.vae)
    spec.notes = "; ".join(x for x in (notes, "; ".join(files)) if x)
    return spec


def spec_from_metadata(meta: PngMetadata, name: str) -> tuple[PromptSpec, list[str]]:
    """The best spec the metadata gives: our own ``workbench`` chunk when present (it is
    the spec itself), else one recovered from the ComfyUI ``prompt`` chunk.  Returns the
    spec and the problems met.  Raises `PngMetaError` when there is nothing to recover."""
    problems = list(meta.problems)
    if meta.workbench is not None:
        spec = spec_from_chunk(meta.workbench, name, f"{meta.path}: workbench chunk",
                               problems)
        return spec, problems
    if meta.prompt is None:
        raise PngMetaError(f"{meta.path}: no ComfyUI workflow or workbench spec in this image"
                           + (f" ({'; '.join(problems)})" if problems else ""))
    rec = recover_settings(meta.prompt)
    if rec.sampler_node is None:
        problems.append(f"{meta.path}: the workflow has no sampler; only file names were "
                        "recovered")
    elif rec.text is None:
        problems.append(f"{meta.path}: the sampler's prompt text could not be followed")
    return spec_from_recovered(rec, name, f"Imported from {Path(meta.path).name}"), problems


# -- writing our chunk ---------------------------------------------------------------------------

def workbench_chunk(spec: PromptSpec, **extra: Any) -> dict[str, Any]:
    """What the workbench stores in a PNG (and sends as ``extra_pnginfo["workbench"]``):
    the spec in library keys, plus ``extra`` (e.g. ``run=``, ``cell=``) and the chunk's
    format under ``_``-keys that readers of the spec ignore.  Every run writes this, so
    `spec_from_chunk` gives the spec back."""
    data = spec_to_dict(spec)
    data.update({f"_{k}": v for k, v in extra.items()})
    data["_format"] = CHUNK_FORMAT
    return data


def spec_from_chunk(chunk: dict[str, Any], name: str = "", where: str = "workbench chunk",
                    problems: list[str] | None = None) -> PromptSpec:
    """The spec a ``workbench`` chunk holds (bad values noted in ``problems``).

    Chunks from early ``workbench run``/chain versions held the composed prompt as
    ``text`` (not the in-image text); they come back as a raw-text prompt."""
    problems = problems if problems is not None else []
    if _is_legacy(chunk):
        data = {"name": chunk.get("name"), "model": chunk.get("model", "dev"),
                "raw": chunk.get("text"), "seed": chunk.get("seed")}
        data = {k: v for k, v in data.items() if v is not None}
    else:
        data = {k: v for k, v in chunk.items() if not k.startswith("_")}
    data.setdefault("name", name or "imported")
    return spec_from_table(data, where, problems)


def _is_legacy(chunk: dict[str, Any]) -> bool:
    return "_format" not in chunk and "text" in chunk and set(chunk) <= _LEGACY_KEYS


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def iter_chunks(data: bytes):
    """(type, data, raw bytes) of every chunk; raises `PngMetaError` on a broken file."""
    if not data.startswith(_PNG_SIGNATURE):
        raise PngMetaError("not a PNG file")
    pos = len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise PngMetaError("the PNG is truncated")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 12 + length
        if end > len(data):
            raise PngMetaError("the PNG is truncated")
        kind = data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + 8 + length], data[pos:end]
        pos = end
        if kind == b"IEND":
            return
    raise PngMetaError("the PNG has no IEND chunk")


def embed_text(png: bytes, key: str, value: str) -> bytes:
    """``png`` with a text chunk ``key`` set to ``value`` (replacing an older ``key``
    chunk), every other chunk kept byte for byte.  Latin-1 text goes in tEXt (as ComfyUI
    writes), anything else in uncompressed iTXt."""
    try:
        payload = value.encode("latin-1")
        new = _chunk(b"tEXt", key.encode("latin-1") + b"\0" + payload)
    except UnicodeEncodeError:
        new = _chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
    out = [_PNG_SIGNATURE]
    placed = False
    for kind, data, raw in iter_chunks(png):
        if kind in (b"tEXt", b"iTXt", b"zTXt") and data.split(b"\0", 1)[0] == key.encode(
                "latin-1"):
            continue
        if not placed and kind in (b"IDAT", b"IEND"):
            out.append(new)
            placed = True
        out.append(raw)
    return b"".join(out)


def embed_spec(png: bytes, spec: PromptSpec, **extra: Any) -> bytes:
    """``png`` carrying ``spec`` in its ``workbench`` chunk (JSON, as ComfyUI would write
    it from ``extra_pnginfo``), ComfyUI's own ``prompt``/``workflow`` chunks untouched."""
    return embed_text(png, WORKBENCH_CHUNK, json.dumps(workbench_chunk(spec, **extra)))


def write_spec_into(path: str | Path, spec: PromptSpec, **extra: Any) -> None:
    """Embed ``spec`` into the PNG at ``path`` (atomically)."""
    from ..atomic import write_atomic

    path = Path(path)
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise PngMetaError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB")
    write_atomic(path, embed_spec(data, spec, **extra))


__all__ = ["MAX_FILE_BYTES", "MAX_PIXELS", "PngMetaError", "PngMetadata", "Recovered",
           "embed_spec", "embed_text", "iter_chunks", "read_png_metadata", "recover_settings",
           "spec_from_chunk", "spec_from_metadata", "spec_from_recovered", "workbench_chunk",
           "write_spec_into"]
