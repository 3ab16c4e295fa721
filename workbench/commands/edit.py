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

from . import UNREACHABLE, add_run_options, connected_client, err

HELP = "edit an image with FLUX Kontext, one instruction after another"
EPILOG = """\
Each step edits the previous step's result. Every step's image, workflow.json and run.json
go in their own folder under --out, with manifest.json (chain, seeds, timings, server) at
the top; the images are printed one per line. Past six edits you are warned: quality
degrades after about six successive Kontext edits.

exit codes:
  0  every step saved      1  a step failed (the chain stops there)
  2  bad source image, instruction or workflow (nothing sent)
  3  the ComfyUI server cannot be reached
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
    except (SourceImageError, ChainError, LibraryError) as exc:
        raise ValueError(str(exc)) from None
    return source, chain, library


async def _run(args: argparse.Namespace, config) -> int:
    from ..comfy.client import Unreachable
    from ..comfy.graph import RoleError, WorkflowFormatError
    from ..comfy.validate import InvalidWorkflow
    from ..comfy.workflows import WorkflowError
    from ..images.source import SourceImageError
    from ..runs.history import HistoryError

    try:
        source, chain, library = _plan(args)
    except ValueError as exc:
        err(str(exc))
        return 2
    for warning in chain.warnings():
        err(f"warning: {warning}")
    client = await connected_client(config)
    if client is None:
        return UNREACHABLE
    try:
        chain_run = await _run_chain(args, config, client, chain, source)
    except (SourceImageError, InvalidWorkflow, WorkflowError, WorkflowFormatError, RoleError,
            HistoryError) as exc:
        err(str(exc))
        return 2
    except Unreachable as exc:
        err(str(exc))
        return UNREACHABLE
    finally:
        await client.close()
    if library is not None and not _save(args, library, chain, chain_run):
        return 1
    total = len(chain.steps)
    done = sum(1 for step in chain_run.steps if step.ok)
    print(f"{done}/{total} step(s) done in {chain_run.finished - chain_run.started:.1f} s; "
          f"manifest {chain_run.manifest_path}", file=sys.stderr)
    return 0 if chain_run.ok and done == total else 1


async def _run_chain(args: argparse.Namespace, config, client, chain, source):
    from ..runs.chain import run_chain
    from ..runs.history import new_run_folder
    from ..runs.single import RunService
    from ..textsafe import one_line

    out = args.out or new_run_folder(None, f"{args.name} {args.instruction}")
    total = len(chain.steps)

    def on_step(index, spec, result) -> None:
        if result is None:
            print(f"step {index}/{total}: {one_line(spec.raw)}", file=sys.stderr)
            return
        for note in result.notes:
            err(f"note: {note}")
        if result.ok:
            print(out / result.image)
            sys.stdout.flush()
        else:
            err(f"step {index} {result.status}: {one_line(result.message)}")

    return await run_chain(RunService.for_session(config), client, chain, Path(out),
                           source_path=source.path, seed=args.seed, workflow=args.workflow,
                           reuse=args.reuse, on_step=on_step)


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
