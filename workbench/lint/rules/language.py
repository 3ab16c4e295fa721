"""Language: a prompt not written in English (FX107), which FLUX's T5 encoder reads poorly;
English-vocabulary rules ask `mostly_foreign` and stay quiet on such prompts."""

from __future__ import annotations

from functools import lru_cache

from ..registry import Hit, rule
from ..textutil import LETTER, WORD, Lazy, trimmed
from .common import FUNCTION_WORDS, TEXT_CACHE

_LATIN = Lazy(r"[A-Za-z\u00C0-\u024F\u1E00-\u1EFF]")
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
#: Function words that are not English, by Latin-script language (some are shared: "de",
#: "en", "con" tell a Romance language from English, if not which one).
_FOREIGN_WORDS = {
    "Spanish": frozenset("el la los las del y una unos unas que por para es muy sobre entre "
                         "su sus al de en con un se lo".split()),
    "French": frozenset("le la les des du et avec une un que pour dans sur est très aux au "
                        "ses sous de en d'un d'une l'".split()),
    "German": frozenset("der das und mit ein eine einem einer im auf für von zu ist sehr "
                        "dem den des die durch".split()),
    "Italian": frozenset("il lo la gli di con una che nel nella sul della molto".split()),
    "Portuguese": frozenset("os um uma que para na em muito sobre dos das da de com".split()),
}
#: Words prompts are made of (people, light, lens, setting) that are not English: a tag list
#: has few function words to go by ("Retrato, iluminación Rembrandt, lente 85mm").
_FOREIGN_CONTENT = {
    "Spanish": frozenset("luz luces cálida cálido iluminación retrato mujer hombre chica chico "
                         "joven fondo estilo ojos piel cabello pelo cielo noche suave textura "
                         "enfoque lente realista hermosa ciudad calle madera sombra sombras "
                         "flores árbol árboles perro gato niño niña bosque montaña playa "
                         "leyendo abrigo".split()),
    "French": frozenset("lumière lumières douce doux femme homme fille garçon yeux cheveux "
                        "visage peau fond ciel nuit ombre ombres arbre arbres fleurs fleuries "
                        "forêt montagne plage chat chien rue ville gros teint clos doré dorée "
                        "lumineux dentelle beauté".split()),
    "German": frozenset("frau mann mädchen junge haare haaren licht bäume baum hintergrund "
                        "augen himmel nacht wald stadt straße hund katze blumen goldenes "
                        "goldene roten rote weiße schwarze sitzt steht fällt warmes weiches "
                        "sanftes herbstlichen".split()),
    "Italian": frozenset("luce donna uomo capelli occhi sfondo cielo notte ritratto".split()),
    "Portuguese": frozenset("mulher homem cabelo olhos fundo céu noite retrato".split()),
}
#: Letters that only some languages write, to name the language when the words tie.
_LETTERS = {"Spanish": "ñ¿¡", "French": "çèêàùœëî", "German": "äöüß", "Portuguese": "ãõ",
            "Italian": "ìò"}
_ENGLISH = FUNCTION_WORDS | frozenset("with of and".split())
_ANY_FOREIGN = frozenset().union(*_FOREIGN_WORDS.values(), *_FOREIGN_CONTENT.values()) \
    - _ENGLISH


def non_latin_share(text: str) -> tuple[int, float]:
    letters = len(LETTER.findall(text))
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
    best, _, name = max(
        (sum(1 for w in words if (w in vocab or w in _FOREIGN_CONTENT[language])
             and w not in _ENGLISH),
         any(c in text for c in _LETTERS[language]), language)
        for language, vocab in _FOREIGN_WORDS.items())
    # Letters outside English's (é, ñ, ü...) count too, once a word
    accented = sum(1 for w in words if not w.isascii() and _LATIN.search(w)) \
        if not text.isascii() else 0
    found = best + accented
    if found >= 3 and found >= 2 * english and found / len(words) >= 0.2:
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
        if text.isascii() and (len(words) < 4 or not may_be_foreign(words)):
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



def mostly_foreign(ctx) -> bool:
    """Most of the prompt is not English: English-vocabulary rules stay quiet (non-english
    already says what matters)."""
    found = ctx.memo.get("foreign")
    if found is None:
        field, text = ctx.whole
        if text.isascii():
            found = ctx.whole_words >= 4 and may_be_foreign(ctx.words(field, text)) \
                and language_of(text) is not None
        else:  # another script, or Latin with accents (Spanish, French, German...)
            found = non_latin_share(text)[1] > 0.5 or (
                ctx.whole_words >= 4 and language_of(text) is not None)
        ctx.memo["foreign"] = found
    return found


def latin_script(ctx) -> bool:
    """Whether the prompt's text is written in the Latin alphabet (a prompt in Spanish,
    French or German, say, rather than in Chinese or Russian)."""
    return non_latin_share(ctx.whole[1])[1] <= 0.5


def may_be_foreign(words: frozenset[str]) -> bool:
    """Cheap test before `language_of`: at least three foreign function words."""
    return len(words & _ANY_FOREIGN) >= 3 or (len(words & _ANY_FOREIGN) >= 1
                                               and len(words) < 12)


