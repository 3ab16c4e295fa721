"""Past runs, newest first; Enter opens one in the compare screen."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...textsafe import sanitize
from ..actions import bindings
from ..widgets.footer import KeyFooter


class HistoryScreen(ModalScreen[str | None]):
    """Dismisses with the chosen run folder (as a string), or None."""

    BINDINGS = bindings("history")

    def __init__(self, root=None) -> None:
        super().__init__()
        self.root = root

    def compose(self) -> ComposeResult:
        from ...judge.view import history_text
        from ...runs.history import list_runs

        self.runs = list_runs(self.root)
        with Vertical(id="dialog"):
            yield Static(Text("Runs", style="bold"), id="dialog-title")
            if not self.runs:
                yield Static(Text("No runs yet. Compare two prompts (Ctrl+T) or run one (F5)."))
            yield OptionList(*[
                Option(Text.assemble((f"{r.created[:16].replace('T', ' ')}  ", "dim"),
                                     (sanitize(r.name or r.folder.name), "bold"),
                                     f"  {r.done}/{r.cells} cells",
                                     (f"  ★{r.winners}" if r.winners else ""),
                                     (f"  {sanitize(history_text(r.judge))}"
                                      if r.judge else "", "green"),
                                     (f"  {sanitize(r.status)}", "italic")), id=str(i))
                for i, r in enumerate(self.runs)], id="history-list")
        yield KeyFooter(compact=True)

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(self.runs[int(event.option.id)].folder))
