"""Terminal previews: one 1024x1024 PNG into a 100x50-cell pane, drawn to segments (warm,
from memory: target <= 15 ms; cold, decoded: target <= 40 ms), a 4x4 grid of them in the
same pane drawn cold (target <= 150 ms; the tiles are made in the shared thread pool and
land one by one), and resident memory over 200 previews (flat: target <= 25 MB of growth
after the first 20).

Run: ``uv run python tests/bench/bench_preview.py``.  Figures are printed for three states
of the thumbnail cache: cold (decode the PNG, make and store the thumbnail), disk (a fresh
process: the thumbnail is read back from the cache folder) and memory (the LRU has it).
Every figure includes Rich rendering the preview to segments, as a screen update does.
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
    from _report import print_load, verdict

    print_load()
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-preview-"))  # removed at the end of main
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    from concurrent.futures import as_completed

    from rich.console import Console

    from workbench.images.preview import (
        ThumbnailCache,
        default_cache,
        grid,
        preview,
        submit_preview,
    )

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
        cold += timed(lambda: draw(preview(path, 100, 50, cache=cache)), 1)
    disk = []
    for path in images[:9]:
        cache = ThumbnailCache(folder)
        disk += timed(lambda: draw(preview(path, 100, 50, cache=cache)), 1)
    cache = ThumbnailCache(folder)
    draw(preview(images[0], 100, 50, cache=cache))
    memory = timed(lambda: draw(preview(images[0], 100, 50, cache=cache)), 15)
    print("1024x1024 PNG -> 100x50-cell pane, drawn to segments:")
    print(f"  cold   (decode + thumbnail + store + half-blocks) {fmt(cold)}")
    print(f"  disk   (thumbnail from the cache folder)          {fmt(disk)}")
    print(f"  memory (drawing in the LRU)                       {fmt(memory)}")

    # -- 4x4 grid -----------------------------------------------------------------------
    def grid_of(batch, cache):
        return lambda: draw(grid(batch, 4, (100, 50), labels=[p.stem for p in batch],
                                 cache=cache))
    batches = [images[16 + 16 * i:32 + 16 * i] for i in range(5)]
    grid_cold = [timed(grid_of(b, ThumbnailCache(folder)), 1)[0] for b in batches[:3]]
    grid_disk = [timed(grid_of(b, ThumbnailCache(folder)), 1)[0] for b in batches[:3]]
    cache = ThumbnailCache(folder)
    grid_of(batches[0], cache)()
    grid_memory = timed(grid_of(batches[0], cache), 10)
    first_tile, last_tile = [], []
    for batch in batches[3:]:  # as the compare screen sees it: tiles landing one by one
        cache = ThumbnailCache(folder)
        start = time.perf_counter()
        futures = [submit_preview(p, 24, 11, cache=cache) for p in batch]
        for n, future in enumerate(as_completed(futures)):
            draw(future.result())
            if n == 0:
                first_tile.append((time.perf_counter() - start) * 1000)
        last_tile.append((time.perf_counter() - start) * 1000)
    print("4x4 grid of 1024x1024 PNGs in a 100x50 pane, drawn:")
    print(f"  cold   {fmt(grid_cold)}   (tiles landing: first after "
          f"{statistics.median(first_tile):.1f} ms, last after "
          f"{statistics.median(last_tile):.1f} ms)")
    print(f"  disk   {fmt(grid_disk)}")
    print(f"  memory {fmt(grid_memory)}")

    # -- memory over 200 previews -------------------------------------------------------
    cache = ThumbnailCache(folder)
    gc.collect()
    start_rss = rss_mb()
    marks = {}
    for i, path in enumerate(images[:200], start=1):
        draw(preview(path, 100, 50, cache=cache))
        if i in (20, 100, 200):
            gc.collect()
            marks[i] = rss_mb()
    shutil.rmtree(tmp, ignore_errors=True)
    print("resident memory over 200 previews of distinct images:")
    print(f"  start {start_rss:.1f} MB, after 20 {marks[20]:.1f} MB, after 100 "
          f"{marks[100]:.1f} MB, end {marks[200]:.1f} MB (LRU holds {cache.memory_size} "
          f"thumbnails, {cache.memory_cells_used} cells of drawings)")
    print()
    verdict("preview warm (from memory, drawn)", statistics.median(memory), 15)
    verdict("preview cold (1024x1024 PNG, drawn)", statistics.median(cold), 40)
    verdict("4x4 grid cold (drawn)", statistics.median(grid_cold), 150)
    verdict("memory growth from 20 to 200 previews", marks[200] - marks[20], 25, "MB")


if __name__ == "__main__":
    main()
