"""The library browser: every prompt of the open collection, filtered as you type.

Filter words match prompt names (and library titles); ``#tag`` matches a tag and
``@schnell`` a model variant.  The browser holds no state of its own beyond the mapping from
list rows to (library, spec); it posts `PromptBrowser.Chosen` when the highlight moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ...collection import Collection
from ...library import Library
from ...spec import PromptSpec
from ...textsafe import sanitize


def matches(query: str, library: Library, spec: PromptSpec) -> bool:
    for word in query.lower().split():
        if word.startswith("#"):
            if not any(word[1:] in tag.lower() for tag in spec.tags):
                return False
        elif word.startswith("@"):
            if not spec.model.startswith(word[1:]):
                return False
        elif word not in spec.name.lower() and word not in library.title.lower():
            return False
    return True


def row_label(spec: PromptSpec, ordinal: int = 0) -> Text:
    """A browser row; ``ordinal`` > 0 marks the Nth of several prompts with one name
    (what `workbench run NAME#N` calls it)."""
    label = Text(sanitize(spec.name), overflow="ellipsis", no_wrap=True)
    if ordinal:
        label.append(f" #{ordinal}", style="bold reverse")
    if spec.model != "dev":
        label.append(f" {sanitize(spec.model)}", style="dim italic")
    return label


def _ordinals(collection: Collection) -> dict[int, int]:
    """id(spec) -> N for prompts sharing their name with another (1, 2, ... in order)."""
    by_name: dict[str, list[PromptSpec]] = {}
    for library in collection.libraries:
        for spec in library.prompts:
            by_name.setdefault(spec.name, []).append(spec)
    return {id(spec): n for specs in by_name.values() if len(specs) > 1
            for n, spec in enumerate(specs, start=1)}


class PromptBrowser(Vertical):
    """Filter box over a list of prompts grouped by library."""

    @dataclass
    class Chosen(Message):
        library: Library
        spec: PromptSpec
        activated: bool  # Enter pressed (True) or just highlighted (False)

    def __init__(self, collection: Collection, **kwargs) -> None:
        super().__init__(**kwargs)
        self.collection = collection
        self._rows: dict[str, tuple[Library, PromptSpec]] = {}
        self._ordinals: dict[int, int] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Filter: name #tag @model", id="filter", compact=True)
        yield OptionList(id="prompts")

    def on_mount(self) -> None:
        self.refresh_rows()

    @property
    def option_list(self) -> OptionList:
        return self.query_one("#prompts", OptionList)

    def refresh_rows(self, select: PromptSpec | None = None) -> None:
        """Rebuild the rows (after a filter change or an add/remove), keeping the selection."""
        if select is None:
            select = self.current[1] if self.current else None
        query = self.query_one("#filter", Input).value
        options: list[Option] = []
        self._rows.clear()
        self._ordinals = _ordinals(self.collection)
        for li, library in enumerate(self.collection.libraries):
            shown = [s for s in library.prompts if matches(query, library, s)]
            if not shown and query:
                continue
            header = Text(sanitize(library.title), style="bold")
            header.append(f"  {len(shown)}", style="dim")
            options.append(Option(header, id=f"lib{li}", disabled=True))
            for spec in shown:
                row_id = f"p{len(self._rows)}"
                self._rows[row_id] = (library, spec)
                options.append(Option(row_label(spec, self._ordinals.get(id(spec), 0)),
                                      id=row_id))
        option_list = self.option_list
        with self.prevent(OptionList.OptionHighlighted):
            option_list.set_options(options)
        target = next((rid for rid, (_, s) in self._rows.items() if s is select), None)
        if target is None and self._rows:
            target = next(iter(self._rows))
        if target is not None:
            option_list.highlighted = option_list.get_option_index(target)
        else:
            option_list.highlighted = None

    @property
    def current(self) -> tuple[Library, PromptSpec] | None:
        option = self.option_list.highlighted_option
        if option is None or option.id not in self._rows:
            return None
        return self._rows[option.id]

    def relabel(self, spec: PromptSpec) -> None:
        for row_id, (_, row_spec) in self._rows.items():
            if row_spec is spec:
                self._ordinals = _ordinals(self.collection)
                self.option_list.replace_option_prompt(
                    row_id, row_label(spec, self._ordinals.get(id(spec), 0)))

    def visible_count(self) -> int:
        return len(self._rows)

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.refresh_rows()
        if self.current:
            self.post_message(self.Chosen(*self.current, activated=False))

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.option_list.focus()

    @on(OptionList.OptionHighlighted, "#prompts")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id in self._rows:
            self.post_message(self.Chosen(*self._rows[event.option.id], activated=False))

    @on(OptionList.OptionSelected, "#prompts")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id in self._rows:
            self.post_message(self.Chosen(*self._rows[event.option.id], activated=True))
