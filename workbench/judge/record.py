"""Where a judgement is kept: ``judge.json`` beside the manifest, a summary in the manifest
(so the run history shows it without opening the file), and the scores printed under
each cell of the run's contact sheet.

Called once judging a run is over (`RunJudge.finish`), off the event loop: drawing the
sheet is Pillow work.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import write_atomic
from ..runs import history
from . import view


def write_judgement(judgement) -> Path:
    """``judge.json`` written atomically; returns its path."""
    data = json.dumps(judgement.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_atomic(judgement.path, data.encode("utf-8"))
    return judgement.path


def keep(judgement, run: history.Run, *, sheet: bool = True) -> Path:
    """Write ``judge.json``, note the summary in the run's manifest (unless the run is
    still running: its runner writes that file) and (``sheet``) redraw its contact sheet
    with the scores; returns the judge.json path."""
    path = write_judgement(judgement)
    data = judgement.to_dict()
    run.judge = view.manifest_summary(data)
    if run.status != "running":   # else its runner (maybe another process) owns the file
        history.save_manifest(run)
    if sheet and run.plan is not None:
        scored_sheet(run, data)
    return path


def scored_sheet(run: history.Run, data: dict) -> Path | None:
    """The run's contact sheet again, each cell's scores under its image (None: the run
    has no image to show)."""
    from ..images.contact_sheet import plan_sheet, save_sheet
    from ..runs.runner import CONTACT_SHEET

    images = history.first_images(run)
    if not any(images.values()):
        return None
    captions = {cid: view.caption(cell) for cid, cell in view.cells_of(data).items()}
    sheet, _, _ = plan_sheet(run.plan, images, captions=captions)
    path = run.folder / CONTACT_SHEET
    save_sheet(sheet, path)
    return path
