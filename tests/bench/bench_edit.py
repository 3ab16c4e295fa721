"""Source image checks and Kontext chain overhead against their budgets (no timed asserts).

1. `load_source` (sniff, verify, full decode, EXIF transpose, sha256) on typical inputs:
   a 1 MP JPEG, an EXIF-rotated 12 MP phone JPEG, a 4096x4096 PNG, and a bomb header.
2. A six-step Kontext chain on the in-process fake (no sampler delay), so the time is the
   workbench's own per step: upload by hash, build + check, submit, follow, download,
   re-check the output as the next source, manifest.

    uv run python tests/bench/bench_edit.py
"""

from __future__ import annotations

import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PIL import Image  # noqa: E402

from tests.fakes.comfy_server import FakeComfy, decompression_bomb_png  # noqa: E402
from workbench.chains import new_chain  # noqa: E402
from workbench.comfy.client import ComfyClient  # noqa: E402
from workbench.config import Config  # noqa: E402
from workbench.images.source import SourceImageError, load_source  # noqa: E402
from workbench.runs.chain import run_chain  # noqa: E402
from workbench.runs.single import RunService  # noqa: E402
from workbench.runs.uploads import UploadCache  # noqa: E402


def _photo(size, fmt, orientation=None) -> bytes:
    image = Image.effect_noise(size, 40).convert("RGB")
    kwargs = {}
    if orientation:
        exif = image.getexif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


#: Budgets (issue 7 set none; these keep a run's start and a chain's steps prompt): the
#: checks of a source before upload, in ms, and the workbench's own time per chain step.
SOURCE_BUDGET_MS = {"1 MP JPEG": 50, "12 MP JPEG, EXIF rotated": 1500, "4096x4096 PNG": 1500,
                    "bomb header (refused)": 50}
CHAIN_STEP_BUDGET_MS = 100
FOUND: list[tuple[str, float, float]] = []


def bench_sources(folder: Path) -> None:
    cases = {
        "1 MP JPEG": _photo((1024, 1024), "JPEG"),
        "12 MP JPEG, EXIF rotated": _photo((4000, 3000), "JPEG", orientation=6),
        "4096x4096 PNG": _photo((4096, 4096), "PNG"),
        "bomb header (refused)": decompression_bomb_png(),
    }
    for label, data in cases.items():
        path = folder / "src"
        path.write_bytes(data)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            try:
                load_source(path)
            except SourceImageError:
                pass
            times.append(time.perf_counter() - start)
        print(f"load_source {label:<28} {len(data) / 1e6:6.2f} MB  "
              f"median {statistics.median(times) * 1000:8.1f} ms")
        FOUND.append((f"load_source, {label}", statistics.median(times) * 1000,
                      SOURCE_BUDGET_MS[label]))


async def bench_chain(folder: Path, steps: int = 6) -> None:
    fake = FakeComfy()
    await fake.start()
    try:
        (folder / "cat.png").write_bytes(_photo((1024, 1024), "PNG"))
        chain = new_chain(folder / "cat.png", [f"Add hat number {i}" for i in range(steps)],
                          seed=1)
        async with ComfyClient(fake.url, poll_interval=0.2) as client:
            start = time.perf_counter()
            service = RunService(Config(), uploads=UploadCache(folder / "uploads.json"))
            run = await run_chain(service, client, chain, folder / "out")
            wall = time.perf_counter() - start
        server = fake.busy_seconds
        print(f"chain of {steps} Kontext steps on the fake: {wall:.2f} s wall, "
              f"{wall / steps * 1000:.0f} ms per step, server busy {server:.2f} s, "
              f"ok={run.ok}")
        FOUND.append(("Kontext chain on the fake, the workbench's own time per step",
                      (wall - server) / steps * 1000, CHAIN_STEP_BUDGET_MS))
    finally:
        await fake.stop()


def main() -> None:
    from _report import print_load, verdict

    print_load()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_sources(folder)
        asyncio.run(bench_chain(folder))
    print()
    for label, value, budget in FOUND:
        verdict(label, value, budget)


if __name__ == "__main__":
    main()
