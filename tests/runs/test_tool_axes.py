"""A/B axes for the FLUX tools: mask grow/feather, control and Redux strength, tool on/off."""

from __future__ import annotations

import pytest

from workbench.runs.plan import PlanError, make_plan, parse_axis, plan_from_dict
from workbench.spec import Outpaint, PromptSpec, Redux, Tools


def _spec(**tools) -> PromptSpec:
    return PromptSpec(name="t", subject="a cabin", source_image="s.png", tools=Tools(**tools))


def test_each_tool_axis_changes_only_its_own_value():
    fill = _spec(mask="m.png")
    plan = make_plan([fill], [1], axes=[parse_axis("mask_grow=0,16"),
                                        parse_axis("mask_feather=4,8")])
    cells = plan.cells()
    assert [(c.spec.tools.mask_grow, c.spec.tools.mask_feather) for c in cells] == [
        (0, 4), (0, 8), (16, 4), (16, 8)]
    assert all(c.spec.tools.mask == "m.png" and c.spec.params.seed == 1 for c in cells)
    redux = _spec(redux=[Redux("a.png", 0.2), Redux("b.png", 0.9)])
    [low, high] = make_plan([redux], [1], axes=[parse_axis("redux_strength=0.3,1")]).cells()
    assert [r.strength for r in low.spec.tools.redux] == [0.3, 0.3]
    assert [r.strength for r in high.spec.tools.redux] == [1.0, 1.0]
    assert [r.strength for r in redux.tools.redux] == [0.2, 0.9]   # the variant is untouched


def test_tool_on_off_is_the_same_prompt_and_seed_without_the_tools():
    canny = PromptSpec(name="c", subject="a cabin", tools=Tools(
        control="canny", control_image="c.png", control_strength=0.8))
    on, off = make_plan([canny], [42], axes=[parse_axis("tool=on,off")]).cells()
    assert on.spec.tools == canny.tools and not off.spec.tools.used
    assert off.spec.subject == on.spec.subject and off.spec.params.seed == on.spec.params.seed
    assert on.id == "v0-s42-tool=on" and off.id == "v0-s42-tool=off"


@pytest.mark.parametrize("text, why", [
    ("mask_grow=0,1000", "not a valid value"), ("mask_feather=-1", "not a valid value"),
    ("control_strength=3", "not a valid value"), ("tool=maybe", "not a valid value"),
    ("redux_strength=nan", "not a valid value"),
])
def test_bad_tool_axis_values(text, why):
    with pytest.raises(PlanError, match=why):
        parse_axis(text)


def test_a_tool_axis_no_variant_can_use_is_refused():
    with pytest.raises(PlanError, match="needs a prompt with a mask"):
        make_plan([PromptSpec(name="x", subject="a")], [1], axes=[parse_axis("mask_grow=0,8")])
    outpaint = _spec(outpaint=Outpaint(left=64))
    with pytest.raises(PlanError, match="mask_grow axis"):
        make_plan([outpaint], [1], axes=[parse_axis("mask_grow=0,8")])
    # one of two variants using it is enough
    make_plan([outpaint, _spec(mask="m.png")], [1], axes=[parse_axis("mask_grow=0,8")])


def test_a_plan_with_tools_and_tool_axes_survives_its_manifest():
    plan = make_plan([_spec(mask="m.png", redux=[Redux("r.png", 0.4)])], [7],
                     axes=[parse_axis("tool=on,off"), parse_axis("redux_strength=0.4,0.8")])
    again = plan_from_dict(plan.to_dict())
    assert [c.id for c in again.cells()] == [c.id for c in plan.cells()]
    assert again.variants[0].spec.tools == plan.variants[0].spec.tools
