"""Quality tags: the Stable Diffusion folklore ("masterpiece, best quality, 8k, trending on
artstation") that FLUX ignores (code FX106), and how to find them as whole units.

Several rules need the same answers (where the tags are, which words are syntax rather
than description), so they live here: the tag vocabulary, its word-set prefilters, the
tag spans of a text, and the syntax noise (weights, LoRA tags, BREAK, bare numbers) that
word counts leave out.
"""

from __future__ import annotations

from functools import lru_cache

from ..diagnostic import Fix
from ..registry import Hit, rule
from ..textutil import (
    LETTER,
    WORD,
    Caseless,
    Lazy,
    alternation,
    clean_edit,
    find_words,
    inside,
    item_span,
    iter_words,
)
from .common import GUIDE, TEXT_CACHE

QUALITY_TAGS = (
    "masterpiece", "best quality", "high quality", "highest quality", "top quality",
    "high-quality", "best-quality", "top-quality",
    "ultra high quality", "amazing quality", "8k uhd", "4k uhd", "uhd", "full hd", "fhd",
    "hd", "hdr", "highres", "high res", "hi res", "ultra highres", "absurdres",
    "ultra detailed", "ultra-detailed", "extremely detailed", "hyperdetailed",
    "hyper detailed", "hyper-detailed", "highly detailed", "high detail", "insane details",
    "insanely detailed", "intricate details", "ultra realistic", "ultra-realistic",
    "ultra realistic 8k", "raw photo", "trending on artstation", "trending on art station",
    "artstation trending", "trending on cgsociety", "featured on cgsociety",
    "trending on deviantart", "featured on artstation", "on artstation", "on deviantart",
    "artstation", "cgsociety", "deviantart", "award winning", "award-winning",
    "award winning photography", "award-winning photography", "award winning photo",
    "octane render", "octane", "unreal engine", "unreal engine 5", "masterwork",
    "worst quality", "low quality", "normal quality", "lowres",
    # Pony Diffusion's aesthetic scores
    "score_9", "score_8_up", "score_7_up", "score_6_up", "score_5_up", "score_4_up",
    "score_8", "score_7", "score_6", "score_5", "score_4",
)
QUALITY = Caseless(rf"(?<![\w-])(?:(?:4|8|16|32)\s?k(?:\s?uhd)?|"
                    rf"{alternation(QUALITY_TAGS)})(?![\w-])")
#: First words of the tags: a field without any of them cannot contain a tag.
QUALITY_HINTS = (frozenset(WORD.findall(tag)[0] for tag in QUALITY_TAGS)
                  | frozenset(tag.split()[0].split("-")[0] for tag in QUALITY_TAGS)
                  | frozenset(("4k", "8k", "16k", "32k", "4", "8", "16", "32", "on")))
#: One word of every tag, the rarest in ordinary prose (a tag needs all of its words, so a
#: prompt with none of these has no tag): "quality", not "best"; "artstation", not "on".
_COMMON = frozenset(("on", "best", "high", "highest", "top", "ultra", "amazing", "full", "hi",
                     "extremely", "hyper", "highly", "insane", "insanely", "intricate", "photo",
                     "photography", "trending", "featured", "winning", "render", "engine",
                     "worst", "low", "normal", "up", "4", "5", "6", "7", "8", "9", "16",
                     "32"))
#: A tag wrapped in its own weight brackets: "(masterpiece:1.2)", "((best quality))".
_WRAPPED = Lazy(r"\(+\s*$")
_UNWRAP_TAIL = Lazy(r"\s*(?::\s*-?\d+(?:\.\d+)?)?\s*\)+")


def quality_hint(text: str) -> bool:
    """Whether ``text`` may hold a quality tag (a word-set test, much cheaper than the
    tag regex)."""
    return not QUALITY_HINTS.isdisjoint(find_words(text.lower()))


#: Every tag as a tuple of lower-case words, and the longest tag in words.
_TAG_WORDS = frozenset(tuple(find_words(tag)) for tag in QUALITY_TAGS) | frozenset(
    (f"{n}k",) for n in (4, 8, 16, 32)) | frozenset(
    (f"{n}k", "uhd") for n in (4, 8, 16, 32)) | frozenset(
    (str(n), "k") for n in (4, 8, 16, 32))
_TAG_LONGEST = max(len(t) for t in _TAG_WORDS)
#: Every word of every tag: a word outside it is never inside a tag's span.
TAG_VOCABULARY = frozenset(word for tag in _TAG_WORDS for word in tag)
QUALITY_TRIGGERS = frozenset(
    next((w for w in reversed(tag) if w not in _COMMON), tag[-1]) for tag in _TAG_WORDS)


def quality_tag_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The quality tags of ``text`` as whole units (with their own weight brackets): the
    longest run of words that is a tag, words matched case-insensitively."""
    if QUALITY_TRIGGERS.isdisjoint(find_words(text.lower())):
        return ()  # no tag has all its words here (most prompts)
    return tag_spans(text)


def field_tags(ctx, field: str, text: str) -> tuple[tuple[int, int], ...]:
    """`quality_tag_spans` of one field, the word test done on the words the context has."""
    if QUALITY_TRIGGERS.isdisjoint(ctx.words(field, text)):
        return ()
    return tag_spans(text)


@lru_cache(maxsize=TEXT_CACHE)
def tag_spans(text: str) -> tuple[tuple[int, int], ...]:
    words = list(iter_words(text))
    lowered = [w.group().lower() for w in words]
    spans = []
    i = 0
    while i < len(words):
        if lowered[i] not in QUALITY_HINTS:
            i += 1
            continue
        for size in range(min(_TAG_LONGEST, len(words) - i), 0, -1):
            gram = tuple(lowered[i:i + size])
            if gram in _TAG_WORDS and _spaced(text, words[i:i + size]):
                break
        else:
            i += 1
            continue
        start, end = words[i].start(), words[i + size - 1].end()
        i += size
        opening = _WRAPPED.search(text, max(0, start - 4), start)
        if opening is not None:
            closing = _UNWRAP_TAIL.match(text, end)
            if closing is not None and closing.group().count(")") >= \
                    opening.group().count("("):
                start, end = opening.start(), closing.end()
        spans.append((start, end))
    return tuple(spans)


def _spaced(text: str, words: list) -> bool:
    """Words of one tag are separated by spaces only ("best quality", not "best, quality"),
    or by an underscore as booru tags write them ("best_quality", "score_8_up")."""
    return all(text[a.end():b.start()].isspace() or text[a.end():b.start()] == "_"
               or (a.group()[-1].isdigit() and not text[a.end():b.start()])
               for a, b in zip(words, words[1:]))


@rule("sd-quality-tags", "FX106", "warning", family="text", fix="safe",
      words=QUALITY_TRIGGERS,
      summary="\"masterpiece\", \"best quality\", \"8k\", \"HDR\", \"trending on "
              "artstation\"...",
      rationale="Quality tags are Stable Diffusion folklore; FLUX was not trained to "
                "respond to them, so they only dilute the prompt and push the subject "
                "later. Describe the look you want instead (light, lens, materials). A "
                "single detail word (\"intricate details\") is advice (info).",
      source=f"{GUIDE}: write natural language without special keywords; BFL prompting "
             "guide (keyword lists with \"8k, detailed\" are less effective)")
def sd_quality_tags(ctx):
    for field, text in ctx.prose_fields:
        if QUALITY_TRIGGERS.isdisjoint(ctx.words(field, text)):
            continue
        quotes = ctx.quotes(field, text)
        spans = [s for s in tag_spans(text) if not (quotes and inside(quotes, *s))]
        if not spans:
            continue
        # removing every tag must leave a prompt: otherwise offer no unattended fix
        rest = text
        for start, end in reversed(spans):
            rest = rest[:start] + " " + rest[end:]
        keep = bool(LETTER.search(SYNTAX_NOISE.sub(" ", rest)))
        # one detail word among descriptions ("..., intricate details, ...", as in BFL's own
        # examples) still says what to show: advice; a stack of tags is the folklore
        mild = "info" if len(spans) == 1 and "detail" in text[slice(*spans[0])].lower() \
            else None
        for start, end in spans:
            tag = text[start:end]
            said = (f"{tag!r} is Stable Diffusion quality wording; name the details instead"
                    if mild else f"{tag!r} is a Stable Diffusion quality tag; FLUX ignores it")
            # unattended only at the edge of its comma item: taking a tag out of the middle
            # of a phrase ("by masterpiece Rutkowski") would make a new phrase
            item = item_span(text, start, end) if keep else None
            edge = item is not None and (not text[item[0]:start].strip(" ([{")
                                         or not text[end:item[1]].strip(" )]}"))
            edit = clean_edit(field, text, start, end) if keep else None
            if edit is not None and not edge:
                yield Hit(field, start, end, said, fix=Fix(f"remove {tag!r}", (edit,)),
                          severity=mild)
                continue
            yield Hit(field, start, end, said,
                      fix=Fix(f"remove {tag!r}", (edit,), safe=True) if edit else None,
                      suggestion="" if edit else "describe the look instead (light, lens, "
                                                  "materials)", severity=mild)




#: `SYNTAX_NOISE`'s last part: the only one that can match in text without syntax.
#: (Written to start with a digit, the "not after a word" test just after it, so the regex
#: engine can skip to the next digit: several times faster than a leading lookbehind.)
NUMBER = Lazy(r"\d(?<![\w.]\d)\d*(?:\.\d+)?(?![\w.])")


_WEIGHT_NUMBER = Lazy(r":\s*-?\d")


def has_syntax(text: str) -> bool:
    return ("<" in text or "|" in text or "BREAK" in text or "embedding" in text
            or "::" in text or (":" in text and _WEIGHT_NUMBER.search(text) is not None))


#: (Each part starts with a character, not a test, for the same reason as `NUMBER`:
#: "B(?<!\wB)REAK" is "\bBREAK".)
SYNTAX_NOISE = Lazy(r"<[^<>\n]*>|B(?<!\wB)REAK\b|e(?<!\we)mbedding:|:\s*-?\d+(?:\.\d+)?\s*\)|"
                    r"\|[^{}|\n]*(?=[|}])|::\s*-?\d*\.?\d*|" + NUMBER.pattern)


