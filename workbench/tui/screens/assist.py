"""Ask the local LLM for a better prompt, watch the answer stream, then accept or discard.

Nothing reaches the prompt until the user accepts: the screen is dismissed with the new
spec (or ``None``), and the app applies it with an undo step.  The answer is untrusted text:
it is shown as `rich.text.Text`, never parsed as markup.
"""

from __future__ import annotations

import difflib
import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import SelectionList, Static

from ...compose import compose
from ...llm.actions import Assistant, Proposal
from ...llm.ollama import LLMError, OllamaClient
from ...spec import TEXT_FIELDS, PromptSpec
from ...textsafe import printable, sanitize
from ..actions import bindings
from ..widgets.footer import KeyFooter


def word_diff(old: str, new: str) -> Text:
    """``new`` with inserted words highlighted and removed words struck through."""
    a, b = sanitize(old).split(), sanitize(new).split()
    out = Text()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op in ("delete", "replace"):
            out.append(" ".join(a[i1:i2]) + " ", style="strike red")
        if op in ("insert", "replace"):
            out.append(" ".join(b[j1:j2]) + " ", style="bold green")
        if op == "equal":
            out.append(" ".join(a[i1:i2]) + " ")
    out.rstrip()
    return out


class AssistScreen(Screen[PromptSpec | None]):
    """Streams one action's answer next to the current prompt; accept or discard."""

    SCOPE = "assist"  # its actions in the action table (keys, palette, help)
    BINDINGS = bindings("assist")

    def __init__(self, action: str, spec: PromptSpec, config, *, model: str = "",
                 diagnostics: list[str] | None = None, source: Path | None = None,
                 lint_context: tuple = (None, ())) -> None:
        super().__init__()
        self.lint_context = lint_context  # (library, libraries): lint as the panel does
        self.action, self.spec, self.config = action, spec, config
        self.source = source  # the image to describe
        self.model = model or (config.ollama.vision_model if action == "describe"
                               else config.ollama.model)
        self.diagnostics = diagnostics or []
        self.original = compose(spec)
        self.proposal: Proposal | None = None
        self.streamed = ""
        self._started = 0.0
        self._first_token: float | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="assist-panes"):
            with VerticalScroll(id="assist-now"):
                yield Static(Text(sanitize(self.original, multiline=True) or "(empty)"),
                             id="now-text")
            with VerticalScroll(id="assist-new"):
                yield Static("", id="new-text")
                yield SelectionList[str](id="field-picks")
        yield Static("", id="assist-status")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#assist-now").border_title = "Now"
        self.query_one("#assist-new").border_title = f"Proposal: {self.action} ({self.model})"
        self.query_one("#field-picks").display = False
        self.set_interval(0.2, self._tick)
        self.ask()

    # -- asking --------------------------------------------------------------------------------
    @work(exclusive=True, group="assist")
    async def ask(self) -> None:
        self.proposal, self.streamed, self._first_token = None, "", None
        self._started = time.perf_counter()
        self._set_status(f"asking {self.model}…")
        try:
            async with OllamaClient.from_config(self.config) as client:
                assistant = Assistant.from_config(self.config, client, model=self.model)
                if self.action == "describe":
                    if self.source is None:
                        raise LLMError("this prompt has no source image to describe; set "
                                       "one in the Source img field")
                    proposal = await assistant.describe(
                        self.source, model=self.model,
                        on_token=self._token)
                else:
                    proposal = await assistant.run_text(self.action, self.original,
                                                        diagnostics=self.diagnostics,
                                                        on_token=self._token)
        except LLMError as exc:
            self._started = 0.0  # no longer waiting: the tick must not cover the error
            self._set_status(f"{exc}\nNothing was changed. Esc closes, r asks again.",
                             "error")
            return
        self._show(proposal)

    def _token(self, piece: str) -> None:
        if self._first_token is None:
            self._first_token = time.perf_counter() - self._started
        self.streamed += piece
        self.query_one("#new-text", Static).update(Text(printable(self.streamed)))

    def _tick(self) -> None:
        if self.proposal is None and self._first_token is None and self._started:
            waited = time.perf_counter() - self._started
            if waited > 1.0:
                self._set_status(f"waiting for the first token… {waited:.1f} s "
                                 "(the model may be loading)")

    def _show(self, proposal: Proposal) -> None:
        self.proposal = proposal
        new = self.query_one("#new-text", Static)
        if proposal.fields:
            self._show_fields(proposal, new)
        else:
            new.update(word_diff(self.original, proposal.text))
        notes = [f"answered in {proposal.timings.total_s:.1f} s", self._lint_note(proposal)]
        if proposal.timings.first_token_s is not None:
            notes.append(f"first token after {proposal.timings.first_token_s:.1f} s")
        notes += [f"check: {w}" for w in proposal.warnings]
        self._set_status(" · ".join(notes) + "\na accepts, Esc discards, r asks again",
                         "warn" if proposal.warnings else "ok")

    def _show_fields(self, proposal: Proposal, new: Static) -> None:
        """Each proposed field's whole value (the list below cuts its rows to one line),
        then the list to pick from."""
        text = Text()
        picks = self.query_one("#field-picks", SelectionList)
        picks.clear_options()
        for name in TEXT_FIELDS:
            value = proposal.fields.get(name, "")
            changed = value != getattr(self.spec, name)
            if not (value or changed):
                continue
            text.append(f"{name}: ", "bold")
            text.append(printable(value) if value else "(empty)", "" if value else "dim")
            text.append("\n")
            # picked at first when it brings text; emptying a field is opt-in
            picks.add_option((Text.assemble((f"{name}: ", "bold"), printable(value)),
                              name, changed and bool(value)))
        text.append("\nPick the fields to take (space toggles, a accepts):", "italic")
        new.update(text)
        picks.display = True
        picks.focus()

    def _lint_note(self, proposal: Proposal) -> str:
        """How the proposal fares with the linter, next to how the prompt does now."""
        from ...linting import lint_change

        try:
            change = lint_change(self.spec, self.proposed(proposal), self.config,
                                 *self.lint_context)
        except ValueError:
            return ""
        parts = [f"lint: {len(change.before)} → {len(change.after)} problems"]
        if change.fixed:
            parts.append("fixed " + ", ".join(change.fixed))
        if change.new:
            parts.append("new " + ", ".join(change.new))
        return " ".join(parts)

    def _set_status(self, message: str, level: str = "ok") -> None:
        status = self.query_one("#assist-status", Static)
        status.update(Text(sanitize(message, multiline=True)))
        status.set_class(level == "error", "-error")

    # -- answers -------------------------------------------------------------------------------
    def action_accept(self) -> None:
        if self.proposal is None:
            self.notify("No proposal yet", severity="warning")
            return
        if self.proposal.fields:
            picked = self.query_one("#field-picks", SelectionList).selected
            new = self.proposal.apply_fields(self.spec, picked)
            if picked and set(picked) >= {n for n in TEXT_FIELDS
                                          if self.proposal.fields.get(n)}:
                new.raw = ""  # all fields taken: leave raw mode, the fields are the prompt
        else:
            new = self.proposed(self.proposal)
        self.dismiss(new)

    def proposed(self, proposal: Proposal) -> PromptSpec:
        """The prompt as the proposal would make it: Kontext instructions make it a
        Kontext prompt (a dev prompt would run them as a text-to-image prompt)."""
        new = proposal.apply_to(self.spec)
        if self.action == "kontext":
            new.model = "kontext"
        return new

    def action_retry(self) -> None:
        self.ask()

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "assist")
        self.dismiss(None)
