"""The `tools` rule family: Fill/Canny/Depth guidance, Fill prompts, Redux strength, the
tools' images and models, and nothing at all for a prompt without tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import recorded
from tests.tool_library import copy_tools_library, mask_png, png
from workbench.comfy.inventory import remember
from workbench.library import load_library
from workbench.lint import apply_fixes, lint
from workbench.lint.registry import RULES
from workbench.spec import Outpaint, Params, PromptSpec, Redux, Tools

TOOL_RULES = {slug for slug, rule in RULES.items() if rule.family == "tools"}


def _codes(spec, base: Path | None = None) -> dict[str, list]:
    found: dict[str, list] = {}
    for d in lint(spec, base_dir=base):
        if d.rule in TOOL_RULES:
            found.setdefault(d.rule, []).append(d)
    return found


@pytest.fixture
def room(tmp_path: Path) -> Path:
    (tmp_path / "room.png").write_bytes(png((320, 240)))
    (tmp_path / "mask.png").write_bytes(mask_png((320, 240)))
    (tmp_path / "half.png").write_bytes(mask_png((160, 120)))
    (tmp_path / "tall.png").write_bytes(mask_png((100, 300)))
    return tmp_path


def test_the_family_is_registered_with_codes_and_sources():
    assert {"tool-guidance", "fill-prompt-scope", "redux-drowns-prompt", "tool-image-missing",
            "mask-size", "tool-conflict", "tool-model-missing"} <= TOOL_RULES
    for slug in TOOL_RULES:
        assert RULES[slug].code.startswith("FX7") and RULES[slug].source
        assert RULES[slug].needs == ("tools",)  # the plan skips it on prompts without tools


def test_the_bundled_tools_library_is_clean(tmp_path):
    library = load_library(copy_tools_library(tmp_path))
    for spec in library.prompts:
        assert _codes(spec, library.path.parent) == {}, spec.name


def test_fill_and_control_guidance_far_from_bfl_and_the_fix(room):
    fill = PromptSpec(name="f", subject="a pot of tulips", source_image="room.png",
                      params=Params(guidance=3.5), tools=Tools(mask="mask.png"))
    [hit] = _codes(fill, room)["tool-guidance"]
    assert "3.5 is far from the 30 FLUX Fill was made for" in hit.message
    fixed = apply_fixes(fill, [hit])
    assert fixed.params.guidance == 30.0 and "tool-guidance" not in _codes(fixed, room)
    # dev's own guidance rule stays quiet about 30 for a tool
    assert not [d for d in lint(fixed, base_dir=room) if d.rule == "guidance-range"]
    depth = PromptSpec(name="d", subject="a cabin", params=Params(guidance=30.0),
                       tools=Tools(control="depth", control_image="room.png"))
    assert "the 10 FLUX Depth" in _codes(depth, room)["tool-guidance"][0].message
    canny = PromptSpec(name="c", subject="a cabin", params=Params(guidance=28.0),
                       tools=Tools(control="canny", control_image="room.png"))
    assert "tool-guidance" not in _codes(canny, room)
    unset = PromptSpec(name="u", subject="a cabin",
                       tools=Tools(control="canny", control_image="room.png"))
    assert "tool-guidance" not in _codes(unset, room)   # defaults to 30


def test_a_fill_prompt_describing_the_whole_picture(room):
    scene = PromptSpec(name="f", subject="a pot of tulips", background="a cosy room",
                       source_image="room.png", tools=Tools(mask="mask.png"))
    [hit] = _codes(scene, room)["fill-prompt-scope"]
    assert hit.field == "background" and "Fill keeps" in hit.message
    long = PromptSpec(name="f", source_image="room.png", tools=Tools(mask="mask.png"),
                      raw=" ".join(["a cosy room with a table"] * 10))
    assert "long for a Fill prompt" in _codes(long, room)["fill-prompt-scope"][0].message
    outpaint = scene.copy()
    outpaint.tools = Tools(outpaint=Outpaint(left=64))
    assert "fill-prompt-scope" not in _codes(outpaint, room)  # outpaint describes it all


def test_redux_at_full_strength_drowns_a_style_or_a_long_prompt(room):
    spec = PromptSpec(name="r", subject="a harbour", style="watercolour painting",
                      tools=Tools(redux=[Redux("room.png", 1.0)]))
    [hit] = _codes(spec, room)["redux-drowns-prompt"]
    assert hit.field == "style" and "drowns the text" in hit.message
    assert "redux_strength" in hit.suggestion
    spec.tools.redux[0].strength = 0.5
    assert "redux-drowns-prompt" not in _codes(spec, room)
    short = PromptSpec(name="r", subject="a harbour", tools=Tools(redux=[Redux("room.png")]))
    assert "redux-drowns-prompt" not in _codes(short, room)


def test_missing_images_and_mask_sizes(room):
    spec = PromptSpec(name="x", subject="a", source_image="room.png",
                      tools=Tools(mask="gone.png", redux=[Redux("room.png", 0.5),
                                                          Redux("nope.png")]))
    hits = _codes(spec, room)["tool-image-missing"]
    assert [h.field for h in hits] == ["mask", "redux"]
    redux = hits[1]
    from workbench.fields import field_text

    assert field_text(spec, "redux")[redux.start:redux.end] == "nope.png"
    half = PromptSpec(name="h", subject="a", source_image="room.png", tools=Tools(mask="half.png"))
    [hit] = _codes(half, room)["mask-size"]
    assert hit.severity == "warning" and "resized to fit" in hit.message
    tall = PromptSpec(name="t", subject="a", source_image="room.png", tools=Tools(mask="tall.png"))
    [hit] = _codes(tall, room)["mask-size"]
    assert hit.severity == "error" and "different shape" in hit.message


def test_tools_that_cannot_run(room):
    spec = PromptSpec(name="x", subject="a", source_image="room.png",
                      tools=Tools(mask="mask.png", control="canny", control_image="room.png"))
    assert "cannot be combined" in _codes(spec, room)["tool-conflict"][0].message
    kontext = PromptSpec(name="k", model="kontext", raw="Make it night",
                         tools=Tools(redux=[Redux("room.png")]))
    [hit] = _codes(kontext, room)["tool-conflict"]
    assert hit.field == "model" and "not on Kontext" in hit.message


def test_a_model_the_server_lacked_when_last_asked(room):
    spec = PromptSpec(name="x", subject="a", source_image="room.png",
                      tools=Tools(mask="mask.png"))
    assert "tool-model-missing" not in _codes(spec, room)   # no server seen yet
    info = recorded("object_info_full.json")
    remember("http://gpu:8188", info)
    assert "tool-model-missing" not in _codes(spec, room)   # it has flux1-fill-dev
    lacking = dict(info)
    lacking["UNETLoader"] = {"input": {"required": {"unet_name": [["flux1-dev.safetensors"]]}}}
    remember("http://gpu:8188", lacking)   # a shorter file: the reader sees the change
    [hit] = _codes(spec, room)["tool-model-missing"]
    assert hit.field == "mask"
    assert "flux1-fill-dev.safetensors was not installed on http://gpu:8188" in hit.message
    assert "huggingface.co/black-forest-labs/FLUX.1-Fill-dev" in hit.suggestion
    assert "models/diffusion_models" in hit.suggestion


def test_prompts_without_tools_get_nothing_from_the_family():
    plain = PromptSpec(name="p", subject="a red fox", params=Params(guidance=30.0))
    assert _codes(plain) == {}


def test_a_tool_prompt_does_not_change_the_defaults_of_the_next_prompt(room):
    # the linter shares the defaults of prompts that set no parameter: a Fill prompt's
    # guidance 30 and denoise 1 must not leak into the next plain or img2img prompt
    lint(PromptSpec(name="f", subject="a cap", source_image="room.png",
                    tools=Tools(mask="mask.png")), base_dir=room)
    lint(PromptSpec(name="c", subject="a cabin",
                    tools=Tools(control="canny", control_image="room.png")), base_dir=room)
    plain = lint(PromptSpec(name="p", subject="a red fox in the snow at dawn"), base_dir=room)
    img2img = lint(PromptSpec(name="i", subject="the same fox at night",
                              source_image="room.png"), base_dir=room)
    assert not [d for d in plain + img2img if d.rule in ("guidance-range", "denoise-range")]


def test_a_control_image_without_a_control_kind_is_a_conflict_not_a_crash(tmp_path):
    """A library may give ``control_image`` and leave out ``control``: the linter says
    what is missing (it used to look up guidance ranges for a kind named "")."""
    (tmp_path / "room.png").write_bytes(png((320, 240)))
    for guidance in (None, 3.5, 30.0):
        spec = PromptSpec(name="p", model="dev", raw="A reading room with tall shelves, "
                          "warm lamp light", params=Params(guidance=guidance),
                          tools=Tools(control_image="room.png"))
        found = _codes(spec, tmp_path)
        assert [d.message for d in found.pop("tool-conflict")] == [
            'a control_image needs control = "canny" or "depth"']
        assert "tool-guidance" not in found
