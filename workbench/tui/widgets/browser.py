"""The library browser: every prompt of the open collection, filtered as you type.

Filter words match prompt names (and library titles); ``#tag`` matches a tag and
``@schnell`` a model variant.  The browser holds no state of its own beyond the mapping from
list rows to (library, spec); it posts `PromptBrowser.Chosen` when the highlight moves.

A library can hold 10,000 prompts: the list (`PromptList`, an OptionList) builds a row's
text only when the row is drawn, and knows every row is one line high without measuring
any, so opening or filtering costs a pass over the specs, not a rendering of each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from ...collection import Collection
from ...library import Library
from ...spec import PromptSpec
from ...textsafe import sanitize
from .editor import CompactInput


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


#: Names sharing this many first characters with another are shown as their start, "…"
#: and where they differ: a narrow list would cut them all to the same text.
SHARED_PREFIX = 16
_HEAD = 10


def short_name(name: str, shared: int) -> str:
    """``name`` with the ``shared`` first characters it has in common with another name
    folded to "…" (its first word or so kept), so that its distinguishing end shows."""
    if shared < SHARED_PREFIX or len(name) <= _HEAD + 4:
        return name
    # from about the word where they differ: "…car", "…› 2b", "…copy (2)"
    cut = name.rfind(" ", 0, max(0, shared - 3))
    cut = cut + 1 if cut > _HEAD else shared
    return f"{name[:_HEAD].rstrip()}…{name[cut:].lstrip()}"


def _shared_prefixes(collection: Collection) -> dict[int, int]:
    """id(spec) -> how many first characters its name shares with the nearest other name
    (only long names: a short one fits the list whole)."""
    names = sorted((spec.name, id(spec)) for library in collection.libraries
                   for spec in library.prompts if len(spec.name) > SHARED_PREFIX)
    shared: dict[int, int] = {}
    for (a, ida), (b, idb) in zip(names, names[1:]):
        n = len(os.path.commonprefix([a, b]))
        if n >= SHARED_PREFIX and a != b:
            shared[ida], shared[idb] = max(shared.get(ida, 0), n), max(shared.get(idb, 0), n)
    return shared


def row_label(spec: PromptSpec, ordinal: int = 0, shared: int = 0) -> Text:
    """A browser row; ``ordinal`` > 0 marks the Nth of several prompts with one name
    (what `workbench run NAME#N` calls it); ``shared``: see `short_name`."""
    label = Text(sanitize(short_name(spec.name, shared)), overflow="ellipsis", no_wrap=True)
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


class _Row(Option):
    """A prompt's row: its text is made the first time the row is drawn."""

    def __init__(self, spec: PromptSpec, ordinal: int, id: str, shared: int = 0) -> None:
        super().__init__("", id=id)
        self._prompt = None
        self.spec, self.ordinal, self.shared = spec, ordinal, shared

    @property
    def prompt(self) -> Text:
        if self._prompt is None:
            self._prompt = row_label(self.spec, self.ordinal, self.shared)
        return self._prompt


class PromptList(OptionList):
    """An OptionList whose rows are all one line (``text-wrap: nowrap``, ellipsis): the
    line map is a count, not a measurement of every row's text at the list's width."""

    def _update_lines(self) -> None:
        if not self.scrollable_content_region:
            return
        cache = self._line_cache
        count = len(self.options)
        done = len(cache.lines)
        if done > count:
            cache.clear()
            done = 0
        if done < count:
            new = range(done, count)
            cache.lines.extend(zip(new, [0] * len(new)))
            cache.heights.update(dict.fromkeys(new, 1))
            cache.index_to_line.update(zip(new, new))
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        virtual_size = Size(width, count)
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.options)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width  # rows are cut to the width with an ellipsis


class PromptBrowser(Vertical):
    """Filter box over a list of prompts grouped by library."""

    ABOUT = ("Prompt list\nYour prompts, grouped by library. ↑/↓ selects one to edit; Enter "
             "goes to its Subject; type in the filter (Ctrl+F) a name, #tag or @model.")

    @dataclass
    class Chosen(Message):
        """A prompt was highlighted or activated (Enter)."""
        library: Library
        spec: PromptSpec
        activated: bool  # Enter pressed (True) or just highlighted (False)

    class NoneShown(Message):
        """The filter matches no prompt: nothing is selected (the editor goes blank)."""

    def __init__(self, collection: Collection, **kwargs) -> None:
        super().__init__(**kwargs)
        self.collection = collection
        self._rows: dict[str, tuple[Library, PromptSpec]] = {}
        self._row_of: dict[int, _Row] = {}   # id(spec) -> its row, while shown
        self._ordinals: dict[int, int] = {}

    def compose(self) -> ComposeResult:
        yield CompactInput(placeholder="Filter: name #tag @model", id="filter")
        yield PromptList(id="prompts")

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
        self._row_of.clear()
        self._ordinals = ordinals = _ordinals(self.collection)
        shared = _shared_prefixes(self.collection)
        target = None
        for li, library in enumerate(self.collection.libraries):
            shown = ([s for s in library.prompts if matches(query, library, s)] if query
                     else library.prompts)
            if not shown and query:
                continue
            header = Text(sanitize(library.title), style="bold", no_wrap=True,
                          overflow="ellipsis")
            header.append(f"  {len(shown)}", style="dim")
            options.append(Option(header, id=f"lib{li}", disabled=True))
            for spec in shown:
                row_id = f"p{len(self._rows)}"
                self._rows[row_id] = (library, spec)
                row = self._row_of[id(spec)] = _Row(spec, ordinals.get(id(spec), 0), row_id,
                                                    shared.get(id(spec), 0))
                options.append(row)
                if spec is select:
                    target = row_id
        if query and not self._rows:
            options.append(Option(Text("No prompts match", style="italic"), id="no-match",
                                  disabled=True))  # (the filter above says what)
        option_list = self.option_list
        with self.prevent(OptionList.OptionHighlighted):
            option_list.set_options(options)
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
        """Redraw the row of ``spec`` after its name changed, and of any prompt whose
        ordinal (the N of a shared name) changed with it."""
        old, self._ordinals = self._ordinals, _ordinals(self.collection)
        shared = _shared_prefixes(self.collection)
        changed = {id(spec)} | {key for key in old.keys() | self._ordinals.keys()
                                if old.get(key) != self._ordinals.get(key)}
        changed |= {key for key, row in self._row_of.items()
                    if row.shared != shared.get(key, 0)}
        for key in changed:
            row = self._row_of.get(key)
            if row is not None:
                row.ordinal, row.shared = self._ordinals.get(key, 0), shared.get(key, 0)
                self.option_list.replace_option_prompt(
                    row.id, row_label(row.spec, row.ordinal, row.shared))

    def visible_count(self) -> int:
        return len(self._rows)

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self.refresh_rows()
        if self.current:
            self.post_message(self.Chosen(*self.current, activated=False))
        else:
            self.post_message(self.NoneShown())

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
