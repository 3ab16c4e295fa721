"""Settling what an earlier session left on a server, from the journal.

After a crash or kill the journal lists prompts that were submitted and never recorded.
`recover` reconnects to each server with the client id the prompts were sent with (so
live events reach us again), re-attaches to them, and records each one in its run folder
as that run would have (`recorder.CellRecorder`): finished ones are collected from
/history, queued or running ones are followed to the end, ones the server forgot become
clear failures.  Prompts of a session that is still running (same machine, live process:
`journal.owner_alive`, pid and start time) are left to it; so are prompts on servers the
caller did not name (``servers``: this session's configured ones), servers that do not
answer, and prompts still running when the ``timeout`` is up: all stay in the journal for
next time.  Each recovered prompt keeps its own record: in its run's cell when that is
free, else in a run folder of its own beside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..comfy.client import ComfyClient, ComfyError, Job, JobResult
from ..comfy.validate import Problem
from ..spec import PromptSpec
from ..specdata import SpecDataError, spec_from_dict
from ..textsafe import redact_url
from . import history
from .journal import Journal, JournalEntry, owner_alive
from .plan import Cell, make_plan
from .recorder import CellRecorder

#: Seconds `workbench run` waits for what an earlier session left running.
RECOVERY_TIMEOUT = 120.0


@dataclass
class Recovered:
    """One journaled prompt, settled: where it was recorded and what went wrong."""

    entry: JournalEntry
    run: history.Run
    record: history.CellResult
    status: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def images(self) -> list[Path]:
        return [self.run.folder / p for p in self.record.images]


def owned_by_live_session(entry: JournalEntry) -> bool:
    """Whether a live workbench process on this machine (this one included) still
    follows ``entry``."""
    return owner_alive(entry.meta)


def _cell_for(entry: JournalEntry, run: history.Run | None) -> Cell:
    """The cell a journal entry ran: from the run's plan, else from the spec it carried."""
    cell_id = str(entry.meta.get("cell") or "")
    if run is not None and run.plan is not None and cell_id:
        cell = run.plan.cell(cell_id)
        if cell is not None:
            return cell
    try:
        spec = spec_from_dict(entry.meta.get("spec") or {}, "journal")
    except SpecDataError:
        spec = PromptSpec(name=str(entry.meta.get("prompt") or "recovered"))
    seed = entry.seed if isinstance(entry.seed, int) and entry.seed >= 0 else 0
    return Cell(cell_id or f"v0-s{seed}", (0,), 0, seed, (), spec)


def _target(entry: JournalEntry) -> tuple[history.Run, Cell]:
    """The run and cell an entry is recorded in: its own run folder's cell while that is
    not done by another prompt, else (an entry from before run folders had manifests, a
    folder that no longer reads, a cell done meanwhile) a single run of its own."""
    folder = Path(entry.run_dir)
    try:
        run = history.load_run(folder)
    except history.HistoryError:
        run = None
    if run is not None:
        cell = _cell_for(entry, run)
        earlier = run.results.get(cell.id)
        if earlier is None or earlier.status != "done" or \
                earlier.prompt_id in ("", entry.prompt_id):
            return run, cell
    cell = _cell_for(entry, None)
    plan = make_plan([cell.spec], [cell.seed], name=cell.spec.name)
    target = folder
    if (folder / history.MANIFEST).exists():
        target = folder / f"recovered-{entry.prompt_id[:8]}"
        number = 1
        while (target / history.MANIFEST).exists():
            number += 1
            target = folder / f"recovered-{entry.prompt_id[:8]}-{number}"
    run = history.create_run(plan, kind="single", folder=target,
                             name=f"{cell.spec.name} (recovered)")
    return run, plan.cells()[0]


def entries_of_run(entries: list[JournalEntry], run: history.Run) -> dict[str, JournalEntry]:
    """Cell id -> the open journal entry of that cell of ``run`` (its folder named)."""
    return {str(e.meta["cell"]): e for e in entries
            if e.meta.get("run") == str(run.folder) and e.meta.get("cell")}


async def follow_attached(client: ComfyClient, job: Job, poll: float) -> JobResult:
    """Wait for a re-attached job: the socket that heard of it died with the old session,
    so the server is asked every ``poll`` seconds as well."""
    while True:
        try:
            return await job.wait(poll)
        except TimeoutError:
            await client.check_job(job)


async def recover(journal: Journal, make_client: Callable[[str, str], ComfyClient], *,
                  servers: list[str] | None = None, wait: bool = True,
                  timeout: float | None = None,
                  on_attached: Callable[[Job], None] | None = None,
                  is_live: Callable[[JournalEntry], bool] = owned_by_live_session
                  ) -> list[Recovered]:
    """Settle every unfinished journaled prompt (see the module's docstring).
    ``make_client(server, client_id)`` builds a client; ``servers``: only prompts sent to
    these (matched with credentials redacted; the client gets the URL as given here);
    ``wait=False`` collects only what has finished already; ``timeout``: seconds to wait
    in all; ``is_live`` tells entries a running session still follows."""
    wanted = {redact_url(u.rstrip("/")): u.rstrip("/") for u in servers} \
        if servers is not None else None
    groups: dict[tuple[str, str], list[JournalEntry]] = {}
    for entry in await asyncio.to_thread(journal.unfinished):
        server = redact_url(entry.server.rstrip("/"))
        if wanted is not None and server not in wanted:
            continue
        if not is_live(entry):
            url = wanted[server] if wanted is not None else entry.server
            groups.setdefault((url, entry.client_id), []).append(entry)
    loop = asyncio.get_running_loop()
    end = None if timeout is None else loop.time() + timeout
    found: list[Recovered] = []
    for (server, client_id), entries in groups.items():
        client = make_client(server, client_id)
        try:
            await client.connect()
            found += await _settle_server(client, entries, journal, wait=wait, end=end,
                                          on_attached=on_attached)
        except ComfyError:
            continue   # unreachable, or not answering sensibly: left for next time
        finally:
            await client.close()
    return found


async def _settle_server(client: ComfyClient, entries: list[JournalEntry], journal: Journal,
                         *, wait: bool, end: float | None,
                         on_attached: Callable[[Job], None] | None) -> list[Recovered]:
    jobs = []
    for entry in entries:
        job = client.attach(entry.prompt_id, entry.workflow, entry.submitted_at)
        if on_attached is not None:
            on_attached(job)
        jobs.append((entry, job))
    loop = asyncio.get_running_loop()
    found = []
    for entry, job in jobs:
        if not wait and not job.done:
            await client.check_job(job)
            if not job.done:
                continue
        try:
            result = await job.wait(None if end is None else max(0.0, end - loop.time()))
        except TimeoutError:
            continue
        try:
            run, cell = await asyncio.to_thread(_target, entry)
            recorder = CellRecorder(run, journal=journal)
            record, problems = await recorder.finish(client, result, cell, entry.workflow)
        except (history.HistoryError, OSError):
            continue   # its folder can't be written: left in the journal
        found.append(Recovered(entry, run, record, result.status, problems))
    return found
