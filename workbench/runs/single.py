"""Running a prompt: the one service ``workbench run``, F5, chain steps and A/B cells call.

The way from a spec to a recorded cell is the same for every kind of run, so it is here
once, in steps a caller can also take one by one (the plan runner does, to keep a window
of jobs in flight on several servers):

1. `RunService.upload`: each input image by role (the img2img / Kontext / Fill
   ``source``, the Fill ``mask``, a Canny/Depth ``control_image``, Redux ``redux_N``:
   `inputs.load_inputs` checks them) is uploaded once per content hash
   (`uploads.ensure_uploaded`), re-uploaded once if the server has lost it.
2. `RunService.prepare`: free the GPU from Ollama (`llm.gpu.GpuSharing`, injected), build
   the workflow (`comfy.workflows.build_workflow`, presets and ``[defaults] preset``
   included) and check it against the server's object_info (`InvalidWorkflow` names every
   problem before anything is sent).
3. `RunService.submit`: journal the submission (crash recovery), POST it with the spec as
   the ``workbench`` PNG chunk (`images.pngmeta.workbench_chunk`); a refusal is explained.
4. `RunService.execute`: follow the job to its end and hand it to the run's
   `recorder.CellRecorder` (download, check, embed, record, settle the journal).

`RunService.run_cell` does 1-4 for a cell of an existing run; `RunService.run_single`
makes a one-cell run folder first (the history lists it like any other run).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ..comfy.client import ComfyClient, ComfyError, Job, JobResult, ServerRejected
from ..comfy.events import Event
from ..comfy.inventory import remember as remember_models
from ..comfy.validate import InvalidWorkflow, Problem, check_workflow, explain_rejection
from ..comfy.workflows import BuiltWorkflow, WorkflowError, build_workflow
from ..compose import compose
from ..images.pngmeta import workbench_chunk
from ..images.source import SourceImage
from ..presets import Presets, presets_for
from ..spec import PromptSpec
from ..specdata import spec_to_dict
from . import history
from .cancel import Cancelled, CancelScope
from .inputs import is_image_role
from .journal import Journal, JournalEntry, this_process
from .plan import Cell, draw_seeds, make_plan
from .recorder import CellRecorder
from .uploads import UploadCache, ensure_uploaded, missing_image

T = TypeVar("T")

EventCallback = Callable[[Job, Event], None]


@dataclass
class CellOutcome:
    """A cell that ran: the run it belongs to, its record, and what went wrong if anything."""

    run: history.Run
    cell: Cell
    record: history.CellResult
    result: JobResult
    workflow: dict
    built: BuiltWorkflow | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record.status == "done" and bool(self.record.images)

    @property
    def images(self) -> list[Path]:
        """The cell's images as absolute paths."""
        return [self.run.folder / p for p in self.record.images]


def spec_as_run(spec: PromptSpec, seed: int) -> PromptSpec:
    """``spec`` as it ran: with the seed that was used."""
    return spec.copy(params=replace(spec.params, seed=seed))


class RunService:
    """Carries specs to recorded cells on a ComfyUI server (one client per call)."""

    def __init__(self, config: Any, *, journal: Journal | None = None,
                 uploads: UploadCache | None = None, gpu: Any = None,
                 presets: Presets | None = None) -> None:
        self.config = config
        self.journal = journal
        self.uploads = uploads if uploads is not None else UploadCache()
        self.gpu = gpu          # llm.gpu.GpuSharing; None: Ollama is never asked
        self.presets = presets if presets is not None else presets_for(config)
        self._versions: dict[str, str] = {}

    @classmethod
    def for_session(cls, config: Any, **kwargs: Any) -> RunService:
        """The service as a session uses it: the user's journal, upload cache and the
        session's GPU sharing decision."""
        from ..llm.gpu import sharing_for

        kwargs.setdefault("journal", Journal())
        kwargs.setdefault("gpu", sharing_for(config))
        return cls(config, **kwargs)

    def recorder(self, run: history.Run) -> CellRecorder:
        return CellRecorder(run, journal=self.journal, presets=self.presets)

    # -- 1. images ---------------------------------------------------------------------------

    async def upload(self, client: ComfyClient, images: Mapping[str, SourceImage], *,
                     force: bool = False) -> dict[str, str]:
        """Role -> server-side name of each input image, uploading what the server lacks."""
        unknown = sorted(role for role in images if not is_image_role(role))
        if unknown:
            raise WorkflowError(f"no workflow input for image role(s) {', '.join(unknown)}")
        names = {}
        for role, image in images.items():
            if force:
                self.uploads.forget(client.base_url, image.sha256)
            # the server's LoadImage list says whether a cached name is still there
            object_info = None if force else await client.object_info()
            names[role] = await ensure_uploaded(client, image, cache=self.uploads,
                                                object_info=object_info, force=force)
        return names

    async def with_reupload(self, client: ComfyClient, images: Mapping[str, SourceImage],
                            attempt: Callable[[dict[str, str]], Awaitable[T]]) -> T:
        """``await attempt(names)`` with the images uploaded; if the server says an image
        is missing (a stale cache entry), upload again and try once more."""
        names = await self.upload(client, images)
        try:
            return await attempt(names)
        except InvalidWorkflow as exc:
            if not images or not missing_image(exc.problems):
                raise
        return await attempt(await self.upload(client, images, force=True))

    # -- 2. the workflow ---------------------------------------------------------------------

    async def prepare(self, client: ComfyClient, spec: PromptSpec, *, seed: int | None = None,
                      workflow: str | dict | None = None,
                      images: Mapping[str, SourceImage] | None = None,
                      names: Mapping[str, str] | None = None, fit_1mp: bool = False,
                      check: bool = True) -> BuiltWorkflow:
        """Build ``spec``'s workflow for this server and check it.  ``names``: where the
        ``images`` are on the server (uploaded here when not given)."""
        images = dict(images or {})
        if self.gpu is not None:
            await self.gpu.release_for_images()
        names = dict(names) if names is not None else await self.upload(client, images)
        object_info = await client.object_info()
        remember_models(client.base_url, object_info)   # for the linter's tools checks
        built = build_workflow(spec, compose(spec), workflow=workflow, object_info=object_info,
                               config=self.config, presets=self.presets, seed=seed,
                               images=names, sizes={r: i.size for r, i in images.items()},
                               fit_1mp=fit_1mp)
        if check:
            problems = check_workflow(built.workflow, object_info, uploaded=set(names.values()))
            if problems:
                raise InvalidWorkflow(problems, f" {built.name}")
        return built

    # -- 3. submission -----------------------------------------------------------------------

    async def submit(self, client: ComfyClient, workflow: dict, cell: Cell,
                     recorder: CellRecorder, *, seed: int, workflow_name: str = "",
                     on_event: EventCallback | None = None,
                     scope: CancelScope | None = None) -> Job:
        """Journal and POST ``workflow`` for ``cell``; a refusal raises `InvalidWorkflow`
        (explained per node), an unreachable server its `ComfyError`, a ``scope`` already
        cancelled `Cancelled` (nothing sent); the job joins the ``scope``."""
        if scope is not None:
            scope.check()
        prompt_id = str(uuid.uuid4())
        run = recorder.run
        if recorder.journal is not None:
            meta = {"run": str(run.folder), "cell": cell.id, "workflow": workflow_name,
                    "spec": spec_to_dict(cell.spec), **this_process()}
            await recorder.journal_write(recorder.journal.submitting, JournalEntry(
                prompt_id, client.base_url, client.client_id, str(run.folder), workflow,
                seed, meta))
        chunk = workbench_chunk(spec_as_run(cell.spec, seed), run=run.id, cell=cell.id)
        try:
            job = await client.submit(workflow, prompt_id=prompt_id, on_event=on_event,
                                      extra_pnginfo={"workbench": chunk})
        except ServerRejected as exc:
            await recorder.settle(prompt_id, "rejected")
            raise InvalidWorkflow(explain_rejection(exc.status, exc.body, workflow,
                                                    client.known_object_info)) from exc
        except ComfyError:
            await recorder.settle(prompt_id, "not-sent")
            raise
        if scope is not None:
            scope.add(job)
        if recorder.journal is not None:
            await recorder.journal_write(recorder.journal.queued, prompt_id, job.number)
        return job

    # -- 4. to the end -----------------------------------------------------------------------

    async def execute(self, client: ComfyClient, workflow: dict, cell: Cell,
                      recorder: CellRecorder, *, seed: int, built: BuiltWorkflow | None = None,
                      on_event: EventCallback | None = None,
                      on_submitted: Callable[[Job], None] | None = None,
                      scope: CancelScope | None = None, **extra: Any) -> CellOutcome:
        """Submit, follow and record one workflow; ``extra``: `history.CellResult` fields
        (label, notes, step).  ``scope``: see `cancel.CancelScope`."""
        job = await self.submit(client, workflow, cell, recorder, seed=seed,
                                workflow_name=built.name if built else "", on_event=on_event,
                                scope=scope)
        if on_submitted is not None:
            on_submitted(job)
        result = await job.wait()
        if built is not None:
            extra.setdefault("notes", list(built.notes))
        record, problems = await recorder.finish(client, result, cell, workflow,
                                                 version=await self._version(client), **extra)
        return CellOutcome(recorder.run, cell, record, result, workflow, built, problems)

    async def _version(self, client: ComfyClient) -> str:
        if client.base_url not in self._versions:
            try:
                stats = await client.system_stats()
                version = str((stats.get("system") or {}).get("comfyui_version", ""))
            except (ComfyError, AttributeError):
                version = ""
            self._versions[client.base_url] = version
        return self._versions[client.base_url]

    # -- all of it -----------------------------------------------------------------------------

    async def run_cell(self, client: ComfyClient, cell: Cell, recorder: CellRecorder, *,
                       workflow: str | dict | None = None,
                       images: Mapping[str, SourceImage] | None = None, fit_1mp: bool = False,
                       on_built: Callable[[BuiltWorkflow], None] | None = None,
                       on_event: EventCallback | None = None,
                       on_submitted: Callable[[Job], None] | None = None,
                       **extra: Any) -> CellOutcome:
        """Upload, build, check, submit, follow and record one cell of an existing run."""
        return await self._carry(client, cell, lambda built: recorder, workflow=workflow,
                                 images=images, fit_1mp=fit_1mp, on_built=on_built,
                                 on_event=on_event, on_submitted=on_submitted, **extra)

    async def _carry(self, client: ComfyClient, cell: Cell,
                     recorder_for: Callable[[BuiltWorkflow], CellRecorder], *,
                     workflow: str | dict | None, images: Mapping[str, SourceImage] | None,
                     fit_1mp: bool, on_built: Callable[[BuiltWorkflow], None] | None,
                     **execute: Any) -> CellOutcome:
        images = dict(images or {})

        async def attempt(names: dict[str, str]) -> CellOutcome:
            built = await self.prepare(client, cell.spec, seed=cell.seed, workflow=workflow,
                                       images=images, names=names, fit_1mp=fit_1mp)
            if on_built is not None:
                on_built(built)
            return await self.execute(client, built.workflow, cell, recorder_for(built),
                                      seed=built.seed, built=built, **execute)

        return await self.with_reupload(client, images, attempt)

    async def run_single(self, client: ComfyClient, spec: PromptSpec, *,
                         seed: int | None = None, folder: Path | None = None,
                         root: Path | None = None, meta: dict | None = None,
                         workflow: str | dict | None = None,
                         images: Mapping[str, SourceImage] | None = None, fit_1mp: bool = False,
                         on_built: Callable[[BuiltWorkflow], None] | None = None,
                         **execute: Any) -> CellOutcome:
        """Run ``spec`` once into a new single-run folder (``folder``, or a new one under
        ``root``, default the runs folder); ``execute``: as for `execute`.  The folder is
        made only once the workflow passed its checks, so a refused prompt leaves none."""
        if seed is None:
            seed = spec.params.seed if spec.params.seed is not None else draw_seeds(1)[0]
        plan = make_plan([spec], [seed], name=spec.name)
        cell = plan.cells()[0]
        made: list[CellRecorder] = []

        def recorder_for(built: BuiltWorkflow) -> CellRecorder:
            if not made:
                run = history.create_run(plan, kind="single", folder=folder, root=root,
                                         meta=dict(meta or {}, workflow=built.name))
                made.append(self.recorder(run))
            return made[0]

        try:
            outcome = await self._carry(client, cell, recorder_for, workflow=workflow,
                                        images=images, fit_1mp=fit_1mp, on_built=on_built,
                                        **execute)
        except (InvalidWorkflow, Cancelled) as exc:
            if made:   # refused at POST, or cancelled before it: the folder says so
                cancelled = isinstance(exc, Cancelled)
                await made[0].record(cell, [], None, status="cancelled" if cancelled
                                     else "error", error=str(exc))
                await asyncio.to_thread(history.set_status, made[0].run,
                                        "cancelled" if cancelled else "finished")
            raise
        await asyncio.to_thread(history.set_status, outcome.run, "cancelled"
                                if outcome.record.status == "cancelled" else "finished")
        return outcome
