"""A fake ComfyUI 0.3.64 for tests: see `server` (HTTP + WebSocket, queue, files),
`execution` (how a prompt runs), `graph` (order, cache keys, sizes), `validation`,
`cache`, `images` and `recordings` (the recorded data it is built from)."""

from .graph import PREFERED_KONTEXT_RESOLUTIONS
from .images import decompression_bomb_png, oversized_png, preview_jpeg, render_png
from .recordings import recorded_models
from .server import FakeComfy, Job

__all__ = ["FakeComfy", "Job", "PREFERED_KONTEXT_RESOLUTIONS", "decompression_bomb_png",
           "oversized_png", "preview_jpeg", "recorded_models", "render_png"]
