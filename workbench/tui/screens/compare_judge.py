"""The compare screen's judge: scores per cell, the checklist panel, a summary per variant.

A mixin of `CompareScreen`.  ``j`` judges the run (`judge.live.LiveJudge`, in this
screen's worker): a finished run at once; a running one as its cells finish when Ollama
has its own GPU, after its image jobs when it shares ComfyUI's.  Scores come in as
`CellJudged` / `JudgeFinished` messages; a run judged before shows its ``judge.json``
when the screen opens.  Each cell's badge is in its top border, ``d`` shows the selected
cell's checklist with the model's reasons (sanitised: model text is outside text), ``b``
walks the cells best score first, and the best cell of each column is highlighted.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.widgets import Static

from ...textsafe import sanitize
from ..messages import CellJudged, JudgeFinished

STYLES = {"present": "green", "partly": "yellow", "absent": "bold red", "note": "dim",
          "title": "bold"}


class JudgeActions:
    judgement: dict | None = None
    live = None             # judge.live.LiveJudge while judging
    _best_step = -1

    # -- starting --------------------------------------------------------------------------
    def action_judge(self) -> None:
        from ...judge.live import LiveJudge

        if self.live is not None:
            self.notify("Judging is under way", severity="warning")
            return
        if self.config is None:
            self.notify("Open the run from the editor (Run history) to judge it",
                        severity="warning")
            return
        if self.run is None and not self.running:
            self.notify("Nothing to judge yet", severity="warning")
            return
        self.live = LiveJudge(self.config, on_cell=self._judged_cell)
        model = self.live.settings.vision_model
        if not self.running:
            self.notify(f"Judging with {model}…", markup=False)
            self._judge_worker()
            return
        for update in self.runner.updates.values():   # cells done before the key
            self.live.update(self.runner.history_run, update)
        self.notify(f"Judging with {model} " + (
            "as cells finish" if self.live.interleave else
            "after the image jobs (Ollama shares the GPU with ComfyUI)"), markup=False)

    def judge_progress(self, update) -> None:
        """A cell update of the running plan (the judge takes the done ones)."""
        if self.live is not None and self.runner is not None:
            self.live.update(self.runner.history_run, update)

    def judge_plan_finished(self, run) -> None:
        """The plan's image jobs are over: judge what is left."""
        if self.live is None:
            return
        if run is None:
            self._stop_live()
            return
        self._judge_worker()

    def _stop_live(self) -> None:
        live, self.live = self.live, None
        if live is not None:
            self.run_worker(live.close(), group="judge", exit_on_error=False)

    def _judged_cell(self, cell) -> None:
        self.post_message(CellJudged(cell.cell_id, cell.to_dict()))

    @work(group="judge", exclusive=True, exit_on_error=False)
    async def _judge_worker(self) -> None:
        live = self.live
        try:
            judgement = await live.finish(self.run)
        except asyncio.CancelledError:   # the screen went away: close Ollama's client
            await live.close()
            raise
        except Exception as exc:  # noqa: BLE001 - a disk error must be seen, not lost
            await live.close()
            self.post_message(JudgeFinished(error=f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(JudgeFinished(judgement.to_dict()))

    @work(thread=True, group="judge-load", exit_on_error=False)
    def load_judgement(self) -> None:
        """Show a run's earlier judgement (judge.json), read off the UI thread."""
        from ...judge.view import JudgeFileError, read_judgement

        try:
            data = read_judgement(self.run.folder)
        except JudgeFileError as exc:
            self.post_message(JudgeFinished(error=str(exc), written=False))
            return
        if data is not None:
            self.post_message(JudgeFinished(data, written=False))

    # -- showing ---------------------------------------------------------------------------
    # (handlers by name: ``@on`` is only collected from the screen class itself)
    def on_cell_judged(self, event: CellJudged) -> None:
        from ...judge.view import badge

        view = self.cells.get(event.cell_id)
        if view is not None:
            view.set_badge(badge(event.cell))

    def on_judge_finished(self, event: JudgeFinished) -> None:
        from ...judge.view import summary_lines

        if event.written:
            self.live = None
        if event.error:
            self.notify(event.error, title="Judging stopped" if event.written else
                        "Judge results not shown", severity="error", timeout=15,
                        markup=False)
            return
        self.judgement = event.data
        self._show_badges()
        summary = self.query_one("#judge-summary", Static)
        summary.update(Text("\n".join(sanitize(line) for line in summary_lines(event.data))))
        summary.display = True
        self.show_judge_details()
        if event.written:
            self._tell_judged(event.data)

    def _show_badges(self) -> None:
        from ...judge.view import badge, cells_of, flags

        cells = cells_of(self.judgement)
        for column in range(len(self.grid.column_labels)):
            ids = [row[column] for row in self.grid.cells]
            scores = {c: flags(cells[c])["adherence"] for c in ids if c in cells}
            known = [s for s in scores.values() if s is not None]
            top = max(known) if len(known) > 1 else None
            for cid in ids:
                if cid in cells:
                    self.cells[cid].set_badge(badge(cells[cid]),
                                              best=top is not None and scores[cid] == top)

    def _tell_judged(self, data: dict) -> None:
        adherence = data.get("adherence") or {}
        note = sanitize(adherence.get("note") or "")
        if adherence.get("status") == "skipped":
            self.notify(f"Adherence not checked: {note}. The pixel checks ran (sharpness, "
                        "same as A).", title="Judged without the vision model",
                        severity="warning", timeout=20, markup=False)
        else:
            self.notify("Judged: scores in each cell's border; d shows the checklist, b "
                        "goes to the best" + (f" ({note})" if note else ""), markup=False)

    def show_judge_details(self) -> None:
        """The side panel for the selected cell (when it is open)."""
        from ...judge.view import cells_of, details

        panel = self.query_one("#judge-panel", Static)
        if not panel.display:
            return
        cell = cells_of(self.judgement).get(self.current.cell_id)
        if cell is None:
            panel.update(Text("Not judged: press j to judge the run" if self.judgement is None
                              else "This cell has no judgement (not done)", style="dim"))
            return
        text = Text(sanitize(self.current.label) + "\n", style="bold")
        for kind, line in details(cell):
            text.append(sanitize(line) + "\n", style=STYLES.get(kind, ""))
        panel.update(text)

    def action_toggle_details(self) -> None:
        panel = self.query_one("#judge-panel", Static)
        panel.display = not panel.display
        self.show_judge_details()

    def action_next_best(self) -> None:
        from ...judge.view import ranked

        order = ranked(self.judgement)
        if not order:
            self.notify("No scores yet: press j to judge the run", severity="warning")
            return
        self._best_step = (self._best_step + 1) % len(order)
        target = order[self._best_step]
        for r, row in enumerate(self.grid.cells):
            if target in row:
                self._select(r, row.index(target))
