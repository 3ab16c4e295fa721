"""Judging results: did each picture follow its prompt?

A core package (no Textual): `checklist` turns a prompt spec into items to check,
`adherence` asks a local vision model about them (`cache` keeps its answers), `textcheck`
compares the in-image text, `pixels` measures what needs no model (sharpness, clipping, a
perceptual hash for "no visible change"), `scoring` turns verdicts into numbers, and
`run_judge` judges a whole run folder into ``judge.json``.  `settings` is the one place
that reads the configuration and the GPU-sharing step.
"""

from .checklist import Checklist, ChecklistItem, build_checklist, checklist_hash
from .run_judge import JUDGE_FILE, RunJudge, RunJudgement, judge_run

__all__ = ["JUDGE_FILE", "Checklist", "ChecklistItem", "RunJudge", "RunJudgement",
           "build_checklist", "checklist_hash", "judge_run"]
