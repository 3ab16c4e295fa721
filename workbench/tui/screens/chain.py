"""A Kontext edit chain as a strip: the source image, then each edit's result.

Run the chain (each step edits the previous step's output; steps already made with the
same input, instruction and seed are reused), branch from any step with a new
instruction, and see the seed 001 warning past six edits.  The chain itself lives in the
library (`workbench.chains`): this screen only shows and drives it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from ...chains import ChainError, add_branch, add_wish, chain_to, resolve_source
from ...library import Library
from ...textsafe import one_line
from ..actions import bindings
from ..messages import StepProgress
from ..widgets.cell import CellView
from ..widgets.footer import KeyFooter

if TYPE_CHECKING:
    from ...runs.session import ComfySession


class InstructionInput(ModalScreen[str | None]):
    BINDINGS = bindings("dialog")

    ONE_CHANGE = ("One change, e.g. Make it snow while keeping the people and the "
                  "composition the same")
    WISH = "What you want, in your words, e.g. a winter night with the diner's neon on"

    def __init__(self, title: str, placeholder: str = ONE_CHANGE) -> None:
        super().__init__()
        self.title_text, self.placeholder = title, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(one_line(self.title_text), style="bold"), id="dialog-title")
            yield Input(placeholder=self.placeholder, id="instruction")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class ChainScreen(Screen[None]):
    SCOPE = "chain"  # its actions in the action table (keys, palette, help)
    BINDINGS = bindings("chain")

    def __init__(self, library: Library, tip: str, config, session: ComfySession,
                 on_change=None) -> None:
        super().__init__()
        self.library, self.tip, self.config, self.session = library, tip, config, session
        self.on_change = on_change  # called after the library gained a step
        self.chain = chain_to(library.prompts, tip)
        self.selected = len(self.chain.steps)  # 0 = the source, i = step i
        self.views: list[CellView] = []
        self.description = ""  # the vision model's words about the source, once asked

    def compose(self) -> ComposeResult:
        with Vertical(id="chain"):
            yield Static(self._title(), id="chain-title")
            with Horizontal(id="chain-strip"):
                origin = self.chain.origin
                source_label = f"source: {one_line(origin.name)} ({origin.model})" \
                    if origin is not None and not self.chain.source_image else "source"
                self.views = [CellView("source", source_label)] + [
                    CellView(step.name, f"{i}. {one_line(step.raw)}")
                    for i, step in enumerate(self.chain.steps, start=1)]
                yield from self.views
            yield Static("", id="chain-status")
        yield KeyFooter(compact=True)

    def _title(self) -> Text:
        title = Text(f"Kontext chain: {len(self.chain.steps)} edit(s)", style="bold")
        for warning in self.chain.warnings():
            title.append(f"\n⚠ {one_line(warning)}", style="bold")
        return title

    def on_mount(self) -> None:
        if self.chain.source_image:
            self.views[0].set_image(resolve_source(self.chain, self.library.path.parent))
        else:
            self.views[0].set_progress("made by its prompt when the chain runs")
        self._show_results()
        self._select(self.selected)

    def _show_results(self) -> None:
        from ...runs.chain import made_steps

        made = made_steps(self.chain)
        origin = self.chain.origin
        if origin is not None and not self.chain.source_image and origin.name in made:
            folder, step = made[origin.name]
            self.views[0].set_image(folder / step.images[0])
        for view, spec in zip(self.views[1:], self.chain.steps):
            if spec.name in made:
                folder, step = made[spec.name]
                view.set_image(folder / step.images[0])

    def _select(self, index: int) -> None:
        self.views[self.selected].remove_class("-selected")
        self.selected = max(0, min(index, len(self.views) - 1))
        self.views[self.selected].add_class("-selected")
        if self.selected == 0:
            origin = self.chain.origin
            text = Text(one_line(f"source: {self.chain.source_image}" if self.chain.source_image
                        else f"source: the image of “{origin.name}” ({origin.model})"))
        else:
            spec = self.chain.steps[self.selected - 1]
            text = Text(f"{one_line(spec.name)}: ", style="bold")
            text.append(one_line(spec.raw))
            text.append(f"  (seed {spec.params.seed})" if spec.params.seed is not None
                        else "", style="dim")
        self.query_one("#chain-status", Static).update(text)

    def action_move(self, step: int) -> None:
        self._select(self.selected + step)

    # -- running -------------------------------------------------------------------------------
    def action_run(self) -> None:
        for view in self.views[0 if not self.chain.source_image else 1:]:
            view.set_progress("waiting")
        self._run()

    @work(exclusive=True, group="chain", exit_on_error=False)
    async def _run(self) -> None:
        from ...comfy.client import ComfyError
        from ...runs.chain import reuse_folder, run_chain
        from ...runs.history import HistoryError, new_run_folder
        from ...runs.single import RunService

        chain = self.chain
        folder = new_run_folder(None, f"{chain.steps[0].name} {chain.steps[-1].name}")

        def on_step(index: int, spec, result) -> None:  # index: 1-based, like the strip
            if result is None:
                self.post_message(StepProgress(index))
            elif result.ok:
                self.post_message(StepProgress(index, "done", image=folder / result.image))
            else:
                self.post_message(StepProgress(index, "error",
                                               error=result.message or result.status))

        def on_event(job, event) -> None:
            if job.steps:
                self.post_message(StepProgress(None, "running", job.fraction, job.step,
                                               job.steps))

        try:
            client = await self.session.client()   # the session's, shared: not closed here
            source = resolve_source(chain, self.library.path.parent) \
                if chain.source_image else None  # else: made by the origin prompt
            run = await run_chain(RunService.for_session(self.config), client, chain, folder,
                                  source_path=source, reuse=reuse_folder(chain),
                                  on_step=on_step, on_event=on_event)
        except (ComfyError, ChainError, HistoryError, OSError, ValueError) as exc:
            self.notify(str(exc), title="Chain stopped", severity="error", timeout=15,
                        markup=False)
            return
        names = set(chain.names)  # (the run also holds the origin prompt's image)
        done = sum(1 for step in run.steps if step.ok and step.name in names)
        self.notify(f"{done}/{len(chain.steps)} edits done in {folder}", markup=False)

    @on(StepProgress)
    def _step_progress(self, event: StepProgress) -> None:
        if event.index is None:   # the running step's sampling
            for view in self.views:
                if view.state == "running":
                    view.set_progress("running", event.fraction, event.step, event.steps)
        elif event.image is not None:
            self.views[event.index].set_image(event.image)
        else:
            self.views[event.index].set_progress(event.state, error=event.error)

    # -- branching -----------------------------------------------------------------------------
    def action_branch(self) -> None:
        if self.selected == 0:
            self.notify("Pick a step to branch from (a chain needs its first edit)",
                        severity="warning")
            return
        at = self.chain.steps[self.selected - 1]
        self.app.push_screen(InstructionInput(f"New edit after “{at.name}”"),
                             lambda text: text and self._branch(at.name, text))

    def _branch(self, at: str, instruction: str) -> None:
        spec = add_branch(self.library, self.chain, at, instruction)
        if self.on_change is not None:
            self.on_change(self.library, spec)
        self.dismiss(None)
        self.app.push_screen(self._another(spec.name))

    # -- local LLM help (Ollama) ------------------------------------------------------------
    def action_wish(self) -> None:
        if self.selected == 0 and not self.chain.steps:
            return
        self.app.push_screen(InstructionInput("Your wish: the local model turns it into "
                                              "single-change Kontext edits",
                                              InstructionInput.WISH),
                             lambda text: text and self._wish(text))

    @work(exclusive=True, group="llm", exit_on_error=False)
    async def _wish(self, wish: str) -> None:
        from ...llm.actions import Assistant
        from ...llm.ollama import LLMError, OllamaClient

        self.query_one("#chain-status", Static).update(Text("asking the local model…"))
        try:
            async with OllamaClient.from_config(self.config) as client:
                proposal = await Assistant.from_config(self.config, client).kontext(wish)
        except LLMError as exc:
            self.notify(str(exc), title="No edits proposed", severity="error", timeout=12,
                        markup=False)
            self._select(self.selected)
            return
        at = self.chain.steps[max(0, self.selected - 1)].name
        try:
            new_steps = add_wish(self.library, self.chain, at, proposal.instructions)
        except ChainError as exc:
            self.notify(str(exc), title="No edits proposed", severity="warning",
                        markup=False)
            return
        if self.on_change is not None:
            self.on_change(self.library, new_steps[-1])
        self.notify(f"{len(new_steps)} edit(s) added after “{at}”: "
                    + " / ".join(one_line(s.raw) for s in new_steps), markup=False)
        self.dismiss(None)
        self.app.push_screen(self._another(new_steps[-1].name))

    def action_describe(self) -> None:
        view = self.views[0]
        if view.image is None:
            self.notify("No source image yet (run the chain to make it)", severity="warning")
            return
        self._describe(view.image)

    @work(exclusive=True, group="llm", exit_on_error=False)
    async def _describe(self, image: Path) -> None:
        from ...llm.actions import Assistant
        from ...llm.ollama import LLMError, OllamaClient

        status = self.query_one("#chain-status", Static)
        status.update(Text(f"describing with {self.config.ollama.vision_model}…"))
        try:
            async with OllamaClient.from_config(self.config) as client:
                proposal = await Assistant.from_config(self.config, client).describe(image)
        except LLMError as exc:
            status.update(Text(str(exc), style="bold"))
            return
        self.description = proposal.text
        status.update(Text.assemble(("source: ", "bold"), one_line(proposal.text)))

    def _another(self, tip: str) -> ChainScreen:
        return ChainScreen(self.library, tip, self.config, self.session, self.on_change)

    def action_close(self) -> None:
        self.dismiss(None)
