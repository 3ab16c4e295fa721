"""One module per headless verb (``workbench VERB``).

Each module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args, config) -> int`` (exit status: 0 ok, 1 problems found, 2 usage or file
errors).  Modules import heavy dependencies inside ``run`` so ``--help`` stays instant.
"""

import sys

#: Exit status when no ComfyUI server answers (run, edit, ab, doctor).
UNREACHABLE = 3


def err(message: str) -> None:
    """One ``workbench: ...`` line on stderr (progress and problems; stdout stays data)."""
    from ..textsafe import printable

    print(f"workbench: {printable(message)}", file=sys.stderr)


async def connected_client(config):
    """A connected `ComfyClient`, or None after saying why it could not connect."""
    from ..comfy.client import Unreachable, client_from_config

    client = client_from_config(config)
    try:
        await client.connect()
    except Unreachable as exc:
        await client.close()
        err(str(exc))
        return None
    return client
