"""The diagnostics panel: what the linter found in the prompt being edited.

Each row says how bad (a letter as well as a colour, so it reads without colour), which
field and the message; the highlighted row's rationale and source show below.  Enter jumps
to the span in its field, ``f`` applies the row's fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...textsafe import sanitize
from ..actions import bindings

if TYPE_CHECKING:  # the linter loads after the first frame
    from ...lint import Diagnostic

SEVERITY_MARK = {"error": ("E", "bold red"), "warning": ("W", "bold yellow"),
                 "info": ("i", "cyan")}
SPAN_STYLE = {"error": "underline bold red", "warning": "underline yellow",
              "info": "underline"}


def row(diagnostic: Diagnostic) -> Text:
    mark, style = SEVERITY_MARK.get(diagnostic.severity, ("?", ""))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{mark} ", style=style)
    text.append(f"{diagnostic.field}: ", style="dim")
    text.append(sanitize(diagnostic.message))
    if diagnostic.fix is not None:
        text.append("  [f: fix]" if diagnostic.fix.safe else "  [f: fix, check it]",
                    style="dim italic")
    return text


def summary(diagnostics: list[Diagnostic]) -> str:
    counts = {s: sum(d.severity == s for d in diagnostics) for s in SEVERITY_MARK}
    parts = [f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in counts.items() if n]
    return ", ".join(parts) if parts else "no problems"


class ProblemsPanel(OptionList):  # noqa: D101
    BINDINGS = [*bindings("problems"), Binding("enter", "select", "Go to", show=False)]
    HELP_SCOPE = "problems"
    ABOUT = ("Problems\nThe linter's findings for this prompt, worst first. Enter goes to "
             "the text it is about; F applies its fix.")

    @dataclass
    class Jump(Message):
        """Enter on a row: go to the span in its field."""
        diagnostic: Diagnostic

    @dataclass
    class ApplyFix(Message):
        """``f`` on a row: apply its fix."""
        diagnostic: Diagnostic

    @dataclass
    class AskAssist(Message):
        """The problem's fix is an LLM action (translate, rewrite): offer it."""

        action: str

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.diagnostics: list[Diagnostic] = []
        self.border_title = "Problems"
        self.display = False  # shown while there is something to show

    def show(self, diagnostics: list[Diagnostic]) -> None:
        if diagnostics == self.diagnostics:
            return
        highlighted = self.highlighted
        self.diagnostics = diagnostics
        self.set_options([Option(row(d)) for d in diagnostics])
        if diagnostics:
            self.highlighted = min(highlighted or 0, len(diagnostics) - 1)
        self.border_subtitle = summary(diagnostics)
        self.display = bool(diagnostics)
        self._explain()

    def _get_visual(self, option: Option):
        """The highlighted row is drawn in the theme's cursor colours alone: a severity
        or field colour of its own could match the cursor (yellow on yellow, white on
        white in high contrast).  (Textual renders each option once per style.)"""
        if self.highlighted is not None and option is self.options[self.highlighted]:
            from textual.visual import visualize

            prompt = option.prompt
            plain = Text(prompt.plain if isinstance(prompt, Text) else str(prompt),
                         style="bold", no_wrap=True, overflow="ellipsis")
            return visualize(self, plain, markup=False)
        return super()._get_visual(option)

    @property
    def current(self) -> Diagnostic | None:
        if self.highlighted is None or not self.diagnostics:
            return None
        return self.diagnostics[self.highlighted]

    def _explain(self) -> None:
        current = self.current
        self.tooltip = (Text(sanitize(
            f"{current.code} {current.rule}: {current.rationale}"
            f"{' (' + current.source + ')' if current.source else ''}"
            f"{chr(10) + current.suggestion if current.suggestion else ''}", multiline=True))
            if current else None)

    @on(OptionList.OptionHighlighted)
    def _moved(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._explain()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.current is not None:
            self.post_message(self.Jump(self.current))

    def action_fix(self) -> None:
        current = self.current
        if current is not None and current.fix is None and current.action:
            self.post_message(self.AskAssist(current.action))
            return
        if current is None or current.fix is None:
            self.app.notify("This problem has no automatic fix", severity="warning")
            return
        self.post_message(self.ApplyFix(current))
