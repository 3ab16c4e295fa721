"""``workbench run PROMPT``: one prompt from a library to images on disk, headless.

Progress goes to stderr, the saved image paths to stdout (one per line) so scripts can
pipe them: a progress bar on a terminal, plain lines when piped (`progress_view`).
Prompts an earlier session left on the server are collected first, with their progress
(`session.VerbSession.recover`; ``--no-recover`` skips them).  With ``--image`` the prompt
runs as img2img on that source.  The run gets a run folder like any other
(`workbench.runs.history`), so the TUI's run history lists it.  Ctrl+C takes back what
this run queued (`interrupt`).  Exit codes: 0 images saved, 1 the job failed, 2 the
prompt, workflow or source image is wrong (or the server wants credentials: set
COMFYUI_AUTH_HEADER), 3 the server cannot be reached, 130 cancelled.  A server that answers
with an error, with something that is not ComfyUI's answer, or too slowly is a failed job
(1), said in words.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from . import add_prompt_options, add_run_options, connected_client, err, run_failure

HELP = "run a prompt from a library on ComfyUI and save the images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", metavar="PROMPT", help="name of the prompt in the library")
    parser.add_argument("--library", type=Path, metavar="L",
                        help="library file or folder (default: your libraries)")
    add_run_options(parser, out="folder for the run (default: a new folder under runs/)")
    parser.add_argument("--image", type=Path, metavar="FILE",
                        help="img2img from this source image (PNG, JPEG or WEBP, at most "
                             "4096x4096); the output follows its size, snapped to 16")
    parser.add_argument("--denoise", type=float, metavar="D",
                        help="img2img: how much of the source is repainted, 0-1 "
                             "(default: the prompt's, else 0.7)")
    parser.add_argument("--megapixel", action="store_true",
                        help="img2img: scale the source to about 1 MP, keeping its aspect")
    add_prompt_options(parser)


def run(args: argparse.Namespace, config) -> int:
    return asyncio.run(_run(args, config))


def _find(args: argparse.Namespace):
    """(library, spec) named on the command line (``NAME#2`` picks the second of several
    prompts with one name), or None after saying why."""
    from ..collection import PromptLookupError, load_collection
    from ..locations import libraries_dir

    collection = load_collection(args.library or libraries_dir())
    for problem in collection.problems:
        err(problem)
    try:
        return collection.resolve(args.prompt)
    except PromptLookupError as exc:
        err(str(exc))
        return None


def _source(args: argparse.Namespace, library, spec):
    """(spec as it will run, its checked input images: `runs.inputs.RunInputs`); raises
    ValueError with the message when an image or ``--denoise`` is wrong."""
    from ..images.source import load_source
    from ..runs.inputs import load_inputs

    source = None
    if args.image is not None:
        path = Path(args.image).expanduser()
        if spec.model != "kontext":
            spec = spec.copy(source_image=str(path))
        source = load_source(path)
    if args.keep_size:
        spec = spec.copy()
        spec.params.keep_size = True
    if args.denoise is not None:
        if not 0.0 < args.denoise <= 1.0:
            raise ValueError(f"--denoise {args.denoise:g} is outside 0-1 (0.65-0.7 keeps the "
                             "source's composition, 0.8-0.9 changes colours)")
        spec = spec.copy()
        spec.params.denoise = args.denoise
    return spec, load_inputs(spec, library.path.parent, source=source)


def _report(outcome) -> int:
    from .interrupt import CANCELLED

    record = outcome.record
    total = record.timings.get("total_s")
    took = f" in {total:.1f} s" if total else ""
    if record.status == "cancelled":
        where = "; ".join(str(p) for p in outcome.problems)
        print(f"cancelled{took}" + (f" ({where})" if where else "") +
              f"; run folder {outcome.run.folder}", file=sys.stderr)
        return CANCELLED
    for image in outcome.images:
        print(image)
    for refused in record.refused:
        err(f"refused {refused['server_filename']!r}: {refused['reason']}")
    for problem in outcome.problems:
        err(str(problem))
    status = outcome.result.status if outcome.ok else record.status   # "success" or why not
    sizes = image_sizes(outcome.images)
    print(f"{status}{took}: {len(record.images)} image(s){sizes} in "
          f"{outcome.run.folder}", file=sys.stderr)
    return 0 if outcome.ok else 1


def image_sizes(paths) -> str:
    """`` 1184x880`` (each distinct size of the images), read from their headers."""
    from PIL import Image, UnidentifiedImageError

    sizes = []
    for path in paths:
        try:
            with Image.open(path) as image:
                size = f"{image.width}x{image.height}"
        except (OSError, UnidentifiedImageError):
            continue
        if size not in sizes:
            sizes.append(size)
    return f" {', '.join(sizes)}" if sizes else ""


async def _run(args: argparse.Namespace, config) -> int:
    from ..comfy.client import ComfyError
    from ..comfy.graph import RoleError, WorkflowFormatError
    from ..comfy.validate import InvalidWorkflow
    from ..comfy.workflows import WorkflowError
    from ..images.source import SourceImageError
    from ..runs.cancel import Cancelled
    from ..runs.history import HistoryError
    from .session import VerbSession

    found = _find(args)
    if found is None:
        return 2
    library, spec = found
    try:
        spec, inputs = _source(args, library, spec)
    except (ValueError, SourceImageError) as exc:
        err(str(exc))
        return 2
    client = await connected_client(config)
    if isinstance(client, int):
        return client
    session = VerbSession(config, client)
    try:
        outcome = await session.run(_work(args, session, library, spec, inputs))
        if session.cancelled:
            if outcome is not None:
                _report(outcome)
            return await session.farewell()
        return _report(outcome)
    except Cancelled:
        return await session.farewell()
    except (InvalidWorkflow, WorkflowError, WorkflowFormatError, RoleError,
            HistoryError) as exc:
        err(str(exc))
        return 2
    except (ComfyError, OSError) as exc:
        return run_failure(exc, "the run")
    finally:
        await client.close()


async def _work(args: argparse.Namespace, session, library, spec, inputs):
    """Collect leftovers, then run the prompt (None when a cancel came first)."""
    from .session import report_recovered

    report_recovered(await session.recover(skip=args.no_recover))
    if session.cancelled:
        return None
    return await _run_one(args, session, library, spec, inputs)


async def _run_one(args: argparse.Namespace, session, library, spec, inputs):
    from ..comfy.workflows import BUILTINS
    from ..runs.single import RunService

    client = session.client
    meta = {"prompt": spec.name, "library": str(library.path), "command": "run"}
    described = inputs.describe()
    if "source" in described:
        meta["source"] = described["source"]
    if len(described) > ("source" in described):
        meta["inputs"] = described
    for note in inputs.notes:
        err(f"note: {note}")

    def built(workflow) -> None:
        if workflow.name not in BUILTINS:
            print(f"workflow {workflow.name}:", file=sys.stderr)
            for line in workflow.roles.describe():
                print(f"  {line}", file=sys.stderr)
        for note in workflow.notes:
            err(f"note: {note}")
        print(f"running {spec.name!r} with {workflow.name}, seed {workflow.seed} on "
              f"{client.base_url}", file=sys.stderr)

    service = RunService.for_session(session.config)
    outcome = await service.run_single(
        client, spec, seed=args.seed, folder=args.out, meta=meta, workflow=args.workflow,
        images=inputs.images,
        fit_1mp=args.megapixel, on_built=built, on_event=session.view.on_event,
        on_submitted=session.submitted, scope=session.scope)
    session.view.end(outcome.result.prompt_id, outcome.result.status)
    return outcome
