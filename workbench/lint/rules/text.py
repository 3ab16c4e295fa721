"""Text rules: what the words of a prompt do to FLUX (codes FX1xx).

Sources: the FLUX guide (seed 000) — natural language, early words weigh most, no SD
weights, no keyword soup, no negations, quotes only for in-image text, "white background"
blurs on dev, lighting matters most, describe a style rather than name an artist — and
BFL's prompting guide it cites (30–80 words, T5 encoder).
"""

from __future__ import annotations

import re

from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import WORD, alternation, inside, removal, trimmed

GUIDE = "FLUX guide (seed 000)"
GUIDE_MISTAKES = "FLUX guide (seed 000), \"Avoiding common mistakes\""

# -- weight-syntax ---------------------------------------------------------------------------

_WEIGHT = re.compile(
    r"\(+\s*([^()\n]*?)\s*:\s*-?\d+(?:\.\d+)?\s*\)+"   # (word:1.4), ((word:1.2))
    r"|\({2,}([^()\n]*)\){2,}"                          # ((word))
    r"|\[+([^\[\]\n]*)\]+"                              # [word]
    r"|\{+([^{}\n]*)\}+"                                # {word}
    r"|(?<=\S)\s*::\s*-?\d*\.?\d+|(?<=\S)\s*::(?!:)"  # word::2 (Midjourney)
)


def unweight(text: str) -> str:
    """``text`` with every weighting construct replaced by its inner words."""
    for _ in range(10):
        new = _WEIGHT.sub(lambda m: next((g for g in m.groups() if g is not None), ""), text)
        if new == text:
            break
        text = new
    return text


@rule("weight-syntax", "FX101", "error", family="text", fix="safe",
      summary="Stable Diffusion / Midjourney weighting: (word:1.4), ((word)), [word], "
              "{word}, word::2",
      rationale="FLUX has no prompt weighting: the brackets and numbers are read as text "
                "and can leak into the image. Say it in words instead: \"with emphasis "
                "on ...\", \"especially ...\".",
      source=f"{GUIDE_MISTAKES}: weights like \"(beautiful:1.5)\" work in Stable "
             "Diffusion, not in FLUX")
def weight_syntax(ctx):
    for field, text in ctx.prose_fields:
        if not any(c in text for c in "([{:"):
            continue
        for m in _WEIGHT.finditer(text):
            inner = unweight(next((g for g in m.groups() if g is not None), ""))
            words = inner.strip()
            yield Hit(field, m.start(), m.end(),
                      f"weight syntax {m.group().strip()!r} means nothing to FLUX",
                      fix=Fix(f"drop the weighting, keep {words!r}" if words
                              else "drop the weighting", (Edit(field, *m.span(), inner),),
                              safe=True),
                      suggestion=f"write \"with emphasis on {words}\" if it matters"
                      if words else "")


# -- white-background -------------------------------------------------------------------------

_WHITE_BG = re.compile(r"(?<!clean )\b(?:(?:plain|pure|solid|simple|blank|all)[\s-]+)?"
                       r"white[\s-]+(?:background|bg)\b", re.I)
WHITE_BG_RE = _WHITE_BG
WHITE_FIX = "clean white seamless backdrop"


@rule("white-background", "FX102", "warning", family="text", fix="safe",
      summary="\"white background\" on FLUX.1 dev",
      rationale="On FLUX.1 [dev] the phrase \"white background\" often gives blurry "
                "results; users report the same in the FLUX repository's issues. Write "
                f"\"{WHITE_FIX}\" or leave the background out.",
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


def keyword_soup(text: str) -> tuple[int, int] | None:
    """The span of a comma-separated keyword list in ``text``, or None for prose."""
    if text.count(",") < 4:
        return None
    segments = [s for s in re.split(r"[,;\n]", text) if s.strip()]
    if len(segments) < 5:
        return None
    short = sum(1 for s in segments if len(s.split()) <= 3)
    words = [w.lower() for w in WORD.findall(text)]
    if not words or short / len(segments) < 0.75:
        return None
    function = sum(1 for w in words if w in _FUNCTION_WORDS)
    if function / len(words) >= 0.15:
        return None
    return trimmed(text)


@rule("keyword-list", "FX103", "warning", family="text",
      summary="comma-separated keyword soup instead of sentences",
      rationale="FLUX's T5 encoder understands sentences; a heap of keywords loses the "
                "relations between things (what is where, what does what). Describe the "
                "scene in natural language.",
      source=f"{GUIDE_MISTAKES}: \"beach, sunrise, sun, welcome sign, green, bright "
             "colours\" vs a sentence")
def keyword_list(ctx):
    if ctx.is_edit:
        return
    for field, text in ctx.prose_fields:
        span = keyword_soup(text)
        if span:
            yield Hit(field, *span, "this reads as a keyword list; FLUX follows sentences",
                      suggestion="rewrite as one or two sentences: subject and action "
                                 "first, then style, setting and light",
                      action="rewrite")


# -- negation ---------------------------------------------------------------------------------

_NEGATION = re.compile(
    r"\b(?:no|without|not|avoid(?:ing)?|don['’]?t|do\s+not|never|free\s+of|lacking)\b"
    r"(?!\s+(?:only|longer|matter|doubt|one\s+else)\b)"
    r"(?:[ \t]+(?:any\s+|a\s+|an\s+|the\s+)?([^\W_][\w\-]*))?", re.I)

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
}


@rule("negation", "FX104", "warning", family="text", fix="unsafe",
      summary="\"no X\", \"without X\", \"not X\", \"avoid X\", \"don't ...\"",
      rationale="FLUX has no negative prompt at its guidance-distilled settings, and naming "
                "X puts X in the prompt: \"no blur\" invites blur. Describe what you want "
                "instead (\"sharp, in focus\").",
      source=f"{GUIDE_MISTAKES}: do not describe what you want to avoid; BFL prompting "
             "guide")
def negation(ctx):
    for field, text in ctx.prose_fields:
        if _NEGATION_HINTS.isdisjoint(ctx.words(field, text)):
            continue
        quotes = ctx.quotes(field, text)
        for m in _NEGATION.finditer(text):
            if quotes and inside(quotes, *m.span()):
                continue
            what = (m.group(1) or "").lower()
            positive = POSITIVE.get(what)
            fix = Fix(f"write {positive!r}", (Edit(field, *m.span(), positive),)) \
                if positive else None
            yield Hit(field, m.start(), m.end(),
                      f"{m.group()!r} names what you don't want; FLUX may draw it",
                      fix=fix,
                      suggestion=f"describe the positive: {positive!r}" if positive else
                      "describe what should be there instead")


# -- quote-misuse -----------------------------------------------------------------------------

_TEXT_CUE = re.compile(
    r"\b(?:says?|saying|reads?|text|texts|written|writing|writes|words?|lettering|"
    r"letters?|typography|typed|font|logo|title[ds]?|label(?:l?ed)?|labels|caption(?:ed)?|"
    r"headline|heading|slogan|tagline|banner|signs?|signage|poster|inscription|inscribed|"
    r"engraved|printed|print|spell(?:ed|s|ing)?|named|menu|cover|neon|quote|message|"
    r"replace|change|rename|rewrite|stamped|embroidered|graffiti|chalk|handwritten|"
    r"marquee|plaque|badge)\b", re.I)


@rule("quote-misuse", "FX105", "warning", family="text", fix="unsafe",
      summary="quotes used for emphasis, not for text that must appear in the image",
      rationale="FLUX renders quoted words as text in the image. Quotes around a word for "
                "emphasis can print it on a surface; keep quotes for signs, titles and "
                "labels, and say so (\"a sign that reads ...\").",
      source=f"{GUIDE_MISTAKES}: quotes are for text that must appear in the image, not "
             "for emphasis")
def quote_misuse(ctx):
    for field, text in ctx.prose_fields:
        for start, end in ctx.quotes(field, text):
            window = text[max(0, start - 60):start] + " " + text[end:end + 25]
            if _TEXT_CUE.search(window):
                continue
            yield Hit(field, start, end,
                      f"{text[start:end]} is quoted but nothing says it is text in the "
                      "image",
                      fix=Fix("remove the quote marks",
                              (Edit(field, start, start + 1, ""), Edit(field, end - 1, end, ""))),
                      suggestion="for in-image text, say where it appears: "
                                 f"a sign that reads {text[start:end]}")


# -- sd-quality-tags --------------------------------------------------------------------------

QUALITY_TAGS = (
    "masterpiece", "best quality", "high quality", "highest quality", "top quality",
    "ultra high quality", "amazing quality", "8k", "8k uhd", "4k", "4k uhd", "uhd",
    "highres", "high res", "absurdres", "ultra detailed", "ultra-detailed",
    "extremely detailed", "hyperdetailed", "hyper detailed", "hyper-detailed",
    "trending on artstation", "artstation", "award winning", "award-winning",
    "octane render", "unreal engine", "unreal engine 5", "masterwork",
    "intricate details", "worst quality", "low quality", "normal quality", "lowres",
    "ultra realistic 8k", "cgsociety", "deviantart",
)
_QUALITY = re.compile(rf"(?<![\w-])(?:{alternation(QUALITY_TAGS)})(?![\w-])", re.I)
QUALITY_RE = _QUALITY
#: First words of the tags: a field without any of them cannot contain a tag.
_QUALITY_HINTS = frozenset(WORD.findall(tag)[0] for tag in QUALITY_TAGS) | frozenset(
    tag.split()[0].split("-")[0] for tag in QUALITY_TAGS)


@rule("sd-quality-tags", "FX106", "warning", family="text", fix="safe",
      summary="\"masterpiece\", \"best quality\", \"8k\", \"trending on artstation\"...",
      rationale="Quality tags are Stable Diffusion folklore; FLUX was not trained to "
                "respond to them, so they only dilute the prompt and push the subject "
                "later. Describe the look you want instead (light, lens, materials).",
      source=f"{GUIDE}: write natural language without special keywords; getimg.ai FLUX "
             "prompt guide")
def sd_quality_tags(ctx):
    for field, text in ctx.prose_fields:
        if _QUALITY_HINTS.isdisjoint(ctx.words(field, text)):
            continue
        quotes = None
        for m in _QUALITY.finditer(text):
            if quotes is None:
                quotes = ctx.quotes(field, text)
            if quotes and inside(quotes, *m.span()):
                continue
            yield Hit(field, m.start(), m.end(),
                      f"{m.group()!r} is a Stable Diffusion quality tag; FLUX ignores it",
                      fix=Fix(f"remove {m.group()!r}", (removal(field, text, *m.span()),),
                              safe=True))


# -- non-english ------------------------------------------------------------------------------

_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")


def non_latin_share(text: str) -> tuple[int, float]:
    letters = len(_LETTER.findall(text))
    if not letters:
        return 0, 0.0
    other = letters - len(_LATIN.findall(text))
    return other, other / letters


@rule("non-english", "FX107", "warning", family="text",
      summary="mostly non-English text (Russian, Chinese...)",
      rationale="FLUX's T5 text encoder was trained on English first; other scripts are "
                "understood poorly or not at all. Write the prompt in English (in-image text "
                "in quotes may stay in any language).",
      source="FLUX guide (seed 000): FLUX uses a T5-XXL encoder (t5xxl_fp16); seed 002: "
             "\"English for prompts is right for ComfyUI\"")
def non_english(ctx):
    for field, text in ctx.prose_fields:
        if text.isascii():
            continue
        quotes = ctx.quotes(field, text)
        probe = text
        for start, end in reversed(quotes):
            probe = probe[:start] + probe[end:]
        other, share = non_latin_share(probe)
        if other >= 3 and share > 0.5:
            yield Hit(field, *trimmed(text),
                      f"{share:.0%} of the letters are not English; FLUX reads English best",
                      suggestion="translate it to English", action="translate")


# -- prompt-length / word-count -----------------------------------------------------------------

TOKEN_BUDGET = {"dev": 512, "schnell": 256, "kontext": 512}
MIN_WORDS = 5
WORD_RANGE = (30, 80)


def mostly_foreign(ctx) -> bool:
    """Most letters of the whole prompt are not Latin: English-vocabulary rules stay quiet
    (non-english already says what matters)."""
    text = ctx.whole[1]
    return not text.isascii() and non_latin_share(text)[1] > 0.5  # ascii: no scan at all


def too_short(ctx) -> bool:
    return not ctx.is_edit and ctx.whole_words < MIN_WORDS


def too_long(ctx) -> bool:
    budget = TOKEN_BUDGET.get(ctx.spec.model, 512)
    # every token takes at least one character: short texts need no estimate at all
    return len(ctx.whole[1]) + 1 > budget and ctx.whole_tokens > budget


@rule("prompt-length", "FX108", "warning", family="text",
      summary="over the T5 token budget (dev 512, schnell 256), or too short to steer",
      rationale="FLUX's T5 encoder reads at most 512 tokens on dev and 256 on schnell; "
                "words past the budget are cut off. A prompt of a few words leaves "
                "everything to chance. (Token counts are an estimate.)",
      source="FLUX guide (seed 000): no sequence-length limit on dev vs schnell; BFL "
             "prompting guide; ComfyUI FLUX tutorial (T5-XXL)")
def prompt_length(ctx):
    field, text = ctx.whole
    if not text.strip():
        yield Hit(field, 0, len(text), "the prompt is empty", severity="error")
        return
    budget = TOKEN_BUDGET.get(ctx.spec.model, 512)
    if too_long(ctx):
        tokens = ctx.whole_tokens
        yield Hit(field, *trimmed(text),
                  f"about {tokens} tokens (estimate), over {ctx.spec.model}'s {budget}-token "
                  "T5 budget; the end is cut off", suggestion="tighten it: keep the subject, "
                  "style, setting and light", action="rewrite")
    elif too_short(ctx):
        words = ctx.whole_words
        yield Hit(field, *trimmed(text),
                  f"only {words} word{'s' if words != 1 else ''}: too short to steer FLUX",
                  suggestion="say what the subject does, the style, the setting and the "
                             "light")


@rule("word-count", "FX112", "info", family="text",
      summary="outside roughly 30–80 words",
      rationale="BFL recommends prompts of roughly 30–80 words: shorter leaves the look to "
                "chance, longer dilutes the early words FLUX weighs most.",
      source="BFL prompting guide (docs.bfl.ai, cited as [11] in seed 000)")
def word_count(ctx):
    if ctx.is_edit or too_short(ctx) or too_long(ctx) or mostly_foreign(ctx):
        return  # prompt-length / non-english already say it
    field, text = ctx.whole
    words = ctx.whole_words
    low, high = WORD_RANGE
    if words < low or words > high:
        yield Hit(field, *trimmed(text),
                  f"{words} words; about {low}–{high} works best for FLUX")


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
dawn twilight overcast
""".split())
_LEAD_STOP = _FUNCTION_WORDS | {"on", "shot", "using", "very", "extremely", "super", "s"}
_BACKGROUND_FIRST = re.compile(r"\s*(?:in\s+the\s+background|the\s+background|background\s*:"
                               r"|in\s+the\s+distance)\b[^.,;:]*[.,;:]?", re.I)
LATE_AFTER_WORDS = 6


def subject_start(text: str) -> tuple[int, int, int] | None:
    """(offset of the first word that is not style vocabulary, style words before it, end of
    the last style word before it); None when every word is style vocabulary."""
    styles = last_end = 0
    for m in WORD.finditer(text):
        word = m.group().lower()
        if word in _LEAD_STOP:
            continue
        if word in _STYLE_WORDS or any(c.isdigit() for c in word):
            styles += 1
            last_end = m.end()
            continue
        return m.start(), styles, last_end
    return None


@rule("subject-late", "FX109", "warning", family="text",
      summary="the main subject is not near the start",
      rationale="FLUX pays most attention to what comes first. Open with the subject (and "
                "what it does), then style, setting and light.",
      source=f"{GUIDE}, \"Word order and prioritising elements\"; BFL prompting guide")
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
    if len(text.split()) < MIN_WORDS:
        return
    m = _BACKGROUND_FIRST.match(text)
    if m and m.end() < len(text.rstrip()):
        yield Hit("raw", *trimmed(text, 0, m.end()),
                  "the prompt opens with the background; the subject comes later",
                  suggestion="start with the main subject, then describe the background")
        return
    found = subject_start(text)
    if found is not None and found[1] >= LATE_AFTER_WORDS:
        yield Hit("raw", *trimmed(text, 0, found[2]),
                  f"{found[1]} words of style and camera before the subject",
                  suggestion="move the subject to the front; style and camera go after it")


# -- style-name-only --------------------------------------------------------------------------

KNOWN_ARTISTS = (
    "greg rutkowski", "alphonse mucha", "artgerm", "wlop", "van gogh", "vincent van gogh",
    "picasso", "pablo picasso", "monet", "claude monet", "rembrandt", "salvador dali",
    "dali", "hayao miyazaki", "studio ghibli", "ghibli", "makoto shinkai", "beeple",
    "james gurney", "thomas kinkade", "frida kahlo", "klimt", "gustav klimt",
    "hokusai", "banksy", "andy warhol", "warhol", "edward hopper", "wes anderson",
    "tim burton", "h.r. giger", "hr giger", "giger", "moebius", "ansel adams",
    "annie leibovitz", "diane arbus", "norman rockwell", "zdzislaw beksinski",
    "beksinski", "simon stalenhag", "ilya kuvshinov", "loish", "rossdraws", "sakimichan",
    "caravaggio", "vermeer", "da vinci", "leonardo da vinci", "michelangelo", "turner",
    "j.m.w. turner", "magritte", "rene magritte", "kandinsky", "mondrian", "basquiat",
    "yoshitaka amano", "craig mullins", "syd mead", "ralph mcquarrie", "tim walker",
)
_PARTICLE = r"(?:van|von|de|da|di|del|der|la|le|du)"
_NAME = rf"(?:[A-Z][\w'’.\-]+|{_PARTICLE})(?:\s+(?:[A-Z][\w'’.\-]+|{_PARTICLE})){{0,3}}"
_BY_NAME = re.compile(rf"\b(?:[Ii]n\s+the\s+style\s+of|[Ss]tyle\s+of|[Ii]nspired\s+by|by|"
                      rf"[àa]\s+la)\s+({_NAME})")
_ARTIST_HINTS = frozenset(WORD.findall(name)[0] for name in KNOWN_ARTISTS)
_KNOWN = re.compile(rf"(?<![\w-])(?:{alternation(KNOWN_ARTISTS)})(?![\w-])", re.I)
_DESCRIBED = re.compile(r"\s*(?:,\s*)?(?:with|featuring|using|showing|known\s+for|"
                        r"characteri[sz]ed\s+by|marked\s+by|full\s+of|in\s+which|where|"
                        r"[—–:(-])", re.I)
_STYLE_PREFIX = re.compile(r"^\s*(?:(?:in\s+the\s+)?style\s+of|by|inspired\s+by|[àa]\s+la)\s+",
                           re.I)


def _named_only(text: str, end: int) -> bool:
    """True when nothing after the name (in its sentence) describes the style's traits."""
    rest = text[end:]
    if not rest.strip() or rest.lstrip()[:1] in ".;!?":
        return True
    if _DESCRIBED.match(rest):
        return False
    return rest.lstrip()[:1] == ","


@rule("style-name-only", "FX110", "warning", family="text",
      summary="style given only as an artist's name",
      rationale="FLUX follows a style better when you describe its traits (\"abstract "
                "geometric shapes in bright neon colours\") than when you only name an "
                "artist (\"Picasso\"); name and traits together work best.",
      source=f"{GUIDE}, \"Using artistic references and styles\"")
def style_name_only(ctx):
    for field, text in ctx.prose_fields:
        if field == "style":
            bare = _STYLE_PREFIX.sub("", text).strip().rstrip(".")
            bare = re.sub(r"\s+style$", "", bare, flags=re.I)
            if bare and (re.fullmatch(_NAME, bare) or _KNOWN.fullmatch(bare)):
                yield Hit(field, *trimmed(text), f"the style is only a name ({bare!r})",
                          suggestion=f"describe what {bare}'s work looks like: brushwork, "
                                     "palette, shapes, light")
                continue
        spans: list[tuple[int, int]] = []
        words = ctx.words(field, text)
        by = "by" in words or "style" in words or "la" in words
        known = not _ARTIST_HINTS.isdisjoint(words)
        if not (by or known):
            continue
        for m in _BY_NAME.finditer(text) if by else ():
            name_start, name_end = m.span(1)
            while name_end > name_start and text[name_end - 1] == ".":
                name_end -= 1
            if text[name_start].isupper() and _named_only(text, name_end):
                spans.append((m.start(), name_end))
        for m in _KNOWN.finditer(text) if known else ():
            if not any(s <= m.start() < e for s, e in spans) and _named_only(text, m.end()):
                spans.append(m.span())
        quotes = ctx.quotes(field, text) if spans else []
        for start, end in sorted(spans):
            if quotes and inside(quotes, start, end):
                continue
            yield Hit(field, start, end,
                      f"{text[start:end]!r} names a style without describing it",
                      suggestion="add the traits: \"... with visible brush strokes and "
                                 "swirling skies\"")


# -- missing-lighting -------------------------------------------------------------------------

LIGHT_WORDS = frozenset("""
light lights lighting lit sunlight sunlit moonlight moonlit lamplight candlelight candlelit
firelight daylight backlit backlight backlighting rim glow glowing glows shadow shadows
shade shaded illuminated illumination sunset sunrise dawn dusk twilight overcast sunny
sunshine neon lantern lanterns softbox flash spotlight spotlit chiaroscuro luminous bright
brightly dim dimly dark darkness night noon midday silhouette silhouetted reflection
reflections highlight highlights lamp lamps candle candles fire haze fog foggy misty sun
moon stars starry cloudy storm stormy rays ray beam beams radiant gleam gleaming lamplit
glare glint sunbeam sunbeams moonbeam hazy
""".split())
_LIGHT_PHRASES = ("golden hour", "blue hour")


def mentions_lighting(ctx) -> bool:
    # The composer only adds connecting words, so the fields' own word sets (already built
    # by other rules) answer for the composed text too.
    fields = ctx.user_fields
    if any(not LIGHT_WORDS.isdisjoint(ctx.words(f, t)) for f, t in fields):
        return True
    return any(phrase in ctx.lower(f, t) for f, t in fields for phrase in _LIGHT_PHRASES)


@rule("missing-lighting", "FX111", "info", family="text",
      summary="no lighting described",
      rationale="Lighting has the single greatest impact on how a FLUX image looks; say "
                "what the light is (soft golden light, hard side light, overcast...).",
      source="BFL prompting guide; FLUX guide (seed 000): FLUX is especially sensitive to "
             "lighting details")
def missing_lighting(ctx):
    if ctx.is_edit or too_short(ctx) or mostly_foreign(ctx):
        return
    field, text = ctx.whole
    if not mentions_lighting(ctx):
        yield Hit(field, *trimmed(text), "no lighting described",
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
        if not ({"says", "reads", "spells", "text", "word", "words", "titled", "entitled",
                 "labeled", "labelled", "captioned"} & words):
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
            if end <= start:
                continue
            words_in = text[start:end]
            yield Hit(field, start, end, f"in-image text {words_in!r} is not in quotes",
                      fix=Fix(f"quote it: \"{words_in}\"",
                              (Edit(field, start, start, '"'), Edit(field, end, end, '"'))),
                      suggestion="put the exact words in double quotes"
                      + ("" if ctx.is_raw else ", or in the text field"))
