"""The last line of defence: no control character or bidi override reaches the terminal.

Every widget sanitises the outside text it shows (`workbench.textsafe.sanitize`); this
line filter runs over every rendered line as well, so a string that slipped past a widget
(a server message in a screen added later, say) still cannot write an escape sequence to
the user's terminal.  The characters it drops take no cells, so layout is unchanged.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from ..textsafe import UNSAFE


class TerminalSafety(LineFilter):
    """Drops C0/C1 controls and bidi overrides from every rendered segment's text."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not any(UNSAFE.search(segment.text) for segment in segments):
            return segments
        return [segment if segment.control or not UNSAFE.search(segment.text)
                else Segment(UNSAFE.sub("", segment.text), segment.style)
                for segment in segments]
