"""Small text helpers shared by the rules: quoted spans, tidy removals, word matching.

All regexes are compiled at import; every helper is linear in the text it reads.
"""

from __future__ import annotations

import re

from .diagnostic import Edit

#: A word: letters/digits, with inner apostrophes or hyphens ("don't", "close-up").
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")

# Double, curly and guillemet quotes anywhere; single quotes only when they stand apart
# from letters, so apostrophes ("don't", "dogs' toys") are not taken for quotes.
_QUOTED = re.compile(
    r'"[^"\n]{1,300}"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|„[^“”\n]{1,300}[“”]'
    r"|(?<![\w'’])'[^'\n]{1,300}'(?![\w'’])|(?<![\w'’])‘[^’\n]{1,300}’(?![\w'’])"
)


_QUOTE_CHAR = re.compile("[\"“«„'‘]")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    if not _QUOTE_CHAR.search(text):
        return []
    return [m.span() for m in _QUOTED.finditer(text)]


def inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


_SEP_AFTER = re.compile(r"[ \t]*[,;][ \t]*|[ \t]+")
_SEP_BEFORE = re.compile(r"(?:[ \t]*[,;]|[ \t])[ \t]*\Z")


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
    while start < end and (text[start].isspace() or text[start] in ",;"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    return start, end


def alternation(phrases: list[str] | tuple[str, ...]) -> str:
    """A regex alternation of literal phrases, longest first, spaces matching any spacing."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


_ALPHA = re.compile(r"[A-Za-z]+")
_LONG = re.compile(r"[A-Za-z]{10,}")
_DIGITS = re.compile(r"\d+")
_OTHER = re.compile(r"[^\sA-Za-z\d]")


def estimate_tokens(text: str) -> int:
    """A rough T5 token count: a token per short English word (more for long ones), one per
    digit run and punctuation mark, one per character of other scripts, plus end-of-text."""
    if not text:
        return 1
    extra = sum((len(word) - 6) // 4 for word in _LONG.findall(text))
    return (1 + len(_ALPHA.findall(text)) + extra + len(_DIGITS.findall(text))
            + len(_OTHER.findall(text)))
