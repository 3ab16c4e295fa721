"""One line at the bottom: which library, whether it is saved, what needs attention."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...textsafe import sanitize


class StatusBar(Static):
    _line: Text | None = None
    def set_state(self, library: str, state: str, detail: str = "",
                  level: str = "ok") -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {sanitize(library)} ", style="bold")
        style = {"ok": "", "busy": "italic", "warn": "bold reverse", "error": "bold reverse"}
        line.append(f" {sanitize(state)} ", style=style.get(level, ""))
        if detail:
            line.append(f"  {sanitize(detail)}")
        self.set_class(level in ("warn", "error"), "-alert")
        if line == self._line:  # (asked at every key: a repaint of the bottom line would
            return              # widen each keystroke's screen update to the whole screen)
        self._line = line
        self.update(line, layout=False)  # one line, its size fixed: no screen layout
