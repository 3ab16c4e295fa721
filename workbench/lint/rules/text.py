"""Text rules: what the words of a prompt do to FLUX (codes FX1xx).

Sources: the FLUX guide (seed 000) — natural language, early words weigh most, no SD
weights, no keyword soup, no negations, quotes only for in-image text, "white background"
blurs on dev, lighting matters most, describe a style rather than name an artist — and
BFL's prompting guide it cites (30–80 words, T5 encoder).
"""

from __future__ import annotations

import re
from functools import lru_cache

from ...tokens import CLIP_WINDOW, T5_BUDGET, t5_cut
from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import (KNOWN_EMBEDDINGS, WORD, Caseless, Lazy, alternation, clean_edit,
                        estimate_tokens, find_words, inside, item_span, iter_fragments,
                        iter_words, quoted_spans, tag_run, trimmed, word_count)

GUIDE = "FLUX guide (seed 000)"
#: Pure functions of one text are cached: a library repeats its styles and camera notes, and
#: the editor re-lints the same fields on every key.
TEXT_CACHE = 4096
GUIDE_MISTAKES = "FLUX guide (seed 000), \"Avoiding common mistakes\""

# -- weight-syntax ---------------------------------------------------------------------------

_WEIGHT = re.compile(
    r"\(+\s*([^()\n]*?)\s*:\s*-?\d+(?:\.\d+)?\s*\)+"   # (word:1.4), ((word:1.2))
    r"|\({2,}([^()\n]*)\){2,}"                          # ((word))
    r"|\[+([^\[\]\n]*)\]+"                              # [word], [a:b:0.5]
    r"|\{+([^{}|\n]*)\}+"                                # {word} ({a|b} is choice syntax)
    r"|(?<=\S)\s*::\s*-?\d*\.?\d+|(?<=\S)\s*::(?!:)"  # word::2 (Midjourney)
)
#: `_WEIGHT` without its "::" forms (the groups keep their numbers).
_WEIGHT_BRACKETS = re.compile(_WEIGHT.pattern.rsplit("|(?<=", 1)[0].rsplit("|(?<=", 1)[0])
#: A1111 prompt editing / scheduling: [from:to:0.5], [word:0.5]: no single "inner words".
_SCHEDULE = re.compile(r"\[[^\[\]\n]*:\s*-?\d*\.?\d+\s*\]")


def unweight(text: str) -> str:
    """``text`` with every weighting construct replaced by its inner words."""
    for _ in range(10):
        new = _WEIGHT.sub(lambda m: next((g for g in m.groups() if g is not None), ""), text)
        if new == text:
            break
        text = new
    return text


@rule("weight-syntax", "FX101", "warning", family="text", fix="safe",
      marks=("(", "[", "{", "::"),
      summary="Stable Diffusion / Midjourney weighting: (word:1.4), ((word)), [word], "
              "{word}, word::2",
      rationale="FLUX was not trained with prompt weights (BFL: weighting is not supported). "
                "ComfyUI does read (word:1.2) and ((word)) and scales those tokens' T5 and "
                "CLIP embeddings, so the effect is unpredictable; [word], {word} and "
                "word::2 it does not parse at all, and the brackets reach the encoders as "
                "text. Say it in words instead: \"with emphasis on ...\", \"especially "
                "...\".",
      source=f"{GUIDE_MISTAKES}: weights like \"(beautiful:1.5)\" work in Stable "
             "Diffusion, not in FLUX; ComfyUI comfy/sd1_clip.py token_weights (parentheses "
             "only) and ClipTokenWeightEncoder, used for FLUX's T5 in comfy/text_encoders/"
             "flux.py")
def weight_syntax(ctx):
    for field, text in ctx.prose_fields:
        if "::" in text:
            pattern = _WEIGHT
        elif "(" in text or "[" in text or "{" in text:
            pattern = _WEIGHT_BRACKETS
        else:
            continue
        for m in pattern.finditer(text):
            raw = m.group()
            inner = unweight(next((g for g in m.groups() if g is not None), ""))
            words = inner.strip()
            parsed = raw.lstrip().startswith("(")
            if _SCHEDULE.fullmatch(raw.strip()):
                yield Hit(field, m.start(), m.end(),
                          f"A1111 prompt editing {raw.strip()!r} is not understood by "
                          "ComfyUI; FLUX reads the brackets and numbers as text",
                          suggestion="write the version you want in words")
                continue
            if words or not raw.strip()[:1] in "([{":
                if not inner and 0 < m.start() and m.end() < len(text) \
                        and text[m.start() - 1].isalnum() and text[m.end()].isalnum():
                    inner = " "
                # keep words apart: "a(b:1.2)c" becomes "a b c", not "abc"
                if inner and m.start() > 0 and text[m.start() - 1].isalnum() \
                        and inner[0].isalnum():
                    inner = " " + inner
                if inner and m.end() < len(text) and text[m.end()].isalnum() \
                        and inner[-1].isalnum():
                    inner += " "
                fix = Fix(f"drop the weighting, keep {words!r}" if words else
                          "drop the weighting", (Edit(field, m.start(), m.end(), inner),),
                          safe=True)
            else:
                edit = clean_edit(field, text, m.start(), m.end())
                fix = Fix("remove the empty weighting", (edit,), safe=True) if edit else None
            what = ("ComfyUI scales these tokens, but FLUX was not trained with weights"
                    if parsed else "ComfyUI does not parse this; FLUX reads it as text")
            yield Hit(field, m.start(), m.end(), f"weight syntax {raw.strip()!r}: {what}",
                      fix=fix,
                      suggestion=f"write \"with emphasis on {words}\" if it matters"
                      if words else "")


# -- white-background -------------------------------------------------------------------------

_WHITE_BG = re.compile(r"(?<!clean )\b(?:(?:plain|pure|solid|simple|blank|all)[\s-]+)?"
                       r"white[\s-]+(?:background|bg)\b", re.I)
WHITE_BG_RE = _WHITE_BG
WHITE_FIX = "clean white seamless backdrop"


@rule("white-background", "FX102", "info", family="text", fix="safe",
      when=lambda ctx: ctx.spec.model == "dev", marks=("hite", "HITE"),
      summary="\"white background\" on FLUX.1 dev",
      rationale="On FLUX.1 [dev] the phrase \"white background\" often gives blurry "
                "results; users report the same in the FLUX repository's issues. It is a "
                "quirk of dev, not a mistake (BFL's own product prompts use it), so this is "
                f"advice: \"{WHITE_FIX}\" avoids it.",
      source=f"{GUIDE_MISTAKES}; black-forest-labs/flux issues")
def white_background(ctx):
    if ctx.spec.model != "dev":
        return
    for field, text in ctx.prose_fields:
        if "hite" not in text and "HITE" not in text:
            continue
        for m in _WHITE_BG.finditer(text):
            if inside(ctx.quotes(field, text), *m.span()):
                continue
            yield Hit(field, m.start(), m.end(),
                      f"{m.group()!r} tends to blur FLUX.1 dev images",
                      fix=Fix(f"write {WHITE_FIX!r}", (Edit(field, *m.span(), WHITE_FIX),),
                              safe=True),
                      suggestion="or leave the background out and let the model choose")


# -- keyword-list -----------------------------------------------------------------------------

_FUNCTION_WORDS = frozenset(
    "a an the of with in on at by for from to into onto over under above below behind "
    "beside near through across against and while is are was were be being as its his "
    "her their that which who whose this these those it he she they".split())
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
        mask = _QUALITY if _quality_hint(text) and _QUALITY.search(text) else None
    found = tag_run(text, mask=mask, need=TAG_RUN)
    return found if found[0] >= TAG_RUN else None


@rule("keyword-list", "FX103", "warning", family="text",
      when=lambda ctx: not ctx.is_edit,
      summary="comma-separated keyword soup instead of sentences",
      rationale="FLUX's T5 encoder understands sentences; a heap of keywords loses the "
                "relations between things (what is where, what does what). Describe the "
                "scene in natural language (a tag list with one sentence appended is still "
                "a tag list).",
      source=f"{GUIDE_MISTAKES}: \"beach, sunrise, sun, welcome sign, green, bright "
             "colours\" vs a sentence; BFL prompting guide: prose over keyword lists")
def keyword_list(ctx):
    if ctx.is_edit:
        return
    for field, text in ctx.prose_fields:
        mask = None
        if not _QUALITY_HINTS.isdisjoint(ctx.words(field, text)) \
                and _QUALITY.search(text, lower=ctx.lower(field, text)):
            mask = _QUALITY  # counting leaves quality tags out
        found = keyword_soup(text, mask)
        if found:
            run, start, end = found
            yield Hit(field, start, end, f"{run} keywords in a row; FLUX follows sentences",
                      suggestion="rewrite as one or two sentences: subject and action "
                                 "first, then style, setting and light",
                      action="rewrite")


# -- negation ---------------------------------------------------------------------------------

_NEGATION = Caseless(
    r"\b(?:no|without|not|avoid(?:ing)?|don['’]?t|do\s+not|never|free\s+of|lacking)\b"
    r"(?!\s+(?:only|longer|matter|doubt|one\s+else)\b|[\s-]+ending\b)"
    r"(?:[ \t]+(?:any\s+|a\s+|an\s+|the\s+)?([^\W_][\w\-]*))?")
#: In an edit, "without changing ...", "don't alter ..." say what to keep: not a negation.
_PRESERVING = re.compile(
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
                "anything else\" says what to keep and is fine.",
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
                      "describe what should be there instead")


# -- quote-misuse -----------------------------------------------------------------------------

_TEXT_CUE = Caseless(
    r"\b(?:says?|saying|reads?|read|reading|text|texts|written|writing|writes|words?|"
    r"lettering|letters?|typography|typed|typeface|font|fonts|serif|sans-serif|caps|"
    r"small\s+caps|logo|logotype|wordmark|title[ds]?|subtitle[ds]?|subtext|label(?:l?ed)?|"
    r"labels|caption(?:ed)?|headline|heading|subheading|slogan|tagline|banner|signs?|"
    r"signage|poster|inscription|inscribed|engraved|printed|print|spell(?:ed|s|ing)?|"
    r"spelling\s+out|named|menu|cover|neon|quote|quoted|message|callout|call-out|date|"
    r"dates|price|masthead|byline|copy|feature|speech\s+bubble|bubble|placard|sticker|"
    r"stamp|stamped|replace|change|rename|rewrite|embroidered|graffiti|chalk|handwritten|"
    r"hand-painted|marquee|plaque|badge|display(?:ed|s|ing)?)\b")
#: Chinese and Japanese "reading / the words / title ..." (no word boundaries in CJK).
_TEXT_CUE_CJK = Lazy("写着|写有|写道|字样|文字|标题|标语|题字|書かれた|書いてある|文字|看板|タイトル")


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
            window = text[max(0, start - 60):start] + " " + text[end:end + 25]
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


# -- sd-quality-tags --------------------------------------------------------------------------

QUALITY_TAGS = (
    "masterpiece", "best quality", "high quality", "highest quality", "top quality",
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
)
_QUALITY = Caseless(rf"(?<![\w-])(?:(?:4|8|16|32)\s?k(?:\s?uhd)?|"
                    rf"{alternation(QUALITY_TAGS)})(?![\w-])")
QUALITY_RE = _QUALITY
#: First words of the tags: a field without any of them cannot contain a tag.
_QUALITY_HINTS = (frozenset(WORD.findall(tag)[0] for tag in QUALITY_TAGS)
                  | frozenset(tag.split()[0].split("-")[0] for tag in QUALITY_TAGS)
                  | frozenset(("4k", "8k", "16k", "32k", "4", "8", "16", "32", "on")))
#: One word of every tag, the rarest in ordinary prose (a tag needs all of its words, so a
#: prompt with none of these has no tag): "quality", not "best"; "artstation", not "on".
_COMMON = frozenset(("on", "best", "high", "highest", "top", "ultra", "amazing", "full", "hi",
                     "extremely", "hyper", "highly", "insane", "insanely", "intricate", "photo",
                     "photography", "trending", "featured", "winning", "render", "engine",
                     "worst", "low", "normal", "4", "5", "8", "16", "32"))
#: A tag wrapped in its own weight brackets: "(masterpiece:1.2)", "((best quality))".
_WRAPPED = re.compile(r"\(+\s*$")
_UNWRAP_TAIL = re.compile(r"\s*(?::\s*-?\d+(?:\.\d+)?)?\s*\)+")


def _quality_hint(text: str) -> bool:
    """Whether ``text`` may hold a quality tag (a word-set test, much cheaper than the
    tag regex)."""
    return not _QUALITY_HINTS.isdisjoint(find_words(text.lower()))


#: Every tag as a tuple of lower-case words, and the longest tag in words.
_TAG_WORDS = frozenset(tuple(find_words(tag)) for tag in QUALITY_TAGS) | frozenset(
    (f"{n}k",) for n in (4, 8, 16, 32)) | frozenset(
    ((f"{n}k", "uhd") for n in (4, 8, 16, 32))) | frozenset(
    ((str(n), "k") for n in (4, 8, 16, 32)))
_TAG_LONGEST = max(len(t) for t in _TAG_WORDS)
_QUALITY_TRIGGERS = frozenset(
    next((w for w in reversed(tag) if w not in _COMMON), tag[-1]) for tag in _TAG_WORDS)


def quality_tag_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The quality tags of ``text`` as whole units (with their own weight brackets): the
    longest run of words that is a tag, words matched case-insensitively."""
    if _QUALITY_TRIGGERS.isdisjoint(find_words(text.lower())):
        return ()  # no tag has all its words here (most prompts)
    return _tag_spans(text)


def field_tags(ctx, field: str, text: str) -> tuple[tuple[int, int], ...]:
    """`quality_tag_spans` of one field, the word test done on the words the context has."""
    if _QUALITY_TRIGGERS.isdisjoint(ctx.words(field, text)):
        return ()
    return _tag_spans(text)


@lru_cache(maxsize=TEXT_CACHE)
def _tag_spans(text: str) -> tuple[tuple[int, int], ...]:
    words = list(iter_words(text))
    lowered = [w.group().lower() for w in words]
    spans = []
    i = 0
    while i < len(words):
        if lowered[i] not in _QUALITY_HINTS:
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
    """Words of one tag are separated by spaces only ("best quality", not "best, quality")."""
    return all(text[a.end():b.start()].isspace() or (a.group()[-1].isdigit()
                                                     and not text[a.end():b.start()])
               for a, b in zip(words, words[1:]))


@rule("sd-quality-tags", "FX106", "warning", family="text", fix="safe",
      words=_QUALITY_TRIGGERS,
      summary="\"masterpiece\", \"best quality\", \"8k\", \"HDR\", \"trending on "
              "artstation\"...",
      rationale="Quality tags are Stable Diffusion folklore; FLUX was not trained to "
                "respond to them, so they only dilute the prompt and push the subject "
                "later. Describe the look you want instead (light, lens, materials).",
      source=f"{GUIDE}: write natural language without special keywords; BFL prompting "
             "guide (keyword lists with \"8k, detailed\" are less effective)")
def sd_quality_tags(ctx):
    for field, text in ctx.prose_fields:
        if _QUALITY_TRIGGERS.isdisjoint(ctx.words(field, text)):
            continue
        quotes = ctx.quotes(field, text)
        spans = [s for s in _tag_spans(text) if not (quotes and inside(quotes, *s))]
        if not spans:
            continue
        # removing every tag must leave a prompt: otherwise offer no unattended fix
        rest = text
        for start, end in reversed(spans):
            rest = rest[:start] + " " + rest[end:]
        keep = bool(_LETTER.search(_SYNTAX_NOISE.sub(" ", rest)))
        for start, end in spans:
            tag = text[start:end]
            # unattended only at the edge of its comma item: taking a tag out of the middle
            # of a phrase ("by masterpiece Rutkowski") would make a new phrase
            item = item_span(text, start, end) if keep else None
            edge = item is not None and (not text[item[0]:start].strip(" ([{")
                                         or not text[end:item[1]].strip(" )]}"))
            edit = clean_edit(field, text, start, end) if keep else None
            if edit is not None and not edge:
                yield Hit(field, start, end,
                          f"{tag!r} is a Stable Diffusion quality tag; FLUX ignores it",
                          fix=Fix(f"remove {tag!r}", (edit,)))
                continue
            yield Hit(field, start, end,
                      f"{tag!r} is a Stable Diffusion quality tag; FLUX ignores it",
                      fix=Fix(f"remove {tag!r}", (edit,), safe=True) if edit else None,
                      suggestion="" if edit else "describe the look instead (light, lens, "
                                                  "materials)")


# -- non-english ------------------------------------------------------------------------------

_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")
_SCRIPTS = (
    (Lazy(r"[\u3040-\u30ff]"), "Japanese"),
    (Lazy(r"[\uac00-\ud7af\u1100-\u11ff]"), "Korean"),
    (Lazy(r"[\u3400-\u4dbf\u4e00-\u9fff]"), "Chinese"),
    (Lazy(r"[\u0400-\u04ff]"), "Russian or another Cyrillic-script language"),
    (Lazy(r"[\u0370-\u03ff]"), "Greek"),
    (Lazy(r"[\u0600-\u06ff]"), "Arabic"),
    (Lazy(r"[\u0590-\u05ff]"), "Hebrew"),
    (Lazy(r"[\u0900-\u097f]"), "Hindi (Devanagari)"),
    (Lazy(r"[\u0e00-\u0e7f]"), "Thai"),
)
#: Function words that are not English, by Latin-script language.
_FOREIGN_WORDS = {
    "Spanish": frozenset("el la los las del y una unos unas que por para es muy sobre entre "
                         "su sus al".split()),
    "French": frozenset("le la les des du et avec une un que pour dans sur est très aux au "
                        "ses sous".split()),
    "German": frozenset("der das und mit ein eine einem einer im auf für von zu ist sehr "
                        "dem den des".split()),
    "Italian": frozenset("il lo la gli di con una che nel nella sul della molto".split()),
    "Portuguese": frozenset("os um uma que para na em muito sobre dos das da".split()),
}
_ENGLISH = _FUNCTION_WORDS | frozenset("with of and".split())
_ANY_FOREIGN = frozenset().union(*_FOREIGN_WORDS.values()) - _ENGLISH


def non_latin_share(text: str) -> tuple[int, float]:
    letters = len(_LETTER.findall(text))
    if not letters:
        return 0, 0.0
    other = letters - len(_LATIN.findall(text))
    return other, other / letters


@lru_cache(maxsize=TEXT_CACHE)
def language_of(text: str) -> str | None:
    """The language ``text`` is mostly written in when that is not English, else None."""
    if not text.isascii():
        other, share = non_latin_share(text)
        if other >= 3 and share > 0.5:
            counts = [(len(pattern.findall(text)), name) for pattern, name in _SCRIPTS]
            # Japanese mixes kana with kanji: any kana at all makes it Japanese
            if counts[0][0]:
                return "Japanese"
            best = max(counts)
            return best[1] if best[0] else "a non-Latin script"
    words = [w.lower() for w in WORD.findall(text)]
    if len(words) < 4:
        return None
    english = sum(1 for w in words if w in _ENGLISH)
    for name, vocab in _FOREIGN_WORDS.items():
        hits = sum(1 for w in words if w in vocab and w not in _ENGLISH)
        if hits >= 3 and hits >= 2 * english and hits / len(words) >= 0.2:
            return name
    return None


@rule("non-english", "FX107", "warning", family="text", words=_ANY_FOREIGN, unicode=True,
      summary="the prompt is not in English (Chinese, Russian, Spanish...)",
      rationale="FLUX's T5 text encoder was trained on English text; other languages are "
                "understood poorly or not at all (most CJK characters are unknown tokens). "
                "Translate the prompt to English (the translate action, F9, keeps in-image "
                "text in quotes as it is).",
      source="FLUX guide (seed 000): FLUX uses a T5-XXL encoder (t5xxl_fp16); seed 002: "
             "\"English for prompts is right for ComfyUI\"")
def non_english(ctx):
    for field, text in ctx.prose_fields:
        words = ctx.words(field, text)
        if text.isascii() and (len(words) < 4 or not _may_be_foreign(words)):
            continue
        quotes = ctx.quotes(field, text)
        probe = text
        for start, end in reversed(quotes):
            probe = probe[:start] + probe[end:]
        language = language_of(probe)
        if language:
            yield Hit(field, *trimmed(text),
                      f"written in {language}; FLUX's T5 encoder reads English",
                      suggestion="translate it to English: F9, then Translate (in-image "
                                 "text in quotes stays as it is)", action="translate")


# -- prompt-length / word-count -----------------------------------------------------------------

TOKEN_BUDGET = T5_BUDGET
MIN_WORDS = 5
#: BFL's current guidance (docs.bfl.ai, "Building a Good Prompt"): short 10–30 words, medium
#: 30–80, long 80–300+ for complex scenes.  Only past the long range is length worth a word.
WORD_RANGE = (10, 300)


def mostly_foreign(ctx) -> bool:
    """Most of the prompt is not English: English-vocabulary rules stay quiet (non-english
    already says what matters)."""
    found = ctx.memo.get("foreign")
    if found is None:
        field, text = ctx.whole
        if text.isascii():
            found = ctx.whole_words >= 4 and _may_be_foreign(ctx.words(field, text)) \
                and language_of(text) is not None
        else:
            found = non_latin_share(text)[1] > 0.5
        ctx.memo["foreign"] = found
    return found


def _may_be_foreign(words: frozenset[str]) -> bool:
    """Cheap test before `language_of`: at least three foreign function words."""
    return len(words & _ANY_FOREIGN) >= 3 or (len(words & _ANY_FOREIGN) >= 1
                                               and len(words) < 12)


def content_words(ctx) -> int:
    """Words that describe something: quality tags, weights, LoRA tags, BREAK and the other
    options of a {a|b} choice left out (only prompts that have any of those pay for it)."""
    found = ctx.memo.get("content")
    if found is None:
        field, text = ctx.whole
        found = ctx.whole_words
        words = ctx.words(field, text)
        syntax = _has_syntax(text)
        if syntax or not _QUALITY_HINTS.isdisjoint(words):
            tags = not _QUALITY_TRIGGERS.isdisjoint(words)
            # without tags or syntax, only bare numbers can be left out
            if tags or syntax or _NUMBER.search(text):
                found = _content_words_of(text, tags)
        ctx.memo["content"] = found
    return found


@lru_cache(maxsize=TEXT_CACHE)
def _content_words_of(text: str, tags: bool) -> int:
    for start, end in reversed(_tag_spans(text) if tags else ()):
        text = text[:start] + " " + text[end:]
    # without syntax, the numbers are all `_SYNTAX_NOISE` can find
    return word_count((_SYNTAX_NOISE if _has_syntax(text) else _NUMBER).sub(" ", text))


#: `_SYNTAX_NOISE`'s last part: the only one that can match in text without syntax.
#: (Written to start with a digit, the "not after a word" test just after it, so the regex
#: engine can skip to the next digit: several times faster than a leading lookbehind.)
_NUMBER = re.compile(r"\d(?<![\w.]\d)\d*(?:\.\d+)?(?![\w.])")


_WEIGHT_NUMBER = re.compile(r":\s*-?\d")


def _has_syntax(text: str) -> bool:
    return ("<" in text or "|" in text or "BREAK" in text or "embedding" in text
            or "::" in text or (":" in text and _WEIGHT_NUMBER.search(text) is not None))


#: (Each part starts with a character, not a test, for the same reason as `_NUMBER`:
#: "B(?<!\wB)REAK" is "\bBREAK".)
_SYNTAX_NOISE = re.compile(r"<[^<>\n]*>|B(?<!\wB)REAK\b|e(?<!\we)mbedding:|:\s*-?\d+(?:\.\d+)?\s*\)|"
                           r"\|[^{}|\n]*(?=[|}])|::\s*-?\d*\.?\d*|" + _NUMBER.pattern)


def too_short(ctx) -> bool:
    return not ctx.is_edit and content_words(ctx) < MIN_WORDS


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


# -- subject-late -----------------------------------------------------------------------------

_STYLE_WORDS = frozenset("""
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
surreal surrealist abstract lofi cyberpunk steampunk gothic baroque renaissance
""".split())
_LEAD_STOP = _FUNCTION_WORDS | {"on", "shot", "using", "very", "extremely", "super", "s"}
_BACKGROUND_FIRST = Caseless(
    r"\s*(?:in\s+the\s+background|the\s+background|background\s*:|in\s+the\s+distance|"
    r"(?:(?:a|an|the)\s+)?(?:[\w'-]+\s+){0,4}?(?:background|backdrop)(?=\s+(?:with|where|"
    r"in\s+which|of|at|under|behind)\b))\b")
_CLAUSE_END = re.compile(r"[^.,;:\n]*[.,;:\n]?")
_STYLE_FIRST = Caseless(
    r"\s*(?:in\s+the\s+(?:style|manner)\s+of|in\s+the\s+vein\s+of|style\s+of|inspired\s+by|"
    r"[àa]\s+la)\s+[^,.;:\n]+[,.;:\n]")
#: Leading comma items that are quality, medium or style tags, not a subject.
_STYLE_ITEM = re.compile(
    r"(?:[\w'-]+\s+){0,3}(?:style|art\s+style|aesthetic)|(?:inspired\s+by|in\s+the\s+style\s+"
    r"of|style\s+of|art\s+by)\s+.+|by\s+(?:[A-Z][\w'’.-]*\s*){1,4}", re.I)
#: Numbers that are camera or quality settings ("35mm", "8k", "f", "1.4"), not "1girl".
_MEASURE = re.compile(r"\d+(?:mm|k|s|x|px|p|fps|mp|d)?|f\d+")
LATE_AFTER_WORDS = 6
PREAMBLE_ITEMS = 3


@lru_cache(maxsize=TEXT_CACHE)
def subject_start(text: str) -> tuple[int, int, int] | None:
    """(offset of the first word that is not style vocabulary, style words before it, end of
    the last style word before it); None when every word is style vocabulary.  Words of
    quality tags ("full HD", "trending on artstation") count as style."""
    styles = last_end = 0
    tags = None  # looked for only if a word is not style vocabulary (most openers are)
    for m in iter_words(text):
        word = m.group().lower()
        if word in _LEAD_STOP or m.group() == "BREAK":
            continue
        if not (word in _STYLE_WORDS or _MEASURE.fullmatch(word)) and tags is None:
            tags = quality_tag_spans(text)
        if word in _STYLE_WORDS or _MEASURE.fullmatch(word) or (
                tags and any(s <= m.start() < e for s, e in tags)):
            styles += 1
            last_end = m.end()
            continue
        return m.start(), styles, last_end
    return None


def _is_style_item(text: str, start: int, end: int) -> bool:
    item = text[start:end]
    words = [w.lower() for w in find_words(item)]
    if all(w in _STYLE_WORDS or w in _LEAD_STOP or _MEASURE.fullmatch(w) for w in words):
        return True  # the common case, decided on a word set
    if not _QUALITY_TRIGGERS.isdisjoint(words):
        masked = item
        for s, e in reversed(_tag_spans(item)):
            masked = masked[:s] + " " + masked[e:]
        rest = [w.lower() for w in find_words(masked)]
        if all(w in _STYLE_WORDS or w in _LEAD_STOP or _MEASURE.fullmatch(w) for w in rest):
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
        if not ctx.spec.subject.strip() and ctx.user_fields and not too_short(ctx):
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


# -- style-name-only --------------------------------------------------------------------------

KNOWN_ARTISTS = (
    "greg rutkowski", "alphonse mucha", "artgerm", "stanley artgerm", "stanley artgerm lau",
    "wlop", "van gogh", "vincent van gogh", "picasso", "pablo picasso", "monet",
    "claude monet", "rembrandt", "salvador dali", "dali", "hayao miyazaki", "studio ghibli",
    "ghibli", "makoto shinkai", "beeple", "james gurney", "thomas kinkade", "frida kahlo",
    "klimt", "gustav klimt", "hokusai", "banksy", "andy warhol", "warhol", "edward hopper",
    "wes anderson", "tim burton", "h.r. giger", "hr giger", "giger", "moebius",
    "ansel adams", "annie leibovitz", "diane arbus", "norman rockwell", "zdzislaw beksinski",
    "zdzisław beksiński", "beksinski", "beksiński", "simon stalenhag", "simon stålenhag",
    "ilya kuvshinov", "loish", "rossdraws", "sakimichan", "caravaggio", "vermeer",
    "johannes vermeer", "da vinci", "leonardo da vinci", "michelangelo", "turner",
    "j.m.w. turner", "magritte", "rene magritte", "kandinsky", "mondrian", "basquiat",
    "yoshitaka amano", "craig mullins", "syd mead", "ralph mcquarrie", "tim walker",
    "range murata", "tom bagshaw", "ruan jia", "kentaro miura", "fenghua zhong",
    "arthur rackham", "john bauer", "brian froud", "krenz cushart", "artem demura",
    "james jean", "go nagai", "mark brooks", "brad kunkle", "peter mohrbacher",
    "charlie bowater", "alena aenami", "andreas rocha", "albert bierstadt", "john singer sargent",
    "jean-auguste-dominique ingres", "ingres", "takato yamamoto", "francis bacon",
    "katsuhiro otomo", "yoji shinkawa", "gaston bussiere", "donato giancola",
    "lois van baarle", "magali villeneuve", "jeremy lipking", "bob ross", "mario testino",
)
#: What a few famous styles look like, for a suggestion that fits the name.
TRAITS = {
    "van gogh": "thick swirling impasto brush strokes and bold complementary colours",
    "monet": "soft broken brushwork, dappled light and pastel impressionist colour",
    "picasso": "fractured geometric cubist planes and flattened perspective",
    "rembrandt": "deep chiaroscuro, warm earthy browns and a single soft light",
    "vermeer": "quiet window light, luminous pearly tones and fine detail",
    "caravaggio": "stark chiaroscuro with figures emerging from darkness",
    "mucha": "art nouveau flowing lines, ornate floral frames and muted pastels",
    "klimt": "gold leaf, flat ornamental patterns and mosaic textures",
    "hokusai": "ukiyo-e woodblock print, bold outlines and flat Prussian blue",
    "ghibli": "soft hand-painted backgrounds, gentle pastel skies and warm light",
    "miyazaki": "soft hand-painted backgrounds, gentle pastel skies and warm light",
    "shinkai": "hyper-detailed anime skies, lens flares and saturated twilight",
    "rutkowski": "painterly fantasy concept art with dramatic lighting",
    "artgerm": "glossy polished digital portrait painting with smooth skin shading",
    "hopper": "stark raking light, empty urban spaces and muted flat colour",
    "beksinski": "dystopian surreal decay, bone-like forms and muted sepia haze",
    "beksiński": "dystopian surreal decay, bone-like forms and muted sepia haze",
    "warhol": "flat silkscreen pop art with bold repeated colour blocks",
    "dali": "melting surreal dreamscapes with long shadows",
    "giger": "biomechanical monochrome forms, ribbed metal and bone",
    "ansel adams": "high-contrast black and white with deep tones",
    "moebius": "clean ligne-claire line art and flat airy colour",
    "wes anderson": "symmetrical centred framing and pastel palettes",
    "rackham": "muted ink-and-watercolour with gnarled trees and delicate line",
    "kuvshinov": "soft anime portrait painting with pastel shading",
}
_PARTICLE = r"(?:van|von|de|da|di|del|der|la|le|du)"
_NAME = (rf"(?:(?!BREAK\b)[A-Z][\w'’.\-]+|{_PARTICLE})"
         rf"(?:\s+(?:(?!BREAK\b)[A-Z][\w'’.\-]+|{_PARTICLE})){{0,3}}")
_BY_NAME = re.compile(rf"\b(?:[Ii]n\s+the\s+style\s+of|[Ss]tyle\s+of|[Ii]nspired\s+by|by|"
                      rf"[àa]\s+la)\s+(?!BREAK\b)({_NAME})")
#: Lower-case names after an art word: "art by artgerm and greg rutkowski", "painting by
#: greg rutkowski", "by mr jack on deviantart".
_ART_BY = re.compile(r"\b(?:art|artwork|painting|painted|illustration|illustrated|drawing|"
                     r"drawn|sketch|render|photo|photograph|design|concept\s+art)\s+by\s+"
                     r"(?!BREAK\b)([a-z][\w'’.\-]*(?:\s+[a-z][\w'’.\-]*){0,2})\b")
#: "by a knight on deviantart" (an article) describes a subject, not an artist.
_BY_ON_SITE = re.compile(r"\bby\s+(?!BREAK\b|(?:a|an|the)\s)([a-z][\w'’.\-]*(?:\s+[a-z][\w'’.\-]*){0,2})\s+on\s+"
                         r"(?:deviantart|artstation|pixiv|behance|instagram)\b", re.I)
_ARTIST_HINTS = frozenset(WORD.findall(name)[0] for name in KNOWN_ARTISTS) | frozenset(
    ("beksiński", "zdzisław", "stålenhag"))
_KNOWN = Caseless(rf"(?<![\w-])(?:{alternation(KNOWN_ARTISTS)})(?![\w-])")
_DESCRIBED = Caseless(r"\s*(?:['’]s\s+\w+\s+)?(?:,\s*)?(?:with|featuring|using|showing|"
                      r"known\s+for|characteri[sz]ed\s+by|marked\s+by|full\s+of|in\s+which|"
                      r"where|inspired|[—–:(-])")
#: Words that describe how a style looks (not just that it is "detailed" or "bright").
_TRAIT_WORDS = Caseless(
    r"\b(?:brush\s*strokes?|brushwork|brushed|impasto|linework|line\s+work|lines|line\s+art|"
    r"palette|tones|shading|cel[\s-]shad\w*|cross-hatch\w*|hatching|swirl\w*|textures?|"
    r"washes|halftone|geometric|gold\s+leaf|woodblock|flat\s+colou?rs?|chiaroscuro|"
    r"ornate|ornamental|art\s+nouveau|cubis\w*|surreal\w*|pastel|sepia|monochrome|"
    r"black\s+and\s+white)\b")
#: Movements and schools: names of looks FLUX knows, not artists to describe.
_MOVEMENTS = re.compile(r"(?:Art\s+Deco|Art\s+Nouveau|Bauhaus|Baroque|Rococo|Renaissance|"
                        r"Impressionism|Expressionism|Cubism|Surrealism|Pop\s+Art|Ukiyo-e|"
                        r"Art\s+Brut|Memphis|Brutalism|Minimalism|Vaporwave|Synthwave)(?:\s+"
                        r"(?:style|art))?", re.I)
_EMBEDDING_NAMES = frozenset(n.lower() for n in KNOWN_EMBEDDINGS)
_STYLE_PREFIX = re.compile(r"^\s*(?:(?:in\s+the\s+)?style\s+of|by|inspired\s+by|[àa]\s+la)\s+",
                           re.I)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[;\n]")


def _named_only(text: str, end: int) -> bool:
    """True when nothing after the name (in its sentence) describes the style's traits."""
    rest = text[end:]
    stop = _SENTENCE_END.search(rest)
    clause = rest[:stop.start()] if stop else rest
    if not clause.strip():
        return True
    if _DESCRIBED.match(clause) or _TRAIT_WORDS.search(clause):
        return False
    return True


def _a_name(name: str) -> bool:
    """Whether capitalised words can be a person's name: not a movement ("Art Deco"), not
    syntax ("BREAK"), not an embedding or a quality tag."""
    if _MOVEMENTS.fullmatch(name):
        return False
    return not any(w == "BREAK" or w.lower() in _EMBEDDING_NAMES or _QUALITY.fullmatch(w)
                   for w in name.split())


def _fold(name: str) -> str:
    return name.lower().replace("’", "'")


def _traits_for(name: str) -> str:
    folded = _fold(name)
    for key, traits in TRAITS.items():
        if key in folded:
            return traits
    return ""


def _suggest(names: str) -> str:
    traits = _traits_for(names)
    if traits:
        return f"add what it looks like: \"... with {traits}\""
    return (f"describe what {names.strip()}'s work looks like: medium, brushwork or line, "
            "palette, light")


@rule("style-name-only", "FX110", "warning", family="text",
      words=_ARTIST_HINTS | {"by", "style", "la"}, fields=("style",),
      summary="style given only as an artist's name (or a list of them)",
      rationale="FLUX follows a style better when you describe its traits (\"abstract "
                "geometric shapes in bright neon colours\") than when you only name an "
                "artist (\"Picasso\"), and a list of names after \"by\" mostly adds noise; "
                "name and traits together work best.",
      source=f"{GUIDE}, \"Using artistic references and styles\"; BFL prompting guide "
             "(\"Ansel Adams inspired black and white with deep tones\")")
def style_name_only(ctx):
    for field, text in ctx.prose_fields:
        if field == "style":
            bare = _STYLE_PREFIX.sub("", text).strip().rstrip(".")
            bare = re.sub(r"\s+style$", "", bare, flags=re.I)
            if bare and (_KNOWN.fullmatch(bare)
                         or (" " in bare and re.fullmatch(_NAME, bare) and _a_name(bare))):
                yield Hit(field, *trimmed(text), f"the style is only a name ({bare!r})",
                          suggestion=_suggest(bare))
                continue
        spans: list[tuple[int, int]] = []
        words = ctx.words(field, text)
        by = "by" in words or "style" in words or "la" in words
        known = not _ARTIST_HINTS.isdisjoint(words)
        if not (by or known):
            continue
        tags = field_tags(ctx, field, text) if by else []
        for m in _BY_NAME.finditer(text) if by else ():
            name_start, name_end = m.span(1)
            if any(s < name_end and name_start < e for s, e in tags) \
                    or text[name_start:name_end].lower() in _EMBEDDING_NAMES:
                continue  # "by HDR", "by EasyNegative": not a name
            while name_end > name_start and text[name_end - 1] == ".":
                name_end -= 1
            name = text[name_start:name_end]
            if not text[name_start].isupper() or not _a_name(name):
                continue
            if " " not in name and not m.group().lower().startswith("by") \
                    and not _KNOWN.fullmatch(name):
                continue  # "in the style of WordArt": a look, not necessarily an artist
            if _named_only(text, name_end):
                spans.append((m.start(), name_end))
        for pattern in (_ART_BY, _BY_ON_SITE) if by else ():
            for m in pattern.finditer(text):
                if any(s <= m.start(1) < e for s, e in spans):
                    continue
                if any(s < m.end(1) and m.start(1) < e for s, e in tags):
                    continue  # "by masterpiece", "by trending on artstation": not a name
                if _named_only(text, m.end(1)):
                    spans.append((m.start(), m.end(1)))
        for m in _KNOWN.finditer(text) if known else ():
            if any(s <= m.start() < e for s, e in spans):
                continue
            if _named_only(text, m.end()):
                spans.append(m.span())
        if not spans:
            continue
        quotes = ctx.quotes(field, text)
        spans = [s for s in sorted(spans) if not (quotes and inside(quotes, *s))]
        # a list of names ("by A, B and C") is one finding, not one per name
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and re.fullmatch(r"[\s,]*(?:and\s+|&\s*)?[\s,]*",
                                       text[merged[-1][1]:start]):
                merged[-1][1] = end
            else:
                merged.append([start, end])
        for start, end in merged:
            yield Hit(field, start, end,
                      f"{text[start:end]!r} names a style without describing it",
                      suggestion=_suggest(text[start:end]))


# -- missing-lighting -------------------------------------------------------------------------

#: Words that describe light (its source, quality, direction or time of day).  Colours
#: ("bright blue", "light orange", "dark house"), make-up ("eye shadow") and things that
#: merely exist (a moon, a fire, mist) are not light.
_LIGHT = Caseless(
    r"\b(?:light(?:s|ing|ed)?|lit|sunlight|sunlit|moonlight|moonlit|lamplight|lamplit|"
    r"candlelight|candlelit|firelight|daylight|starlight|torchlight|backlit|backlight\w*|"
    r"rim\s*light\w*|underlit|glow(?:s|ing)?|glowed|shadows?|shade[ds]?|illuminat\w*|"
    r"luminous|luminescent|radiant|sunset|sunrise|dawn|dusk|twilight|golden\s+hour|"
    r"blue\s+hour|overcast|sunny|sunshine|sunbeams?|moonbeams?|god\s*rays|rays|beams?|"
    r"noon|midday|night|nighttime|night-time|neon|lanterns?|lamps?|candles?|softbox|"
    r"flash|spotlight|spotlit|chiaroscuro|silhouette[ds]?|reflections?|gleam\w*|glint\w*|"
    r"glare|high[\s-]key|low[\s-]key|subsurface\s+scattering|volumetric|catchlights?|"
    r"dim|dimly|bathed|rembrandt\s+lighting)\b")
_NOT_LIGHT = Caseless(
    r"\b(?:light\s+(?:blue|green|red|pink|orange|yellow|purple|violet|brown|grey|gray|"
    r"beige|cream|tan|skin|hair|weight|wood|fabric|blonde|colou?r\w*)|eye\s*shadows?|"
    r"healthy\s+glow|skin\s+glow|drop\s+shadows?|playful\s+shadows?|lamp\s*post)\b")
#: Flat graphic design needs no light: a poster, a logo, a t-shirt print.
_GRAPHIC = Caseless(r"\b(?:poster|logo|typography|lettering|wordmark|icon|sticker|"
                    r"t-?shirt\s+design|tshirt|infographic|flyer|banner|paper|"
                    r"vector|letterhead|screenprint|wordart|clip\s*art|clipart|book\s+cover|"
                    r"album\s+cover|cover\s+design|business\s+card)\b")
_PHOTOGRAPHIC = Caseless(r"\b(?:photo\w*|shot\s+on|lens|camera|dslr|film\s+still)\b")
MIN_LIGHTING_WORDS = 10


#: Single words that always describe light, and words that do so only in context.
_LIGHT_SURE = frozenset("""
lighting lighted lit sunlight sunlit moonlight moonlit lamplight lamplit candlelight
candlelit firelight daylight starlight torchlight backlit backlight backlighting underlit
glowed illuminated illuminating illumination illuminations luminous luminescent radiant
sunset sunsets sunrise dawn dusk twilight overcast sunny sunshine sunbeam sunbeams moonbeam
moonbeams rays beam beams noon midday night nighttime night-time neon lantern lanterns
lamps candle candles softbox flash spotlight spotlit chiaroscuro silhouette silhouetted
silhouettes reflection reflections gleam gleaming gleams glint glinting glints glare
volumetric catchlight catchlights dim dimly bathed shade shaded shades high-key low-key
rim-lit
""".split())
_LIGHT_MAYBE = frozenset("light lights glow glowing glows shadow shadows lamp".split())
_LIGHT_PHRASES = ("golden hour", "blue hour", "god rays", "rim light", "high key", "low key",
                  "subsurface scattering")


@lru_cache(maxsize=TEXT_CACHE)
def mentions_lighting(text: str) -> bool:
    lower = text.lower()
    return _mentions_lighting(text, lower, frozenset(find_words(lower)))


def _mentions_lighting(text: str, lower: str, words: frozenset[str]) -> bool:
    """`mentions_lighting`, given the text's lower case and words."""
    if not _LIGHT_SURE.isdisjoint(words) or any(p in lower for p in _LIGHT_PHRASES):
        return True
    if _LIGHT_MAYBE.isdisjoint(words):
        return False
    masked = _NOT_LIGHT.sub(" ", text) if _NOT_LIGHT.search(text, lower=lower) else text
    return bool(_LIGHT.search(masked))


@lru_cache(maxsize=TEXT_CACHE)
def is_graphic_design(text: str) -> bool:
    opening = " ".join(text.split()[:7])
    return bool(_GRAPHIC.search(opening)) and not _PHOTOGRAPHIC.search(text)


@rule("missing-lighting", "FX111", "info", family="text",
      when=lambda ctx: not ctx.is_edit and ctx.whole_words >= MIN_LIGHTING_WORDS,
      summary="no lighting described",
      rationale="Lighting has the single greatest impact on how a FLUX image looks; say "
                "what the light is (soft golden light, hard side light, overcast...). "
                "Colours (\"bright blue\", \"dark gradient\") are not light. Quick concepts "
                "under ten words and flat graphic design are left alone.",
      source="BFL prompting guide: \"Always specify lighting - it has the single greatest "
             "impact\"; FLUX guide (seed 000)")
def missing_lighting(ctx):
    if ctx.is_edit or ctx.whole_words < MIN_LIGHTING_WORDS:
        return
    # the common case: a word that is always light, in a field or in the composed text
    # (either way the prompt mentions light), decided on the words the engine already has
    if not _LIGHT_SURE.isdisjoint(ctx.all_words) or mostly_foreign(ctx):
        return
    text = ctx.composed
    if ctx.is_raw and text != ctx.spec.raw:
        lit = mentions_lighting(text)  # the composer dropped control characters
    else:
        field = ctx.whole[0]
        lit = _mentions_lighting(text, ctx.lower(field, text), ctx.words(field, text))
    if lit or content_words(ctx) < MIN_LIGHTING_WORDS:
        return
    if is_graphic_design(text):
        return
    field, whole = ctx.whole
    yield Hit(field, *trimmed(whole), "no lighting described",
              suggestion="add the light: \"in soft golden evening light\", "
                         "\"lit by a single window\"")


# -- text-unquoted ----------------------------------------------------------------------------

_TEXT_INTRO = re.compile(
    r"\b(?:(?:that|which)\s+(?:says|reads|spells(?:\s+out)?)|with\s+the\s+(?:words?|text)|"
    r"titled|entitled|labell?ed|captioned)[ \t]+", re.I)
_NOT_TEXT = frozenset("with as by in on at for from and or a an like well aloud to about into "
                       "through out over under quietly".split())
_UPPER_RUN = re.compile(r"[A-Z0-9][A-Z0-9'’&!\-]*(?:[ \t]+[A-Z0-9][A-Z0-9'’&!\-]*)*")
_UNTIL_PUNCT = re.compile(r"[^.,;:!?\"“”«»\n]+")


#: Words that say the prompt is about lettering; with one of them, a run of capitalised words
#: ("A poster with HELLO WORLD in bold letters") is text to print.
_TYPE_CUES = frozenset("letters lettering font typeface typography text sign poster banner "
                       "headline title logo wordmark written printed painted neon".split())
_CAPS_RUN = re.compile(r"(?<![\w\"'“‘«])[A-Z][A-Z0-9'’&!\-]+(?:[ \t]+[A-Z0-9][A-Z0-9'’&!\-]*)+"
                       r"(?![\w\"'”’»])")
#: Capitalised words that are not text to print.
_NOT_PRINTED = frozenset("BREAK HDR HD UHD FHD RAW CG DSLR NYC USA UK EU LED LCD RGB CGI 3D "
                         "2D TV DJ AI".split())


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
                  fix=Fix(f"quote it: \"{words_in}\"",
                          (Edit(field, m.start(), m.start(), '"'), Edit(field, m.end(), m.end(), '"'))),
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
            start = m.end()
            if start >= len(text) or text[start] in "\"“«'‘":
                continue
            first = WORD.match(text, start)
            if first is None or first.group().lower() in _NOT_TEXT:
                continue
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
            if end <= start or any(s < end and start < e for s, e in done):
                continue
            words_in = text[start:end]
            yield Hit(field, start, end, f"in-image text {words_in!r} is not in quotes",
                      fix=Fix(f"quote it: \"{words_in}\"",
                              (Edit(field, start, start, '"'), Edit(field, end, end, '"'))),
                      suggestion="put the exact words in double quotes"
                      + ("" if ctx.is_raw else ", or in the text field"))
