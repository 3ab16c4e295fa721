"""The compare screen: a plan's cells as a labelled grid (variant x seed x axis values).

Each cell (`CellView`) shows its image as half-blocks (thumbnails are made off the UI
thread and cached on disk), or its progress while the plan runs.  Arrow keys move between
cells, Enter opens the single view (zoom, pan, A|B flip at the same spot), ``w`` marks a
winner, which is recorded in the run's manifest and with the plan in the library.

The screen shows a `history.Run`: a past one, or the one it runs itself when it is given
the config.  Then the screen owns the worker: a `PlanRunner`
whose updates come in as `CellProgress` messages and whose end is `PlanFinished`.
Closing the screen while the plan runs does not stop it (the run goes on and says when
it is done); ``c`` does.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from ...images.contact_sheet import SheetGrid, plan_grid
from ...runs.plan import RunPlan
from ...textsafe import one_line, sanitize
from ..actions import bindings
from ..messages import CellProgress, PlanFinished, cell_updates
from ..widgets.cell import CellView, thumbnail_box
from ..widgets.footer import KeyFooter
from .compare_judge import JudgeActions


class CompareScreen(JudgeActions, Screen[None]):
    SCOPE = "compare"  # its actions in the action table (keys, palette, help)
    BINDINGS = bindings("compare")

    def __init__(self, plan: RunPlan, *, run=None, library=None,
                 prompt_name: str | None = None, config=None) -> None:
        """``run``: a past run to show; ``config``: run ``plan`` on its servers (the run
        folder goes with the ``library``, the winners with its prompt ``prompt_name``)."""
        super().__init__()
        self.plan, self.run, self.runner = plan, run, None
        self.running = False  # this screen's worker is running the plan
        self.library, self.prompt_name, self.config = library, prompt_name, config
        self.grid: SheetGrid = plan_grid(plan)
        self.row, self.col = 0, 0
        self.cells: dict[str, CellView] = {}

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="compare"):
            yield Static(self._title(), id="compare-title")
            with Horizontal(id="compare-body"):
                yield self._grid()
                yield Static("", id="judge-panel")   # the judge's checklist (d)
            yield Static("", id="judge-summary")     # the judge's summary per variant
            yield Static("", id="compare-status")
        yield KeyFooter(compact=True)

    def _grid(self) -> Grid:
        rows, cols = len(self.grid.cells), len(self.grid.column_labels)
        children = [Static("", classes="corner")]
        children += [Static(Text(sanitize(label), overflow="ellipsis"), classes="col-label")
                     for label in self.grid.column_labels]
        for r, row in enumerate(self.grid.cells):
            # (ellipsis: a long word is cut, not broken with a hyphen)
            children.append(Static(Text(sanitize(self.grid.row_labels[r]),
                                        overflow="ellipsis"), classes="row-label"))
            for cell_id in row:
                view = CellView(cell_id, self._cell_label(cell_id))
                self.cells[cell_id] = view
                children.append(view)
        grid = Grid(*children, id="compare-grid")
        grid.styles.grid_size_columns = cols + 1
        grid.styles.grid_size_rows = rows + 1
        grid.styles.grid_columns = f"16 {' '.join(['1fr'] * cols)}"
        grid.styles.grid_rows = f"2 {' '.join(['1fr'] * rows)}"  # labels may wrap
        return grid

    def _title(self) -> Text:
        done = sum(1 for v in self.cells.values() if v.image is not None)
        title = Text(sanitize(self.plan.name or "Comparison"), style="bold")
        title.append(f"  {done}/{self.plan.size} cells")
        if self.run is not None:
            title.append(f"  ·  run folder {self.run.folder.name}", style="dim")
        title.no_wrap, title.overflow = True, "ellipsis"
        return title

    def _cell_label(self, cell_id: str) -> str:
        """Seed and axis values only: the variant is the row's (a cell is narrow)."""
        cell = self.plan.cell(cell_id)
        parts = [f"seed {cell.seed}"] + [f"{name} {value}" for name, value in cell.values]
        return " · ".join(parts)

    def on_mount(self) -> None:
        if self.run is not None:
            for cell_id, result in self.run.results.items():
                if cell_id in self.cells:
                    view = self.cells[cell_id]
                    if result.status == "done" and result.images:
                        view.set_image(self.run.folder / result.images[0])
                    else:
                        view.set_progress(result.status, error=result.error)
        for cell_id, view in self.cells.items():
            view.set_winner(self.plan.is_winner(cell_id))
        self.query_one("#compare-title", Static).update(self._title())
        self._select(0, 0)
        if self.run is not None:
            self.load_judgement()   # a run judged before shows its scores
        if self.config is not None and self.run is None:
            self.running = True
            self._run_plan()

    # -- running the plan ------------------------------------------------------------------
    @work(group="plans", exit_on_error=False)
    async def _run_plan(self) -> None:
        from ...runs.runner import PlanRunner, RunnerOptions

        base = self.library.path.parent if self.library is not None else None
        self.runner = PlanRunner(self.plan, self.config, RunnerOptions(base_dir=base),
                                 on_update=cell_updates(self))
        try:
            run = await self.runner.run()
        except Exception as exc:  # unreachable servers, refused workflows: say so
            self.post_message(PlanFinished(error=str(exc)))
        else:
            self.post_message(PlanFinished(run))

    @on(PlanFinished)
    def _finished(self, event: PlanFinished) -> None:
        self.running = False
        self.judge_plan_finished(None if event.error else event.run)
        if event.error:
            self.notify(event.error, title="Comparison stopped", severity="error",
                        timeout=15, markup=False)
        else:
            self.run = event.run
            self.refresh_title()
            self.notify(finished_message(event.run), markup=False)
        if self.app.is_screen_installed(self) and self not in self.app.screen_stack:
            self.app.uninstall_screen(self)  # closed while it ran: not needed any more
            self.app.call_later(self.remove)

    def refresh_title(self) -> None:
        self.query_one("#compare-title", Static).update(self._title())

    @on(CellProgress)
    def _cell_progress(self, event: CellProgress) -> None:
        self.update_cell(event.update)
        self.judge_progress(event.update)

    def update_cell(self, update) -> None:
        """Apply a runner's `CellUpdate` (state, progress, images)."""
        if self.run is None and self.runner is not None:
            self.run = self.runner.history_run  # so winners reach the run's manifest
        view = self.cells.get(update.cell_id)
        if view is None:
            return
        if update.images:
            view.set_image(Path(update.images[0]))
            self._prefetch([Path(p) for p in update.images], thumbnail_box(view))
        elif update.preview and update.state == "running":
            view.state, view.fraction, view.step, view.steps = (
                update.state, update.fraction, update.step, update.steps)
            view.set_live_preview(update.preview)
        else:
            view.set_progress(update.state, update.fraction, update.step, update.steps,
                              update.error)
        self.refresh_title()

    @work(thread=True, group="prefetch", exit_on_error=False)
    def _prefetch(self, paths: list[Path], box: tuple[int, int]) -> None:
        """The grid's thumbnails, made (in parallel) as images arrive and kept on disk for
        the next time this run is opened; a failing cache is only a slower preview."""
        from ...images.preview import default_cache

        try:
            default_cache().prefetch(paths, box)
        except Exception:  # noqa: BLE001
            pass

    # -- selection -------------------------------------------------------------------------
    @property
    def current(self) -> CellView:
        return self.cells[self.grid.cells[self.row][self.col]]

    def _select(self, row: int, col: int) -> None:
        self.current.remove_class("-selected")
        self.row = max(0, min(row, len(self.grid.cells) - 1))
        self.col = max(0, min(col, len(self.grid.column_labels) - 1))
        self.current.add_class("-selected")
        view = self.current
        cell = self.plan.cell(view.cell_id)
        variant = f"{self.plan.variants[cell.variant].label} · " if cell is not None else ""
        status = Text(sanitize(variant + view.label), style="bold")
        if cell is not None:
            from ...compose import compose

            status.append("\n" + one_line(compose(cell.spec)))
        self.query_one("#compare-status", Static).update(status)
        self.show_judge_details()

    def action_move(self, drow: int, dcol: int) -> None:
        self._select(self.row + drow, self.col + dcol)

    def counterpart(self, cell_id: str, step: int = 1) -> str | None:
        """The same cell (seed and axis values) in the next variant: A|B flip."""
        for r, row in enumerate(self.grid.cells):
            if cell_id in row:
                c = row.index(cell_id)
                return self.grid.cells[(r + step) % len(self.grid.cells)][c]
        return None

    def action_open(self) -> None:
        from .single_view import SingleView

        if self.current.image is None:
            self.notify("No image in this cell yet", severity="warning")
            return
        self.app.push_screen(SingleView(self, self.current.cell_id))

    # -- winner ----------------------------------------------------------------------------
    def action_winner(self, cell_id: str | None = None) -> None:
        from ...runs.saved_plans import set_winner

        cell_id = cell_id or self.current.cell_id
        try:
            set_winner(self.plan, cell_id, not self.plan.is_winner(cell_id), run=self.run,
                       library=self.library, prompt_name=self.prompt_name)
        except Exception as exc:  # a conflict or disk error must be seen, not swallowed
            self.notify(f"Winner not saved: {exc}", severity="error", markup=False)
        self.cells[cell_id].set_winner(self.plan.is_winner(cell_id))

    # -- run control -----------------------------------------------------------------------
    async def action_cancel(self) -> None:
        if self.runner is None:
            self.notify("Nothing is running", severity="warning")
            return
        await self.runner.cancel()

    def action_final(self) -> None:
        """Draft on schnell, final on dev: the same seeds and axes again on FLUX.1 dev."""
        from ...runs.plan import PlanError, final_on_dev

        try:
            plan = final_on_dev(self.plan)
        except PlanError as exc:
            self.notify(f"{str(exc).capitalize()}", severity="warning", markup=False)
            return
        if self.library is None or self.config is None:
            self.notify("Open the prompt in the editor and compare from there to run the "
                        "final", severity="warning")
            return
        self.app.push_screen(CompareScreen(plan, library=self.library,
                                           prompt_name=self.prompt_name, config=self.config))

    def action_sheet(self) -> None:
        if self.run is None:
            return
        sheet = self.run.folder / "contact-sheet.png"
        if sheet.exists():
            self.notify(f"Contact sheet: {sheet}", markup=False)
        else:
            self.notify("The contact sheet is written when the run finishes",
                        severity="warning")

    def action_close(self) -> None:
        if self.running:
            # the run goes on: the screen (and its worker) is kept until it is over
            self.app.install_screen(self, f"plan-{id(self)}")
            self.notify("The comparison goes on; you are told when it is done (Ctrl+P: "
                        "Run history opens it)", markup=False)
        self.dismiss(None)

    @on(CellView.Chosen)
    def _chosen(self, event: CellView.Chosen) -> None:
        for r, row in enumerate(self.grid.cells):
            if event.cell.cell_id in row:
                self._select(r, row.index(event.cell.cell_id))
        self.action_open()


def finished_message(run) -> str:
    """What the user is told when a plan's run is over."""
    done = sum(1 for r in run.results.values() if r.status == "done")
    failed = sum(1 for r in run.results.values() if r.status != "done")
    return (f"{run.plan.name}: {done}/{run.plan.size} cells done; contact sheet and manifest "
            f"in {run.folder}" + (f"; {failed} cell(s) failed" if failed else ""))
