"""The engine: registry, ordering, settings layering, field text, fixes applied and chained."""

from __future__ import annotations

import re

import pytest
import tomlkit

from workbench.lint import (
    FIELD_ORDER,
    RULES,
    Diagnostic,
    Edit,
    Fix,
    LintSettings,
    all_rules,
    apply_fixes,
    field_text,
    find_rule,
    fix_all,
    library_lint_table,
    lint,
    settings_for,
)

from .conftest import make, pointed
from .test_rules import FISHERMAN

ISSUE_SLUGS = (
    "weight-syntax white-background keyword-list negation quote-misuse sd-quality-tags "
    "negative-prompt non-english prompt-length subject-late style-name-only guidance-range "
    "cfg-above-one missing-lighting word-count steps-range resolution vram-estimate "
    "kontext-instruction kontext-preserve kontext-size ab-multiple-changes edit-chain-depth "
    "lora-trigger-missing img2img-size denoise-range").split()


def test_every_slug_from_the_issue_is_registered():
    assert set(ISSUE_SLUGS) <= set(RULES)


def test_rules_are_well_formed():
    codes = [r.code for r in all_rules()]
    assert len(set(codes)) == len(codes) == len(RULES)
    for r in all_rules():
        assert re.fullmatch(r"FX\d{3}", r.code)
        assert r.severity in ("info", "warning", "error")
        assert r.summary and len(r.rationale) > 40
        assert re.search(r"seed 00\d|BFL|ComfyUI", r.source), r.slug
        assert r.fix in ("", "safe", "unsafe")


def test_find_rule_by_slug_or_code():
    assert find_rule("negation").code == "FX104"
    assert find_rule("fx104").slug == "negation"
    assert find_rule("no-such-rule") is None


def test_diagnostics_are_sorted_by_field_then_position():
    spec = make(subject="a cat, no blur, masterpiece", style="(oil:1.2)", steps=5)
    found = lint(spec)
    keys = [(FIELD_ORDER.index(d.field), d.start) for d in found]
    assert keys == sorted(keys)
    assert [d.field for d in found][:2] == ["subject", "subject"]
    assert found[-1].field == "steps"


def test_diagnostic_to_dict_is_json_ready():
    [d] = [d for d in lint(make(raw="a cat with (green eyes:1.3) on a sofa at sunset"))
           if d.rule == "weight-syntax"]
    data = d.to_dict()
    assert data["fix"] == {"description": data["fix"]["description"], "safe": True,
                           "edits": [{"field": "raw", "start": 11, "end": 27,
                                      "replacement": "green eyes"}]}
    assert data["rule"] == "weight-syntax" and data["code"] == "FX101"


def test_field_text_covers_parameters():
    spec = make(raw="x", steps=8, guidance=3.5, width=1000, negative="blur",
                loras=[dict(name="a.safetensors"), dict(name="b.safetensors")])
    assert field_text(spec, "steps") == "8"
    assert field_text(spec, "guidance") == "3.5"
    assert field_text(spec, "height") == ""
    assert field_text(spec, "negative") == "blur"
    assert field_text(spec, "loras") == "a.safetensors, b.safetensors"
    assert field_text(spec, "composed") == "x"
    with pytest.raises(KeyError):
        field_text(spec, "nonsense")


def test_spans_point_into_the_typed_field_not_the_composed_text():
    spec = make(subject="  a fox", context="deep   snow, no blur at dusk")
    [d] = [d for d in lint(spec) if d.rule == "negation"]
    assert d.field == "context" and pointed(spec, d) == "no blur"


# -- settings ----------------------------------------------------------------------------------

def test_ignore_select_and_severity():
    spec = make(raw="masterpiece, a cat on a sofa, no blur")
    slugs = {d.rule for d in lint(spec)}
    assert {"sd-quality-tags", "negation"} <= slugs
    ignored = lint(spec, settings=LintSettings.from_names(ignore=["sd-quality-tags", "FX104"]))
    assert not {"sd-quality-tags", "negation"} & {d.rule for d in ignored}
    selected = lint(spec, settings=LintSettings.from_names(select=["negation"]))
    assert {d.rule for d in selected} == {"negation"}
    louder = LintSettings.from_table({"severity": {"negation": "error"}})
    assert {d.severity for d in lint(spec, settings=louder) if d.rule == "negation"} == {"error"}


def test_library_table_layers_over_config_and_flags_over_both():
    doc = tomlkit.parse('format = 1\n[lint]\nignore = ["word-count"]\n'
                        '[lint.severity]\nnegation = "error"\n')
    config = {"lint": {"ignore": ["missing-lighting"], "severity": {"negation": "info"}}}
    settings = settings_for(config, library_lint_table(doc),
                            LintSettings.from_names(ignore=["negation"]))
    assert settings.ignore == {"word-count", "missing-lighting", "negation"}
    assert settings.severity == {"negation": "error"}
    assert settings.problems == []
    only = settings_for(config, library_lint_table(doc))
    assert only.enabled("negation") and not only.enabled("word-count")


def test_bad_settings_are_reported_not_raised():
    settings = LintSettings.from_table({"ignore": ["nope"], "severity": {"negation": "loud"},
                                        "colour": 1})
    assert len(settings.problems) == 3
    assert library_lint_table(tomlkit.parse("format = 1")) is None


# -- fixes -------------------------------------------------------------------------------------

def test_apply_fixes_ignores_diagnostics_without_fixes_and_unsafe_when_asked():
    spec = make(raw="A cat on a sofa, no blur, masterpiece")
    found = lint(spec)
    assert apply_fixes(spec, [d for d in found if d.fix is None]) == spec
    safe = apply_fixes(spec, found, safe_only=True)
    assert safe.raw == "A cat on a sofa, no blur"
    everything = apply_fixes(spec, found)
    assert everything.raw == "A cat on a sofa, sharp, in focus"


def test_overlapping_edits_keep_the_widest_and_fix_all_finishes_the_job():
    # the quality tag's removal takes its own brackets: wider than the weight's unwrap
    spec = make(raw="a knight, ((masterpiece)), castle at dusk")
    once = apply_fixes(spec, lint(spec), safe_only=True)
    assert once.raw == "a knight, castle at dusk"
    # a weight around words that are not a tag: unwrap first, then the tag goes
    spec = make(raw="a knight, ((masterpiece castle)), at dusk")
    once = apply_fixes(spec, lint(spec), safe_only=True)
    assert once.raw == "a knight, masterpiece castle, at dusk"
    done, count = fix_all(spec)
    assert done.raw == "a knight, castle, at dusk" and count == 2
    assert not [d for d in lint(done) if d.fix and d.fix.safe]


def test_parameter_edits_set_and_unset_values():
    spec = make(raw=FISHERMAN, guidance=3.5, steps=8)
    fix = Fix("x", (Edit("guidance", 0, 3, ""), Edit("steps", 0, 1, "28")), safe=True)
    d = Diagnostic("r", "FX000", "info", "m", "why", "steps", 0, 1, fix)
    new = apply_fixes(spec, [d])
    assert new.params.guidance is None and new.params.steps == 28
    assert spec.params.steps == 8


def test_lint_is_deterministic_and_does_not_touch_the_spec():
    spec = make(subject="a cat", context="no blur", steps=5, width=1000, height=1000)
    before = spec.copy()
    assert lint(spec) == lint(spec)
    assert spec == before


def test_by_field_groups_in_order():
    from workbench.lint import by_field

    spec = make(subject="a cat, no blur, masterpiece", style="(oil:1.2)", steps=5)
    grouped = by_field(lint(spec))
    assert [d.rule for d in grouped["subject"]] == ["negation", "sd-quality-tags"]
    assert [d.rule for d in grouped["style"]] == ["weight-syntax"]
    assert [d.rule for d in grouped["steps"]] == ["steps-range"]
    assert all(d.source for ds in grouped.values() for d in ds)


def test_comma_items_split_on_break_only_as_a_word():
    from workbench.lint.textutil import fragments

    text = "a cat BREAK a dog,BREAKFAST table, xBREAK y BREAK1; end. BREAK"
    items = [text[start:end] for start, end, _ in fragments(text)]
    assert items == ["a cat", "a dog", "BREAKFAST table", "xBREAK y BREAK1", "end"]
