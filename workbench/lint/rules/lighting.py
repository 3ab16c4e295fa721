"""Light: no lighting described (FX111), and the "white background" quirk of FLUX.1 dev
(FX102)."""

from __future__ import annotations

from functools import lru_cache

from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import Caseless, blanked, find_words, inside, trimmed
from .common import GUIDE_MISTAKES, TEXT_CACHE
from .language import latin_script, mostly_foreign
from .length import has_content_words

#: (A leading "clean" is part of the span, so the fix does not write "clean clean ...".)
_WHITE_BG = Caseless(r"\b(?:(?:plain|pure|solid|simple|blank|all|clean)[\s-]+)?"
                     r"white[\s-]+(?:background|bg)\b")
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
        for m in _WHITE_BG.finditer(text, lower=ctx.lower(field, text)):
            if inside(ctx.quotes(field, text), *m.span()):
                continue
            yield Hit(field, m.start(), m.end(),
                      f"{text[m.start():m.end()]!r} tends to blur FLUX.1 dev images",
                      fix=Fix(f"write {WHITE_FIX!r}", (Edit(field, *m.span(), WHITE_FIX),),
                              safe=True),
                      suggestion="or leave the background out and let the model choose")



#: Words that describe light (its source, quality, direction or time of day).  Colours
#: ("bright blue", "light orange", "dark house"), make-up ("eye shadow") and things that
#: merely exist (a moon, a fire, mist) are not light.
_LIGHT = Caseless(
    r"\b(?:the\s+sun\b(?!\s+(?:hat|tattoo|symbol|logo|emblem|icon|motif|dress|lounger|"
    r"god|disc|sign))|shin(?:e|es|ing)|shone|light(?:s|ing|ed)?|lit|sunlight|sunlit|"
    r"moonlight|moonlit|lamplight|lamplit|candlelight|candlelit|firelight|daylight|"
    r"starlight|torchlight|backlit|backlight\w*|rim\s*light\w*|underlit|glow(?:s|ing)?|"
    r"glowed|shadows?|shade[ds]?|illuminat\w*|"
    r"luminous|luminescent|radiant|sunset|sunrise|dawn|dusk|twilight|golden\s+hour|"
    r"blue\s+hour|overcast|sunny|sunshine|sunbeams?|moonbeams?|god\s*rays|rays|beams?|"
    r"noon|midday|daytime|day-time|daylit|night|nighttime|night-time|neon|lanterns?|"
    r"lamps?|candles?|softbox|flash|spotlight|spotlit|chiaroscuro|silhouette[ds]?|"
    r"reflections?|gleam\w*|glint\w*|glare|high[\s-]key|low[\s-]key|"
    r"subsurface\s+scattering|volumetric|catchlights?|dim|dimly|bathed|rembrandt\s+lighting)"
    r"\b")
_NOT_LIGHT = Caseless(
    r"\b(?:light\s+(?:blue|green|red|pink|orange|yellow|purple|violet|brown|grey|gray|"
    r"beige|cream|tan|skin|hair|weight|wood|fabric|blonde|colou?r\w*|make-?up|breeze|"
    r"rain|snow|sweater|jacket|dress|touch)|eye\s*shadows?|"
    r"healthy\s+glow|skin\s+glow|drop\s+shadows?|playful\s+shadows?|lamp\s*post|"
    r"(?:(?:dark|light)(?:er|est)?\s+)?shades?\s+of\s+(?:[\w-]+\s+){0,2}?(?:colou?rs?|red|"
    r"green|blue|pink|orange|yellow|purple|violet|brown|grey|gray|beige|black|white|gold|"
    r"silver|teal|tan|cream)|(?:dark|light)(?:er|est)\s+shades?)\b")
#: Flat graphic design needs no light: a poster, a logo, a t-shirt print.
_GRAPHIC = Caseless(r"\b(?:poster|logo|typography|lettering|letters|font|typeface|layout|"
                    r"text\s+block|birthday\s+card|greeting\s+card|invitation|wordmark|"
                    r"icon|sticker|t-?shirt\s+design|tshirt|infographic|flyer|banner|"
                    # paper as a flat sheet, not papercraft ("paper origami kingdom"): a 3D
                    # scene that needs its light
                    r"paper(?![\s-]+(?:origami|craft\w*|sculptures?|models?|diorama\w*|"
                    r"kingdom|world|city|village|town|lanterns?|boats?|planes?|cranes?|"
                    r"flowers?|m[aâ]ch[eé]|quilling|theat(?:er|re)))|"
                    r"vector|letterhead|screenprint|wordart|clip\s*art|clipart|book\s+cover|"
                    r"album\s+cover|cover\s+design|business\s+card)\b")
#: Flat work wherever the prompt says so ("..., coloring book page for toddlers").
_FLAT_ANYWHERE = Caseless(r"\b(?:colou?ring\s+(?:book|page|sheet)|line\s*art|"
                          r"flat\s+(?:design|vector|illustration)|vector\s+(?:art|"
                          r"illustration|logo))\b")
_PHOTOGRAPHIC = Caseless(r"\b(?:photo\w*|shot\s+on|shot\s+of|lens|camera|dslr|"
                         r"film\s+still)\b")
#: What a prompt that is its own lettering opens with: the quoted words to print.
_QUOTE_OPENERS = frozenset('"“„«\'‘')
_QUOTE_CHARS = frozenset('"“”„«»\'‘’')
MIN_LIGHTING_WORDS = 10


#: Light in the Latin-script languages `language` recognises (Spanish, French, German,
#: Italian, Portuguese): sources, shadow, sun, times of day.
_FOREIGN_LIGHT = frozenset("""
luz luces iluminación iluminado iluminada sombra sombras sol soleado atardecer amanecer noche
luminoso luminosa contraluz lumière lumières éclairage éclairé éclairée ombre ombres soleil
ensoleillé nuit aube crépuscule lumineux lumineuse contre-jour licht lichter beleuchtung
beleuchtet schatten sonne sonnig sonnenuntergang sonnenaufgang nacht dämmerung leuchtend
gegenlicht luce luci illuminazione illuminato ombra tramonto alba notte controluce iluminação
pôr
""".split())
#: Single words that always describe light, and words that do so only in context.
_LIGHT_SURE = frozenset("""
lighting lighted lit sunlight sunlit moonlight moonlit lamplight lamplit candlelight
candlelit firelight daylight starlight torchlight backlit backlight backlighting underlit
glowed illuminated illuminating illumination illuminations luminous luminescent radiant
sunset sunsets sunrise dawn dusk twilight overcast sunny sunshine sunbeam sunbeams moonbeam
moonbeams rays beam beams noon midday daytime day-time daylit night nighttime night-time
neon lantern lanterns lamps candle candles softbox flash spotlight spotlit chiaroscuro
silhouette silhouetted silhouettes reflection reflections gleam gleaming gleams glint
glinting glints glare volumetric catchlight catchlights dim dimly bathed shaded shines shone
high-key low-key rim-lit well-lit brightly-lit dimly-lit softly-lit sun-lit moon-lit
candle-lit back-lit neon-lit
""".split())
#: ("shade" is a colour in "a darker shade of brown"; "the sun" may be a shape or a hat)
_LIGHT_MAYBE = frozenset("light lights glow glowing glows shadow shadows lamp shade shades "
                         "sun shine shining".split())
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
    """Flat graphic design (a poster, a logo, lettering, or a prompt that opens with the
    quoted words it prints), with no photograph in it."""
    opening = " ".join(text.split()[:7])
    return (bool(_GRAPHIC.search(opening)) or _opens_with_its_words(text)
            or bool(_FLAT_ANYWHERE.search(text))) and not _PHOTOGRAPHIC.search(text)


def _opens_with_its_words(text: str) -> bool:
    """Whether ``text`` opens with a short quoted text and goes on to say how it looks
    ("\"MODERN\" in outline-only letters..."), not a whole prompt in quotes."""
    text = text.strip()
    if text[:1] not in _QUOTE_OPENERS:
        return False
    close = next((i for i, c in enumerate(text[1:60], 1) if c in _QUOTE_CHARS), None)
    return close is not None and len(text[close + 1:].split()) >= 3


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
    field, whole = ctx.whole
    # words in quotes are words to print or a title ("The Starry Night"), not light
    quotes = ctx.quotes(field, whole) if not _QUOTE_CHARS.isdisjoint(whole) else ()
    # the common case: a word that is always light, in a field or in the composed text
    # (either way the prompt mentions light), decided on the words the engine already has
    if not _LIGHT_SURE.isdisjoint(ctx.all_words) and (
            not quotes or not _LIGHT_SURE.isdisjoint(find_words(blanked(whole, quotes).lower()))):
        return
    text = ctx.composed
    if mostly_foreign(ctx):
        # Spanish, French, German... name light in their own words; other scripts are
        # left to non-english alone
        if not latin_script(ctx) or not _FOREIGN_LIGHT.isdisjoint(ctx.all_words):
            return
        lit = False
    elif quotes:
        lit = mentions_lighting(blanked(whole, quotes))
    elif ctx.is_raw and text != ctx.spec.raw:
        lit = mentions_lighting(text)  # the composer dropped control characters
    else:
        lit = _mentions_lighting(text, ctx.lower(field, text), ctx.words(field, text))
    if lit or not has_content_words(ctx, MIN_LIGHTING_WORDS):
        return
    if is_graphic_design(text):
        return
    field, whole = ctx.whole
    yield Hit(field, *trimmed(whole), "no lighting described",
              suggestion="add the light: \"in soft golden evening light\", "
                         "\"lit by a single window\"")


