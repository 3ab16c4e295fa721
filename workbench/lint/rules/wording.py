"""Wording: how the prompt is written rather than what it shows: keyword soup instead of
sentences (FX103), negations that name what should not be there (FX104), quotes used for
emphasis (FX105), and in-image text left unquoted (FX113)."""

from __future__ import annotations

import re
from functools import lru_cache

from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import (
    LETTER,
    WORD,
    Caseless,
    Lazy,
    find_words,
    fragments,
    inside,
    quoted_spans,
    tag_run,
    trimmed,
)
from .common import GUIDE_MISTAKES, TEXT_CACHE
from .quality import QUALITY, QUALITY_HINTS, quality_hint
from .subject import LOOK_WORDS

#: A run of this many short comma items is a keyword list, even inside prose.
TAG_RUN = 5


@lru_cache(maxsize=TEXT_CACHE)
def keyword_soup(text: str, mask: Caseless | bool | None = True
                 ) -> tuple[int, int, int] | None:
    """``(items, start, end)`` of the longest run of short comma-separated items (at most
    three words each, articles and weights not counted, ``<lora:...>`` tags counted), or
    None when there is no run of `TAG_RUN` or more.  Full-width commas, new lines and BREAK
    separate too.  ``mask``: the quality-tag pattern to leave out of the counts, None when
    the caller knows there is no tag, True to find out."""
    if text.count(",") + text.count(";") + text.count("，") + text.count("、") \
            + text.count("\n") + text.count("BREAK") + text.count(". ") < TAG_RUN - 1:
        return None
    if mask is True:
        mask = QUALITY if quality_hint(text) and QUALITY.search(text) else None
    found = tag_run(text, mask=mask, need=TAG_RUN)
    return found if found[0] >= TAG_RUN else None


@rule("keyword-list", "FX103", "warning", family="text",
      when=lambda ctx: not ctx.is_edit,
      summary="comma-separated keyword soup instead of sentences",
      rationale="FLUX's T5 encoder understands sentences; a heap of keywords loses the "
                "relations between things (what is where, what does what). Describe the "
                "scene in natural language (a tag list with one sentence appended is still "
                "a tag list). A short run of plain items beside prose, or a list of camera "
                "settings, is advice (info), as BFL's own examples write them.",
      source=f"{GUIDE_MISTAKES}: \"beach, sunrise, sun, welcome sign, green, bright "
             "colours\" vs a sentence; BFL prompting guide: prose over keyword lists")
def keyword_list(ctx):
    if ctx.is_edit:
        return
    for field, text in ctx.prose_fields:
        mask = None
        if not QUALITY_HINTS.isdisjoint(ctx.words(field, text)) \
                and QUALITY.search(text, lower=ctx.lower(field, text)):
            mask = QUALITY  # counting leaves quality tags out
        found = keyword_soup(text, mask)
        if found:
            run, start, end = found
            yield Hit(field, start, end, f"{run} keywords in a row; FLUX follows sentences",
                      suggestion="rewrite as one or two sentences: subject and action "
                                 "first, then style, setting and light",
                      action="rewrite", severity=_soup_severity(text, run, start, end))


#: A run this long is a tag list whatever its items are.
_LONG_RUN = 8
#: What marks a run as pasted from a Stable Diffusion prompt: weights, booru underscores,
#: LoRA and embedding tags.
_SD_MARKS = ("(", "[", ":", "_", "<")


def _soup_severity(text: str, run: int, start: int, end: int) -> str | None:
    """How sure a keyword run is a problem: BFL's own examples end a sentence with a few
    style fragments ("..., a vibrant digital illustration, black background, flat color,
    2D, strong lines") and write photography as a list of settings ("Professional
    headshot, 85mm lens, f/2.8, Rembrandt lighting, corporate setting"), so a short run of
    plain items beside other text, or a whole list of look and camera items, is advice
    (info).  A long run, one with Stable Diffusion syntax or quality tags in it, or a whole
    prompt of plain keywords (the guide's "beach, sunrise, sun, welcome sign, green") is a
    warning (None: the rule's own)."""
    piece = text[start:end]
    if run >= _LONG_RUN or any(mark in piece for mark in _SD_MARKS) \
            or QUALITY.search(piece) is not None:
        return None
    head, tail = text[:start], text[end:]
    if LETTER.search(head) or LETTER.search(tail):
        return "info"  # prose or longer phrases around it
    items = fragments(piece)
    looks = sum(1 for start, end, _ in items
                if not LOOK_WORDS.isdisjoint(find_words(piece[start:end].lower())))
    return "info" if 2 * looks >= len(items) else None



_NEGATION = Caseless(
    r"\b(?:no|without|not|avoid(?:ing)?|don['’]?t|do\s+not|never|free\s+of|lacking)\b"
    r"(?!\s+(?:only|longer|matter|doubt|one\s+else)\b|[\s-]+ending\b)"
    r"(?:[ \t]+(?:any\s+|a\s+|an\s+|the\s+)?([^\W_][\w\-]*))?")
#: In an edit, "without changing ...", "don't alter ..." say what to keep: not a negation.
_PRESERVING = Lazy(
    r"(?:without|not|never|don['’]?t|do\s+not)\s+(?:any\s+)?(?:chang|alter|affect|modify|"
    r"touch|mov|los|disturb|distort|shift|edit|replac|remov)\w*", re.I)

_NEGATION_HINTS = frozenset(("no", "without", "not", "avoid", "avoiding", "don't", "don’t",
                             "dont", "do", "never", "free", "lacking"))
POSITIVE = {
    "blur": "sharp, in focus", "blurry": "sharp, in focus", "blurred": "sharp, in focus",
    "blurriness": "sharp, in focus", "noise": "clean, smooth", "noisy": "clean, smooth",
    "grain": "clean, smooth", "grainy": "clean, smooth", "people": "deserted",
    "person": "deserted", "crowd": "deserted", "crowds": "deserted",
    "clouds": "under a clear sky", "cloud": "under a clear sky",
    "shadows": "evenly lit", "shadow": "evenly lit", "watermark": "clean",
    "distortion": "natural proportions", "distorted": "natural proportions",
    "makeup": "bare-faced", "cars": "car-free", "color": "black and white",
    "colors": "black and white", "colour": "black and white", "colours": "black and white",
    "glasses": "bare eyes", "hat": "bare head", "blemishes": "clear skin",
    "buildings": "untouched nature", "text": "blank", "logo": "unbranded",
}


@rule("negation", "FX104", "warning", family="text", fix="unsafe", words=_NEGATION_HINTS,
      summary="\"no X\", \"without X\", \"not X\", \"avoid X\", \"don't ...\"",
      rationale="FLUX has no negative prompt at its guidance-distilled settings, and naming "
                "X puts X in the prompt: \"no blur\" invites blur. Describe what you want "
                "instead (\"sharp, in focus\"). In Kontext edits, \"without changing "
                "anything else\" says what to keep and is fine. \"X without Y\" describing "
                "a thing is advice (info); an item that opens with a negation, a warning.",
      source=f"{GUIDE_MISTAKES}: do not describe what you want to avoid; BFL prompting "
             "guide: FLUX does not support negative prompts")
def negation(ctx):
    for field, text in ctx.prose_fields:
        if _NEGATION_HINTS.isdisjoint(ctx.words(field, text)):
            continue
        quotes = ctx.quotes(field, text)
        for m in _NEGATION.finditer(text):
            if quotes and inside(quotes, *m.span()):
                continue
            if ctx.is_edit and _PRESERVING.match(text, m.start()):
                continue
            what = (m.group(1) or "").lower()
            positive = POSITIVE.get(what)
            fix = Fix(f"write {positive!r}", (Edit(field, *m.span(), positive),)) \
                if positive else None
            yield Hit(field, m.start(), m.end(),
                      f"{text[m.start():m.end()]!r} names what you don't want; FLUX may draw it",
                      fix=fix,
                      suggestion=f"describe the positive: {positive!r}" if positive else
                      "describe what should be there instead",
                      severity="info" if _modifies(text, m.start()) else None)


_MODIFIER = Lazy(r"without|free\s+of|lacking", re.I)


def _modifies(text: str, start: int) -> bool:
    """Whether the negation at ``start`` describes the thing just before it ("a cat face
    without body", "a vase free of flowers"): BFL's own examples write that, so it is
    advice (info).  A negation that opens its item ("no people", "without blurred
    background", "don't add text") is the negative-prompt habit: a warning."""
    return _MODIFIER.match(text, start) is not None and text[:start].rstrip()[-1:].isalnum()



_TEXT_CUE = Caseless(
    r"\b(?:says?|saying|reads?|read|reading|text|texts|written|writing|writes|words?|"
    r"lettering|letters?|typography|typed|typeface|font|fonts|serif|sans-serif|caps|"
    r"small\s+caps|logo|logotype|wordmark|title[ds]?|subtitle[ds]?|subtext|label(?:l?ed)?|"
    r"labels|caption(?:ed)?|headline|heading|subheading|slogan|tagline|banner|signs?|"
    r"signage|poster|inscription|inscribed|engraved|printed|print|spell(?:ed|s|ing)?|"
    r"spelling\s+out|named|menu|cover|neon|quote|quoted|message|callout|call-out|date|"
    r"dates|price|masthead|byline|copy|feature|speech\s+bubble|bubble|placard|sticker|"
    r"stamp|stamped|replace|change|rename|rewrite|embroidered|graffiti|chalk|handwritten|"
    r"hand-painted|marquee|plaque|badge|display(?:ed|s|ing)?|numbers?|numerals?|"
    r"digits?|update[ds]?|(?:license|licence|number|registration)\s+plates?|letterforms?|"
    r"embossed|debossed|carved|layout|header|footer|monogram)\b")
#: Chinese and Japanese "reading / the words / title ..." (no word boundaries in CJK).
_TEXT_CUE_CJK = Lazy("写着|写有|写道|字样|文字|标题|标语|题字|数字|字母|"
                     "書かれた|書いてある|文字|看板|タイトル")


@rule("quote-misuse", "FX105", "warning", family="text", fix="unsafe",
      marks=('"', "“", "«", "„", "'", "‘"),
      summary="quotes used for emphasis, not for text that must appear in the image",
      rationale="FLUX renders quoted words as text in the image. Quotes around a word for "
                "emphasis (or around the whole prompt) can print it on a surface; keep "
                "quotes for signs, titles, headlines, dates and labels, and say so (\"a sign "
                "that reads ...\").",
      source=f"{GUIDE_MISTAKES}: quotes are for text that must appear in the image, not "
             "for emphasis; BFL typography guide")
def quote_misuse(ctx):
    for field, text in ctx.prose_fields:
        for start, end in quoted_spans(text):
            window = text[max(0, start - 60):start] + " " + text[end:end + 60]
            if _TEXT_CUE.search(window) or (not window.isascii()
                                            and _TEXT_CUE_CJK.search(window)):
                continue
            whole = text[:start].strip() == "" and text[end:].strip() == ""
            yield Hit(field, start, end,
                      "the whole prompt is in quotes: FLUX may print it as text" if whole
                      else f"{text[start:end]} is quoted but nothing says it is text in "
                           "the image",
                      fix=Fix("remove the quote marks",
                              (Edit(field, start, start + 1, ""), Edit(field, end - 1, end, ""))),
                      suggestion="for in-image text, say where it appears: "
                                 f"a sign that reads {text[start:end]}" if not whole else
                                 "remove the quotes around the prompt")



_TEXT_INTRO = Lazy(
    r"\b(?:(?:that|which)\s+(?:says|reads|spells(?:\s+out)?)|with\s+the\s+(?:words?|text)|"
    r"titled|entitled|labell?ed|captioned)[ \t]+", re.I)
_NOT_TEXT = frozenset("with as by in on at for from and or a an like well aloud to about into "
                       "through out over under quietly".split())
_UPPER_RUN = Lazy(r"[A-Z0-9][A-Z0-9'’&!\-]*(?:[ \t]+[A-Z0-9][A-Z0-9'’&!\-]*)*")
_UNTIL_PUNCT = Lazy(r"[^.,;:!?\"“”«»\n]+")


#: Words that say the prompt is about lettering; with one of them, a run of capitalised words
#: ("A poster with HELLO WORLD in bold letters") is text to print.
_TYPE_CUES = frozenset("letters lettering font typeface typography text sign poster banner "
                       "headline title logo wordmark written printed painted neon".split())
_CAPS_RUN = Lazy(r"(?<![\w\"'“‘«])[A-Z][A-Z0-9'’&!\-]+(?:[ \t]+[A-Z0-9][A-Z0-9'’&!\-]*)+"
                 r"(?![\w\"'”’»])")
#: Capitalised words that are not text to print.
_NOT_PRINTED = frozenset("BREAK HDR HD UHD FHD RAW CG DSLR NYC USA UK EU LED LCD RGB CGI 3D "
                         "2D TV DJ AI ISO EV".split())


def _caps_unquoted(ctx, field, text):
    quotes = ctx.quotes(field, text)
    for m in _CAPS_RUN.finditer(text):
        run = m.group().split()
        if len([w for w in run if w not in _NOT_PRINTED and len(w) > 1]) < 2:
            continue
        if quotes and inside(quotes, *m.span()):
            continue
        words_in = m.group()
        yield Hit(field, m.start(), m.end(), f"in-image text {words_in!r} is not in quotes",
                  fix=_quote_it(field, m.start(), m.end(), words_in),
                  suggestion="put the exact words in double quotes")


#: Words that introduce in-image text ("a sign that reads ...", "titled ...").
_INTRO_WORDS = frozenset(("says", "reads", "spells", "text", "word", "words", "titled",
                          "entitled", "labeled", "labelled", "captioned"))
_TITLE_SMALL = frozenset("of the and a an in on to for at de la von van".split())


def _title_end(tokens: list[re.Match]) -> int:
    """End of a run of Title Case words ("The Lord of the Rings"), small words allowed
    between capitalised ones."""
    end = tokens[0].end()
    i = 0
    while i < len(tokens):
        word = tokens[i].group()
        if word[0].isupper() or word[0].isdigit():
            end = tokens[i].end()
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j].group().lower() in _TITLE_SMALL:
            j += 1
        if j == i or j >= len(tokens) or not tokens[j].group()[0].isupper():
            break
        i = j
    return end


@rule("text-unquoted", "FX113", "warning", family="text", fix="unsafe",
      when=lambda ctx: not ctx.is_edit, words=_TYPE_CUES | _INTRO_WORDS,
      summary="text meant to appear in the image is not in quotes",
      rationale="FLUX spells in-image text best when it is in double quotes: \"a sign that "
                "reads \\\"OPEN\\\"\". Unquoted, the words are read as description and come out "
                "garbled or as objects.",
      source="FLUX guide (seed 000): quotes are for text that must appear in the image; BFL "
             "prompting guide on typography")
def text_unquoted(ctx):
    if ctx.is_edit:
        return
    for field, text in ctx.prose_fields:
        words = ctx.words(field, text)
        done: list[tuple[int, int]] = []
        if not _TYPE_CUES.isdisjoint(words):
            for hit in _caps_unquoted(ctx, field, text):
                done.append((hit.start, hit.end))
                yield hit
        if _INTRO_WORDS.isdisjoint(words):
            continue
        for m in _TEXT_INTRO.finditer(text):
            span = _introduced_text(text, m.end())
            if span is None or any(s < span[1] and span[0] < e for s, e in done):
                continue
            start, end = span
            words_in = text[start:end]
            yield Hit(field, start, end, f"in-image text {words_in!r} is not in quotes",
                      fix=_quote_it(field, start, end, words_in),
                      suggestion="put the exact words in double quotes"
                      + ("" if ctx.is_raw else ", or in the text field"))


def _introduced_text(text: str, start: int) -> tuple[int, int] | None:
    """The span of the unquoted words after "reads", "titled"... at ``start``: an
    ALL-CAPS run, a Title Case run, or up to six words before the next punctuation; None
    when they are quoted or are not text ("reads aloud", "titled with")."""
    if start >= len(text) or text[start] in "\"“«'‘":
        return None
    first = WORD.match(text, start)
    if first is None or first.group().lower() in _NOT_TEXT:
        return None
    upper = _UPPER_RUN.match(text, start)
    if upper and upper.end() > start and upper.group().isupper() and (
            upper.end() == len(text) or not text[upper.end()].isalnum()):
        end = upper.end()
    else:
        run = _UNTIL_PUNCT.match(text, start)
        end = run.end() if run else start
        tokens = list(WORD.finditer(text, start, end))
        if first.group()[0].isupper():
            end = _title_end(tokens)
        elif len(tokens) > 6:
            end = tokens[5].end()
    if text[end:end + 1] == "%":
        end += 1
    start, end = trimmed(text, start, end)
    return (start, end) if end > start else None


def _quote_it(field: str, start: int, end: int, words: str) -> Fix:
    return Fix(f"quote it: \"{words}\"",
               (Edit(field, start, start, '"'), Edit(field, end, end, '"')))
