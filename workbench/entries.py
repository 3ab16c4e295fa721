"""A library's prompts as entries: the spec being edited, the copy of it as saved (what
a save compares against, built on first use) and where in the file it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .spec import PromptSpec
from .specdata import spec_from_table

if TYPE_CHECKING:
    from tomlkit.items import Table


class Entry:
    """A prompt and the TOML table it came from (``None`` for a prompt not saved yet).

    ``saved`` is the spec as it is on disk, so a save writes only what differs from it;
    ``origin`` is the prompt's position in the file as loaded (``None``: added since).
    A library read from a file builds ``saved`` from the prompt's plain values the first
    time it is asked for (``plain``: the values and the fallback name): `workbench lint`
    and `list` never ask, and copying 10,000 specs up front was a tenth of their time.
    """

    __slots__ = ("spec", "table", "origin", "_saved", "_plain")

    def __init__(self, spec: PromptSpec, table: Table | None = None,
                 saved: PromptSpec | None = None, origin: int | None = None, *,
                 plain: tuple[dict[str, Any], str] | None = None) -> None:
        self.spec = spec
        self.table = table
        self.origin = origin
        self._saved = saved
        self._plain = plain if saved is None else None

    @property
    def saved(self) -> PromptSpec | None:
        plain = self._plain
        if plain is not None:  # the same values give the same spec (`spec_from_table`)
            self._saved = spec_from_table(plain[0], "", [], fallback_name=plain[1])
            self._plain = None
        return self._saved

    @saved.setter
    def saved(self, spec: PromptSpec | None) -> None:
        self._saved = spec
        self._plain = None

    def __repr__(self) -> str:
        return (f"Entry(spec={self.spec!r}, table={self.table!r}, saved={self.saved!r}, "
                f"origin={self.origin!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return (self.spec, self.table, self.saved, self.origin) == (
            other.spec, other.table, other.saved, other.origin)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was
