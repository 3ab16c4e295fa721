"""The linter as the workbench runs it on a library's prompt: one set of settings for all.

The Problems panel, the LLM "fix" action (TUI and ``workbench rewrite --action fix``) and
``workbench lint`` see the same findings because they ask here: config.toml's ``[lint]``,
then the library's own ``[lint]`` table, then any command-line overrides; the library's
other prompts are the context (a Kontext edit's ``follows``), its folder the base for
relative source images.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from .lint import LintSettings, library_lint_table, lint, settings_for
from .spec import PromptSpec


def config_settings(config, overrides: LintSettings | None = None) -> LintSettings:
    """config.toml's ``[lint]`` with ``overrides`` (command-line flags) on top."""
    table = config.lint.table() if config is not None else None
    return settings_for({"lint": table} if table is not None else None, None, overrides)


def config_caches(config) -> bool:
    """Whether ``workbench lint`` may keep results between runs (config's ``[lint] cache``,
    on by default)."""
    return config is None or config.lint.cache


def library_settings(config, library) -> LintSettings:
    """The settings for prompts of ``library``: the user's, then the library's table."""
    table = library_lint_table(library.data) if library is not None else None
    own = LintSettings.from_table(table, "library [lint]") if table is not None else None
    return config_settings(config).merged(own)


class PromptsByName(Mapping):
    """Prompt name -> spec over the open libraries, ``first``'s winning (and in a library,
    the last of a name), as the linter's context.  Looked up on demand: the linter asks
    for a name or two per run, and a dict of 10,000 prompts built for every keystroke's
    lint would cost more than the lint itself."""

    def __init__(self, libraries: Iterable, first=None) -> None:
        others = [lib for lib in libraries if lib is not first]
        self._order = ([first] if first is not None else []) + others[::-1]
        self._all: dict[str, PromptSpec] | None = None

    def __getitem__(self, name: str) -> PromptSpec:
        for library in self._order:
            for entry in reversed(library.entries):
                if entry.spec.name == name:
                    return entry.spec
        raise KeyError(name)

    def _dict(self) -> dict[str, PromptSpec]:
        if self._all is None:
            self._all = {}
            for library in reversed(self._order):
                self._all.update((e.spec.name, e.spec) for e in library.entries)
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())


def lint_in_library(spec: PromptSpec, config, library, libraries: Iterable = ()) -> list:
    """Diagnostics for ``spec`` as the Problems panel shows them.  ``libraries``: the
    other open libraries, whose prompts a step may follow too."""
    context = PromptsByName(libraries, library)
    base_dir = library.path.parent if library is not None else None
    return lint(spec, settings=library_settings(config, library), context=context,
                base_dir=base_dir)


@dataclass
class LintChange:
    """How a proposed version of a prompt fares with the linter, next to the prompt now
    (problems: warnings and errors, by rule)."""

    before: list[str]
    after: list[str]

    @property
    def fixed(self) -> list[str]:
        return sorted(set(self.before) - set(self.after))

    @property
    def new(self) -> list[str]:
        return sorted(set(self.after) - set(self.before))


def lint_change(spec: PromptSpec, proposed: PromptSpec, config, library=None,
                libraries: Iterable = ()) -> LintChange:
    """The user's ``[lint]`` settings on both versions (an LLM proposal, say).  With the
    prompt's ``library``, linted as the Problems panel lints (its context and settings,
    every finding counted), so "lint: 2 → 1" agrees with the panel."""
    if library is not None:
        def problems(one: PromptSpec) -> list[str]:
            return sorted(d.rule for d in lint_in_library(one, config, library, libraries))
    else:
        settings = config_settings(config)

        def problems(one: PromptSpec) -> list[str]:
            return sorted({d.rule for d in lint(one, settings=settings)
                           if d.severity != "info"})

    return LintChange(problems(spec), problems(proposed))


def lint_messages(spec: PromptSpec, config, library, libraries: Iterable = ()) -> list[str]:
    """What the linter says about ``spec``, as the LLM "fix" action is told it."""
    return [d.message for d in lint_in_library(spec, config, library, libraries)]
