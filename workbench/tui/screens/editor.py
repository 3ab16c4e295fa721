"""The editor screen, the app's default: browser | editor over the composed pane, problems
and runs, the status line and the footer.

It owns the editor's keys and actions (from the action table, so they are active only
while this screen is on top), shows the selected prompt, re-lints as typing pauses, and
keeps the status line.  What is not drawing lives in the core: saving and conflicts in
`editing.Saves` (the app runs its timer), undo in `editing.Undo`, linting in `linting`.
The prompt and run actions are in `editor_prompts` and `editor_runs`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from ...collection import Collection
from ...config import Config
from ...editing import Undo
from ...library import Library
from ...spec import PARAM_FIELDS, PromptSpec, source_path
from ..actions import ACTIONS, Keys, bindings, key_of
from ..widgets.browser import PromptBrowser
from ..widgets.composed import ComposedPane
from ..widgets.editor import SpecEditor
from ..widgets.footer import KeyFooter
from ..widgets.problems import SPAN_STYLE, ProblemsPanel, summary
from ..widgets.status import StatusBar
from .editor_prompts import PromptActions
from .editor_runs import RunActions

if TYPE_CHECKING:
    from ...editing import Saves
    from ...runs.session import ComfySession
    from ..widgets.jobs import JobsPanel

LINT_DELAY = 0.12  # re-lint once typing pauses: keystrokes never wait for the linter


def palette_only_help(keys: Keys | None = None) -> str:
    """F1's help on this screen: the actions without a key of their own (the keys panel
    below it lists the rest)."""
    names = [a.name + (f" ({key_of(a, keys)})" if key_of(a, keys) else "")
             for a in ACTIONS if a.scope == "editor" and not a.key]
    return f"In the command palette (Ctrl+P): {', '.join(names)}; and presets, sizes, " \
        "the LLM actions, this prompt's fixes."


class EditorScreen(PromptActions, RunActions, Screen[None]):
    SCOPE = "editor"
    # The prompt list has the focus from the start (Textual's default, the first focusable
    # widget, is the filter above it: focused and blurred again, each a restyle, before
    # the first frame).
    AUTO_FOCUS = "#prompts"
    # F1 first in the footer, as on every screen of the app (read at 80 columns too)
    BINDINGS = [*bindings("app", only=("help",)), *bindings("editor")]
    HELP_MORE = palette_only_help()

    def __init__(self, config: Config, collection: Collection, *, saves: Saves, undo: Undo,
                 session: ComfySession, keys: Keys | None = None) -> None:
        super().__init__(id="editor-screen")
        self.config, self.collection = config, collection
        self.saves, self.undo, self.session = saves, undo, session
        self.library: Library | None = None
        self.spec: PromptSpec | None = None
        self.diagnostics: list = []
        self._lint_timer: Timer | None = None
        self._lint_ready = False  # the first lint waits until after the first frame
        self._main_widgets: list = []  # (set in compose) lint and status updates use them
        self._jobs: JobsPanel | None = None  # mounted on first use (hidden until a run)
        self.keys = keys
        if keys is not None:
            self.HELP_MORE = palette_only_help(keys)
            self._bind_added(keys)

    def _bind_added(self, keys: Keys) -> None:
        """Bind the palette-only actions the user gave a key in ``[keys]``."""
        for action in ACTIONS:
            key = keys.added.get(action.id)
            if action.scope == self.SCOPE and key:
                binding = Binding(key, action.action, action.label, show=False,
                                  priority=True, tooltip=action.help, id=action.id)
                for one in binding.make_bindings([binding]):  # "a,b": one per key
                    known = self._bindings.key_to_bindings.get(one.key, [])
                    self._bindings.key_to_bindings[one.key] = [*known, one]

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        browser = PromptBrowser(self.collection, id="browser")
        editor, status = SpecEditor(self._edited, id="editor"), StatusBar(id="status")
        composed, problems = ComposedPane(id="composed"), ProblemsPanel(id="problems")
        with Horizontal(id="main"):
            yield browser
            with Vertical(id="work"):
                yield editor
                yield composed
                yield problems
                # (the runs panel, hidden until the first run, is mounted then: `jobs`)
        yield status
        self._main_widgets = [browser, editor, composed, problems, status]
        yield KeyFooter(compact=True)

    @property
    def browser(self) -> PromptBrowser:
        return self.query_one(PromptBrowser)

    @property
    def editor(self) -> SpecEditor:
        return self.query_one(SpecEditor)

    @property
    def composed(self) -> ComposedPane:
        return self.query_one(ComposedPane)

    @property
    def jobs(self) -> JobsPanel:
        """The runs panel (under the problems), mounted when first asked for: it is hidden
        until the first run, and its module, widgets and ticker are start-up cost."""
        if self._jobs is None:
            from ..widgets.jobs import JobsPanel

            self.app.read_later_css()  # (its rules)
            self._jobs = JobsPanel(self.config, self.session, id="jobs")
            self.query_one("#work").mount(self._jobs)
        return self._jobs

    def _first_connect(self, url: str) -> None:
        """The session's first connection (anyone's): the runs panel collects what an
        earlier session left on the server."""
        if not self._main_widgets_gone():
            self.jobs.collect_leftovers(url)

    def on_mount(self) -> None:
        self.session.on_first_connect = self._first_connect
        self.call_after_refresh(self._first_lint)
        current = self.browser.current
        self.show(*(current or (self._first_library(), None)))
        self.browser.option_list.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Under a dialog (whose own footer is this one) the editor's keys are not shown:
        they do not work until the dialog is gone."""
        return self.app.screen is self

    def on_screen_suspend(self) -> None:
        self.refresh_bindings()

    _resumed = False

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._resumed:
            # The first resume follows the mount, whose styles are fresh: Textual would
            # restyle every node of the screen again before the first frame.
            self._resumed = True
            event.refresh_styles = False
        self.refresh_bindings()

    def _first_library(self) -> Library | None:
        return self.collection.libraries[0] if self.collection.libraries else None

    def _main_widgets_gone(self) -> bool:
        """True once the app is closing (and before it has composed): a late timer or
        message must not look for the editor then.  (Cheap: runs on every keystroke.)"""
        return not self._main_widgets or not all(w.is_attached for w in self._main_widgets)

    # -- showing a prompt --------------------------------------------------------------------
    def show(self, library: Library | None, spec: PromptSpec | None) -> None:
        self.library, self.spec = library, spec
        self.editor.load(spec, library.path.parent if library is not None else None)
        self.composed.show(spec)
        if self._lint_ready:
            self.run_lint()
        self.update_status()

    def changed(self, library: Library, spec: PromptSpec) -> None:
        """``spec`` changed outside the editor (a fix, a proposal, undo): show it where it is
        shown, and save it."""
        if spec is self.spec:
            self.show(library, spec)
        self.browser.relabel(spec)
        self.app.schedule_save(library)

    def reloaded(self, select: PromptSpec | None = None) -> None:
        """The libraries were read again from disk (a conflict resolved, a reload); show
        ``select`` if given."""
        self.browser.refresh_rows(select=select)
        current = self.browser.current
        self.show(*(current or (self._first_library(), None)))

    @on(PromptBrowser.Chosen)
    def _chosen(self, event: PromptBrowser.Chosen) -> None:
        if event.spec is not self.spec:
            self.show(event.library, event.spec)
        if event.activated:  # into the prompt's text: Raw text in raw mode
            raw = self.editor._widget("raw") if event.spec.is_raw else None
            (raw or self.editor.widget_for("subject")).focus()

    @on(PromptBrowser.NoneShown)
    def _none_shown(self) -> None:
        """No prompt matches the filter: edit none (not one the list no longer shows)."""
        if self.spec is not None:
            self.show(self.library, None)
            self.update_status("no prompts match the filter", "warn")

    def _edited(self, edit: SpecEditor.Edited) -> None:
        """An edit, reported by the editor as it is made (in the keystroke's handling)."""
        if self._main_widgets_gone():  # an edit after the app closed
            return
        self.composed.show(edit.spec)
        self._schedule_lint()
        if edit.key == "name":
            self.browser.relabel(edit.spec)
        if not edit.error and self.library is not None:
            self.app.schedule_save(self.library)
        self.update_status()

    def update_status(self, detail: str = "", level: str = "ok") -> None:
        if self._main_widgets_gone():  # an autosave timer can fire after the widgets went
            return
        # A field that does not parse is named until it is fixed: the lint summary that
        # follows each keystroke must not hide it.
        parse_error = self.editor.parse_error
        if not detail and parse_error:
            detail, level = parse_error, "warn"
        status, library = self.query_one(StatusBar), self.library
        if library is None:
            status.set_state("no library", "", detail or "F3 creates a prompt", level)
            return
        state, state_level = self.saves.state(library)
        if state_level == "error":
            level = state_level
        if not detail and self.diagnostics:
            detail = f"{summary(self.diagnostics)} ({key_of(_PROBLEMS, self.keys)})"
        status.set_state(library.path.name, state, detail, level)

    # -- lint ------------------------------------------------------------------------------
    def _first_lint(self) -> None:
        sources = self._source_images()
        if sources:  # their headers are read off the UI thread (a slow disk, a FIFO...)
            self._read_image_headers(sources)
            return
        self._lint_ready = True
        self.run_lint()

    def _source_images(self, limit: int = 256) -> list[Path]:
        found: list[Path] = []
        for library in self.collection.libraries:
            for spec in library.prompts:
                if spec.source_image.strip() and len(found) < limit:
                    found.append(source_path(spec.source_image.strip(), library.path.parent))
        return found

    @work(group="first-lint", exit_on_error=False)
    async def _read_image_headers(self, paths: list[Path]) -> None:
        """Fill the linter's image-size cache in a thread, then lint: no Pillow work on
        the UI thread at start."""
        from ...lint.rules.sources import image_size

        try:
            await asyncio.to_thread(lambda: [image_size(path) for path in paths])
        finally:
            self._lint_ready = True
            self.run_lint()

    def _schedule_lint(self) -> None:
        if self._lint_timer is not None:
            self._lint_timer.stop()
        # The editor owns the timer: it stops when the editor goes (quit right after a
        # keystroke), so a late lint never looks for widgets that are gone.
        self._lint_timer = self.editor.set_timer(LINT_DELAY, self.run_lint)

    def run_lint(self) -> None:
        self._lint_timer = None
        if self._main_widgets_gone():  # shutting down
            return
        spec, library = self.spec, self.library
        diagnostics = []
        if spec is not None and library is not None:
            from ...linting import lint_in_library

            diagnostics = lint_in_library(spec, self.config, library,
                                          self.collection.libraries)
        self.diagnostics = diagnostics
        spans: dict[str, list[tuple[int, int, str]]] = {}
        for d in diagnostics:
            # A parameter is flagged as a whole (its text is shown as the user typed it).
            start, end = (0, 1 << 30) if d.field in PARAM_FIELDS else (d.start, d.end)
            spans.setdefault(d.field, []).append((start, end, SPAN_STYLE[d.severity]))
        self.editor.mark(spans)
        self.composed.show(spec, spans.get("composed") or spans.get("raw"))
        self.query_one(ProblemsPanel).show(diagnostics)
        self.update_status()

    @on(ProblemsPanel.Jump)
    def _jump(self, event: ProblemsPanel.Jump) -> None:
        found = self.editor.query(f"#f-{event.diagnostic.field}")
        if not found:
            self.notify(f"{event.diagnostic.field}: shown in the composed prompt",
                        markup=False)
            return
        widget, d = found.first(), event.diagnostic
        widget.focus()
        if isinstance(widget, Input):
            widget.selection = (d.start, d.end)
        elif hasattr(widget, "document"):  # a TextArea (raw text): select the span there
            from textual.widgets.text_area import Selection

            length = len(widget.text)
            start, end = (min(max(0, i), length) for i in (d.start, d.end))
            widget.selection = Selection(widget.document.get_location_from_index(start),
                                         widget.document.get_location_from_index(end))
            widget.scroll_cursor_visible()

    @on(ProblemsPanel.ApplyFix)
    def _apply_fix(self, event: ProblemsPanel.ApplyFix) -> None:
        self.apply_fix(event.diagnostic)

    @on(ProblemsPanel.AskAssist)
    def _ask_assist(self, event: ProblemsPanel.AskAssist) -> None:
        self.action_assist(event.action)


_PROBLEMS = next(a for a in ACTIONS if a.id == "problems")
