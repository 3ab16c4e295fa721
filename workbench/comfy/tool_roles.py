"""Where the FLUX.1 tools live in an API-format workflow: mask, control image, references.

A Fill, Canny, Depth or Redux graph loads more images than the one it starts from, and
only the graph says which is which: an image is a *mask* when its pixels end at the
``mask`` input of InpaintModelConditioning (or VAEEncodeForInpaint, SetLatentNoiseMask),
a *control image* when they end at InstructPixToPixConditioning's ``pixels`` (through a
Canny node or a scale) or a ControlNet's ``image``, a *Redux reference* when they end at
CLIPVisionEncode.  An image that also reaches the pixels being repainted or encoded is
the source.  `image_uses` answers that for every image loader; `find_tool_roles` adds
the knobs around them (the control LoRA's strength, StyleModelApply strengths, the
outpaint padding, GrowMask) to a `graph.Roles`.  Titles in a sidecar override these
roles like any other (``mask = "My mask"``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

IMAGE_LOADERS = ("LoadImage", "LoadImageOutput", "LoadImageMask")
#: Roles the tools add, and the input each means on a node named by title in a sidecar.
TOOL_ROLE_INPUTS: dict[str, tuple[str, ...]] = {
    "mask": ("image",),
    "control_image": ("image",),
    "control_strength": ("strength_model", "strength"),
    "mask_grow": ("expand",),
    "mask_feather": ("feathering",),
    "outpaint_left": ("left",),
    "outpaint_top": ("top",),
    "outpaint_right": ("right",),
    "outpaint_bottom": ("bottom",),
}
TOOL_ROLE_NAMES = tuple(TOOL_ROLE_INPUTS)
#: (node, input) where an image's journey ends, and what that makes the image (None: the
#: source, the picture being repainted or encoded).
_ENDS: dict[tuple[str, str], str | None] = {
    ("InpaintModelConditioning", "pixels"): None,
    ("VAEEncode", "pixels"): None,
    ("VAEEncodeForInpaint", "pixels"): None,
    ("VAEEncodeTiled", "pixels"): None,
    ("InpaintModelConditioning", "mask"): "mask",
    ("VAEEncodeForInpaint", "mask"): "mask",
    ("SetLatentNoiseMask", "mask"): "mask",
    ("InstructPixToPixConditioning", "pixels"): "control_image",
    ("ControlNetApply", "image"): "control_image",
    ("ControlNetApplyAdvanced", "image"): "control_image",
    ("ControlNetApplySD3", "image"): "control_image",
    ("CLIPVisionEncode", "image"): "redux",
}
#: Words in a LoRA's file name that make it a structure-control LoRA, not a style one.
CONTROL_LORA_WORDS = ("canny", "depth")


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and isinstance(value[1], int)


def _key(node_id: str) -> tuple:
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)


def consumers(workflow: dict) -> dict[str, list[tuple[str, str, int]]]:
    """node id -> [(consumer id, its input name, output index used)], in node order."""
    found: dict[str, list[tuple[str, str, int]]] = {}
    for nid in sorted(workflow, key=_key):
        for name, value in (workflow[nid].get("inputs") or {}).items():
            if _is_link(value) and value[0] in workflow:
                found.setdefault(value[0], []).append((nid, name, value[1]))
    return found


def _use_of(workflow: dict, loader: str, users: dict, depth: int = 8) -> str | None:
    """What ``loader``'s image is for: "mask", "control_image", "redux", or None."""
    if workflow[loader]["class_type"] == "LoadImageMask":
        return "mask"
    ends: list[str | None] = []
    queue = deque([(loader, 0)])
    seen = {loader}
    while queue:
        nid, level = queue.popleft()
        for user, name, socket in users.get(nid, []):
            # past the loader only the first output carries the same picture on (the
            # second of ImagePadForOutpaint is a new mask, not this image)
            if nid != loader and socket != 0:
                continue
            end = (workflow[user]["class_type"], name)
            if end in _ENDS:
                ends.append(_ENDS[end])
            elif user not in seen and level < depth:
                seen.add(user)
                queue.append((user, level + 1))
    if None in ends or not ends:
        return None
    return ends[0]


def image_uses(workflow: dict) -> dict[str, str]:
    """Image loader id -> the tool role of its image, for loaders that are not the source."""
    users = consumers(workflow)
    uses = {}
    for nid in sorted(workflow, key=_key):
        if workflow[nid].get("class_type") in IMAGE_LOADERS:
            use = _use_of(workflow, nid, users)
            if use is not None:
                uses[nid] = use
    return uses


def is_control_lora(node: dict) -> bool:
    name = str((node.get("inputs") or {}).get("lora_name", "")).lower()
    return node.get("class_type") in ("LoraLoaderModelOnly", "LoraLoader") and any(
        word in name for word in CONTROL_LORA_WORDS)


def redux_chain(workflow: dict) -> list[str]:
    """The StyleModelApply nodes, first-applied first (each reads the one before)."""
    applies = [n for n in workflow if workflow[n]["class_type"] == "StyleModelApply"]

    def depth(nid: str) -> int:
        count, current = 0, nid
        while current is not None and count <= len(applies):
            link = (workflow[current].get("inputs") or {}).get("conditioning")
            current = link[0] if _is_link(link) and link[0] in applies else None
            count += current is not None
        return count

    return sorted(applies, key=lambda n: (depth(n), _key(n)))


def reference_loader(workflow: dict, apply_id: str) -> str | None:
    """The image loader whose picture a StyleModelApply's CLIP vision output encodes."""
    link = (workflow[apply_id].get("inputs") or {}).get("clip_vision_output")
    stack = [link[0]] if _is_link(link) and link[0] in workflow else []
    seen: set[str] = set()
    while stack:
        nid = stack.pop()
        if nid in seen:
            continue
        seen.add(nid)
        if workflow[nid]["class_type"] in IMAGE_LOADERS:
            return nid
        for name, value in (workflow[nid].get("inputs") or {}).items():
            if _is_link(value) and value[0] in workflow and name != "clip_vision":
                stack.append(value[0])
    return None


def find_tool_roles(workflow: dict, roles: Any, uses: dict[str, str], slot) -> None:
    """Add the tools' roles to ``roles`` (a `graph.Roles`); ``slot(node, input)`` makes
    a `graph.Slot`.  Control LoRAs leave ``roles.loras`` (a prompt's LoRAs never go
    into them)."""
    for nid, use in uses.items():
        if use in ("mask", "control_image") and use not in roles.tools:
            roles.tools[use] = slot(nid, "image")
            roles.how[use] = f"{workflow[nid]['class_type']} feeding the {use.replace('_', ' ')}"
    for nid in sorted(workflow, key=_key):
        node, kind = workflow[nid], workflow[nid]["class_type"]
        if is_control_lora(node):
            roles.loras = [n for n in roles.loras if n != nid]
            roles.tools.setdefault("control_strength", slot(nid, "strength_model"))
        elif kind == "ImagePadForOutpaint" and "outpaint_left" not in roles.tools:
            for side in ("left", "top", "right", "bottom"):
                roles.tools[f"outpaint_{side}"] = slot(nid, side)
            roles.tools.setdefault("mask_feather", slot(nid, "feathering"))
        elif kind == "GrowMask":
            roles.tools.setdefault("mask_grow", slot(nid, "expand"))
    for apply_id in redux_chain(workflow):
        loader = reference_loader(workflow, apply_id)
        roles.redux.append((slot(loader, "image") if loader else None,
                            slot(apply_id, "strength")))
