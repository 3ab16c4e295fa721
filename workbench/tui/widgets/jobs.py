"""Runs on ComfyUI from the editor: one row per job with its progress, cancel, results.

The work is the one run service (`workbench.runs.single.RunService.run_single`), the same
the headless ``workbench run`` uses (upload retry, journal, recorded run folder), on the
session's shared client (`ComfySession`, connected on the first run, never at start-up).
The panel owns its workers; their progress comes back as `JobProgress` messages and the
rows change only in the handler.  Server text is shown escaped (`Text`, never markup), and
an unreachable server gets the client's own "how to fix it" message.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, ProgressBar

from ...library import Library
from ...spec import PromptSpec, source_path
from ...textsafe import one_line, sanitize
from ..actions import bindings
from ..messages import JobCallbacks, JobProgress

if TYPE_CHECKING:
    from ...runs.session import ComfySession


class JobRow(Horizontal):
    """One job: name and seed, a progress bar, and what it is doing now."""

    def __init__(self, title: str) -> None:
        super().__init__(classes="job-row")
        self.title = self.prompt_name = title
        self.job = None
        self.finished = False
        self.images: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Label(Text(sanitize(self.title), no_wrap=True, overflow="ellipsis"),
                    classes="job-title")
        yield ProgressBar(total=1.0, show_eta=False, show_percentage=True, classes="job-bar")
        yield Label("", classes="job-state")

    def set_title(self, title: str) -> None:
        self.title = title
        self.query_one(".job-title", Label).update(Text(sanitize(title), no_wrap=True,
                                                        overflow="ellipsis"))

    def state(self, text: str, fraction: float | None = None) -> None:
        self.query_one(".job-state", Label).update(Text(one_line(text)))
        if fraction is not None:
            self.query_one(ProgressBar).update(progress=fraction)


class JobsPanel(VerticalScroll, can_focus=True):
    BINDINGS = bindings("jobs")

    def __init__(self, config, session: ComfySession, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config, self.session = config, session
        self.border_title = "Runs"
        self.display = False
        self._rows: dict[str, JobRow] = {}

    @property
    def rows(self) -> list[JobRow]:
        return list(self.query(JobRow))

    def run_prompt(self, library: Library, spec: PromptSpec) -> None:
        row = JobRow(f"{spec.name}")
        key = f"job{len(self._rows)}"
        self._rows[key] = row
        self.display = True
        self.mount(row)
        self.scroll_end(animate=False)
        self._run(key, library, spec.copy())

    @work(group="comfy", exit_on_error=False)
    async def _run(self, key: str, library: Library, spec: PromptSpec) -> None:
        try:
            await self._run_job(key, library, spec)
        except Exception as exc:  # a bug must not take the editor (and unsaved work) down
            self.post_message(JobProgress(key, f"unexpected error: {exc!r}", outcome="failed"))
            raise

    async def _run_job(self, key: str, library: Library, spec: PromptSpec) -> None:
        """The one run service, its callbacks posted to this panel as `JobProgress`."""
        from ...comfy.client import ComfyError
        from ...images.source import SourceImageError, load_source
        from ...runs.history import HistoryError
        from ...runs.single import RunService

        self.post_message(JobProgress(key, "connecting…", 0.0))
        try:
            client = await self.session.client()
            path = _source_path(library, spec)
            source = load_source(path) if path is not None else None
        except (ComfyError, OSError, ValueError, SourceImageError) as exc:
            self.post_message(JobProgress(key, str(exc), outcome="failed"))
            return
        progress = JobCallbacks(self, key, spec.name, client.base_url)
        titles = {"title": spec.name}

        def built(workflow) -> None:
            titles["title"] = f"{spec.name} · seed {workflow.seed}"
            progress.on_built(workflow)

        def submitted(job) -> None:
            self.session.track(job, titles["title"])
            progress.on_submitted(job)

        try:
            outcome = await RunService.for_session(self.config).run_single(
                client, spec, meta={"prompt": spec.name, "library": str(library.path)},
                images={"source": source} if source is not None else None,
                on_built=built, on_event=progress.on_event, on_submitted=submitted)
        except (ComfyError, OSError, ValueError, HistoryError) as exc:
            self.post_message(JobProgress(key, str(exc), outcome="failed"))
            return
        if outcome.problems:
            self.post_message(JobProgress(key, "; ".join(str(p) for p in outcome.problems),
                                          outcome="failed"))
            return
        self.post_message(JobProgress(
            key, f"done: {len(outcome.images)} image(s) in {outcome.run.folder}", 1.0,
            outcome="done", images=list(outcome.images), folder=outcome.run.folder))

    @on(JobProgress)
    def _progress(self, event: JobProgress) -> None:
        event.stop()
        row = self._rows.get(event.key)
        if row is None:
            return
        if event.title is not None:
            row.set_title(event.title)
        if event.job is not None:
            row.job = event.job
        if event.outcome == "failed":
            self._failed(row, event.text)
            return
        row.finished = row.finished or event.outcome == "done"
        row.images = event.images or row.images
        row.state(event.text, event.fraction)
        if event.outcome == "done":
            self.app.notify(f"{row.name}: {len(row.images)} image(s) saved in "
                            f"{event.text.rsplit(' in ', 1)[-1]}", markup=False)

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
        row.state("cancelling…")
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
        for key, row in list(self._rows.items()):
            if row.finished:
                row.remove()
                del self._rows[key]
        self.display = any(not r.finished for r in self._rows.values())


def _source_path(library: Library, spec: PromptSpec) -> Path | None:
    """The spec's source image, relative paths taken from the library's folder."""
    if not spec.source_image:
        return None
    path = source_path(spec.source_image, library.path.parent)
    if not path.is_file():
        raise ValueError(f"source image {path} does not exist")
    return path
