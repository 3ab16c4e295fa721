"""The live pane with the composed prompt and its size: words, characters and exact T5 and
CLIP-L token counts, with the end of CLIP-L's 77-token window marked in the text."""

from __future__ import annotations

from rich.text import Text

from ... import tokens
from ...compose import compose, word_count
from ...spec import PromptSpec
from ...textsafe import sanitize
from .lines_static import LinesStatic

#: Marks where CLIP-L stops reading; the text after it is dimmed.
CLIP_MARK = "┊"


def estimate_tokens(text: str) -> int:
    """A rough T5 token count (English averages ~1.3 tokens a word, more for odd text)."""
    return max(round(word_count(text) * 1.3), round(len(text) / 4))


class ComposedPane(LinesStatic):
    """Shows exactly the text FLUX will get; outside text is never parsed as markup."""

    ABOUT = ("Composed prompt\nExactly the text FLUX gets, built from the fields; the "
             "border counts words and T5/CLIP-L tokens (CLIP-L reads only the first 77).")

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.border_title = "Composed prompt"
        self.text = ""
        self._shown: tuple[PromptSpec | None, list | None] = (None, None)

    def on_mount(self) -> None:
        if not tokens.loaded():  # after the first frame: it holds the GIL for a while
            self.call_after_refresh(self._start_loading)

    def _start_loading(self) -> None:
        # half a second of loading: never on the UI thread
        self.run_worker(self._load_tokenizers, thread=True, group="tokenizers",
                        exit_on_error=False)

    def _load_tokenizers(self) -> None:
        try:
            tokens.preload()
        except tokens.TokenizerUnavailable:
            return  # the estimate stays
        self.app.call_from_thread(self._recount)

    def _recount(self) -> None:
        spec, spans = self._shown
        if spec is not None:
            self.show(spec, spans)

    def show(self, spec: PromptSpec | None,
             spans: list[tuple[int, int, str]] | None = None) -> None:
        self._shown = (spec, spans)
        self.text = compose(spec) if spec is not None else ""
        if spec is None:
            self.update(Text("No prompt selected. F3 creates one.", style="dim"))
            self.border_subtitle = ""
            return
        counted = self._count(self.text)
        if self.text:
            shown = Text(sanitize(self.text, multiline=True, keep_length=True))
            for start, end, style in spans or ():
                shown.stylize(style, start, end)
            cut = counted.clip_cut if counted is not None else None
            if cut is not None and 0 < cut < len(self.text):
                head, tail = shown.divide([cut])
                tail.stylize("dim")
                shown = Text.assemble(head, (CLIP_MARK, "bold"), tail)
            self.update(shown)
        else:
            self.update(Text("Empty: fill in a subject to start.", style="dim"))
        mode = "raw · " if spec.is_raw else ""
        size = f"{mode}{word_count(self.text)} words"
        if counted is None:
            self.border_subtitle = (f"{size} · {len(self.text)} chars · "
                                    f"~{estimate_tokens(self.text)} tokens (est.)")
            return
        budget = tokens.T5_BUDGET.get(spec.model, 512)
        over = " over!" if counted.t5 > budget else ""
        clip = f"CLIP-L {counted.clip}/{tokens.CLIP_WINDOW}"
        if counted.clip_cut is not None:
            clip += f", ends at {CLIP_MARK}"
        self.border_subtitle = f"{size} · T5 {counted.t5}/{budget}{over} · {clip}"

    @staticmethod
    def _count(text: str):
        if not tokens.loaded():
            return None
        try:
            return tokens.count(text)
        except tokens.TokenizerUnavailable:
            return None
