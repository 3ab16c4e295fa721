"""The in-image text check: what the prompt wanted written against what the model read.

Scored apart from the checklist because spelling is where FLUX fails most visibly, and a
string comparison needs no judgement: ``exact`` when the wanted text appears as written,
``hit`` when it appears ignoring case and line breaks, and ``distance`` as the normalised
edit distance (edits to make the wanted text appear somewhere in what was read, divided by
its length: 0 is a match, 1 nothing alike).  ``missing_words`` names the wanted words not
read at all, which is what a user fixes a prompt for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

#: What is compared of the model's reading (a model that "reads" a page of text is cut).
MAX_SEEN_CHARS = 1000
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(text: str) -> str:
    """Compatibility forms folded (full-width letters, ligatures), whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def fold(text: str) -> str:
    return normalise(text).casefold()


def words(text: str) -> list[str]:
    """Case-folded words with the punctuation at their ends removed."""
    out = []
    for word in fold(text).split():
        word = _EDGE_PUNCT.sub("", word)
        if word:
            out.append(word)
    return out


def infix_distance(wanted: str, seen: str) -> int:
    """Fewest single-character edits that make ``wanted`` appear somewhere in ``seen``
    (Levenshtein with free start and end in ``seen``)."""
    if not wanted:
        return 0
    previous = [0] * (len(seen) + 1)          # row 0: starting anywhere in `seen` is free
    for i, w in enumerate(wanted, start=1):
        current = [i] + [0] * len(seen)
        for j, s in enumerate(seen, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (w != s))
        previous = current
    return min(previous)                      # ending anywhere is free too


@dataclass
class TextPart:
    wanted: str
    exact: bool
    hit: bool
    distance: float
    missing_words: list[str] = field(default_factory=list)


@dataclass
class TextCheck:
    """The check for every wanted text against one reading."""

    seen: str
    parts: list[TextPart]

    @property
    def hit(self) -> bool:
        return all(p.hit for p in self.parts)

    @property
    def exact(self) -> bool:
        return all(p.exact for p in self.parts)

    @property
    def distance(self) -> float:
        """The worst part's distance."""
        return max((p.distance for p in self.parts), default=0.0)

    @property
    def missing_words(self) -> list[str]:
        return [w for p in self.parts for w in p.missing_words]

    def to_dict(self) -> dict:
        return {"seen": self.seen, "hit": self.hit, "exact": self.exact,
                "distance": round(self.distance, 3), "missing_words": self.missing_words,
                "parts": [{**asdict(p), "distance": round(p.distance, 3)}
                          for p in self.parts]}


def check_text(wanted: list[str] | tuple[str, ...], seen: str) -> TextCheck | None:
    """Compare each wanted text with what the model read (``None``: nothing was wanted)."""
    if not wanted:
        return None
    seen_norm = normalise(seen)[:MAX_SEEN_CHARS]
    seen_fold = seen_norm.casefold()
    seen_words = set(words(seen_norm))
    parts = []
    for text in wanted:
        text_norm = normalise(text)
        if not text_norm:
            continue
        text_fold = text_norm.casefold()
        distance = infix_distance(text_fold, seen_fold) / len(text_fold)
        missing = [w for w in dict.fromkeys(words(text_norm)) if w not in seen_words]
        parts.append(TextPart(text_norm, text_norm in seen_norm, distance == 0,
                              min(1.0, distance), missing))
    return TextCheck(seen_norm, parts) if parts else None
