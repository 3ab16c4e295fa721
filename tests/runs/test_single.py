"""The one run service against the fake ComfyUI: a prompt to a recorded run folder, safely
against a hostile server, with refusals explained per node."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.comfy.conftest import recorded, small_t2i
from tests.fixtures import glob_at_least
from workbench.comfy.client import ComfyClient
from workbench.comfy.validate import InvalidWorkflow
from workbench.config import Config
from workbench.images.pngmeta import read_png_metadata
from workbench.runs import history
from workbench.runs.journal import Journal
from workbench.runs.plan import make_plan
from workbench.runs.single import RunService
from workbench.runs.uploads import UploadCache
from workbench.spec import Params, PromptSpec

FOX = PromptSpec("fox", subject="a red fox", params=Params(steps=3, width=32, height=32))


def service(tmp_path, **kw) -> RunService:
    kw.setdefault("journal", Journal(tmp_path / "journal.jsonl"))
    return RunService(Config(), uploads=UploadCache(tmp_path / "uploads.json"), **kw)


def one_cell(tmp_path, spec=FOX, seed=21):
    plan = make_plan([spec], [seed], name=spec.name)
    run = history.create_run(plan, kind="single", folder=tmp_path / "run")
    return run, plan.cells()[0]


async def test_a_prompt_becomes_a_run_folder_the_history_lists(fake, client, tmp_path):
    runs = service(tmp_path)
    outcome = await runs.run_single(client, FOX, seed=21, root=tmp_path / "runs",
                                    meta={"prompt": "fox"})
    assert outcome.ok and outcome.result.status == "success"
    [image] = outcome.images
    assert image.parent == outcome.run.folder / "cells" and image.name == "v0-s21-1.png"
    saved = Image.open(image)
    workflow = json.loads((outcome.run.folder / outcome.record.workflow).read_text())
    assert json.loads(saved.info["prompt"]) == workflow == fake.submitted[-1]["prompt"]
    meta = read_png_metadata(image)
    assert meta.workbench["subject"] == "a red fox" and meta.workbench["seed"] == 21
    [summary] = history.list_runs(tmp_path / "runs")
    assert (summary.kind, summary.name, summary.done, summary.cells) == ("single", "fox", 1, 1)
    loaded = history.load_run(summary.folder)
    assert loaded.meta == {"prompt": "fox", "workflow": "flux-dev"}
    assert loaded.results["v0-s21"].server == fake.url
    assert loaded.results["v0-s21"].comfyui_version == "0.3.64"
    assert loaded.results["v0-s21"].timings["running_s"] >= 0
    assert Journal(tmp_path / "journal.jsonl").unfinished() == []


async def test_a_refused_prompt_leaves_no_run_folder(fake, client, tmp_path):
    bad = FOX.copy(params=Params(steps=0, width=32, height=32))
    with pytest.raises(InvalidWorkflow, match="steps = 0 is below the minimum 1"):
        await service(tmp_path).run_single(client, bad, seed=1, root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists() and fake.submitted == []


async def test_rejected_workflow_is_journaled_and_explained(fake, client, tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    run, cell = one_cell(tmp_path)
    workflow = small_t2i()
    workflow["8"]["inputs"]["steps"] = 0
    runs = service(tmp_path, journal=journal)
    with pytest.raises(InvalidWorkflow) as caught:
        await runs.execute(client, workflow, cell, runs.recorder(run), seed=1)
    assert "node 8 “KSampler”: steps = 0 is below the minimum 1" in str(caught.value)
    assert journal.unfinished() == []


async def test_hostile_server_is_handled_safely(fake, tmp_path):
    fake.hostile = True
    fake.oversize_bytes = 300_000
    fake.broken_models = set()
    run, cell = one_cell(tmp_path)
    runs = service(tmp_path)
    recorder = runs.recorder(run)
    recorder.max_bytes = 200_000
    async with ComfyClient(fake.url) as comfy:
        outcome = await runs.execute(comfy, small_t2i(), cell, recorder, seed=1)
    assert outcome.ok and len(outcome.images) == 3   # the good ones, under our own names
    for image in outcome.images:
        assert image.resolve().parent == (tmp_path / "run" / "cells").resolve()
    reasons = {r["server_filename"]: r["reason"] for r in outcome.record.refused}
    assert "decompression bomb" in reasons["bomb.png"] or "pixel" in reasons["bomb.png"]
    assert "limit" in reasons["huge.png"]
    assert all("\x1b" not in name for name in reasons)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("journal")) \
        == ["run"]
    text = run.manifest_path.read_text()
    assert "\\u001b" not in text and "\x1b" not in text


async def test_hostile_error_text_is_escaped(fake, client, tmp_path):
    fake.hostile = True
    fake.broken_models = {"ae.safetensors"}
    run, cell = one_cell(tmp_path)
    runs = service(tmp_path)
    outcome = await runs.execute(client, small_t2i(), cell, runs.recorder(run), seed=1)
    [problem] = outcome.problems
    text = str(problem)
    assert text.startswith("node 3 “Load VAE” (VAELoader): failed while running")
    assert "\x1b" not in text and "\x07" not in text
    assert "[bold red]" in text  # shown literally; widgets get it as Text, not markup
    assert outcome.record.status == "error" and "Load VAE" in outcome.record.error


REJECTED = sorted(p.name for p in glob_at_least("error_*.json", 18)
                  if recorded(p.name)["status"] == 400
                  and "prompt" in recorded(p.name)["request"].get("json", {}))


@pytest.mark.parametrize("name", REJECTED)
async def test_each_server_error_shape_reaches_the_user_naming_the_node(fake, client,
                                                                        tmp_path, name):
    from workbench.comfy.graph import title_of

    record = recorded(name)
    workflow = record["request"]["json"]["prompt"]
    run, cell = one_cell(tmp_path)
    runs = service(tmp_path)
    with pytest.raises(InvalidWorkflow) as caught:
        await runs.execute(client, workflow, cell, runs.recorder(run), seed=1)
    text = str(caught.value)
    body = record["body"]
    for node_id in body["node_errors"]:
        assert f"node {node_id} “{title_of(workflow, node_id)}”" in text
    details = body["error"]["details"]
    if details.startswith("Node ID '#"):
        assert f"node {details[10:-1]}" in text
    if not body["node_errors"] and not details:
        assert "no output node" in text
