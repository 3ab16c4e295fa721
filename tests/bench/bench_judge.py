"""The judge's Pillow-only checks (sharpness, clipping, perceptual hash) on a 1024x1024
picture: target < 30 ms per picture.

Run: ``uv run python tests/bench/bench_judge.py``.  Printed: the checks on a decoded
picture (the target), the same with the PNG decode included (what judging a run folder
costs per picture; decoding is zlib's work and is needed by any check), and the JPEG the
vision model gets on a cache miss.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TARGET_MS = 30.0


def photo_like(seed: int):
    """A 1024x1024 picture with smooth gradients, grain and hard-edged shapes."""
    import random

    from PIL import Image, ImageChops, ImageDraw

    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((1024, 1024))
    grain = Image.effect_noise((1024, 1024), 10 + seed % 5)
    image = Image.merge("RGB", (ImageChops.add(base, grain, 2.0, seed % 40),
                                base.rotate(90 + seed * 7), ImageChops.subtract(grain, base)))
    draw = ImageDraw.Draw(image)
    for _ in range(30):
        x, y = rng.randrange(1024), rng.randrange(1024)
        draw.ellipse((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    from _report import print_load, verdict

    from workbench.judge import pixels

    print_load()
    images = [photo_like(seed) for seed in range(8)]
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, image in enumerate(images):
            path = Path(folder) / f"p{n}.png"
            image.save(path, compress_level=6)     # ComfyUI's SaveImage default level
            paths.append(path)
        for image in images:                       # warm up
            pixels.measure(image)
        checks = [t for image in images for t in timed(lambda image=image: pixels.measure(image), 5)]
        with_decode = [t for path in paths for t in
                       timed(lambda path=path: pixels.measure(pixels.load_image(path).image), 3)]
        encode = [t for image in images[:4] for t in timed(lambda image=image: pixels.for_model(image), 2)]
    median = statistics.median(checks)
    print(f"pillow checks, decoded 1024x1024:  median {median:6.1f} ms  "
          f"(best {min(checks):5.1f}, p90 {sorted(checks)[int(len(checks) * 0.9)]:5.1f})")
    print(f"  with PNG decode (per picture):   median {statistics.median(with_decode):6.1f} ms")
    print(f"  JPEG for the model (cache miss): median {statistics.median(encode):6.1f} ms")
    return 0 if verdict("judge's Pillow checks per 1024x1024 picture", median, TARGET_MS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
