"""The editor screen's actions that run things or open their screens: F5 (the run panel),
A/B comparisons, Kontext chains, the server's LoRAs and queue, the run history.

A mixin of `EditorScreen`.  Every screen opened here is given what it needs (the config,
the session's shared ComfyUI client) and owns its own workers; nothing reaches back
into the app to start work.
"""

from __future__ import annotations

from pathlib import Path

from ...library import Library
from ...spec import PromptSpec


class RunActions:
    def action_run(self) -> None:
        if self.spec is None or self.library is None:
            self.notify("Select a prompt to run", severity="warning")
            return
        spec = self.spec
        if spec.model == "kontext" and spec.follows.strip() and not spec.source_image.strip():
            # an edit of another prompt's image: run its chain up to here, in the chain view
            self.action_chain(run=True)
            return
        self.jobs.run_prompt(self.library, spec)

    async def action_cancel_run(self) -> None:
        await self.jobs.action_cancel()

    def action_queue(self) -> None:
        from .queue import QueueScreen

        self.app.push_screen(QueueScreen(self.session))

    # -- comparisons ----------------------------------------------------------------------------
    def action_compare(self) -> None:
        if self.spec is None or self.library is None:
            self.notify("Select a prompt to compare", severity="warning")
            return
        from .plan_setup import PlanSetup

        spec, library = self.spec, self.library
        others = [s for s in library.prompts if s is not spec] + [
            s for lib in self.collection.libraries if lib is not library for s in lib.prompts]
        self.app.push_screen(PlanSetup(spec, others, self.jobs.timings.step),
                             lambda plan: plan is not None and self.compare(plan, library,
                                                                            spec.name))

    def compare(self, plan, library: Library, prompt_name: str) -> None:
        """Open the compare screen on ``plan``; it runs it on the configured servers."""
        from .compare import CompareScreen

        self.app.push_screen(CompareScreen(plan, library=library, prompt_name=prompt_name,
                                           config=self.config))

    def action_history(self) -> None:
        from .history import HistoryScreen

        self.app.push_screen(HistoryScreen(), self._open_run)

    def _open_run(self, folder: str | None) -> None:
        if not folder:
            return
        from ...runs.history import HistoryError, load_run
        from .compare import CompareScreen

        try:
            run = load_run(Path(folder))
        except HistoryError as exc:
            self.notify(str(exc), title="Cannot open the run", severity="error",
                        markup=False)
            return
        if run.plan is None:  # a chain: its last image (its strip is the chain view, Ctrl+P)
            from .image import ImageScreen

            images = [p for cid in run.results for p in run.image_paths(cid)]
            if not images:
                self.notify(f"{run.folder}: no image yet", severity="warning", markup=False)
                return
            self.app.push_screen(ImageScreen(images[-1], run.title))
            return
        self.app.push_screen(CompareScreen(run.plan, run=run, config=self.config))

    # -- Kontext chains --------------------------------------------------------------------------
    def action_chain(self, run: bool = False) -> None:
        """The selected edit's chain; ``run``: run it up to this step at once (F5)."""
        from ...chains import ChainError
        from .chain import ChainScreen

        if self.spec is None or self.library is None or self.spec.model != "kontext":
            # (a chain's first prompt may be text-to-image; select one of its edits)
            self.notify("Select a Kontext edit (model kontext) to see its chain",
                        severity="warning")
            return
        try:
            screen = ChainScreen(self.library, self.spec.name, self.config, self.session,
                                 on_change=self._chain_changed)
        except ChainError as exc:
            self.notify(str(exc), title="Not a runnable chain", severity="warning",
                        timeout=12, markup=False)
            return
        self.app.push_screen(screen)
        if run:
            screen.call_after_refresh(screen.action_run)
            self.notify(f"“{self.spec.name}” edits the image of “{self.spec.follows}”: "
                        "running its chain up to this step (steps already made are "
                        "reused)", markup=False)

    def _chain_changed(self, library: Library, spec: PromptSpec) -> None:
        self.browser.refresh_rows(select=spec)
        self.show(library, spec)
        self.app.schedule_save(library)

    # -- LoRAs on the server ---------------------------------------------------------------------
    def action_add_lora(self) -> None:
        if self.spec is None:
            return
        from .pick import PickScreen

        spec, library = self.spec, self.library

        def add(name: str | None) -> None:
            if not name or spec is not self.spec:
                return
            from ...spec import Lora

            spec.params.loras.append(Lora(name, 1.0))
            self.show(library, spec)
            self.app.schedule_save(library)
            self.notify(f"Added {name} at strength 1; put its trigger words in the LoRAs "
                        "field after a second colon (file:0.8:trigger)", markup=False)

        self.app.push_screen(PickScreen(f"LoRAs on {self.config.comfyui.url}",
                                        self._server_loras), add)

    async def _server_loras(self) -> list[str]:
        from ...comfy.loras import server_loras

        return await server_loras(await self.session.client())
