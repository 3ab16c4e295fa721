"""A prompt submitted to ComfyUI, followed live: its state, its events, how it ended.

A `Job` is made by `ComfyClient.submit` (or `attach`, for a prompt an earlier session
sent) and driven by its client: `feed` applies each event from the socket, `settle` ends
it (from the end-of-prompt verdict, a /history entry, or a "lost"/"detached" verdict).
Callers read ``state``, ``node``, ``step``, ``steps``, ``fraction`` and ``progress`` (the
honest, step-weighted `progress.PromptProgress` every face renders), await `wait()`,
iterate `events()` or `cancel()` it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..textsafe import one_line
from .events import (
    Event,
    Executed,
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    ImageRef,
    Preview,
    Progress,
    ProgressState,
    events_from_history,
)
from .progress import SAMPLERS, PromptProgress

if TYPE_CHECKING:
    from .client import ComfyClient


@dataclass
class JobResult:
    """How a job ended.  ``status``: success, error, interrupted, cancelled (removed from
    the queue), lost (the server forgot it) or detached (this client closed first)."""

    prompt_id: str
    status: str
    images: list[ImageRef] = field(default_factory=list)
    error: ExecutionError | None = None
    interrupted: ExecutionInterrupted | None = None
    message: str = ""
    cached_nodes: list[str] = field(default_factory=list)
    submitted_at: float = 0.0
    started_at: float | None = None
    finished_at: float = 0.0
    from_history: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def timings(self) -> dict[str, float | None]:
        queued = (self.started_at - self.submitted_at) if self.started_at else None
        running = (self.finished_at - self.started_at) if self.started_at else None
        return {"submitted_at": self.submitted_at, "started_at": self.started_at,
                "finished_at": self.finished_at, "queued_s": queued, "running_s": running,
                "total_s": self.finished_at - self.submitted_at if self.submitted_at else None}


@dataclass
class QueueState:
    running: list[str]
    pending: list[str]

    def __len__(self) -> int:
        return len(self.running) + len(self.pending)

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self.running or prompt_id in self.pending


_END = object()


class Job:
    """One submitted prompt, followed live.  Read ``state``, ``node``, ``step``, ``steps``,
    ``fraction``; await `wait()`; iterate `events()`; `cancel()` it."""

    def __init__(self, client: ComfyClient, prompt_id: str, workflow: dict | None) -> None:
        self.client = client
        self.prompt_id = prompt_id
        self.workflow = workflow or {}
        self.number: float | None = None
        self.node_errors: dict = {}
        self.state = "submitting"      # submitting, queued, running, done
        self.node: str | None = None
        self.step = 0
        self.steps = 0
        self.cached: list[str] = []
        self.finished_nodes: set[str] = set()
        self.latest_preview: Preview | None = None
        self.images: list[ImageRef] = []
        self.submitted_at = time.time()
        self.started_at: float | None = None
        self.last_event_at = time.monotonic()
        self.gap = False               # the socket dropped while this job was in flight
        self.result: JobResult | None = None
        #: The socket's verdict, used when /history (asked after a gap) does not answer.
        self.fallback: JobResult | None = None
        self.failed_checks = 0         # /history checks in a row the server did not answer
        self.progress = PromptProgress(self.workflow)
        #: samplers still to take their last step (`sampled`)
        self._stepping = {nid for nid, node in self.workflow.items() if isinstance(node, dict)
                          and node.get("class_type") in SAMPLERS}
        self._sampled: asyncio.Future = asyncio.get_running_loop().create_future()
        self._outcome: Event | None = None
        self._events: asyncio.Queue = asyncio.Queue()
        self._done = asyncio.get_running_loop().create_future()
        self.on_event: Callable[[Job, Event], None] | None = None

    def __repr__(self) -> str:
        return f"<Job {self.prompt_id} {self.state} node={self.node} {self.step}/{self.steps}>"

    @property
    def done(self) -> bool:
        return self.result is not None

    @property
    def fraction(self) -> float:
        """0..1 in sampling steps (`progress.PromptProgress`): ``step 7/30`` is 23 %."""
        return 1.0 if self.done and self.result.ok else self.progress.fraction()

    async def wait(self, timeout: float | None = None) -> JobResult:
        return await asyncio.wait_for(asyncio.shield(self._done), timeout)

    async def sampled(self) -> None:
        """Return once every sampler of the prompt has taken its last step (what is left
        is decoding and saving: the next prompt can be sent so the GPU never waits on
        the round trip), or the job has ended, or the server never said (no progress for
        a sampler, a cached one): then at the end."""
        await asyncio.shield(self._sampled)

    async def events(self) -> AsyncIterator[Event]:
        """Every event for this job, in arrival order, ending when the job ends."""
        while True:
            item = await self._events.get()
            if item is _END:
                return
            yield item

    async def cancel(self) -> None:
        """Delete the job from the queue if it waits, interrupt it if it runs.  A waiting
        job ends as ``cancelled`` at once; a running one ends ``interrupted`` when the
        server says so."""
        if self.done:
            return
        pid = self.prompt_id
        await self.client.delete_from_queue([pid])  # harmless if it already runs
        queue = await self.client.queue()
        if pid in queue.running:
            await self.client.interrupt(pid)
        elif pid not in queue.pending and not self.done:
            entry = (await self.client.history(pid)).get(pid)
            if entry is not None:   # it finished meanwhile
                self.settle(result_from_history(self, entry))
            else:
                self.settle(JobResult(pid, "cancelled", message="removed from the queue",
                                       submitted_at=self.submitted_at,
                                       finished_at=time.time()))

    # -- driven by the client (the socket, /history checks) ----------------------------

    def feed(self, event: Event) -> None:
        """Apply an event from the server to the job's state and pass it on."""
        self.last_event_at = time.monotonic()
        self.progress.feed(event)
        if isinstance(event, Executing):
            if event.node is None:   # the end-of-prompt marker
                self.publish(event)
                self._verdict_from_outcome()
                return
            self._executing(event.node)
        elif isinstance(event, ExecutionStart):
            self.state = "running"
            self.started_at = time.time()
        elif isinstance(event, (ExecutionSuccess, ExecutionError, ExecutionInterrupted)):
            self._outcome = event
        else:
            self._note(event)
        self.publish(event)

    def _executing(self, node: str) -> None:
        self.state = "running"
        if self.node and self.node != node:
            self.finished_nodes.add(self.node)
        self.node = node
        self.step = self.steps = 0

    def _note(self, event: Event) -> None:
        """Progress, previews and outputs: what the job keeps of them."""
        if isinstance(event, ExecutionCached):
            self.cached = list(event.nodes)
        elif isinstance(event, Progress):
            self.step, self.steps = event.value, event.max
            if event.max and event.value >= event.max and event.node in self._stepping:
                self._stepping.discard(event.node)
                if not self._stepping and not self._sampled.done():
                    self._sampled.set_result(None)
        elif isinstance(event, ProgressState):
            self.finished_nodes |= {n for n, s in event.nodes.items() if s.state == "finished"}
        elif isinstance(event, Preview):
            self.latest_preview = event
        elif isinstance(event, Executed):
            for image in event.images:
                if image not in self.images:
                    self.images.append(image)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to `events()` readers and the ``on_event`` callback."""
        self._events.put_nowait(event)
        if self.on_event is not None:
            try:
                self.on_event(self, event)
            except Exception:  # a display callback must never break the job
                pass

    def _verdict_from_outcome(self) -> None:
        outcome = self._outcome
        if outcome is None:
            # End marker without a verdict (socket gap): let /history decide.
            self.client.spawn(self.client.check_job(self))
            return
        status = {ExecutionSuccess: "success", ExecutionError: "error",
                  ExecutionInterrupted: "interrupted"}[type(outcome)]
        result = JobResult(
            self.prompt_id, status, list(self.images),
            error=outcome if isinstance(outcome, ExecutionError) else None,
            interrupted=outcome if isinstance(outcome, ExecutionInterrupted) else None,
            cached_nodes=list(self.cached), submitted_at=self.submitted_at,
            started_at=self.started_at, finished_at=time.time())
        if self.gap and status == "success":
            # Some `executed` messages may have been lost: take the outputs from /history.
            self.fallback = result
            self.client.spawn(self.client.check_job(self))
            return
        self.settle(result)

    def settle(self, result: JobResult) -> None:
        """End the job with ``result`` (the first verdict wins; later ones are ignored)."""
        if self.result is not None:
            return
        self.result = result
        self.progress.end(result.status)
        self.state = "done"
        self.client.forget(self)
        self._events.put_nowait(_END)
        if not self._sampled.done():
            self._sampled.set_result(None)
        if not self._done.done():
            self._done.set_result(result)


def result_from_history(job: Job, entry: dict) -> JobResult:
    """A job's result from its /history entry (outputs in node order); parts of an odd
    entry that are not what ComfyUI writes are passed over."""
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    events = events_from_history(entry)
    error = next((e for e in events if isinstance(e, ExecutionError)), None)
    interrupted = next((e for e in events if isinstance(e, ExecutionInterrupted)), None)
    cached = next((e.nodes for e in events if isinstance(e, ExecutionCached)), [])
    started = next((e.timestamp / 1000 for e in events if isinstance(e, ExecutionStart)), None)
    ended = next((e.timestamp / 1000 for e in events
                  if isinstance(e, (ExecutionSuccess,)) and e.timestamp), None)
    images: list[ImageRef] = []
    outputs = entry.get("outputs") if isinstance(entry.get("outputs"), dict) else {}
    for node_id, output in outputs.items():
        found = output.get("images") if isinstance(output, dict) else None
        for item in found if isinstance(found, list) else []:
            if isinstance(item, dict):
                images.append(ImageRef.from_dict(item, one_line(node_id)))
    if error is not None:
        verdict = "error"
    elif interrupted is not None:
        verdict = "interrupted"
    elif status.get("status_str") == "success" or status.get("completed") is True:
        verdict = "success"
    else:
        verdict = "error"
    return JobResult(job.prompt_id, verdict, images, error=error, interrupted=interrupted,
                     cached_nodes=list(cached), submitted_at=job.submitted_at,
                     started_at=job.started_at or started,
                     finished_at=ended or time.time(), from_history=True)
