"""The linter on prompts other people published (tests/lint/corpus/, labelled by hand before
the linter was run on them): precision and recall per rule, at least 0.9 overall, and no
warning on a good prompt from BFL's own documentation.

Run ``uv run pytest tests/lint/test_corpus.py -s`` to see the table.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from workbench.lint import RULES, lint
from workbench.spec import PromptSpec

CORPUS = Path(__file__).parent / "corpus"
FILES = ("prompts.toml", "heldout.toml", "heldout2.toml", "heldout3.toml",
         "heldout4.toml", "heldout5.toml", "heldout6.toml", "heldout7.toml",
         "heldout8.toml", "heldout9.toml", "heldout10.toml", "heldout11.toml",
         "heldout12.toml", "heldout13.toml", "heldout14.toml", "heldout15.toml",
         "heldout16.toml", "heldout17.toml", "heldout18.toml", "heldout19.toml",
         "heldout20.toml", "heldout21.toml", "heldout22.toml", "heldout23.toml")
BY_FILE = {name: tomllib.loads((CORPUS / name).read_text(encoding="utf-8"))["prompt"]
           for name in FILES}
ENTRIES = [entry for name in FILES for entry in BY_FILE[name]]
TARGET = 0.9


def _lint(entry: dict) -> list:
    spec = PromptSpec(name=entry["id"], model=entry.get("model", "dev"), raw=entry["text"])
    return lint(spec, edit=bool(entry.get("edit")))


def _score(entries=None) -> tuple[Counter, Counter, Counter, list[str]]:
    tp, fp, fn = Counter(), Counter(), Counter()
    notes = []
    for entry in ENTRIES if entries is None else entries:
        found = {d.rule for d in _lint(entry)}
        expect, allow = set(entry["expect"]), set(entry.get("allow", ()))
        for rule in found & expect:
            tp[rule] += 1
        for rule in found - expect - allow:
            fp[rule] += 1
            notes.append(f"false positive {rule}: {entry['id']}")
        for rule in expect - found:
            fn[rule] += 1
            notes.append(f"missed {rule}: {entry['id']}")
    return tp, fp, fn, notes


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def test_the_corpus_is_big_labelled_and_sourced():
    assert len(ENTRIES) >= 80
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for entry in ENTRIES:
        assert entry["text"].strip() and entry["source"].strip() and entry["origin"]
        assert set(entry["expect"]) | set(entry.get("allow", ())) <= set(RULES), entry["id"]
        assert not set(entry["expect"]) & set(entry.get("allow", ())), entry["id"]
        if entry.get("allow"):
            assert entry.get("note"), f"{entry['id']}: say why either answer is fine"
    origins = Counter(e["origin"] for e in ENTRIES)
    assert origins["bfl-docs"] + origins["bfl-github"] >= 20
    assert origins["sd-pasted"] >= 15
    assert sum(1 for e in ENTRIES if e.get("edit")) >= 30  # Kontext edit instructions


def test_precision_and_recall(capsys):
    tp, fp, fn, notes = _score()
    rows = []
    for rule in sorted(set(tp) | set(fp) | set(fn)):
        rows.append(f"  {rule:<22} precision {_ratio(tp[rule], tp[rule] + fp[rule]):.2f}  "
                    f"recall {_ratio(tp[rule], tp[rule] + fn[rule]):.2f}  "
                    f"(tp {tp[rule]}, fp {fp[rule]}, fn {fn[rule]})")
    t, f, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision, recall = _ratio(t, t + f), _ratio(t, t + n)
    with capsys.disabled():
        print(f"\nlint corpus: {len(ENTRIES)} prompts; precision {precision:.3f}, recall "
              f"{recall:.3f} (target {TARGET})")
        for name in FILES:
            ftp, ffp, ffn, _ = _score(BY_FILE[name])
            a, b, c = sum(ftp.values()), sum(ffp.values()), sum(ffn.values())
            print(f"  {name}: {len(BY_FILE[name])} prompts, precision {_ratio(a, a + b):.3f}, "
                  f"recall {_ratio(a, a + c):.3f}")
        print("\n".join(rows + [f"  {note}" for note in notes]))
    assert precision >= TARGET and recall >= TARGET, notes


#: What each file scores now (precision, recall): a fix for one set must not quietly undo
#: another's (a rule's overall score can stay above target while one file drops).  Raise a
#: floor when a fix lifts a file; lowering one needs a reason in README.md.
FLOORS = {
    "prompts.toml": (0.99, 0.99), "heldout.toml": (1.0, 0.92),
    "heldout2.toml": (0.98, 0.96), "heldout3.toml": (1.0, 0.97),
    "heldout4.toml": (1.0, 1.0), "heldout5.toml": (0.97, 1.0),
    "heldout6.toml": (0.97, 0.81), "heldout7.toml": (1.0, 0.94),
    "heldout8.toml": (1.0, 0.93), "heldout9.toml": (0.95, 0.97),
    "heldout10.toml": (0.95, 0.95), "heldout11.toml": (1.0, 1.0),
    "heldout12.toml": (0.96, 0.85), "heldout13.toml": (1.0, 0.97),
    "heldout14.toml": (1.0, 0.96), "heldout15.toml": (1.0, 0.87),
    "heldout16.toml": (1.0, 1.0), "heldout17.toml": (0.97, 0.93),
    "heldout18.toml": (0.98, 0.94), "heldout19.toml": (0.95, 0.95),
    "heldout20.toml": (0.96, 0.96), "heldout21.toml": (1.0, 1.0),
    "heldout22.toml": (0.97, 0.87), "heldout23.toml": (1.0, 0.94),
}


@pytest.mark.parametrize("name", FILES)
def test_no_file_falls_below_its_floor(name):
    tp, fp, fn, notes = _score(BY_FILE[name])
    a, b, c = sum(tp.values()), sum(fp.values()), sum(fn.values())
    low_precision, low_recall = FLOORS[name]
    assert _ratio(a, a + b) >= low_precision and _ratio(a, a + c) >= low_recall, notes




@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.get("good")],
                         ids=lambda e: e["id"])
def test_good_bfl_prompts_get_no_warning(entry):
    assert entry["origin"] in ("bfl-docs", "bfl-github")
    loud = {(d.rule, d.message) for d in _lint(entry) if d.severity != "info"
            and not (d.rule == "non-english" and FLUX2 in entry["source"])}
    assert not loud, loud


#: BFL's FLUX.2 guide shows prompts in French, Thai and Korean: FLUX.2's text encoder reads
#: them, FLUX.1's T5 (what this linter checks for) reads English, so there they are still
#: a non-english warning.
FLUX2 = "prompting_guide_flux2"
