"""Terminal previews: one 1024x1024 image into a 100x50-cell pane (target < 15 ms), a 4x4
grid in the same pane (target < 100 ms), and resident memory over 200 previews (flat).

Run: ``uv run python tests/bench/bench_preview.py``.  Figures are printed for three states
of the thumbnail cache: cold (decode the PNG, make and store the thumbnail), disk (a fresh
process: the thumbnail is read back from the cache folder) and memory (the LRU has it).
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_images(folder: Path, count: int) -> list[Path]:
    """Photo-like 1024x1024 PNGs: smooth gradients with grain, each a little different."""
    from PIL import Image, ImageChops

    folder.mkdir(parents=True, exist_ok=True)
    base = Image.linear_gradient("L").resize((1024, 1024))
    paths = []
    for i in range(count):
        grain = Image.effect_noise((1024, 1024), 12 + i % 7)
        r = ImageChops.add(base, grain, scale=2.0, offset=i % 64)
        g = base.rotate(90 + i * 7)
        b = ImageChops.subtract(grain, base, scale=1.0, offset=i)
        path = folder / f"img{i:03d}.png"
        Image.merge("RGB", (r, g, b)).save(path, compress_level=1)
        paths.append(path)
    return paths


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times):6.1f} ms (best {min(times):6.1f})"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-preview-"))  # removed at the end of main
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    from rich.console import Console

    from workbench.images.preview import ThumbnailCache, default_cache, grid, preview

    print("making 216 test images (1024x1024 PNG)...", file=sys.stderr)
    images = make_images(tmp / "img", 216)
    console = Console(file=io.StringIO(), width=100, height=50, color_system="truecolor",
                      legacy_windows=False)

    def draw(renderable) -> None:
        list(console.render(renderable, console.options))

    folder = default_cache().folder

    # -- one pane -----------------------------------------------------------------------
    cold = []
    for path in images[:9]:
        cache = ThumbnailCache(folder)
        cold += timed(lambda: preview(path, 100, 50, cache=cache), 1)
    disk = []
    for path in images[:9]:
        cache = ThumbnailCache(folder)
        disk += timed(lambda: preview(path, 100, 50, cache=cache), 1)
    cache = ThumbnailCache(folder)
    preview(images[0], 100, 50, cache=cache)
    memory = timed(lambda: preview(images[0], 100, 50, cache=cache), 15)
    drawn = timed(lambda: draw(preview(images[0], 100, 50, cache=cache)), 15)
    print("1024x1024 -> 100x50-cell pane (target < 15 ms):")
    print(f"  cold   (decode + thumbnail + store + half-blocks) {fmt(cold)}")
    print(f"  disk   (thumbnail from the cache folder)          {fmt(disk)}")
    print(f"  memory (thumbnail in the LRU)                     {fmt(memory)}")
    print(f"  memory + Rich rendering to segments               {fmt(drawn)}")

    # -- 4x4 grid -----------------------------------------------------------------------
    def grid_of(batch, cache):
        return lambda: draw(grid(batch, 4, (100, 50), labels=[p.stem for p in batch],
                                 cache=cache))
    batches = [images[16 + 16 * i:32 + 16 * i] for i in range(3)]
    grid_cold = [timed(grid_of(b, ThumbnailCache(folder)), 1)[0] for b in batches]
    grid_disk = [timed(grid_of(b, ThumbnailCache(folder)), 1)[0] for b in batches]
    cache = ThumbnailCache(folder)
    grid_of(batches[0], cache)()
    grid_memory = timed(grid_of(batches[0], cache), 10)
    print("4x4 grid of 1024x1024 in a 100x50 pane, drawn (target < 100 ms):")
    print(f"  cold   {fmt(grid_cold)}")
    print(f"  disk   {fmt(grid_disk)}")
    print(f"  memory {fmt(grid_memory)}")

    # -- memory over 200 previews -------------------------------------------------------
    cache = ThumbnailCache(folder)
    gc.collect()
    start = rss_mb()
    marks = {}
    for i, path in enumerate(images[:200], start=1):
        draw(preview(path, 100, 50, cache=cache))
        if i in (20, 100, 200):
            gc.collect()
            marks[i] = rss_mb()
    shutil.rmtree(tmp, ignore_errors=True)
    print("resident memory over 200 previews of distinct images (should stay flat):")
    print(f"  start {start:.1f} MB, after 20 {marks[20]:.1f} MB, after 100 {marks[100]:.1f} MB, "
          f"end {marks[200]:.1f} MB (LRU holds {cache.memory_size} thumbnails)")


if __name__ == "__main__":
    main()
