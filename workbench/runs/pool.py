"""The servers a plan runs on: connected together, watched, dropped, sharing the work.

* **Connect** every configured server at once (a dead one costs one timeout, not one
  each); the least busy one (everyone's prompts count) takes the first group.
* **Take work in model groups.**  Cells wait in ``queue`` as whole `plan.group_by_model`
  groups; a server takes a whole group so it loads a model once.  An idle server with
  nothing left to take **steals** single cells from the tail of the busiest one's share.
* **Health.**  A server whose socket stays down longer than the grace (longer for the last
  one) and whose HTTP does not answer is **dropped**; the cells it held come back to the
  caller to requeue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..comfy.client import AuthRequired, ComfyClient, ComfyError, Job, Unreachable
from ..textsafe import one_line, redact_url
from .plan import Cell


class NoServer(ComfyError):
    """None of the configured servers answered; ``causes``: each one's failure."""

    def __init__(self, message: str, causes: list[BaseException] | None = None) -> None:
        super().__init__(message)
        self.causes = causes or []

    @property
    def wants_credentials(self) -> bool:
        """Every server answered, asking for credentials (a settings problem)."""
        return bool(self.causes) and all(isinstance(c, AuthRequired) for c in self.causes)


@dataclass
class Server:
    """One ComfyUI server in the pool and the cells it has taken."""

    url: str
    client: ComfyClient
    healthy: bool = True
    version: str = ""
    own: deque[Cell] = field(default_factory=deque)              # taken, not yet submitted
    inflight: dict[str, tuple[Cell, Job | None]] = field(default_factory=dict)
    tasks: set[asyncio.Task] = field(default_factory=set)
    down_since: float | None = None
    queued_before: int = 0   # prompts (anyone's) it had when we connected

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` as one of this server's tasks (cancelled when it is dropped)."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


@dataclass
class Health:
    """How long a server may stay unreachable before it is dropped, and how often to look."""

    grace: float = 5.0
    last_grace: float = 60.0     # the last healthy server is given longer
    interval: float = 0.25


class ServerPool:
    def __init__(self, urls: list[str], make_client: Callable[[str], ComfyClient],
                 health: Health | None = None) -> None:
        self.urls = list(dict.fromkeys(u.rstrip("/") for u in urls))
        self.make_client = make_client
        self.health = health or Health()
        self.servers: list[Server] = []
        self.queue: deque[list[Cell]] = deque()   # whole model groups not yet taken

    # -- connecting ----------------------------------------------------------------------------

    async def connect(self, on_answer: Callable[[], None] | None = None) -> None:
        """Connect every server at once; raises `NoServer` when none answers.
        ``on_answer`` is called each time a server has answered over HTTP, while its
        node schemas and socket are still on their way."""
        if not self.urls:
            raise NoServer("no ComfyUI server configured (set COMFYUI_URL or --servers)")
        clients = [self.make_client(url) for url in self.urls]
        results = await asyncio.gather(*(_hello(c, on_answer) for c in clients),
                                       return_exceptions=True)
        problems, causes = [], []
        for client, result in zip(clients, results):
            if isinstance(result, BaseException):
                problems.append(one_line(str(result)) or type(result).__name__)
                causes.append(result)
                await client.close()
                continue
            version, queued = result   # shown and recorded as the client names it (redacted)
            self.servers.append(Server(client.base_url, client, version=version,
                                       queued_before=queued))
        self.servers.sort(key=lambda s: s.queued_before)
        if not self.servers:
            raise NoServer("no ComfyUI server answered:\n" + "\n".join(
                f"  - {p}" for p in problems), causes)

    async def close(self) -> None:
        await asyncio.gather(*(s.client.close() for s in self.servers), return_exceptions=True)

    async def stop_tasks(self, others: list[asyncio.Task]) -> None:
        """Cancel every server's tasks and ``others``, and wait until they have ended."""
        tasks = [t for t in [*others, *(t for s in self.servers for t in s.tasks)]
                 if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def delete_queued(self) -> None:
        """Delete every prompt in flight from its server's queue (one request a server)."""
        for server in self.servers:
            ids = [job.prompt_id for _, job in server.inflight.values() if job is not None]
            if ids and server.healthy:
                try:
                    await server.client.delete_from_queue(ids)
                except ComfyError:
                    pass

    def by_url(self, url: str) -> Server | None:
        """The server ``url`` names (as recorded: credentials redacted, or not)."""
        url = redact_url(url.rstrip("/"))
        return next((s for s in self.servers if s.client.base_url == url), None)

    @property
    def healthy(self) -> list[Server]:
        return [s for s in self.servers if s.healthy]

    # -- work ----------------------------------------------------------------------------------

    def next_cell(self, server: Server, skip: Callable[[Cell], bool]) -> Cell | None:
        """The next cell ``server`` should run (its own, a new group, or one stolen from
        the busiest server); cells ``skip`` says are settled are passed over."""
        while server.healthy:
            if server.own:
                cell = server.own.popleft()
            elif self.queue:
                server.own.extend(self.queue.popleft())
                continue
            else:
                victims = [s for s in self.healthy if s is not server and s.own]
                if not victims:
                    return None
                cell = max(victims, key=lambda s: len(s.own)).own.pop()
            if not skip(cell):
                return cell
        return None

    def requeue(self, cells: list[Cell]) -> None:
        """Put cells back at the front, in order (a dropped server's, a lost job)."""
        for cell in reversed(cells):
            self.queue.appendleft([cell])

    def withdraw(self, cell: Cell) -> None:
        """Take ``cell`` out of the queue (it is in flight already)."""
        for group in self.queue:
            if cell in group:
                group.remove(cell)
        self.queue = deque(g for g in self.queue if g)

    def clear(self) -> None:
        self.queue.clear()
        for server in self.servers:
            server.own.clear()

    # -- health --------------------------------------------------------------------------------

    def drop(self, server: Server) -> list[tuple[Cell, Job | None]]:
        """Take ``server`` out; returns what it held (cell and job, in flight first)."""
        if not server.healthy:
            return []
        server.healthy = False
        held = list(server.inflight.values()) + [(cell, None) for cell in server.own]
        server.own.clear()
        server.inflight.clear()
        for task in list(server.tasks):
            task.cancel()
        return held

    async def watch(self, server: Server, on_gone: Callable[[Server, str], None]) -> None:
        """Call ``on_gone(server, reason)`` once its socket stays down past the grace and
        its HTTP does not answer."""
        while server.healthy:
            await asyncio.sleep(self.health.interval)
            if server.client.connected:
                server.down_since = None
                continue
            now = time.monotonic()
            if server.down_since is None:
                server.down_since = now
                continue
            alone = not any(s.healthy for s in self.servers if s is not server)
            grace = max(self.health.grace, self.health.last_grace) if alone \
                else self.health.grace
            if now - server.down_since < grace:
                continue
            try:
                await server.client.get_json("prompt")
                server.down_since = now   # HTTP answers: jobs are followed by polling
            except ComfyError as exc:
                on_gone(server, f"{server.url} went away: {one_line(str(exc))}")


async def _hello(client: ComfyClient,
                 on_answer: Callable[[], None] | None = None) -> tuple[str, int]:
    """Connect; (ComfyUI version, prompts queued); the node schemas come along."""
    async def stats() -> dict:
        answer = await client.system_stats()
        if on_answer is not None:
            on_answer()
        return answer

    # all at once: the node schemas (the big answer) come while the socket opens
    connected, stats, _ = await asyncio.gather(
        client.connect(), stats(), client.object_info(), return_exceptions=True)
    if isinstance(connected, BaseException):
        raise connected
    if isinstance(stats, Unreachable):
        raise stats
    try:
        version = str((stats.get("system") or {}).get("comfyui_version", ""))
    except AttributeError:
        version = ""
    return version, client.queue_remaining or 0   # what connecting found
