"""Subject order: the main subject belongs near the start (FX109), since FLUX weighs the
first words most and CLIP-L's pooled vector sees only the first 77 tokens."""

from __future__ import annotations

import re
from functools import lru_cache

from ...tokens import CLIP_WINDOW
from ..registry import Hit, rule
from ..textutil import (
    WORD,
    Caseless,
    Lazy,
    estimate_tokens,
    find_words,
    iter_fragments,
    iter_words,
    trimmed,
)
from .common import FUNCTION_WORDS, GUIDE, TEXT_CACHE
from .length import ESTIMATE_MARGIN, MIN_WORDS
from .quality import QUALITY_TRIGGERS, TAG_VOCABULARY, quality_tag_spans, tag_spans

#: Words of look, medium, light and camera: what style items and photography settings are
#: made of (a lead of them is a preamble; a list of them is how BFL writes settings).
LOOK_WORDS = frozenset("""
photo photograph photography photographic cinematic cinema film still shot shots filmed
lens lenses camera dslr canon nikon sony leica kodak portra fujifilm fuji bokeh depth field
shallow wide angle telephoto macro aperture iso exposure lighting light lights lit soft hard
warm cool golden hour dramatic moody atmospheric volumetric rim studio natural ambient
backlit backlighting high low key contrast color colour colors colours palette tones tone
toned grading graded vibrant muted pastel saturated desaturated style styled aesthetic
render rendered rendering octane unreal engine digital art artwork painting painted oil
watercolor watercolour acrylic illustration illustrated sketch drawing drawn concept anime
manga comic realistic photorealistic hyperrealistic realism ultra hyper detailed detail
details intricate sharp focus focused crisp quality resolution masterpiece best composition
framing framed centered centred symmetrical rule thirds close closeup medium long view
perspective overhead aerial eye level format grain grainy noir vintage retro analog analogue
editorial fashion commercial professional polaroid minimalist minimal epic beautiful
stunning gorgeous shot hdr uhd highres glow glowing haze hazy fog misty mood tonal matte
glossy cinematographic anamorphic widescreen look feel vibe sunlight sunset sunrise dusk
dawn twilight overcast highly cg mystical mesmerizing ethereal dreamy dreamlike magical
amazing lifelike award winning pencil portrait fantasy impressionist expressive expressionist
surreal surrealist abstract lofi cyberpunk steampunk gothic baroque renaissance good side
sidelight sidelighting sidelit cozy cosy inviting opulent luxurious serene tranquil peaceful
whimsical elegant gloomy eerie majestic charming
""".split())
#: Named looks are made with these endings ("cottagecore", "decopunk", "synthwave").
_STYLE_ENDINGS = ("core", "punk", "wave")
_LEAD_STOP = FUNCTION_WORDS | {"on", "shot", "using", "very", "extremely", "super", "s"}
_BACKGROUND_FIRST = Caseless(
    r"\s*(?:in\s+the\s+background|the\s+background|background\s*:|in\s+the\s+distance|"
    r"(?:(?:a|an|the)\s+)?(?:[\w'-]+\s+){0,4}?(?:background|backdrop)(?=\s+(?:with|where|"
    r"in\s+which|of|at|under|behind)\b))\b")
_CLAUSE_END = Lazy(r"[^.,;:\n]*[.,;:\n]?")
_STYLE_FIRST = Caseless(
    r"\s*(?:in\s+the\s+(?:style|manner)\s+of|in\s+the\s+vein\s+of|style\s+of|inspired\s+by|"
    r"[àa]\s+la)\s+[^,.;:\n]+[,.;:\n]")
#: Leading comma items that are quality, medium or style tags, not a subject.
_STYLE_ITEM = Lazy(
    r"(?:[\w'-]+\s+){0,3}(?:style|art\s+style|aesthetic)|(?:inspired\s+by|in\s+the\s+style\s+"
    r"of|style\s+of|art\s+by)\s+.+|by\s+(?:[A-Z][\w'’.-]*\s*){1,4}", re.I)
#: Numbers that are camera or quality settings ("35mm", "8k", "f", "1.4"), not "1girl".
_MEASURE = Lazy(r"\d+(?:mm|k|s|x|px|p|fps|mp|d)?|f\d+")
#: An opening item that names the kind of picture ("High fashion portrait", "Professional
#: headshot"): the subject, even though its words are style words.
_GENRE_LAST = Caseless(r"\b(?:portrait|headshot|selfie|self-portrait)\s*\Z")
_GENRES = frozenset(("portrait", "headshot", "selfie", "self-portrait"))
#: Just before the digits of a weight ("(armor:1.2)": after the colon or the point).
_WEIGHT_BEFORE = Lazy(r":\s*-?(?:\d+\.)?\Z")
LATE_AFTER_WORDS = 6
PREAMBLE_ITEMS = 3


def _style_word(word: str) -> bool:
    """A lower-case word of style vocabulary, or a named look ("bloomcore", "solarpunk")."""
    return word in LOOK_WORDS or (len(word) > 6 and word.endswith(_STYLE_ENDINGS))


@lru_cache(maxsize=TEXT_CACHE)
def subject_start(text: str) -> tuple[int, int, int] | None:
    """(offset of the first word that is not style vocabulary, style words before it, end of
    the last style word before it); None when every word is style vocabulary.  Words of
    quality tags ("full HD", "trending on artstation") count as style."""
    styles = last_end = 0
    tags = None  # looked for only when a word outside it may be part of a quality tag
    for m in iter_words(text):
        word = m.group().lower()
        if word in _LEAD_STOP or m.group() == "BREAK":
            continue
        if word.isdigit() and _WEIGHT_BEFORE.search(text, max(0, m.start() - 12), m.start()):
            continue  # the 1.4 of "(masterpiece:1.4)" is syntax, not a word
        style = _style_word(word) or _MEASURE.fullmatch(word)
        if not style and word in TAG_VOCABULARY:  # perhaps a word of a quality tag
            if tags is None:
                tags = quality_tag_spans(text)
            style = any(s <= m.start() < e for s, e in tags)
        if style:
            styles += 1
            last_end = m.end()
            continue
        return m.start(), styles, last_end
    return None


def _is_style_item(text: str, start: int, end: int) -> bool:
    return _style_item(text[start:end])


@lru_cache(maxsize=TEXT_CACHE)
def _style_item(item: str) -> bool:
    """Whether one comma item is style or quality words only (not a subject); cached by
    text, as libraries repeat their style items."""
    words = [w.lower() for w in find_words(item)]
    if all(_style_word(w) or w in _LEAD_STOP or _MEASURE.fullmatch(w) for w in words):
        return True  # the common case, decided on a word set
    if not QUALITY_TRIGGERS.isdisjoint(words):
        masked = item
        for s, e in reversed(tag_spans(item)):
            masked = masked[:s] + " " + masked[e:]
        rest = [w.lower() for w in find_words(masked)]
        if all(_style_word(w) or w in _LEAD_STOP or _MEASURE.fullmatch(w) for w in rest):
            return True
    if words and (words[-1] in ("style", "aesthetic")
                  or words[0] in ("by", "inspired", "in", "style", "art", "à", "a")):
        m = _STYLE_ITEM.fullmatch(item)
        return bool(m) and not (item[:2].lower() == "by" and not item[3:4].isupper())
    return False


@lru_cache(maxsize=TEXT_CACHE)
def tag_preamble(text: str) -> tuple[int, int, int] | None:
    """``(items, end of the preamble, start of the subject item)`` when the prompt opens with
    `PREAMBLE_ITEMS` or more quality/style items before anything else."""
    count = 0
    last_end = 0
    for start, end, _words in iter_fragments(text):
        if not _is_style_item(text, start, end):
            if count >= PREAMBLE_ITEMS:
                return count, last_end, start
            return None
        count += 1
        last_end = end
    return None  # nothing but style: no subject at all


def _window_note(ctx, offset: int) -> str:
    """" (past CLIP-L's 77-token window)" when the subject starts where CLIP-L no longer
    reads; asked only once a late subject was found (tokenising costs)."""
    if not ctx.is_raw or offset < 60:
        return ""
    if estimate_tokens(ctx.spec.raw[:offset]) * ESTIMATE_MARGIN < CLIP_WINDOW - 2:
        return ""  # far inside the window (CLIP-L is not loaded for that)
    counted = ctx.tokens
    cut = counted.clip_cut if counted is not None else None
    if cut is None or ctx.spec.raw != ctx.composed:
        return ""
    return ", past CLIP-L's 77-token window" if offset >= cut else ""


@rule("subject-late", "FX109", "warning", family="text",
      when=lambda ctx: not ctx.is_edit and (ctx.is_raw or not ctx.spec.subject.strip()),
      summary="the main subject is not near the start",
      rationale="FLUX pays most attention to what comes first. Open with the subject (and "
                "what it does), then style, setting and light: a prompt that opens with the "
                "background, a style reference (\"In the style of X, ...\") or a preamble of "
                "quality tags makes the subject an afterthought (and CLIP-L's pooled vector "
                "sees only the first 77 tokens).",
      source=f"{GUIDE}, \"Word order and prioritising elements\"; BFL prompting guide: "
             "\"A forest background ... where a knight stands\" is less effective")
def subject_late(ctx):
    if ctx.is_edit:
        return
    if not ctx.is_raw:
        if not ctx.spec.subject.strip() and ctx.user_fields:
            first = ctx.user_fields[0][0]
            yield Hit("subject", 0, 0,
                      f"no subject: the prompt opens with the {first} field",
                      suggestion="put the main subject in the subject field")
        return
    text = ctx.spec.raw
    if ctx.whole_words < MIN_WORDS:
        return
    lower = ctx.lower("raw", text)
    for pattern, what in ((_BACKGROUND_FIRST, "the background"),
                          (_STYLE_FIRST, "a style reference")):
        m = pattern.match(text, lower=lower)
        if m and WORD.search(text, m.end()):
            end = _CLAUSE_END.match(text, m.end()).end() if what == "the background" \
                else m.end()
            yield Hit("raw", *trimmed(text, 0, end),
                      f"the prompt opens with {what}; the subject comes later"
                      + _window_note(ctx, m.end()),
                      suggestion="start with the main subject, then the "
                                 + ("background" if what == "the background" else "style"))
            return
    if not _GENRES.isdisjoint(ctx.words("raw", text)):
        first = next(iter_fragments(text), None)
        if first is not None and _GENRE_LAST.search(text, first[0], first[1]):
            return  # "High fashion portrait, shot on medium format, ...": the picture first
    preamble = tag_preamble(text) if (any(c in text for c in ",;，、\n") or "BREAK" in text
                                      or ". " in text) else None
    if preamble is not None:
        items, end, subject = preamble
        yield Hit("raw", *trimmed(text, 0, end),
                  f"{items} quality and style tags before the subject"
                  + _window_note(ctx, subject),
                  suggestion="move the subject to the front; style goes after it (and "
                             "quality tags can go)")
        return
    found = subject_start(text)
    if found is not None and found[1] >= LATE_AFTER_WORDS:
        yield Hit("raw", *trimmed(text, 0, found[2]),
                  f"{found[1]} words of style and camera before the subject"
                  + _window_note(ctx, found[0]),
                  suggestion="move the subject to the front; style and camera go after it")


