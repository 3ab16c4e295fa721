"""The FLUX tools' built-ins against the full recorded node set, and tool roles in
workflows built other ways (the recorded accepted graphs, a user's own)."""

from __future__ import annotations

import copy

import httpx
import pytest

from tests.fixtures import glob_at_least, recorded
from tests.tool_library import png
from workbench.comfy.graph import find_roles
from workbench.comfy.tool_graph import TOOL_BUILTINS
from workbench.comfy.validate import check_workflow
from workbench.comfy.workflows import BUILTINS, WorkflowError, build_workflow, load_builtin
from workbench.spec import Outpaint, PromptSpec, Redux, Tools

FULL = recorded("object_info_full.json")
IMAGES = {"source": "tools_src.png", "mask": "tools_mask.png",
          "control_image": "tools_src.png", "redux_1": "tools_src.png"}
#: built-in -> (tools of a spec that calls for it, the recorded graph it copies)
CASES = {
    "flux-fill": (Tools(mask="m.png"), "fill_inpaint"),
    "flux-fill-outpaint": (Tools(outpaint=Outpaint(left=128, right=128)), "fill_outpaint"),
    "flux-canny": (Tools(control="canny", control_image="c.png"), "canny_full"),
    "flux-canny-lora": (Tools(control="canny", control_image="c.png", control_strength=1.0),
                        "canny_lora"),
    "flux-depth": (Tools(control="depth", control_image="d.png"), "depth_full"),
    "flux-depth-lora": (Tools(control="depth", control_image="d.png", control_strength=0.85),
                        "depth_full"),
    "flux-redux": (Tools(redux=[Redux("r.png", 0.6)]), "redux"),
}


def _spec(tools: Tools) -> PromptSpec:
    return PromptSpec(name="t", subject="a red fox in the snow",
                      source_image="s.png" if tools.fill else "", tools=copy.deepcopy(tools))


def _images(tools: Tools) -> dict[str, str]:
    keep = {"source": tools.fill, "mask": bool(tools.mask) and tools.outpaint is None,
            "control_image": bool(tools.control_image), "redux_1": bool(tools.redux)}
    return {role: name for role, name in IMAGES.items() if keep[role]}


def test_every_tool_builtin_has_a_case_and_the_recordings_are_there():
    assert set(CASES) == set(TOOL_BUILTINS) and set(TOOL_BUILTINS) <= set(BUILTINS)
    glob_at_least("workflow_flux_tools_*.json", 7)


@pytest.mark.parametrize("name", list(CASES))
async def test_each_tool_builtin_is_valid_on_the_full_node_set_and_accepted(name, fake):
    tools, _ = CASES[name]
    spec = _spec(tools)
    images = _images(tools)
    built = build_workflow(spec, "a red fox in the snow", object_info=FULL, seed=7,
                           images=images, sizes={role: (512, 384) for role in images})
    assert built.name == name  # the spec's tools choose this built-in
    assert check_workflow(built.workflow, FULL, uploaded=set(images.values())) == []
    for image in set(images.values()):
        fake.add_input_image(image, png((512, 384)))
    async with httpx.AsyncClient(base_url=fake.url) as http:
        answer = await http.post("/prompt", json={"prompt": built.workflow})
    assert answer.status_code == 200 and answer.json()["node_errors"] == {}
    assert built.workflow[built.roles.positive.node_id]["inputs"]["text"] == \
        "a red fox in the snow"


@pytest.mark.parametrize("name", list(CASES))
def test_each_builtin_copies_its_accepted_recording(name):
    _, recording = CASES[name]
    builtin, accepted = load_builtin(name), recorded(f"workflow_flux_tools_{recording}.json")
    shared = set(builtin) & set(accepted)
    assert {n: accepted[n]["class_type"] for n in shared} == \
        {n: builtin[n]["class_type"] for n in shared}
    for nid in shared:
        links = {k: v for k, v in accepted[nid]["inputs"].items() if isinstance(v, list)}
        assert {k: builtin[nid]["inputs"][k] for k in links} == links or nid == "8", nid
    extra = {builtin[n]["class_type"] for n in set(builtin) - set(accepted)}
    assert extra <= {"LoraLoaderModelOnly"}  # the depth LoRA graph: the canny LoRA's chain


def test_guidance_defaults_per_tool_and_a_set_one_wins():
    guidance = {}
    for name, (tools, _) in CASES.items():
        images = _images(tools)
        built = build_workflow(_spec(tools), "x", object_info=FULL, seed=1, images=images,
                               sizes={role: (512, 384) for role in images})
        guidance[name] = built.values["guidance"]
    assert guidance == {"flux-fill": 30.0, "flux-fill-outpaint": 30.0, "flux-canny": 30.0,
                        "flux-canny-lora": 30.0, "flux-depth": 10.0, "flux-depth-lora": 10.0,
                        "flux-redux": 3.5}
    spec = _spec(CASES["flux-fill"][0])
    spec.params.guidance = 25.0
    built = build_workflow(spec, "x", object_info=FULL, seed=1, images=_images(spec.tools))
    assert built.values["guidance"] == 25.0


def test_redux_references_chain_one_apply_each_on_any_builtin():
    tools = Tools(redux=[Redux("a.png", 0.6), Redux("b.png", 0.3), Redux("c.png", 1.0)])
    images = {"redux_1": "a.png", "redux_2": "b.png", "redux_3": "c.png"}
    built = build_workflow(_spec(tools), "x", object_info=FULL, seed=1, images=images)
    wf = built.workflow
    assert check_workflow(wf, FULL, uploaded=set(images.values())) == []
    roles = find_roles(wf)
    assert [wf[i.node_id]["inputs"]["image"] for i, _ in roles.redux] == ["a.png", "b.png",
                                                                         "c.png"]
    assert [wf[s.node_id]["inputs"]["strength"] for _, s in roles.redux] == [0.6, 0.3, 1.0]
    loaders = [n for n in wf.values() if n["class_type"] in ("StyleModelLoader",
                                                             "CLIPVisionLoader")]
    assert len(loaders) == 2  # shared by every reference
    # a Fill with a reference: the Redux chain sits before the inpaint conditioning
    fill = Tools(mask="m.png", redux=[Redux("a.png", 0.5)])
    images = {"source": "s.png", "mask": "m.png", "redux_1": "a.png"}
    built = build_workflow(_spec(fill), "x", object_info=FULL, seed=1, images=images)
    wf = built.workflow
    assert built.name == "flux-fill" and set(built.models.tools) == {"redux", "clip_vision"}
    inpaint = next(n for n in wf.values() if n["class_type"] == "InpaintModelConditioning")
    assert wf[inpaint["inputs"]["positive"][0]]["class_type"] == "StyleModelApply"
    assert wf[inpaint["inputs"]["negative"][0]]["class_type"] == "ConditioningZeroOut"
    assert check_workflow(wf, FULL, uploaded=set(images.values())) == []
    # schnell has no FluxGuidance: the chain goes after the text
    schnell = _spec(Tools(redux=[Redux("a.png")]))
    schnell.model = "schnell"
    built = build_workflow(schnell, "x", object_info=FULL, seed=1, images={"redux_1": "a.png"})
    assert built.name == "flux-schnell"
    assert check_workflow(built.workflow, FULL, uploaded={"a.png"}) == []


def test_tools_that_clash_or_miss_their_image_are_refused_before_sending():
    with pytest.raises(WorkflowError, match="cannot be combined"):
        build_workflow(_spec(Tools(mask="m.png", control="canny", control_image="c.png")),
                       "x", object_info=FULL)
    with pytest.raises(WorkflowError, match="needs a control_image"):
        build_workflow(_spec(Tools(control="depth")), "x", object_info=FULL)
    kontext = _spec(Tools(mask="m.png"))
    kontext.model = "kontext"
    with pytest.raises(WorkflowError, match="not on Kontext"):
        build_workflow(kontext, "x", object_info=FULL)
    with pytest.raises(WorkflowError, match="flux-fill needs a mask"):
        build_workflow(PromptSpec(name="t", subject="x", source_image="s.png"), "x",
                       workflow="flux-fill", object_info=FULL, images={"source": "s.png"})


def test_sizes_follow_the_image_snapped_and_fit_to_the_model():
    canny = _spec(Tools(control="canny", control_image="c.png"))
    canny.params.width, canny.params.height = 1024, 1024
    built = build_workflow(canny, "x", object_info=FULL, seed=1,
                           images={"control_image": "c.png"}, sizes={"control_image": (3000, 2000)})
    assert (built.values["width"], built.values["height"]) == (1248, 832)
    scale = next(n for n in built.workflow.values() if n["class_type"] == "ImageScale")
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (1248, 832)
    assert any("scaled to about 1 MP" in note for note in built.notes)
    assert any("requested size 1024x1024 was not applied" in note for note in built.notes)
    outpaint = _spec(Tools(outpaint=Outpaint(left=50, bottom=210)))
    built = build_workflow(outpaint, "x", object_info=FULL, seed=1,
                           images={"source": "s.png"}, sizes={"source": (500, 300)})
    pad = next(n for n in built.workflow.values() if n["class_type"] == "ImagePadForOutpaint")
    assert (pad["inputs"]["left"], pad["inputs"]["bottom"]) == (48, 208)
    assert (built.values["width"], built.values["height"]) == (496 + 48, 304 + 208)


def test_mask_grow_and_feather_nodes_and_a_user_workflow_with_its_own_grow():
    tools = Tools(mask="m.png", mask_grow=-6, mask_feather=40)
    built = build_workflow(_spec(tools), "x", object_info=FULL, seed=1,
                           images={"source": "s.png", "mask": "m.png"})
    wf = built.workflow
    grow = next(n for n in wf.values() if n["class_type"] == "GrowMask")
    blur = next(n for n in wf.values() if n["class_type"] == "ImageBlur")
    assert grow["inputs"]["expand"] == -6 and blur["inputs"]["blur_radius"] == 31
    assert any("31 px was used" in note for note in built.notes)
    inpaint = next(n for n in wf.values() if n["class_type"] == "InpaintModelConditioning")
    assert wf[inpaint["inputs"]["mask"][0]]["class_type"] == "ImageToMask"
    assert check_workflow(wf, FULL, uploaded={"s.png", "m.png"}) == []
    # a user's own Fill graph with a GrowMask: the value goes into it, nothing is added
    user = recorded("workflow_flux_tools_fill_inpaint.json")
    user["30"] = {"class_type": "GrowMask", "inputs": {"mask": ["12", 0], "expand": 0,
                                                       "tapered_corners": True}}
    user["14"]["inputs"]["mask"] = ["30", 0]
    built = build_workflow(_spec(Tools(mask="m.png", mask_grow=12, mask_feather=5)), "x",
                           workflow=user, object_info=FULL, seed=1,
                           images={"source": "s.png", "mask": "m.png"})
    assert built.workflow["30"]["inputs"]["expand"] == 12
    assert built.workflow["12"]["inputs"]["image"] == "m.png"
    assert sum(n["class_type"] == "GrowMask" for n in built.workflow.values()) == 1
    assert any("no input for mask feather" in note for note in built.notes)


@pytest.mark.parametrize("recording, roles", [
    ("fill_inpaint", {"source_image": "11", "mask": "12"}),
    ("fill_outpaint", {"source_image": "11", "outpaint_left": "15", "mask_feather": "15"}),
    ("canny_full", {"source_image": None, "control_image": "11"}),
    ("canny_lora", {"control_image": "11", "control_strength": "16"}),
    ("depth_full", {"control_image": "11"}),
    ("redux", {"source_image": None, "width": "7"}),
])
def test_tool_roles_in_the_accepted_recordings(recording, roles):
    found = find_roles(recorded(f"workflow_flux_tools_{recording}.json"))
    for role, node in roles.items():
        slot = found.slot(role)
        assert (slot.node_id if slot else None) == node, role
    assert found.positive.node_id == "4" and found.guidance.node_id == "5"
    if recording == "canny_lora":
        assert found.loras == []   # a prompt's LoRAs never go into the control LoRA
    if recording == "redux":
        [(image, strength)] = found.redux
        assert (image.node_id, strength.node_id) == ("11", "20")


def test_a_user_fill_workflow_takes_the_spec_mask_and_a_sidecar_can_name_it(tmp_path):
    user = recorded("workflow_flux_tools_fill_inpaint.json")
    # the mask drawn from a LoadImage through ImageToMask is still a mask
    user["12"] = {"class_type": "LoadImage", "inputs": {"image": "old_mask.png"},
                  "_meta": {"title": "My mask"}}
    user["20"] = {"class_type": "ImageToMask", "inputs": {"image": ["12", 0],
                                                          "channel": "red"}}
    user["14"]["inputs"]["mask"] = ["20", 0]
    roles = find_roles(user)
    assert roles.slot("mask").node_id == "12" and roles.source_image.node_id == "11"
    built = build_workflow(_spec(Tools(mask="m.png")), "x", workflow=user, object_info=FULL,
                           seed=1, images={"source": "new_src.png", "mask": "new_mask.png"})
    assert built.workflow["12"]["inputs"]["image"] == "new_mask.png"
    assert built.workflow["11"]["inputs"]["image"] == "new_src.png"
    assert "mask: node 12 “My mask” input image" in "\n".join(built.roles.describe())
    overridden = find_roles(user, {"mask": "My mask"})
    assert overridden.how["mask"] == "set in the sidecar by title"
    t2i = recorded("workflow_flux_dev_t2i.json")
    with pytest.raises(WorkflowError, match="has no mask input"):
        build_workflow(_spec(Tools(mask="m.png")), "x", workflow=t2i, object_info=FULL,
                       images={"source": "s.png", "mask": "m.png"})
