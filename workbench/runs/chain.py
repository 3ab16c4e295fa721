"""Running a Kontext edit chain: each step edits the previous step's output, in order.

A chain run is a run folder like any other (`history`, kind ``chain``): every step is a
cell, recorded in order, with its image and exact workflow under ``cells/``; the manifest
says what the chain was (source, workflow, warnings, server) and, per step, its
instruction, seed, input image hash, timings and status.  It is rewritten after each step,
so an interrupted chain still documents what it did.  Each step runs through the one run
service (`single.RunService.run_cell`): step 1 edits the source image, every later step
uploads the image the step before made (once per content hash) and edits that.

A previous chain run can be handed in as ``reuse``: its steps that match (same name,
instruction and input image, and seed when one is set) are not run again but copied in,
which is what makes branching from step 2 of a finished chain cheap.  `made_steps` and
`reuse_folder` find such runs among the user's runs.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..chains import EditChain, chain_warnings
from ..comfy.client import ComfyClient, ComfyError
from ..comfy.validate import InvalidWorkflow
from ..compose import compose
from ..images.source import SourceImage, SourceImageError, load_source
from ..spec import PromptSpec
from . import history
from .cancel import Cancelled, CancelScope
from .plan import Cell
from .recorder import CellRecorder
from .single import CellOutcome, EventCallback, RunService

DEFAULT_WORKFLOW = "flux-kontext"
SEED_RANGE = 2 ** 50


@dataclass
class StepResult:
    """One step as run (or reused): what went in, what came out, how long it took."""

    index: int
    name: str
    instruction: str
    follows: str
    seed: int | None
    status: str                  # success | error | interrupted | ... | reused | not-run
    input_sha256: str = ""
    uploaded_as: str = ""
    image: str = ""              # path relative to the chain's run folder
    workflow: str = ""           # idem
    cell: str = ""               # the step's cell id in the run
    prompt_id: str = ""
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("success", "reused") and bool(self.image)


@dataclass
class ChainRun:
    """A chain run: its run folder, each step, and the warnings it started with."""

    run: history.Run
    steps: list[StepResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def out_dir(self) -> Path:
        return self.run.folder

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def manifest_path(self) -> Path:
        return self.run.manifest_path

    def image_path(self, step: int | str) -> Path | None:
        """The image of a step (index or name), as an absolute path."""
        for result in self.steps:
            if step in (result.index, result.name) and result.image:
                return self.out_dir / result.image
        return None


def step_id(index: int, spec: PromptSpec) -> str:
    """A step's cell id: ``step-02-make-it-snow``."""
    return f"step-{index:02d}-" + history.slug(spec.raw or spec.name)


# -- finding earlier runs of a chain ------------------------------------------------------------

def chain_runs(root: Path | None = None) -> list[history.Run]:
    """Every readable chain run under ``root`` (default the runs folder), oldest first."""
    runs = []
    for summary in reversed(history.list_runs(root)):
        if summary.kind == "chain":
            try:
                runs.append(history.load_run(summary.folder))
            except history.HistoryError:
                continue
    return runs


def made_steps(chain: EditChain, root: Path | None = None
               ) -> dict[str, tuple[Path, history.CellResult]]:
    """Steps of ``chain`` already made in any chain run (a branch shares its parent's
    steps): step name -> (run folder, its cell), matched on name and instruction; the
    newest result of a step wins."""
    wanted = {(spec.name, spec.raw) for spec in chain.steps}
    if chain.origin is not None:
        wanted.add((chain.origin.name, compose(chain.origin)))
    found: dict[str, tuple[Path, history.CellResult]] = {}
    for run in chain_runs(root):
        for result in run.results.values():
            name = result.step.get("name", "")
            if (name, result.text) in wanted and result.status == "done" and result.images:
                found[name] = (run.folder, result)
    return found


def reuse_folder(chain: EditChain, root: Path | None = None) -> Path | None:
    """The chain run holding the most of this chain's steps (what `run_chain` can reuse)."""
    counts: dict[Path, int] = {}
    for folder, _ in made_steps(chain, root).values():
        counts[folder] = counts.get(folder, 0) + 1
    return max(counts, key=counts.get) if counts else None


def _reusable(reuse: Path | None) -> dict[str, tuple[Path, history.CellResult]]:
    if reuse is None:
        return {}
    try:
        run = history.load_run(reuse)
    except history.HistoryError:
        return {}
    return {str(r.step.get("name")): (run.folder, r) for r in run.results.values()
            if r.status == "done" and r.images}


# -- running ------------------------------------------------------------------------------------

@dataclass
class _Chain:
    """What one `run_chain` call carries from step to step."""

    service: RunService
    client: ComfyClient
    recorder: CellRecorder
    out: ChainRun
    workflow: str | dict | None
    reusable: dict[str, tuple[Path, history.CellResult]]
    chooser: random.Random
    on_event: EventCallback | None
    scope: CancelScope | None = None


async def run_chain(service: RunService, client: ComfyClient, chain: EditChain, out_dir: Path,
                    *, source_path: Path | None = None, seed: int | None = None,
                    workflow: str | dict | None = None, reuse: Path | None = None,
                    on_step: Callable[[int, PromptSpec, StepResult | None], None] | None = None,
                    on_event: EventCallback | None = None,
                    rng: random.Random | None = None,
                    scope: CancelScope | None = None) -> ChainRun:
    """Run ``chain`` step by step into the run folder ``out_dir``; stops at the first step
    that fails.

    ``source_path`` is the first step's source (default: its ``source_image`` as a path; a
    chain whose first edit follows a text-to-image prompt makes that image first, as step
    0).  A bad source raises `SourceImageError` before anything is sent.  A step's seed is
    its own, else ``seed``, else a random one, and is always recorded.  ``on_step(i, spec,
    None)`` is called when step ``i`` starts and ``on_step(i, spec, result)`` when it ends.
    A cancelled ``scope`` (`cancel.CancelScope`) ends the step that runs as ``cancelled``
    and the chain there; the manifest is rewritten after every step either way."""
    name = f"{chain.steps[0].name} … {chain.steps[-1].name}" if chain.steps else "chain"
    run = await asyncio.to_thread(history.create_run, None, kind="chain", folder=out_dir,
                                  name=name, meta={"server": client.base_url,
                                                   "warnings": chain_warnings(chain)})
    state = _Chain(service, client, service.recorder(run),
                   ChainRun(run, warnings=chain_warnings(chain), started=time.time()),
                   workflow, _reusable(reuse), rng or random.SystemRandom(), on_event, scope)
    notify = on_step or (lambda *_: None)
    try:
        if source_path is None and chain.origin is not None and not chain.source_image:
            origin = await _origin_step(state, chain.origin, seed, notify)
            if not origin.ok:
                return state.out
            source_path = run.folder / origin.image
        path = Path(source_path) if source_path is not None else Path(chain.source_image)
        current: SourceImage = await asyncio.to_thread(load_source, path)
        _describe_source(state, current)
        for index, spec in enumerate(chain.steps, 1):
            notify(index, spec, None)
            result = await _edit_step(state, index, spec, seed, current)
            notify(index, spec, result)
            if not result.ok:
                break
            try:
                current = await asyncio.to_thread(load_source, run.folder / result.image)
            except SourceImageError as exc:
                result.status, result.message = "error", f"the step's image is unusable: {exc}"
                break
    finally:
        await _close(state)
    return state.out


def _describe_source(state: _Chain, source: SourceImage) -> None:
    state.out.run.meta.update(
        source={"path": str(source.path), "sha256": source.sha256, "size": list(source.size),
                "format": source.format, "oriented": source.oriented},
        workflow=state.workflow if isinstance(state.workflow, str) else
        ("custom" if state.workflow else DEFAULT_WORKFLOW))


async def _close(state: _Chain) -> None:
    out = state.out
    out.finished = time.time()
    out.run.meta.update(ok=out.ok, seconds=round(max(0.0, out.finished - out.started), 3))
    cancelled = state.scope is not None and state.scope.requested
    await asyncio.to_thread(history.set_status, out.run, "cancelled" if cancelled
                            else "finished")


def _step_seed(state: _Chain, spec: PromptSpec, seed: int | None) -> int:
    if spec.params.seed is not None:
        return spec.params.seed
    return seed if seed is not None else state.chooser.randrange(0, SEED_RANGE)


async def _origin_step(state: _Chain, origin: PromptSpec, seed: int | None,
                       notify) -> StepResult:
    """Step 0 of a chain that starts from a text-to-image prompt: make its image."""
    notify(0, origin, None)
    result = StepResult(0, origin.name, compose(origin), "", origin.params.seed
                        if origin.params.seed is not None else seed, "not-run",
                        cell=step_id(0, origin))
    result = await _reuse_or_run(state, result, origin, None)
    notify(0, origin, result)
    return result


async def _edit_step(state: _Chain, index: int, spec: PromptSpec, seed: int | None,
                     current: SourceImage) -> StepResult:
    result = StepResult(index, spec.name, spec.raw, spec.follows,
                        spec.params.seed if spec.params.seed is not None else seed,
                        "not-run", input_sha256=current.sha256, cell=step_id(index, spec))
    return await _reuse_or_run(state, result, spec, current)


async def _reuse_or_run(state: _Chain, result: StepResult, spec: PromptSpec,
                        current: SourceImage | None) -> StepResult:
    state.out.steps.append(result)
    earlier = state.reusable.get(spec.name)
    if earlier is not None and await _reuse(state, result, spec, *earlier):
        return result
    result.seed = _step_seed(state, spec, result.seed)
    cell = Cell(result.cell, (result.index,), result.index, result.seed, (), spec)
    started = time.monotonic()
    images = {"source": current} if current is not None else {}
    workflow = (state.workflow or DEFAULT_WORKFLOW) if current is not None else None
    info = _step_info(result)

    def built(workflow) -> None:   # the server-side name of the input, once known
        result.uploaded_as = str(workflow.values.get("source_image") or "")
        info["uploaded_as"] = result.uploaded_as

    try:
        outcome = await state.service.run_cell(
            state.client, cell, state.recorder, workflow=workflow, images=images,
            on_built=built, on_event=state.on_event, scope=state.scope, label=_label(result),
            step=info)
    except Cancelled as exc:   # asked before the step was sent: recorded, the chain ends
        result.status, result.message = "cancelled", str(exc)
        await state.recorder.record(cell, [], None, status="cancelled", error=str(exc),
                                    label=_label(result), step=info)
        return result
    except ComfyError as exc:   # recorded, then the caller hears of it
        result.status = "rejected" if isinstance(exc, InvalidWorkflow) else "error"
        result.message = str(exc)
        await state.recorder.record(cell, [], None, status="error", error=str(exc),
                                    label=_label(result), step=info)
        raise
    _settle(result, outcome, time.monotonic() - started)
    return result


def _label(result: StepResult) -> str:
    return f"{result.index}. {result.instruction}"


def _step_info(result: StepResult, **more: Any) -> dict[str, Any]:
    return {"index": result.index, "name": result.name, "follows": result.follows,
            "input_sha256": result.input_sha256, **more}


def _settle(result: StepResult, outcome: CellOutcome, seconds: float) -> None:
    """Fill ``result`` from a finished cell: seed, status, timings, image, message."""
    record = outcome.record
    result.status = outcome.result.status if record.images or outcome.result.status != \
        "success" else "error"
    result.prompt_id = record.prompt_id
    result.timings = dict(record.timings)
    result.seconds = round(seconds, 3)
    result.workflow = record.workflow
    result.notes = list(record.notes)
    result.image = record.images[0] if record.images else ""
    result.message = record.error or ("" if record.images else "no image came back")


async def _reuse(state: _Chain, result: StepResult, spec: PromptSpec, folder: Path,
                 earlier: history.CellResult) -> bool:
    """Copy a matching step of an earlier chain run into this one; False: no match."""
    image = folder / earlier.images[0]
    if earlier.text != result.instruction or \
            earlier.step.get("input_sha256", "") != result.input_sha256 or \
            (result.seed is not None and earlier.seed != result.seed) or not image.is_file():
        return False
    workflow = None
    if earlier.workflow and (folder / earlier.workflow).is_file():
        workflow = json.loads((folder / earlier.workflow).read_text(encoding="utf-8"))
    cell = Cell(result.cell, (result.index,), result.index, earlier.seed or 0, (), spec)
    record = await state.recorder.record(
        cell, [image.read_bytes()], workflow, status="done", server=earlier.server,
        comfyui_version=earlier.comfyui_version, prompt_id=earlier.prompt_id,
        timings=earlier.timings, label=_label(result),
        step=_step_info(result, uploaded_as=earlier.step.get("uploaded_as", ""),
                        reused_from=str(folder)))
    result.status, result.seed = "reused", earlier.seed
    result.uploaded_as = str(earlier.step.get("uploaded_as", ""))
    result.image, result.workflow = record.images[0], record.workflow
    result.prompt_id = earlier.prompt_id
    result.message = f"reused from {folder}"
    return True
