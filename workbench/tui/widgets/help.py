"""F1's help: what the focused thing is for (an editor field: what it does in the composed
prompt and FLUX's guidance for it) and the keys of the screen and panel in use, from the
action table.  F1 again or Esc closes it.

It lies over a side of the screen instead of taking a column from it (over the prompt
list while a field has the focus), so at 80x24 the inputs keep their width and the footer
stays whole; it is plain `Text` (no Markdown
widget to build), so it opens at once."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...field_guide import field_help
from ..actions import ACTIONS, Keys, key_of

#: Keys every editor field has (Textual's own input keys are not repeated here).
FIELD_KEYS = (("Tab", "Next field"), ("Shift+Tab", "Previous field"),
              ("Esc", "Back to the prompt list"),
              ("Ctrl+L", "The linter's findings for this prompt"))


def _focus_scopes(focused: Widget | None) -> list[str]:
    """The action-table scopes of the panels the focus is in (jobs, problems)."""
    scopes = []
    for node in focused.ancestors_with_self if focused is not None else ():
        scope = getattr(node, "HELP_SCOPE", None)
        if scope:
            scopes.append(scope)
    return scopes


def _about(focused: Widget | None) -> Text:
    """What the focused widget is for: an editor field's guide, else its panel's HELP."""
    text = Text(end="\n")
    widget_id = focused.id if focused is not None else None
    if widget_id and widget_id.startswith("f-"):
        try:
            label, short, guide = field_help(widget_id[2:])
        except KeyError:
            label = ""
        if label:
            text.append(f"{label}\n", "bold")
            text.append(f"{short}.\n", "italic")
            if guide:
                text.append(f"{guide}\n")
            return text
    for node in focused.ancestors_with_self if focused is not None else ():
        about = getattr(node, "ABOUT", "")
        if about:
            title, _, rest = about.partition("\n")
            text.append(f"{title}\n", "bold")
            text.append(rest.strip() + "\n")
            break
    return text


def _keys(scopes: list[str], keys: Keys | None, field: bool) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    seen: set[str] = set()
    for key, what in FIELD_KEYS if field else ():
        seen.add(key)
        table.add_row(key, what)
    for scope in scopes:
        for action in ACTIONS:
            key = key_of(action, keys)
            if action.scope != scope or not key or key in seen:
                continue
            seen.add(key)
            table.add_row(key, f"{action.name}: {action.help}")
    return table


def help_text(screen, focused: Widget | None, keys: Keys | None = None) -> RenderableType:
    """The whole help for ``screen`` with ``focused`` focused."""
    parts: list[RenderableType] = []
    about = _about(focused)
    if about:
        parts.append(about)
    scopes = [*_focus_scopes(focused), getattr(screen, "SCOPE", ""), "app"]
    field = bool(focused is not None and focused.id and focused.id.startswith("f-"))
    parts.append(Text("Keys here", "bold underline"))
    parts.append(_keys([s for s in scopes if s], keys, field))
    extra = getattr(screen, "HELP_MORE", "")
    if extra:
        parts.append(Text("\n" + extra))
    parts.append(Text("\nF1 or Esc closes this help; PgUp/PgDn scroll it.", "italic"))
    return Group(*parts)


def plain(renderable: RenderableType, width: int = 60) -> str:
    """``renderable`` as plain text ``width`` columns wide (tests read help this way)."""
    console = Console(width=width, color_system=None)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


class RenderedOnce:
    """``renderable`` rendered once for each width: a frame measures the help's height,
    then draws it, and a Rich table costs milliseconds a pass."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._lines: dict[tuple, list[list[Segment]]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (options.max_width, options.no_wrap, options.overflow, options.justify)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = console.render_lines(self.renderable, options,
                                                            pad=False, new_lines=True)
        for line in lines:
            yield from line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


class HelpPanel(VerticalScroll, can_focus=False):
    """Lies over one side of the screen; follows the focus while it is open."""

    _shown: RenderableType | None = None

    def __init__(self, screen, focused: Widget | None) -> None:
        super().__init__()
        self._shown = help_text(screen, focused, getattr(screen.app, "keys", None))
        self.styles.dock = self.side(focused)  # laid out once, on its side

    def compose(self):
        # with its text from the start: the first frame shows it (no second layout)
        yield Static(RenderedOnce(self._shown), id="help-text")

    def on_mount(self) -> None:
        self.watch(self.screen, "focused", self.follow, init=False)

    def follow(self, focused: Widget | None = None) -> None:
        if not self.is_attached or not self.screen.is_active:
            return
        keys = getattr(self.app, "keys", None)
        focused = self.screen.focused
        self._shown = help_text(self.screen, focused, keys)
        self.query_one("#help-text", Static).update(RenderedOnce(self._shown))
        side = self.side(focused)
        if self.styles.dock != side:
            self.styles.dock = side

    @staticmethod
    def side(focused: Widget | None) -> str:
        """Over the prompt list while a field or pane has the focus (what is focused stays
        in view, at full width); over the right while the list has it."""
        in_list = focused is not None and any(
            node.id == "browser" for node in focused.ancestors_with_self)
        return "right" if in_list else "left"

    @property
    def text(self) -> str:
        """What the panel says, as plain text (on long lines: a phrase is not cut)."""
        return plain(self._shown, width=160) if self._shown is not None else ""
