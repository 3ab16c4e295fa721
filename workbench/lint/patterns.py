"""The rules' regular expressions: compiled on first use (`Lazy`), all at once before lint
processes fork (`compile_all`), and matched case-insensitively the fast way (`Caseless`)."""

from __future__ import annotations

import re
import sys


class Lazy:
    """A regex compiled on first use: compiling the rules' hundred-odd patterns was a fair
    part of every `workbench lint` start, and a run answered from its cache needs few."""

    def __init__(self, pattern: str, flags: int = 0, *, rare: bool = False) -> None:
        """``rare``: needed by few prompts (see `Caseless`), left out of `compile_all`."""
        self.pattern, self.flags, self._args = pattern, flags, (pattern, flags)
        if not rare:
            _LAZY.append(self)

    def __getattr__(self, name: str):
        value = getattr(self.compiled(), name)
        setattr(self, name, value)  # later calls find the method without coming here
        return value

    def compiled(self) -> re.Pattern:
        found = self.__dict__.get("_compiled")
        if found is None:
            found = self._compiled = re.compile(*self._args)
        return found


#: Every `Lazy` pattern, for `compile_all`.
_LAZY: list[Lazy] = []


def compile_all() -> None:
    """Compile every `Lazy` pattern now (about a tenth of a second): before forking lint
    processes, which would each compile the ones they use."""
    for pattern in _LAZY:
        pattern.compiled()


class Caseless:
    """A case-insensitive pattern, matched fast: on ASCII text, without ``re.I`` on the
    lower-cased text (lower-casing ASCII keeps every offset, and a case-sensitive pattern
    lets the regex engine skip alternatives by their first character: several times faster
    for word lists); other text with ``re.I`` as written.

    The pattern must be written in lower case.  Match objects may belong to the lower-cased
    text: read their offsets (and groups) and slice the original for display; ``sub`` and
    ``subn`` return lower-cased text for ASCII input."""

    __slots__ = ("pattern", "_ascii", "_other")

    def __init__(self, pattern: str) -> None:
        if re.search(r"(?<!\\)[A-Z]", pattern):
            raise ValueError(f"write a Caseless pattern in lower case: {pattern[:60]!r}")
        self.pattern = pattern
        self._ascii = Lazy(pattern)  # compiled on first use, as `_other`
        # non-ASCII text only (a few prompts in a hundred): each lint process compiles the
        # ones it meets rather than all of them before the fork (0.04 s of every big run)
        self._other = Lazy(pattern, re.I, rare=True)

    def _pick(self, text: str):
        return (self._ascii, text.lower()) if text.isascii() else (self._other, text)

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize, *,
               lower: str | None = None):
        """``lower``: ``text.lower()``, when the caller has it already."""
        if lower is not None and text.isascii():
            return self._ascii.search(lower, pos, endpos)
        pattern, text = self._pick(text)
        return pattern.search(text, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize, *,
              lower: str | None = None):
        if lower is not None and text.isascii():
            return self._ascii.match(lower, pos, endpos)
        pattern, text = self._pick(text)
        return pattern.match(text, pos, endpos)

    def fullmatch(self, text: str):
        pattern, text = self._pick(text)
        return pattern.fullmatch(text)

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize, *,
                 lower: str | None = None):
        if lower is not None and text.isascii():
            return self._ascii.finditer(lower, pos, endpos)
        pattern, text = self._pick(text)
        return pattern.finditer(text, pos, endpos)

    def sub(self, repl, text: str) -> str:
        pattern, text = self._pick(text)
        return pattern.sub(repl, text)

    def subn(self, repl, text: str) -> tuple[str, int]:
        pattern, text = self._pick(text)
        return pattern.subn(repl, text)
