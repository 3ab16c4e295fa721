"""A library's text cut at its ``[[prompts]]`` headers: one piece per prompt, so saving
an edit parses and rewrites only the edited prompts' pieces with tomlkit.

tomlkit's parse of a whole 10,000-prompt library takes seconds of CPU, all of it holding
the GIL while the user types; a piece takes well under a millisecond.  Every piece is
checked before it is rewritten: it must parse on its own as exactly one ``[[prompts]]``
table holding the values tomllib read for that prompt (a header-like line inside a
multi-line string, or a top-level table after the prompts, fails the check and the
caller falls back to the whole document).  Pieces that are not rewritten are kept byte
for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tomlkit.items import Table
    from tomlkit.toml_document import TOMLDocument

# (a pattern for `re.finditer`, compiled at the first save: not at every start)
_PROMPT_HEADER = r"""^[ \t]*\[\[[ \t]*(?:prompts|"prompts"|'prompts')[ \t]*\]\]"""


@dataclass(frozen=True)
class PendingDocument:
    """A whole document parsed off the UI thread, and the `PromptPieces.revision` of the
    text it was parsed from (a piece-wise save since then makes it stale)."""

    doc: TOMLDocument
    revision: int


class PromptPieces:
    """[the text before the first prompt, prompt 0's piece, prompt 1's, ...] and what each
    rewritten piece holds now; ``revision`` counts the rewrites."""

    def __init__(self, pieces: list[str], loaded: list[Any]) -> None:
        self.pieces = pieces
        self._loaded = loaded            # tomllib's values of the prompts, as read
        self._values: dict[int, dict] = {}
        self.revision = 0

    @classmethod
    def cut(cls, text: str, loaded: list[Any]) -> PromptPieces | None:
        """``text`` cut at its headers; None unless there is one per prompt read."""
        starts = [m.start() for m in re.finditer(_PROMPT_HEADER, text, re.M)]
        if len(starts) != len(loaded):
            return None
        bounds = [0, *starts, len(text)]
        return cls([text[a:b] for a, b in zip(bounds, bounds[1:])], loaded)

    def text(self) -> str:
        return "".join(self.pieces)

    def rewritten(self, index: int, write: Callable[[Table], None]) -> tuple[str, dict] | None:
        """The ``index``-th prompt's piece with ``write`` applied to its table, and the
        values it holds then; None unless the piece is exactly that prompt's table."""
        import tomlkit
        from tomlkit.items import AoT

        try:
            doc = tomlkit.parse(self.pieces[index + 1])
        except Exception:  # noqa: BLE001 - not a piece on its own: the document decides
            return None
        tables = doc.get("prompts")
        if list(doc) != ["prompts"] or not isinstance(tables, AoT) or len(tables) != 1:
            return None
        expected = self._values.get(index, self._loaded[index])
        if tables[0].unwrap() != expected:
            return None
        write(tables[0])
        return doc.as_string(), tables[0].unwrap()

    def replace(self, rewrites: dict[int, tuple[str, dict]]) -> None:
        """Take in the pieces `rewritten` made (all of a save's, once they all could be)."""
        for index, (piece, values) in rewrites.items():
            if self.pieces[index + 1] != piece:
                self.pieces[index + 1] = piece
                self.revision += 1
            self._values[index] = values

    def patch(self, entries: list, write: Callable[..., None]) -> list | None:
        """Rewrite the pieces of the entries whose spec differs from the saved one (all
        or none); [(entry, the copy of its spec written)], or None when one can't be."""
        rewrites, written = {}, []
        for index, entry in enumerate(entries):
            if entry.saved != entry.spec:
                copy, saved = entry.spec.copy(), entry.saved
                done = self.rewritten(index, lambda table, c=copy, s=saved: write(table, c, s))
                if done is None:
                    return None
                rewrites[index] = done
                written.append((entry, copy))
        self.replace(rewrites)
        return written
