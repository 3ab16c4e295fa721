"""A plan from the compare form's text: seeds and sweep axes."""

from __future__ import annotations

import pytest

from workbench.runs.plan import PlanError
from workbench.runs.plan_form import build_plan, parse_seeds
from workbench.spec import PromptSpec


def test_plan_setup_parsing():
    assert parse_seeds("1, 2,3") == ([1, 2, 3], 3)
    assert parse_seeds("4 random") == (None, 4)
    assert parse_seeds("") == (None, 2)
    with pytest.raises(PlanError):
        parse_seeds("one")
    a, b = PromptSpec(name="a", subject="x"), PromptSpec(name="b", subject="y")
    plan = build_plan(a, b, "7, 8", "guidance=2.5,3.5; steps=20,30")
    assert plan.shape == (2, 2, 2, 2) and plan.size == 16
    assert plan.name == "a vs b" and plan.seeds == [7, 8]
    with pytest.raises(PlanError):
        build_plan(a, b, "1", "guidance")
