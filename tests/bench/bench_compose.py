"""Compose time for 10,000 specs (target < 0.2 s).

Run: ``uv run python tests/bench/bench_compose.py``.
"""

from __future__ import annotations

import statistics
import time

from workbench.compose import compose
from workbench.spec import PromptSpec


def specs(n: int) -> list[PromptSpec]:
    return [PromptSpec(
        name=f"p{i}", subject=f"a weathered lighthouse keeper number {i}",
        action="mending a fishing net by lamplight",
        style="oil painting with thick impasto strokes and warm amber light",
        context="a stormy night on the Breton coast",
        foreground="coils of rope and a tin mug", midground="the keeper at a wooden table",
        background="rain streaking the window", text="PHARE" if i % 3 == 0 else "",
        camera="low angle, 35mm lens") for i in range(n)]


def main() -> None:
    from _report import print_load, verdict  # beside this script

    print_load()
    batch = specs(10_000)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for spec in batch:
            compose(spec)
        times.append(time.perf_counter() - start)
    print(f"compose 10,000 specs: {statistics.median(times) * 1000:.1f} ms median of 7 "
          f"(best {min(times) * 1000:.1f} ms)")
    verdict("compose 10,000 specs", statistics.median(times) * 1000, 200)


if __name__ == "__main__":
    main()
