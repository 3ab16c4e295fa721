"""``workbench`` / ``python -m workbench``: hand the command line to `cli.main`."""

from __future__ import annotations

import os
import sys

#: Verbs after which the process may end at once (`_end_now`): when they return, all they
#: write is written (files saved, output printed) and no thread or pool is left working.
ENDS_AT_ONCE = frozenset({"lint"})


def main(argv: list[str] | None = None) -> int:
    from .cli import main as cli_main

    args = sys.argv[1:] if argv is None else argv
    status = cli_main(args)
    if argv is None and args[:1] and args[0] in ENDS_AT_ONCE:
        _end_now(status)
    return status


def _end_now(status: int) -> None:
    """End the process without the interpreter's teardown: a lint of a big library leaves
    about a million objects (specs, findings, output lines) that it would free one by one
    (~90 ms for 10,000 prompts), where the system frees the memory in one go."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # `workbench lint | head`: the reader is gone, nothing to lose
        pass
    except OSError:  # as Python itself ends when it cannot write the last of its output
        status = status or 120
    os._exit(status)


if __name__ == "__main__":
    raise SystemExit(main())
