"""Keeping which FLUX.1 tools files a server lists (see `toolfiles`), after each read of
its object_info, so the linter can warn of a missing one before a run."""

from __future__ import annotations

import json
import threading
import time

from ..atomic import write_atomic
from ..toolfiles import TOOL_MODELS, inventory_path, read_inventory
from .models import input_options

_LOCK = threading.Lock()
_WRITTEN: dict[str, dict] = {}


def tool_lists(object_info: dict | None) -> dict[str, list[str]]:
    """`TOOL_MODELS` key -> the files the server lists for it (only what object_info has)."""
    lists = {}
    for key, model in TOOL_MODELS.items():
        files = input_options(object_info, model.node, model.input)
        if files is not None:
            lists[key] = sorted(str(f) for f in files)
    return lists


def remember(base_url: str, object_info: dict | None) -> None:
    """Keep what ``base_url`` lists (a write only when it changed since the last one)."""
    lists = tool_lists(object_info)
    server = base_url.rstrip("/")
    if not lists or _WRITTEN.get(server) == lists:
        return
    path = inventory_path()
    with _LOCK:
        data = read_inventory(path)
        data[server] = {"at": int(time.time()), "files": lists}
        try:
            write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
        except OSError:
            return   # a read-only cache only costs the early warning
        _WRITTEN[server] = lists
