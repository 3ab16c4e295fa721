import json
import random
from dataclasses import fields
from itertools import product

import pytest
import tomlkit

from workbench.runs.order import cache_cost, group_by_model, order_for_cache
from workbench.runs.plan import (
    Axis,
    PlanError,
    make_axis,
    make_plan,
    parse_axis,
    plan_from_dict,
)
from workbench.spec import Lora, Params, PromptSpec

SPEC_FIELDS = [f.name for f in fields(PromptSpec) if f.name != "params"]
PARAM_FIELDS = [f.name for f in fields(Params)]


def fox(**changes) -> PromptSpec:
    spec = PromptSpec(name="Fox", subject="a red fox", action="leaping over a stream",
                      params=Params(loras=[Lora("film.safetensors", 0.8, ["kodak"])]))
    return spec.copy(**changes)


def differences(a: PromptSpec, b: PromptSpec) -> set[str]:
    out = {f for f in SPEC_FIELDS if getattr(a, f) != getattr(b, f)}
    out |= {f"params.{f}" for f in PARAM_FIELDS if getattr(a.params, f) != getattr(b.params, f)}
    return out


#: Which spec fields each coordinate of a 2 x 3 x 2 (variant x seed x guidance) plan may touch.
AXIS_FIELDS = {0: {"subject", "name"}, 1: {"params.seed"}, 2: {"params.guidance"}}


@pytest.fixture
def plan_2x3x2():
    a, b = fox(), fox(name="Fox B", subject="an arctic fox")
    return make_plan([a, b], seeds=[1, 2, 3], axes=[make_axis("guidance", [2.5, 3.5])])


def test_2x3x2_plan_has_12_distinct_cells(plan_2x3x2):
    cells = plan_2x3x2.cells()
    assert plan_2x3x2.shape == (2, 3, 2)
    assert len(cells) == 12
    assert len({c.id for c in cells}) == 12
    assert {c.coords for c in cells} == set(product(range(2), range(3), range(2)))
    by_coords = {c.coords: c for c in cells}
    assert by_coords[(1, 2, 0)].spec.subject == "an arctic fox"
    assert by_coords[(1, 2, 0)].spec.params.seed == 3
    assert by_coords[(1, 2, 0)].spec.params.guidance == 2.5
    assert by_coords[(0, 0, 1)].spec.params.guidance == 3.5


def test_neighbours_differ_only_along_their_axis(plan_2x3x2):
    by_coords = {c.coords: c for c in plan_2x3x2.cells()}
    checked = 0
    for coords, cell in by_coords.items():
        for dim in range(3):
            nxt = list(coords)
            nxt[dim] += 1
            other = by_coords.get(tuple(nxt))
            if other is None:
                continue
            diff = differences(cell.spec, other.spec)
            assert diff, (coords, dim)
            assert diff <= AXIS_FIELDS[dim], (coords, dim, diff)
            checked += 1
    assert checked == 1 * 3 * 2 + 2 * 2 * 2 + 2 * 3 * 1


def test_cells_do_not_share_state_with_the_variant_specs():
    spec = fox()
    plan = make_plan([spec], seeds=[5], axes=[make_axis("lora:film.safetensors", [0.2, 1.0])])
    spec.subject = "changed after planning"
    cells = plan.cells()
    assert [c.spec.params.loras[0].strength for c in cells] == [0.2, 1.0]
    assert all(c.spec.subject == "a red fox" for c in cells)
    assert plan.variants[0].spec.params.loras[0].strength == 0.8


def test_every_axis_kind_applies():
    plan = make_plan([fox()], seeds=[9], axes=[
        parse_axis("steps=4"), parse_axis("sampler=dpmpp_2m"), parse_axis("scheduler=beta"),
        parse_axis("model=schnell"), parse_axis("size=832x1216"),
        parse_axis("lora:new.safetensors=0.5")])
    (cell,) = plan.cells()
    p = cell.spec.params
    assert (p.steps, p.sampler, p.scheduler, cell.spec.model, p.width, p.height) == \
        (4, "dpmpp_2m", "beta", "schnell", 832, 1216)
    assert [(l.name, l.strength) for l in p.loras] == [("film.safetensors", 0.8),
                                                       ("new.safetensors", 0.5)]
    assert cell.id == ("v0-s9-steps=4-sampler=dpmpp_2m-scheduler=beta-model=schnell"
                       "-size=832x1216-lora.new.safetensors=0.5")


@pytest.mark.parametrize("text", ["guidance=abc", "steps=0", "steps=2.5", "model=sdxl",
                                  "size=12by4", "colour=red", "guidance", "lora:=1",
                                  "guidance=2,2"])
def test_bad_axes_are_refused(text):
    with pytest.raises(PlanError):
        parse_axis(text)


def test_seeds_are_drawn_once_and_recorded():
    plan = make_plan([fox()], seed_count=3, rng=random.Random(1))
    assert plan.seed_source == "drawn" and len(set(plan.seeds)) == 3
    again = plan_from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again.seeds == plan.seeds
    assert [c.spec.params.seed for c in again.cells()] == plan.seeds


def test_ids_are_deterministic(plan_2x3x2):
    again = make_plan([v.spec for v in plan_2x3x2.variants], seeds=[1, 2, 3],
                      axes=[Axis("guidance", [2.5, 3.5])])
    assert [c.id for c in again.cells()] == [c.id for c in plan_2x3x2.cells()]


def test_serialisation_round_trip_with_winner_through_toml(plan_2x3x2):
    target = plan_2x3x2.cells()[7].id
    plan_2x3x2.mark_winner(target, note="sharper fur")
    text = tomlkit.dumps({"plans": [plan_2x3x2.to_dict()]})
    loaded = plan_from_dict(tomlkit.parse(text)["plans"][0])
    assert loaded.to_dict() == plan_2x3x2.to_dict()
    assert loaded.is_winner(target) and loaded.winners[0].note == "sharper fur"
    assert [(c.id, c.spec) for c in loaded.cells()] == \
        [(c.id, c.spec) for c in plan_2x3x2.cells()]


def test_winner_marking_rules(plan_2x3x2):
    with pytest.raises(PlanError):
        plan_2x3x2.mark_winner("v9-s1")
    cid = plan_2x3x2.cells()[0].id
    plan_2x3x2.mark_winner(cid, "first")
    plan_2x3x2.mark_winner(cid, "renoted")
    assert [(w.cell, w.note) for w in plan_2x3x2.winners] == [(cid, "renoted")]
    assert plan_2x3x2.unmark_winner(cid) and not plan_2x3x2.winners


def test_broken_plan_data_says_what_is_wrong():
    with pytest.raises(PlanError, match="variants"):
        plan_from_dict({"seeds": [1]})
    with pytest.raises(PlanError, match="seeds"):
        plan_from_dict({"variants": [{"spec": {"name": "x"}}], "seeds": ["one"]})


# -- ordering -----------------------------------------------------------------------------

def mixed_plan():
    """A/B x 2 seeds x model (dev, schnell) x LoRA strength (0.5, 1.0): 16 cells."""
    return make_plan([fox(), fox(name="Fox B", subject="an arctic fox")], seeds=[1, 2],
                     axes=[parse_axis("model=dev,schnell"),
                           parse_axis("lora:film.safetensors=0.5,1.0")])


def test_order_for_cache_groups_model_then_text_and_keeps_every_cell():
    cells = mixed_plan().cells()
    ordered = order_for_cache(cells)
    assert sorted(c.id for c in ordered) == sorted(c.id for c in cells)
    # plain grid order changes model/LoRA on every job and the text twice
    assert cache_cost(cells).model_loads == 16
    assert cache_cost(cells).text_encodes == 2
    # grouped: 4 model+LoRA sets loaded once each; the text changes within each set once
    # (A then B), and each new set starts with the text the last one ended on
    cost = cache_cost(ordered)
    assert cost.model_loads == 4
    # A, B | B, A | A, B | B, A: the first encodes both, each later set only its second
    assert cost.text_encodes == 5
    seen_models = []
    for cell in ordered:
        key = (cell.spec.model, cell.spec.params.loras[0].strength)
        if not seen_models or seen_models[-1] != key:
            assert key not in seen_models, "a model+LoRA set came back after another"
            seen_models.append(key)


def test_interleaved_ab_order_is_fixed_by_grouping_text():
    plan = make_plan([fox(), fox(name="Fox B", subject="an arctic fox")], seeds=[1, 2, 3])
    cells = plan.cells()
    interleaved = [cells[i] for i in (0, 3, 1, 4, 2, 5)]
    assert cache_cost(interleaved).text_encodes == 6
    assert cache_cost(order_for_cache(interleaved)).text_encodes == 2
    assert [c.variant for c in order_for_cache(interleaved)] == [0, 0, 0, 1, 1, 1]


def test_seed_rules():
    with pytest.raises(PlanError, match="listed twice"):
        make_plan([fox()], seeds=[1, 1])
    with pytest.raises(PlanError, match="2\\^63"):
        make_plan([fox()], seeds=[2**64 - 1])
    assert make_plan([fox()], seeds=[2**63 - 1]).seeds == [2**63 - 1]


def test_group_by_model_splits_the_cache_order_into_model_runs():
    ordered = order_for_cache(mixed_plan().cells())
    groups = group_by_model(ordered)
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert [c for g in groups for c in g] == ordered
    assert all(len({(c.spec.model, c.spec.params.loras[0].strength) for c in g}) == 1
               for g in groups)


def test_keys_can_come_from_the_runner():
    """A runner knowing that schnell loads other text encoders counts a model switch as a
    re-encode too."""
    cells = order_for_cache(mixed_plan().cells())

    def text_with_encoder(cell):
        return (cell.spec.model, cell.spec.subject)

    assert cache_cost(cells, text_key=text_with_encoder).text_encodes == 6
    regrouped = order_for_cache(cells, model_key=lambda c: c.spec.model,
                                text_key=text_with_encoder)
    assert cache_cost(regrouped, model_key=lambda c: c.spec.model).model_loads == 2
    assert len(group_by_model(regrouped, model_key=lambda c: c.spec.model)) == 2
