"""`loads_json`'s nesting limit: exactly at the limit passes, one deeper is refused,
whatever mix of objects and arrays makes the depth and wherever the deep branch sits."""

from __future__ import annotations

import json

import pytest

from workbench.untrusted import JsonError, loads_json


def nested(depth: int) -> str:
    """``depth`` containers deep, alternating arrays and objects."""
    text = "1"
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k": {text}}}'
    return text


@pytest.mark.parametrize("limit", [1, 2, 7, 100])
def test_exactly_at_the_limit_passes_and_one_deeper_is_refused(limit):
    assert json.dumps(loads_json(nested(limit), max_depth=limit)) == nested(limit)
    with pytest.raises(JsonError, match=f"nested more than {limit} levels deep"):
        loads_json(nested(limit + 1), max_depth=limit)


def test_the_deep_branch_is_found_beside_many_shallow_ones():
    shallow = ", ".join(f'"n{i}": [1, {{"a": [2]}}]' for i in range(500))
    text = f'{{{shallow}, "deep": {nested(9)}}}'
    assert len(loads_json(text, max_depth=10)) == 501
    with pytest.raises(JsonError, match="nested more than 9"):
        loads_json(text, max_depth=9)


def test_scalars_and_empty_containers_have_their_own_depth():
    assert loads_json("5", max_depth=1) == 5
    assert loads_json("[]", max_depth=1) == []
    with pytest.raises(JsonError):
        loads_json("[[]]", max_depth=1)
