"""What a plan run is asked to do (`RunnerOptions`) and what it reports (`CellUpdate`).

Kept apart from the runner so the callers (``workbench ab``, the compare screen's adapter)
read the shape of a run without the machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..comfy.client import ComfyClient
from . import history
from .plan import Cell
from .pool import Health


@dataclass
class RunnerOptions:
    """How a plan is run (everything but the plan, the settings and the callbacks)."""

    servers: list[str] | None = None       # default: the configured ones
    window: int = 2                        # prompts queued or sampling per server
    root: Path | None = None               # where the run folder is made
    base_dir: Path | None = None           # relative source images (the library's folder)
    workflow: str | dict | None = None     # default: chosen from each cell's model
    meta: dict = field(default_factory=dict)
    existing: history.Run | None = None    # resume this run
    health: Health = field(default_factory=Health)
    adopt_poll: float = 1.0                # how often an earlier session's prompt is checked
    sheet: bool = True                     # write the contact sheet at the end
    order: str | Callable[[list[Cell]], list[Cell]] = "cache"   # or "plain", or a function
    client_factory: Callable[[str], ComfyClient] | None = None


@dataclass
class CellUpdate:
    """Where one cell stands; sent to ``on_update`` on every change."""

    cell_id: str
    state: str            # "waiting" | "queued" | "running" | "done" | "error" | "cancelled"
    step: int = 0
    steps: int = 0
    fraction: float = 0.0
    preview: bytes | None = None   # latest live preview image bytes (JPEG/PNG) if sent
    images: list[Path] = field(default_factory=list)  # absolute paths once done
    error: str = ""
    server: str = ""
