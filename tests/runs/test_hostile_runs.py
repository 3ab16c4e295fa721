"""Plans on a hostile or broken ComfyUI (issue 13 items 9 and 17): every cell settles with
the real error, nothing hangs, journal entries are settled, good images are kept."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes import faults
from tests.runs.test_runner import FOX, FOX_B, fakes, runner  # noqa: F401
from workbench.runs.journal import Journal
from workbench.runs.plan import make_plan

#: A plan must settle well within this whatever the server does.
LIMIT = 30


@pytest.mark.parametrize("fault", [faults.html(), faults.json_body([1, 2]),
                                   faults.text("OK"), faults.raw_json("{\"number\": 1e400}")])
async def test_post_prompt_200_with_a_non_object_body_settles_every_cell(fakes, tmp_path,
                                                                         fault):
    fake = await fakes()
    fake.faults.set("POST /prompt", fault)
    plan = make_plan([FOX, FOX_B], seeds=[1, 2])
    journal = Journal(tmp_path / "journal.jsonl")
    run = await asyncio.wait_for(runner(plan, [fake.url], tmp_path, journal=journal).run(),
                                 LIMIT)
    assert {r.status for r in run.results.values()} == {"error"}
    assert len(run.results) == 4
    for result in run.results.values():
        assert "POST /prompt" in result.error and fake.url in result.error, result.error
    assert journal.unfinished() == []


async def test_a_garbage_answer_on_one_server_fails_only_its_cells(fakes, tmp_path):
    """The server answered (it is not "gone"): the cells it took fail with its words, the
    other server's cells are done, the plan ends."""
    bad, good = await fakes(), await fakes(step_delay=0.01)
    bad.faults.set("POST /prompt", faults.html())
    plan = make_plan([FOX, FOX_B], seeds=[1, 2, 3])
    run = await asyncio.wait_for(runner(plan, [bad.url, good.url], tmp_path).run(), LIMIT)
    assert len(run.results) == 6
    for result in run.results.values():
        if result.server == bad.url:
            assert result.status == "error" and "HTML page" in result.error
        else:
            assert result.server == good.url and result.status == "done"
    assert {r.server for r in run.results.values()} == {bad.url, good.url}


async def test_an_exception_in_a_runner_task_settles_the_cell(fakes, tmp_path, monkeypatch):
    """Whatever goes wrong in a worker (here: a bug while building), the cell ends as an
    error with what happened and the plan goes on."""
    fake = await fakes()
    plan = make_plan([FOX, FOX_B], seeds=[1])
    pool = runner(plan, [fake.url], tmp_path)
    original = pool.service.submit
    calls = []

    async def flaky(client, workflow, cell, *args, **kwargs):
        calls.append(cell.id)
        if cell.id == "v0-s1":
            raise KeyError("server")          # what a broken answer used to raise
        return await original(client, workflow, cell, *args, **kwargs)

    monkeypatch.setattr(pool.service, "submit", flaky)
    run = await asyncio.wait_for(pool.run(), LIMIT)
    assert run.results["v1-s1"].status == "done"
    failed = run.results["v0-s1"]
    assert failed.status == "error" and "KeyError" in failed.error and "server" in failed.error


async def test_an_execution_error_is_recorded_with_the_servers_words(fakes, tmp_path):
    fake = await fakes(broken_models={"flux1-dev.safetensors"})
    plan = make_plan([FOX], seeds=[1, 2])
    journal = Journal(tmp_path / "journal.jsonl")
    run = await asyncio.wait_for(runner(plan, [fake.url], tmp_path, journal=journal).run(),
                                 LIMIT)
    for result in run.results.values():
        assert result.status == "error"
        assert "header too large" in result.error and "UNETLoader" in result.error
        assert result.server == fake.url and result.prompt_id
    assert journal.unfinished() == []


@pytest.mark.parametrize("fault, words", [
    (faults.status(500, "Internal Server Error"), "HTTP 500"),
    (faults.slow_loris(interval=0.2), "did not finish answering GET /view"),
])
async def test_download_failures_are_recorded_and_settled_in_the_journal(fakes, tmp_path,
                                                                        fault, words):
    fake = await fakes()
    fake.faults.set("GET /view", fault)
    plan = make_plan([FOX], seeds=[1])
    journal = Journal(tmp_path / "journal.jsonl")
    pool = runner(plan, [fake.url], tmp_path, journal=journal,
                  client_factory=lambda url: __import__("workbench.comfy.client", fromlist=[
                      "ComfyClient"]).ComfyClient(url, poll_interval=0.2, timeout=1.0))
    run = await asyncio.wait_for(pool.run(), LIMIT)
    result = run.results["v0-s1"]
    assert result.status == "error" and words in result.error, result.error
    assert result.refused and words in result.refused[0]["reason"]
    assert journal.unfinished() == []


async def test_one_bad_image_does_not_drop_the_good_ones(fakes, tmp_path):
    fake = await fakes(hostile=True)     # adds a bomb, an oversized PNG, odd names
    plan = make_plan([FOX], seeds=[1])
    run = await asyncio.wait_for(runner(plan, [fake.url], tmp_path).run(), LIMIT)
    result = run.results["v0-s1"]
    assert result.status == "done" and len(result.images) >= 2
    assert all((run.folder / p).resolve().is_relative_to(run.folder.resolve())
               for p in result.images)
    [refused] = result.refused
    assert refused["server_filename"] == "bomb.png" and "bomb" in refused["reason"]
