"""Kontext rules about the run rather than the words: the ~1 MP sizes Kontext was trained
on (FX303) and chains of successive edits (``follows``: FX304, FX305).

Sources: the Kontext deployment note (seed 004: FluxKontextImageScale's size list) and the
Kontext announcement (seed 001: after six successive edits quality visibly degrades).
"""

from __future__ import annotations

from ...presets import KONTEXT_SIZES, nearest_kontext_size
from ..diagnostic import Edit, Fix
from ..registry import Hit, rule


@rule("kontext-size", "FX303", "warning",
      when=lambda ctx: ctx.spec.model == "kontext", params=("width", "height"),
      family="kontext",
      fix="unsafe",
      summary="Kontext run at a size off its preferred ~1 MP list",
      rationale="Kontext was trained on a fixed list of ~1 MP sizes from 672x1568 to "
                "1568x672 (ComfyUI's FluxKontextImageScale snaps to it); other sizes "
                "degrade edits.",
      source="Kontext deployment note (seed 004); ComfyUI FluxKontextImageScale; Kontext "
             "announcement (seed 001)")
def kontext_size(ctx):
    if ctx.spec.model != "kontext":
        return
    width, height = ctx.param("width"), ctx.param("height")
    if not width or not height or width <= 0 or height <= 0 or (width, height) in KONTEXT_SIZES:
        return
    w, h = nearest_kontext_size(width, height)
    edits = []
    for name, value in (("width", w), ("height", h)):
        current = getattr(ctx.spec.params, name)
        current = "" if current is None else str(current)
        edits.append(Edit(name, 0, len(current), str(value)))
    field = "width" if ctx.spec.params.width is not None else "height"
    text = getattr(ctx.spec.params, field)
    yield Hit(field, 0, len("" if text is None else str(text)),
              f"{width}x{height} is not a Kontext size; nearest is {w}x{h}",
              fix=Fix(f"use {w}x{h}", tuple(edits)))


MAX_CHAIN = 6


def chain(ctx) -> tuple[list[str], bool]:
    """Names from this spec back along ``follows`` (this one first), and whether it loops
    or breaks (a name missing from the context)."""
    names = [ctx.spec.name]
    spec = ctx.spec
    seen = {spec.name}
    while spec.follows.strip():
        parent = ctx.context.get(spec.follows.strip()) if ctx.context is not None else None
        if parent is None or parent.name in seen:
            return names, True
        names.append(parent.name)
        seen.add(parent.name)
        spec = parent
    return names, False


@rule("edit-chain-depth", "FX304", "warning",
      needs=("follows",), family="kontext",
      summary="more than 6 successive Kontext edits",
      rationale="Each Kontext edit works on the previous result; after about six "
                "successive edits the image visibly degrades and artifacts appear. Start a "
                "fresh chain from a clean image, or fold several steps into one.",
      source="Kontext announcement (seed 001), failure cases: after six iterative edits "
             "the generation degrades")
def edit_chain_depth(ctx):
    if ctx.spec.model != "kontext" or not ctx.spec.follows.strip() or ctx.context is None:
        return
    names, _ = chain(ctx)
    if len(names) > MAX_CHAIN:
        yield Hit("follows", 0, len(ctx.spec.follows),
                  f"edit {len(names)} in a chain of successive Kontext edits (more than "
                  f"{MAX_CHAIN} degrades quality)",
                  suggestion="regenerate from the original with one combined instruction")


@rule("follows-broken", "FX305", "error",
      needs=("follows",), family="kontext",
      summary="`follows` names a prompt that is not in the library, or the chain loops",
      rationale="An edit continues the result of the prompt named in `follows`; if that "
                "prompt does not exist or the chain loops back, there is no image to edit.",
      source="Kontext announcement (seed 001): iterative editing builds on previous edits")
def follows_broken(ctx):
    follows = ctx.spec.follows
    if not follows.strip() or ctx.context is None:
        return
    names, broken = chain(ctx)
    if broken:
        missing = ctx.context.get(follows.strip()) is None
        yield Hit("follows", 0, len(follows),
                  f"no prompt named {follows.strip()!r} in the library" if missing
                  else "the edit chain loops back on itself")


__all__ = ["MAX_CHAIN", "chain"]
