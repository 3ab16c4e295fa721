"""Property tests over arbitrary Unicode: no crash, spans inside their field, fixes are
idempotent, and a fixed diagnostic is not reported again."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.props import examples
from workbench.lint import apply_fixes, field_text, fix_all, lint
from workbench.spec import TEXT_FIELDS, VARIANTS, Lora, Params, PromptSpec

# Pieces that trigger rules, mixed with arbitrary Unicode so the rules are really exercised.
FRAGMENTS = [
    "(red:1.3)", "((blue))", "[x]", "{y}", "::2", "((a:1.2)", "[(b:2)]", "masterpiece",
    "best quality", "8k", "trending on artstation", "no blur", "without people", "not",
    "don't ", "white background", '"vintage"', "'cozy'", "“quoted”", "by Greg Rutkowski",
    "in the style of Van Gogh", "Кошка сидит", "猫が座る", ",", ", ", ".", " ", "  ",
    "transform it", "make it better", "her", "text", "change", "add", " and ", "\n", "\t",
    "\x00", "\x1b[31m", "é", "cinematic", "35mm", "In the background", "sign that reads",
    "kodak portra", "\u200b", "\U0001F600",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=10)),
                 max_size=10).map("".join)
maybe_int = st.one_of(st.none(), st.integers(-5, 5000))
maybe_float = st.one_of(st.none(), st.floats(-2, 20, allow_nan=False))


@st.composite
def specs(draw) -> PromptSpec:
    loras = draw(st.lists(st.builds(Lora, name=st.text(max_size=8),
                                    triggers=st.lists(texts, max_size=2)), max_size=2))
    params = Params(seed=draw(maybe_int), steps=draw(maybe_int), guidance=draw(maybe_float),
                    width=draw(maybe_int), height=draw(maybe_int), cfg=draw(maybe_float),
                    denoise=draw(maybe_float), negative=draw(texts), loras=loras)
    spec = PromptSpec(name=draw(st.text(max_size=5)) or "p", model=draw(st.sampled_from(VARIANTS)),
                      params=params, source_image=draw(st.sampled_from(["", "missing.png"])),
                      follows=draw(st.sampled_from(["", "p", "other"])))
    if draw(st.booleans()):
        spec.raw = draw(texts)
    else:
        for name in draw(st.lists(st.sampled_from(TEXT_FIELDS), max_size=4, unique=True)):
            setattr(spec, name, draw(texts))
    return spec


contexts = st.one_of(st.none(), st.just({}))
SETTINGS = settings(max_examples=examples(150), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _check_spans(spec, diagnostics):
    for d in diagnostics:
        text = field_text(spec, d.field)
        assert 0 <= d.start <= d.end <= len(text), (d, text)
        if d.fix:
            for edit in d.fix.edits:
                target = field_text(spec, edit.field)
                assert 0 <= edit.start <= edit.end <= len(target), (d, target)


@SETTINGS
@given(specs(), contexts)
def test_no_crash_and_spans_inside_their_field(spec, context):
    found = lint(spec, context=context, compare_with=spec.copy(raw=spec.raw + "x"))
    _check_spans(spec, found)
    for d in found:
        assert d.severity in ("info", "warning", "error") and d.message


@SETTINGS
@given(specs())
def test_fixing_is_idempotent(spec):
    fixed, _ = fix_all(spec)
    again, count = fix_all(fixed)
    assert again == fixed and count == 0
    assert not [d for d in lint(fixed) if d.fix and d.fix.safe]


@SETTINGS
@given(specs())
def test_a_fixed_diagnostic_is_not_reported_again(spec):
    found = lint(spec)

    def key(s, d):
        return d.rule, d.field, field_text(s, d.field)[d.start:d.end]

    before = Counter(key(spec, d) for d in found)
    for d in found:
        if d.fix is None:
            continue
        fixed = apply_fixes(spec, [d])
        after = Counter(key(fixed, e) for e in lint(fixed))
        assert after[key(spec, d)] < before[key(spec, d)], (d, spec)


@SETTINGS
@given(texts)
def test_raw_text_lints_like_any_string(text):
    spec = PromptSpec(name="p", raw=text)
    _check_spans(spec, lint(spec))
