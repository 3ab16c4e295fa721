"""The workbench app: themes, notifications, the autosave clock, the keymap and the
session's ComfyUI connection.  Everything else is a screen's: the default screen is the
editor (`screens.editor.EditorScreen`), which owns the editor's keys and actions.

Edits are saved atomically within ~0.6 s of the first unsaved keystroke (and on quit);
the policy (what is due, what a conflict or failure means, what to tell) is the core's
`editing.Saves`, and a save that can't land leaves the edits in a recovery file and asks
the user on F6, never mid-typing.
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from textual import on, work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import AwaitMount

from .. import workspace
from ..collection import Collection
from ..config import Config, ConfigError, remember
from ..editing import Notice, Saves, Undo
from ..images.halfblocks import expect_color_system
from ..library import Library
from ..runs.session import ComfySession
from ..textsafe import sanitize
from .actions import bindings, user_keys
from .commands import palette_commands
from .screens.editor import LINT_DELAY, EditorScreen
from .terminal_safety import TerminalSafety
from .themes import load_themes

AUTOSAVE_DELAY = 0.6
#: A big library (its last save was slow) is saved in a pause of typing instead: AUTOSAVE_
#: DELAY after the last keystroke, at most SLOW_SAVE_WAIT after the first.
SLOW_SAVE_WAIT = 5.0
#: What a first F1 or F9 would import on the UI thread (F9's model list and proposals bring
#: the Ollama client: httpx, pydantic, and at its first request httpcore's async backend;
#: most of a second on a slow machine): imported in a thread once the first frame is out.
PRELOAD = ("workbench.tui.widgets.help", "workbench.tui.screens.assist_menu",
           "workbench.llm.ollama", "workbench.llm.gpu", "workbench.tui.screens.assist",
           "httpcore._backends.anyio", "anyio._backends._asyncio")
__all__ = ["AUTOSAVE_DELAY", "LINT_DELAY", "PRELOAD", "WorkbenchApp", "run_app"]
#: `gc.freeze` is done once a process (tests start many apps in one).
_frozen = False


@dataclass
class LibrarySaved(Message):
    """A save made in a worker thread has finished (posted by the thread: never blocks)."""

    library: Library
    result: workspace.SaveResult
    seconds: float = 0.0


class WorkbenchApp(App):
    TITLE = "FLUX Prompt Workbench"
    CSS_PATH = "app.tcss"
    #: The rules of what the first frame never shows (other screens, the runs panel, F1's
    #: help): read when the first of it opens, as the app's own CSS like ``CSS_PATH``.
    LATER_CSS_PATH = Path(__file__).with_name("later.tcss")
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = bindings("app")

    def __init__(self, config: Config, path: Path | None = None,
                 collection: Collection | None = None) -> None:
        super().__init__()
        self.config = config
        self.collection = collection or workspace.open_workspace(path)
        self.saves = Saves(self.collection)
        self.undo = Undo()
        self.session = ComfySession(config)
        self.keys = user_keys(config.keys)
        self.set_keymap(self.keys.keymap)
        self._save_timer: Timer | None = None
        self._first_unsaved = 0.0   # when the autosave timer was started
        self._editor_screen: EditorScreen | None = None
        loaded = load_themes()
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self._theme_failures = loaded.failures
        if config.ui.theme in self.available_themes:
            self._start_with_theme(config.ui.theme)

    def _start_with_theme(self, name: str) -> None:
        """Start with the theme ``name``: what setting `App.theme` does, less its re-read
        of every stylesheet and restyle of every widget (a tenth of start-up, before the
        first frame) — the app has read no stylesheet yet, and reads them with this
        theme's variables when it starts."""
        self.set_reactive(App.theme, name)
        theme = self.current_theme
        classes = {name: False for name in self.classes if name.startswith("-theme-")}
        classes.update({f"-theme-{theme.name}": True, "-dark-mode": theme.dark,
                        "-light-mode": not theme.dark})
        self.update_classes(classes, update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())  # (nothing parsed yet)

    def read_later_css(self) -> None:
        """Before the first of what ``LATER_CSS_PATH`` styles is mounted: its rules join
        the stylesheet (parsed at the next style lookup; they match only those widgets,
        so nothing already on screen needs a restyle)."""
        path = str(self.LATER_CSS_PATH)
        if not self.stylesheet.has_source(path):
            # (`add_source`, not `Stylesheet.read`: that one leaves the old rules map)
            self.stylesheet.add_source(self.LATER_CSS_PATH.read_text(encoding="utf-8"),
                                       read_from=(path, ""))

    def _load_screen_css(self, screen: Screen) -> None:
        """A screen is about to be registered: any but the editor is styled by
        `read_later_css`'s rules."""
        if screen is not self._editor_screen:
            self.read_later_css()
        super()._load_screen_css(screen)

    def get_default_screen(self) -> Screen:
        self._editor_screen = EditorScreen(self.config, self.collection, saves=self.saves,
                                           undo=self.undo, session=self.session,
                                           keys=self.keys)
        return self._editor_screen

    @property
    def editor_screen(self) -> EditorScreen:
        """The default screen: the editor (also while other screens are on top)."""
        assert self._editor_screen is not None, "the app has not started"
        return self._editor_screen

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

    def _after_first_frame(self) -> None:
        self._resume_gc()
        self._preload()

    @work(thread=True, group="preload", exit_on_error=False)
    def _preload(self) -> None:
        """Import what the first F1 or F9 needs (imports only: nothing of Textual's runs
        off its thread), then settle the heap."""
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except ImportError:  # another version of a library: imported when used
                pass
        cell_len("“…→”")  # Rich's table of character widths (loaded at the first one)
        try:
            self.call_from_thread(self._settle_heap)
        except RuntimeError:  # the app has closed meanwhile
            pass

    def _settle_heap(self) -> None:
        """What start-up built lives as long as the app (widgets, styles, libraries,
        tokenizers, modules): out of the cycle collector's full passes, which walked all of
        it again and again (50-80 ms each, in the middle of a key's frame)."""
        global _frozen
        if not _frozen and not self._gc_paused:
            _frozen = True
            gc.collect(1)
            gc.freeze()

    # -- terminal safety: outside text never reaches the terminal raw ------------------------
    _safety = TerminalSafety()

    def get_line_filters(self):
        return [*super().get_line_filters(), *([self._safety] if self._safety.enabled else [])]

    # -- notifications -------------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every toast (from any screen) shows file names, prompt names and server text:
        sanitised here, once for all."""
        super().notify(sanitize(message, multiline=True), title=sanitize(title),
                       severity=severity, timeout=timeout, markup=markup)

    def tell(self, notices: Iterable[Notice]) -> None:
        """Show what the core's policies say (outside text: never markup)."""
        for n in notices:
            self.notify(n.message, title=n.title, severity=n.severity, timeout=n.timeout,
                        markup=False)

    async def on_mount(self) -> None:
        # The app is ready (for keys, for a test's pilot) once the editor screen is: as it
        # was when the editor's widgets were the app's own.
        await AwaitMount(self.editor_screen, [self.editor_screen])
        self.call_after_refresh(self._after_first_frame)
        # previews are drawn off the UI thread: in this terminal's colours (xterm-256 ones
        # chosen by the previews themselves when it has no true colour)
        expect_color_system(self.console.color_system)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        problems = (self.collection.problems + self.config.problems + self._theme_failures
                    + self.keys.problems)
        if problems:
            self.notify("\n".join(problems), title="Some files could not be read fully",
                        severity="warning", timeout=12, markup=False)
        recoveries = workspace.pending_recoveries()
        if recoveries:
            self.notify("Unsaved edits from an earlier session were kept in:\n"
                        + "\n".join(map(str, recoveries)), title="Recovery files",
                        severity="warning", timeout=12, markup=False)

    # -- saving: the clock here, the policy in editing.Saves -------------------------------
    def schedule_save(self, library: Library) -> None:
        """A library has unsaved edits: save it when the autosave timer fires."""
        if self.saves.edited(library):
            # libraries are read fast, without tomlkit: parse the document to save into
            # in a thread (seconds for a big library), autosave when it is there
            self._prepare_document(library)
        if self._save_timer is None:
            self._start_save_timer()
        elif library.path in self.saves.slow and \
                time.monotonic() - self._first_unsaved < SLOW_SAVE_WAIT - AUTOSAVE_DELAY:
            self._save_timer.reset()  # a big library: saved when typing pauses

    def _start_save_timer(self) -> None:
        self._first_unsaved = time.monotonic()
        self._save_timer = self.set_timer(AUTOSAVE_DELAY, self._autosave)

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
        if self.saves.document_parsed(library, doc) and self._save_timer is None:
            self._start_save_timer()

    def _autosave(self) -> None:
        """The timer's save, written in a thread (rendering a big library's document takes
        a good part of a second: never on the UI thread while the user types).  A library
        whose document is still being parsed waits for it."""
        self._save_timer = None
        for library in self.saves.begin_background():
            self._save_in_thread(library)
        self._saves_changed()

    @work(thread=True, group="saves", exit_on_error=False)
    def _save_in_thread(self, library: Library) -> None:
        result, took = self.saves.write(library)
        self.post_message(LibrarySaved(library, result, took))

    @on(LibrarySaved)
    def _saved_in_thread(self, event: LibrarySaved) -> None:
        notice = self.saves.finished(event.library, event.result, event.seconds)
        self.tell([notice] if notice else [])
        if event.library.path in self.saves.pending and self._save_timer is None:
            self._start_save_timer()
        self._saves_changed()

    def flush_saves(self) -> None:
        """Save every library with unsaved edits (never blocks on a question)."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        self.tell(self.saves.save_all())
        self._saves_changed()

    def _saves_changed(self) -> None:
        if self._editor_screen is not None:
            self._editor_screen.update_status()

    #: The help panel last opened (asked at every footer refresh: a DOM query took 1-2 ms).
    _help = None

    def _open_help(self):
        """The help panel open on the current screen, if any."""
        panel = self._help
        if panel is not None and panel.is_attached and panel.screen is self.screen:
            return panel
        return None

    def action_toggle_help(self) -> None:
        """F1: open the help for the focused thing, or close it."""
        from .widgets.help import HelpPanel

        found = self._open_help()
        if found is not None:
            found.remove()
            return
        # Over the editor's panes (the status line and footer stay in view); on another
        # screen, over all but its footer line.
        host = self.screen.query("#main").first() if self.screen.query("#main") else None
        self.read_later_css()
        self._help = panel = HelpPanel(self.screen, self.screen.focused)
        if host is None:
            host = self.screen
            panel.styles.height = max(3, self.screen.size.height - 1)
        host.mount(panel)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc closes the help first; with no help open, the binding is off (not in the
        footer, and Esc does what it does on the screen)."""
        if action in ("close_help", "scroll_help"):
            return self._open_help() is not None
        return True

    def action_close_help(self) -> None:
        if (panel := self._open_help()) is not None:
            panel.remove()

    def action_scroll_help(self, pages: int) -> None:
        """PgUp/PgDn page through an open help longer than the screen (it takes no
        focus: the focused field stays the one it explains)."""
        if (panel := self._open_help()) is not None:
            (panel.scroll_page_down if pages > 0 else panel.scroll_page_up)(animate=False)

    def action_save_now(self) -> None:
        self.flush_saves()
        conflicted = self.saves.first_conflict()
        if conflicted is None:
            self.notify("All libraries saved", markup=False)
            return
        from .screens.confirm import resolve_conflict

        recovery = workspace.recovery_path(conflicted)
        self.push_screen(resolve_conflict(str(conflicted.path), str(recovery)),
                         lambda answer: self._resolve(conflicted, answer))

    def _resolve(self, library: Library, answer: str | None) -> None:
        editor = self._editor_screen
        name = editor.spec.name if editor is not None and editor.spec is not None \
            and editor.library is library else None
        notices, reloaded = self.saves.resolve(library, answer)
        self.tell(notices)
        if reloaded is not None and editor is not None:
            # the prompt that was being edited, in the original as reloaded
            editor.reloaded(reloaded.get(name) if name else None)
        self._saves_changed()

    async def action_quit(self) -> None:
        self.flush_saves()
        self.exit()

    async def on_unmount(self) -> None:
        self._resume_gc()  # (an app closed before its first frame)
        self.saves.save_all()  # widgets are gone by now: save without touching the screen
        await self.session.close()

    # -- theme -----------------------------------------------------------------------------------
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
        yield from palette_commands(self, screen, self.keys)


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
