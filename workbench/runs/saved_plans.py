"""Plans kept with the prompt they compare, inside its library file.

A plan is stored under its first variant's prompt as an array of tables, so the library
stays one readable file and a comparison can be re-run later with the same seeds::

    [[prompts]]
    name = "Fox"
    subject = "a red fox"

    [[prompts.plans]]
    format = 1
    name = "Fox vs Fox B"
    created = "2026-11-23T14:00:00+00:00"
    seed_source = "drawn"
    seeds = [1234, 99]

    [[prompts.plans.variants]]
    label = "A"

    [prompts.plans.variants.spec]      # a snapshot: later edits don't change the plan
    name = "Fox"
    subject = "a red fox"

    [[prompts.plans.axes]]
    name = "guidance"
    values = [2.5, 3.5]

    [[prompts.plans.winners]]
    cell = "v0-s1234-guidance=3.5"
    note = "sharper fur"

The library keeps keys it does not know, so this table survives every ordinary save.  A
plan is identified by its ``created`` time and ``name``.
"""

from __future__ import annotations

import hashlib

import tomlkit

from ..atomic import write_atomic
from ..library import ConflictError, Library
from .history import save_manifest
from .plan import PlanError, RunPlan, Winner, plan_from_dict

PLANS_KEY = "plans"


def _table_for(library: Library, prompt_name: str):
    library.sync_tables()  # gives every prompt its table (those added since loading too)
    for entry in library.entries:
        if entry.spec.name == prompt_name:
            return entry.table
    raise KeyError(f"no prompt {prompt_name!r} in {library.path}")


def load_plans(library: Library, prompt_name: str) -> tuple[list[RunPlan], list[str]]:
    """The plans saved with ``prompt_name``, and a message for each one that can't be read."""
    table = _table_for(library, prompt_name)
    plans, problems = [], []
    for i, item in enumerate(table.get(PLANS_KEY, []) or [], start=1):
        try:
            plans.append(plan_from_dict(item.unwrap() if hasattr(item, "unwrap") else item))
        except PlanError as exc:
            problems.append(f"{library.path}: {prompt_name}: plan {i}: {exc}")
    return plans, problems


def save_plan(library: Library, plan: RunPlan, prompt_name: str | None = None) -> None:
    """Add ``plan`` to its prompt (default: the first variant's name), replacing a saved
    plan with the same ``created`` and ``name``, and write the library.

    The whole library is written, so its other unsaved edits are saved too.  Raises
    `ConflictError` when the file changed on disk since it was loaded.
    """
    prompt_name = prompt_name or plan.variants[0].spec.name
    table = _table_for(library, prompt_name)
    aot = table.get(PLANS_KEY)
    if not isinstance(aot, tomlkit.items.AoT):
        aot = tomlkit.aot()
        table.append(PLANS_KEY, aot)
    item = tomlkit.item(plan.to_dict())
    for i, existing in enumerate(aot):
        if existing.get("created") == plan.created and existing.get("name") == plan.name:
            aot[i] = item
            break
    else:
        aot.append(item)
    _write(library)


def _write(library: Library) -> None:
    if library.dirty:
        library.save()
        return
    if library.changed_on_disk():
        raise ConflictError(library.path, "changed on disk since it was loaded; reload it "
                            "before saving the plan")
    data = library.render().encode("utf-8")
    write_atomic(library.path, data, backup=True)
    library.digest = hashlib.sha256(data).hexdigest()


def set_winner(plan: RunPlan, cell_id: str, winner: bool = True, *, note: str = "",
               run=None, library: Library | None = None,
               prompt_name: str | None = None) -> Winner | None:
    """Mark (or, with ``winner=False``, unmark) ``cell_id`` a winner and keep the choice
    where it belongs: the run's manifest (``run``, a `history.Run` of this plan) and, given
    the `Library` the plan came from, the plan saved with its prompt.  Returns the
    `Winner` (None when unmarked).  Disk or conflict errors propagate after the plan in
    memory has changed, so the caller can say the choice was not saved."""
    marked = plan.mark_winner(cell_id, note) if winner else None
    if not winner:
        plan.unmark_winner(cell_id)
    if run is not None:
        save_manifest(run)
    if library is not None:
        save_plan(library, plan, prompt_name)
    return marked
