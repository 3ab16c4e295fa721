"""Linting many prompts at once, on several cores when there are enough of them.

A prompt's findings depend only on the prompt and the run's options, so a big library
(`workbench lint` on 10,000 prompts: seconds of pure Python) splits into contiguous slices
linted side by side by this process and forked copies of it (one process per idle CPU in
all): the copies start with everything loaded (rules, specs, settings, compiled patterns,
the tokenizers) and hand back only the findings.  Every process takes the next slice nobody
has taken yet, so a slow one (long prompts, a busy core) holds up no one, and this process
lints instead of waiting: its own findings need no pickling.  The result is the same list
`lint` gives prompt by prompt; small batches, a busy machine, ``jobs=1`` and platforms
without a safe ``fork`` (macOS, Windows) lint in this process alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from ..spec import TEXT_FIELDS
from ..tokens import T5_BUDGET
from .diagnostic import Diagnostic
from .engine import lint
from .patterns import compile_all

T = TypeVar("T")

#: Below this many prompts per process, starting processes costs more than it saves.
MIN_PER_JOB = 1000
#: More processes than this rarely help (the parent still reads, decodes and prints).
MAX_JOBS = 8
#: Slices per process: enough that the processes finish together (the last slice taken
#: is what one waits for: a tenth of a second at 4 a process on 10,000 prompts), few
#: enough that taking one costs nothing.
SLICES_PER_JOB = 16

#: What the processes do (set just before the fork, read in all of them): the work for one
#: spec, the specs, the slices' bounds and the shared number of the next slice to take.
_WORK: list[tuple[Callable[[Any], Any], Sequence[Any], list[tuple[int, int]], Any]] = []


def available_cpus() -> int:
    """CPUs this process may run on that are not busy with other work (as ``make -l``
    judges it: the load, less this process itself).  On a machine already loaded, more
    processes only add the cost of starting them.  The load is the lower of the last
    minute's average and the tasks runnable right now (`load`): the average alone still
    counts work that has ended, such as the lint run just before this one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    busy = max(0.0, load() - 1.0)
    return max(1, int(cpus - busy + 0.5))


#: Linux's load figures: averages, then "runnable/all" tasks right now.
LOADAVG = "/proc/loadavg"


def load() -> float:
    """How many tasks want a CPU: the one-minute load average, or fewer when fewer are
    runnable at this moment (Linux's ``/proc/loadavg``, this process included)."""
    try:
        average = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average to read
        return 1.0
    try:
        with open(LOADAVG, encoding="ascii") as file:
            runnable = int(file.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):  # not Linux, or not readable
        return average
    return min(average, float(runnable))


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
    """``[lint(spec, **options) for spec in specs]``, on `jobs_for` processes (this one
    and forked copies)."""
    return map_specs(partial(lint, **options), specs, jobs=jobs)


def map_specs(work: Callable[[Any], T], specs: Sequence[Any], *,
              jobs: int | None = None) -> list[T]:
    """``[work(spec) for spec in specs]`` on `jobs_for` processes, for work that lints
    (`lint_all`, or a lint and what goes with it, such as a cache key)."""
    workers = jobs_for(len(specs), jobs)
    if workers <= 1:
        return [work(spec) for spec in specs]
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    compile_all()  # the copies start with the rules' patterns compiled
    _preload_tokenizers(specs)
    step = -(-len(specs) // (workers * SLICES_PER_JOB))
    slices = [(start, min(start + step, len(specs))) for start in range(0, len(specs), step)]
    _WORK.append((work, specs, slices, fork.Value("i", 0)))
    try:
        with fork.Pool(workers - 1) as pool:
            copies = pool.map_async(_take_slices, range(workers - 1), chunksize=1)
            done = dict(_take_slices())
            for part in copies.get():
                done.update(part)
    finally:
        _WORK.clear()
    return [found for i in range(len(slices)) for found in done[i]]


def _take_slices(_copy: int | None = None) -> list[tuple[int, list]]:
    """Do the next slice nobody has taken, until none is left: ``(slice, results)``."""
    work, specs, slices, taken = _WORK[-1]
    found = []
    while True:
        with taken.get_lock():
            index = taken.value
            taken.value = index + 1
        if index >= len(slices):
            return found
        start, stop = slices[index]
        found.append((index, [work(specs[i]) for i in range(start, stop)]))


def _preload_tokenizers(specs: Sequence[Any]) -> None:
    """Load the tokenizers once, before the fork, when a prompt is long enough to need an
    exact count (`rules.length`, `rules.subject`): each process would load its own."""
    shortest = min(T5_BUDGET.values())
    for spec in specs:
        values = spec.__dict__
        size = len(values["raw"]) or sum(len(values[name]) for name in TEXT_FIELDS)
        if size >= shortest:
            break
    else:
        return
    from ..tokens import TokenizerUnavailable, preload

    try:
        preload()
    except TokenizerUnavailable:
        pass  # the rules say so (estimated counts), as without a fork


__all__ = ["available_cpus", "jobs_for", "lint_all", "map_specs"]
