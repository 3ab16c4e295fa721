"""A Static that asks for a layout of the screen only when its text wraps to another
number of lines that changes its size or its scrollbar: what is shown as the user types
(the composed prompt, a long field's whole value) changes at every key, its size seldom.
A layout makes that key's frame two or three times as long."""

from __future__ import annotations

from textual.visual import visualize
from textual.widgets import Static


class LinesStatic(Static):
    _lines = -1  # lines the text wraps to at the widget's width (-1: not known)

    def update(self, content="", *, layout: bool | None = None) -> None:
        if layout is None:
            width = self.scrollable_content_region.width
            lines = visualize(self, content).get_height(self.styles, width) if width else -1
            layout = lines < 0 or lines != self._lines
            if layout and lines >= 0 and self._lines >= 0 and not self.styles.is_auto_height:
                # a fixed height (the composed pane): only a scrollbar coming or going
                # changes the layout, so text that fits before and after only repaints
                layout = max(lines, self._lines) > self.scrollable_content_region.height
            self._lines = lines
        super().update(content, layout=layout)
