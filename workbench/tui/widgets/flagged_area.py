"""A multi-line field (raw text, notes) that marks the linter's spans one by one, as the
one-line fields do, instead of tinting the whole field: through TextArea's own highlight
map (what its syntax highlighting uses), so the marks follow the text as it wraps."""

from __future__ import annotations

from rich.style import Style
from textual.widgets import TextArea


class FlaggedTextArea(TextArea):
    #: the linter's spans: offsets in the text and a rich style (set by the editor)
    spans: list[tuple[int, int, str]] = []

    def set_spans(self, spans: list[tuple[int, int, str]]) -> None:
        if spans != self.spans:
            self.spans = list(spans)
            self._build_highlight_map()
            self.refresh()

    def _build_highlight_map(self) -> None:
        super()._build_highlight_map()  # (clears the map; no language: adds nothing)
        if not self.spans:
            return
        text = self.text
        theme = self._theme
        for n, (start, end, style) in enumerate(self.spans):
            start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
            if start == end:  # a point ("missing subject"): the whole field
                start, end = 0, len(text)
            name = f"lint-span-{n}"
            if theme is not None:
                theme.syntax_styles[name] = Style.parse(style)
            self._mark(start, end, name)

    def _mark(self, start: int, end: int, name: str) -> None:
        """Add ``start``..``end`` (offsets in the text) to the highlight map, per line in
        UTF-8 byte columns as TextArea counts them."""
        document = self.document
        (top, left), (bottom, right) = (document.get_location_from_index(start),
                                        document.get_location_from_index(end))
        for row in range(top, bottom + 1):
            line = document.get_line(row)
            first = left if row == top else 0
            last = right if row == bottom else len(line)
            if last > first:
                self._highlights[row].append((len(line[:first].encode()),
                                              len(line[:last].encode()), name))

    def render_line(self, y: int):
        if self.spans and self._theme is not None and \
                "lint-span-0" not in self._theme.syntax_styles:
            self._build_highlight_map()  # the theme was made anew (a theme change)
        return super().render_line(y)
