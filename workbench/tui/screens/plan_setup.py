"""Set up a comparison: the other prompt(s), the fixed seeds, and an optional sweep axis."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ...runs.plan import PlanError, RunPlan
from ...runs.plan_form import build_plan, plan_summary
from ...spec import PromptSpec
from ...textsafe import sanitize
from ..actions import bindings


class PlanSetup(ModalScreen[RunPlan | None]):
    BINDINGS = bindings("dialog")

    def __init__(self, spec: PromptSpec, others: list[PromptSpec],
                 step_seconds: float | None = None) -> None:
        super().__init__()
        self.spec, self.others = spec, others
        self.step_seconds = step_seconds  # the session's measure: the estimate before Run

    def compose(self) -> ComposeResult:
        seed_hint = f"{self.spec.params.seed}" if self.spec.params.seed is not None \
            else "2 random"
        with Vertical(id="dialog"):
            yield Static(Text(f"Compare “{sanitize(self.spec.name)}” with…", style="bold"),
                         id="dialog-title")
            with Grid(id="plan-form"):
                yield Label("B")
                yield Select([(s.name, i) for i, s in enumerate(self.others)],
                             prompt="(none: sweep only)", id="plan-b", compact=True)
                yield Label("Seeds")
                yield Input(value=seed_hint, placeholder="1, 2, 3  or  4 random",
                            id="plan-seeds", compact=True)
                yield Label("Sweep")
                yield Input(placeholder="guidance=2.5,3.5", id="plan-axis", compact=True)
            yield Static(Text("Sweep axes: guidance, steps, sampler, scheduler, model, size, "
                              "lora:FILE; several with ;", style="dim"), id="plan-axes-help")
            yield Static("", id="plan-summary")
            yield Static("", id="plan-note")
            with Horizontal(id="dialog-buttons"):
                yield Button("Run (Enter)", id="plan-run", variant="primary")
                yield Button("Cancel (Esc)", id="plan-cancel")

    def on_mount(self) -> None:
        if self.others:
            self.query_one("#plan-b", Select).value = 0
        self.query_one("#plan-b", Select).focus()
        self._summarise()

    def on_input_changed(self) -> None:
        self._summarise()

    def on_select_changed(self) -> None:
        self._summarise()

    def _plan(self) -> RunPlan:
        choice = self.query_one("#plan-b", Select).value
        other = self.others[choice] if isinstance(choice, int) else None
        return build_plan(self.spec, other, self.query_one("#plan-seeds", Input).value,
                          self.query_one("#plan-axis", Input).value)

    def _summarise(self) -> None:
        """How many cells, and how long they would take, before Run."""
        try:
            text = Text(plan_summary(self._plan(), self.step_seconds))
        except PlanError as exc:
            text = Text(str(exc), style="dim")
        self.query_one("#plan-summary", Static).update(text)

    def on_input_submitted(self) -> None:
        self._go()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan-run":
            self._go()
        else:
            self.dismiss(None)

    def _go(self) -> None:
        try:
            plan = self._plan()
        except PlanError as exc:
            self.query_one("#plan-note", Static).update(Text(str(exc), style="bold"))
            return
        if plan.size == 1:
            self.query_one("#plan-note", Static).update(Text(
                "That is a single image: pick a B prompt, more seeds or a sweep (F5 runs "
                "one prompt).", style="bold"))
            return
        self.dismiss(plan)
