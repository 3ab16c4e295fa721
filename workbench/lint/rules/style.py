"""Style references: a style given only as an artist's name, or a list of them (FX110).
FLUX follows a style better from its traits; the suggestion names them where the style is
well known (`TRAITS`)."""

from __future__ import annotations

import re

from ..registry import Hit, rule
from ..textutil import KNOWN_EMBEDDINGS, WORD, Caseless, Lazy, alternation, inside, trimmed
from .common import GUIDE
from .quality import QUALITY, field_tags

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
#: "provided by Image 2", "dictated by the Reference": another input, not an artist.
_NOT_A_NAME = r"(?:the\s+)?(?:Image|Picture|Photo|Reference|Figure|Input)\b"
_BY_NAME = Lazy(rf"\b(?:[Ii]n\s+the\s+style\s+of|[Ss]tyle\s+of|[Ii]nspired\s+by|by|"
                rf"[àa]\s+la)\s+(?!BREAK\b|{_NOT_A_NAME})({_NAME})")
#: Lower-case names after an art word: "art by artgerm and greg rutkowski", "painting by
#: greg rutkowski", "by mr jack on deviantart".
_ART_BY = Lazy(r"\b(?:art|artwork|painting|painted|illustration|illustrated|drawing|"
               r"drawn|sketch|render|photo|photograph|design|concept\s+art)\s+by\s+"
               r"(?!BREAK\b)([a-z][\w'’.\-]*(?:\s+[a-z][\w'’.\-]*){0,2})\b")
#: "by a knight on deviantart" (an article) describes a subject, not an artist.
_SITES = ("deviantart", "artstation", "pixiv", "behance", "instagram")
_BY_ON_SITE = Caseless(r"\bby\s+(?!break\b|(?:a|an|the)\s)"
                       r"([a-z][\w'’.\-]*(?:\s+[a-z][\w'’.\-]*){0,2})"
                       rf"\s+on\s+(?:{'|'.join(_SITES)})\b")
#: A list of tags each naming someone after its own "by" ("by modare, by ask, by ikky"):
#: two or more in a row are artists, lower case or not ("by the sea" is a place).
_BY_ITEMS = Caseless(r"(?:^|(?<=,))[ \t]*by[ \t]+(?!(?:the|a|an|my|his|her|their|night|day|"
                     r"hand|far|itself)\b)[\w'’.\-]+(?:[ \t]+[\w'’.\-]+)?[ \t]*(?=,|$)")
#: Animation studios named as a look ("disney style", "in the style of Pixar"): a studio's
#: name alone elsewhere is a place or a brand ("a Disney castle").
STUDIOS = ("disney", "pixar", "dreamworks", "laika", "aardman", "studio trigger",
           "kyoto animation", "cartoon saloon")
_STUDIO_HINTS = frozenset(WORD.findall(studio)[0] for studio in STUDIOS)
_STUDIO_STYLE = Caseless(rf"(?<![\w-])(?:(?:in\s+the\s+)?style\s+of\s+(?:{alternation(STUDIOS)})|"
                         rf"(?:{alternation(STUDIOS)})(?:[\s-]+(?:animation|animated|movie|film|"
                         rf"cartoon|3d|2d))?\s+style)(?![\w-])")
#: "Ghibli-style", "Monet-esque": a name made into a style word.
_NAME_SUFFIXES = ("style", "styled", "esque", "inspired", "like")
_ARTIST_HINTS = frozenset(WORD.findall(name)[0] for name in KNOWN_ARTISTS) | frozenset(
    ("beksiński", "zdzisław", "stålenhag")) | frozenset(
    f"{WORD.findall(name)[-1]}-{suffix}" for name in KNOWN_ARTISTS for suffix in _NAME_SUFFIXES)
_KNOWN = Caseless(rf"(?<![\w-])(?:{alternation(KNOWN_ARTISTS)})"
                  rf"(?:-(?:{'|'.join(_NAME_SUFFIXES)}))?(?![\w-])")
_DESCRIBED = Caseless(r"\s*(?:['’]s\s+\w+\s+)?(?:,\s*)?(?:with|featuring|using|showing|"
                      r"known\s+for|characteri[sz]ed\s+by|marked\s+by|full\s+of|in\s+which|"
                      r"where|[—–:(-])")
#: Words that describe how a style looks (not just that it is "detailed" or "bright").
_TRAIT_WORDS = Caseless(
    r"\b(?:brush\s*strokes?|brushwork|brushed|impasto|linework|line\s+work|lines|line\s+art|"
    r"palette|tones|shading|cel[\s-]shad\w*|cross-hatch\w*|hatching|swirl\w*|textures?|"
    r"washes|halftone|geometric|gold\s+leaf|woodblock|flat\s+colou?rs?|chiaroscuro|"
    r"ornate|ornamental|art\s+nouveau|cubis\w*|surreal\w*|pastel|sepia|monochrome|"
    r"black\s+and\s+white)\b")
#: Movements and schools: names of looks FLUX knows, not artists to describe.
_MOVEMENTS = Lazy(r"(?:Art\s+Deco|Art\s+Nouveau|Bauhaus|Baroque|Rococo|Renaissance|"
                  r"Impressionism|Expressionism|Cubism|Surrealism|Pop\s+Art|Ukiyo-e|"
                  r"Art\s+Brut|Memphis|Brutalism|Minimalism|Vaporwave|Synthwave)(?:\s+"
                  r"(?:style|art))?", re.I)
_EMBEDDING_NAMES = frozenset(n.lower() for n in KNOWN_EMBEDDINGS)
_STYLE_PREFIX = Lazy(r"^\s*(?:(?:in\s+the\s+)?style\s+of|by|inspired\s+by|[àa]\s+la)\s+",
                     re.I)
_STYLE_SUFFIX = Lazy(r"\s+style$", re.I)
_NAME_ONLY = Lazy(_NAME)
#: What may stand between the names of one list.
_LIST_GLUE = Lazy(r"[\s,]*(?:and\s+|&\s*)?[\s,]*")
_SENTENCE_END = Lazy(r"[.!?](?=\s|$)|[;\n]")


def _named_only(text: str, end: int) -> bool:
    """True when nothing after the name, in its sentence or the next one ("... in the style
    of Van Gogh. Swirling, expressive brushstrokes ..."), describes the style's traits."""
    rest = text[end:]
    stop = _SENTENCE_END.search(rest)
    clause = rest[:stop.start()] if stop else rest
    if clause.strip() and (_DESCRIBED.match(clause) or _TRAIT_WORDS.search(clause)):
        return False
    if stop is not None:
        after = rest[stop.end():]
        following = _SENTENCE_END.search(after)
        if _TRAIT_WORDS.search(after[:following.start()] if following else after):
            return False
    return True


def _described_before(text: str, start: int) -> bool:
    """Whether the sentence before the name's describes the look ("A Ukiyo-e woodblock
    print. The overall feeling is ... masters like Hokusai and Hiroshige")."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    if not ends:
        return False
    return bool(_TRAIT_WORDS.search(text, ends[-2] if len(ends) >= 2 else 0, ends[-1]))


def _a_name(name: str) -> bool:
    """Whether capitalised words can be a person's name: not a movement ("Art Deco"), not
    syntax ("BREAK"), not an embedding or a quality tag."""
    if _MOVEMENTS.fullmatch(name):
        return False
    return not any(w == "BREAK" or w.lower() in _EMBEDDING_NAMES or QUALITY.fullmatch(w)
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
                "name and traits together work best. One name beside a description is "
                "advice (info: BFL's own examples end with \"van gogh style\"); a list "
                "of names, or a style that is only a name, is a warning.",
      source=f"{GUIDE}, \"Using artistic references and styles\"; BFL prompting guide "
             "(\"Ansel Adams inspired black and white with deep tones\")")
def style_name_only(ctx):
    for field, text in ctx.prose_fields:
        if field == "style":
            bare = _bare_name(text)
            if bare:
                yield Hit(field, *trimmed(text), f"the style is only a name ({bare!r})",
                          suggestion=_suggest(bare))
                continue
        words = ctx.words(field, text)
        by = "by" in words or "style" in words or "la" in words
        known = not _ARTIST_HINTS.isdisjoint(words)
        if not (by or known):
            continue
        spans: list[tuple[int, int]] = []
        if by:
            tags = field_tags(ctx, field, text)
            lower = ctx.lower(field, text)
            spans.extend(_names_after_by(text, tags))
            spans.extend(_lower_case_names(text, lower, tags, spans))
            if lower.count("by ") >= 2:
                spans.extend(_by_lists(text, lower, tags, spans))
            if not _STUDIO_HINTS.isdisjoint(words):
                spans.extend(m.span() for m in _STUDIO_STYLE.finditer(text, lower=lower)
                             if _named_only(text, m.end()))
        if known:
            spans.extend(_known_names(text, spans))
        if not spans:
            continue
        quotes = ctx.quotes(field, text)
        spans = [s for s in sorted(spans) if not (quotes and inside(quotes, *s))]
        for start, end in _merged(text, spans):
            yield Hit(field, start, end,
                      f"{text[start:end]!r} names a style without describing it",
                      suggestion=_suggest(text[start:end]),
                      severity=None if _LIST.search(text, start, end) else "info")


#: Between the names of a list ("by Greg Rutkowski, Alphonse Mucha and Artgerm").
_LIST = Lazy(r",|&|\+|\band\b")


def _bare_name(style: str) -> str:
    """The name a style field holds when it holds nothing but a name ("by Greg Rutkowski",
    "Van Gogh style"), else ""."""
    bare = _STYLE_PREFIX.sub("", style).strip().rstrip(".")
    bare = _STYLE_SUFFIX.sub("", bare)
    if bare and (_KNOWN.fullmatch(bare)
                 or (" " in bare and _NAME_ONLY.fullmatch(bare) and _a_name(bare))):
        return bare
    return ""


def _names_after_by(text: str, tags) -> list[tuple[int, int]]:
    """Capitalised names after "by", "in the style of", "inspired by"... with nothing after
    them that describes the style."""
    spans = []
    for m in _BY_NAME.finditer(text):
        name_start, name_end = m.span(1)
        if any(s < name_end and name_start < e for s, e in tags) \
                or text[name_start:name_end].lower() in _EMBEDDING_NAMES:
            continue  # "by HDR", "by EasyNegative": not a name
        while name_end > name_start and text[name_end - 1] == ".":
            name_end -= 1
        name = text[name_start:name_end]
        if not text[name_start].isupper() or not _a_name(name):
            continue
        if m.group()[:2].lower() == "by" and (_made_by(text, m.start())
                                              or _WORK_BEFORE.search(
                                                  text, max(0, m.start() - 8), m.start())):
            continue  # "Monopoly by Hasbro", "'The Last Supper' by ...": a work and its maker
        if " " not in name and not m.group().lower().startswith("by") \
                and not _KNOWN.fullmatch(name):
            continue  # "in the style of WordArt": a look, not necessarily an artist
        if _named_only(text, name_end):
            spans.append((m.start(), name_end))
    return spans


#: The capitalised word just before a "by" (not one that starts a sentence).
_NAME_BEFORE = Lazy(r"(?<![.!?:;]\s)(?<!^)\b([A-Z][\w'’-]*)\s+\Z")
_ART_WORDS = frozenset("art artwork painting paintings illustration illustrations drawing "
                       "photo photograph photography portrait portraits poster design "
                       "sketch render concept fantasy style".split())


_WRITTEN_BY = Lazy(r"\b(?:story|stories|novel|book|poem|tale|written|song|lyrics|film|movie|"
                   r"directed|produced|composed)\s+\Z", re.I)
#: A quoted title just before a "by": the work is credited, not a style asked for.
_WORK_BEFORE = Lazy(r"[\"'’”»]\s*\Z")


def _made_by(text: str, by: int) -> bool:
    """Whether the "by" at ``by`` credits a product's maker ("Monopoly by Hasbro": the word
    before it is a name of its own, not an art word as in "Fantasy Art by ...") or a
    writer ("based on a story by H.P. Lovecraft")."""
    if _WRITTEN_BY.search(text, max(0, by - 16), by):
        return True
    m = _NAME_BEFORE.search(text, max(0, by - 40), by)
    return m is not None and m.group(1).lower() not in _ART_WORDS


def _lower_case_names(text: str, lower: str, tags, found) -> list[tuple[int, int]]:
    """Lower-case names: "art by artgerm", "by mr jack on deviantart" (not inside ``found``,
    not quality tags).  ``lower``: the text lower-cased."""
    spans = []
    # "by ... on <site>" needs a site's name (in ASCII: re.I matches "ſ" to "s", say)
    on_site = not lower.isascii() or any(site in lower for site in _SITES)
    for matches in (_ART_BY.finditer(text),
                    _BY_ON_SITE.finditer(text, lower=lower) if on_site else ()):
        for m in matches:
            if any(s <= m.start(1) < e for s, e in (*found, *spans)):
                continue
            if any(s < m.end(1) and m.start(1) < e for s, e in tags):
                continue  # "by masterpiece", "by trending on artstation": not a name
            if _named_only(text, m.end(1)):
                spans.append((m.start(), m.end(1)))
    return spans


def _by_lists(text: str, lower: str, tags, found) -> list[tuple[int, int]]:
    """Tags that each name someone after their own "by", two or more in a row ("by
    modare, by ask, by ikky"), not inside ``found`` and not quality tags."""
    spans: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []
    for m in (*_BY_ITEMS.finditer(text, lower=lower), None):
        if m is not None:
            start, end = trimmed(text, *m.span())
            if run and text[run[-1][1]:start].strip(" \t,") == "":
                run.append((start, end))
                continue
        if len(run) >= 2:
            spans.extend(span for span in run
                         if not any(s < span[1] and span[0] < e for s, e in (*found, *tags)))
        run = [] if m is None else [trimmed(text, *m.span())]
    return spans


def _known_names(text: str, found) -> list[tuple[int, int]]:
    """Well-known artists named anywhere (not inside ``found``), undescribed, and not a
    lighting pattern named after one ("Rembrandt lighting", "iluminación Rembrandt")."""
    return [m.span() for m in _KNOWN.finditer(text)
            if not any(s <= m.start() < e for s, e in found) and _named_only(text, m.end())
            and not _described_before(text, m.start())
            and not _PICTURE_OF.search(text, max(0, m.start() - 24), m.start())
            and not _CREDITED_WORK.search(text, max(0, m.start() - 8), m.start())
            and not _LIGHTING_AFTER.match(text, m.end())
            and not _LIGHTING_BEFORE.search(text, max(0, m.start() - 16), m.start())]


#: "a photo of Bob Ross painting ...": the person is in the picture, not its style.
_PICTURE_OF = Lazy(r"\b(?:photo|photograph|portrait|picture|image|shot)\s+of\s+\Z", re.I)
_CREDITED_WORK = Lazy(r"[\"'’”»]\s*by\s+\Z", re.I)
_LIGHTING_AFTER = Lazy(r"\s+(?:lighting|light|lit)\b", re.I)
_LIGHTING_BEFORE = Lazy(r"\b(?:lighting|iluminaci[oó]n|[ée]clairage|beleuchtung|"
                        r"illuminazione)\s+\Z", re.I)


def _merged(text: str, spans: list[tuple[int, int]]) -> list[list[int]]:
    """A list of names ("by A, B and C") as one span, not one per name."""
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and _LIST_GLUE.fullmatch(text, merged[-1][1], start):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged
