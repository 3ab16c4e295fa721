"""Runs on ComfyUI from the editor: one row per job with its progress, cancel, results.

The work is the one run service (`workbench.runs.single.RunService.run_single`), the same
the headless ``workbench run`` uses (upload retry, journal, recorded run folder), on the
session's shared client (`ComfySession`, connected on the first run, never at start-up).
The panel owns its workers; what they learn comes back as `JobProgress` messages and the
rows change in the handler.  A row renders the core's progress model
(`workbench.comfy.progress`), the same numbers as the CLI: sampling steps, the running
node's title, a timer through silent nodes, elapsed time and ETA; a ticker keeps the
timers going while the server says nothing.  Prompts an earlier session left on the
server are collected on the first connection, each in a row of its own with its live
progress (``c`` cancels it like any job).  A cancel reads "cancelled", not a failure.
Server text is shown escaped (`Text`, never markup), and an unreachable server gets the
client's own "how to fix it" message.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Region
from textual.widgets import Label, ProgressBar

from ...library import Library
from ...spec import PromptSpec
from ...textsafe import one_line, sanitize
from ..actions import bindings
from ..messages import JobCallbacks, JobProgress

if TYPE_CHECKING:
    from ...comfy.progress import Timings
    from ...runs.session import ComfySession


class JobRow(Horizontal):
    """One job: name and seed, a progress bar, and what it is doing now."""

    def __init__(self, title: str) -> None:
        super().__init__(classes="job-row")
        self.title = self.prompt_name = title
        self.job = None
        self.progress = None      # the job's comfy.progress.PromptProgress
        self.cancel_asked = False
        self.finished = False
        self.images: list[Path] = []
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Label(Text(sanitize(self.title), no_wrap=True, overflow="ellipsis"),
                    classes="job-title")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=True, classes="job-bar")
        yield Label("", classes="job-state")

    def set_title(self, title: str) -> None:
        self.title = title
        for label in self.query(".job-title").results(Label):   # none before compose
            label.update(Text(sanitize(title), no_wrap=True, overflow="ellipsis"))

    @property
    def expanded(self) -> bool:
        return self.has_class("-expanded")

    def state(self, text: str, fraction: float | None = None) -> None:
        self.text = one_line(text)  # whole: a collapsed row cuts it, an expanded one wraps
        for label in self.query(".job-state").results(Label):   # none before compose
            label.update(Text(self.text))
        if fraction is not None:
            for bar in self.query(ProgressBar):
                bar.update(progress=fraction)

    def follow(self, job, timings: Timings) -> None:
        """Render ``job``'s progress from now on (its events and the panel's ticker),
        weighed with what the session measured so far."""
        if self.job is not job:
            self.job = job
            self.progress = job.progress
            self.progress.known = timings

    def show_progress(self) -> None:
        if self.progress is None or self.finished:
            return
        snap = self.progress.snapshot()
        # a silent node's own timer says enough; while sampling: elapsed and ETA
        times = "" if snap.silent else f" · {snap.timing(compact=True, percent=False)}"
        self.state(snap.status(title=False) + times, snap.fraction)


class JobsPanel(VerticalScroll, can_focus=True):
    """The session's runs, newest last; ↑/↓ select one, Enter unfolds its whole text.
    A failed run unfolds by itself, so its error stays readable after the toast."""

    BINDINGS = bindings("jobs")
    HELP_SCOPE = "jobs"
    ABOUT = ("Runs\nThis session's runs on ComfyUI: progress, results and errors. ↑/↓ "
             "select a run, Enter shows its whole text; a failed run shows its error "
             "in full.")

    def __init__(self, config, session: ComfySession, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config, self.session = config, session
        self._timings: Timings | None = None
        self.border_title = "Runs"
        self.display = False
        self._rows: dict[str, JobRow] = {}
        self.selected: JobRow | None = None
        self._region_drawn = Region()

    @property
    def timings(self) -> Timings:
        """What earlier prompts of the session measured (made on first use: the progress
        model is not imported before the first frame)."""
        if self._timings is None:
            from ...comfy.progress import Timings

            self._timings = Timings()
        return self._timings

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)
        self.screen.screen_layout_refresh_signal.subscribe(self, self._after_layout, immediate=True)

    def _after_layout(self, _screen) -> None:
        """Repaint the screen after a layout that moved this panel (it appeared, grew or
        hid).  Textual 8 repaints only part of what such a layout moves (the composed pane
        was left on screen twice, until a resize): `Compositor.reflow` (_compositor.py)
        diffs the new layout against ``_full_map``, which its lazy `full_map` property has
        already rebuilt with the new layout when a widget's region was asked for in between
        (`await_mount` -> `refresh` -> `size` -> `region` does), so the widgets that moved
        are never marked dirty.  Called right after the layout, when the map is fresh."""
        region = self.region
        if region != self._region_drawn:
            self._region_drawn = region
            self.screen.refresh()

    def _tick(self) -> None:
        """Timers of silent nodes keep counting while the server sends nothing."""
        for row in self.rows:
            row.show_progress()

    @property
    def rows(self) -> list[JobRow]:
        return list(self.query(JobRow))

    def _add_row(self, title: str) -> str:
        key = f"job{len(self._rows)}"
        self._rows[key] = row = JobRow(title)
        self.display = True
        self.mount(row)
        self.scroll_end(animate=False)
        self._select(row)
        return key

    def _select(self, row: JobRow | None) -> None:
        if self.selected is not None:
            self.selected.remove_class("-selected")
        self.selected = row
        if row is not None:
            row.add_class("-selected")
            self.call_after_refresh(self.scroll_to_widget, row, animate=False)

    def action_move(self, step: int) -> None:
        rows = self.rows
        if not rows:
            return
        index = rows.index(self.selected) if self.selected in rows else len(rows) - 1
        self._select(rows[max(0, min(len(rows) - 1, index + step))])

    def action_details(self) -> None:
        if self.selected is not None:
            self.selected.toggle_class("-expanded")

    # -- our runs ---------------------------------------------------------------------------
    def run_prompt(self, library: Library, spec: PromptSpec) -> None:
        self._run(self._add_row(spec.name), library, spec.copy())

    @work(group="comfy", exit_on_error=False)
    async def _run(self, key: str, library: Library, spec: PromptSpec) -> None:
        try:
            await self._run_job(key, library, spec)
        except Exception as exc:  # a bug must not take the editor (and unsaved work) down
            self.post_message(JobProgress(
                key, f"unexpected error ({type(exc).__name__}): {exc}", outcome="failed"))
            raise

    async def _run_job(self, key: str, library: Library, spec: PromptSpec) -> None:
        """The one run service, its callbacks posted to this panel as `JobProgress`."""
        import asyncio

        from ...comfy.client import ComfyError
        from ...images.source import SourceImageError
        from ...runs.history import HistoryError
        from ...runs.inputs import load_inputs
        from ...runs.single import RunService

        self.post_message(JobProgress(key, "connecting…", 0.0))
        try:
            client = await self.session.client()
            # every image role (source, mask, control image, references), checked
            inputs = await asyncio.to_thread(load_inputs, spec, library.path.parent)
        except (ComfyError, OSError, ValueError, SourceImageError) as exc:
            self.post_message(JobProgress(key, str(exc), outcome="failed"))
            return
        progress = JobCallbacks(self, key, spec.name, client.base_url)
        for note in inputs.notes:   # a resized mask, a control image that looks wrong...
            self.app.notify(note, title=spec.name, markup=False)

        def built(workflow) -> None:
            progress.on_built(workflow)
            if spec.tools.used:   # a snapped size, a LoRA standing in for a missing model
                for note in workflow.notes:
                    self.app.notify(note, title=spec.name, markup=False)

        def submitted(job) -> None:
            self.session.track(job, progress.title)
            progress.on_submitted(job)

        try:
            outcome = await RunService.for_session(self.config).run_single(
                client, spec, meta={"prompt": spec.name, "library": str(library.path)},
                images=inputs.images, on_built=built, on_event=progress.on_event,
                on_submitted=submitted)
        except (ComfyError, OSError, ValueError, HistoryError) as exc:
            self.post_message(JobProgress(key, str(exc), outcome="failed"))
            return
        progress.settled(outcome.record.status, outcome.images, outcome.run.folder,
                         outcome.problems)

    # -- what an earlier session left -------------------------------------------------------
    @work(group="recovery", exit_on_error=False)
    async def collect_leftovers(self, server: str) -> None:
        """Prompts an earlier session left on ``server``: a row each, followed live, and
        recorded in their run folders."""
        from ...comfy.client import client_from_config
        from ...runs.journal import Journal
        from ...runs.recovery import RECOVERY_TIMEOUT, owned_by_live_session, recover

        journal = Journal()
        left = {e.prompt_id: e for e in journal.unfinished(server)
                if not owned_by_live_session(e)}
        if not left:
            return
        rows: dict[str, JobCallbacks] = {}

        def attached(job) -> None:
            entry = left.get(job.prompt_id)
            name = (entry.meta.get("spec") or {}).get("name") if entry is not None and \
                isinstance(entry.meta.get("spec"), dict) else None
            title = f"earlier: {name or job.prompt_id}"
            progress = rows[job.prompt_id] = JobCallbacks(self, self._add_row(title), title)
            progress.on_submitted(job)
            job.on_event = progress.on_event

        found = await recover(journal, lambda url, cid: client_from_config(
            self.config, url, client_id=cid), servers=[self.config.comfyui.url], wait=True,
            timeout=RECOVERY_TIMEOUT, on_attached=attached)
        for item in found:
            progress = rows.get(item.entry.prompt_id)
            if progress is not None:
                progress.settled(item.record.status, item.images, item.run.folder,
                                 item.problems, notify=False)
        if found:
            self.app.notify(f"{len(found)} prompt(s) left by an earlier session were "
                            "collected into their run folders (Ctrl+P: Run history)",
                            markup=False)

    # -- rows change here ---------------------------------------------------------------------
    @on(JobProgress)
    def _progress(self, event: JobProgress) -> None:
        event.stop()
        row = self._rows.get(event.key)
        if row is None:
            return
        if event.title is not None:
            row.set_title(event.title)
        if event.job is not None:
            row.follow(event.job, self.timings)
        if event.outcome == "failed":
            self._failed(row, event.text)
        elif event.outcome:
            self._settled(row, event)
        elif event.text:
            row.state(event.text, event.fraction)
        else:
            row.show_progress()

    def _settled(self, row: JobRow, event: JobProgress) -> None:
        """A row's job is over: done (images), cancelled (asked for: no error) or failed."""
        status, problems = event.outcome, event.problems
        if row.progress is not None and status == "done":
            self.timings.learn(row.progress.timings())
        if status == "cancelled":
            row.finished = True
            row.add_class("-cancelled")
            row.state("cancelled" + (f" ({one_line(str(problems[0]))})" if problems
                                     and not row.cancel_asked else ""))
            return
        if problems or status != "done":
            self._failed(row, "; ".join(str(p) for p in problems) or status)
            return
        row.finished = True
        row.images = event.images
        where = event.folder
        row.state(f"done: {len(row.images)} image(s){_sizes(row.images)} in {where}", 1.0)
        if event.notify:
            self.app.notify(f"{row.prompt_name}: {len(row.images)} image(s) saved in "
                            f"{where}", markup=False)

    def _failed(self, row: JobRow, message: str) -> None:
        row.finished = True
        row.add_class("-failed", "-expanded")  # the error stays readable in full
        row.state(f"failed: {message}")
        self.app.notify(message, title=f"Run of {row.title} failed", severity="error",
                        timeout=15, markup=False)

    # -- keys ------------------------------------------------------------------------------------
    async def action_cancel(self) -> None:
        running = [r for r in self.rows if not r.finished and r.job is not None]
        if not running:
            self.app.notify("No job is running", severity="warning")
            return
        row = self.selected if self.selected in running else running[-1]
        row.cancel_asked = True
        row.state("cancelling… (the server stops it after the node at work)")
        await row.job.cancel()

    def action_view(self) -> None:
        from ..screens.image import ImageScreen

        done = [r for r in self.rows if r.images]
        if not done:
            self.app.notify("No finished image yet", severity="warning")
            return
        row = self.selected if self.selected in done else done[-1]
        self.app.push_screen(ImageScreen(row.images[0], row.title))

    def action_clear(self) -> None:
        for key, row in list(self._rows.items()):
            if row.finished:
                row.remove()
                del self._rows[key]
                if row is self.selected:
                    self.selected = None
        self.display = any(not r.finished for r in self._rows.values())


def _sizes(images: list[Path]) -> str:
    """`` 1184x880``: the images' sizes, from their headers."""
    from PIL import Image

    sizes = []
    for path in images:
        try:
            with Image.open(path) as image:
                size = f"{image.width}x{image.height}"
        except OSError:
            continue
        if size not in sizes:
            sizes.append(size)
    return f" {', '.join(sizes)}" if sizes else ""
