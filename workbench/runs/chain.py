"""Running a Kontext edit chain: each step edits the previous step's output, in order.

Step 1 edits the source image; every later step uploads the image the step before made
(once per content hash, `uploads.ensure_uploaded`) and edits that.  Every step gets its
own folder under the output folder (its image, ``workflow.json`` and ``run.json``, as a
single run does) and ``manifest.json`` at the top says what the chain was, which seeds,
images, timings and server, rewritten after each step so an interrupted chain still
documents what it did.  A previous run's manifest can be handed in as ``reuse``: its steps
that match (same name, instruction and input image, and seed when one is set) are not run
again, which is what makes branching from step 2 of a finished chain cheap.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from ..chains import EditChain, chain_warnings
from ..compose import compose
from ..images.pngmeta import workbench_chunk
from ..images.source import SourceImage, SourceImageError, load_source
from ..spec import PromptSpec
from ..textsafe import one_line
from ..comfy.client import ComfyClient, Job
from ..comfy.events import Event
from ..comfy.validate import InvalidWorkflow
from .jobs import prepare, run_job
from .journal import Journal
from .uploads import UploadCache, with_source

MANIFEST = "manifest.json"
DEFAULT_WORKFLOW = "flux-kontext"


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
    image: str = ""              # path relative to the chain folder
    workflow: str = ""           # idem
    folder: str = ""
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
    """A chain run: the folder, each step, and the warnings it started with."""

    out_dir: Path
    server: str
    source: dict
    workflow: str
    steps: list[StepResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / MANIFEST

    def image_path(self, step: int | str) -> Path | None:
        """The image of a step (index or name), as an absolute path."""
        for result in self.steps:
            if step in (result.index, result.name) and result.image:
                return self.out_dir / result.image
        return None

    def to_json(self) -> dict[str, Any]:
        return {"format": 1, "kind": "kontext-chain", "server": self.server,
                "workflow": self.workflow, "source": self.source,
                "warnings": self.warnings,
                "started": _iso(self.started), "finished": _iso(self.finished),
                "seconds": round(max(0.0, self.finished - self.started), 3),
                "ok": self.ok, "steps": [asdict(step) for step in self.steps]}


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(when)) if when else ""


def load_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))


def _write_manifest(run: ChainRun) -> None:
    write_atomic(run.manifest_path, json.dumps(run.to_json(), indent=2, ensure_ascii=False)
                 .encode("utf-8"))


def _reusable(reuse: Path | None) -> dict[str, tuple[Path, dict]]:
    if reuse is None:
        return {}
    try:
        data = load_manifest(reuse)
    except (OSError, ValueError):
        return {}
    found = {}
    for step in data.get("steps", []):
        if isinstance(step, dict) and step.get("image") and \
                step.get("status") in ("success", "reused"):
            found[str(step.get("name"))] = (Path(reuse), step)
    return found


def _step_folder(index: int, spec: PromptSpec) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", one_line(spec.raw or spec.name).lower()).strip("-")[:40]
    return f"step-{index:02d}" + (f"-{slug}" if slug else "")


async def run_chain(client: ComfyClient, chain: EditChain, out_dir: Path, *,
                    source_path: Path | None = None, seed: int | None = None,
                    workflow: str | dict | None = None, config: Any = None,
                    cache: UploadCache | None = None, journal: Journal | None = None,
                    reuse: Path | None = None,
                    on_step: Callable[[int, PromptSpec, StepResult | None], None] | None = None,
                    on_event: Callable[[Job, Event], None] | None = None,
                    rng: random.Random | None = None) -> ChainRun:
    """Run ``chain`` step by step into ``out_dir``; stops at the first step that fails.

    ``source_path`` is the first step's source (default: its ``source_image`` as a path);
    a bad source raises `SourceImageError` before anything is sent.  A step's seed is its
    own, else ``seed``, else a random one, and is always recorded.  ``on_step(i, spec,
    None)`` is called when step ``i`` (1-based) starts and ``on_step(i, spec, result)``
    when it ends."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reusable = _reusable(reuse)
    chooser = rng or random.SystemRandom()
    origin_result: StepResult | None = None
    if source_path is None and chain.origin is not None and not chain.source_image:
        origin = chain.origin  # generate, then edit: its image is the chain's source
        if on_step is not None:
            on_step(0, origin, None)
        origin_seed = origin.params.seed if origin.params.seed is not None else seed
        origin_result = StepResult(0, origin.name, compose(origin), "", origin_seed,
                                   "not-run", folder=_step_folder(0, origin))
        earlier = reusable.get(origin.name)
        if earlier is not None:
            origin_result = _reuse(origin_result, *earlier, out_dir)
        if origin_result.status != "reused":
            if origin_result.seed is None:
                origin_result.seed = chooser.randrange(0, 2 ** 50)
            origin_result = await _make_origin(client, origin, origin_result, out_dir,
                                               config, journal, on_event)
        if on_step is not None:
            on_step(0, origin, origin_result)
        if not origin_result.ok:
            run = ChainRun(out_dir, client.base_url, {}, "", steps=[origin_result],
                           warnings=chain_warnings(chain), started=time.time(),
                           finished=time.time())
            await asyncio.to_thread(_write_manifest, run)
            return run
        source_path = out_dir / origin_result.image
    path = Path(source_path) if source_path is not None else Path(chain.source_image)
    source: SourceImage = await asyncio.to_thread(load_source, path)
    cache = cache if cache is not None else UploadCache()
    run = ChainRun(out_dir, client.base_url,
                   {"path": str(source.path), "sha256": source.sha256,
                    "size": list(source.size), "format": source.format,
                    "oriented": source.oriented},
                   workflow if isinstance(workflow, str) else
                   ("custom" if workflow else DEFAULT_WORKFLOW),
                   warnings=chain_warnings(chain), started=time.time())
    if origin_result is not None:
        run.steps.append(origin_result)
    current = source
    for index, spec in enumerate(chain.steps, 1):
        if on_step is not None:
            on_step(index, spec, None)
        step_seed = spec.params.seed if spec.params.seed is not None else seed
        folder = _step_folder(index, spec)
        result = StepResult(index, spec.name, spec.raw, spec.follows, step_seed, "not-run",
                            input_sha256=current.sha256, folder=folder)
        earlier = reusable.get(spec.name)
        if earlier is not None:
            result = _reuse(result, *earlier, out_dir)
        if result.status != "reused":
            if result.seed is None:
                result.seed = chooser.randrange(0, 2 ** 50)
            try:
                result = await _run_step(client, spec, current, result, out_dir, workflow,
                                         config, cache, journal, on_event)
            except InvalidWorkflow as exc:  # recorded, then the caller hears of it
                result.status, result.message = "rejected", str(exc)
                run.steps.append(result)
                run.finished = time.time()
                await asyncio.to_thread(_write_manifest, run)
                raise
        run.steps.append(result)
        run.finished = time.time()
        await asyncio.to_thread(_write_manifest, run)
        if on_step is not None:
            on_step(index, spec, result)
        if not result.ok:
            break
        try:
            current = await asyncio.to_thread(load_source, out_dir / result.image)
        except SourceImageError as exc:
            result.status, result.message = "error", f"the step's image is unusable: {exc}"
            await asyncio.to_thread(_write_manifest, run)
            break
    run.finished = time.time()
    await asyncio.to_thread(_write_manifest, run)
    return run


def _reuse(result: StepResult, folder: Path, earlier: dict, out_dir: Path) -> StepResult:
    image = folder / str(earlier.get("image", ""))
    if earlier.get("instruction") != result.instruction or \
            earlier.get("input_sha256") != result.input_sha256 or \
            (result.seed is not None and earlier.get("seed") != result.seed) or \
            not image.is_file():
        return result
    if folder.resolve() != out_dir.resolve():  # copy it in, so the folder stands alone
        target = out_dir / str(earlier["image"])
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, image.read_bytes())
        workflow = folder / str(earlier.get("workflow", ""))
        if earlier.get("workflow") and workflow.is_file():
            write_atomic(out_dir / str(earlier["workflow"]), workflow.read_bytes())
    result.status = "reused"
    result.seed = earlier.get("seed")
    result.image = str(earlier["image"])
    result.workflow = str(earlier.get("workflow", ""))
    result.folder = str(earlier.get("folder", result.folder))
    result.uploaded_as = str(earlier.get("uploaded_as", ""))
    result.prompt_id = str(earlier.get("prompt_id", ""))
    result.message = f"reused from {folder}"
    return result


async def _run_step(client, spec, current, result, out_dir, workflow, config, cache, journal,
                    on_event) -> StepResult:
    step_dir = out_dir / result.folder
    started = time.monotonic()

    async def attempt(name: str):
        built = await prepare(client, spec, workflow=workflow or DEFAULT_WORKFLOW,
                              config=config, seed=result.seed, source=current,
                              source_name=name)
        result.uploaded_as = name
        result.notes = list(built.notes)
        return built, await run_job(
            client, built.workflow, step_dir, seed=built.seed, journal=journal,
            meta={"chain_step": result.index, "name": spec.name, "instruction": spec.raw,
                  "follows": spec.follows, "input_sha256": current.sha256,
                  "uploaded_as": name, "workflow": built.name, "values": built.values},
            extra_pnginfo={"workbench": workbench_chunk(
                _seeded(spec, built.seed), chain_step=result.index)},
            on_event=on_event)

    built, outcome = await with_source(client, current, attempt, cache=cache)
    return _settle(result, built, outcome, step_dir, out_dir, started)


def _settle(result: StepResult, built, outcome, step_dir: Path, out_dir: Path,
            started: float) -> StepResult:
    """Fill ``result`` from a finished job: seed, status, timings, image, message."""
    record = outcome.record
    result.seed = built.seed
    result.status = record.status
    result.prompt_id = record.prompt_id
    result.timings = dict(record.timings)
    result.seconds = round(time.monotonic() - started, 3)
    result.workflow = str((step_dir / "workflow.json").relative_to(out_dir))
    if record.images:
        result.image = str(Path(record.images[0].path).resolve().relative_to(
            out_dir.resolve()))
    problems = "; ".join(str(p) for p in outcome.problems)
    result.message = problems or record.message or ("" if record.images else "no image came back")
    if record.status == "success" and not record.images:
        result.status = "error"
    return result


async def _make_origin(client, origin: PromptSpec, result: StepResult, out_dir: Path,
                       config, journal, on_event) -> StepResult:
    """Step 0 of a chain that starts from a text-to-image prompt: make its image."""
    step_dir = out_dir / result.folder
    started = time.monotonic()
    built = await prepare(client, origin, config=config, seed=result.seed)
    outcome = await run_job(
        client, built.workflow, step_dir, seed=built.seed, journal=journal,
        meta={"chain_step": 0, "name": origin.name, "text": result.instruction,
              "workflow": built.name, "values": built.values},
        extra_pnginfo={"workbench": workbench_chunk(_seeded(origin, built.seed),
                                                    chain_step=0)},
        on_event=on_event)
    return _settle(result, built, outcome, step_dir, out_dir, started)

def _seeded(spec: PromptSpec, seed: int) -> PromptSpec:
    """``spec`` as it ran: with the seed that was used."""
    copy = spec.copy()
    copy.params.seed = seed
    return copy
