"""Recovery takes over only what a dead session left (issue 13 items 1 and 10): two
``workbench run`` processes on one server, a ``run`` during an ``ab``, a pid reused by a
later process, several recovered prompts keeping their own records, and recovery that
waits only on this run's server, for a bounded time."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.comfy.conftest import small_t2i, write_library
from tests.fakes import faults
from workbench.comfy.client import ComfyClient
from workbench.config import Config
from workbench.runs import history
from workbench.runs.journal import Journal, JournalEntry, process_started, this_process
from workbench.runs.plan import make_plan
from workbench.runs.recovery import owned_by_live_session, recover
from workbench.runs.single import RunService
from workbench.spec import PromptSpec

FOX = '''[[prompts]]
name = "fox"
model = "dev"
subject = "a red fox"
steps = 3
width = 32
height = 32
seed = 42

[[prompts]]
name = "cat"
model = "dev"
subject = "a grey cat"
steps = 3
width = 32
height = 32
seed = 7
'''


def workbench(*args: str) -> subprocess.Popen:
    """The CLI in its own process (its own pid: the journal tells the sessions apart)."""
    return subprocess.Popen([sys.executable, "-m", "workbench", *args], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 90) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_for(condition, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        time.sleep(0.05)


def queued_by(journal: Journal, pid: int) -> list[JournalEntry]:
    return [e for e in journal.unfinished() if e.meta.get("pid") == pid
            and e.state == "queued"]


def test_two_run_processes_on_one_server_keep_to_their_own_jobs(threaded_fake, tmp_path):
    server = threaded_fake(step_delay=0.4)
    library = write_library(tmp_path, FOX)
    journal = Journal()
    first = workbench("run", "fox", "--library", str(library), "--out", str(tmp_path / "a"),
                      "--comfyui-url", server.url)
    try:
        wait_for(lambda: queued_by(journal, first.pid))
        [entry] = queued_by(journal, first.pid)     # the owner: pid and start time
        assert entry.meta["started"] == process_started(first.pid)
        second = workbench("run", "cat", "--library", str(library), "--out",
                           str(tmp_path / "b"), "--comfyui-url", server.url)
        code_b, out_b, err_b = finish(second)
    finally:
        code_a, out_a, err_a = finish(first)
    assert (code_a, code_b) == (0, 0), err_a + err_b
    assert "earlier session" not in err_b
    [image_a] = out_a.splitlines()
    [image_b] = out_b.splitlines()
    assert Path(image_a).parent == tmp_path / "a" / "cells"
    assert Path(image_b).parent == tmp_path / "b" / "cells"
    run_a = history.load_run(tmp_path / "a")
    assert list(run_a.results) == ["v0-s42"] and run_a.results["v0-s42"].status == "done"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == \
        ["cells", "manifest.json"]
    assert len(server.fake.submitted) == 2
    assert journal.unfinished() == []


def test_a_run_during_an_ab_leaves_the_plan_alone(threaded_fake, tmp_path):
    server = threaded_fake(step_delay=0.3)
    library = write_library(tmp_path, FOX)
    journal = Journal()
    plan = workbench("ab", str(library), "fox", "cat", "--seeds", "1,2", "--out",
                     str(tmp_path / "ab"), "--servers", server.url)
    try:
        wait_for(lambda: len(queued_by(journal, plan.pid)) >= 2)
        single = workbench("run", "fox", "--library", str(library), "--out",
                           str(tmp_path / "single"), "--comfyui-url", server.url)
        code_run, out_run, err_run = finish(single)
    finally:
        code_ab, out_ab, err_ab = finish(plan)
    assert (code_ab, code_run) == (0, 0), err_ab + err_run
    assert "earlier session" not in err_run
    assert [Path(p).parent for p in out_run.splitlines()] == [tmp_path / "single" / "cells"]
    [folder] = [p for p in (tmp_path / "ab").iterdir() if p.is_dir()]
    assert not list(folder.rglob("recovered*"))
    run = history.load_run(folder)
    assert len(run.results) == 4 and all(r.status == "done" for r in run.results.values())
    assert len(server.fake.submitted) == 5
    assert journal.unfinished() == []


# -- the owner of an entry ---------------------------------------------------------------------

def test_owner_is_pid_and_start_time():
    me = this_process()
    assert me["pid"] == os.getpid()
    assert owned_by_live_session(JournalEntry("p", "s", "c", "r", meta=me))
    if me["started"] is None:
        return   # no /proc: the pid alone is checked
    reused = dict(me, started=str(int(me["started"]) - 1))   # an earlier process, same pid
    assert not owned_by_live_session(JournalEntry("p", "s", "c", "r", meta=reused))
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        other = {"pid": sleeper.pid, "started": process_started(sleeper.pid)}
        assert owned_by_live_session(JournalEntry("p", "s", "c", "r", meta=other))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not owned_by_live_session(JournalEntry("p", "s", "c", "r", meta=other))
    assert not owned_by_live_session(JournalEntry("p", "s", "c", "r", meta={}))


# -- several recovered prompts each keep their record -------------------------------------------

async def leave_behind(fake, tmp_path, journal, seeds):
    """A session that submitted ``seeds`` into one plan run and was killed (the fake is
    stalled meanwhile, so nothing finishes before the "kill"; resume it after)."""
    fake.stall()
    runs = RunService(Config(), journal=journal)
    plan = make_plan([PromptSpec("fox", subject="a red fox")], seeds)
    run = history.create_run(plan, root=tmp_path / "runs")
    recorder = runs.recorder(run)
    client = ComfyClient(fake.url)
    await client.connect()
    tasks = [asyncio.create_task(runs.execute(client, small_t2i(seed=c.seed), c, recorder,
                                              seed=c.seed)) for c in plan.cells()]
    while len([e for e in journal.unfinished() if e.state == "queued"
               and e.meta.get("run") == str(run.folder)]) < len(seeds):
        await asyncio.sleep(0.01)
    for task in tasks:   # the "kill" (recover is told the owner is gone: is_live)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()
    return run, plan


def make(server, cid):
    return ComfyClient(server, client_id=cid)


async def test_recovered_prompts_of_an_unreadable_run_each_keep_their_record(fake, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    run, plan = await leave_behind(fake, tmp_path, journal, [1, 2, 3])
    run.manifest_path.write_text("{ broken", encoding="utf-8")
    fake.resume()
    found = await asyncio.wait_for(recover(journal, make, servers=[fake.url],
                                           is_live=lambda e: False), 30)
    assert len(found) == 3
    folders = {f.run.folder for f in found}
    assert len(folders) == 3 and all(f.parent == run.folder for f in folders)
    for item in found:
        assert item.record.status == "done" and item.images[0].is_file()
        assert history.load_run(item.run.folder).results[item.record.cell].status == "done"
    assert journal.unfinished() == []


async def test_a_cell_done_meanwhile_is_not_overwritten(fake, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    run, plan = await leave_behind(fake, tmp_path, journal, [1])
    fake.resume()
    cell = plan.cells()[0]
    history.record_cell(run, cell, [b"\x89PNG\r\n\x1a\nkept"], None, prompt_id="resumed")
    [item] = await asyncio.wait_for(recover(journal, make, servers=[fake.url],
                                            is_live=lambda e: False), 30)
    assert history.load_run(run.folder).results[cell.id].prompt_id == "resumed"
    assert item.run.folder.parent == run.folder and item.record.status == "done"


# -- item 10: only this run's servers, for a bounded time ---------------------------------------

async def test_recovery_waits_only_on_the_named_servers_and_not_forever(fake, tmp_path):
    from tests.fakes.comfy_server import FakeComfy

    other = FakeComfy()
    await other.start()
    try:
        journal = Journal(tmp_path / "journal.jsonl")
        await leave_behind(other, tmp_path, journal, [5])
        await leave_behind(fake, tmp_path, journal, [6])
        made = []

        def tracking(server, cid):
            made.append(server)
            return make(server, cid)

        started = time.monotonic()
        found = await asyncio.wait_for(recover(journal, tracking, servers=[fake.url],
                                               timeout=1.0, is_live=lambda e: False), 30)
        assert time.monotonic() - started < 10
        assert found == [] and made == [fake.url]
        assert len(journal.unfinished()) == 2       # both left for next time
        fake.resume()
        [item] = await asyncio.wait_for(recover(journal, make, servers=[fake.url],
                                                timeout=20, is_live=lambda e: False), 30)
        assert item.record.status == "done" and len(journal.unfinished()) == 1
    finally:
        other.resume()
        await other.stop()


async def test_recovery_survives_a_server_that_answers_garbage(fake, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    await leave_behind(fake, tmp_path, journal, [1])
    fake.resume()
    fake.faults.set("GET /prompt", faults.html())
    assert await asyncio.wait_for(recover(journal, make, servers=[fake.url],
                                          is_live=lambda e: False), 30) == []
    assert len(journal.unfinished()) == 1


def test_run_ignores_a_stalled_leftover_on_another_server(threaded_fake, tmp_path):
    elsewhere = threaded_fake()
    elsewhere.fake.stall()
    server = threaded_fake()
    journal = Journal()
    journal.submitting(JournalEntry("left-elsewhere", elsewhere.url, "old-client",
                                    str(tmp_path / "old"), small_t2i(), 3, {"pid": 0}))
    journal.queued("left-elsewhere", 0)
    elsewhere.call(_queue_stalled, elsewhere.fake)
    library = write_library(tmp_path, FOX)
    code, out, err = finish(workbench("run", "fox", "--library", str(library),
                                      "--comfyui-url", server.url), timeout=60)
    assert code == 0, err
    assert len(out.splitlines()) == 1
    assert [e.prompt_id for e in journal.unfinished()] == ["left-elsewhere"]


async def _queue_stalled(fake):
    """The leftover is still queued on the stalled server (as a real one would have it)."""
    from tests.fakes.comfy.server import Job as FakeJob

    fake._pending.append(FakeJob(0, "left-elsewhere", small_t2i(), {"client_id": "old"},
                                 ["9"]))
