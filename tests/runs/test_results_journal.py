"""Results on disk (safely, against a hostile server) and recovery from the journal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.fixtures import glob_at_least
from tests.comfy.conftest import RECORDED, recorded, small_t2i
from tests.fakes.comfy_server import decompression_bomb_png, render_png
from workbench.comfy.client import ComfyClient
from workbench.runs.jobs import InvalidWorkflow, recover, run_job
from workbench.runs.journal import Journal
from workbench.runs.results import UnsafeImage, check_image, safe_filename


@pytest.mark.parametrize("raw, safe", [
    ("ComfyUI_00001_.png", "ComfyUI_00001_.png"),
    ("../../../etc/passwd", "passwd.png"),
    ("/tmp/absolute.png", "absolute.png"),
    ("..\\..\\win.png", "win.png"),
    ("..", "image.png"),
    ("", "image.png"),
    ("evil\x1b[31m[bold]x.png", "evil_bold_x.png"),
    ("a[/]b.png", "b.png"),
    ("noext", "noext.png"),
    ("script.sh", "script.sh.png"),
    (".hidden.png", "hidden.png"),
])
def test_safe_filename(raw, safe):
    assert safe_filename(raw) == safe


def test_check_image_refuses_bombs_and_junk():
    assert check_image(render_png("x", 1, 20, 10)) == (20, 10, "PNG")
    with pytest.raises(UnsafeImage, match="decompression bomb|pixel limit"):
        check_image(decompression_bomb_png())
    with pytest.raises(UnsafeImage, match="pixel limit"):
        check_image(render_png("x", 1, 64, 64), max_pixels=1000)
    with pytest.raises(UnsafeImage, match="not a readable image"):
        check_image(b"<html>not an image</html>")


async def test_run_to_files_on_disk_with_the_submitted_workflow(fake, client, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    workflow = small_t2i(seed=21)
    outcome = await run_job(client, workflow, tmp_path / "run", seed=21, journal=journal,
                            meta={"prompt": "fox"},
                            extra_pnginfo={"workbench": {"name": "fox"}})
    record = outcome.record
    assert record.ok and record.status == "success" and record.seed == 21
    [image] = record.images
    path = Path(image.path)
    assert path.parent == tmp_path / "run" and path.name == "flux_dev_00001_.png"
    from PIL import Image
    saved = Image.open(path)
    assert json.loads(saved.info["prompt"]) == workflow
    assert json.loads(saved.info["workbench"]) == {"name": "fox"}
    stored = json.loads((tmp_path / "run" / "run.json").read_text())
    assert stored["prompt_id"] == outcome.result.prompt_id
    assert stored["server"] == fake.url and stored["meta"] == {"prompt": "fox"}
    assert stored["timings"]["running_s"] >= 0
    assert json.loads((tmp_path / "run" / "workflow.json").read_text()) == workflow
    assert journal.unfinished() == []
    assert journal.entries()[outcome.result.prompt_id].outcome == "success"


async def test_rejected_workflow_is_journaled_and_explained(fake, client, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    workflow = small_t2i()
    workflow["8"]["inputs"]["steps"] = 0
    with pytest.raises(InvalidWorkflow) as caught:
        await run_job(client, workflow, tmp_path / "run", seed=1, journal=journal)
    assert "node 8 “KSampler”: steps = 0 is below the minimum 1" in str(caught.value)
    assert journal.unfinished() == []


async def test_hostile_server_is_handled_safely(fake, tmp_path):
    fake.hostile = True
    fake.oversize_bytes = 300_000
    fake.broken_models = set()
    async with ComfyClient(fake.url, max_download_bytes=200_000) as comfy:
        outcome = await run_job(comfy, small_t2i(), tmp_path / "run", seed=1)
    record = outcome.record
    saved = sorted(Path(i.path).name for i in record.images)
    assert saved == ["absolute.png", "escape_bold_x.png", "flux_dev_00001_.png"]
    for image in record.images:
        assert Path(image.path).resolve().parent == (tmp_path / "run").resolve()
        assert "\x1b" not in image.server_filename
    reasons = {r["server_filename"]: r["reason"] for r in record.refused}
    assert "decompression bomb" in reasons["bomb.png"] or "pixel" in reasons["bomb.png"]
    assert "limit" in reasons["huge.png"]
    assert not (tmp_path / "escape.png").exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "run"]
    text = (tmp_path / "run" / "run.json").read_text()
    assert "\\u001b" not in text and "\x1b" not in text


async def test_hostile_error_text_is_escaped(fake, client, tmp_path):
    fake.hostile = True
    fake.broken_models = {"ae.safetensors"}
    outcome = await run_job(client, small_t2i(), tmp_path / "run", seed=1)
    [problem] = outcome.problems
    text = str(problem)
    assert text.startswith("node 3 “Load VAE” (VAELoader): failed while running")
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold red]" in text  # shown literally; widgets get it as Text, not markup


async def test_kill_and_restart_recovers_from_the_journal(fake, tmp_path):
    """A workbench killed mid-run: the next start re-attaches and collects everything."""
    journal = Journal(tmp_path / "journal.jsonl")
    fake.step_delay = 0.03
    first = ComfyClient(fake.url)
    await first.connect()
    tasks = [asyncio.create_task(run_job(first, small_t2i(seed=s), tmp_path / f"run{s}",
                                         seed=s, journal=journal)) for s in range(3)]
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
    outcomes = await recover(journal, lambda server, cid: ComfyClient(server, client_id=cid),
                             on_attached=attached.append)
    assert len(outcomes) == 3 and len(attached) == 3
    assert all(o.record.ok for o in outcomes)
    for seed in range(3):
        stored = json.loads((tmp_path / f"run{seed}" / "run.json").read_text())
        assert stored["status"] == "success" and stored["seed"] == seed
        assert len(stored["images"]) == 1 and Path(stored["images"][0]["path"]).exists()
    assert journal.unfinished() == []


async def test_recovery_after_server_restart_turns_jobs_into_failures(fake, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    fake.stall()
    first = ComfyClient(fake.url)
    await first.connect()
    task = asyncio.create_task(run_job(first, small_t2i(), tmp_path / "run", seed=1,
                                       journal=journal))
    while not journal.unfinished() or journal.unfinished()[0].state != "queued":
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await first.close()
    await fake.restart(forget=True)
    outcomes = await asyncio.wait_for(
        recover(journal, lambda server, cid: ComfyClient(server, client_id=cid)), 10)
    [outcome] = outcomes
    assert outcome.result.status == "lost"
    assert "restarted" in str(outcome.problems[0])
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "lost"
    assert journal.unfinished() == []


async def test_recovery_leaves_unreachable_servers_for_later(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    from workbench.runs.journal import JournalEntry
    journal.submitting(JournalEntry("p1", "http://127.0.0.1:9", "cid", str(tmp_path / "r")))
    outcomes = await recover(journal, lambda server, cid: ComfyClient(server, client_id=cid))
    assert outcomes == [] and [e.prompt_id for e in journal.unfinished()] == ["p1"]


def test_journal_survives_a_torn_last_line(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    from workbench.runs.journal import JournalEntry
    journal.submitting(JournalEntry("p1", "http://x", "c", "/r", {"1": {}}, 5))
    journal.queued("p1", 3)
    with open(journal.path, "ab") as handle:
        handle.write(b'{"event": "finished", "prompt_')
    [entry] = journal.unfinished()
    assert entry.state == "queued" and entry.number == 3 and entry.seed == 5
    journal.finished("p1", "success")
    assert journal.unfinished() == []


REJECTED = sorted(p.name for p in glob_at_least("error_*.json", 18)
                  if recorded(p.name)["status"] == 400
                  and "prompt" in recorded(p.name)["request"].get("json", {}))


@pytest.mark.parametrize("name", REJECTED)
async def test_each_server_error_shape_reaches_the_user_naming_the_node(fake, client,
                                                                        tmp_path, name):
    from workbench.comfy.graph import title_of

    record = recorded(name)
    workflow = record["request"]["json"]["prompt"]
    with pytest.raises(InvalidWorkflow) as caught:
        await run_job(client, workflow, tmp_path / "run", seed=None)
    text = str(caught.value)
    body = record["body"]
    for node_id in body["node_errors"]:
        assert f"node {node_id} “{title_of(workflow, node_id)}”" in text
    details = body["error"]["details"]
    if details.startswith("Node ID '#"):
        assert f"node {details[10:-1]}" in text
    if not body["node_errors"] and not details:
        assert "no output node" in text
