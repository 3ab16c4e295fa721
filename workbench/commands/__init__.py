"""One module per headless verb (``workbench VERB``).

Each module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args, config) -> int`` (exit status: 0 ok, 1 problems found, 2 usage or file
errors).  Modules import heavy dependencies inside ``run`` so ``--help`` stays instant.
Options several verbs share (`add_run_options`) are defined here once.
"""

import argparse
import sys
from pathlib import Path

#: Exit status when no ComfyUI server answers (run, edit, ab, doctor).
UNREACHABLE = 3
#: Exit status for settings the user must fix (a server that wants credentials).
SETTINGS = 2

WORKFLOW_HELP = ("built-in workflow (flux-dev, flux-dev-advanced, flux-schnell, "
                 "flux-dev-img2img, flux-kontext) or an API-format JSON file")


def add_run_options(parser: argparse.ArgumentParser, *, out: str,
                    workflow: str = "default: chosen from the prompt's model",
                    seed: str | None = "default: the prompt's, or random",
                    servers: bool = False) -> None:
    """The options of verbs that run prompts on ComfyUI: ``--workflow``, ``--seed``,
    ``--out`` (what the folder is differs per verb: ``out`` says) and ``--servers``."""
    parser.add_argument("--workflow", metavar="NAME|FILE", help=f"{WORKFLOW_HELP} ({workflow})")
    if seed is not None:
        parser.add_argument("--seed", type=int, metavar="N", help=f"seed ({seed})")
    parser.add_argument("--out", type=Path, metavar="DIR", help=out)
    if servers:
        parser.add_argument("--servers", metavar="URL,URL",
                            help="ComfyUI servers to spread the work over (default: the "
                                 "configured ones)")


def add_prompt_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``run`` and ``edit``: ``--keep-size`` and ``--no-recover``."""
    parser.add_argument("--keep-size", action="store_true",
                        help="Kontext: scale the result back to the source image's size "
                             "(default: the preferred ~1 MP Kontext size nearest its aspect; "
                             "the prompt's keep_size = true does the same)")
    parser.add_argument("--no-recover", action="store_true",
                        help="do not wait for prompts an earlier session left on the server "
                             "(they stay in the journal; a later run collects them)")


def err(message: str) -> None:
    """One ``workbench: ...`` line on stderr (progress and problems; stdout stays data)."""
    from ..textsafe import printable

    print(f"workbench: {printable(message)}", file=sys.stderr)


def comfy_exit_code(exc: Exception) -> int:
    """The exit status for a ComfyUI failure: 3 the server is not reachable, 2 it wants
    credentials (a settings problem), 1 anything else it did (an HTTP error, an answer
    that is not ComfyUI's, a timeout)."""
    from ..comfy.client import AuthRequired, Unreachable

    if isinstance(exc, Unreachable):
        return UNREACHABLE
    return SETTINGS if isinstance(exc, AuthRequired) else 1


def run_failure(exc: Exception, writing: str) -> int:
    """Say why a running verb stopped on a ComfyUI failure or a failed write, and return its
    exit status (`comfy_exit_code`, or 1 when ``writing`` could not be written)."""
    from ..comfy.client import ComfyError

    if isinstance(exc, ComfyError):   # unreachable, credentials, HTTP errors, odd answers
        err(str(exc))
        return comfy_exit_code(exc)
    err(f"could not write {writing}: {exc}")
    return 1


async def connected_client(config):
    """A connected `ComfyClient`, or the exit status (`comfy_exit_code`) after saying why
    it could not connect."""
    from ..comfy.client import ComfyError, client_from_config

    try:
        client = client_from_config(config)
    except ComfyError as exc:   # not an http(s) URL
        err(str(exc))
        return SETTINGS
    try:
        await client.connect()
    except ComfyError as exc:
        await client.close()
        err(str(exc))
        return comfy_exit_code(exc)
    return client
