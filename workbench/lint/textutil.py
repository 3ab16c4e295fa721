"""Small text helpers shared by the rules: quoted spans, tidy removals, word matching.

Regexes are compiled on first use (`patterns.Lazy`); every helper is linear in the text it
reads.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache

from .diagnostic import Edit
from .patterns import Caseless, Lazy  # noqa: F401  (the rules import them from here)

#: A word: letters/digits, with inner apostrophes or hyphens ("don't", "close-up").
WORD = Lazy(r"[^\W_]+(?:['’\-][^\W_]+)*")
#: The same for ASCII text, about twice as fast (most prompts are ASCII).
_WORD_ASCII = Lazy(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")
#: A letter of any script.
LETTER = Lazy(r"[^\W\d_]")


def find_words(text: str) -> list[str]:
    """`WORD`'s matches, with the fast pattern when the text is ASCII."""
    return (_WORD_ASCII if text.isascii() else WORD).findall(text)


def iter_words(text: str):
    """`WORD`'s match objects, with the fast pattern when the text is ASCII."""
    return (_WORD_ASCII if text.isascii() else WORD).finditer(text)

# Double, curly and guillemet quotes anywhere; single quotes only when they stand apart
# from letters, so apostrophes ("don't", "dogs' toys") are not taken for quotes (and one
# between letters inside single quotes does not end them: 'don't walk').
# (Every alternative starts with its quote mark, the "stands apart" test just after it, so
# the regex engine can skip to the next quote mark instead of trying each position.)
_QUOTED = Lazy(
    r'"[^"\n]{1,300}"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|„[^“”\n]{1,300}[“”]'
    r"|'(?<![\w'’]')(?:[^'\n]|(?<=\w)'(?=\w)){1,300}'(?![\w'’])"
    r"|‘(?<![\w'’]‘)(?:[^’\n]|(?<=\w)’(?=\w)){1,300}’(?![\w'’])"
)


_QUOTE_CHAR = Lazy("[\"“«„'‘]")


@lru_cache(maxsize=4096)
def quoted_spans(text: str) -> tuple[tuple[int, int], ...]:
    if not _QUOTE_CHAR.search(text):
        return ()
    return tuple(m.span() for m in _QUOTED.finditer(text))


def inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def blanked(text: str, spans) -> str:
    """``text`` with each of ``spans`` turned to spaces (every offset stays where it was)."""
    for start, end in spans:
        text = f"{text[:start]}{' ' * (end - start)}{text[end:]}"
    return text


_SEP_AFTER = Lazy(r"[ \t]*[,;][ \t]*|[ \t]+")
_SEP_BEFORE = Lazy(r"(?:[ \t]*[,;]|[ \t])[ \t]*\Z")


def removal(field: str, text: str, start: int, end: int) -> Edit:
    """An edit deleting ``text[start:end]`` together with one neighbouring separator, so a
    list item or a word disappears without leaving ", ," or double spaces behind."""
    after = _SEP_AFTER.match(text, end)
    before = _SEP_BEFORE.search(text, max(0, start - 12), start)
    at_item_start = start == 0 or before is not None or text[start - 1] in "([{\n"
    if after and "," in after.group() or after and ";" in after.group():
        if at_item_start:
            return Edit(field, start, after.end(), "")
        if before is not None:
            return Edit(field, before.start(), end, "")
        return Edit(field, start, after.end(), "")
    if before is not None and ("," in before.group() or ";" in before.group()):
        return Edit(field, before.start(), end, "")
    if after and (start == 0 or text[start - 1].isspace()):
        return Edit(field, start, after.end(), "")
    if before is not None:
        return Edit(field, before.start(), end, "")
    return Edit(field, start, end, "")


def trimmed(text: str, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """``(start, end)`` narrowed past surrounding whitespace and separators."""
    end = len(text) if end is None else end
    while start < end and (text[start].isspace() or text[start] in _TRIM):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRIM):
        end -= 1
    return start, end


_TRIM = ",;，、；"

# -- removals that leave nothing behind ---------------------------------------------------------

_BLEMISHES = (
    Lazy(r"[,;，、][ \t]*[,;，、]"),                       # doubled separator
    Lazy(r"[(\[{][ \t,;]|[ \t,;][)\]}]"),                 # space or comma inside a bracket
    Lazy(r"\(\s*\)|\[\s*\]|\{\s*\}"),                     # empty brackets
    Lazy(r"[^\S\n]{2,}"),                                # a run of spaces
    Lazy(r"^[ \t]*[,;，、]|[,;，、][ \t]*$", re.M),        # dangling separator
)
_OPENERS, _CLOSERS = "([{", ")]}"


@lru_cache(maxsize=1024)
def blemishes(text: str) -> tuple[int, ...]:
    """What a careless edit leaves behind, by kind: doubled separators, spaces or commas
    inside brackets, empty brackets, runs of spaces, dangling separators; and how
    unbalanced the brackets are."""
    balance = sum(abs(text.count(o) - text.count(c)) for o, c in zip(_OPENERS, _CLOSERS))
    return (*(len(p.findall(text)) for p in _BLEMISHES), balance)


#: Every character a blemish can be made of: a character outside them (a letter, a digit, a
#: quote...) is never part of one, so blemishes on either side of it can be counted apart.
_BLEMISH_CHARS = ",;，、()[]{}"


def _part_of_blemish(char: str) -> bool:
    return char.isspace() or char in _BLEMISH_CHARS


def edit_is_clean(text: str, start: int, end: int, glue: str) -> bool:
    """Whether replacing ``text[start:end]`` with ``glue`` leaves no more blemishes of any
    kind than ``text`` had (`blemishes` of both texts compared), counted only around the
    edit: past the nearest character on each side that no blemish can contain, both texts
    are the same and so are their blemishes.  Long tag lists get one edit per tag, and
    recounting the whole text each time was most of their lint time."""
    lo = start - 1
    while lo >= 0 and _part_of_blemish(text[lo]):
        lo -= 1
    hi = end
    while hi < len(text) and _part_of_blemish(text[hi]):
        hi += 1
    new = text[:start] + glue + text[end:]
    shift = len(glue) - (end - start)
    old_end = hi + 1 if hi < len(text) else len(text)
    new_end = hi + shift + 1 if hi < len(text) else len(new)
    for pattern in _BLEMISHES:
        if len(pattern.findall(new, lo + 1, new_end)) > len(pattern.findall(text, lo + 1, old_end)):
            return False
    removed, before = text[start:end], 0
    after = 0
    for opener, closer, opens, closes in _bracket_counts(text):
        before += abs(opens - closes)
        after += abs(opens - removed.count(opener) + glue.count(opener)
                     - (closes - removed.count(closer) + glue.count(closer)))
    return after <= before


@lru_cache(maxsize=64)
def _bracket_counts(text: str) -> tuple[tuple[str, str, int, int], ...]:
    """Each kind of bracket with how often it opens and closes in ``text``: the same for
    every edit a rule offers in one text (counting them per edit made a text with
    thousands of tags quadratic)."""
    return tuple((o, c, text.count(o), text.count(c)) for o, c in zip(_OPENERS, _CLOSERS))


def clean_edit(field: str, text: str, start: int, end: int, replacement: str = "") -> Edit | None:
    """An edit replacing ``text[start:end]`` (usually with nothing) that takes one
    neighbouring separator with it so no orphan is left: no doubled or dangling comma, no
    space inside a bracket, no empty brackets, brackets as balanced as before.  None when
    every way of doing it leaves a blemish (the caller then offers no safe fix)."""
    after_sep = _SEP_AFTER.match(text, end)
    before_sep = _SEP_BEFORE.search(text, max(0, start - 12), start)
    candidates = []
    if after_sep and after_sep.end() > end:
        candidates.append((start, after_sep.end()))
    if before_sep is not None and before_sep.start() < start:
        candidates.append((before_sep.start(), end))
    if after_sep and before_sep is not None:
        candidates.append((before_sep.start(), after_sep.end()))
    candidates.append((start, end))
    for s, e in candidates:
        for glue in ((replacement,) if replacement else ("", " ")):
            new = text[:s] + glue + text[e:]
            if glue == " " and (s == 0 or e == len(text)):
                continue
            if not glue and 0 < s and e < len(text) and text[s - 1].isalnum() \
                    and text[e].isalnum():
                continue  # would glue two words together
            if has_words(new) and edit_is_clean(text, s, e, glue):
                return Edit(field, s, e, glue)
    return None


def has_words(text: str) -> bool:
    """Whether ``text`` still says something: a letter (digits alone are weights)."""
    return any(c.isalpha() for c in text)


def no_worse(before: tuple[int, ...], after: tuple[int, ...]) -> bool:
    return all(a <= b for a, b in zip(after, before))


def alternation(phrases: list[str] | tuple[str, ...]) -> str:
    """A regex alternation of literal phrases, spaces matching any spacing, written as a
    trie ("a(?:rtgerm|lphonse\\s+mucha)") so that the engine does not try every phrase at
    every position; where one phrase extends another the longer is tried first."""
    root: dict = {}
    for phrase in set(phrases):
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}  # a phrase ends here
    return _trie(root)


def _trie(node: dict) -> str:
    branches = [(r"\s+" if char == " " else re.escape(char)) + _trie(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = "|".join(branches)
    if "" in node:  # optional: a longer phrase first, else the one that ends here
        return f"(?:{body})?"
    return body if len(branches) == 1 else f"(?:{body})"


# -- words, scripts and comma-separated fragments ---------------------------------------------

#: Han ideographs and Japanese kana: scripts written without spaces between words.
_CJK = Lazy(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@lru_cache(maxsize=4096)
def word_count(text: str) -> int:
    """Words as a reader counts them: Latin-script words (``close-up`` is one, ``1girl,solo``
    two), Hangul words by their spaces, and Chinese/Japanese (no spaces) at about two
    characters a word."""
    if text.isascii():
        return len(_WORD_ASCII.findall(text))
    return sum(map(_words_in, WORD.findall(text)))


def _words_in(word: str) -> int:
    """How many words one `WORD` match is to a reader: one, or for Chinese and Japanese
    about one every two characters."""
    if word.isascii():
        return 1
    cjk = len(_CJK.findall(word))
    if not cjk:
        return 1
    return (cjk + 1) // 2 + (1 if len(word) > cjk else 0)


#: What separates the items of a comma list: commas (also full-width and ideographic),
#: semicolons, new lines, A1111's BREAK, and sentence ends.  (Every alternative starts with
#: a character, so the regex engine skips to the next candidate: "B(?<!\wB)REAK" is
#: "\bBREAK", and a leading "\b" made every scan about twice as slow.)  Chinese and
#: Japanese full stops need no space after them; a full stop typed without its space
#: between two words ("Manga style.group of children") ends an item too, and one after an
#: abbreviation ("Fig. 2", "St. Ives") does not.
_FRAGMENT_SEP = Lazy(r"[,;\n，、；。！？]|B(?<!\wB)REAK\b|[!?](?=\s|$)"
                     r"|\.(?<!\b[Ff]ig\.)(?<!\bNo\.)(?<!\bDr\.)(?<!\bMr\.)(?<!\bSt\.)(?<!\bvs\.)"
                     r"(?=[\s,;，、；]|$)|\.(?<=[a-z]\.)(?=[a-z]+\s)")
_ARTICLES = frozenset(("a", "an", "the"))
_BRACKETS = Lazy(r"[()\[\]{}]|:\s*-?\d+(?:\.\d+)?(?=\s*[)\]])")
_LORA_TAG = Lazy(r"<(?:lora|lyco|hypernet):[^<>\n]*>", re.I)


_SENTENCE_ENDS = frozenset(".!?。！？")
#: A parenthesis just after a word: an aside that qualifies it, not a weight group (no
#: colon inside) nor what follows BREAK.
_ASIDE = Lazy(r"(?<=[^\W\d_])(?<!BREAK)[ \t]*\([^():\n]*\)")


def _asides(text: str, mask) -> list[tuple[int, int]]:
    """The asides of ``text`` (`_ASIDE`) whose word is not a quality tag (``mask``): the
    safe fix that removes "masterpiece" from "masterpiece (red, blue, green)" would undo
    the aside, and a fix must not make a prompt lint worse."""
    spans = []
    for m in _ASIDE.finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        if mask is not None and any(t.end() == len(before) for t in mask.finditer(before)):
            continue
        spans.append(m.span())
    return spans


def iter_fragments(text: str, mask: re.Pattern | None = None):
    """`fragments`, one at a time (for callers that stop early)."""
    pos = 0
    for m in _FRAGMENT_SEP.finditer(text):
        found = _fragment(text, pos, m.start(), mask)
        pos = m.end()
        if found is not None:
            yield found
    found = _fragment(text, pos, len(text), mask)
    if found is not None:
        yield found


@lru_cache(maxsize=4096)
def fragments(text: str, mask: re.Pattern | None = None) -> tuple[tuple[int, int, int], ...]:
    """``(start, end, words)`` for every non-empty comma-separated item of ``text`` (spans
    trimmed of spaces); ``words`` leaves out articles, weight brackets and numbers, and
    counts a ``<lora:...>`` tag as one word.  Words matching ``mask`` (quality tags) are
    not counted either: an item made only of them counts as one word."""
    return tuple(iter_fragments(text, mask))


@lru_cache(maxsize=1024)
def _separators(text: str) -> tuple[list[int], list[int]]:
    """Where the item separators of ``text`` start and end (see `fragments`)."""
    starts, ends = [], []
    for m in _FRAGMENT_SEP.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
    return starts, ends


def item_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of the comma item (as `fragments` trims it) that holds ``text[start:end]``,
    which must contain a word; None when the span crosses a separator."""
    starts, ends = _separators(text)
    i = bisect_right(starts, start)  # separators starting at or before ``start``
    if i and ends[i - 1] > start:
        return None  # ``start`` is inside a separator
    item_start = ends[i - 1] if i else 0
    item_end = starts[i] if i < len(starts) else len(text)
    if end > item_end:
        return None
    return trimmed(text, item_start, item_end)


def _fragment(text: str, start: int, end: int, mask) -> tuple[int, int, int] | None:
    words = _piece_words(text[start:end], mask)
    if not words:
        return None
    start, end = trimmed(text, start, end)
    return start, end, words


@lru_cache(maxsize=8192)
def _piece_words(piece: str, mask) -> int:
    """The words an item counts for (see `fragments`), 0 for an item that counts as nothing
    (only spaces, brackets, articles or numbers).  Leading and trailing spaces and separators
    change nothing here, so items need not be trimmed to be counted.  Cached: a library's
    prompts share most of their items (tags, styles, settings)."""
    loras = len(_LORA_TAG.findall(piece)) if "<" in piece else 0
    if loras:
        piece = _LORA_TAG.sub(" ", piece)
    masked = 0
    if mask is not None:
        piece, masked = mask.subn(" ", piece)
    if "(" in piece or "[" in piece or "{" in piece:
        piece = _BRACKETS.sub(" ", piece)
    found = find_words(piece)
    words = len(found)
    if words:
        for w in found:
            if w.isdigit() or (len(w) <= 3 and w.lower() in _ARTICLES):
                words -= 1
        if not piece.isascii():  # Chinese and Japanese: counted as `word_count` counts them
            words += sum(_words_in(w) - 1 for w in found if not w.isdigit())
    if words or loras or masked:
        return words + loras or 1
    return 0


def tag_run(text: str, longest: int = 3, mask: re.Pattern | None = None, need: int = 0
            ) -> tuple[int, int, int]:
    """The longest run of consecutive short comma items (``longest`` words or fewer):
    ``(run length, start, end)``.  With ``need``, gives up (returning a shorter run) as soon
    as too few items are left for a run of ``need``: most prose has no run at all."""
    best = (0, 0, 0)
    run = 0
    run_start = 0
    pos = 0
    separators = (*_FRAGMENT_SEP.finditer(text), None)
    if "(" in text:  # "cute expressions (curious, happy, sleepy)" is one item
        asides = _asides(text, mask)
        if asides:
            separators = tuple(m for m in separators
                               if m is None or not inside(asides, m.start(), m.end()))
    left = len(separators)
    for m in separators:
        if best[0] < need and run + left < need:
            break
        left -= 1
        start, end = pos, (m.start() if m is not None else len(text))
        if m is not None:
            pos = m.end()
        words = _piece_words(text[start:end], mask)
        if words and words <= longest:
            if run == 0:
                run_start = start
            run += 1
            if run > best[0]:
                best = (run, run_start, end)
        elif words:
            run = 0
        # (an empty item neither breaks a run nor extends it; a sentence end breaks it: a
        # run is a list within one sentence)
        if m is not None and text[m.start()] in _SENTENCE_ENDS:
            run = 0
    if best[0]:
        # spans as `fragments` gives them: trimmed of spaces and separators
        best = (best[0], trimmed(text, best[1], best[2])[0], trimmed(text, best[1], best[2])[1])
    return best


_ALPHA = Lazy(r"[A-Za-z]+")
_LONG = Lazy(r"[A-Za-z]{10,}")
_DIGITS = Lazy(r"\d+")
_OTHER = Lazy(r"[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """A rough T5 token count: a token per short English word (more for long ones), one per
    digit run and punctuation mark, one per character of other scripts, plus end-of-text."""
    if not text:
        return 1
    extra = sum((len(word) - 6) // 4 for word in _LONG.findall(text))
    return (1 + len(_ALPHA.findall(text)) + extra + len(_DIGITS.findall(text))
            + len(_OTHER.findall(text)))


#: Textual-inversion names people paste from SD prompts (mostly meant for the negative).
KNOWN_EMBEDDINGS = ("EasyNegative", "EasyNegativeV2", "badhandv4", "bad-hands-5",
                    "bad_prompt_version2", "bad_prompt", "ng_deepnegative_v1_75t",
                    "BadDream", "UnrealisticDream", "verybadimagenegative_v1.3",
                    "FastNegativeV2", "negative_hand-neg", "bad-artist", "bad-artist-anime",
                    "bad-picture-chill-75v", "CyberRealistic_Negative")
