"""The editor screen's actions on prompts: new, duplicate, rename, delete, copy, filter,
lint fixes, LLM proposals, undo, and the palette's context commands (presets, sizes,
this prompt's fixes, reloading its library).

A mixin of `EditorScreen` (it uses the screen's ``spec``, ``library``, widgets and the
core objects it was given); changes go through `editing.Undo` so F12 can take them back.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.widgets import Input

from ... import workspace
from ...library import Library
from ...llm.action_names import ACTIONS as LLM_ACTIONS
from ...spec import PromptSpec, source_path
from .confirm import confirm_delete


class PromptActions:
    # -- adding and removing ------------------------------------------------------------------
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
        self.show(library, spec)
        self.app.schedule_save(library)
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
            self.show(*(current or (library, None)))
            self.app.schedule_save(library)
            self.notify(f"Deleted “{spec.name}”", markup=False)

        self.app.push_screen(confirm_delete(spec.name), done)

    # -- moving around -------------------------------------------------------------------------
    def action_copy_prompt(self) -> None:
        if self.composed.text:
            self.app.copy_to_clipboard(self.composed.text)
            self.notify("Composed prompt copied (OSC 52)")

    def action_filter(self) -> None:
        self.browser.query_one("#filter", Input).focus()

    def action_focus_browser(self) -> None:
        self.browser.option_list.focus()

    def action_focus_problems(self) -> None:
        from ..widgets.problems import ProblemsPanel

        panel = self.query_one(ProblemsPanel)
        if panel.diagnostics:
            panel.focus()
        else:
            self.notify("No problems in this prompt")

    def action_focus_runs(self) -> None:
        if self.jobs.rows:
            self.jobs.focus()
        else:
            self.notify("No runs yet: F5 runs the selected prompt")

    # -- changes that F12 undoes ------------------------------------------------------------
    def _change(self, library: Library, spec: PromptSpec, new: PromptSpec, said: str) -> None:
        self.undo.change(library, spec, new)
        self.changed(library, spec)
        self.notify(said, markup=False)

    def apply_fix(self, diagnostic) -> None:
        if self.spec is None or self.library is None or diagnostic.fix is None:
            return
        from ...lint import apply_fixes

        self._change(self.library, self.spec, apply_fixes(self.spec, [diagnostic]),
                     f"Fixed: {diagnostic.fix.description}. F12 undoes it.")

    def action_fix_all(self) -> None:
        if self.spec is None or self.library is None:
            return
        from ...lint import apply_fixes

        safe = [d for d in self.diagnostics if d.fix is not None and d.fix.safe]
        if not safe:
            self.notify("No safe fixes to apply", severity="warning")
            return
        self._change(self.library, self.spec, apply_fixes(self.spec, safe, safe_only=True),
                     f"Applied {len(safe)} safe fix(es). F12 undoes them.")

    def action_undo_assist(self) -> None:
        from ...editing import UndoError

        try:
            library, spec = self.undo.undo(self.collection)
        except UndoError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.changed(library, spec)
        self.notify("Restored the version before the last fix, preset or proposal",
                    markup=False)

    def _set_params(self, **values) -> None:
        if self.spec is None or self.library is None:
            return
        for key, value in values.items():
            setattr(self.spec.params, key, value)
        self.show(self.library, self.spec)
        self.app.schedule_save(self.library)
        self.notify(", ".join(f"{k} = {v}" for k, v in values.items()), markup=False)

    def _apply_preset(self, preset) -> None:
        """The preset's values take effect (the fields show them as "(preset …)")."""
        from ...presets import apply_preset

        if self.spec is None or self.library is None:
            return
        new, changes = apply_preset(self.spec, preset)
        said = f"Preset {preset.name}" + (f": {', '.join(changes)}" if changes else "")
        self._change(self.library, self.spec, new, f"{said}. F12 undoes it.")

    # -- LLM assistance --------------------------------------------------------------------------
    def action_assist(self, action: str | None = None, model: str = "") -> None:
        if self.spec is None:
            self.notify("Select a prompt first", severity="warning")
            return
        spec, library = self.spec, self.library
        if action is None:
            self.app.push_screen(self._action_menu(),
                                 lambda picked: picked and self.action_assist(*picked))
            return
        from .assist import AssistScreen

        source = None
        if action == "describe" and spec.source_image and library is not None:
            source = source_path(spec.source_image, library.path.parent)
        screen = AssistScreen(action, spec, self.config, model=model, source=source,
                              diagnostics=self.diagnostic_messages(spec, library),
                              lint_context=(library, self.collection.libraries))
        self.app.push_screen(screen, lambda new: new is not None and self._accepted(
            library, spec, new, screen.proposal))

    def _action_menu(self):
        """F9's menu: built once, then shown again (installed: popping it keeps it)."""
        from .assist_menu import ActionMenu

        if not self.app.is_screen_installed(ActionMenu.NAME):
            self.app.install_screen(ActionMenu(self.config), ActionMenu.NAME)
        return self.app.get_screen(ActionMenu.NAME)

    def _accepted(self, library: Library, spec: PromptSpec, new: PromptSpec,
                  proposal) -> None:
        said = "Proposal accepted"
        if new.model != spec.model:
            said += f"; the model is now {new.model} (it was {spec.model})"
        self._change(library, spec, new, f"{said}. F12 undoes it.")
        more = proposal.instructions[1:] if proposal is not None else []
        if more and library is not None:  # one change per Kontext edit: a step each
            from ...chains import add_edits_after

            added = add_edits_after(library, spec, more)
            self.browser.refresh_rows(select=spec)
            self.app.schedule_save(library)
            self.notify(f"{len(added)} more edit(s) follow it as steps of their own: "
                        + ", ".join(f"“{s.name}”" for s in added), markup=False)

    def diagnostic_messages(self, spec: PromptSpec, library: Library | None) -> list[str]:
        """What the linter says about ``spec`` (for the "fix" action): the same settings
        and context as the Problems panel."""
        from ...linting import lint_messages

        return lint_messages(spec, self.config, library, self.collection.libraries)

    # -- the palette's commands for this moment ------------------------------------------------
    def context_commands(self) -> Iterable[SystemCommand]:
        for name, help_text in LLM_ACTIONS.items():
            yield SystemCommand(f"Assist: {name}", f"{help_text} (local LLM via Ollama)",
                                lambda name=name: self.action_assist(name))
        for diagnostic in self.diagnostics:
            if diagnostic.fix is not None:
                yield SystemCommand(f"Fix {diagnostic.code}: {diagnostic.fix.description}",
                                    diagnostic.message,
                                    lambda d=diagnostic: self.apply_fix(d), discover=False)
        if self.spec is not None:
            yield from self._parameter_commands()
        if self.library is not None:
            library = self.library
            yield SystemCommand("Reload library from disk",
                                f"Discard unsaved edits to {library.path.name} and re-read it",
                                lambda: self.reload_library(library))

    def reload_library(self, library: Library) -> None:
        from ...library import LibraryError

        try:
            self.saves.reload(library)
        except (LibraryError, OSError) as exc:
            self.notify(str(exc), title="Reload failed", severity="error", markup=False)
            return
        self.reloaded()

    def _parameter_commands(self) -> Iterable[SystemCommand]:
        from ...presets import ASPECTS, aspect_size, default_presets

        for preset in default_presets().presets.values():
            yield SystemCommand(f"Preset: {preset.name}", preset.description,
                                lambda p=preset: self._apply_preset(p))
        for aspect in ASPECTS:
            for hd in (False, True):
                w, h = aspect_size(aspect, hd=hd)
                yield SystemCommand(f"Size: {aspect}{' HD' if hd else ''} ({w}x{h})",
                                    "Set width and height (multiples of 16, about "
                                    f"{'2' if hd else '1'} MP)",
                                    lambda w=w, h=h: self._set_params(width=w, height=h))
