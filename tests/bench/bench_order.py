"""Model reloads and text re-encodings of a mixed plan: plain grid order, an interleaved
A/B order, and `order_for_cache`.  Run: ``uv run python tests/bench/bench_order.py``.

The counts come from `cache_cost` (a server that keeps only the previous job's node
outputs); the runner's bench against the fake ComfyUI counts what the fake really did.
"""

from __future__ import annotations

import time

from workbench.runs.plan import cache_cost, make_plan, order_for_cache, parse_axis
from workbench.spec import Lora, Params, PromptSpec


def main() -> None:
    a = PromptSpec("Fox", subject="a red fox", action="leaping over a frozen stream",
                   params=Params(loras=[Lora("film.safetensors", 0.8)]))
    b = a.copy(name="Fox B", subject="an arctic fox")
    c = a.copy(name="Fox C", style="ink wash")
    plan = make_plan([a, b, c], seeds=[1, 2, 3, 4],
                     axes=[parse_axis("model=dev,schnell"),
                           parse_axis("lora:film.safetensors=0.5,1.0"),
                           parse_axis("guidance=2.5,3.5")])
    cells = plan.cells()
    interleaved = sorted(cells, key=lambda cell: (cell.coords[1:], cell.coords[0]))
    start = time.perf_counter()
    ours = order_for_cache(cells)
    took = (time.perf_counter() - start) * 1000
    print(f"mixed plan: 3 variants x 4 seeds x model(2) x LoRA strength(2) x guidance(2) "
          f"= {len(cells)} cells")
    for name, order in (("plain grid order", cells), ("interleaved A/B/C", interleaved),
                        ("order_for_cache", ours)):
        cost = cache_cost(order)
        print(f"  {name:<18} model loads {cost.model_loads:3d}   text encodes "
              f"{cost.text_encodes:3d}")
    print(f"  ordering took {took:.2f} ms")


if __name__ == "__main__":
    main()
