"""Length rules: over the T5 token budget or too short to steer (FX108), longer than BFL's
recommended ranges (FX112); and the word counts other rules ask for."""

from __future__ import annotations

from functools import lru_cache

from ...tokens import T5_BUDGET, t5_cut
from ..registry import Hit, rule
from ..textutil import estimate_tokens, trimmed, word_count
from .common import TEXT_CACHE
from .language import mostly_foreign
from .quality import (
    NUMBER,
    QUALITY_HINTS,
    QUALITY_TRIGGERS,
    SYNTAX_NOISE,
    TAG_VOCABULARY,
    has_syntax,
    tag_spans,
)

TOKEN_BUDGET = T5_BUDGET
MIN_WORDS = 5
#: BFL's current guidance (docs.bfl.ai, "Building a Good Prompt"): short 10–30 words, medium
#: 30–80, long 80–300+ for complex scenes.  Only past the long range is length worth a word.
WORD_RANGE = (10, 300)


def content_words(ctx) -> int:
    """Words that describe something: quality tags, weights, LoRA tags, BREAK and the other
    options of a {a|b} choice left out (only prompts that have any of those pay for it)."""
    found = ctx.memo.get("content")
    if found is None:
        field, text = ctx.whole
        found = ctx.whole_words
        words = ctx.words(field, text)
        syntax = has_syntax(text)
        if syntax or not QUALITY_HINTS.isdisjoint(words):
            tags = not QUALITY_TRIGGERS.isdisjoint(words)
            # without tags or syntax, only bare numbers can be left out
            if tags or syntax or NUMBER.search(text):
                found = _content_words_of(text, tags)
        ctx.memo["content"] = found
    return found


@lru_cache(maxsize=TEXT_CACHE)
def _content_words_of(text: str, tags: bool) -> int:
    for start, end in reversed(tag_spans(text) if tags else ()):
        text = text[:start] + " " + text[end:]
    # without syntax, the numbers are all `SYNTAX_NOISE` can find
    return word_count((SYNTAX_NOISE if has_syntax(text) else NUMBER).sub(" ", text))


def has_content_words(ctx, count: int) -> bool:
    """Whether `content_words` is ``count`` or more, mostly without counting them: in ASCII
    text without syntax only quality tags and numbers are left out, so each distinct word
    of letters outside the tags' vocabulary is a content word."""
    field, text = ctx.whole
    if ctx.ascii and not has_syntax(text):
        found = 0
        for word in ctx.words(field, text):  # most prompts need only the first few
            if word.isalpha() and word not in TAG_VOCABULARY:
                found += 1
                if found >= count:
                    return True
    return content_words(ctx) >= count


def too_short(ctx) -> bool:
    return not ctx.is_edit and not has_content_words(ctx, MIN_WORDS)


#: How far the estimate may fall short of the exact T5 count on a long prompt (measured on
#: thousands of published and generated prompts of 300+ characters: at most 1.8, lists of
#: rare names and abbreviations; 1.17 typical).  Prompts estimated under budget / margin
#: cannot be over it and are not tokenised.
ESTIMATE_MARGIN = 2.0


def too_long(ctx) -> bool:
    budget = TOKEN_BUDGET.get(ctx.spec.model, 512)
    text = ctx.composed
    # a T5 token covers at least one character: short texts need no tokenising at all, and
    # nor do texts whose estimate is far below the budget; the rest are counted exactly
    return len(text) + 1 > budget and estimate_tokens(text) * ESTIMATE_MARGIN > budget \
        and ctx.whole_tokens > budget


@rule("prompt-length", "FX108", "warning", family="text",
      summary="over the T5 token budget (dev/Kontext 512, schnell 256), or too short to steer",
      rationale="FLUX's T5 encoder reads at most 512 tokens on dev and Kontext and 256 on "
                "schnell; words past the budget are cut off (counted exactly with the T5 "
                "tokenizer). A text-to-image prompt of a few words leaves everything to "
                "chance.",
      source="FLUX guide (seed 000); BFL prompting guide; ComfyUI FLUX text encoders "
             "(comfy/text_encoders/flux.py, T5-XXL)")
def prompt_length(ctx):
    field, text = ctx.whole
    if not text.strip():
        yield Hit(field, 0, len(text), "the prompt is empty", severity="error")
        return
    budget = TOKEN_BUDGET.get(ctx.spec.model, 512)
    if too_long(ctx):
        tokens = ctx.whole_tokens
        exact = ctx.t5_tokens is not None
        start, end = trimmed(text)
        cut = t5_cut(text, budget) if exact else None
        if cut is not None and start < cut < end:
            start = cut
        yield Hit(field, start, end,
                  f"{tokens} T5 tokens{'' if exact else ' (estimate)'}, over "
                  f"{ctx.spec.model}'s {budget}: " + ("the marked end is cut off"
                                                     if cut else "the end is cut off"),
                  suggestion="tighten it: keep the subject, style, setting and light",
                  action="rewrite")
    elif too_short(ctx):
        words = content_words(ctx)
        yield Hit(field, *trimmed(text),
                  f"only {words} descriptive word{'s' if words != 1 else ''}: too short "
                  "to steer FLUX",
                  suggestion="say what the subject does, the style, the setting and the "
                             "light")


@rule("word-count", "FX112", "info", family="text",
      when=lambda ctx: ctx.whole_words > WORD_RANGE[1],
      summary="longer than BFL's longest recommended range (over 300 words)",
      rationale="BFL's current guidance: 10–30 words for quick concepts, 30–80 for most "
                "scenes, 80–300 for complex multi-subject scenes. Past that, the early "
                "words FLUX weighs most are diluted; the hard limit is the T5 budget "
                "(prompt-length).",
      source="BFL prompting guide, \"Building a Good Prompt\" (docs.bfl.ai): prompt "
             "length table")
def word_count_rule(ctx):
    words = ctx.whole_words
    low, high = WORD_RANGE
    if words <= high or ctx.is_edit or too_short(ctx) or mostly_foreign(ctx):
        return
    if too_long(ctx):
        return  # prompt-length already says it when the budget is blown
    field, text = ctx.whole
    yield Hit(field, *trimmed(text),
              f"{words} words: longer than BFL's 80–{high} range for complex scenes",
              suggestion="cut what does not change the image")



