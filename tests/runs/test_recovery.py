"""Recovery from the journal: a killed session's prompts are recorded in their run folder."""

from __future__ import annotations

import asyncio

from tests.comfy.conftest import small_t2i
from workbench.comfy.client import ComfyClient
from workbench.config import Config
from workbench.runs import history
from workbench.runs.journal import Journal, JournalEntry
from workbench.runs.plan import make_plan
from workbench.runs.recovery import recover
from workbench.runs.single import RunService
from workbench.spec import PromptSpec


def not_live(entry) -> bool:
    return False   # the "killed" session ran in this very process


async def test_kill_and_restart_recovers_from_the_journal(fake, tmp_path):
    """A workbench killed mid-run: the next start re-attaches and records everything."""
    journal = Journal(tmp_path / "journal.jsonl")
    runs = RunService(Config(), journal=journal)
    fake.step_delay = 0.03
    plan = make_plan([PromptSpec("fox", subject="a red fox")], [0, 1, 2])
    run = history.create_run(plan, root=tmp_path / "runs")
    recorder = runs.recorder(run)
    first = ComfyClient(fake.url)
    await first.connect()
    tasks = [asyncio.create_task(runs.execute(first, small_t2i(seed=c.seed), c, recorder,
                                              seed=c.seed)) for c in plan.cells()]
    while len(journal.unfinished()) < 3 or any(e.state != "queued"
                                               for e in journal.unfinished()):
        await asyncio.sleep(0.01)
    while not fake.executed_nodes:
        await asyncio.sleep(0.01)
    for task in tasks:          # the "kill": nothing after this point runs in session one
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await first.close()
    assert len(journal.unfinished()) == 3

    attached = []
    found = await recover(journal, lambda server, cid: ComfyClient(server, client_id=cid),
                          on_attached=attached.append, is_live=not_live)
    assert len(found) == 3 and len(attached) == 3
    assert all(f.record.status == "done" and f.images[0].is_file() for f in found)
    loaded = history.load_run(run.folder)
    assert sorted(loaded.results) == sorted(c.id for c in plan.cells())
    assert all(r.status == "done" and r.seed in (0, 1, 2) for r in loaded.results.values())
    assert journal.unfinished() == []


async def test_recovery_after_server_restart_turns_jobs_into_failures(fake, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    runs = RunService(Config(), journal=journal)
    fake.stall()
    plan = make_plan([PromptSpec("fox", subject="a red fox")], [1])
    run = history.create_run(plan, kind="single", folder=tmp_path / "run")
    first = ComfyClient(fake.url)
    await first.connect()
    task = asyncio.create_task(runs.execute(first, small_t2i(), plan.cells()[0],
                                            runs.recorder(run), seed=1))
    while not journal.unfinished() or journal.unfinished()[0].state != "queued":
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await first.close()
    await fake.restart(forget=True)
    found = await asyncio.wait_for(
        recover(journal, lambda server, cid: ComfyClient(server, client_id=cid),
                is_live=not_live), 10)
    [lost] = found
    assert lost.status == "lost" and "restarted" in str(lost.problems[0])
    assert history.load_run(tmp_path / "run").results["v0-s1"].status == "error"
    assert journal.unfinished() == []


async def test_recovery_leaves_unreachable_servers_and_live_sessions_for_later(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.submitting(JournalEntry("p1", "http://127.0.0.1:9", "cid", str(tmp_path / "r")))
    journal.submitting(JournalEntry("p2", "http://127.0.0.1:9", "cid", str(tmp_path / "r"),
                                    meta={"pid": __import__("os").getpid()}))
    made = []

    def make(server, cid):
        made.append(server)
        return ComfyClient(server, client_id=cid)

    assert await recover(journal, make) == []
    assert [e.prompt_id for e in journal.unfinished()] == ["p1", "p2"]
    assert len(made) == 1     # p2 belongs to this (live) process: not even connected for
