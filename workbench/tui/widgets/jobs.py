"""Runs on ComfyUI from the editor: one row per job with its progress, cancel, results.

The panel owns the session's `ComfyClient` (connected on the first run, never at start-up);
the work itself is the one run service (`workbench.runs.single.RunService.run_single`),
the same the headless ``workbench run`` uses: upload retry, journal, recorded run folder.
A row renders the core's progress model (`workbench.comfy.progress`), the same numbers as
the CLI: sampling steps, the running node's title, a timer through silent nodes, elapsed
time and ETA; a ticker keeps the timers going while the server says nothing.  Prompts an
earlier session left on the server are collected on the first connection, each in a row
of its own with its live progress (``c`` cancels it like any job).  A cancel reads
"cancelled", not a failure.  Server text is shown escaped (`Text`, never markup), and an
unreachable server gets the client's own "how to fix it" message.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, ProgressBar

from ...library import Library
from ...comfy.progress import Timings
from ...spec import PromptSpec
from ...textsafe import one_line, sanitize


class JobRow(Horizontal):
    """One job: name and seed, a progress bar, and what it is doing now."""

    def __init__(self, title: str) -> None:
        super().__init__(classes="job-row")
        self.title = title
        self.job = None
        self.progress = None      # the job's comfy.progress.PromptProgress
        self.cancel_asked = False
        self.finished = False
        self.images: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Label(Text(sanitize(self.title), no_wrap=True, overflow="ellipsis"),
                    classes="job-title")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=True, classes="job-bar")
        yield Label("", classes="job-state")

    def state(self, text: str, fraction: float | None = None) -> None:
        for label in self.query(".job-state").results(Label):   # none before compose
            label.update(Text(one_line(text)))
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
    BINDINGS = [Binding("v", "view", "View image"), Binding("c", "cancel", "Cancel job"),
                Binding("x", "clear", "Clear done")]

    def __init__(self, config, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self._client = None
        self._recovered = False
        self.timings = Timings()   # what earlier prompts of the session measured
        self.border_title = "Runs"
        self.display = False

    def on_mount(self) -> None:
        self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        """Timers of silent nodes keep counting while the server sends nothing."""
        for row in self.rows:
            row.show_progress()

    def _on_event(self, row: JobRow, job, event) -> None:
        row.follow(job, self.timings)
        row.show_progress()

    @property
    def rows(self) -> list[JobRow]:
        return list(self.query(JobRow))

    def job_names(self) -> dict[str, str]:
        """Prompt id -> row title, for the jobs this session submitted."""
        return {r.job.prompt_id: r.title for r in self.rows if r.job is not None}

    def job_for(self, prompt_id: str):
        return next((r.job for r in self.rows if r.job is not None and not r.finished
                     and r.job.prompt_id == prompt_id), None)

    async def connected(self):
        """The session's client, connecting (again) when needed."""
        from ...comfy.client import client_from_config

        if self._client is None or not self._client.connected:
            if self._client is not None:
                await self._client.close()
            self._client = client_from_config(self.config)
            try:
                await self._client.connect()
            except Exception:
                await self._client.close()
                self._client = None
                raise
            if not self._recovered:
                self._recovered = True
                self._collect_leftovers(self._client.base_url)
        return self._client

    @work(group="recovery", exit_on_error=False)
    async def _collect_leftovers(self, server: str) -> None:
        """Prompts an earlier session left on ``server``: a row each, followed live, and
        recorded in their run folders."""
        from ...comfy.client import client_from_config
        from ...runs.journal import Journal
        from ...runs.recovery import owned_by_live_session, recover

        journal = Journal()
        left = {e.prompt_id: e for e in journal.unfinished(server)
                if not owned_by_live_session(e)}
        if not left:
            return
        rows: dict[str, JobRow] = {}

        def attached(job) -> None:
            entry = left.get(job.prompt_id)
            name = (entry.meta.get("spec") or {}).get("name") if entry is not None and \
                isinstance(entry.meta.get("spec"), dict) else None
            row = rows[job.prompt_id] = JobRow(f"earlier: {name or job.prompt_id}")
            self.display = True
            self.mount(row)
            row.follow(job, self.timings)
            job.on_event = lambda job, event: self._on_event(row, job, event)

        found = await recover(journal, lambda url, cid: client_from_config(
            self.config, url, client_id=cid), wait=True, on_attached=attached)
        for item in found:
            row = rows.get(item.entry.prompt_id)
            if row is not None:
                self._settled(row, item.record.status, item.images, item.run.folder,
                              item.problems, notify=False)
        if found:
            self.app.notify(f"{len(found)} prompt(s) left by an earlier session were "
                            "collected into their run folders (Ctrl+P: Run history)",
                            markup=False)

    def run_prompt(self, library: Library, spec: PromptSpec) -> None:
        row = JobRow(f"{spec.name}")
        self.display = True
        self.mount(row)
        self.scroll_end(animate=False)
        self._run(row, library, spec.copy())

    @work(group="comfy", exit_on_error=False)
    async def _run(self, row: JobRow, library: Library, spec: PromptSpec) -> None:
        try:
            await self._run_job(row, library, spec)
        except Exception as exc:  # a bug must not take the editor (and unsaved work) down
            self._failed(row, f"unexpected error: {exc!r}")
            raise

    async def _run_job(self, row: JobRow, library: Library, spec: PromptSpec) -> None:
        import asyncio

        from ...comfy.client import ComfyError
        from ...images.source import SourceImageError
        from ...runs.history import HistoryError
        from ...runs.inputs import load_inputs
        from ...runs.single import RunService

        row.state("connecting…", 0.0)
        try:
            client = await self.connected()
            # every image role (source, mask, control, references), checked
            inputs = await asyncio.to_thread(load_inputs, spec, library.path.parent)
        except (ComfyError, OSError, ValueError, SourceImageError) as exc:
            self._failed(row, str(exc))
            return

        def built(workflow) -> None:
            row.title = f"{spec.name} · seed {workflow.seed}"
            row.query_one(".job-title", Label).update(Text(sanitize(row.title), no_wrap=True,
                                                           overflow="ellipsis"))
            row.state(f"queued on {client.base_url}", 0.0)
            if spec.tools.used:  # a resized mask, a snapped size...
                for note in inputs.notes + list(workflow.notes):
                    self.app.notify(note, title=spec.name, markup=False)

        try:
            outcome = await RunService.for_session(self.config).run_single(
                client, spec, meta={"prompt": spec.name, "library": str(library.path)},
                images=inputs.images,
                on_built=built, on_event=lambda job, event: self._on_event(row, job, event),
                on_submitted=lambda job: row.follow(job, self.timings))
        except (ComfyError, OSError, ValueError, HistoryError) as exc:
            self._failed(row, str(exc))
            return
        self._settled(row, outcome.record.status, outcome.images, outcome.run.folder,
                      outcome.problems, name=spec.name)

    def _settled(self, row: JobRow, status: str, images: list[Path], where: Path,
                 problems: list, *, name: str = "", notify: bool = True) -> None:
        """A row's job is over: done (images), cancelled (asked for: no error) or failed."""
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
        row.images = images
        row.state(f"done: {len(images)} image(s){_sizes(images)} in {where}", 1.0)
        if notify:
            self.app.notify(f"{name or row.title}: {len(images)} image(s) saved in {where}",
                            markup=False)

    def _failed(self, row: JobRow, message: str) -> None:
        row.finished = True
        row.add_class("-failed")
        row.state(f"failed: {message}")
        self.app.notify(message, title=f"Run of {row.title} failed", severity="error",
                        timeout=15, markup=False)

    async def action_cancel(self) -> None:
        running = [r for r in self.rows if not r.finished and r.job is not None]
        if not running:
            self.app.notify("No job is running", severity="warning")
            return
        row = running[-1]
        row.cancel_asked = True
        row.state("cancelling… (the server stops it after the node at work)")
        await row.job.cancel()

    def action_view(self) -> None:
        from ..screens.image import ImageScreen

        done = [r for r in self.rows if r.images]
        if not done:
            self.app.notify("No finished image yet", severity="warning")
            return
        row = done[-1]
        self.app.push_screen(ImageScreen(row.images[0], row.title))

    def action_clear(self) -> None:
        for row in self.rows:
            if row.finished:
                row.remove()
        self.display = any(not r.finished for r in self.rows)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None



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
