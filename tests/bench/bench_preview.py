"""Terminal previews: one 1024x1024 PNG into a 100x50-cell pane, drawn to segments (warm,
from memory: target <= 15 ms; cold, decoded: target <= 40 ms), a 4x4 grid of them in the
same pane drawn cold (target <= 150 ms; the tiles are made in the shared thread pool and
land one by one), and resident memory over 200 previews (flat: target <= 25 MB of growth
after the first 20).

Run: ``uv run python tests/bench/bench_preview.py``.  Figures are printed for the states
of the thumbnail cache: cold (decode the PNG, make and store the image's base thumbnail,
size it for the pane), disk (a fresh process: the base is read back from the cache
folder), memory (the LRU has the drawing), and "after a run": the images' bases were made
by the run that wrote them (`remember_images`, in the background), as for any run
recorded by the TUI or the CLI, and the grid is opened by a fresh process.
Every figure includes Rich rendering the preview to segments, as a screen update does
(in true colour; one line also for a 256-colour terminal).  The cold figures also give
the process's CPU time (all threads): on a shared machine it says what the work costs,
where the wall time also counts waiting for a core.  A cold 1024x1024 PNG is ~30 ms of
CPU in Pillow's decoder alone (see `workbench/images/shrink.py`), so 16 of them on 2
cores take at least ~240 ms, however well the pool shares them out.

"Grid cold" is the time from asking for the 16 tiles until all 16 are drawn, none of them
ever seen before (no base on disk); the tiles landing one by one (what the compare screen
shows) are timed separately: the first tile, the last tile.

The test images are photo-like, not noise: a sky gradient, out-of-focus shapes, a sharp
subject, detail at three scales strongest in the foreground, light grain; saved as
ComfyUI's SaveImage does (Pillow, ``compress_level=4``), about 1.1-1.2 MB each, within the
1-2 MB a real FLUX 1024x1024 PNG usually weighs (pure noise would be both slower to inflate
and unrealistic; a flat synthetic picture would inflate unrealistically fast).
24 distinct images are copied to 216 names: a copy is a new image to the cache (its key is
the path, mtime and size) and costs the same to decode.
"""

from __future__ import annotations

import gc
import io
import os
import random
import shutil
import statistics
import subprocess
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


def photo_like(seed: int, size: int = 1024):
    """A 1024x1024 RGB image with the structure of a photograph (see the module's note)."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    box = (size, size)
    ramp = Image.linear_gradient("L").resize(box)          # 0 at the top, 255 at the bottom
    sky = (rnd.randrange(40, 120), rnd.randrange(90, 170), rnd.randrange(170, 240))
    ground = (rnd.randrange(120, 220), rnd.randrange(90, 180), rnd.randrange(50, 140))
    scene = Image.composite(Image.new("RGB", box, ground), Image.new("RGB", box, sky), ramp)
    small = scene.resize((size // 8, size // 8))           # out-of-focus background shapes
    draw = ImageDraw.Draw(small)
    for _ in range(10):
        x, y, r = rnd.randrange(128), rnd.randrange(128), rnd.randrange(4, 24)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=tuple(rnd.randrange(256) for _ in range(3)))
    scene = small.filter(ImageFilter.GaussianBlur(4)).resize(box, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(scene)                           # a sharp-edged subject
    for _ in range(3):
        x, y, r = rnd.randrange(250, 774), rnd.randrange(450, 800), rnd.randrange(80, 200)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=tuple(rnd.randrange(256) for _ in range(3)))
    grey = Image.new("L", box, 128)
    texture = grey
    for cells, weight in ((16, 0.5), (64, 0.4), (256, 0.35)):     # detail at three scales
        noise = Image.effect_noise((cells, cells), 40).resize(box, Image.Resampling.BICUBIC)
        texture = ImageChops.add(texture, Image.blend(grey, noise, weight), 1.0, -128)
    texture = ImageChops.add(texture, Image.effect_noise(box, 3), 1.0, -128)   # grain
    texture = Image.composite(texture, Image.blend(grey, texture, 0.2), ramp)  # calm sky
    return Image.merge("RGB", [ImageChops.add(band, texture, 1.0, -128)
                               for band in scene.split()])


def make_images(folder: Path, count: int, distinct: int = 24) -> list[Path]:
    """``count`` photo-like 1024x1024 PNGs saved as ComfyUI saves them (``distinct``
    different pictures, copied under the other names)."""
    folder.mkdir(parents=True, exist_ok=True)
    originals = []
    for i in range(min(count, distinct)):
        path = folder / f"img{i:03d}.png"
        photo_like(i).save(path, compress_level=4)
        originals.append(path)
    paths = list(originals)
    for i in range(len(originals), count):
        path = folder / f"img{i:03d}.png"
        shutil.copyfile(originals[i % len(originals)], path)
        paths.append(path)
    return paths


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def cpu_timed(fn) -> tuple[float, float]:
    """Wall ms and the whole process's CPU ms (every thread: the pool's too) of one call:
    on a shared machine the CPU figure says what the work costs, the wall figure also
    how long it waited for a core."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times):6.1f} ms (best {min(times):6.1f})"


FIRST_PREVIEW = """
import io, sys, time
start = time.perf_counter()
from rich.console import Console
from workbench.images.preview import ThumbnailCache, preview
console = Console(file=io.StringIO(), width=100, height=50, color_system="truecolor")
list(console.render(preview(sys.argv[1], 100, 50, cache=ThumbnailCache(sys.argv[2])),
                    console.options))
print((time.perf_counter() - start) * 1000)
"""


def first_preview_ms(image: Path, folder: Path) -> float:
    """A fresh process's first preview, cold, with every import it needs (Pillow,
    rich-pixels...) counted in: what the first image a TUI session shows costs."""
    out = subprocess.run([sys.executable, "-c", FIRST_PREVIEW, str(image), str(folder)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


class Drawing:
    """Rich consoles a screen update renders with: true colour, and 256 colours."""

    def __init__(self) -> None:
        from rich.console import Console

        self.truecolor = Console(file=io.StringIO(), width=100, height=50,
                                 color_system="truecolor", legacy_windows=False)
        self.xterm = Console(file=io.StringIO(), width=100, height=50, color_system="256",
                             legacy_windows=False)

    def __call__(self, renderable, colors: str = "truecolor") -> None:
        console = self.xterm if colors == "256" else self.truecolor
        list(console.render(renderable, console.options))


def pane_figures(images: list[Path], folder: Path, draw: Drawing, tmp: Path) -> dict:
    from workbench.images.preview import ThumbnailCache, preview

    def once(path, cache, colors="truecolor", size=(100, 50)):
        return timed(lambda: draw(preview(path, *size, cache=cache), colors), 1)

    figures: dict[str, list[float]] = {"cold": [], "cold_cpu": [], "disk": [], "disk256": [],
                                       "base": []}
    for path in images[:9]:
        cache = ThumbnailCache(folder)
        wall, cpu = cpu_timed(lambda: draw(preview(path, 100, 50, cache=cache)))
        figures["cold"].append(wall)
        figures["cold_cpu"].append(cpu)
        cache.flush()  # the thumbnails are written after the picture is handed back
    for path in images[:9]:
        figures["disk"] += once(path, ThumbnailCache(folder))
        figures["disk256"] += once(path, ThumbnailCache(folder), "256")
        figures["base"] += once(path, ThumbnailCache(folder), size=(80, 40))
    cache = ThumbnailCache(folder)
    draw(preview(images[0], 100, 50, cache=cache))
    figures["memory"] = timed(lambda: draw(preview(images[0], 100, 50, cache=cache)), 15)
    figures["first"] = [first_preview_ms(images[9 + i], tmp / f"first{i}") for i in range(3)]
    return figures


def grid_figures(batches: list[list[Path]], folder: Path, draw: Drawing) -> dict:
    from concurrent.futures import as_completed

    from workbench.images.preview import ThumbnailCache, grid, submit_preview

    def grid_of(batch, cache):
        return lambda: draw(grid(batch, 4, (100, 50), labels=[p.stem for p in batch],
                                 cache=cache))

    figures: dict[str, list[float]] = {"cold": [], "cold_cpu": [], "first": [], "last": [],
                                       "remember": []}
    for batch in batches[:3]:
        cache = ThumbnailCache(folder)
        wall, cpu = cpu_timed(grid_of(batch, cache))
        figures["cold"].append(wall)
        figures["cold_cpu"].append(cpu)
        cache.flush()
    figures["disk"] = [timed(grid_of(b, ThumbnailCache(folder)), 1)[0] for b in batches[:3]]
    cache = ThumbnailCache(folder)
    grid_of(batches[0], cache)()
    figures["memory"] = timed(grid_of(batches[0], cache), 10)
    for batch in batches[3:5]:  # as the compare screen sees it: tiles landing one by one
        cache = ThumbnailCache(folder)
        start = time.perf_counter()
        futures = [submit_preview(p, 24, 11, cache=cache) for p in batch]
        for n, future in enumerate(as_completed(futures)):
            draw(future.result())
            if n == 0:
                figures["first"].append((time.perf_counter() - start) * 1000)
        figures["last"].append((time.perf_counter() - start) * 1000)
        cache.flush()
    # after a run: the run made each image's base as it wrote it (here one after another,
    # timed: the CPU a run spends per image, in the background); then a new process opens
    # the grid, the first time at this size
    figures["after_run"] = []
    for batch in batches[5:8]:
        for path in batch:
            figures["remember"] += timed(lambda: ThumbnailCache(folder).remember(path), 1)
        figures["after_run"] += timed(grid_of(batch, ThumbnailCache(folder)), 1)
    return figures


def memory_figures(images: list[Path], folder: Path, draw: Drawing) -> tuple[dict, str]:
    from workbench.images.preview import ThumbnailCache, preview

    cache = ThumbnailCache(folder)
    gc.collect()
    marks = {0: rss_mb()}
    for i, path in enumerate(images[:200], start=1):
        draw(preview(path, 100, 50, cache=cache))
        if i in (20, 100, 200):
            gc.collect()
            marks[i] = rss_mb()
    return marks, (f"LRU holds {cache.memory_size} thumbnails, {cache.memory_cells_used} "
                   "cells of drawings")


def main() -> None:
    from _report import print_load, verdict

    print_load()
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-preview-"))  # removed at the end of main
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    from workbench.images.preview import default_cache

    print("making 216 test images (1024x1024 PNG)...", file=sys.stderr)
    images = make_images(tmp / "img", 216)
    size_mb = statistics.median(p.stat().st_size for p in images[:24]) / 2**20
    draw = Drawing()
    folder = default_cache().folder
    pane = pane_figures(images, folder, draw, tmp)
    print(f"1024x1024 PNG ({size_mb:.2f} MB, compress_level=4) -> 100x50-cell pane, drawn "
          "to segments:")
    print(f"  cold   (decode + base + half-blocks; stored after) {fmt(pane['cold'])}, CPU "
          f"{statistics.median(pane['cold_cpu']):.1f} ms")
    print(f"  disk   (this pane's thumbnail from the cache)      {fmt(pane['disk'])}")
    print(f"  disk, drawn for a 256-colour terminal              {fmt(pane['disk256'])}")
    print(f"  disk, another pane size (80x40: from the base)     {fmt(pane['base'])}")
    print(f"  memory (drawing in the LRU)                        {fmt(pane['memory'])}")
    print(f"  first preview of a fresh process, imports in       {fmt(pane['first'])}")

    batches = [images[16 + 16 * i:32 + 16 * i] for i in range(8)]
    grids = grid_figures(batches, folder, draw)
    print("4x4 grid of 1024x1024 PNGs in a 100x50 pane, until all 16 are drawn:")
    print(f"  cold        {fmt(grids['cold'])}, CPU {statistics.median(grids['cold_cpu']):.0f} "
          "ms on 2 threads")
    print("              (tiles landing: first after "
          f"{statistics.median(grids['first']):.1f} ms, last after "
          f"{statistics.median(grids['last']):.1f} ms)")
    print(f"  disk        {fmt(grids['disk'])}")
    print(f"  after a run {fmt(grids['after_run'])}   (the run spent "
          f"{statistics.median(grids['remember']):.1f} ms an image on its base, in the "
          "background)")
    print(f"  memory      {fmt(grids['memory'])}")

    marks, held = memory_figures(images, folder, draw)
    shutil.rmtree(tmp, ignore_errors=True)
    print("resident memory over 200 previews of distinct images:")
    print(f"  start {marks[0]:.1f} MB, after 20 {marks[20]:.1f} MB, after 100 "
          f"{marks[100]:.1f} MB, end {marks[200]:.1f} MB ({held})")
    print()
    verdict("preview warm (from memory, drawn)", statistics.median(pane["memory"]), 15)
    verdict("preview cold (1024x1024 PNG, drawn)", statistics.median(pane["cold"]), 40)
    verdict("4x4 grid cold (all 16 drawn)", statistics.median(grids["cold"]), 150)
    verdict("4x4 grid after a run (bases made by the run)",
            statistics.median(grids["after_run"]), 150)
    verdict("memory growth from 20 to 200 previews", marks[200] - marks[20], 25, "MB")


if __name__ == "__main__":
    main()
