"""Taking back what one caller queued: the prompts it sent, and nothing it has not sent yet.

A `CancelScope` is handed to the run service (`single.RunService`): every prompt it
submits, or re-attaches to, joins the scope, and once `cancel()` was asked nothing new is
sent (`check` raises `Cancelled` before the POST).  `cancel()` deletes the scope's waiting
prompts from the server's queue and interrupts the running one (`comfy.job.Job.cancel`);
the interrupted prompts then end as their server says (a real ComfyUI stops a running
prompt only between nodes or at a sampler step, so a long text encode finishes first).
`left()` says what is still unfinished; `on_server(client)` asks a server what it still
holds of it.  ``workbench run``/``edit`` (Ctrl+C), recovery and the TUI's
cancel share it; the plan runner has its own (`runner.PlanRunner.cancel`), with a pool.
"""

from __future__ import annotations

import asyncio

from ..comfy.client import ComfyClient, ComfyError, Job


class Cancelled(Exception):
    """The caller cancelled before this prompt was sent (nothing reached the server)."""


class CancelScope:
    """The prompts one caller queued (see the module's docstring)."""

    def __init__(self) -> None:
        self.requested = False
        self.jobs: list[Job] = []
        self._tasks: set[asyncio.Task] = set()

    def check(self) -> None:
        """Raise `Cancelled` once a cancel was asked (called before each submission)."""
        if self.requested:
            raise Cancelled("cancelled before the prompt was sent")

    def add(self, job: Job) -> None:
        """A prompt sent (or re-attached to) for this caller; one sent while the cancel
        was already under way is taken back at once."""
        if job not in self.jobs:
            self.jobs.append(job)
        if self.requested and not job.done:
            task = asyncio.get_running_loop().create_task(_cancel_job(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def unfinished(self) -> list[Job]:
        return [job for job in self.jobs if not job.done]

    async def cancel(self) -> None:
        """Nothing more is sent; waiting prompts are deleted, the running one interrupted."""
        self.requested = True
        await asyncio.gather(*(_cancel_job(job) for job in self.unfinished()))
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def left(self) -> list[str]:
        """What is still unfinished, one line per prompt (``<id> running on <server>``)."""
        return [f"{job.prompt_id} {job.state} on {job.client.base_url}"
                for job in self.unfinished()]

    async def on_server(self, *clients: ComfyClient) -> list[str]:
        """The scope's prompts the servers still hold, queued or running, asked now over
        ``clients`` (live ones: a re-attached job's own client may be closed by now)."""
        found = []
        for client in clients:
            try:
                queue = await client.queue()
            except ComfyError:
                continue
            found += [job.prompt_id for job in self.jobs
                      if job.client.base_url == client.base_url and job.prompt_id in queue]
        return found


async def _cancel_job(job: Job) -> None:
    try:
        await job.cancel()
    except ComfyError:
        pass   # the server went away: nothing of ours runs there any more
