"""One interactive session's connection to ComfyUI, shared by everything that talks to it.

The TUI's run panel, the queue view, the LoRA picker and the chain view all ask this object
for the client: it connects on first use (never at start-up), reconnects after a drop, and
is closed once, when the session ends.  It also knows which prompts this session submitted
(the queue view names ours and cancels them as jobs), and says when it first connects
(the moment to collect the prompts an earlier session left on the server).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the client (httpx, websockets) loads on the first run, not at start-up
    from ..comfy.client import ComfyClient
    from ..comfy.job import Job


class ComfySession:
    def __init__(self, config: Any) -> None:
        self.config = config
        self._client: ComfyClient | None = None
        self._lock: asyncio.Lock | None = None   # made in the event loop, on first use
        #: Called once, with the server's URL, after the first connection (the run panel
        #: collects what an earlier session left on the server).
        self.on_first_connect: Callable[[str], object] | None = None
        self.jobs: dict[str, tuple[str, Job]] = {}   # prompt id -> (our title, job)

    @property
    def url(self) -> str:
        return self.config.comfyui.url

    async def client(self) -> ComfyClient:
        """The session's client, connecting (again) when needed; raises `ComfyError` with
        the client's "how to fix it" message when the server does not answer."""
        from ..comfy.client import client_from_config

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:   # two callers at once share one connection
            if self._client is None or not self._client.connected:
                if self._client is not None:
                    await self._client.close()
                client = client_from_config(self.config)
                try:
                    await client.connect()
                except BaseException:
                    await client.close()
                    raise
                self._client = client
                if self.on_first_connect is not None:
                    first, self.on_first_connect = self.on_first_connect, None
                    first(client.base_url)
            return self._client

    # -- our jobs ---------------------------------------------------------------------------
    def track(self, job: Job, title: str) -> None:
        self.jobs[job.prompt_id] = (title, job)

    def job_names(self) -> dict[str, str]:
        """Prompt id -> title, for the prompts this session submitted."""
        return {pid: title for pid, (title, _) in self.jobs.items()}

    def running_job(self, prompt_id: str) -> Job | None:
        """Our job for ``prompt_id`` while it is not settled."""
        found = self.jobs.get(prompt_id)
        return found[1] if found is not None and not found[1].done else None

    async def stop(self, prompt_id: str, *, running: bool) -> None:
        """Ours: cancel the job (it settles at once); someone else's: ask the server to
        interrupt it (``running``) or take it off the queue."""
        job = self.running_job(prompt_id)
        if job is not None:
            await job.cancel()
            return
        client = await self.client()
        if running:
            await client.interrupt(prompt_id)
        else:
            await client.delete_from_queue([prompt_id])

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

