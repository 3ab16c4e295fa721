"""Judging a finished run folder: every done cell's pictures scored, ``judge.json`` written.

The run is read through `workbench.runs.history` (never by parsing the manifest here).
Per picture: the pixel checks always; the checklist verdict of the vision model when one is
available (cached answers are used even when Ollama is not); the in-image text check when
the prompt wants text.  Per cell "same as A": the picture is the same picture as the first
variant's at the same seed and axis values (`pixels.same_picture`), the A/B that changed
nothing.  Per variant: mean adherence, text hit rate, mean sharpness.

Vision requests go one at a time (one GPU); the pixel work runs in a thread.  When the
vision model was asked anything, the existing GPU-sharing step unloads it afterwards
(`settings.release_gpu`), so the next FLUX job on the same box has its memory back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from ..llm.ollama import (
    LLMError,
    ModelMissing,
    NotReachable,
    NoVision,
    OllamaClient,
    OutOfMemory,
)
from ..runs import history
from ..runs.plan import now_iso
from ..textsafe import one_line
from . import pixels, record
from .adherence import Verdict, VisionJudge
from .cache import VerdictCache
from .checklist import Checklist, build_checklist
from .scoring import adherence_score, mean_or_none, rate_or_none
from .settings import JudgeSettings, on_llm_use, release_gpu
from .textcheck import TextCheck, check_text
from .view import JUDGE_FILE

JUDGE_FORMAT = 1
#: A picture is "softer than the run" below this share of the run's median sharpness.
SOFTER_THAN_RUN = 0.5
#: Consecutive failed answers after which the model is not asked again in this run.
MAX_FAILURES_IN_A_ROW = 3
#: Errors after which asking the model again is pointless for the rest of the run.
_STOP_ASKING = (NotReachable, ModelMissing, NoVision, OutOfMemory)


@dataclass
class ImageJudgement:
    path: str                                   # relative to the run folder
    checklist: Checklist
    sha256: str = ""
    metrics: pixels.PixelMetrics | None = None
    verdict: Verdict | None = None
    adherence: float | None = None
    text: TextCheck | None = None
    same_as_a: bool | None = None               # None: not compared (A itself, or no pair)
    hash_distance: int | None = None            # `pixels.picture_distance` to A's
    softer_than_run: bool = False
    error: str = ""                             # the picture could not be checked
    adherence_error: str = ""                   # the model's answer could not be used

    def to_dict(self) -> dict[str, Any]:
        statuses = self.verdict.items if self.verdict else {}
        items = []
        for item in self.checklist.items:
            got = statuses.get(item.key)
            items.append({"key": item.key, "label": item.label, "wanted": item.wanted,
                          "weight": item.weight, "status": got.status if got else None,
                          "reason": got.reason if got else ""})
        out: dict[str, Any] = {
            "path": self.path, "sha256": self.sha256,
            "pixels": self.metrics.to_dict() if self.metrics else None,
            "softer_than_run": self.softer_than_run,
            "adherence": _round(self.adherence), "checklist_hash": self.checklist.hash,
            "checklist": items, "wanted_text": list(self.checklist.texts),
            "text": self.text.to_dict() if self.text else None,
            "same_as_a": self.same_as_a, "hash_distance": self.hash_distance,
        }
        if self.verdict:
            out.update(model=self.verdict.model, cached=self.verdict.cached,
                       attempts=self.verdict.attempts)
        if self.error:
            out["error"] = self.error
        if self.adherence_error:
            out["adherence_error"] = self.adherence_error
        return out


@dataclass
class CellJudgement:
    cell_id: str
    variant: int
    label: str
    seed: int
    axes: dict[str, Any]
    coords: tuple[int, ...]
    images: list[ImageJudgement] = field(default_factory=list)
    a_cell: str = ""                            # the cell it was compared with

    @property
    def adherence(self) -> float | None:
        return mean_or_none(i.adherence for i in self.images)

    @property
    def text_hit(self) -> bool | None:
        checks = [i.text.hit for i in self.images if i.text is not None]
        return all(checks) if checks else None

    @property
    def sharpness(self) -> float | None:
        return mean_or_none(i.metrics.sharpness if i.metrics else None for i in self.images)

    @property
    def same_as_a(self) -> bool | None:
        flags = [i.same_as_a for i in self.images if i.same_as_a is not None]
        return all(flags) if flags else None

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "label": self.label, "seed": self.seed,
                "axes": self.axes, "adherence": _round(self.adherence),
                "text_hit": self.text_hit, "sharpness": _round(self.sharpness, 2),
                "same_as_a": self.same_as_a, "compared_with": self.a_cell or None,
                "images": [i.to_dict() for i in self.images]}


@dataclass
class VariantSummary:
    index: int
    label: str
    cells: int
    judged: int
    mean_adherence: float | None
    adherence_images: int
    text_hit_rate: float | None
    text_images: int
    mean_sharpness: float | None
    same_as_a: int

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.index, "label": self.label, "cells": self.cells,
                "judged": self.judged, "mean_adherence": _round(self.mean_adherence),
                "adherence_images": self.adherence_images,
                "text_hit_rate": _round(self.text_hit_rate),
                "text_images": self.text_images,
                "mean_sharpness": _round(self.mean_sharpness, 2),
                "same_as_a": self.same_as_a}


@dataclass
class AdherenceStatus:
    """How the vision part went: ``done`` (every picture has a verdict), ``partial``,
    ``skipped`` (none: ``note`` says why), or ``off`` (not asked for)."""

    model: str = ""
    state: str = "off"
    note: str = ""
    asked: int = 0
    cached: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model or None, "status": self.state, "note": self.note,
                "asked": self.asked, "cached": self.cached, "failed": self.failed}


@dataclass
class RunJudgement:
    folder: Path
    run_id: str
    judged_at: str
    adherence: AdherenceStatus
    cells: dict[str, CellJudgement]
    variants: list[VariantSummary]
    not_done: dict[str, str]                    # cell id -> its status (error, cancelled...)
    unloaded: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / JUDGE_FILE

    def images(self) -> list[ImageJudgement]:
        return [i for c in self.cells.values() for i in c.images]

    def to_dict(self) -> dict[str, Any]:
        return {"format": JUDGE_FORMAT, "run": self.run_id, "judged_at": self.judged_at,
                "adherence": self.adherence.to_dict(),
                "thresholds": {"sharpness_low": pixels.SHARPNESS_LOW,
                               "softer_than_run": SOFTER_THAN_RUN,
                               "clipped_share": pixels.CLIPPED_SHARE,
                               "same_distance": pixels.SAME_DISTANCE},
                "variants": [v.to_dict() for v in self.variants],
                "cells": {cid: c.to_dict() for cid, c in self.cells.items()},
                "not_judged": self.not_done}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


ProgressFn = Callable[[int, int, str], Any]


class RunJudge:
    """Judges the cells of one run, one at a time, then sums up.

    `judge_run` drives it over a finished run; a runner can call `judge_cell` as each cell
    finishes (after the image jobs when Ollama shares their GPU: see
    `settings.JudgeSettings.may_interleave`) and `finish` at the end.  Use as
    ``async with RunJudge(run, config) as judge: ...`` so its Ollama client is closed."""

    def __init__(self, run: history.Run, config, *, model: str = "", vision: bool = True,
                 client: OllamaClient | None = None,
                 cache: VerdictCache | None = None) -> None:
        self.run = run
        self.config = config
        self.settings = JudgeSettings.from_config(config, model=model)
        self.vision = vision
        self.status = AdherenceStatus(model=self.settings.vision_model if vision else "",
                                      state="on" if vision else "off")
        self.cells: dict[str, CellJudgement] = {}
        self._plan_cells = {c.id: c for c in run.plan.cells()}
        self._own_client = client is None and vision
        if self._own_client:
            client = OllamaClient(self.settings.ollama_host, timeout=None,
                                  on_use=on_llm_use(config))
        self.client = client
        self._judge = VisionJudge(client, self.settings.vision_model, cache=cache,
                                  deadline=self.settings.deadline) \
            if vision and client is not None else None
        self._asking = self._judge is not None
        self._failures_in_a_row = 0

    async def __aenter__(self) -> RunJudge:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_client and self.client is not None:
            await self.client.close()
            self._own_client = False

    def judgeable(self) -> list[str]:
        """The cells with a done result and pictures, in plan order."""
        out = []
        for cid in self._plan_cells:
            result = self.run.results.get(cid)
            if result is not None and result.status == "done" and result.images:
                out.append(cid)
        return out

    def not_done(self) -> dict[str, str]:
        out = {}
        for cid in self._plan_cells:
            if cid not in self.cells:
                result = self.run.results.get(cid)
                out[cid] = result.status if result is not None else "pending"
        return out

    async def judge_cell(self, cell_id: str,
                         on_image: Callable[[str], Any] | None = None) -> CellJudgement:
        """Judge (again) one done cell's pictures; ``on_image(cell_id)`` after each."""
        cell = self._plan_cells[cell_id]
        result = self.run.results[cell_id]
        checklist = build_checklist(cell.spec)
        judged = CellJudgement(cell_id, cell.variant,
                               self.run.plan.variants[cell.variant].label, cell.seed,
                               cell.axis_values, cell.coords)
        for rel in result.images:
            image = ImageJudgement(rel, checklist)
            judged.images.append(image)
            loaded = await _check_pixels(self.run.folder / rel, image)
            if loaded is not None:
                await self._adherence(image, loaded)
            loaded = None  # the decoded picture is not kept beyond this point
            if on_image is not None:
                on_image(cell_id)
        self.cells[cell_id] = judged
        return judged

    async def _adherence(self, image: ImageJudgement, loaded: pixels.LoadedImage) -> None:
        checklist, judge, status = image.checklist, self._judge, self.status
        if judge is None or not checklist.items:
            return
        verdict = judge.cached(loaded.picture_sha256, checklist)
        if verdict is not None:
            status.cached += 1
        elif self._asking:
            picture = loaded.image
            try:
                verdict = await judge.verdict(loaded.picture_sha256, checklist,
                                              lambda: pixels.for_model(picture))
                status.asked += 1
                self._failures_in_a_row = 0
            except _STOP_ASKING as exc:
                self._asking = False
                status.note = str(exc)
            except LLMError as exc:
                image.adherence_error = one_line(str(exc))
                status.failed += 1
                self._failures_in_a_row += 1
                if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                    self._asking = False
                    status.note = (f"stopped asking after {self._failures_in_a_row} failed "
                                   f"answers in a row: {image.adherence_error}")
        if verdict is not None:
            image.verdict = verdict
            image.adherence = adherence_score(checklist, verdict.statuses)
            image.text = check_text(checklist.texts, verdict.text_seen)

    async def finish(self, *, write: bool = True) -> RunJudgement:
        """Compare with A, sum up per variant, free the GPU if the model was asked
        anything, and (by default) write ``judge.json``."""
        await self.close()
        unloaded: list[str] = []
        if self.status.asked or self.status.failed:
            unloaded = await release_gpu(self.config)
        cells = {cid: self.cells[cid] for cid in self._plan_cells if cid in self.cells}
        _compare_with_a(cells)
        _mark_soft(cells)
        self.status.state = _adherence_state(self.status, cells, self.vision)
        judgement = RunJudgement(self.run.folder, self.run.id, now_iso(), self.status, cells,
                                 _summaries(self.run, cells), self.not_done(), unloaded)
        if write:   # judge.json, the manifest's summary, the contact sheet's scores
            await asyncio.to_thread(record.keep, judgement, self.run)
        return judgement


async def judge_run(folder: Path, config, *, model: str = "", vision: bool = True,
                    client: OllamaClient | None = None, cache: VerdictCache | None = None,
                    on_progress: ProgressFn | None = None, write: bool = True
                    ) -> RunJudgement:
    """Judge the run in ``folder`` and (by default) write ``judge.json`` beside its
    manifest.  Raises `history.HistoryError` for a folder that is not a readable run;
    anything wrong with Ollama or a picture is recorded, not raised.
    ``on_progress(done, total, cell_id)`` after each picture."""
    run = history.load_run(Path(folder))
    if run.plan is None:
        raise history.HistoryError(f"{folder}: a Kontext chain run has no grid of cells to "
                                   "judge (judge a comparison or a single run)")
    async with RunJudge(run, config, model=model, vision=vision, client=client,
                        cache=cache) as judge:
        cells = judge.judgeable()
        total = sum(len(run.results[cid].images) for cid in cells)
        done = 0

        def step(cell_id: str) -> None:
            nonlocal done
            done += 1
            if on_progress is not None:
                on_progress(done, total, cell_id)

        for cid in cells:
            await judge.judge_cell(cid, on_image=step)
        return await judge.finish(write=write)


async def _check_pixels(path: Path, image: ImageJudgement) -> pixels.LoadedImage | None:
    def work() -> tuple[pixels.LoadedImage, pixels.PixelMetrics]:
        loaded = pixels.load_image(path)
        return loaded, pixels.measure(loaded.image)

    try:
        loaded, metrics = await asyncio.to_thread(work)
    except pixels.ImageProblem as exc:
        image.error = str(exc)
        return None
    image.sha256, image.metrics = loaded.sha256, metrics
    return loaded


def _compare_with_a(cells: dict[str, CellJudgement]) -> None:
    by_coords = {c.coords: c for c in cells.values()}
    for cell in cells.values():
        if cell.variant == 0:
            continue
        a = by_coords.get((0, *cell.coords[1:]))
        if a is None:
            continue
        cell.a_cell = a.cell_id
        for mine, theirs in zip(cell.images, a.images):
            if mine.metrics is None or theirs.metrics is None:
                continue
            mine.hash_distance = pixels.picture_distance(mine.metrics.fingerprint,
                                                         theirs.metrics.fingerprint)
            mine.same_as_a = mine.hash_distance <= pixels.SAME_DISTANCE


def _mark_soft(cells: dict[str, CellJudgement]) -> None:
    measured = [i for c in cells.values() for i in c.images if i.metrics is not None]
    if len(measured) < 3:
        return
    middle = median(i.metrics.sharpness for i in measured)
    for image in measured:
        image.softer_than_run = image.metrics.sharpness < SOFTER_THAN_RUN * middle


def _adherence_state(status: AdherenceStatus, cells: dict[str, CellJudgement],
                     vision: bool) -> str:
    if not vision:
        return "off"
    wanted = [i for c in cells.values() for i in c.images if i.checklist.items and not i.error]
    judged = [i for i in wanted if i.verdict is not None]
    if wanted and not judged:
        if not status.note:
            status.note = "no picture could be judged"
        return "skipped"
    return "done" if len(judged) == len(wanted) else "partial"


def _summaries(run: history.Run, cells: dict[str, CellJudgement]) -> list[VariantSummary]:
    out = []
    per_variant = run.plan.size // max(1, len(run.plan.variants))
    for index, variant in enumerate(run.plan.variants):
        mine = [c for c in cells.values() if c.variant == index]
        images = [i for c in mine for i in c.images]
        adherence = [i.adherence for i in images if i.adherence is not None]
        texts = [i.text.hit for i in images if i.text is not None]
        out.append(VariantSummary(
            index, variant.label, per_variant, len(mine), mean_or_none(adherence),
            len(adherence), rate_or_none(texts), len(texts),
            mean_or_none(i.metrics.sharpness if i.metrics else None for i in images),
            sum(1 for c in mine if c.same_as_a)))
    return out
