"""Which rules run and how loud they are: config.toml's ``[lint]``, a library's ``[lint]``
table and command-line flags, each layered over the last.

The table format is the same everywhere::

    [lint]
    ignore = ["word-count", "FX111"]       # slugs or codes
    select = ["negation", "weight-syntax"]  # optional: only these
    [lint.severity]
    negation = "error"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .diagnostic import SEVERITIES
from .registry import find_rule


@dataclass
class LintSettings:
    """``select`` None means every rule; ``ignore`` always wins; ``severity`` maps slugs to a
    severity that replaces the rule's.  ``problems`` collects unknown names and bad values
    (phrased for the user) instead of raising, so a typo never stops linting."""

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def enabled(self, slug: str) -> bool:
        return slug not in self.ignore and (self.select is None or slug in self.select)

    def merged(self, other: LintSettings | None) -> LintSettings:
        """These settings with ``other`` layered on top (its select replaces ours)."""
        if other is None:
            return self
        return LintSettings(
            select=other.select if other.select is not None else self.select,
            ignore=self.ignore | other.ignore,
            severity={**self.severity, **other.severity},
            problems=self.problems + other.problems,
        )

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None, where: str = "[lint]") -> LintSettings:
        settings = cls()
        if table is None:
            return settings
        if not isinstance(table, Mapping):
            settings.problems.append(f"{where} must be a table")
            return settings
        for key in table:
            if key not in ("ignore", "select", "severity"):
                settings.problems.append(f"{where}: unknown key `{key}` (ignore, select, "
                                         "severity)")
        if "ignore" in table:
            settings.ignore = frozenset(_slugs(table["ignore"], f"{where} ignore",
                                               settings.problems))
        if "select" in table:
            settings.select = frozenset(_slugs(table["select"], f"{where} select",
                                               settings.problems))
        levels = table.get("severity", {})
        if not isinstance(levels, Mapping):
            settings.problems.append(f"{where} severity must be a table")
            levels = {}
        for name, level in levels.items():
            found = find_rule(str(name))
            if found is None:
                settings.problems.append(f"{where} severity: unknown rule {name!r}")
            elif level not in SEVERITIES:
                settings.problems.append(f"{where} severity: {name} = {level!r} is not one of "
                                         f"{', '.join(SEVERITIES)}")
            else:
                settings.severity[found.slug] = level
        return settings

    @classmethod
    def from_names(cls, select: Iterable[str] | None = None,
                   ignore: Iterable[str] | None = None) -> LintSettings:
        settings = cls()
        if select is not None:
            settings.select = frozenset(_slugs(list(select), "--select", settings.problems))
        if ignore is not None:
            settings.ignore = frozenset(_slugs(list(ignore), "--ignore", settings.problems))
        return settings


def _slugs(value: Any, where: str, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, frozenset, set)):
        problems.append(f"{where} must be a list of rule names")
        return []
    slugs = []
    for name in value:
        found = find_rule(str(name))
        if found is None:
            problems.append(f"{where}: unknown rule {name!r}")
        else:
            slugs.append(found.slug)
    return slugs


def settings_for(config_raw: Mapping[str, Any] | None = None,
                 library_table: Mapping[str, Any] | None = None,
                 overrides: LintSettings | None = None) -> LintSettings:
    """The effective settings: config's ``[lint]``, then the library's, then ``overrides``."""
    base = LintSettings.from_table((config_raw or {}).get("lint"), "config [lint]") \
        if config_raw and "lint" in config_raw else LintSettings()
    if library_table is not None:
        base = base.merged(LintSettings.from_table(library_table, "library [lint]"))
    return base.merged(overrides)


def library_lint_table(doc: Any) -> Mapping[str, Any] | None:
    """A library document's ``[lint]`` table as plain values (None when there is none)."""
    table = doc.get("lint") if hasattr(doc, "get") else None
    if table is None:
        return None
    return table.unwrap() if hasattr(table, "unwrap") else table
