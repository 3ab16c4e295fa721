"""``workbench judge RUN_FOLDER``: score a finished run headless and write ``judge.json``.

Per picture: how much of the prompt's checklist a local vision model sees (adherence),
whether the in-image text reads as asked, sharpness, clipping, and "same as A" (the
picture did not change from the first variant's at the same seed).  The pixel checks need
no model and always run; when Ollama or the vision model is missing, adherence is skipped
and the reason printed.  Text from the model is shown escaped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from . import err

#: Lines of "what to look at" printed; the rest is in judge.json.
MAX_NOTES = 40

HELP = "score a finished run: prompt adherence, in-image text, sharpness, 'same as A'"

EPILOG = """\
examples:
  workbench judge ~/.local/share/flux-workbench/runs/20261123-140501-fox-vs-fox-b
  workbench judge RUN --model gemma3:4b --format json
  workbench judge RUN --no-vision          # pixel checks only, no Ollama needed

writes RUN/judge.json, a summary in RUN/manifest.json (for the run history) and the
scores under each cell of RUN/contact-sheet.png (see README, "Judging results").  The
scores are triage, not truth: a small vision model can be wrong.
exit status: 0 everything asked for was judged, 1 adherence was skipped or incomplete or a
picture could not be read (the rest is still written), 2 not a readable run folder.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("folder", type=Path, metavar="RUN_FOLDER",
                        help="a run folder (the one holding manifest.json)")
    parser.add_argument("--model", metavar="M",
                        help="Ollama vision model (default: [ollama] vision_model)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text: a table (default); json: what judge.json holds")
    parser.add_argument("--no-vision", action="store_true",
                        help="only the checks that need no model (sharpness, clipping, "
                             "same as A)")


def run(args: argparse.Namespace, config) -> int:
    from ..judge import judge_run
    from ..runs.history import HistoryError
    from ..textsafe import one_line

    def progress(done: int, total: int, cell_id: str) -> None:
        print(f"[{done}/{total}] {one_line(cell_id)}", file=sys.stderr, flush=True)

    try:
        judgement = asyncio.run(judge_run(args.folder, config, model=args.model or "",
                                          vision=not args.no_vision, on_progress=progress))
    except HistoryError as exc:
        err(one_line(str(exc)))
        return 2
    except OSError as exc:  # judge.json could not be written
        err(f"{one_line(str(args.folder))}: cannot write judge.json: "
            f"{one_line(exc.strerror or str(exc))}")
        return 2
    if args.format == "json":
        json.dump(judgement.to_dict(), sys.stdout, indent=2, ensure_ascii=True)
        print()
    else:
        print_report(judgement)
    problems = any(i.error for i in judgement.images()) or \
        judgement.adherence.state in ("skipped", "partial")
    return 1 if problems else 0


def _marks() -> tuple[str, str]:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
        return "✓", "✗"
    except (UnicodeEncodeError, LookupError):
        return "ok", "no"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def print_report(judgement) -> None:
    """The judgement as a table a person reads; every outside string sanitised."""
    from ..textsafe import one_line

    print(f"judged {one_line(judgement.run_id)}: {len(judgement.images())} picture(s) in "
          f"{len(judgement.cells)} cell(s)")
    for line in status_lines(judgement):
        print(line)
    rows = _rows(judgement)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    print()
    print("per variant:")
    for v in judgement.variants:
        print(f"  {variant_line(v)}")
    _print_notes(judgement)
    print()
    print(f"written: {judgement.path}")


def status_lines(judgement) -> list[str]:
    """How the vision part went, and which cells were not judged (for ``ab --judge``
    too)."""
    from ..textsafe import one_line

    status = judgement.adherence
    if status.state == "off":
        lines = ["adherence: not checked (--no-vision); pixel checks only"]
    elif status.state == "skipped":
        lines = [f"adherence: skipped: {one_line(status.note)}",
                 "  (the pixel checks ran: sharpness, clipping, same as A)"]
    else:
        lines = [f"adherence: {one_line(status.model)} ({status.asked} asked, "
                 f"{status.cached} from cache"
                 + (f", {status.failed} failed" if status.failed else "") + ")"]
        if status.note:
            lines.append(f"  stopped: {one_line(status.note)}")
    lines += [f"not judged: {one_line(cid)} ({one_line(state)})"
              for cid, state in judgement.not_done.items()]
    return lines


def variant_line(v) -> str:
    """One variant's summary: mean adherence, text hit rate, sharpness, same as A."""
    from ..textsafe import one_line

    text = ("no text asked" if v.text_hit_rate is None
            else f"text {_percent(v.text_hit_rate)} of {v.text_images}")
    sharp = "-" if v.mean_sharpness is None else f"{v.mean_sharpness:.0f}"
    return (f"{one_line(v.label)}: adherence {_percent(v.mean_adherence)} over "
            f"{v.adherence_images} picture(s), {text}, sharpness {sharp}, "
            f"{v.judged}/{v.cells} cell(s) judged"
            + (f", {v.same_as_a} same as A" if v.index else ""))


def _rows(judgement) -> list[tuple[str, ...]]:
    from ..textsafe import one_line

    yes, no = _marks()
    rows = [("cell", "", "adherence", "text", "sharpness", "clipped", "same as A")]
    for cid, cell in judgement.cells.items():
        for n, image in enumerate(cell.images):
            name = cid if len(cell.images) == 1 else f"{cid} #{n + 1}"
            m = image.metrics
            sharp = "-" if m is None else f"{m.sharpness:.0f}" + (
                " low" if m.sharpness_low or image.softer_than_run else "")
            clip = "-" if m is None else (
                f"{max(m.clipped_highlights, m.clipped_shadows) * 100:.0f}%"
                + (" !" if m.clipped else ""))
            text = "-" if image.text is None else (yes if image.text.hit else no)
            same = "same" if image.same_as_a else ""
            adherence = "error" if image.error else _percent(image.adherence)
            rows.append((one_line(name), one_line(cell.label), adherence, text, sharp, clip,
                         same))
    return rows


def _image_notes(cid: str, image) -> list[str]:
    from ..textsafe import one_line

    notes = []
    if image.error:
        notes.append(f"{cid}: {one_line(image.error)}")
    if image.adherence_error:
        notes.append(f"{cid}: no verdict: {one_line(image.adherence_error)}")
    if image.verdict is not None:
        for item in image.checklist.items:
            got = image.verdict.items.get(item.key)
            if got is not None and got.status != "present":
                notes.append(f"{cid}: {item.key} {got.status}: "
                             f"{one_line(got.reason) or '(no reason given)'}")
    if image.text is not None and not image.text.hit:
        seen = one_line(image.text.seen)
        missing = ", ".join(one_line(w) for w in image.text.missing_words)
        wanted = " / ".join(one_line(p.wanted) for p in image.text.parts)
        notes.append(f'{cid}: text: read "{seen}", wanted "{wanted}"'
                     + (f" (missing: {missing})" if missing else ""))
    return notes


def _print_notes(judgement) -> None:
    from ..judge import JUDGE_FILE
    from ..textsafe import one_line

    notes = [note for cid, cell in judgement.cells.items() for image in cell.images
             for note in _image_notes(one_line(cid), image)]
    if not notes:
        return
    print()
    print("what to look at:")
    for note in notes[:MAX_NOTES]:
        print(f"  {note}")
    if len(notes) > MAX_NOTES:
        print(f"  … and {len(notes) - MAX_NOTES} more in {JUDGE_FILE} (or --format json)")
