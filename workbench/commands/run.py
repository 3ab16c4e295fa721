"""``workbench run PROMPT``: one prompt from a library to images on disk, headless.

Progress goes to stderr, the saved image paths to stdout (one per line) so scripts can
pipe them.  Prompts an earlier session left on the server are collected first (see
`workbench.runs.journal`).  With ``--image`` the prompt runs as img2img on that source.
Exit codes: 0 images saved, 1 the job failed, 2 the prompt, workflow or source image is
wrong, 3 the server cannot be reached.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import asyncio
import sys
from pathlib import Path

from . import UNREACHABLE, connected_client, err

HELP = "run a prompt from a library on ComfyUI and save the images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", metavar="PROMPT", help="name of the prompt in the library")
    parser.add_argument("--library", type=Path, metavar="L",
                        help="library file or folder (default: your libraries)")
    parser.add_argument("--workflow", metavar="NAME|FILE",
                        help="built-in workflow (flux-dev, flux-dev-advanced, flux-schnell, "
                             "flux-dev-img2img, flux-kontext) or an API-format JSON file "
                             "(default: chosen from the prompt's model)")
    parser.add_argument("--seed", type=int, metavar="N", help="seed (default: the prompt's, "
                        "or random)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for the images (default: a new folder under runs/)")
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

    def __init__(self, workflow: dict) -> None:
        self.workflow = workflow
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, job, event) -> None:
        from ..comfy.events import (
            Disconnected, ExecutionCached, ExecutionStart, Executing, Lost, Progress,
            Reconnected,
        )
        from ..comfy.graph import title_of
        from ..textsafe import one_line

        line = ""
        if isinstance(event, ExecutionStart):
            line = "started"
        elif isinstance(event, ExecutionCached) and event.nodes:
            line = f"{len(event.nodes)} node(s) cached"
        elif isinstance(event, Executing) and event.node:
            line = f"node {event.node} “{one_line(title_of(self.workflow, event.node))}”"
        elif isinstance(event, Progress) and event.max:
            line = f"step {event.value}/{event.max}  {int(job.fraction * 100)}%"
            if not self.tty and event.value not in (1, event.max) and \
                    event.value % max(1, event.max // 4):
                return
        elif isinstance(event, Disconnected):
            line = "connection to ComfyUI lost; reconnecting…"
        elif isinstance(event, Reconnected):
            line = "connection to ComfyUI restored"
        elif isinstance(event, Lost):
            line = one_line(event.reason)
        if not line or line == self.last:
            return
        self.last = line
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")




async def _run(args: argparse.Namespace, config) -> int:
    from ..comfy.client import ComfyClient, Unreachable, client_from_config
    from ..comfy.graph import RoleError, WorkflowFormatError
    from ..comfy.validate import InvalidWorkflow
    from ..runs.jobs import prepare, recover, run_job
    from ..runs.journal import Journal
    from ..runs.results import run_folder
    from ..runs.uploads import with_source
    from ..comfy.workflows import BUILTINS, WorkflowError
    from ..images.pngmeta import workbench_chunk
    from ..images.source import SourceImageError, load_source
    from ..library import load_collection
    from ..spec import source_path as spec_source_path
    from ..locations import libraries_dir, runs_dir
    from ..textsafe import one_line

    collection = load_collection(args.library or libraries_dir())
    for problem in collection.problems:
        err(problem)
    found = collection.find(args.prompt)
    if found is None:
        names = [s.name for lib in collection.libraries for s in lib.prompts]
        close = [n for n in names if args.prompt.lower() in n.lower()][:8]
        err(f"no prompt named {one_line(args.prompt)!r} in {collection.root}"
             + (f"; did you mean: {', '.join(close)}" if close else ""))
        return 2
    library, spec = found
    source_path = None
    if args.image is not None:
        source_path = Path(args.image).expanduser()
        if spec.model != "kontext":
            spec = spec.copy(source_image=str(source_path))
    elif spec.source_image:
        source_path = spec_source_path(spec.source_image, library.path.parent)
        if not source_path.is_file():
            err(f"prompt {spec.name!r}: source image {source_path} does not exist")
            return 2
    if args.denoise is not None:
        if not 0.0 < args.denoise <= 1.0:
            err(f"--denoise {args.denoise:g} is outside 0-1 (0.65-0.7 keeps the source's "
                 "composition, 0.8-0.9 changes colours)")
            return 2
        spec = spec.copy()
        spec.params.denoise = args.denoise
    source = None
    if source_path is not None:
        try:
            source = load_source(source_path)
        except SourceImageError as exc:
            err(str(exc))
            return 2

    client = await connected_client(config)
    if client is None:
        return UNREACHABLE
    journal = Journal()
    try:
        if journal.unfinished(client.base_url):
            print("collecting prompts left running by an earlier session…", file=sys.stderr)

            def make(server: str, client_id: str) -> ComfyClient:
                return client_from_config(config, server, client_id=client_id)

            for outcome in await recover(journal, make, wait=True):
                for image in outcome.record.images:
                    print(image.path)
                for problem in outcome.problems:
                    err(f"earlier prompt {outcome.result.prompt_id}: {problem}")
        folder: list[Path] = []  # made once, even if the source must be uploaded again

        async def attempt(source_name: str | None):
            built = await prepare(client, spec, workflow=args.workflow, config=config,
                                  seed=args.seed, source=source, source_name=source_name,
                                  fit_1mp=args.megapixel)
            if built.name not in BUILTINS:
                print(f"workflow {built.name}:", file=sys.stderr)
                for line in built.roles.describe():
                    print(f"  {line}", file=sys.stderr)
            for note in built.notes:
                err(f"note: {note}")
            if not folder:
                folder.append(Path(args.out or run_folder(runs_dir(), spec.name)))
            progress = _Progress(built.workflow)
            print(f"running {spec.name!r} with {built.name}, seed {built.seed} on "
                  f"{client.base_url}", file=sys.stderr)
            meta = {"prompt": spec.name, "library": str(library.path),
                    "workflow": built.name, "values": built.values}
            if source is not None:
                meta["source"] = {"path": str(source.path), "sha256": source.sha256,
                                  "size": list(source.size), "server_name": source_name}
            try:
                return await run_job(
                    client, built.workflow, folder[0], seed=built.seed, journal=journal,
                    meta=meta,
                    extra_pnginfo={"workbench": workbench_chunk(
                        spec.copy(params=replace(spec.params, seed=built.seed)))},
                    on_event=progress)
            finally:
                progress.done()

        try:
            if source is not None:
                outcome = await with_source(client, source, attempt)
            else:
                outcome = await attempt(None)
        except InvalidWorkflow as exc:
            err(str(exc))
            return 2
        except (WorkflowError, WorkflowFormatError, RoleError) as exc:
            err(str(exc))
            return 2
        except Unreachable as exc:
            err(str(exc))
            return 3
        record = outcome.record
        for image in record.images:
            print(image.path)
        for refused in record.refused:
            err(f"refused {refused['server_filename']!r}: {refused['reason']}")
        for problem in outcome.problems:
            err(str(problem))
        timings = record.timings
        took = f" in {timings['total_s']:.1f} s" if timings.get("total_s") else ""
        print(f"{record.status}{took}: {len(record.images)} image(s) in {record.run_dir}",
              file=sys.stderr)
        return 0 if record.ok else 1
    finally:
        await client.close()
