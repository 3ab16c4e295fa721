"""``workbench rules``: every lint rule with its code, default severity, why, and source."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

HELP = "list the lint rules with their explanation and source (text or JSON)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace, config) -> int:
    from ..lint import all_rules

    entries = all_rules()
    if args.format == "json":
        json.dump([r.to_dict() for r in entries], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for r in entries:
        fix = {"safe": "  [fix: safe]", "unsafe": "  [fix: offered]"}.get(r.fix, "")
        print(f"{r.code}  {r.slug:<22} {r.severity:<8} {r.family}{fix}")
        print(textwrap.fill(r.summary, 92, initial_indent="    ", subsequent_indent="    "))
        print(textwrap.fill(f"why: {r.rationale}", 92, initial_indent="    ",
                            subsequent_indent="         "))
        print(textwrap.fill(f"source: {r.source}", 92, initial_indent="    ",
                            subsequent_indent="            "))
        print()
    return 0
