"""``workbench run PROMPT``: one prompt from a library to images on disk, headless.

Progress goes to stderr, the saved image paths to stdout (one per line) so scripts can
pipe them.  Prompts an earlier session left on the server are collected first (see
`workbench.runs.recovery`).  With ``--image`` the prompt runs as img2img on that source.
The run gets a run folder like any other (`workbench.runs.history`), so the TUI's run
history lists it.  Exit codes: 0 images saved, 1 the job failed, 2 the prompt, workflow
or source image is wrong, 3 the server cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from . import UNREACHABLE, add_run_options, connected_client, err

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


def run(args: argparse.Namespace, config) -> int:
    return asyncio.run(_run(args, config))


class _Progress:
    """Progress lines on stderr: one rewritten line on a terminal, sparse lines otherwise."""

    def __init__(self) -> None:
        self.workflow: dict = {}
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, job, event) -> None:
        line = self._line(job, event)
        if not line or line == self.last:
            return
        self.last = line
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def _line(self, job, event) -> str:
        from ..comfy.events import (
            Disconnected,
            Executing,
            ExecutionCached,
            ExecutionStart,
            Lost,
            Progress,
            Reconnected,
        )
        from ..comfy.graph import title_of
        from ..textsafe import one_line

        if isinstance(event, Progress) and event.max:
            sparse = not self.tty and event.value not in (1, event.max) and \
                event.value % max(1, event.max // 4)
            return "" if sparse else \
                f"step {event.value}/{event.max}  {int(job.fraction * 100)}%"
        if isinstance(event, Executing) and event.node:
            return f"node {event.node} “{one_line(title_of(self.workflow, event.node))}”"
        if isinstance(event, ExecutionCached) and event.nodes:
            return f"{len(event.nodes)} node(s) cached"
        if isinstance(event, Lost):
            return one_line(event.reason)
        return {ExecutionStart: "started",
                Disconnected: "connection to ComfyUI lost; reconnecting…",
                Reconnected: "connection to ComfyUI restored"}.get(type(event), "")

    def done(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")


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
    if args.denoise is not None:
        if not 0.0 < args.denoise <= 1.0:
            raise ValueError(f"--denoise {args.denoise:g} is outside 0-1 (0.65-0.7 keeps the "
                             "source's composition, 0.8-0.9 changes colours)")
        spec = spec.copy()
        spec.params.denoise = args.denoise
    return spec, load_inputs(spec, library.path.parent, source=source)


async def _recover(config, client) -> None:
    """Collect what an earlier session left on this server (printed like our own)."""
    from ..comfy.client import client_from_config
    from ..runs.journal import Journal
    from ..runs.recovery import owned_by_live_session, recover

    journal = Journal()
    left = [e for e in journal.unfinished(client.base_url) if not owned_by_live_session(e)]
    if not left:
        return
    print("collecting prompts left running by an earlier session…", file=sys.stderr)

    def make(server: str, client_id: str):
        return client_from_config(config, server, client_id=client_id)

    for found in await recover(journal, make, wait=True):
        for image in found.images:
            print(image)
        for problem in found.problems:
            err(f"earlier prompt {found.entry.prompt_id}: {problem}")


def _report(outcome) -> int:
    record = outcome.record
    for image in outcome.images:
        print(image)
    for refused in record.refused:
        err(f"refused {refused['server_filename']!r}: {refused['reason']}")
    for problem in outcome.problems:
        err(str(problem))
    total = record.timings.get("total_s")
    took = f" in {total:.1f} s" if total else ""
    print(f"{outcome.result.status}{took}: {len(record.images)} image(s) in "
          f"{outcome.run.folder}", file=sys.stderr)
    return 0 if outcome.ok else 1


async def _run(args: argparse.Namespace, config) -> int:
    from ..comfy.client import Unreachable
    from ..comfy.graph import RoleError, WorkflowFormatError
    from ..comfy.validate import InvalidWorkflow
    from ..comfy.workflows import WorkflowError
    from ..images.source import SourceImageError
    from ..runs.history import HistoryError

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
    if client is None:
        return UNREACHABLE
    try:
        await _recover(config, client)
        return _report(await _run_one(args, config, client, library, spec, inputs))
    except (InvalidWorkflow, WorkflowError, WorkflowFormatError, RoleError,
            HistoryError) as exc:
        err(str(exc))
        return 2
    except Unreachable as exc:
        err(str(exc))
        return UNREACHABLE
    finally:
        await client.close()


async def _run_one(args: argparse.Namespace, config, client, library, spec, inputs):
    from ..comfy.workflows import BUILTINS
    from ..runs.single import RunService

    progress = _Progress()
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
        progress.workflow = workflow.workflow
        print(f"running {spec.name!r} with {workflow.name}, seed {workflow.seed} on "
              f"{client.base_url}", file=sys.stderr)

    service = RunService.for_session(config)
    try:
        return await service.run_single(
            client, spec, seed=args.seed, folder=args.out, meta=meta, workflow=args.workflow,
            images=inputs.images,
            fit_1mp=args.megapixel, on_built=built, on_event=progress)
    finally:
        progress.done()
