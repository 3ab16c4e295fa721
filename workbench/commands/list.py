"""``workbench list``: every prompt of a library or collection, for scripts and grep."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "print the prompts of a library or folder (text or JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, metavar="PATH",
                        help="library file or folder (default: your libraries)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace, config) -> int:
    from ..collection import load_collection
    from ..compose import compose
    from ..locations import libraries_dir
    from ..textsafe import dumps_json, one_line, printable

    collection = load_collection(args.path or libraries_dir())
    rows = [
        {"file": str(library.path), "library": library.title, "name": spec.name,
         "tags": spec.tags, "model": spec.model, "text": compose(spec)}
        for library in collection.libraries for spec in library.prompts
    ]
    if args.format == "json":
        print(dumps_json(rows, indent=2))  # C1 and bidi characters as \uXXXX
    else:
        for row in rows:
            tags = ",".join(row["tags"]) or "-"
            print("\t".join(one_line(v) for v in
                            (row["file"], row["name"], tags, row["model"], row["text"])))
    for problem in collection.problems:
        print(f"workbench: {printable(problem)}", file=sys.stderr)
    return 2 if collection.errors else 0
