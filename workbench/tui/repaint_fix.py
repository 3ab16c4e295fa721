"""A fix for stale text after a layout change (a panel that appears or goes, a row
mounted): Textual 8's compositor repainted only part of what moved.

Where it is, in Textual (8.2.8): `Compositor.reflow` (``_compositor.py``, "old_map =
self._full_map") marks dirty the regions of the widgets whose geometry differs between
the previous map and the new one.  But ``_full_map`` is also written by the lazy
`Compositor.full_map` property, which re-arranges the whole tree whenever the map was
invalidated (after any scroll, `reflow_visible`, or an update of a widget not yet
mapped) and someone asks for a widget's region (`Widget.region` -> `Screen.find_widget`,
which Textual itself does when a mount completes: `await_mount` -> `refresh` ->
`_set_dirty` -> `size`).  Asked between a change of the DOM (``display = True``, a mount)
and the next layout, it stores the *new* geometry; the reflow then compares the new map
with itself, finds nothing moved, and the widgets that moved are never repainted: the
runs panel appearing left a second "Composed prompt" header on screen until a resize
(issue 14, item 8).  The same diff gives the ``shown`` and ``resized`` sets, so such a
widget also missed its Resize event.

The fix keeps, per compositor, the map the last layout produced (what is on screen) and
makes `reflow` diff against it instead of a lazily rebuilt one; a scroll's partial
layout updates it.  At worst a region is repainted that did not need it, never the
reverse.  Installed once, by the app (`install`); harmless if Textual fixes it upstream.
"""

from __future__ import annotations

from textual._compositor import Compositor

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    reflow, reflow_visible = Compositor.reflow, Compositor.reflow_visible

    def laid_out_reflow(self: Compositor, parent, size):
        laid_out = getattr(self, "_laid_out_map", None)
        if laid_out is not None:
            self._full_map = laid_out  # what the last layout put on screen
        result = reflow(self, parent, size)
        self._laid_out_map = self._full_map
        return result

    def laid_out_reflow_visible(self: Compositor, parent, size):
        exposed = reflow_visible(self, parent, size)
        laid_out = getattr(self, "_laid_out_map", None)
        if laid_out is not None and self._visible_map is not None:
            self._laid_out_map = {**laid_out, **self._visible_map}
        return exposed

    Compositor.reflow = laid_out_reflow
    Compositor.reflow_visible = laid_out_reflow_visible
