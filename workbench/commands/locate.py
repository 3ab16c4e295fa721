"""``workbench locate``: where the workbench keeps each kind of file."""

from __future__ import annotations

import argparse

HELP = "print where config, themes, libraries, runs and caches live"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", help="print only this location")


def run(args: argparse.Namespace, config) -> int:
    from ..locations import all_locations

    places = all_locations()
    places["config"] = config.path
    if args.what:
        if args.what not in places:
            print(f"workbench locate: unknown location {args.what!r}; "
                  f"one of {', '.join(places)}")
            return 2
        print(places[args.what])
        return 0
    width = max(map(len, places))
    for name, path in places.items():
        print(f"{name:<{width}}  {path}")
    return 0
