"""Role detection on the recorded workflows and on user workflows built other ways."""

from __future__ import annotations

import json

import pytest

from tests.comfy.conftest import recorded
from workbench.comfy.graph import (
    RoleError,
    WorkflowFormatError,
    apply_values,
    find_roles,
    load_overrides,
    load_workflow_file,
    sidecar_path,
)
from workbench.comfy.workflows import build_workflow
from workbench.spec import Lora, Params, PromptSpec


def _where(slot):
    return None if slot is None else (slot.node_id, slot.input)


@pytest.mark.parametrize("name, expected", [
    ("workflow_flux_dev_t2i.json", dict(positive=("4", "text"), seed=("8", "seed"),
                                        steps=("8", "steps"), guidance=("5", "guidance"),
                                        width=("7", "width"), source_image=None)),
    ("workflow_flux_dev_t2i_sampler_custom_advanced.json",
     dict(positive=("4", "text"), seed=("12", "noise_seed"), steps=("15", "steps"),
          guidance=("5", "guidance"), width=("7", "width"), sampler=("14", "sampler_name"))),
    ("workflow_flux_schnell_t2i.json", dict(positive=("4", "text"), seed=("8", "seed"),
                                            steps=("8", "steps"), guidance=None)),
    ("workflow_flux_dev_img2img.json", dict(positive=("4", "text"), width=None,
                                            source_image=("20", "image"),
                                            denoise=("8", "denoise"))),
    ("workflow_flux_kontext_edit.json", dict(positive=("4", "text"), guidance=("5", "guidance"),
                                             source_image=("20", "image"))),
    ("workflow_flux_dev_lora.json", dict(positive=("4", "text"), seed=("8", "seed"))),
])
def test_roles_in_the_recorded_workflows(name, expected):
    roles = find_roles(recorded(name))
    for role, where in expected.items():
        assert _where(roles.slot(role)) == where, role
    assert roles.outputs == ["10"]
    assert roles.negative is None  # ConditioningZeroOut of the positive text is not a negative
    if name == "workflow_flux_dev_lora.json":
        assert roles.loras == ["30"]


def test_roles_in_the_real_saveimage_graph():
    graph = recorded("png/saveimage_flux_t2i_tiny_random_weights.json")["workflow_api"]
    roles = find_roles(graph)
    assert _where(roles.positive) == ("4", "text") and _where(roles.seed) == ("8", "seed")
    assert _where(roles.height) == ("7", "height")


# -- user workflows built differently ----------------------------------------------------

def _node(kind, title=None, **inputs):
    node = {"class_type": kind, "inputs": inputs}
    if title:
        node["_meta"] = {"title": title}
    return node


FLUX_TEXT_ENCODE_SAMPLER_CUSTOM = {
    "1": _node("UNETLoader", unet_name="flux1-dev.safetensors", weight_dtype="default"),
    "2": _node("DualCLIPLoader", clip_name1="clip_l.safetensors",
               clip_name2="t5xxl_fp16.safetensors", type="flux"),
    "3": _node("VAELoader", vae_name="ae.safetensors"),
    "10": _node("CLIPTextEncodeFlux", clip=["2", 0], clip_l="old", t5xxl="old", guidance=3.5),
    "12": _node("ConditioningZeroOut", conditioning=["10", 0]),
    "13": _node("KSamplerSelect", sampler_name="euler"),
    "14": _node("BasicScheduler", model=["1", 0], scheduler="simple", steps=25, denoise=1.0),
    "15": _node("EmptyLatentImage", width=512, height=768, batch_size=1),
    "20": _node("PrimitiveInt", "Seed", value=5),
    "30": _node("SamplerCustom", model=["1", 0], add_noise=True, noise_seed=["20", 0], cfg=1.0,
                positive=["10", 0], negative=["12", 0], sampler=["13", 0], sigmas=["14", 0],
                latent_image=["15", 0]),
    "31": _node("VAEDecode", samples=["30", 0], vae=["3", 0]),
    "32": _node("SaveImage", images=["31", 0], filename_prefix="mine"),
}

CONTROLNET_KSAMPLER_ADVANCED = {
    "1": _node("CheckpointLoaderSimple", ckpt_name="flux1-dev-fp8.safetensors"),
    "2": _node("LoraLoader", "Style LoRA", model=["3", 0], clip=["3", 1],
               lora_name="b.safetensors", strength_model=0.5, strength_clip=0.5),
    "3": _node("LoraLoader", "Detail LoRA", model=["1", 0], clip=["1", 1],
               lora_name="a.safetensors", strength_model=1.0, strength_clip=1.0),
    "31": _node("CLIPTextEncode", "Main prompt", clip=["2", 1], text="old"),
    "32": _node("CLIPTextEncode", "Avoid", clip=["2", 1], text="blurry"),
    "40": _node("ControlNetLoader", control_net_name="canny.safetensors"),
    "41": _node("LoadImage", "Control image", image="edges.png"),
    "42": _node("ControlNetApplyAdvanced", positive=["31", 0], negative=["32", 0],
                control_net=["40", 0], image=["41", 0], strength=0.6, start_percent=0.0,
                end_percent=1.0, vae=["1", 2]),
    "43": _node("FluxGuidance", conditioning=["42", 0], guidance=4.0),
    "50": _node("EmptySD3LatentImage", width=1024, height=1024, batch_size=1),
    "60": _node("KSamplerAdvanced", model=["2", 0], add_noise="enable", noise_seed=1,
                steps=30, cfg=1.0, sampler_name="euler", scheduler="beta", positive=["43", 0],
                negative=["42", 1], latent_image=["50", 0], start_at_step=0,
                end_at_step=10000, return_with_leftover_noise="disable"),
    "61": _node("VAEDecode", samples=["60", 0], vae=["1", 2]),
    "62": _node("SaveImage", images=["61", 0], filename_prefix="cn"),
}

TEXT_FROM_PRIMITIVE_CUSTOM_SAMPLER = {
    "1": _node("UNETLoader", unet_name="flux1-dev.safetensors", weight_dtype="default"),
    "2": _node("DualCLIPLoader", clip_name1="clip_l.safetensors",
               clip_name2="t5xxl_fp16.safetensors", type="flux"),
    "5": _node("PrimitiveStringMultiline", "Positive prompt", value="old"),
    "6": _node("CLIPTextEncode", clip=["2", 0], text=["5", 0]),
    "7": _node("KSampler (Efficient)", "Fancy sampler", model=["1", 0], positive=["6", 0],
               seed=3, steps=20),
    "8": _node("PreviewImage", images=["7", 0]),
}


def test_flux_text_encode_with_sampler_custom_and_a_seed_primitive():
    roles = find_roles(FLUX_TEXT_ENCODE_SAMPLER_CUSTOM)
    assert _where(roles.positive) == ("10", "t5xxl")
    assert [_where(s) for s in roles.also["positive"]] == [("10", "clip_l")]
    assert _where(roles.guidance) == ("10", "guidance")
    assert _where(roles.seed) == ("20", "value")   # followed through the link
    assert _where(roles.steps) == ("14", "steps")
    assert (_where(roles.width), _where(roles.height)) == (("15", "width"), ("15", "height"))
    done = apply_values(FLUX_TEXT_ENCODE_SAMPLER_CUSTOM, roles,
                        {"positive": "new text", "seed": 77, "steps": None})
    assert done["10"]["inputs"]["t5xxl"] == done["10"]["inputs"]["clip_l"] == "new text"
    assert done["20"]["inputs"]["value"] == 77 and done["14"]["inputs"]["steps"] == 25
    assert FLUX_TEXT_ENCODE_SAMPLER_CUSTOM["20"]["inputs"]["value"] == 5  # copy, not in place


def test_controlnet_and_lora_chain_with_ksampler_advanced():
    roles = find_roles(CONTROLNET_KSAMPLER_ADVANCED)
    assert _where(roles.positive) == ("31", "text")
    assert roles.positive.title == "Main prompt"
    assert _where(roles.negative) == ("32", "text")
    assert _where(roles.guidance) == ("43", "guidance")
    assert _where(roles.seed) == ("60", "noise_seed")
    assert _where(roles.scheduler) == ("60", "scheduler")
    assert roles.loras == ["3", "2"]  # chain order: the one nearer the checkpoint first
    # the ControlNet's image is a control image, not a source to repaint
    assert roles.source_image is None
    assert _where(roles.slot("control_image")) == ("41", "image")
    described = "\n".join(roles.describe())
    assert "positive: node 31 “Main prompt” input text" in described
    assert "control_image: node 41" in described
    # a prompt's plain source image still goes to the only image input there is
    spec = PromptSpec(name="t", subject="a tower", source_image="tower.png")
    built = build_workflow(spec, "a tower", workflow=CONTROLNET_KSAMPLER_ADVANCED,
                           images={"source": "up_tower.png"}, seed=3)
    assert built.workflow["41"]["inputs"]["image"] == "up_tower.png"
    assert any("only image input is a control image" in note for note in built.notes)


def test_text_behind_a_primitive_and_an_unknown_sampler_found_by_title():
    roles = find_roles(TEXT_FROM_PRIMITIVE_CUSTOM_SAMPLER)
    assert _where(roles.positive) == ("5", "value")
    assert roles.how["positive"] == "by its title"
    assert roles.seed is None and roles.outputs == ["8"]


def test_sidecar_overrides_roles_by_title(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(TEXT_FROM_PRIMITIVE_CUSTOM_SAMPLER), encoding="utf-8")
    sidecar_path(path).write_text('[roles]\nseed = "Fancy sampler"\n'
                                  'steps = { title = "Fancy sampler", input = "steps" }\n',
                                  encoding="utf-8")
    roles = find_roles(load_workflow_file(path), load_overrides(path))
    assert _where(roles.seed) == ("7", "seed") and _where(roles.steps) == ("7", "steps")
    assert roles.how["seed"] == "set in the sidecar by title"
    spec = PromptSpec(name="t", subject="a boat", params=Params(seed=9, steps=6))
    built = build_workflow(spec, "a boat", workflow=str(path))
    assert built.workflow["5"]["inputs"]["value"] == "a boat"
    assert built.workflow["7"]["inputs"]["seed"] == 9
    assert built.workflow["7"]["inputs"]["steps"] == 6


def test_bad_override_lists_the_titles():
    with pytest.raises(RoleError) as caught:
        find_roles(TEXT_FROM_PRIMITIVE_CUSTOM_SAMPLER, {"seed": "Nope"})
    assert "Fancy sampler" in str(caught.value) and "Positive prompt" in str(caught.value)
    with pytest.raises(RoleError):
        find_roles(TEXT_FROM_PRIMITIVE_CUSTOM_SAMPLER, {"colour": "Fancy sampler"})


def test_user_workflow_keeps_its_settings_and_gets_its_loras_renamed():
    spec = PromptSpec(name="t", subject="x", params=Params(loras=[Lora("new.safetensors", 0.7)]))
    built = build_workflow(spec, "x", workflow=CONTROLNET_KSAMPLER_ADVANCED, seed=4)
    wf = built.workflow
    assert wf["60"]["inputs"]["steps"] == 30 and wf["60"]["inputs"]["scheduler"] == "beta"
    assert wf["43"]["inputs"]["guidance"] == 4.0
    assert wf["3"]["inputs"]["lora_name"] == "new.safetensors"
    assert wf["3"]["inputs"]["strength_clip"] == 0.7
    assert wf["2"]["inputs"]["lora_name"] == "b.safetensors"
    assert wf["60"]["inputs"]["noise_seed"] == 4


def test_ui_format_gets_the_export_message(tmp_path):
    ui = recorded("png/saveimage_model_free_extra_pnginfo.json")["extra_data"][
        "extra_pnginfo"]["workflow"]
    path = tmp_path / "ui.json"
    path.write_text(json.dumps(ui), encoding="utf-8")
    with pytest.raises(WorkflowFormatError) as caught:
        load_workflow_file(path)
    assert "UI-format" in str(caught.value) and "Export (API)" in str(caught.value)
    with pytest.raises(WorkflowFormatError):
        find_roles({"1": {"inputs": {}}})
