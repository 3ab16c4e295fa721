"""What a prompt's graph means to the fake: the order ComfyUI runs it in, each node's cache
key, and the size of every image and latent in it.

Order: ComfyUI's ExecutionList (comfy_execution/graph.py) — nodes enter a pending list by
a depth-first walk from each output (cached inputs are not walked), and the next node is
the first ready one that is an output, else one that feeds an output, else one two steps
from an output, else the first ready one.  The recorded real runs follow this exactly
(VAELoader first on a cold server; 7, 4, 6, 5, 8 with the loaders cached).

Sizes follow what each node does to pixels: EmptyLatentImage / EmptySD3LatentImage and
VAE encoding keep whole multiples of 8, ImageScale / ImageScaleBy /
ImageScaleToTotalPixels scale, FluxKontextImageScale picks the nearest preferred ~1 MP
size, ImagePadForOutpaint grows the canvas, and the mask of InpaintModelConditioning is
resized to the image (the server interpolates it; it never refuses a mask size).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

#: comfy_extras/nodes_flux.py PREFERED_KONTEXT_RESOLUTIONS (ComfyUI's spelling).
PREFERED_KONTEXT_RESOLUTIONS = [
    (672, 1568), (688, 1504), (720, 1456), (752, 1392), (800, 1328), (832, 1248),
    (880, 1184), (944, 1104), (1024, 1024), (1104, 944), (1184, 880), (1248, 832),
    (1328, 800), (1392, 752), (1456, 720), (1504, 688), (1568, 672),
]
IMAGE_LOADERS = ("LoadImage", "LoadImageMask", "LoadImageOutput")
EMPTY_LATENTS = ("EmptyLatentImage", "EmptySD3LatentImage", "EmptyHunyuanLatent")
ORIENTATION = 0x0112


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and isinstance(value[1], int)


def node_key(nid: str) -> tuple:
    return (0, int(nid), "") if nid.isdigit() else (1, 0, nid)


# -- execution order ------------------------------------------------------------------------

def execution_order(prompt: dict, outputs: list[str], cached: set[str],
                    is_output: Callable[[str], bool]) -> list[str]:
    """The node ids ComfyUI executes, in its order.  Cached output nodes are included
    (they re-send their cached UI output); other cached nodes are not."""
    nodes = _PendingNodes(prompt, cached)
    for out in outputs:
        nodes.add_node(out)
    order: list[str] = []
    while nodes.pending:
        pick = nodes.next_node(is_output)
        order.append(pick)
        nodes.complete(pick)
    return order


class _PendingNodes:
    """ExecutionList's bookkeeping: the nodes still to run, what each one waits for
    (blockers) and what waits for it (blocking, in the order the links were found)."""

    def __init__(self, prompt: dict, cached: set[str]) -> None:
        self.prompt, self.cached = prompt, cached
        self.pending: dict[str, None] = {}
        self.blockers: dict[str, set[str]] = {}
        self.blocking: dict[str, dict[str, None]] = {}

    def add_node(self, start: str) -> None:
        for source, target in self._enter(start):
            if source not in self.cached or source in self.pending:
                self.add_node(source)
                self.blocking[source].setdefault(target, None)
                self.blockers[target].add(source)

    def _enter(self, start: str) -> list[tuple[str, str]]:
        """Put `start` and the uncached nodes it depends on in pending (depth first);
        the (source, target) links met on the way."""
        stack, links = [start], []
        while stack:
            nid = stack.pop()
            if nid in self.pending:
                continue
            self.pending[nid] = None
            self.blockers[nid], self.blocking[nid] = set(), {}
            for value in self.prompt[nid]["inputs"].values():
                if is_link(value):
                    if value[0] not in self.cached:
                        stack.append(value[0])
                    links.append((value[0], nid))
        return links

    def next_node(self, is_output: Callable[[str], bool]) -> str:
        ready = [nid for nid in self.pending if not self.blockers[nid]]
        if not ready:
            raise ValueError("dependency cycle")
        return _ux_friendly_pick(ready, self.blocking, self.pending, is_output)

    def complete(self, nid: str) -> None:
        del self.pending[nid]
        for target in self.blocking.pop(nid):
            self.blockers[target].discard(nid)
        self.blockers.pop(nid)


def _ux_friendly_pick(ready: list[str], blocking: dict, pending: dict,
                      is_output: Callable[[str], bool]) -> str:
    for nid in ready:
        if is_output(nid):
            return nid
    for nid in ready:
        if any(is_output(b) for b in blocking[nid]):
            return nid
    for nid in ready:
        for b in blocking[nid]:
            if b in pending and any(is_output(c) for c in blocking[b]):
                return nid
    return ready[0]


# -- cache keys -----------------------------------------------------------------------------

def signatures(prompt: dict, is_changed: Callable[[str, dict], Any]) -> dict[str, str]:
    """Each node's cache key: its class, its IS_CHANGED value (a loaded file's hash), its
    constant inputs and the keys of what its links point at.  The node id is not part of
    it, so an identical node in the next prompt reuses the output."""
    memo: dict[str, str] = {}

    def key(nid: str) -> str:
        if nid in memo:
            return memo[nid]
        memo[nid] = "cycle"
        node = prompt.get(nid)
        if not isinstance(node, dict):
            return "missing"
        parts: dict[str, Any] = {"class_type": node.get("class_type"),
                                 "is_changed": is_changed(nid, node)}
        for name, value in sorted((node.get("inputs") or {}).items()):
            parts[name] = ["link", key(value[0]), value[1]] if is_link(value) else value
        memo[nid] = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str)
                                   .encode()).hexdigest()
        return memo[nid]

    return {nid: key(nid) for nid in prompt}


# -- sizes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """Pixel size of an image, a mask or (in pixels) a latent, and its batch."""

    width: int
    height: int
    batch: int = 1


DEFAULT = Size(64, 64)


def image_size(data: bytes | None) -> tuple[Size, bool] | None:
    """(size after EXIF rotation as LoadImage applies it, has alpha) of stored bytes."""
    if data is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            alpha = "A" in image.getbands() or "transparency" in image.info
            width, height = image.size
            if image.getexif().get(ORIENTATION) in (5, 6, 7, 8):  # a quarter turn
                width, height = height, width
    except Exception:
        return None
    return Size(width, height), alpha


def floor8(size: Size) -> Size:
    return Size(max(8, size.width // 8 * 8), max(8, size.height // 8 * 8), size.batch)


class Sizer:
    """Works out, node by node, the size each IMAGE / MASK / LATENT output would have."""

    def __init__(self, prompt: dict, info: dict,
                 load: Callable[[str], tuple[Size, bool] | None]) -> None:
        self.prompt, self.info, self.load = prompt, info, load
        self.memo: dict[tuple[str, int], Size] = {}

    def output(self, nid: str, socket: int = 0) -> Size:
        key = (nid, socket)
        if key not in self.memo:
            self.memo[key] = DEFAULT  # a cycle falls back to the default
            self.memo[key] = self._compute(nid, socket)
        return self.memo[key]

    def input(self, nid: str, name: str) -> Size | None:
        value = self.prompt[nid]["inputs"].get(name)
        return self.output(value[0], value[1]) if is_link(value) else None

    def _value(self, nid: str, name: str, default: Any) -> Any:
        value = self.prompt[nid]["inputs"].get(name, default)
        if is_link(value):
            return default
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            return default

    def _compute(self, nid: str, socket: int) -> Size:
        kind = self.prompt[nid]["class_type"]
        if kind in EMPTY_LATENTS or kind == "EmptyImage":
            return self._empty(nid, kind)
        if kind in IMAGE_LOADERS:
            return self._loaded(nid, kind, socket)
        source = self._first_input(nid)
        for sized in (self._image_resized, self._latent_sized):
            size = sized(nid, kind, source)
            if size is not None:
                return size
        return self._passed_through(nid, source)

    def _empty(self, nid: str, kind: str) -> Size:
        """A new blank latent (whole multiples of 8) or image."""
        get = self._value
        if kind in EMPTY_LATENTS:
            return floor8(Size(get(nid, "width", 1024), get(nid, "height", 1024),
                               max(1, get(nid, "batch_size", 1))))
        return Size(get(nid, "width", 512), get(nid, "height", 512),
                    max(1, get(nid, "batch_size", 1)))

    def _loaded(self, nid: str, kind: str, socket: int) -> Size:
        """A stored image (socket 0) or its mask (socket 1)."""
        loaded = self.load(str(self.prompt[nid]["inputs"].get("image", "")))
        if loaded is None:
            return DEFAULT
        size, alpha = loaded
        if kind != "LoadImageMask" and socket == 1 and not alpha:
            return DEFAULT  # LoadImage's mask of an opaque image is 64x64 zeros
        return size

    def _image_resized(self, nid: str, kind: str, source: Size) -> Size | None:
        """The image nodes that change the pixel size; None for any other node."""
        get = self._value
        if kind == "ImageScale":
            return self._image_scale(nid, source)
        if kind == "ImageScaleBy":
            scale = get(nid, "scale_by", 1.0)
            return Size(round(source.width * scale), round(source.height * scale), source.batch)
        if kind == "ImageScaleToTotalPixels":
            total = int(get(nid, "megapixels", 1.0) * 1024 * 1024)
            scale = math.sqrt(total / (source.width * source.height))
            return Size(round(source.width * scale), round(source.height * scale), source.batch)
        if kind == "FluxKontextImageScale":
            ratio = source.width / source.height
            _, width, height = min((abs(ratio - w / h), w, h)
                                   for w, h in PREFERED_KONTEXT_RESOLUTIONS)
            return Size(width, height, source.batch)
        if kind == "ImagePadForOutpaint":
            return Size(source.width + get(nid, "left", 0) + get(nid, "right", 0),
                        source.height + get(nid, "top", 0) + get(nid, "bottom", 0),
                        source.batch)
        return None

    def _image_scale(self, nid: str, source: Size) -> Size:
        """ImageScale: a zero side keeps the aspect ratio; both zero keep the size."""
        width, height = self._value(nid, "width", 0), self._value(nid, "height", 0)
        if width == 0 and height == 0:
            return source
        if width == 0:
            width = max(1, round(source.width * height / source.height))
        elif height == 0:
            height = max(1, round(source.height * width / source.width))
        return Size(width, height, source.batch)

    def _latent_sized(self, nid: str, kind: str, source: Size) -> Size | None:
        """The nodes that encode pixels to a latent or resize one; None for any other."""
        get = self._value
        if kind in ("VAEEncode", "VAEEncodeTiled", "VAEEncodeForInpaint"):
            return floor8(self.input(nid, "pixels") or DEFAULT)
        if kind in ("InpaintModelConditioning", "InstructPixToPixConditioning"):
            return floor8(self.input(nid, "pixels") or DEFAULT)
        if kind == "LatentUpscale":
            return floor8(Size(get(nid, "width", 0) or source.width,
                               get(nid, "height", 0) or source.height, source.batch))
        if kind == "LatentUpscaleBy":
            scale = get(nid, "scale_by", 1.0)
            return Size(round(source.width / 8 * scale) * 8,
                        round(source.height / 8 * scale) * 8, source.batch)
        return None

    def _passed_through(self, nid: str, source: Size) -> Size:
        """Any other node keeps the size of its latent / image input."""
        for name in ("latent_image", "samples", "image", "images", "pixels"):
            found = self.input(nid, name)
            if found is not None:
                return found
        return source

    def _first_input(self, nid: str) -> Size:
        """The first linked image-like input (IMAGE, MASK or LATENT)."""
        for value in self.prompt[nid]["inputs"].values():
            if is_link(value):
                source = self.prompt.get(value[0], {}).get("class_type")
                outputs = self.info.get(source, {}).get("output", [])
                kind = outputs[value[1]] if value[1] < len(outputs) else None
                if kind in ("IMAGE", "MASK", "LATENT"):
                    return self.output(value[0], value[1])
        return DEFAULT
