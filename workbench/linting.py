"""The linter as the workbench runs it on a library's prompt: one set of settings for all.

The Problems panel, the LLM "fix" action (TUI and ``workbench rewrite --action fix``) and
``workbench lint`` see the same findings because they ask here: config.toml's ``[lint]``,
then the library's own ``[lint]`` table, then any command-line overrides; the library's
other prompts are the context (a Kontext edit's ``follows``), its folder the base for
relative source images.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .lint import LintSettings, library_lint_table, lint, settings_for
from .spec import PromptSpec


def config_settings(config, overrides: LintSettings | None = None) -> LintSettings:
    """config.toml's ``[lint]`` with ``overrides`` (command-line flags) on top."""
    table = config.lint.table() if config is not None else None
    return settings_for({"lint": table} if table is not None else None, None, overrides)


def library_settings(config, library) -> LintSettings:
    """The settings for prompts of ``library``: the user's, then the library's table."""
    table = library_lint_table(library.data) if library is not None else None
    own = LintSettings.from_table(table, "library [lint]") if table is not None else None
    return config_settings(config).merged(own)


def lint_in_library(spec: PromptSpec, config, library, libraries: Iterable = ()) -> list:
    """Diagnostics for ``spec`` as the Problems panel shows them.  ``libraries``: the
    other open libraries, whose prompts a step may follow too."""
    context = {s.name: s for lib in libraries for s in lib.prompts}
    if library is not None:
        context.update({s.name: s for s in library.prompts})
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


def lint_change(spec: PromptSpec, proposed: PromptSpec, config) -> LintChange:
    """The user's ``[lint]`` settings on both versions (an LLM proposal, say)."""
    settings = config_settings(config)

    def problems(one: PromptSpec) -> list[str]:
        return sorted({d.rule for d in lint(one, settings=settings) if d.severity != "info"})

    return LintChange(problems(spec), problems(proposed))


def lint_messages(spec: PromptSpec, config, library, libraries: Iterable = ()) -> list[str]:
    """What the linter says about ``spec``, as the LLM "fix" action is told it."""
    return [d.message for d in lint_in_library(spec, config, library, libraries)]
