"""Run history: one folder per run, with a manifest a person can read.

Every kind of run has the same folder: a single prompt (``workbench run``, F5), an A/B
plan or sweep, a Kontext edit chain.  ComfyUI's results can change between its versions,
so a result is only reproducible with everything that made it: the plan, and per cell the
exact workflow submitted, the seed and parameters, the server and its ComfyUI version, the
batch size and the timings.  Layout::

    <runs dir>/20261123-140501-fox-vs-fox-b/       # UTC time of creation, then the name
        manifest.json                   # indented JSON, rewritten atomically per change
        cells/v0-s42-guidance=2.5-1.png  # the image(s) exactly as the server sent them
        cells/v0-s42-guidance=2.5.workflow.json   # the API workflow submitted

``kind`` says what the cells are: ``plan`` (variants x seeds x axes), ``single`` (a plan
of one cell) or ``chain`` (edit steps in order, each editing the previous one's image; no
grid, so no plan).  Paths in the manifest are relative to the run folder, so a run can be
moved or zipped.  Everything here is plain file I/O through `workbench.atomic.write_atomic`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import locations
from ..atomic import write_atomic, write_atomic_files
from ..compose import compose
from ..presets import Presets, effective_params
from ..textsafe import one_line
from ..untrusted import read_json_file
from .plan import Cell, PlanError, RunPlan, Winner, now_iso, plan_from_dict

MANIFEST = "manifest.json"
CELLS_DIR = "cells"
RUN_FORMAT = 1
KINDS = ("plan", "single", "chain")
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


class HistoryError(Exception):
    """A run folder that can't be read: which one and why."""


@dataclass
class CellResult:
    """What came of one cell.  ``images`` and ``workflow`` are relative to the run folder;
    ``timings`` holds epoch seconds (``queued``, ``started``, ``finished``) and/or
    durations (``seconds``) as the runner measured them."""

    cell: str
    status: str = "done"          # "done" | "error" | "cancelled"
    images: list[str] = field(default_factory=list)
    workflow: str = ""
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    server: str = ""
    comfyui_version: str = ""
    batch_size: int = 1
    prompt_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""
    recorded: str = ""
    label: str = ""                # how a chain step is shown ("2. Add a red hat")
    refused: list[dict] = field(default_factory=list)   # images that failed the checks
    notes: list[str] = field(default_factory=list)      # what building the workflow said
    step: dict[str, Any] = field(default_factory=dict)  # chain steps: index, name, follows,
    #                                                     input_sha256, uploaded_as, reused


@dataclass
class Run:
    """A run folder loaded: its plan (none for a chain) and the results recorded so far."""

    folder: Path
    plan: RunPlan | None
    created: str = ""
    status: str = "running"       # "running" | "finished" | "cancelled"
    results: dict[str, CellResult] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)   # library, prompt, anything else
    kind: str = "plan"            # "plan" | "single" | "chain"
    name: str = ""
    judge: dict[str, Any] = field(default_factory=dict)  # the judge's summary (judge.json)

    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def title(self) -> str:
        return self.name or (self.plan.name if self.plan is not None else "") or self.id

    @property
    def size(self) -> int:
        """Cells planned (a chain: steps recorded)."""
        return self.plan.size if self.plan is not None else len(self.results)

    @property
    def done(self) -> int:
        return sum(r.status == "done" for r in self.results.values())

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    def image_paths(self, cell_id: str) -> list[Path]:
        result = self.results.get(cell_id)
        return [self.folder / p for p in result.images] if result else []

    def missing_cells(self) -> list[Cell]:
        """Plan cells with no ``done`` result yet (what a resumed run still has to do)."""
        if self.plan is None:
            return []
        return [c for c in self.plan.cells()
                if c.id not in self.results or self.results[c.id].status != "done"]


@dataclass
class RunSummary:
    folder: Path
    name: str
    created: str
    status: str
    cells: int
    done: int
    winners: int
    kind: str = "plan"
    judge: dict[str, Any] = field(default_factory=dict)   # as `Run.judge`


# -- writing ----------------------------------------------------------------------------------

def slug(text: str, limit: int = 40) -> str:
    return _SLUG_UNSAFE.sub("-", text.lower()).strip("-")[:limit].strip("-") or "run"


def new_run_folder(root: Path | None, name: str, now: datetime | None = None) -> Path:
    """A new, empty folder ``<root>/<YYYYmmdd-HHMMSS>-<slug of name>`` named by the one clock
    every run uses (UTC); ``-2``, ``-3``... when that second already has one."""
    root = Path(root) if root is not None else locations.runs_dir()
    now = now or datetime.now(UTC)
    base = f"{now.astimezone(UTC).strftime('%Y%m%d-%H%M%S')}-{slug(one_line(name))}"
    root.mkdir(parents=True, exist_ok=True)
    folder, n = root / base, 2
    while True:
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            folder, n = root / f"{base}-{n}", n + 1


def create_run(plan: RunPlan | None, *, root: Path | None = None,
               meta: dict[str, Any] | None = None, now: datetime | None = None,
               kind: str = "plan", name: str = "", folder: Path | None = None) -> Run:
    """A new run with its manifest, in ``folder`` (made if missing; refused if it holds a
    run already) or in a `new_run_folder` under ``root`` (default `locations.runs_dir`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    name = name or (plan.name if plan is not None else "") or kind
    now = now or datetime.now(UTC)
    if folder is None:
        folder = new_run_folder(root, name, now)
    else:
        folder = Path(folder)
        if (folder / MANIFEST).exists():
            raise HistoryError(f"{folder} holds a run already; choose another folder")
        folder.mkdir(parents=True, exist_ok=True)
    (folder / CELLS_DIR).mkdir(exist_ok=True)
    run = Run(folder, plan, created=now.astimezone(UTC).replace(
        microsecond=0).isoformat(), meta=dict(meta or {}), kind=kind, name=name)
    save_manifest(run)
    return run


def _image_suffix(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    return ".png"


def record_cell(run: Run, cell: Cell, images: Sequence[bytes], workflow: dict[str, Any] | None,
                *, server: str = "", comfyui_version: str = "", batch_size: int = 1,
                prompt_id: str = "", timings: dict[str, float] | None = None,
                status: str = "done", error: str = "", presets: Presets | None = None,
                **extra: Any) -> CellResult:
    """Write a cell's images and submitted workflow beside each other and record them in
    the manifest (replacing an earlier result for the same cell, e.g. on a re-run).
    ``extra``: `CellResult`'s other fields (label, refused, notes, step)."""
    files = write_cell_files(run, cell, images, workflow)
    return record_written(run, cell, files, server=server, comfyui_version=comfyui_version,
                          batch_size=batch_size, prompt_id=prompt_id, timings=timings,
                          status=status, error=error, presets=presets, **extra)


def write_cell_files(run: Run, cell: Cell, images: Sequence[bytes],
                     workflow: dict[str, Any] | None) -> tuple[list[str], str]:
    """Write a cell's images and workflow (not yet in the manifest: several cells may do
    this at once); their paths relative to the run folder, for `record_written`."""
    cells = run.folder / CELLS_DIR
    files = []
    for n, data in enumerate(images, start=1):
        files.append((cells / f"{cell.id}-{n}{_image_suffix(data)}", bytes(data)))
    if workflow is not None:
        files.append((cells / f"{cell.id}.workflow.json", (json.dumps(
            workflow, indent=2, ensure_ascii=False) + "\n").encode("utf-8")))
    write_atomic_files(files)
    rel = [f"{CELLS_DIR}/{path.name}" for path, _ in files]
    return (rel[:-1], rel[-1]) if workflow is not None else (rel, "")


def record_written(run: Run, cell: Cell, files: tuple[list[str], str], *, server: str = "",
                   comfyui_version: str = "", batch_size: int = 1, prompt_id: str = "",
                   timings: dict[str, float] | None = None, status: str = "done",
                   error: str = "", presets: Presets | None = None,
                   **extra: Any) -> CellResult:
    """Record a cell whose files `write_cell_files` wrote in the manifest (one manifest
    write at a time)."""
    rel_images, rel_workflow = files
    params = asdict(effective_params(cell.spec, presets))
    params["model"] = cell.spec.model
    result = CellResult(cell=cell.id, status=status, images=rel_images, workflow=rel_workflow,
                        seed=cell.seed, params=params, text=compose(cell.spec), server=server,
                        comfyui_version=comfyui_version, batch_size=batch_size,
                        prompt_id=prompt_id, timings=dict(timings or {}), error=error,
                        recorded=now_iso(), **extra)
    run.results[cell.id] = result
    save_manifest(run)
    return result


def record_cell_error(run: Run, cell: Cell, error: str, **details: Any) -> CellResult:
    """Record a failed cell (``details`` as for `record_cell`)."""
    return record_cell(run, cell, [], details.pop("workflow", None), status="error",
                       error=error, **details)


def mark_winner(run: Run, cell_id: str, note: str = "") -> Winner:
    """Mark a winner in the run's plan and save the manifest.  (To keep it with the
    library entry too, pass ``run.plan`` to `saved_plans.save_plan`.)"""
    winner = run.plan.mark_winner(cell_id, note)
    save_manifest(run)
    return winner


def set_status(run: Run, status: str) -> None:
    run.status = status
    save_manifest(run)


def manifest_dict(run: Run) -> dict[str, Any]:
    head = {"format": RUN_FORMAT, "kind": run.kind, "id": run.id, "name": run.title,
            "created": run.created, "status": run.status, "meta": run.meta}
    if run.judge:
        head["judge"] = run.judge
    if run.plan is None:
        cells = {cid: _result_dict(result) for cid, result in run.results.items()}
        return {**head, "cells": cells}
    return {**head, "plan": run.plan.to_dict(), "cells": _plan_cells(run)}


_OPTIONAL = ("label", "refused", "notes", "step")   # left out of a cell when empty


def _result_dict(result: CellResult) -> dict[str, Any]:
    return {k: v for k, v in asdict(result).items()
            if k != "cell" and not (k in _OPTIONAL and not v)}


def _plan_cells(run: Run) -> dict[str, Any]:
    cells = {c.id: c for c in run.plan.cells()}
    out_cells = {}
    for cid, cell in cells.items():
        entry: dict[str, Any] = {"coords": list(cell.coords), "variant": cell.variant,
                                 "label": run.plan.variants[cell.variant].label,
                                 "seed": cell.seed, "axes": cell.axis_values}
        result = run.results.get(cid)
        if result is not None:
            entry.update({k: v for k, v in _result_dict(result).items()
                          if k not in ("seed", "label")})
        else:
            entry["status"] = "pending"
        out_cells[cid] = entry
    # results for cells no longer in the plan are kept rather than silently dropped
    for cid, result in run.results.items():
        if cid not in cells:
            out_cells[cid] = _result_dict(result)
    return out_cells


def save_manifest(run: Run) -> None:
    data = json.dumps(manifest_dict(run), indent=2, ensure_ascii=False) + "\n"
    write_atomic(run.manifest_path, data.encode("utf-8"))


# -- reading ------------------------------------------------------------------------------------

def load_run(folder: Path) -> Run:
    """Read a run folder; raises `HistoryError` naming the file and what is wrong."""
    folder = Path(folder)
    path = folder / MANIFEST
    data = _read_manifest(path)
    kind = str(data.get("kind", "plan"))
    if kind not in KINDS:
        raise HistoryError(f"{path}: unknown kind of run {kind!r}")
    plan = None
    if kind != "chain":
        try:
            plan = plan_from_dict(data.get("plan"))
        except PlanError as exc:
            raise HistoryError(f"{path}: plan: {exc}") from None
    run = Run(folder, plan, created=str(data.get("created", "")),
              status=str(data.get("status", "running")), meta=dict(data.get("meta") or {}),
              kind=kind, name=str(data.get("name", "")))
    judge = data.get("judge")
    run.judge = judge if isinstance(judge, dict) else {}
    known = {f for f in CellResult.__dataclass_fields__}
    for cid, entry in (data.get("cells") or {}).items():
        if not isinstance(entry, dict) or entry.get("status", "pending") == "pending":
            continue
        values = {k: v for k, v in entry.items() if k in known and k != "cell"}
        if kind != "chain":
            values.pop("label", None)   # a grid cell's label is its variant's
        for rel in values.get("images", []) + [values.get("workflow", "")]:
            if rel and not _inside(folder, rel):
                raise HistoryError(f"{path}: cell {cid}: path {rel!r} leaves the run folder")
        try:
            run.results[cid] = CellResult(cell=cid, **{**values, "seed": entry.get("seed")})
        except TypeError as exc:
            raise HistoryError(f"{path}: cell {cid}: {exc}") from None
    return run


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = read_json_file(path)  # size and depth capped: a manifest comes from disk
    except FileNotFoundError:
        raise HistoryError(f"{path}: no manifest (not a run folder)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") \
            from None
    if not isinstance(data, dict):
        raise HistoryError(f"{path}: the manifest must be a JSON object")
    return data


def first_images(run: Run) -> dict[str, Path | None]:
    """Cell id -> the first image of each done cell (None for the others), as absolute
    paths: what a contact sheet shows."""
    images: dict[str, Path | None] = {}
    for cid in ([c.id for c in run.plan.cells()] if run.plan is not None else run.results):
        result = run.results.get(cid)
        paths = run.image_paths(cid)
        images[cid] = paths[0] if paths and result and result.status == "done" else None
    return images


def _inside(folder: Path, rel: str) -> bool:
    target = (folder / rel).resolve()
    return target.is_relative_to(folder.resolve())


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """Every readable run under ``root`` (default `locations.runs_dir`), newest first;
    folders that aren't runs are skipped."""
    root = Path(root) if root is not None else locations.runs_dir()
    if not root.is_dir():
        return []
    summaries = []
    for folder in root.iterdir():
        if not (folder / MANIFEST).is_file():
            continue
        try:
            run = load_run(folder)
        except HistoryError:
            continue
        winners = len(run.plan.winners) if run.plan is not None else 0
        summaries.append(RunSummary(folder, run.title, run.created, run.status, run.size,
                                    run.done, winners, run.kind, run.judge))
    summaries.sort(key=lambda s: (s.created, s.folder.name), reverse=True)
    return summaries


__all__ = ["CellResult", "HistoryError", "KINDS", "Run", "RunSummary", "create_run",
           "list_runs", "load_run", "mark_winner", "new_run_folder", "record_cell",
           "record_cell_error", "save_manifest", "set_status"]
