"""Linting many prompts at once, on several cores when there are enough of them.

A prompt's findings depend only on the prompt and the run's options, so a big library
(`workbench lint` on 10,000 prompts: seconds of pure Python) splits into contiguous slices
linted side by side by forked copies of this process, one per idle CPU: they start with
everything loaded (rules, specs, settings) and hand back only the findings, in order.  The
result is the same list `lint` gives prompt by prompt; small batches, a busy machine,
``jobs=1`` and platforms without a safe ``fork`` (macOS, Windows) lint in this process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from .diagnostic import Diagnostic
from .engine import lint

#: Below this many prompts per process, starting processes costs more than it saves.
MIN_PER_JOB = 1000
#: More processes than this rarely help (the parent still reads, decodes and prints).
MAX_JOBS = 8
#: Slices per process: a few, so that one slow slice (long prompts) does not hold the rest.
SLICES_PER_JOB = 4

#: What forked workers lint: set just before the pool starts, read in the children.
_WORK: list[tuple[Sequence[Any], dict[str, Any]]] = []


def available_cpus() -> int:
    """CPUs this process may run on that are not busy with other work (as ``make -l``
    judges it: the load average, less this process itself).  On a machine already loaded,
    more processes only add the cost of starting them."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    try:
        busy = max(0.0, os.getloadavg()[0] - 1.0)
    except OSError:  # pragma: no cover - no load average to read
        busy = 0.0
    return max(1, int(cpus - busy + 0.5))


def jobs_for(count: int, jobs: int | None = None) -> int:
    """How many processes lint ``count`` prompts: ``jobs`` when given (at most one per
    prompt), else one per idle CPU (`available_cpus`) while each gets `MIN_PER_JOB`
    prompts or more."""
    if not sys.platform.startswith("linux"):
        return 1  # fork is the only start method that does not re-import everything
    if jobs is not None:
        return max(1, min(jobs, count))
    if count < 2 * MIN_PER_JOB:
        return 1
    return max(1, min(available_cpus(), MAX_JOBS, count // MIN_PER_JOB))


def lint_all(specs: Sequence[Any], *, jobs: int | None = None,
             **options: Any) -> list[list[Diagnostic]]:
    """``[lint(spec, **options) for spec in specs]``, on `jobs_for` processes."""
    workers = jobs_for(len(specs), jobs)
    if workers <= 1:
        return [lint(spec, **options) for spec in specs]
    import multiprocessing

    step = -(-len(specs) // (workers * SLICES_PER_JOB))
    slices = [(start, min(start + step, len(specs))) for start in range(0, len(specs), step)]
    _WORK.append((specs, options))
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            found: list[list[Diagnostic]] = []
            for part in pool.imap(_lint_slice, slices):
                found.extend(part)
            return found
    finally:
        _WORK.clear()


def _lint_slice(bounds: tuple[int, int]) -> list[list[Diagnostic]]:
    specs, options = _WORK[-1]
    start, stop = bounds
    return [lint(specs[i], **options) for i in range(start, stop)]


__all__ = ["available_cpus", "jobs_for", "lint_all"]
