"""Safe fixes are safe: applied on their own (as ``lint --fix`` and the editor's fix key
do), each leaves a prompt that lints no worse and has no orphaned brackets or commas.

"No worse": no warning or error that was not there before, and no finding louder than it
was.  A new *info* may appear (a fix that lengthens "white background" to "clean white
seamless backdrop" can take a prompt past missing-lighting's ten-word threshold): infos are
advice, not problems.  A finding may also appear when a fix *unmasks* words that were
there all along: unwrapping "by (green eyes:1.3) on deviantart" shows the artist phrase the
brackets hid.  Its flagged words, brackets and weights aside, must then already be in the
field in that order; a fix that glues new phrases together ("by masterpiece, a knight" to
"by a knight") still fails."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.props import examples
from workbench.lint import SEVERITIES, apply_fixes, field_text, fix_all, lint
from workbench.lint.textutil import blemishes
from workbench.spec import PromptSpec

# Pieces people paste: SD tags (whole and inside brackets), weights, A1111 syntax, commas
# of every width, and plain words to glue them into prose.
PIECES = [
    "masterpiece", "best quality", "8k", "4K", "16K", "HDR", "full HD", "highly detailed",
    "trending on ArtStation", "trending on artstation", "octane render", "award-winning",
    "on deviantart", "(masterpiece:1.2)", "((best quality))", "(CG unity wallpaper)",
    "(masterpiece, CG unity wallpaper)", "[red]", "{glowing}", "(green eyes:1.3)",
    "(:1.2)", "castle::2", "<lora:film:0.8>", "BREAK", "white background", "EasyNegative",
    "embedding:SDA768", ", ", ",", "，", "、", "; ", ". ", " ", "\n", "(", ")",
    "a knight", "intricate", "bioluminescent accents", "quality", "a cat on a sofa",
    "at dusk", "soft golden light", "photo of", "by", "Intricate",
]
SEPARATORS = [" ", ", ", ",", "，", " BREAK ", "\n", ". ", "; "]


@st.composite
def texts(draw) -> str:
    """Pieces joined the way people join them (with a space or a separator: words glued
    to words, "castle::2best", are not a prompt anyone writes)."""
    pieces = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=12))
    out = pieces[0]
    for piece in pieces[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + piece
    return out


def _words(text: str) -> str:
    """The words of ``text`` without weight brackets and numbers, one space apart."""
    return " ".join(re.sub(r"[\[\](){}]|:\s*-?[\d.]+", " ", text).split())


def _rules(spec, unmasked_from: PromptSpec | None = None) -> dict[str, int]:
    worst: dict[str, int] = {}
    for d in lint(spec):
        if unmasked_from is not None and d.end > d.start:
            flagged = _words(field_text(spec, d.field)[d.start:d.end])
            if flagged and flagged in _words(field_text(unmasked_from, d.field)):
                continue  # was there before the fix, behind brackets or weights
        worst[d.rule] = max(worst.get(d.rule, 0), SEVERITIES.index(d.severity))
    return worst


def _check(spec: PromptSpec) -> None:
    before = _rules(spec)
    for d in lint(spec):
        if d.fix is None or not d.fix.safe:
            continue
        fixed = apply_fixes(spec, [d])
        after = _rules(fixed, unmasked_from=spec)
        # no warning or error appears that was not there, and nothing gets louder
        for rule, level in after.items():
            if level == 0 and rule not in before:
                continue
            assert rule in before and level <= before[rule], (d, rule, spec, fixed)
        for edit in d.fix.edits:
            old, new = field_text(spec, edit.field), field_text(fixed, edit.field)
            assert all(a <= b for a, b in zip(blemishes(new), blemishes(old))), (d, old, new)
            assert new.strip(), (d, old)


SETTINGS = settings(max_examples=examples(300), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(texts())
@example("trending on artstation, Intricate, bioluminescent accents, best quality")
@example("(masterpiece, CG unity wallpaper), a knight at dusk")
@example("4K,8K,16K, a cat on a sofa")
@example("masterpiece")
@example("a knight (:1.2) at dusk")
@example("masterpiece masterpiece masterpiece by masterpiece, a knight on deviantart")
def test_a_safe_fix_lints_no_worse_and_leaves_no_orphans(text):
    _check(PromptSpec(name="p", raw=text))


@SETTINGS
@given(texts(), texts())
@example(subject="masterpiece", style="by (green eyes:1.3) on deviantart")
@example(subject="masterpiece", style="by (masterpiece, CG unity wallpaper) on deviantart")
# a blank subject: "no subject" is found whatever the prompt's length, so the fix that
# lengthens "white background" does not make it appear
@example(subject="", style="[red] white background")
def test_safe_fixes_in_structured_fields(subject, style):
    _check(PromptSpec(name="p", subject=subject, style=style))


@SETTINGS
@given(texts())
def test_fix_all_never_empties_the_prompt(text):
    spec = PromptSpec(name="p", raw=text)
    fixed, _ = fix_all(spec)
    if any(d.fix and d.fix.safe for d in lint(spec)) and text.strip():
        assert fixed.raw.strip()


def test_whole_units_go():
    cases = {
        "A dragon, trending on artstation, Intricate scales": "A dragon, Intricate scales",
        "A dragon in flight, 8k, at sunset": "A dragon in flight, at sunset",
        "(masterpiece, CG unity wallpaper), a knight": "(CG unity wallpaper), a knight",
        "heroes of the storm by mr jack on deviantart": "heroes of the storm by mr jack",
        "a knight, (masterpiece:1.2), castle": "a knight, castle",
    }
    for raw, expected in cases.items():
        spec = PromptSpec(name="p", raw=raw)
        fixed = apply_fixes(spec, [d for d in lint(spec) if d.rule == "sd-quality-tags"],
                            safe_only=True)
        assert fixed.raw == expected
