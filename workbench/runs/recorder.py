"""From a finished job to a recorded cell: download, check, embed the spec, record, settle.

Every kind of run ends a job the same way, so it lives here once: the images the job saved
are downloaded (size-capped) and checked (`images.validate.check_image`), each PNG is made
to carry the spec in its ``workbench`` chunk (ComfyUI's SaveImage writes it from
``extra_pnginfo``; a server that drops it gets it added), the cell is recorded in the run's
manifest (`history.record_cell`, one write at a time, off the event loop) and the journal
entry is settled.  Images that fail a check are listed with the reason, never written.
Each image written gets its preview thumbnail made in the background (`remember_images`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..comfy.client import ComfyClient, ComfyError, JobResult
from ..comfy.validate import Problem, explain_execution_error, explain_interrupted
from ..images.pngmeta import embed_spec, read_png_metadata
from ..images.thumbnails import remember_images
from ..images.validate import MAX_PIXELS, UnsafeImage, check_image
from ..presets import Presets
from ..textsafe import one_line
from . import history
from .journal import Journal
from .plan import Cell

_PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Collected:
    """What a job's outputs came to: image bytes to keep, and the ones refused (why)."""

    images: list[bytes] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)


def problems_of(result: JobResult, workflow: dict) -> list[Problem]:
    """A job's failure in words, naming the node (none for a success)."""
    if result.error is not None:
        return [explain_execution_error(result.error, workflow)]
    if result.interrupted is not None:
        return [explain_interrupted(result.interrupted, workflow)]
    if result.status in ("lost", "cancelled", "detached"):
        return [Problem("", "", "", result.message or result.status)]
    return []


def batch_size(workflow: dict) -> int:
    for node in (workflow or {}).values():
        value = (node.get("inputs") or {}).get("batch_size") if isinstance(node, dict) else None
        if isinstance(value, int) and value > 0:
            return value
    return 1


def job_details(result: JobResult, workflow: dict, server: str, version: str = "") -> dict:
    """The per-cell record of where and how a job ran."""
    return dict(server=server, comfyui_version=version, batch_size=batch_size(workflow),
                prompt_id=result.prompt_id,
                timings={k: v for k, v in result.timings().items() if v is not None})


class CellRecorder:
    """Records the cells of one run; safe to share between concurrent jobs."""

    def __init__(self, run: history.Run, *, journal: Journal | None = None,
                 presets: Presets | None = None, max_bytes: int | None = None,
                 max_pixels: int = MAX_PIXELS) -> None:
        self.run = run
        self.journal = journal
        self.presets = presets
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._manifest_lock = asyncio.Lock()
        self._journal_lock = asyncio.Lock()

    # -- the journal ---------------------------------------------------------------------

    async def journal_write(self, fn, *args: Any) -> None:
        """A journal write (fsynced) off the loop, in the order asked; a full disk is not
        a reason to fail the job."""
        if self.journal is None:
            return
        async with self._journal_lock:
            try:
                await asyncio.to_thread(fn, *args)
            except OSError:
                pass

    async def settle(self, prompt_id: str, outcome: str) -> None:
        if self.journal is not None:
            await self.journal_write(self.journal.finished, prompt_id, outcome)

    # -- images -------------------------------------------------------------------------------

    async def collect(self, client: ComfyClient, result: JobResult, cell: Cell) -> Collected:
        """Download and check the job's saved images; PNGs are made to carry the spec."""
        refs = [r for r in result.images if r.type == "output"] or list(result.images)
        seen: set[tuple[str, str, str]] = set()
        collected = Collected()
        for ref in refs:
            key = (ref.filename, ref.subfolder, ref.type)
            if key in seen:
                continue
            seen.add(key)
            try:
                data = await client.download(ref, self.max_bytes)
                # decoding runs in a thread so the event loop (the UI) stays live
                await asyncio.to_thread(check_image, data, self.max_pixels)
            except (ComfyError, UnsafeImage) as exc:
                collected.refused.append({"server_filename": one_line(ref.filename),
                                          "subfolder": one_line(ref.subfolder),
                                          "reason": one_line(str(exc))})
                continue
            collected.images.append(await asyncio.to_thread(self._with_spec, data, cell))
        return collected

    def _with_spec(self, data: bytes, cell: Cell) -> bytes:
        if data[:8] != _PNG:
            return data
        try:
            has_spec = read_png_metadata(data).workbench is not None
        except Exception:  # noqa: BLE001 - an odd PNG is kept exactly as it came
            return data
        return data if has_spec else embed_spec(data, cell.spec, run=self.run.id,
                                                cell=cell.id)

    # -- the manifest ----------------------------------------------------------------------

    async def record(self, cell: Cell, images: list[bytes], workflow: dict | None,
                     **details: Any) -> history.CellResult:
        """`history.record_cell` off the loop, one manifest write at a time; then the
        images' preview thumbnails are made in the background, now that the files exist:
        a grid of this run opened later (in the TUI, after a CLI run too) is drawn from
        them instead of decoding every megapixel PNG."""
        async with self._manifest_lock:
            result = await asyncio.to_thread(history.record_cell, self.run, cell, images,
                                             workflow, presets=self.presets, **details)
        if result.images:
            remember_images([self.run.folder / image for image in result.images])
        return result

    async def finish(self, client: ComfyClient, result: JobResult, cell: Cell, workflow: dict,
                     *, version: str = "", **extra: Any) -> tuple[history.CellResult,
                                                                  list[Problem]]:
        """Record how a job ended (images and all) and settle its journal entry; a job
        that ends ``detached`` stays open in the journal for recovery."""
        details = job_details(result, workflow, client.base_url, version)
        problems = problems_of(result, workflow)
        collected = Collected()
        if result.status == "success":
            collected = await self.collect(client, result, cell)
            if not collected.images:
                refused = "; ".join(f"{r['server_filename']}: {r['reason']}"
                                    for r in collected.refused)
                problems = [Problem("", "", "", "the job finished without a usable image"
                                    + (f" ({refused})" if refused else ""))]
        status = "done" if result.status == "success" and collected.images else (
            "cancelled" if result.status in ("cancelled", "interrupted") else "error")
        error = "; ".join(str(p) for p in problems) or (
            "" if status == "done" else result.message or result.status)
        record = await self.record(cell, collected.images, workflow, status=status,
                                   error=one_line(error), refused=collected.refused,
                                   **details, **extra)
        if result.status != "detached":
            await self.settle(result.prompt_id, result.status)
        return record, problems
