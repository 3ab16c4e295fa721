"""How scores are worded (badges, the checklist panel, summaries, the history note), and
that a damaged judge.json reads as "not measured", never as a crash."""

from __future__ import annotations

import json

import pytest

from workbench.judge import view
from workbench.judge.view import JudgeFileError, read_judgement

CELL = {"adherence": 0.825, "text_hit": False, "same_as_a": True,
        "images": [{"pixels": {"sharpness": 42.0, "sharpness_low": True,
                               "clipped_highlights": 0.07, "clipped_shadows": 0.0},
                    "checklist": [{"key": "subject", "label": "Subject",
                                   "wanted": "a red fox", "status": "present",
                                   "reason": "a fox"},
                                  {"key": "text", "label": "Image text",
                                   "wanted": 'the text "OPEN"', "status": "absent",
                                   "reason": ""}],
                    "text": {"seen": "OPN", "hit": False, "missing_words": ["open"]},
                    "same_as_a": True}]}


def test_badge_caption_and_details():
    assert view.badge(CELL) == "82% T✗ soft =A"
    assert view.caption(CELL) == "adherence 82% | text wrong | soft | same as A"
    assert view.details(CELL) == [
        ("title", "adherence 82%"),
        ("present", "✓ Subject: a red fox — a fox"),
        ("absent", '✗ Image text: the text "OPEN"'),
        ("absent", '✗ text: read "OPN" (missing: open)'),
        ("note", "sharpness 42 (low) · clipped 7% · same as A")]
    assert view.badge({"adherence": None, "images": [{"error": "x.png: the image is missing"}]}) \
        == "unreadable"


def test_summary_ranking_and_history():
    data = {"adherence": {"model": "llava:7b", "status": "done"}, "judged_at": "t",
            "variants": [{"variant": 0, "label": "A", "mean_adherence": 0.5,
                          "text_hit_rate": None, "mean_sharpness": 300.4, "same_as_a": 0},
                         {"variant": 1, "label": "B", "mean_adherence": 0.75,
                          "text_hit_rate": 0.5, "mean_sharpness": None, "same_as_a": 2}],
            "cells": {"v0-s1": {"adherence": 0.5}, "v1-s1": {"adherence": 0.75},
                      "v0-s2": {"adherence": None}, "v1-s2": {"adherence": 0.75}}}
    assert view.summary_lines(data) == [
        "A: adherence 50% · sharpness 300",
        "B: adherence 75% · text 50% · sharpness - · 2 same as A"]
    assert view.ranked(data) == ["v1-s1", "v1-s2", "v0-s1"]   # ties keep plan order
    summary = view.manifest_summary(data)
    assert summary["model"] == "llava:7b" and summary["file"] == "judge.json"
    assert view.history_text(summary) == "judged A 50% · B 75%"


@pytest.mark.parametrize("damage", [
    {"cells": {"v0-s1": {"adherence": "lots", "text_hit": "yes", "images": "nope"}}},
    {"cells": {"v0-s1": {"images": [{"checklist": [None, 3, {"status": 7}],
                                     "pixels": [], "text": "x"}]}}},
    {"cells": {"v0-s1": [], "v0-s2": None}, "variants": "all"},
    {"cells": {"v0-s1": {"adherence": True, "same_as_a": "true"}}, "variants": [None]},
])
def test_damaged_judgements_read_as_not_measured(damage):
    for cell in view.cells_of(damage).values():
        assert view.badge(cell) in ("-", "- T✓", "- T✗")
        assert view.details(cell)[0] == ("title", "adherence -")
        view.caption(cell)
    assert view.ranked(damage) == []
    view.summary_lines(damage)
    view.history_text(view.manifest_summary(damage))


def test_reading_judge_json(tmp_path):
    assert read_judgement(tmp_path) is None
    (tmp_path / "judge.json").write_text('{"cells": {"v0-s1": {}}}', encoding="utf-8")
    assert read_judgement(tmp_path) == {"cells": {"v0-s1": {}}}
    (tmp_path / "judge.json").write_text("[1, 2", encoding="utf-8")
    with pytest.raises(JudgeFileError, match="judge.json: cannot read"):
        read_judgement(tmp_path)
    (tmp_path / "judge.json").write_text(json.dumps({"format": 1}), encoding="utf-8")
    with pytest.raises(JudgeFileError, match="not a judgement"):
        read_judgement(tmp_path)
    (tmp_path / "judge.json").unlink()
    (tmp_path / "judge.json").mkdir()
    with pytest.raises(JudgeFileError, match="not a regular file"):
        read_judgement(tmp_path)
