"""Kontext edit chains as library data: a source image and edits that follow each other.

Kontext edits an image by instruction, and iterative editing builds each edit on the
previous result (seed 001, seed 004).  A chain needs no new file format: every step is a
`PromptSpec` with ``model = "kontext"`` and the instruction as ``raw``; the first step
carries ``source_image``, every later one names the step it continues in ``follows``.
So a chain saves in a library like any prompt, and branching from any step is just one
more spec that follows an earlier one.  The seed 001 announcement reports visible
degradation after about six successive edits, so longer chains carry a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .spec import Params, PromptSpec, source_path
from .textsafe import one_line

#: Successive edits before quality visibly degrades (seed 001, "failure cases").
MAX_EDITS = 6


class ChainError(ValueError):
    """A chain that cannot be built: a missing step, a loop, no source image."""


@dataclass
class EditChain:
    """Ordered steps from the source image to the last edit.

    The source is ``steps[0].source_image``, or, when the first edit follows a
    text-to-image prompt (``origin``, model dev or schnell), the image that prompt makes:
    generate, then edit, as seed 001 shows it.
    """

    steps: list[PromptSpec] = field(default_factory=list)
    origin: PromptSpec | None = None

    @property
    def source_image(self) -> str:
        return self.steps[0].source_image if self.steps else ""

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    @property
    def instructions(self) -> list[str]:
        return [step.raw for step in self.steps]

    def index(self, step: str | int) -> int:
        """The position of ``step`` (a name, or a 0-based index; negative counts back)."""
        if isinstance(step, int):
            if not -len(self.steps) <= step < len(self.steps):
                raise ChainError(f"the chain has {len(self.steps)} step(s); no step {step}")
            return step % len(self.steps)
        for i, spec in enumerate(self.steps):
            if spec.name == step:
                return i
        raise ChainError(f"no step named {one_line(step)!r} in the chain")

    def warnings(self) -> list[str]:
        return chain_warnings(self)


def chain_warnings(chain: EditChain) -> list[str]:
    """What the user should know before running ``chain`` (past six edits, seed 001)."""
    count = len(chain.steps)
    if count > MAX_EDITS:
        return [f"{count} successive Kontext edits: past {MAX_EDITS} the image visibly "
                "degrades (seed 001); start again from the source with one combined "
                "instruction, or branch from an earlier step"]
    return []


def step_name_after(parent: str, number: int, taken: set[str]) -> str:
    """A new edit's name: its parent's, then its number in the chain, with a letter when
    another edit already has that place (``Diner poster › 1 › 2``, ``… › 2b``): short,
    distinct, and it shows the chain (the instruction is the step's text, not its name)."""
    base = f"{parent} › {number}"
    if base not in taken:
        return base
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if f"{base}{letter}" not in taken:
            return f"{base}{letter}"
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


def edit_step(name: str, instruction: str, *, follows: str = "", source_image: str = "",
              seed: int | None = None, params: Params | None = None) -> PromptSpec:
    """One Kontext edit as a prompt spec."""
    params = params if params is not None else Params()
    if seed is not None:
        params.seed = seed
    return PromptSpec(name=name, model="kontext", raw=instruction, follows=follows,
                      source_image=source_image if not follows else "", params=params)


def new_chain(source_image: str | Path, instructions: Iterable[str], *, name: str = "edit",
              seed: int | None = None, taken: Iterable[str] = ()) -> EditChain:
    """A chain of edits on ``source_image``; steps are named "<name> 1", "<name> 2"...
    (skipping names in ``taken``, e.g. a library's)."""
    used = set(taken)
    steps: list[PromptSpec] = []
    n = 0
    for instruction in instructions:
        if not instruction.strip():
            raise ChainError(f"edit {len(steps) + 1} has no instruction")
        n += 1
        while f"{name} {n}" in used:
            n += 1
        step_name = f"{name} {n}"
        used.add(step_name)
        steps.append(edit_step(step_name, instruction, seed=seed,
                               follows=steps[-1].name if steps else "",
                               source_image="" if steps else str(source_image)))
    if not steps:
        raise ChainError("a chain needs at least one edit instruction")
    return EditChain(steps)


def chain_to(specs: Iterable[PromptSpec], name: str) -> EditChain:
    """The chain that ends at the step ``name``, following ``follows`` back to the step
    with the source image.  ``specs``: a library's prompts (or all of a collection's)."""
    by_name = {spec.name: spec for spec in specs}
    current = by_name.get(name)
    if current is None:
        raise ChainError(f"no prompt named {one_line(name)!r}")
    steps: list[PromptSpec] = []
    origin: PromptSpec | None = None
    seen: set[str] = set()
    while True:
        if current.name in seen:
            raise ChainError(f"the edit chain loops back to {one_line(current.name)!r}")
        seen.add(current.name)
        if current.model != "kontext":
            if steps and not steps[-1].source_image.strip():
                origin = current  # the first edit continues a text-to-image prompt
                break
            raise ChainError(f"{one_line(current.name)!r} is a {current.model} prompt, not a "
                             "Kontext edit")
        steps.append(current)
        follows = current.follows.strip()
        if not follows:
            break
        previous = by_name.get(follows)
        if previous is None:
            raise ChainError(f"{one_line(current.name)!r} follows {one_line(follows)!r}, "
                             "which is not in the library")
        current = previous
    steps.reverse()
    if origin is None and not steps[0].source_image.strip():
        raise ChainError(f"the first edit {one_line(steps[0].name)!r} has no source image")
    return EditChain(steps, origin)


def followers(specs: Iterable[PromptSpec], name: str) -> list[PromptSpec]:
    """The steps that continue ``name`` directly (more than one: the chain branches)."""
    return [spec for spec in specs if spec.follows.strip() == name]


def chain_tips(specs: Iterable[PromptSpec]) -> list[str]:
    """Names of Kontext steps nothing follows: each ends one chain (or branch)."""
    specs = list(specs)
    followed = {spec.follows.strip() for spec in specs if spec.follows.strip()}
    return [spec.name for spec in specs
            if spec.model == "kontext" and (spec.follows.strip() or spec.source_image.strip())
            and spec.name not in followed]


def branch(chain: EditChain, at: str | int, instruction: str, *, name: str | None = None,
           seed: int | None = None, taken: Iterable[str] = ()) -> EditChain:
    """A new chain: ``chain``'s steps up to and including ``at``, then a new edit that
    follows it.  The earlier steps are the same objects (nothing is copied or renamed)."""
    if not instruction.strip():
        raise ChainError("the new edit has no instruction")
    index = chain.index(at)
    parent = chain.steps[index]
    used = set(taken) | set(chain.names)
    if name:
        step_name, n = name, 2
        while step_name in used:
            step_name, n = f"{name} ({n})", n + 1
    else:
        step_name = step_name_after(parent.name, index + 2, used)
    inherited = Params(seed=parent.params.seed if seed is None else seed)
    step = edit_step(step_name, instruction, follows=parent.name, params=inherited)
    return EditChain([*chain.steps[: index + 1], step], chain.origin)


def add_to_library(library, chain: EditChain) -> list[PromptSpec]:
    """Add the steps of ``chain`` that ``library`` does not have yet (kept in order, each
    after the step it follows); returns the added specs.  Saving is the caller's call."""
    added: list[PromptSpec] = []
    for step in chain.steps:
        if library.get(step.name) is step:
            continue
        if library.get(step.name) is not None:
            raise ChainError(f"the library already has a different prompt named "
                             f"{one_line(step.name)!r}")
        after = library.get(step.follows) if step.follows else None
        library.add(step, after=after)
        added.append(step)
    return added


def add_wish(library, chain: EditChain, at: str, instructions: Iterable[str]
             ) -> list[PromptSpec]:
    """A wish turned into single-change edits (by the local model) joins ``library`` as a
    branch after the step ``at``: each instruction one step following the one before.
    Returns the new steps (saving is the caller's call); raises `ChainError` when the
    wish gave no instruction."""
    chain_now, taken = chain, [s.name for s in library.prompts]
    for n, instruction in enumerate(instructions):
        chain_now = branch(chain_now, at if n == 0 else -1, instruction, taken=taken)
        taken.append(chain_now.steps[-1].name)
    new_steps = chain_now.steps[chain_now.index(at) + 1:]
    if not new_steps:
        raise ChainError("the wish gave no edit instruction")
    after = library.get(at)
    for spec in new_steps:
        after = library.add(spec, after=after)
    return new_steps


def add_branch(library, chain: EditChain, at: str, instruction: str) -> PromptSpec:
    """A new edit after the step ``at`` joins ``library`` (a branch when ``at`` is not the
    chain's tip); returns it (saving is the caller's call)."""
    return add_wish(library, chain, at, [instruction])[-1]


def add_edits_after(library, spec: PromptSpec, instructions: Iterable[str]
                    ) -> list[PromptSpec]:
    """Kontext edits that continue ``spec`` one after another (a Kontext proposal's
    instructions after its first, which ``spec`` holds): a step each, named by their
    place in the chain, with ``spec``'s seed.  Returns them (saving is the caller's)."""
    try:
        number = len(chain_to(library.prompts, spec.name).steps)
    except ChainError:
        number = 1
    taken = {s.name for s in library.prompts}
    added, parent = [], spec
    for instruction in (i for i in instructions if i.strip()):
        number += 1
        name = step_name_after(parent.name, number, taken)
        taken.add(name)
        step = edit_step(name, instruction, follows=parent.name,
                         params=Params(seed=spec.params.seed))
        parent = library.add(step, after=parent)
        added.append(step)
    return added


def resolve_source(chain: EditChain, base: Path | None = None) -> Path:
    """The first step's source image as a path (relative ones against ``base``, usually
    the library file's folder)."""
    return source_path(chain.source_image, base)
