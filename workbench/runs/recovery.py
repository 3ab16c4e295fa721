"""Settling what an earlier session left on a server, from the journal.

After a crash or kill the journal lists prompts that were submitted and never recorded.
`recover` reconnects to each server with the client id the prompts were sent with (so
live events reach us again), re-attaches to them, and records each one in its run folder
as that run would have (`recorder.CellRecorder`): finished ones are collected from
/history, queued or running ones are followed to the end, ones the server forgot become
clear failures.  Prompts of a session that is still running (same machine, live process)
are left to it; servers that do not answer are left in the journal for next time.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..comfy.client import ComfyClient, Job, JobResult, Unreachable
from ..comfy.validate import Problem
from ..spec import PromptSpec
from ..specdata import SpecDataError, spec_from_dict
from . import history
from .journal import Journal, JournalEntry
from .plan import Cell, make_plan
from .recorder import CellRecorder


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
    pid = entry.meta.get("pid")
    if not isinstance(pid, int):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True   # it exists, owned by someone else
    return True


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
    """The run and cell an entry is recorded in: its own run folder, or (an entry from
    before run folders had manifests, or a folder that no longer reads) a single run."""
    folder = Path(entry.run_dir)
    try:
        run = history.load_run(folder)
        return run, _cell_for(entry, run)
    except history.HistoryError:
        pass
    cell = _cell_for(entry, None)
    plan = make_plan([cell.spec], [cell.seed], name=cell.spec.name)
    target = folder / "recovered" if (folder / history.MANIFEST).exists() else folder
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
                  wait: bool = True, timeout: float | None = None,
                  on_attached: Callable[[Job], None] | None = None,
                  is_live: Callable[[JournalEntry], bool] = owned_by_live_session
                  ) -> list[Recovered]:
    """Settle every unfinished journaled prompt (see the module's docstring).
    ``make_client(server, client_id)`` builds a client; ``wait=False`` collects only what
    has finished already; ``is_live`` tells entries a running session still follows."""
    groups: dict[tuple[str, str], list[JournalEntry]] = {}
    for entry in await asyncio.to_thread(journal.unfinished):
        if not is_live(entry):
            groups.setdefault((entry.server, entry.client_id), []).append(entry)
    found: list[Recovered] = []
    for (server, client_id), entries in groups.items():
        client = make_client(server, client_id)
        try:
            await client.connect()
        except Unreachable:
            await client.close()
            continue
        try:
            found += await _settle_server(client, entries, journal, wait=wait,
                                          timeout=timeout, on_attached=on_attached)
        finally:
            await client.close()
    return found


async def _settle_server(client: ComfyClient, entries: list[JournalEntry], journal: Journal,
                         *, wait: bool, timeout: float | None,
                         on_attached: Callable[[Job], None] | None) -> list[Recovered]:
    jobs = []
    for entry in entries:
        job = client.attach(entry.prompt_id, entry.workflow, entry.submitted_at)
        if on_attached is not None:
            on_attached(job)
        jobs.append((entry, job))
    found = []
    for entry, job in jobs:
        if not wait and not job.done:
            await client.check_job(job)
            if not job.done:
                continue
        try:
            result = await job.wait(timeout)
        except TimeoutError:
            continue
        run, cell = await asyncio.to_thread(_target, entry)
        recorder = CellRecorder(run, journal=journal)
        record, problems = await recorder.finish(client, result, cell, entry.workflow)
        found.append(Recovered(entry, run, record, result.status, problems))
    return found
