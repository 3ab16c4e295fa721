"""Making outside text safe to show: no terminal escapes, no Rich markup, one line if asked.

Text from a library file, a ComfyUI server or an LLM may carry ESC sequences or ``[bold]``
markup.  Widgets get it as `rich.text.Text` (never parsed as markup); anything printed to a
terminal goes through `printable` first.
"""

from __future__ import annotations

import re

# CSI/OSC/other escape sequences first, then any lone control characters left.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without escape sequences or control characters (newlines and tabs kept)."""
    return _CONTROLS.sub("\N{REPLACEMENT CHARACTER}", _ESCAPES.sub("", text))


def one_line(text: str) -> str:
    """`printable` on a single line: tabs and newlines become spaces."""
    return " ".join(printable(text).split())
