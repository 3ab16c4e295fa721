"""The compare screen: a plan's cells as a labelled grid (variant x seed x axis values).

Each cell shows its image as half-blocks (thumbnails are made off the UI thread and
cached on disk), or its progress while the plan runs.  Arrow keys move between cells,
Enter opens the single view (zoom, pan, A|B flip at the same spot), ``w`` marks a winner,
which is recorded in the run's manifest and with the plan in the library.

The screen shows a `history.Run` (a past run, or the one a `PlanRunner` is filling); it
never talks to ComfyUI itself: the runner's updates come in through `update_cell`.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...images.contact_sheet import SheetGrid, plan_grid
from ...runs.plan import RunPlan
from ...textsafe import for_markup, one_line, sanitize

BAR = 10


def progress_text(state: str, fraction: float = 0.0, step: int = 0, steps: int = 0,
                  error: str = "") -> Text:
    """What a cell without an image shows: its state and, while running, a bar."""
    if state == "running":
        filled = int(round(fraction * BAR))
        text = Text("▰" * filled + "▱" * (BAR - filled), style="bold")
        text.append(f" {step}/{steps}" if steps else f" {int(fraction * 100)}%")
        return text
    if state == "error":
        return Text(f"failed: {one_line(error)}", style="bold red")
    return Text(state or "waiting", style="dim italic")


def thumbnail_box(view: Static) -> tuple[int, int]:
    """The thumbnail size (pixels) a cell of this size shows in half-blocks."""
    from ...images.preview import halfblock_box

    width, height = view.content_size
    return halfblock_box(max(1, width), max(1, height))


class CellView(Static):
    """One cell: image (or progress) with its label underneath."""

    class Chosen(Message):
        def __init__(self, cell: CellView) -> None:
            super().__init__()
            self.cell = cell

    def __init__(self, cell_id: str, label: str) -> None:
        super().__init__("", classes="cell")
        self.cell_id, self.label = cell_id, label
        self.state, self.fraction, self.step, self.steps, self.error = "waiting", 0.0, 0, 0, ""
        self.image: Path | None = None
        self.winner = False
        self._picture = None
        self._picture_size: tuple[int, int] | None = None

    def on_mount(self) -> None:
        self.border_subtitle = for_markup(self.label)  # border titles are markup
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def on_click(self) -> None:
        self.post_message(self.Chosen(self))

    def set_progress(self, state: str, fraction: float = 0.0, step: int = 0, steps: int = 0,
                     error: str = "") -> None:
        self.state, self.fraction, self.step, self.steps, self.error = (
            state, fraction, step, steps, error)
        self._redraw()

    def set_image(self, path: Path | None) -> None:
        self.image = path
        self._picture = None
        if not self.winner:
            self.border_title = ""
        self._redraw()

    def set_live_preview(self, data: bytes) -> None:
        """A preview frame the server sent mid-sampling (shown until the image arrives)."""
        if self.image is None:
            self.border_title = progress_text(self.state, self.fraction, self.step,
                                              self.steps).plain
            width, height = self.content_size
            if width >= 2 and height >= 1:
                self._render_live(data, width, height)

    @work(thread=True, exclusive=True, group="live", exit_on_error=False)
    def _render_live(self, data: bytes, width: int, height: int) -> None:
        import io

        from PIL import Image, UnidentifiedImageError

        from ...images.preview import fit, halfblock_box, halfblock_renderable

        try:
            with Image.open(io.BytesIO(data)) as frame:
                frame = frame.convert("RGB")
                frame = frame.resize(fit(frame.size, halfblock_box(width, height)))
        except (UnidentifiedImageError, OSError, ValueError):
            return  # a bad preview frame is just skipped
        picture = halfblock_renderable(frame)
        self.app.call_from_thread(self._live_ready, picture)

    def _live_ready(self, picture) -> None:
        if self.image is None:
            self.update(picture)

    def set_winner(self, winner: bool) -> None:
        self.winner = winner
        self.set_class(winner, "-winner")
        self.border_title = "★ winner" if winner else ""

    def _redraw(self) -> None:
        width, height = self.content_size
        if self.image is None or width < 2 or height < 1:
            self.update(progress_text(self.state, self.fraction, self.step, self.steps,
                                      self.error))
            return
        if self._picture is not None and self._picture_size == (width, height):
            self.update(self._picture)
            return
        self.update(Text("loading…", style="dim"))
        self._render_picture(self.image, width, height)

    @work(exclusive=True, group="picture", exit_on_error=False)
    async def _render_picture(self, path: Path, width: int, height: int) -> None:
        # Made in the core's shared pool (as many threads as cores): a grid's tiles land
        # one after another, instead of sixteen threads all finishing at the end.
        import asyncio

        from ...images.preview import PreviewError, submit_preview

        try:
            picture = await asyncio.wrap_future(submit_preview(path, width, height))
        except (PreviewError, OSError) as exc:
            self.update(Text(f"unreadable: {one_line(str(exc))}", style="red"))
            return
        self._picture_ready(picture, (width, height), path)

    def _picture_ready(self, picture, size: tuple[int, int], path: Path) -> None:
        if path != self.image:
            return  # a newer image arrived meanwhile
        self._picture, self._picture_size = picture, size
        if size == tuple(self.content_size):
            self.update(picture)
        else:
            self._redraw()


class CompareScreen(Screen[None]):
    BINDINGS = [
        Binding("left", "move(0,-1)", "←", show=False),
        Binding("right", "move(0,1)", "→", show=False),
        Binding("up", "move(-1,0)", "↑", show=False),
        Binding("down", "move(1,0)", "↓", show=False),
        Binding("enter", "open", "View"),
        Binding("w", "winner", "Winner"),
        Binding("c", "cancel", "Cancel run"),
        Binding("s", "sheet", "Sheet"),
        Binding("f", "final", "Final on dev"),
        Binding("escape", "close", "Back"),
    ]

    def __init__(self, plan: RunPlan, *, run=None, runner=None, library=None,
                 prompt_name: str | None = None) -> None:
        super().__init__()
        self.plan, self.run, self.runner = plan, run, runner
        self.library, self.prompt_name = library, prompt_name
        self.grid: SheetGrid = plan_grid(plan)
        self.row, self.col = 0, 0
        self.cells: dict[str, CellView] = {}

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        rows, cols = len(self.grid.cells), len(self.grid.column_labels)
        with Vertical(id="compare"):
            yield Static(self._title(), id="compare-title")
            with Grid(id="compare-grid") as grid:
                grid.styles.grid_size_columns = cols + 1
                grid.styles.grid_size_rows = rows + 1
                grid.styles.grid_columns = f"16 {' '.join(['1fr'] * cols)}"
                grid.styles.grid_rows = f"2 {' '.join(['1fr'] * rows)}"  # labels may wrap
                yield Static("", classes="corner")
                for label in self.grid.column_labels:
                    yield Static(Text(sanitize(label), overflow="ellipsis"),
                                 classes="col-label")
                for r, row in enumerate(self.grid.cells):
                    yield Static(Text(sanitize(self.grid.row_labels[r])), classes="row-label")
                    for c, cell_id in enumerate(row):
                        view = CellView(cell_id, self._cell_label(cell_id))
                        self.cells[cell_id] = view
                        yield view
            yield Static("", id="compare-status")
        yield Footer(compact=True)

    def _title(self) -> Text:
        done = sum(1 for v in self.cells.values() if v.image is not None)
        title = Text(sanitize(self.plan.name or "Comparison"), style="bold")
        title.append(f"  {done}/{self.plan.size} cells")
        if self.run is not None:
            title.append(f"  ·  run {self.run.folder.name}", style="dim")
        return title

    def _cell_label(self, cell_id: str) -> str:
        cell = self.plan.cell(cell_id)
        parts = [self.plan.variants[cell.variant].label, f"seed {cell.seed}"]
        parts += [f"{name} {value}" for name, value in cell.values]
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

    # -- runner updates --------------------------------------------------------------------
    def refresh_title(self) -> None:
        self.query_one("#compare-title", Static).update(self._title())

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
        status = Text(sanitize(view.label), style="bold")
        cell = self.plan.cell(view.cell_id)
        if cell is not None:
            from ...compose import compose

            status.append("\n" + one_line(compose(cell.spec)))
        self.query_one("#compare-status", Static).update(status)

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
        if self.library is None:
            self.notify("Open the prompt in the editor and compare from there to run the "
                        "final", severity="warning")
            return
        self.app.start_plan(plan, self.library, self.prompt_name)

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
        self.dismiss(None)

    @on(CellView.Chosen)
    def _chosen(self, event: CellView.Chosen) -> None:
        for r, row in enumerate(self.grid.cells):
            if event.cell.cell_id in row:
                self._select(r, row.index(event.cell.cell_id))
        self.action_open()
