"""``workbench edit IMAGE "INSTRUCTION" [--then "INSTRUCTION" ...]``: a Kontext edit chain.

Each instruction edits the previous step's result (the first edits IMAGE) with the FLUX
Kontext workflow.  Every step's image, workflow.json and run.json go in their own folder
under ``--out`` beside ``manifest.json`` (chain, seeds, timings, server).  The step images
are printed to stdout, one per line.  Exit codes: 0 every step saved, 1 a step failed,
2 the source image, an instruction or the workflow is wrong, 3 the server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from . import add_prompt_options, add_run_options, connected_client, err, run_failure

HELP = "edit an image with FLUX Kontext, one instruction after another"
EPILOG = """\
Each step edits the previous step's result. Every step's image, workflow.json and run.json
go in their own folder under --out, with manifest.json (chain, seeds, timings, server) at
the top, rewritten after every step (a killed chain can be picked up with --reuse); the
images are printed one per line. Kontext edits at its preferred ~1 MP size nearest the
source's aspect (400x300 comes back 1184x880); --keep-size scales each result back to the
source's size. Past six edits you are warned: quality degrades after about six successive
Kontext edits. Ctrl+C cancels the step that runs; a second Ctrl+C leaves at once.

exit codes:
  0  every step saved      1  a step failed (the chain stops there)
  2  bad source image, instruction or workflow (nothing sent), or the server wants
     credentials (set COMFYUI_AUTH_HEADER)
  3  the ComfyUI server cannot be reached      130  cancelled with Ctrl+C
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("image", type=Path, metavar="IMAGE",
                        help="source image (PNG, JPEG or WEBP, at most 4096x4096)")
    parser.add_argument("instruction", metavar="INSTRUCTION",
                        help='the first edit, e.g. "Change the car to red, keep the '
                             'background unchanged"')
    parser.add_argument("--then", action="append", default=[], metavar="INSTRUCTION",
                        help="a further edit of the previous result (repeatable)")
    add_run_options(parser, out="the chain's run folder (default: a new folder under runs/)",
                    workflow="a Kontext one; default: flux-kontext",
                    seed="for every step; default: a random one per step, saved")
    parser.add_argument("--name", default="edit", metavar="NAME",
                        help="name the steps NAME 1, NAME 2... (default: edit)")
    parser.add_argument("--save", type=Path, metavar="LIBRARY",
                        help="also save the chain's steps as prompts in this library file")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="a previous chain folder: steps that match it are not run again")
    add_prompt_options(parser)


def run(args: argparse.Namespace, config) -> int:
    return asyncio.run(_run(args, config))




def _plan(args: argparse.Namespace):
    """(source, chain, library to save into or None); raises ValueError with the message."""
    from ..chains import ChainError, new_chain
    from ..images.source import SourceImageError, load_source
    from ..library import LibraryError, load_library, new_library

    try:
        source = load_source(args.image)
        library = None
        if args.save is not None:
            library = load_library(args.save) if args.save.exists() else new_library(args.save)
        taken = [s.name for s in library.prompts] if library is not None else []
        chain = new_chain(source.path.resolve(), [args.instruction, *args.then],
                          name=args.name, seed=args.seed, taken=taken)
        for step in chain.steps:
            step.params.keep_size = True if args.keep_size else None
    except (SourceImageError, ChainError, LibraryError) as exc:
        raise ValueError(str(exc)) from None
    return source, chain, library


async def _run(args: argparse.Namespace, config) -> int:
    from ..comfy.client import ComfyError
    from ..comfy.graph import RoleError, WorkflowFormatError
    from ..comfy.validate import InvalidWorkflow
    from ..comfy.workflows import WorkflowError
    from ..images.source import SourceImageError
    from ..runs.history import HistoryError
    from .session import VerbSession

    try:
        source, chain, library = _plan(args)
    except ValueError as exc:
        err(str(exc))
        return 2
    for warning in chain.warnings():
        err(f"warning: {warning}")
    client = await connected_client(config)
    if isinstance(client, int):
        return client
    session = VerbSession(config, client)
    try:
        chain_run = await session.run(_work(args, session, chain, source))
        if chain_run is not None:
            _summary(chain, chain_run)
        if session.cancelled:
            return await session.farewell()
    except (SourceImageError, InvalidWorkflow, WorkflowError, WorkflowFormatError, RoleError,
            HistoryError) as exc:
        err(str(exc))
        return 2
    except (ComfyError, OSError) as exc:
        return run_failure(exc, "the chain's run folder")
    finally:
        await client.close()
    if library is not None and not _save(args, library, chain, chain_run):
        return 1
    done = sum(1 for step in chain_run.steps if step.ok)
    return 0 if chain_run.ok and done == len(chain.steps) else 1


def _summary(chain, chain_run) -> None:
    total = len(chain.steps)
    done = sum(1 for step in chain_run.steps if step.ok)
    print(f"{done}/{total} step(s) done in {chain_run.finished - chain_run.started:.1f} s; "
          f"manifest {chain_run.manifest_path}", file=sys.stderr)


async def _work(args: argparse.Namespace, session, chain, source):
    """Collect leftovers, then run the chain (None when a cancel came first)."""
    from .session import report_recovered

    report_recovered(await session.recover(skip=args.no_recover))
    if session.cancelled:
        return None
    return await _run_chain(args, session, chain, source)


async def _run_chain(args: argparse.Namespace, session, chain, source):
    from ..runs.chain import run_chain
    from ..runs.history import new_run_folder
    from ..runs.single import RunService
    from ..textsafe import one_line
    from .run import image_sizes

    out = args.out or new_run_folder(None, f"{args.name} {args.instruction}")
    total = len(chain.steps)
    view = session.view
    current = [""]

    def on_step(index, spec, result) -> None:
        if result is None:
            current[0] = f"step {index}/{total}"
            view.note(f"step {index}/{total}: {one_line(spec.raw)}")
            return
        view.end(result.prompt_id, result.status)
        for note in result.notes:
            err(f"note: {note}")
        if result.ok:
            print(out / result.image)
            sys.stdout.flush()
            err(f"step {index} {result.status}:{image_sizes([out / result.image])} in "
                f"{result.seconds:.1f} s")
        else:
            err(f"step {index} {result.status}: {one_line(result.message)}")

    def on_event(job, event) -> None:
        view.track(job, current[0])
        view.on_event(job, event)

    return await run_chain(RunService.for_session(session.config), session.client, chain,
                           Path(out), source_path=source.path, seed=args.seed,
                           workflow=args.workflow, reuse=args.reuse, on_step=on_step,
                           on_event=on_event, scope=session.scope)


def _save(args: argparse.Namespace, library, chain, chain_run) -> bool:
    """Keep the chain's steps in the ``--save`` library, each with the seed it ran with."""
    from ..chains import ChainError, add_to_library
    from ..library import LibraryError

    for step, result in zip(chain.steps, chain_run.steps):
        step.params.seed = result.seed  # the seed is always explicit and saved
    try:
        add_to_library(library, chain)
        library.save()
    except (ChainError, LibraryError, OSError) as exc:
        err(f"could not save the chain in {args.save}: {exc}")
        return False
    print(f"saved {len(chain.steps)} step(s) in {library.path}", file=sys.stderr)
    return True
