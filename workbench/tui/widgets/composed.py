"""The live pane with the composed prompt and its size."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...compose import compose, word_count
from ...spec import PromptSpec
from ...textsafe import sanitize


def estimate_tokens(text: str) -> int:
    """A rough T5 token count (English averages ~1.3 tokens a word, more for odd text)."""
    return max(round(word_count(text) * 1.3), round(len(text) / 4))


class ComposedPane(Static):
    """Shows exactly the text FLUX will get; outside text is never parsed as markup."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.border_title = "Composed prompt"
        self.text = ""

    def show(self, spec: PromptSpec | None,
             spans: list[tuple[int, int, str]] | None = None) -> None:
        self.text = compose(spec) if spec is not None else ""
        if spec is None:
            self.update(Text("No prompt selected. F3 creates one.", style="dim"))
            self.border_subtitle = ""
            return
        if self.text:
            shown = Text(sanitize(self.text, multiline=True, keep_length=True))
            for start, end, style in spans or ():
                shown.stylize(style, start, end)
            self.update(shown)
        else:
            self.update(Text("Empty: fill in a subject to start.", style="dim"))
        mode = "raw · " if spec.is_raw else ""
        self.border_subtitle = (f"{mode}{word_count(self.text)} words · {len(self.text)} chars"
                                f" · ~{estimate_tokens(self.text)} tokens (est.)")
