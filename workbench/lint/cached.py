"""A library's findings through the lint cache (`cache.LintCache`): what it holds is
reused, the rest is linted (on several processes, `batch`) and stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .batch import lint_all, map_specs
from .cache import LintCache
from .diagnostic import Diagnostic
from .engine import lint


def lint_cached(specs: Sequence[Any], options: dict[str, Any], cache: LintCache | None, *,
                jobs: int | None = None) -> list[list[Diagnostic]]:
    """``[lint(spec, **options) for spec in specs]``, taken from ``cache`` where it holds
    them (None: no cache), the others linted on ``jobs`` processes (None: as many as
    help, `batch.jobs_for`) and stored; the cache is saved."""
    if cache is not None and cache.empty:
        return _lint_first_run(specs, options, cache, jobs)
    base_dir = options["base_dir"]
    found: list[list[Diagnostic] | None] = []
    todo: list[tuple[int, str | None]] = []  # (index in found, cache key) to lint
    for spec in specs:
        key = cache.key(spec, base_dir) if cache is not None else None
        hit = cache.get(key) if key is not None else None
        if hit is None:
            todo.append((len(found), key))
        found.append(hit)
    if todo:
        linted = lint_all([specs[i] for i, _ in todo], jobs=jobs, **options)
        for (i, key), diagnostics in zip(todo, linted):
            found[i] = diagnostics
            if key is not None:
                cache.put(key, diagnostics)
    if cache is not None:
        cache.save()
    return found  # type: ignore[return-value]  (every None was linted)


def _lint_first_run(specs: Sequence[Any], options: dict[str, Any], cache: LintCache,
                    jobs: int | None) -> list[list[Diagnostic]]:
    """`lint_cached` when the cache holds nothing for the library (a first run): each
    prompt's key is worked out where it is linted, on all the lint processes, rather than
    here before they start."""
    base_dir = options["base_dir"]

    def keyed(spec) -> tuple[str | None, list[Diagnostic]]:
        return cache.key(spec, base_dir), lint(spec, **options)

    found = []
    for key, diagnostics in map_specs(keyed, specs, jobs=jobs):
        found.append(diagnostics)
        if key is not None:
            cache.put(key, diagnostics)
    cache.save()
    return found
