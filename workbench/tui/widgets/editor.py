"""The structured editor: one input per spec field, multi-line where it helps.

It edits the spec object it was given in place through `workbench.fields` (which owns the
labels and parsing) and reports each accepted change to its screen (`SpecEditor.Edited`).
A value that does not parse (a half-typed number) is marked invalid and not applied, so
nothing is lost; its message stays in `parse_error` until the field parses again or another
prompt is shown.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.geometry import Size
from textual.lazy import Lazy
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from ...fields import FORM_BY_KEY, FORMS, FieldForm, field_text, set_field
from ...spec import VARIANTS, PromptSpec, unset_default
from ...textsafe import sanitize
from .lines_static import LinesStatic

VARIANT_HELP = {"dev": "FLUX.1 dev: quality, 20-50 steps",
                "schnell": "FLUX.1 schnell: fast drafts, 1-4 steps",
                "kontext": "FLUX.1 Kontext: edits a source image"}
_GROUP_TITLES = {"layers": "Layers", "image": "Source", "tools": "FLUX tools",
                 "params": "Generation",
                 "notes": "Notes"}
#: Fields below the fold at 80x24 mount right after the first frame (start-up cost grows
#: with the widget count; they are on screen a few milliseconds later all the same).
_EAGER_KEYS = ("name", "model", "tags", "subject", "action", "style", "context",
               "foreground", "midground", "background")


def _default_hint(form: FieldForm, spec: PromptSpec | None, preset=None) -> str:
    """Empty parameter inputs show what the prompt will run with instead: its preset's
    value, else its variant's default, or a FLUX tool's guidance and size
    (`spec.unset_default`)."""
    where = "default"
    default = unset_default(spec or PromptSpec(name=""), form.key)
    if preset is not None and form.key in preset.values:
        default, where = preset.values[form.key], f"preset {preset.name}"
    if default in (None, "", []):
        return form.help
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{shown} ({where}) · {form.help}"


def _preset_of(spec: PromptSpec | None):
    if spec is None or not spec.params.preset:
        return None
    from ...presets import default_presets

    return default_presets().for_spec(spec)


class FieldGrid(Grid):
    """Label | input rows for some fields, with a title row where a group starts."""

    def __init__(self, forms: list[FieldForm]) -> None:
        super().__init__(classes="field-grid")
        self.forms = forms
        self.inputs: dict[str, Widget] = {}

    def compose(self) -> ComposeResult:
        group = None
        for form in self.forms:
            # (Statics styled as Labels are, in app.tcss: Label's own stylesheet is
            # not read at start-up for them)
            if form.group != group and form.group in _GROUP_TITLES:
                yield Static(_GROUP_TITLES[form.group], classes="group-title")
            group = form.group
            yield Static(form.label, classes="field-label")
            self.inputs[form.key] = _make_input(form)
            yield self.inputs[form.key]

    def on_mount(self) -> None:
        editor = self.query_ancestor(SpecEditor)
        editor._inputs.update(self.inputs)  # no DOM queries per keystroke or refill
        editor.fill(self.forms)
        for widget in self.inputs.values():
            if isinstance(widget, CompactInput):
                widget.edited = editor._field_edited


class SpanHighlighter(Highlighter):
    """Underlines the spans the linter flagged in one field (set by the editor)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, str]] = []

    def highlight(self, text: Text) -> None:
        length = len(text)
        for start, end, style in self.spans:
            start, end = max(0, min(start, length)), max(0, min(end, length))
            if start == end:  # a point (e.g. "missing subject"): mark the whole field
                start, end = 0, length
            text.stylize(style, start, end)


class ImagePathSuggester(Suggester):
    """Completes image paths (folders and image files) relative to the library's folder;
    → accepts the suggestion."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.base: Path | None = None

    async def get_suggestion(self, value: str) -> str | None:
        from ...images.source import complete_image_field

        if not value:
            return None
        found = await asyncio.to_thread(complete_image_field, value, limit=20, cwd=self.base)
        return next((c for c in found if c.startswith(value) and c != value), None)


class CompactInput(Input):
    """A compact input (no border, one line) that is compact from the start, and whose
    keystrokes repaint it without laying out the screen.

    Textual's inputs start wide and add their ``-textual-compact`` class when ``compact``
    is set, and ``-valid`` on their first value: each class added restyles the input and
    its parts (a millisecond apiece, a score of times before the first frame).  Here both
    are there from construction, so nothing changes later.

    Each change of value sets the input's virtual (scrollable) width to its text's, and
    Textual's `virtual_size` asks for a layout of the whole screen when it changes (tens
    of milliseconds with the editor's form: most of a keystroke's cost).  This input's
    own size never depends on it (one line high, as wide as its container; an ``auto``
    size still gets its layout from `Input`), and the horizontal scrolling reads the
    value directly, so here it only repaints."""

    compact = reactive(True, toggle_class="-textual-compact")
    virtual_size = Reactive(Size(0, 0), layout=False)

    def __init__(self, *args, **kwargs) -> None:
        classes = kwargs.pop("classes", None) or ""
        super().__init__(*args, compact=True, classes=f"-textual-compact -valid {classes}",
                         **kwargs)
        # Called with the input as its value changes (not while `Input.Changed` is
        # prevented, as in a refill), in the keystroke's own handling: see `SpecEditor`.
        self.edited: Callable[[CompactInput], None] | None = None

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        if self.edited is not None and not self._is_prevented(Input.Changed):
            self.edited(self)


class LazySelect(Select):
    """A compact Select whose drop-down list is mounted when it first opens.

    Textual's Select mounts its list (an OptionList, styled and filled) with the field,
    and restyles the current value's line when it first gets a value: a tenth of the
    editor's start-up for a list most sessions never open.  Here the line is mounted with
    its value's class, and the list on the first Enter, ↑/↓, space or click; until then a
    value change only shows in the line (the list highlights the value when it is made,
    as Select does each time it opens)."""

    _current: Widget | None = None   # the value's line (Select's SelectCurrent)
    _overlay: Widget | None = None   # the list, until it is mounted

    def compose(self) -> ComposeResult:
        self._current, self._overlay = super().compose()
        if not self._allow_blank:  # (it always has a value: no restyle when it comes)
            self._current.set_reactive(type(self._current).has_value, True)
            self._current.add_class("-has-value")
        yield self._current

    def _make_overlay(self) -> None:
        if self._overlay is not None:
            overlay, self._overlay = self._overlay, None
            self.mount(overlay)
            super()._setup_options_renderables()

    def _setup_options_renderables(self) -> None:
        if self._overlay is None:  # (the list is mounted)
            super()._setup_options_renderables()

    def _watch_value(self, value) -> None:
        if self._overlay is None or self._current is None:
            super()._watch_value(value)
            return
        self._value = value  # as Select does, less the list's highlight
        prompt = next((p for p, v in self._options if v == value), self.NULL) \
            if value != self.NULL else self.NULL
        self._current.update(prompt)
        self.post_message(self.Changed(self, value))

    def _watch_expanded(self, expanded: bool) -> None:
        if expanded:
            self._make_overlay()
        super()._watch_expanded(expanded)


def _changed_messages() -> list[type[Message]]:
    """The "changed" messages of the editor's inputs; TextArea's once it is imported
    (until then there is no TextArea to send one)."""
    found = [Input.Changed, Select.Changed]
    text_area = sys.modules.get("textual.widgets._text_area")
    if text_area is not None:
        found.append(text_area.TextArea.Changed)
    return found


def _make_input(form: FieldForm) -> Widget:
    widget_id = f"f-{form.key}"
    if form.kind == "choice":
        # (each option says what the variant is: bare names under the open list read as
        # the field labels beside them, "Tags dev", "Subject schnell")
        widget = LazySelect(
            [(Text.assemble(v, (f"  {VARIANT_HELP.get(v, '')}", "dim")), v) for v in VARIANTS],
            allow_blank=False, compact=True, id=widget_id, value="dev")
    elif form.kind == "multiline":
        # (imported here: the multi-line fields are below the fold, mounted after the
        # first frame, and TextArea is a big module)
        from .flagged_area import FlaggedTextArea

        widget = FlaggedTextArea(id=widget_id, soft_wrap=True, show_line_numbers=False,
                                 compact=True, tab_behavior="focus")
    else:
        widget = CompactInput(placeholder=form.help, id=widget_id,
                       select_on_focus=False, highlighter=SpanHighlighter(),
                       suggester=ImagePathSuggester() if form.completes_paths else None)
    widget.tooltip = form.help
    return widget


class FieldPeek(LinesStatic):
    """The focused one-line field's whole value, wrapped, while it is too long for its
    input (docked under the form; hidden otherwise)."""

    @staticmethod
    def wanted(widget: Widget | None) -> bool:
        """Whether ``widget``'s value is too long for its input."""
        text = widget.value if isinstance(widget, Input) and widget.id and \
            widget.id.startswith("f-") else ""
        return bool(text) and len(text) >= max(1, widget.content_size.width)

    def follow(self, widget: Widget | None) -> None:
        shown = self.wanted(widget)
        self.display = shown
        if shown:
            label = FORM_BY_KEY[widget.id[2:]].label
            self.update(Text.assemble((f"{label}: ", "bold"), sanitize(widget.value)))


class SpecEditor(VerticalScroll):
    """The prompt's fields.  An edit is applied to the spec and reported to ``on_edit``
    in the handling of the keystroke that made it: the one-line fields call back as their
    value changes rather than through their bubbling `Input.Changed`, so the field and the
    composed prompt repaint in the same frame (each message hop let the screen paint the
    field alone first, and the next frame then came one to two frame periods later)."""

    @dataclass(frozen=True)
    class Edited:
        """What an edit changed: the spec, the field, and why its text does not parse."""

        spec: PromptSpec
        key: str
        error: str | None

    def __init__(self, on_edit: Callable[[SpecEditor.Edited], None], **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_edit = on_edit
        self.spec: PromptSpec | None = None
        self.base_dir: Path | None = None
        self._inputs: dict[str, Widget] = {}
        self._errors: dict[str, str] = {}  # field -> why its text does not parse, latest last
        self._peek: FieldPeek | None = None

    @property
    def parse_error(self) -> str | None:
        """The latest field whose text does not parse (the status line shows it)."""
        if not self._errors:
            return None
        last = next(reversed(self._errors.values()))
        more = len(self._errors) - 1
        return last + (f" (and {more} more invalid field{'s' * (more > 1)})" if more else "")

    def compose(self) -> ComposeResult:
        # Label | input grids, no container per row (start-up cost grows with the widget
        # count); what is below the fold mounts lazily, right after the first frame.
        # (the field peek is mounted when first needed: `peek`)
        yield FieldGrid([f for f in FORMS if f.key in _EAGER_KEYS])
        yield Lazy(FieldGrid([f for f in FORMS if f.key not in _EAGER_KEYS]))

    @property
    def peek(self) -> FieldPeek:
        """The field peek (hidden until a long value is focused), mounted on first use."""
        if self._peek is None:
            self._peek = FieldPeek(id="field-peek")
            self._peek.display = False
            self.mount(self._peek, before=0)
        return self._peek

    def _follow(self, widget: Widget | None) -> None:
        if self._peek is not None or FieldPeek.wanted(widget):
            self.peek.follow(widget)

    def on_descendant_focus(self, event) -> None:
        self._follow(event.widget)

    def on_descendant_blur(self, event) -> None:
        widget = event.widget
        if widget.has_focus:  # (a late message: the focus came back, maybe with a selection)
            return
        if isinstance(widget, Input) and widget.id and widget.id.startswith("f-"):
            widget.cursor_position = 0  # back to showing its start
        self._follow(self.screen.focused)

    def widget_for(self, key: str) -> Widget:
        return self._inputs[key]

    def _widget(self, key: str) -> Widget | None:
        return self._inputs.get(key)  # None: in a grid not mounted yet

    def load(self, spec: PromptSpec | None, base_dir: Path | None = None) -> None:
        """Show ``spec`` (or nothing) without treating the refill as an edit.  ``base_dir``
        is the library's folder, where relative source-image paths start."""
        changed = spec is not self.spec
        self.spec = spec
        self.base_dir = base_dir
        self.disabled = spec is None
        self.fill(FORMS)
        if changed:  # another prompt starts at its top (Name), not where the last was left
            self.scroll_home(animate=False)

    def fill(self, forms) -> None:
        spec = self.spec
        preset = _preset_of(spec)
        with self.prevent(*_changed_messages()):
            for form in forms:
                widget = self._widget(form.key)
                if widget is None:
                    continue
                text = field_text(spec, form.key) if spec is not None else ""
                # shown with control characters visible as U+FFFD (same offsets)
                multiline = form.kind == "multiline"  # a TextArea
                text = sanitize(text, multiline=multiline, keep_length=True)
                widget.remove_class("-unparsed")
                self._errors.pop(form.key, None)
                if isinstance(widget, Select):
                    widget.value = text or "dev"
                elif multiline:
                    widget.load_text(text)
                else:
                    widget.value = text
                    widget.cursor_position = 0  # a long value shows its start
                    if isinstance(widget.suggester, ImagePathSuggester):
                        widget.suggester.base = self.base_dir
                    if form.is_param:
                        widget.placeholder = _default_hint(form, spec, preset)

    def _refresh_hints(self) -> None:
        """A tool or a source image changed: the empty parameters' defaults may have too
        (their texts stay as typed)."""
        preset = _preset_of(self.spec)
        for form in FORMS:
            widget = self._widget(form.key)
            if form.is_param and isinstance(widget, Input):
                widget.placeholder = _default_hint(form, self.spec, preset)

    def mark(self, spans_by_field: dict[str, list[tuple[int, int, str]]]) -> None:
        """Show the linter's spans: underlined in inputs, a marker class elsewhere."""
        for form in FORMS:
            widget = self._widget(form.key)
            if widget is None:
                continue
            spans = spans_by_field.get(form.key, [])
            if isinstance(widget, Input) and isinstance(widget.highlighter, SpanHighlighter):
                if widget.highlighter.spans != spans:
                    widget.highlighter.spans = spans
                    widget.refresh()
            elif hasattr(widget, "set_spans"):  # a FlaggedTextArea: each span underlined
                widget.set_spans(spans)
            widget.set_class(bool(spans), "-flagged")

    def _apply(self, key: str, text: str, widget: Widget) -> None:
        if self.spec is None:
            return
        error = set_field(self.spec, key, text)
        widget.set_class(error is not None, "-unparsed")
        self._errors.pop(key, None)
        if error is not None:
            self._errors[key] = error
        if key in ("model", "preset"):  # empty parameters now default differently
            self.fill([f for f in FORMS if f.is_param and f.key != key])
        elif key == "source_image" or getattr(FORM_BY_KEY.get(key), "group", "") == "tools":
            self._refresh_hints()
        self._on_edit(self.Edited(self.spec, key, error))

    def _field_edited(self, widget: CompactInput) -> None:
        """A one-line field's value changed (called by the field, see `CompactInput`)."""
        if widget.is_attached and not self._closing:
            self._follow(widget)
            self._apply(widget.id[2:], widget.value, widget)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("f-"):
            event.stop()
            if getattr(event.input, "edited", None) is None:  # (else applied as it changed)
                self._field_edited(event.input)

    def on_text_area_changed(self, event) -> None:  # TextArea.Changed
        area = event.text_area
        if area.id and area.id.startswith("f-"):
            event.stop()
            self._apply(area.id[2:], area.text, area)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-model" and isinstance(event.value, str):
            event.stop()
            self._apply("model", event.value, event.select)
