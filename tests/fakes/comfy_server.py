"""The fake ComfyUI server, importable as before and runnable by hand.

The implementation lives in `tests.fakes.comfy` (server, execution, graph, validation,
cache, images, recordings); this module keeps the old import path and the command line::

    uv run python -m tests.fakes.comfy_server --port 8188 --step-delay 0.2

By hand it behaves like a real server on a slow box: model loads, text encodes and VAE
passes take their time in silence (``--load-delay``, ``--encode-delay``,
``--vae-delay``; 0 for none), previews only with ``--preview-method``.
"""

from __future__ import annotations

import argparse
import asyncio

from tests.fakes.comfy import (  # noqa: F401  (re-exported for tests)
    PREFERED_KONTEXT_RESOLUTIONS,
    FakeComfy,
    Job,
    decompression_bomb_png,
    oversized_png,
    preview_jpeg,
    recorded_models,
    render_png,
)
from tests.fakes.comfy.cache import POLICIES
from tests.fakes.comfy.server import PREVIEW_METHODS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake ComfyUI server for trying the "
                                     "workbench without a GPU.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--step-delay", type=float, default=0.05,
                        help="seconds per sampler step (default 0.05)")
    parser.add_argument("--steps", type=int, default=None,
                        help="run every sampler for this many steps instead of its own")
    parser.add_argument("--load-delay", type=float, default=2.0,
                        help="seconds a model loader works in silence (default 2)")
    parser.add_argument("--encode-delay", type=float, default=1.0,
                        help="seconds a text encode works in silence (default 1)")
    parser.add_argument("--vae-delay", type=float, default=0.5,
                        help="seconds a VAE encode/decode works in silence (default 0.5)")
    parser.add_argument("--node-delay", type=float, default=0.0,
                        help="seconds any other node works (default 0)")
    parser.add_argument("--model-load-delay", type=float, default=0.0,
                        help="seconds a sampler whose model or LoRAs changed works before "
                             "its first step (default 0)")
    parser.add_argument("--preview-method", choices=PREVIEW_METHODS, default="none",
                        help="send preview frames while sampling, as ComfyUI's option "
                             "(default none: no previews)")
    parser.add_argument("--cache", choices=POLICIES, default="classic",
                        help="classic (ComfyUI's default: only the last prompt's outputs "
                             "are reused), forever, or none")
    parser.add_argument("--hostile", action="store_true")
    args = parser.parse_args(argv)

    async def serve() -> None:
        fake = FakeComfy(host=args.host, port=args.port, step_delay=args.step_delay,
                         default_steps=args.steps, load_delay=args.load_delay,
                         encode_delay=args.encode_delay, vae_delay=args.vae_delay,
                         node_delay=args.node_delay, model_load_delay=args.model_load_delay,
                         preview_method=args.preview_method, cache=args.cache,
                         hostile=args.hostile)
        url = await fake.start()
        print(f"fake ComfyUI listening on {url} (Ctrl+C to stop)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await fake.stop()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
