"""Built-in workflows against the recorded object_info, and readable error messages."""

from __future__ import annotations

import copy

import httpx
import pytest

from tests.comfy.conftest import recorded
from tests.fixtures import glob_at_least
from workbench.comfy.events import parse_text
from workbench.comfy.graph import find_roles, title_of
from workbench.comfy.models import ModelFiles, choose_models
from workbench.comfy.tool_graph import TOOL_BUILTINS
from workbench.comfy.validate import (
    check_workflow,
    explain_execution_error,
    explain_rejection,
)
from workbench.comfy.workflows import (
    BUILTINS,
    build_workflow,
    insert_loras,
    load_builtin,
    set_model_files,
    to_checkpoint,
)
from workbench.spec import Lora, Params, PromptSpec

#: The tools' built-ins need more than a prompt: tests/comfy/test_tool_workflows.py
PLAIN_BUILTINS = [name for name in BUILTINS if name not in TOOL_BUILTINS]


def _spec(name: str, **params) -> PromptSpec:
    variant, needs_image = BUILTINS[name][1], BUILTINS[name][2]
    return PromptSpec(name="t", model=variant, subject="a lighthouse at dusk",
                      source_image="in.png" if needs_image else "", params=Params(**params))


def _with_checkpoint(object_info: dict, name: str) -> dict:
    info = copy.deepcopy(object_info)
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = [name]
    return info


@pytest.mark.parametrize("name", PLAIN_BUILTINS)
async def test_every_builtin_passes_the_recorded_object_info_and_the_fake(name, object_info,
                                                                          fake):
    source = "workbench_input.png" if BUILTINS[name][2] else None
    built = build_workflow(_spec(name), "a lighthouse at dusk", object_info=object_info,
                           workflow=name, source_image=source, seed=11)
    assert check_workflow(built.workflow, object_info, uploaded={"workbench_input.png"}) == []
    if source:
        fake.add_input_image(source, b"\x89PNG")
    async with httpx.AsyncClient(base_url=fake.url) as http:
        answer = await http.post("/prompt", json={"prompt": built.workflow})
    assert answer.status_code == 200 and answer.json()["node_errors"] == {}
    roles = built.roles
    assert built.workflow[roles.positive.node_id]["inputs"]["text"] == "a lighthouse at dusk"
    assert built.workflow[roles.seed.node_id]["inputs"][roles.seed.input] == 11


@pytest.mark.parametrize("name", PLAIN_BUILTINS)
def test_every_builtin_in_checkpoint_form(name, object_info):
    files = ModelFiles(checkpoint="flux1-dev-fp8.safetensors")
    workflow = set_model_files(load_builtin(name), files)
    kinds = {n["class_type"] for n in workflow.values()}
    assert "CheckpointLoaderSimple" in kinds
    assert not kinds & {"UNETLoader", "DualCLIPLoader", "VAELoader"}
    info = _with_checkpoint(object_info, "flux1-dev-fp8.safetensors")
    assert check_workflow(workflow, info, uploaded={"workbench_input.png"}) == []
    # on the recorded server (no checkpoints) the message names the folder and its content
    problems = check_workflow(workflow, object_info, uploaded={"workbench_input.png"})
    assert len(problems) == 1
    text = str(problems[0])
    assert "flux1-dev-fp8.safetensors" in text and "models/checkpoints" in text
    assert "“Load Checkpoint”" in text and "folder is empty" in text


def test_lora_chain_one_or_more(object_info):
    spec = PromptSpec(name="t", subject="x", params=Params(loras=[
        Lora("example_flux_lora.safetensors", 0.8), Lora("example_flux_lora.safetensors", 0.3)]))
    built = build_workflow(spec, "x", object_info=object_info, seed=1)
    wf = built.workflow
    loras = [n for n, node in wf.items() if node["class_type"] == "LoraLoaderModelOnly"]
    assert len(loras) == 2
    first, second = sorted(loras, key=int)
    assert wf[first]["inputs"]["model"] == ["1", 0]
    assert wf[second]["inputs"]["model"] == [first, 0]
    assert wf["8"]["inputs"]["model"] == [second, 0]
    assert wf[second]["inputs"]["strength_model"] == 0.3
    assert check_workflow(wf, object_info) == []
    # the same for the SamplerCustomAdvanced graph, where the model feeds two nodes
    advanced = insert_loras(load_builtin("flux-dev-advanced"), [("a.safetensors", 1.0)])
    lora = next(n for n, node in advanced.items() if node["class_type"] == "LoraLoaderModelOnly")
    assert advanced["11"]["inputs"]["model"] == [lora, 0]


def test_missing_lora_names_folder_and_files(object_info):
    spec = PromptSpec(name="t", subject="x", params=Params(loras=[Lora("mine.safetensors")]))
    built = build_workflow(spec, "x", object_info=object_info, seed=1)
    [problem] = check_workflow(built.workflow, object_info)
    text = str(problem)
    assert "'mine.safetensors' is not installed in models/loras" in text
    assert "example_flux_lora.safetensors" in text and problem.node_id in text


def test_models_are_picked_from_what_the_server_lists(object_info):
    assert choose_models("dev", object_info).unet == "flux1-dev.safetensors"
    assert choose_models("kontext", object_info).unet == "flux1-kontext-dev.safetensors"
    info = copy.deepcopy(object_info)
    required = info["DualCLIPLoader"]["input"]["required"]
    required["clip_name1"][0] = required["clip_name2"][0] = [
        "clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"]
    info["UNETLoader"]["input"]["required"]["unet_name"][0] = ["my-flux-dev-q8.safetensors"]
    picked = choose_models("dev", info)
    assert picked.t5xxl == "t5xxl_fp8_e4m3fn.safetensors"
    assert picked.unet == "my-flux-dev-q8.safetensors" and picked.checkpoint is None
    info["UNETLoader"]["input"]["required"]["unet_name"][0] = []
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = [
        "flux1-dev-fp8.safetensors"]
    assert choose_models("dev", info).checkpoint == "flux1-dev-fp8.safetensors"
    configured = choose_models("dev", object_info, {"dev": "flux1-schnell.safetensors"})
    assert configured.unet == "flux1-schnell.safetensors"
    forced = choose_models("dev", object_info, {"loading": "checkpoint"})
    assert forced.checkpoint == "flux1-dev-fp8.safetensors"


def test_spec_params_land_in_the_workflow(object_info):
    spec = PromptSpec(name="t", subject="x", params=Params(steps=12, guidance=2.0, width=768,
                                                           height=512, seed=99))
    built = build_workflow(spec, "the text", object_info=object_info)
    wf = built.workflow
    assert built.seed == 99
    assert wf["8"]["inputs"]["steps"] == 12 and wf["8"]["inputs"]["seed"] == 99
    assert wf["5"]["inputs"]["guidance"] == 2.0
    assert (wf["7"]["inputs"]["width"], wf["7"]["inputs"]["height"]) == (768, 512)
    img2img = build_workflow(PromptSpec(name="t", source_image="x.png"), "edit",
                             object_info=object_info, source_image="up.png", seed=1)
    assert img2img.name == "flux-dev-img2img"
    assert img2img.workflow["8"]["inputs"]["denoise"] == 0.7  # img2img default (issue 7)
    assert img2img.workflow["20"]["inputs"]["image"] == "up.png"


@pytest.mark.parametrize("name", sorted(p.name for p in glob_at_least("error_*.json", 18)
                                        if recorded(p.name)["status"] != 200))
def test_every_recorded_rejection_becomes_a_message_naming_the_node(name, object_info):
    record = recorded(name)
    prompt = (record["request"].get("json") or {}).get("prompt")
    workflow = prompt if isinstance(prompt, dict) else {}
    problems = explain_rejection(record["status"], record["body"], workflow, object_info)
    assert problems
    body = record["body"]
    node_errors = body.get("node_errors", {}) if isinstance(body, dict) else {}
    for node_id in node_errors:
        matching = [p for p in problems if p.node_id == node_id]
        assert matching, f"no message for node {node_id}"
        for problem in matching:
            text = str(problem)
            assert f"node {node_id}" in text
            assert title_of(workflow, node_id) in text
    if isinstance(body, dict) and body["error"]["details"].startswith("Node ID"):
        assert problems[0].node_id in body["error"]["details"]
    for problem in problems:
        assert "\x1b" not in str(problem)


@pytest.mark.parametrize("name", ["error_value_not_in_list.json",
                                  "error_missing_required_input.json",
                                  "error_steps_negative_cfg_1000.json",
                                  "error_wrong_type_string_for_int.json",
                                  "error_value_bigger_than_max.json",
                                  "error_link_type_mismatch.json",
                                  "error_unknown_class_type.json",
                                  "error_no_output_nodes.json"])
def test_local_check_finds_what_the_server_refused(name, object_info):
    record = recorded(name)
    workflow = record["request"]["json"]["prompt"]
    local = check_workflow(workflow, object_info)
    server = explain_rejection(record["status"], record["body"], workflow, object_info)
    assert {p.node_id for p in local} == {p.node_id for p in server}
    assert {p.input for p in local} == {p.input for p in server}


def test_execution_error_message_names_node_and_title():
    messages = recorded("ws_sequence_execution_error.json")["messages"]
    raw = next(m for m in messages if m.get("type") == "execution_error")
    event = parse_text({"type": "execution_error", "data": raw["data"]})
    workflow = recorded("workflow_flux_dev_t2i.json")
    text = str(explain_execution_error(event, workflow))
    assert text.startswith("node 3 “Load VAE” (VAELoader): failed while running")
    assert "SafetensorError: Error while deserializing header: header too large" in text


def test_checkpoint_transform_rewires_clip_and_vae():
    wf = to_checkpoint(load_builtin("flux-kontext"), "ck.safetensors")
    ck = next(n for n, node in wf.items() if node["class_type"] == "CheckpointLoaderSimple")
    assert wf["8"]["inputs"]["model"] == [ck, 0]
    assert wf["4"]["inputs"]["clip"] == [ck, 1]
    assert wf["22"]["inputs"]["vae"] == [ck, 2] and wf["9"]["inputs"]["vae"] == [ck, 2]
    roles = find_roles(wf)
    assert roles.positive.node_id == "4" and roles.source_image.node_id == "20"
