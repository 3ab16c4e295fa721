"""The workbench app: browser | editor over the composed pane, status bar and footer.

The app wires widgets to the core and owns the one policy the core can't: *when* to save.
Edits are saved atomically within ~0.6 s of the first unsaved keystroke (and on quit); a
save that can't land writes a recovery file and asks the user what to do.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input

from .. import workspace
from ..config import Config, ConfigError, remember
from ..collection import Collection
from ..library import Library, LibraryError, read_library
from ..spec import PARAM_FIELDS, PromptSpec, source_path
from ..llm.action_names import ACTIONS
from .screens.confirm import confirm_delete, resolve_conflict
from ..textsafe import sanitize
from .terminal_safety import TerminalSafety
from .themes import load_themes
from .widgets.browser import PromptBrowser
from .widgets.composed import ComposedPane
from .widgets.editor import SpecEditor
from .widgets.jobs import JobsPanel
from .widgets.problems import SPAN_STYLE, ProblemsPanel, summary
from .widgets.status import StatusBar

AUTOSAVE_DELAY = 0.6
#: A library whose last save took longer than this (thousands of prompts) is saved in a
#: pause of typing instead: 0.6 s after the last keystroke, at most 5 s after the first.
SLOW_SAVE = 0.1
SLOW_SAVE_WAIT = 5.0
LINT_DELAY = 0.12  # re-lint once typing pauses: keystrokes never wait for the linter
#: Actions on the prompt being edited: only while the main screen is on top.
_MAIN_SCREEN_ACTIONS = {"rename", "new_prompt", "duplicate", "delete", "assist",
                        "undo_assist", "filter", "copy_prompt", "focus_browser",
                        "focus_problems", "fix_all", "run", "queue", "history",
                        "compare", "chain", "add_lora"}


@dataclass
class LibrarySaved(Message):
    """A save made in a worker thread has finished (posted by the thread: never blocks)."""

    library: Library
    result: workspace.SaveResult
    seconds: float = 0.0


class WorkbenchApp(App):
    TITLE = "FLUX Prompt Workbench"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("f1", "show_help_panel", "Help", priority=True),
        Binding("f2", "rename", "Rename", show=False, priority=True),
        Binding("f3", "new_prompt", "New", priority=True),
        Binding("f4", "duplicate", "Duplicate", priority=True),
        Binding("f5", "run", "Run", priority=True),
        Binding("ctrl+t", "compare", "A/B", priority=True),
        Binding("f6", "save_now", "Save", show=False, priority=True),
        Binding("ctrl+s", "save_now", "Save", show=False, priority=True),
        Binding("f7", "copy_prompt", "Copy", show=False, priority=True),
        Binding("f8", "delete", "Delete", priority=True),
        Binding("f9", "assist", "Assist", priority=True),
        Binding("f12", "undo_assist", "Undo", show=False, priority=True),
        Binding("ctrl+l", "focus_problems", "Problems", show=False, priority=True),
        Binding("ctrl+f", "filter", "Filter", priority=True),
        Binding("escape", "focus_browser", "Browser", show=False),
    ]

    def __init__(self, config: Config, path: Path | None = None,
                 collection: Collection | None = None) -> None:
        super().__init__()
        self.config = config
        self.collection = collection or workspace.open_workspace(path)
        self._pending: set[int] = set()
        self._save_timer: Timer | None = None
        self._conflicted: set[int] = set()
        self._failed: dict[int, str] = {}  # libraries whose last save failed: why
        self._preparing: set[int] = set()  # libraries whose document a thread is parsing
        self._saving: set[int] = set()     # libraries an autosave is writing in a thread
        # One save at a time (a thread's or the UI's); re-entrant for the UI thread.
        self._save_lock = threading.RLock()
        # Libraries known to match their file (read from it, or saved since, no edits
        # after): the status line and autosave skip comparing their prompts one by one.
        self._clean: set[int] = {id(lib) for lib in self.collection.libraries if lib.digest}
        self._slow: set[int] = set()        # libraries whose last save took > SLOW_SAVE
        self._first_unsaved = 0.0           # when the autosave timer was started
        self.library: Library | None = None
        self.spec: PromptSpec | None = None
        self._theme_failures: list[str] = []
        self._undo: list[tuple[PromptSpec, PromptSpec]] = []  # (spec, its content before)
        self._lint_timer: Timer | None = None
        self._lint_ready = False  # the first lint waits until after the first frame
        # The main screen's widgets (set in compose): lint and status updates touch them.
        self._editor: SpecEditor | None = None
        self._status: StatusBar | None = None
        self._main_widgets: list = []
        self.diagnostics: list = []
        loaded = load_themes()
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self._theme_failures = loaded.failures
        if config.ui.theme in self.available_themes:
            self.theme = config.ui.theme

    # -- terminal safety: outside text never reaches the terminal raw ------------------------
    _safety = TerminalSafety()

    def get_line_filters(self):
        return [*super().get_line_filters(), *([self._safety] if self._safety.enabled else [])]

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every toast (from any screen) shows file names, prompt names and server text:
        sanitised here, once for all."""
        super().notify(sanitize(message, multiline=True), title=sanitize(title),
                       severity=severity, timeout=timeout, markup=markup)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _MAIN_SCREEN_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            browser = PromptBrowser(self.collection, id="browser")
            yield browser
            with Vertical(id="work"):
                self._editor = SpecEditor(id="editor")
                composed, problems = ComposedPane(id="composed"), ProblemsPanel(id="problems")
                yield self._editor
                yield composed
                yield problems
                yield JobsPanel(self.config, id="jobs")
        self._status = StatusBar(id="status")
        yield self._status
        self._main_widgets = [browser, self._editor, composed, problems, self._status]
        yield Footer(compact=True)

    @property
    def browser(self) -> PromptBrowser:
        return self.query_one(PromptBrowser)

    @property
    def editor(self) -> SpecEditor:
        return self.query_one(SpecEditor)

    @property
    def composed(self) -> ComposedPane:
        return self.query_one(ComposedPane)

    # -- start-up: nothing before the first frame that the first frame doesn't show --------
    _gc_paused = False

    def on_load(self) -> None:
        # Worker threads (a big library's document parse and save, thumbnails, token
        # counters) run pure Python for seconds: the UI thread gets the GIL back within a
        # millisecond of asking, not Python's default five, at every step of a keystroke.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        # Start-up builds tens of thousands of long-lived objects (widgets, styles, the
        # libraries' specs); the cycle collector would walk them over and over before the
        # first frame (a third of the work it adds).  Paused until the frame is out.
        if gc.isenabled():
            gc.disable()
            self._gc_paused = True

    def _resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()

    def on_mount(self) -> None:
        self.call_after_refresh(self._resume_gc)
        self.call_after_refresh(self._first_lint)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        current = self.browser.current
        self._show(*(current or (self._first_library(), None)))
        self.browser.option_list.focus()
        problems = self.collection.problems + self.config.problems + self._theme_failures
        if problems:
            self.notify("\n".join(problems), title="Some files could not be read fully",
                        severity="warning", timeout=12, markup=False)
        recoveries = workspace.pending_recoveries()
        if recoveries:
            self.notify("Unsaved edits from an earlier session were kept in:\n"
                        + "\n".join(map(str, recoveries)), title="Recovery files",
                        severity="warning", timeout=12, markup=False)

    def _first_library(self) -> Library | None:
        return self.collection.libraries[0] if self.collection.libraries else None

    # -- showing a prompt --------------------------------------------------------------------
    def _show(self, library: Library | None, spec: PromptSpec | None) -> None:
        self.library, self.spec = library, spec
        self.editor.load(spec, library.path.parent if library is not None else None)
        self.composed.show(spec)
        if self._lint_ready:
            self.run_lint()
        self._update_status()

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
        from ..lint.rules.sources import image_size

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

    def _main_widgets_gone(self) -> bool:
        """True once the app is closing (and before it has composed): a late timer or
        message must not look for the editor then.  (Cheap: runs on every keystroke.)"""
        return not self._main_widgets or not all(map(self.is_mounted, self._main_widgets))

    def run_lint(self) -> None:
        self._lint_timer = None
        if self._main_widgets_gone():  # shutting down
            return
        spec, library = self.spec, self.library
        diagnostics = []
        if spec is not None and library is not None:
            from ..linting import lint_in_library

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
        self._update_status()

    @on(ProblemsPanel.Jump)
    def _jump(self, event: ProblemsPanel.Jump) -> None:
        found = self.editor.query(f"#f-{event.diagnostic.field}")
        if not found:
            self.notify(f"{event.diagnostic.field}: shown in the composed prompt",
                        markup=False)
            return
        widget = found.first()
        widget.focus()
        if isinstance(widget, Input):
            widget.selection = (event.diagnostic.start, event.diagnostic.end)

    @on(ProblemsPanel.ApplyFix)
    def _apply_fix(self, event: ProblemsPanel.ApplyFix) -> None:
        self.apply_fix(event.diagnostic)

    def apply_fix(self, diagnostic) -> None:
        if self.spec is None or self.library is None or diagnostic.fix is None:
            return
        from ..lint import apply_fixes

        spec, library = self.spec, self.library
        self._undo.append((spec, spec.copy()))
        self._replace_content(library, spec, apply_fixes(spec, [diagnostic]))
        self.notify(f"Fixed: {diagnostic.fix.description}. F12 undoes it.", markup=False)

    def action_fix_all(self) -> None:
        if self.spec is None or self.library is None:
            return
        from ..lint import apply_fixes

        safe = [d for d in self.diagnostics if d.fix is not None and d.fix.safe]
        if not safe:
            self.notify("No safe fixes to apply", severity="warning")
            return
        spec, library = self.spec, self.library
        self._undo.append((spec, spec.copy()))
        self._replace_content(library, spec, apply_fixes(spec, safe, safe_only=True))
        self.notify(f"Applied {len(safe)} safe fix(es). F12 undoes them.", markup=False)

    def action_focus_problems(self) -> None:
        panel = self.query_one(ProblemsPanel)
        if panel.diagnostics:
            panel.focus()
        else:
            self.notify("No problems in this prompt")

    @on(PromptBrowser.Chosen)
    def _chosen(self, event: PromptBrowser.Chosen) -> None:
        if event.spec is not self.spec:
            self._show(event.library, event.spec)
        if event.activated:
            self.editor.widget_for("subject").focus()

    @on(SpecEditor.Edited)
    def _edited(self, event: SpecEditor.Edited) -> None:
        if self._main_widgets_gone():  # the last keystroke's message, after the app closed
            return
        self.composed.show(event.spec)
        self._schedule_lint()
        if event.key == "name":
            self.browser.relabel(event.spec)
        if not event.error and self.library is not None:
            self._schedule_save(self.library)
        self._update_status()

    def _update_status(self, detail: str = "", level: str = "ok") -> None:
        if self._main_widgets_gone():  # an autosave timer can fire after the widgets went
            return
        status = self._status
        # A field that does not parse is named until it is fixed: the lint summary that
        # follows each keystroke must not hide it.
        parse_error = self._editor.parse_error
        if not detail and parse_error:
            detail, level = parse_error, "warn"
        library = self.library
        if library is None:
            status.set_state("no library", "", detail or "F3 creates a prompt", level)
            return
        if id(library) in self._conflicted:
            state, level = "conflict: edits kept in recovery file", "error"
        elif id(library) in self._failed:
            state, level = "not saved: edits kept in recovery file", "error"
        elif self._unsaved(library):
            state = "saving…"
        else:
            state = "saved"
        if not detail and self.diagnostics:
            detail = summary(self.diagnostics) + " (Ctrl+L)"
        status.set_state(library.path.name, state, detail, level)

    # -- saving ------------------------------------------------------------------------------
    def _unsaved(self, library: Library) -> bool:
        """Edits not on disk yet (a full comparison only for a library not known clean:
        for 10,000 prompts it takes tens of milliseconds)."""
        key = id(library)
        return key in self._pending or key in self._saving or (
            key not in self._clean and library.dirty)

    def _schedule_save(self, library: Library) -> None:
        self._pending.add(id(library))
        self._clean.discard(id(library))
        if not library.has_document and id(library) not in self._preparing:
            # libraries are read fast, without tomlkit: parse the document to save into
            # in a thread (seconds for a big library), autosave when it is there
            self._preparing.add(id(library))
            self._prepare_document(library)
        if self._save_timer is None:
            self._first_unsaved = time.monotonic()
            self._save_timer = self.set_timer(AUTOSAVE_DELAY, self._autosave)
        elif id(library) in self._slow and \
                time.monotonic() - self._first_unsaved < SLOW_SAVE_WAIT - AUTOSAVE_DELAY:
            self._save_timer.reset()  # a big library: saved when typing pauses

    @work(thread=True, group="documents", exit_on_error=False)
    def _prepare_document(self, library: Library) -> None:
        try:
            doc = library.parse_pending_document()
        except Exception:  # noqa: BLE001 - the save itself will say what is wrong
            doc = None
        try:
            self.call_from_thread(self._document_ready, library, doc)
        except RuntimeError:  # the app has closed meanwhile (its exit saved already)
            pass

    def _document_ready(self, library: Library, doc) -> None:
        self._preparing.discard(id(library))
        if doc is not None:
            try:
                library.attach_document(doc)
            except LibraryError:  # the save says what is wrong (and keeps the edits)
                pass
        if id(library) in self._pending and self._save_timer is None:
            self._first_unsaved = time.monotonic()
            self._save_timer = self.set_timer(AUTOSAVE_DELAY, self._autosave)

    def _autosave(self) -> None:
        """The timer's save, written in a thread (rendering a big library's document takes
        a good part of a second: never on the UI thread while the user types).  A library
        whose document is still being parsed waits for it."""
        self._save_timer = None
        for library in self.collection.libraries:
            key = id(library)
            if key in self._preparing or key in self._saving:
                continue  # still pending: saved when its document or the last save is done
            if key in self._pending or (key not in self._clean and library.dirty):
                self._pending.discard(key)
                self._saving.add(key)
                self._save_in_thread(library)
        self._update_status()

    @work(thread=True, group="saves", exit_on_error=False)
    def _save_in_thread(self, library: Library) -> None:
        with self._save_lock:
            started = time.monotonic()
            try:
                result = workspace.save(library)
            except Exception as exc:  # noqa: BLE001 - said; the edits stay in memory
                result = workspace.SaveResult("failed", f"{library.path}: not saved: {exc}")
            took = time.monotonic() - started
        self.post_message(LibrarySaved(library, result, took))

    @on(LibrarySaved)
    def _saved_in_thread(self, event: LibrarySaved) -> None:
        library = event.library
        self._saving.discard(id(library))
        if event.seconds > SLOW_SAVE:
            self._slow.add(id(library))
        else:
            self._slow.discard(id(library))
        self._after_save(library, event.result)
        if id(library) in self._pending and self._save_timer is None:
            self._first_unsaved = time.monotonic()
            self._save_timer = self.set_timer(AUTOSAVE_DELAY, self._autosave)
        self._update_status()

    def flush_saves(self) -> None:
        """Save every library with unsaved edits (never blocks on a question)."""
        self._save_all()
        self._update_status()

    def _save_all(self) -> None:
        """Save now, on this thread (quit, F6): after any save a thread is making."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        with self._save_lock:
            for library in self.collection.libraries:
                if id(library) in self._pending or library.dirty:
                    self._save(library)

    def _save(self, library: Library, *, force: bool = False) -> None:
        with self._save_lock:
            result = workspace.save(library, force=force)
        self._pending.discard(id(library))
        self._after_save(library, result)

    def _after_save(self, library: Library, result: workspace.SaveResult) -> None:
        if result.status in ("saved", "unchanged") and id(library) not in self._pending:
            self._clean.add(id(library))
        if result.status == "conflict":
            # Never pop a question up mid-typing (it would swallow keystrokes): say so in
            # the status line and a toast, keep the edits in the recovery file, ask on F6.
            if id(library) not in self._conflicted:
                self._conflicted.add(id(library))
                self.notify(f"{library.path} changed on disk. Your edits are kept in "
                            f"{result.recovery}. Press F6 to reload, keep both or "
                            "overwrite.", title="Not saved: conflict", severity="error",
                            timeout=20, markup=False)
        elif result.status == "failed":
            # once per cause, not at every autosave (a read-only file stays read-only)
            if self._failed.get(id(library)) != result.message:
                self.notify(result.message, title="Not saved", severity="error",
                            timeout=15, markup=False)
            self._failed[id(library)] = result.message
        else:
            self._conflicted.discard(id(library))
            self._failed.pop(id(library), None)

    def _ask_conflict(self, library: Library) -> None:
        recovery = workspace.recovery_path(library)
        self.push_screen(resolve_conflict(str(library.path), str(recovery)),
                         lambda answer: self._resolve(library, answer))

    def _resolve(self, library: Library, answer: str | None) -> None:
        if answer == "overwrite":
            self._conflicted.discard(id(library))
            self._save(library, force=True)
        elif answer in ("reload", "keep"):
            if answer == "keep":
                with self._save_lock:  # (renders the document a thread may be saving)
                    copy = library.save_copy()
                kept = read_library(copy)
                self.collection.libraries.append(kept)
                self._clean.add(id(kept))
                workspace.discard_recovery(library)  # the copy holds the edits now
                self.notify(f"Your version was saved as {copy}", markup=False)
            self._reload(library)
        else:
            self.notify("Autosave of this library is paused; your edits are in the recovery "
                        "file. Press F6 to decide.", severity="warning", markup=False)
        self._update_status()

    def _reload(self, library: Library) -> None:
        try:
            with self._save_lock:  # after a save a thread may be making
                fresh = read_library(library.path)
        except Exception as exc:
            self.notify(str(exc), title="Reload failed", severity="error", markup=False)
            return
        self._clean.add(id(fresh))
        index = self.collection.libraries.index(library)
        self.collection.libraries[index] = fresh
        self._conflicted.discard(id(library))
        self._pending.discard(id(library))
        self.browser.refresh_rows()
        current = self.browser.current
        self._show(*(current or (fresh, None)))

    def action_save_now(self) -> None:
        self.flush_saves()
        conflicted = [lib for lib in self.collection.libraries if id(lib) in self._conflicted]
        if conflicted:
            self._ask_conflict(conflicted[0])
        else:
            self.notify("All libraries saved", markup=False)

    async def action_quit(self) -> None:
        self.flush_saves()
        self.exit()

    async def on_unmount(self) -> None:
        self._resume_gc()  # (an app closed before its first frame)
        self._save_all()  # widgets are gone by now: save without touching the screen
        for panel in self.query(JobsPanel):
            await panel.close()

    # -- prompt actions -----------------------------------------------------------------------
    def _target_library(self) -> Library:
        if self.library is None:
            if not self.collection.libraries:
                root = self.collection.root
                path = root if root.suffix == ".toml" else root / "my-prompts.toml"
                self.collection.libraries.append(workspace.new_library(path, "My prompts"))
            self.library = self.collection.libraries[0]
        return self.library

    def _added(self, library: Library, spec: PromptSpec, focus: str) -> None:
        self.browser.query_one("#filter", Input).value = ""
        self.browser.refresh_rows(select=spec)
        self._show(library, spec)
        self._schedule_save(library)
        widget = self.editor.widget_for(focus)
        widget.focus()
        if isinstance(widget, Input):
            widget.select_all()

    def action_new_prompt(self) -> None:
        library = self._target_library()
        spec = library.add(PromptSpec(name="Untitled", model=self.spec.model if self.spec
                                      else "dev"), after=self.spec)
        self._added(library, spec, "name")

    def action_duplicate(self) -> None:
        if self.library is None or self.spec is None:
            self.notify("Select a prompt to duplicate", severity="warning")
            return
        self._added(self.library, self.library.duplicate(self.spec), "name")

    def action_rename(self) -> None:
        if self.spec is None:
            return
        widget = self.editor.widget_for("name")
        widget.focus()
        widget.select_all()

    def action_delete(self) -> None:
        if self.library is None or self.spec is None:
            return
        library, spec = self.library, self.spec

        def done(answer: str | None) -> None:
            if answer != "yes":
                return
            index = library.prompts.index(spec)
            library.remove(spec)
            rest = library.prompts
            after = rest[min(index, len(rest) - 1)] if rest else None
            self.browser.refresh_rows(select=after)
            current = self.browser.current
            self._show(*(current or (library, None)))
            self._schedule_save(library)
            self.notify(f"Deleted “{spec.name}”", markup=False)

        self.push_screen(confirm_delete(spec.name), done)

    def action_copy_prompt(self) -> None:
        if self.composed.text:
            self.copy_to_clipboard(self.composed.text)
            self.notify("Composed prompt copied (OSC 52)")

    def action_filter(self) -> None:
        self.browser.query_one("#filter", Input).focus()

    def action_focus_browser(self) -> None:
        self.browser.option_list.focus()

    # -- runs on ComfyUI -----------------------------------------------------------------------
    def action_run(self) -> None:
        if self.spec is None or self.library is None:
            self.notify("Select a prompt to run", severity="warning")
            return
        self.query_one(JobsPanel).run_prompt(self.library, self.spec)

    def action_queue(self) -> None:
        from .screens.queue import QueueScreen

        self.push_screen(QueueScreen(self.query_one(JobsPanel)))

    def action_compare(self) -> None:
        if self.spec is None or self.library is None:
            self.notify("Select a prompt to compare", severity="warning")
            return
        from .screens.plan_setup import PlanSetup

        spec, library = self.spec, self.library
        others = [s for s in library.prompts if s is not spec] + [
            s for lib in self.collection.libraries if lib is not library for s in lib.prompts]
        self.push_screen(PlanSetup(spec, others),
                         lambda plan: plan is not None and self.start_plan(plan, library,
                                                                           spec.name))

    def start_plan(self, plan, library: Library, prompt_name: str) -> None:
        """Open the compare screen on ``plan`` and run it on the configured servers."""
        from ..runs.runner import PlanRunner, RunnerOptions
        from .screens.compare import CompareScreen

        screen = CompareScreen(plan, library=library, prompt_name=prompt_name)
        screen.runner = PlanRunner(plan, self.config,
                                   RunnerOptions(base_dir=library.path.parent),
                                   on_update=screen.update_cell)
        self.push_screen(screen)
        self._run_plan(screen)

    @work(group="plans", exit_on_error=False)
    async def _run_plan(self, screen) -> None:
        try:
            run = await screen.runner.run()
        except Exception as exc:  # unreachable servers, refused workflows: say so
            self.notify(str(exc), title="Comparison stopped", severity="error", timeout=15,
                        markup=False)
            return
        screen.run = run
        screen.refresh_title()
        failed = sum(1 for r in run.results.values() if r.status != "done")
        self.notify(f"{plan_summary(run)}; contact sheet and manifest in {run.folder}"
                    + (f"; {failed} cell(s) failed" if failed else ""), markup=False)

    def action_chain(self) -> None:
        from ..chains import ChainError
        from .screens.chain import ChainScreen

        if self.spec is None or self.library is None or self.spec.model != "kontext":
            # (a chain's first prompt may be text-to-image; select one of its edits)
            self.notify("Select a Kontext edit (model kontext) to see its chain",
                        severity="warning")
            return
        try:
            screen = ChainScreen(self.library, self.spec.name, self.config,
                                 on_change=self._chain_changed)
        except ChainError as exc:
            self.notify(str(exc), title="Not a runnable chain", severity="warning",
                        timeout=12, markup=False)
            return
        self.push_screen(screen)

    def _chain_changed(self, library: Library, spec: PromptSpec) -> None:
        self.browser.refresh_rows(select=spec)
        self._show(library, spec)
        self._schedule_save(library)

    def action_add_lora(self) -> None:
        if self.spec is None:
            return
        from ..comfy.loras import server_loras
        from .screens.pick import PickScreen

        panel = self.query_one(JobsPanel)

        async def load() -> list[str]:
            return await server_loras(await panel.connected())

        spec, library = self.spec, self.library

        def add(name: str | None) -> None:
            if not name or spec is not self.spec:
                return
            from ..spec import Lora

            spec.params.loras.append(Lora(name, 1.0))
            self._show(library, spec)
            self._schedule_save(library)
            self.notify(f"Added {name} at strength 1; put its trigger words in the LoRAs "
                        "field after a second colon (file:0.8:trigger)", markup=False)

        self.push_screen(PickScreen(f"LoRAs on {self.config.comfyui.url}", load), add)

    def action_history(self) -> None:
        from .screens.history import HistoryScreen

        self.push_screen(HistoryScreen(), self._open_run)

    def _open_run(self, folder: str | None) -> None:
        if not folder:
            return
        from ..runs.history import HistoryError, load_run
        from .screens.compare import CompareScreen

        try:
            run = load_run(Path(folder))
        except HistoryError as exc:
            self.notify(str(exc), title="Cannot open the run", severity="error",
                        markup=False)
            return
        if run.plan is None:  # a chain: its last image (its strip is the chain view, Ctrl+P)
            from .screens.image import ImageScreen

            images = [p for cid in run.results for p in run.image_paths(cid)]
            if not images:
                self.notify(f"{run.folder}: no image yet", severity="warning", markup=False)
                return
            self.push_screen(ImageScreen(images[-1], run.title))
            return
        self.push_screen(CompareScreen(run.plan, run=run))

    async def action_cancel_run(self) -> None:
        await self.query_one(JobsPanel).action_cancel()

    # -- LLM assistance --------------------------------------------------------------------------
    def action_assist(self, action: str | None = None, model: str = "") -> None:
        from .screens.assist import ActionMenu, AssistScreen

        if self.spec is None:
            self.notify("Select a prompt first", severity="warning")
            return
        spec, library = self.spec, self.library
        if action is None:
            self.push_screen(ActionMenu(self.config),
                             lambda picked: picked and self.action_assist(*picked))
            return
        source = None
        if action == "describe" and spec.source_image and library is not None:
            source = source_path(spec.source_image, library.path.parent)
        self.push_screen(AssistScreen(action, spec, self.config, model=model, source=source,
                                      diagnostics=self.diagnostic_messages(spec, library)),
                         lambda new: new is not None and self._accept(library, spec, new))

    def diagnostic_messages(self, spec: PromptSpec, library: Library | None) -> list[str]:
        """What the linter says about ``spec`` (for the "fix" action): the same settings
        and context as the Problems panel."""
        from ..linting import lint_messages

        return lint_messages(spec, self.config, library, self.collection.libraries)

    def _accept(self, library: Library, spec: PromptSpec, new: PromptSpec) -> None:
        self._undo.append((spec, spec.copy()))
        self._replace_content(library, spec, new)
        self.notify("Proposal accepted. F12 undoes it.", markup=False)

    def _replace_content(self, library: Library, spec: PromptSpec, new: PromptSpec) -> None:
        # The library holds this spec object: change it in place, keep its identity.
        for name in vars(new):
            setattr(spec, name, getattr(new, name))
        if spec is self.spec:
            self._show(library, spec)
        self.browser.relabel(spec)
        self._schedule_save(library)

    def _set_params(self, **values) -> None:
        if self.spec is None or self.library is None:
            return
        for key, value in values.items():
            setattr(self.spec.params, key, value)
        self._show(self.library, self.spec)
        self._schedule_save(self.library)
        self.notify(", ".join(f"{k} = {v}" for k, v in values.items()), markup=False)

    def action_undo_assist(self) -> None:
        if not self._undo:
            self.notify("Nothing to undo", severity="warning")
            return
        spec, before = self._undo.pop()
        library = next((lib for lib in self.collection.libraries if spec in lib.prompts), None)
        if library is None:
            self.notify("That prompt is gone; nothing to undo", severity="warning")
            return
        self._replace_content(library, spec, before)
        self.notify("Restored the version before the proposal", markup=False)

    # -- theme ---------------------------------------------------------------------------------
    def _remember_theme(self, theme) -> None:
        if theme.name == self.config.ui.theme:
            return
        self.config.ui.theme = theme.name
        try:
            remember(self.config, "ui", "theme", theme.name)
        except (ConfigError, OSError) as exc:
            self.notify(str(exc), title="Theme not remembered", severity="warning",
                        markup=False)

    # -- command palette -------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("New prompt", "Add a prompt after the selected one (F3)",
                            self.action_new_prompt)
        yield SystemCommand("Duplicate prompt", "Copy the selected prompt (F4)",
                            self.action_duplicate)
        yield SystemCommand("Rename prompt", "Edit the selected prompt's name (F2)",
                            self.action_rename)
        yield SystemCommand("Delete prompt", "Delete the selected prompt, after asking (F8)",
                            self.action_delete)
        yield SystemCommand("Run on ComfyUI", "Run the selected prompt on "
                            f"{self.config.comfyui.url} (F5)", self.action_run)
        yield SystemCommand("Cancel run", "Interrupt the running job, or take it off the "
                            "server's queue", self.action_cancel_run)
        yield SystemCommand("Compare A/B", "Fixed-seed comparison of this prompt with "
                            "another (and sweeps) on ComfyUI (Ctrl+T)", self.action_compare)
        yield SystemCommand("Kontext chain", "The selected edit's chain as a strip of "
                            "images: run it, branch from any step", self.action_chain)
        yield SystemCommand("Add LoRA from the server", "Pick from the LoRA files ComfyUI "
                            "has installed", self.action_add_lora)
        yield SystemCommand("Run history", "Open a past run or comparison: grid, single "
                            "view, winners", self.action_history)
        yield SystemCommand("Server queue", "What runs and waits on ComfyUI; interrupt or "
                            "remove prompts", self.action_queue)
        yield SystemCommand("Save now", "Write every library with unsaved edits (F6)",
                            self.action_save_now)
        yield SystemCommand("Copy composed prompt", "Copy the prompt text to the clipboard "
                            "(works over SSH via OSC 52) (F7)", self.action_copy_prompt)
        for name, help in ACTIONS.items():
            yield SystemCommand(f"Assist: {name}", f"{help} (local LLM via Ollama)",
                                lambda name=name: self.action_assist(name))
        yield SystemCommand("Undo", "Restore the prompt as it was before the last accepted "
                            "proposal or fix (F12)", self.action_undo_assist)
        yield SystemCommand("Problems", "Go to the linter's findings for this prompt (Ctrl+L)",
                            self.action_focus_problems)
        yield SystemCommand("Apply all safe fixes", "Apply every fix the linter marks safe",
                            self.action_fix_all)
        for diagnostic in self.diagnostics:
            if diagnostic.fix is not None:
                yield SystemCommand(f"Fix {diagnostic.code}: {diagnostic.fix.description}",
                                    diagnostic.message,
                                    lambda d=diagnostic: self.apply_fix(d), discover=False)
        if self.spec is not None:
            from ..presets import ASPECTS, aspect_size, default_presets

            for preset in default_presets().presets.values():
                yield SystemCommand(f"Preset: {preset.name}", preset.description,
                                    lambda p=preset.name: self._set_params(preset=p))
            for aspect in ASPECTS:
                for hd in (False, True):
                    w, h = aspect_size(aspect, hd=hd)
                    label = f"Size: {aspect}{' HD' if hd else ''} ({w}x{h})"
                    yield SystemCommand(label, "Set width and height (multiples of 16, "
                                        f"about {'2' if hd else '1'} MP)",
                                        lambda w=w, h=h: self._set_params(width=w, height=h))
        yield SystemCommand("Filter prompts", "Filter by name, #tag or @model (Ctrl+F)",
                            self.action_filter)
        if self.library is not None:
            library = self.library
            yield SystemCommand("Reload library from disk",
                                f"Discard unsaved edits to {library.path.name} and re-read it",
                                lambda: self._reload(library))


def plan_summary(run) -> str:
    done = sum(1 for r in run.results.values() if r.status == "done")
    return f"{run.plan.name}: {done}/{run.plan.size} cells done"


def run_app(config: Config, path: Path | None) -> int:
    from ..images.graphics import GraphicsError, detect_protocol

    try:  # terminal graphics are detected by asking the terminal: before Textual starts
        config.runtime.image_protocol = detect_protocol(config.ui.image_protocol)
    except GraphicsError as exc:
        config.problems.append(str(exc))
        config.runtime.image_protocol = "halfblocks"
    app = WorkbenchApp(config, path)
    app.run()
    return app.return_code or 0
