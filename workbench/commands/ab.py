"""``workbench ab LIBRARY PROMPT_A PROMPT_B ...``: a fixed-seed comparison, headless.

Builds a plan (the prompts x the seeds x any ``--axis`` sweeps), runs it on the configured
ComfyUI servers (`workbench.runs.runner.PlanRunner`), prints one progress line per cell
change on stderr and, on stdout, the run folder, its manifest and its contact sheet (one
path per line, for scripts).  ``--rerun RUN_FOLDER`` runs a recorded plan again (same
seeds, same images); ``--resume RUN_FOLDER`` finishes a run that was interrupted, picking
up prompts it left on a server.  Ctrl-C cancels cleanly (queued prompts are deleted).

Exit codes: 0 every cell done, 1 some cell failed, 2 usage, library or plan errors (or
every server wants credentials: COMFYUI_AUTH_HEADER), 3 no server reachable, 130
cancelled with Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from . import add_run_options, err
from .interrupt import CANCELLED

HELP = "compare prompts at fixed seeds (and sweeps) on ComfyUI; writes a contact sheet"

EPILOG = """\
examples:
  workbench ab fox.toml "Fox" "Fox B" --seeds 1,2,3
  workbench ab fox.toml "Fox" --seed-count 2 --axis guidance=2.5,3.5 --axis steps=20,28
  workbench ab --rerun ~/.local/share/workbench/runs/20261123-140501-fox-vs-fox-b
  workbench ab fox.toml "Fox" "Fox B" --seeds 1,2,3 --judge --judge-model gemma3:4b

stdout: the run folder, its manifest.json and its contact-sheet.png, one per line (and
judge.json with --judge).  --judge scores each cell against its prompt with the local
vision model (see `workbench judge --help`): as cells finish when Ollama has its own GPU,
after the image jobs when it shares ComfyUI's.  Judging never changes the exit status.
exit status: 0 every cell done, 1 some cell failed, 2 usage, library or plan errors (or
the servers want credentials: set COMFYUI_AUTH_HEADER), 3 no ComfyUI server reachable,
130 cancelled.  Ctrl-C cancels the queued prompts
cleanly; a second Ctrl-C leaves at once.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("library", nargs="?", type=Path, metavar="LIBRARY",
                        help="library file or folder holding the prompts")
    parser.add_argument("prompts", nargs="*", metavar="PROMPT",
                        help="names of the prompts to compare (A, B, more...)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", metavar="N,N,...",
                       help="fixed seeds, comma-separated (default: the first prompt's seed, "
                            "else one drawn and recorded)")
    seeds.add_argument("--seed-count", type=int, metavar="N",
                       help="draw N seeds once and record them in the plan")
    parser.add_argument("--axis", action="append", default=[], metavar="NAME=V1,V2",
                        help="sweep axis, repeatable: guidance, steps, sampler, scheduler, "
                             "model (dev/schnell/kontext), size (1024x768) or "
                             "lora:<file>=0.5,1.0")
    add_run_options(parser, out="folder in which the run's own folder is made (default: "
                                 "the runs folder)",
                    workflow="default: chosen from each prompt's model", seed=None,
                    servers=True)
    parser.add_argument("--window", type=int, default=2, metavar="N",
                        help="prompts kept queued or sampling per server (default 2; "
                             "the next is sent while one decodes)")
    parser.add_argument("--name", help="name of the plan (default: the prompts' names)")
    parser.add_argument("--save-plan", action="store_true",
                        help="store the plan with the first prompt in its library, so the "
                             "comparison can be re-run later")
    parser.add_argument("--judge", action="store_true",
                        help="score each cell against its prompt (adherence, in-image text, "
                             "sharpness, same as A) and write judge.json")
    parser.add_argument("--judge-model", metavar="M",
                        help="Ollama vision model for --judge (default: [ollama] "
                             "vision_model)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--rerun", type=Path, metavar="RUN_FOLDER",
                       help="run the plan recorded in RUN_FOLDER again, in a new run folder")
    again.add_argument("--resume", type=Path, metavar="RUN_FOLDER",
                       help="finish the cells RUN_FOLDER has not done yet, in that folder")


def run(args: argparse.Namespace, config) -> int:
    return asyncio.run(_run(args, config))




class _Progress:
    """One stderr line per cell state change, with a done/total count."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.states: dict[str, str] = {}

    def __call__(self, update) -> None:
        from ..textsafe import one_line

        if self.states.get(update.cell_id) == update.state:
            return
        self.states[update.cell_id] = update.state
        finished = sum(s in ("done", "error", "cancelled") for s in self.states.values())
        line = f"[{finished}/{self.total}] {update.cell_id} {update.state}"
        if update.state in ("queued", "running") and update.server:
            line += f" on {one_line(update.server)}"
        if update.state == "error" and update.error:
            line += f": {one_line(update.error)}"
        print(line, file=sys.stderr, flush=True)


def _parse_seeds(text: str) -> list[int]:
    from ..runs.plan import PlanError

    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise PlanError(f"--seeds {text!r}: give whole numbers separated by commas") from None


def _build(args: argparse.Namespace):
    """(plan, library, base_dir, meta, existing run) from the arguments; raises
    `PlanError`/`HistoryError` with a message for the user."""
    from ..collection import PromptLookupError, load_collection
    from ..runs import history
    from ..runs.plan import PlanError, make_plan, parse_axis

    folder = args.rerun or args.resume
    if folder is not None:
        if args.library is not None or args.prompts or args.axis or args.seeds \
                or args.seed_count:
            raise PlanError("--rerun/--resume take the plan from the run folder; give no "
                            "library, prompts, seeds or axes with them")
        old = history.load_run(folder)
        library_path = old.meta.get("library")
        base_dir = Path(library_path).parent if library_path else None
        library = None
        if args.save_plan and library_path:
            from ..library import load_library

            library = load_library(Path(library_path))
        meta = dict(old.meta, rerun_of=str(old.folder)) if args.rerun else old.meta
        return old.plan, library, base_dir, meta, (old if args.resume else None)
    if args.library is None or not args.prompts:
        raise PlanError("give a library and at least one prompt: workbench ab LIBRARY "
                        "PROMPT_A PROMPT_B [...]  (or --rerun RUN_FOLDER)")
    collection = load_collection(args.library)
    if collection.errors and not collection.libraries:
        raise PlanError("; ".join(collection.problems))
    for problem in collection.problems:
        err(problem)
    specs, libraries = [], []
    for name in args.prompts:
        try:  # NAME#2 picks the second of several prompts with one name
            found = collection.resolve(name)
        except PromptLookupError as exc:
            raise PlanError(str(exc)) from None
        libraries.append(found[0])
        specs.append(found[1])
    seeds = _parse_seeds(args.seeds) if args.seeds else None
    if seeds is None and args.seed_count is None and specs[0].params.seed is not None:
        seeds = [specs[0].params.seed]
    axes = [parse_axis(text) for text in args.axis]
    plan = make_plan(specs, seeds,
                     seed_count=1 if args.seed_count is None else args.seed_count, axes=axes,
                     name=args.name or "")
    library = libraries[0]
    meta = {"library": str(library.path), "prompts": [s.name for s in specs],
            "command": "ab"}
    return plan, library, library.path.parent, meta, None


async def _run(args: argparse.Namespace, config) -> int:
    from ..runs.history import HistoryError
    from ..runs.plan import PlanError
    from ..runs.runner import NoServer, PlanRunner, RunnerOptions

    if args.window < 1:
        err("--window must be at least 1")
        return 2
    try:
        plan, library, base_dir, meta, existing = _build(args)
    except (PlanError, HistoryError) as exc:
        err(str(exc))
        return 2
    if args.save_plan and not _save_plan(plan, library):
        return 2
    servers = [u.strip() for u in args.servers.split(",") if u.strip()] if args.servers \
        else None
    root = args.out or (existing.folder.parent if existing else
                        (args.rerun.parent if args.rerun else None))
    progress = _Progress(plan.size)
    live = _live_judge(args, config)
    runner = PlanRunner(plan, config, RunnerOptions(
        servers=servers, window=args.window, root=root, base_dir=base_dir, existing=existing,
        workflow=args.workflow, meta=meta), on_update=progress)
    if live is not None:
        runner.on_update = lambda update: (progress(update),
                                           live.update(runner.history_run, update))
    print(f"running {plan.name!r}: {plan.size} cell(s) "
          f"({' x '.join(map(str, plan.shape))}), seeds {', '.join(map(str, plan.seeds))}",
          file=sys.stderr)
    try:
        result, cancelled = await _run_cancellable(runner)
    except NoServer as exc:
        if live is not None:
            await live.close()
        err(str(exc))
        return 2 if exc.wants_credentials else 3
    code = _report(plan, result, runner)
    if live is not None:
        await _finish_judging(live, result, cancelled)
    return CANCELLED if cancelled and code else code


def _live_judge(args: argparse.Namespace, config):
    """``--judge``: the `LiveJudge` fed by the runner's updates (None without it)."""
    if not args.judge:
        return None
    from ..judge.live import LiveJudge
    from ..textsafe import one_line

    def judged(cell) -> None:
        from ..judge import view

        print(f"judged {one_line(cell.cell_id)}: {view.badge(cell.to_dict())}",
              file=sys.stderr, flush=True)

    live = LiveJudge(config, model=args.judge_model or "", on_cell=judged)
    when = ("as cells finish (Ollama has its own GPU)" if live.interleave else
            "after the image jobs (Ollama shares the GPU with ComfyUI)")
    print(f"judging with {one_line(live.settings.vision_model)} {when}", file=sys.stderr)
    return live


async def _finish_judging(live, run, cancelled: bool) -> None:
    """Judge what is left, write judge.json, say how it went (stderr) and where it is
    (stdout)."""
    from .judge import status_lines, variant_line

    if cancelled:
        await live.close()
        err("--judge: the run was cancelled; not judged (workbench judge RUN_FOLDER "
            "judges what was done)")
        return
    try:
        judgement = await live.finish(run)
    except OSError as exc:
        await live.close()
        err(f"--judge: cannot write judge.json: {exc}")
        return
    for line in status_lines(judgement) + [variant_line(v) for v in judgement.variants]:
        print(f"judge: {line}", file=sys.stderr)
    if live.pictures:
        print(f"judge: {live.pictures} picture(s) in {live.seconds:.1f} s "
              f"({live.seconds / live.pictures:.2f} s each)", file=sys.stderr)
    print(judgement.path)


def _save_plan(plan, library) -> bool:
    """``--save-plan``: keep the plan with its first prompt; False when that failed."""
    from ..library import ConflictError
    from ..runs.saved_plans import save_plan

    if library is None:
        err("--save-plan: the run does not name its library; plan not saved")
        return True
    try:
        save_plan(library, plan)
    except (ConflictError, KeyError, OSError) as exc:
        err(f"--save-plan: {exc}")
        return False
    print(f"plan saved with {plan.variants[0].spec.name!r} in {library.path}", file=sys.stderr)
    return True


async def _run_cancellable(runner):
    """``runner.run()``, where the first Ctrl-C cancels the run cleanly (queued prompts
    deleted, the running ones interrupted) and a second one leaves at once
    (`interrupt.Interrupts`, shared with ``run`` and ``edit``)."""
    from .interrupt import Interrupts

    def left() -> list[str]:
        return [f"{job.prompt_id} ({cid}) {job.state} on {server.url}"
                for server in runner.servers
                for cid, (_, job) in list(server.inflight.items())
                if job is not None and not job.done]

    interrupts = Interrupts(runner.cancel, what="deleting queued prompts, interrupting the "
                            "running ones (a server stops one after the node at work)",
                            left=left)
    return await interrupts.run(runner.run()), interrupts.requested


def _report(plan, result, runner) -> int:
    print(result.folder)
    print(result.manifest_path)
    if runner.sheet_path is not None:
        print(runner.sheet_path)
    statuses = [r.status for r in result.results.values()]
    done = statuses.count("done")
    print(f"{done}/{plan.size} cell(s) done"
          + (f", {statuses.count('error')} failed" if "error" in statuses else "")
          + (f", {statuses.count('cancelled')} cancelled" if "cancelled" in statuses else ""),
          file=sys.stderr)
    return 0 if done == plan.size else 1
