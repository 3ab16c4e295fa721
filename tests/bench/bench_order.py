"""Model reloads and text re-encodings of a mixed plan: plain grid order, an interleaved
A/B order, and `order_for_cache`.  Run: ``uv run python tests/bench/bench_order.py``.

The first counts come from `cache_cost` (a model of a server that keeps only the previous
job's node outputs).  The same three orders are then run through the plan runner against
the fake ComfyUI, whose default is that same classic cache, and the fake's own counts are
printed beside the model's: samplers whose model/LoRA set changed (a load or re-patch on
the GPU) and CLIPTextEncode runs.  ``--no-fake`` prints the model only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workbench.runs.order import cache_cost, order_for_cache  # noqa: E402
from workbench.runs.plan import make_plan, parse_axis  # noqa: E402
from workbench.spec import Lora, Params, PromptSpec  # noqa: E402

LORA = "ep-sketch-flux.safetensors"   # a LoRA the recorded server has


def mixed_plan():
    a = PromptSpec("Fox", subject="a red fox", action="leaping over a frozen stream",
                   params=Params(loras=[Lora(LORA, 0.8)], width=64, height=64, steps=1))
    b = a.copy(name="Fox B", subject="an arctic fox")
    c = a.copy(name="Fox C", style="ink wash")
    return make_plan([a, b, c], seeds=[1, 2, 3, 4],
                     axes=[parse_axis("model=dev,schnell"),
                           parse_axis(f"lora:{LORA}=0.5,1.0"),
                           parse_axis("guidance=2.5,3.5")])


def interleaved(cells):
    return sorted(cells, key=lambda cell: (cell.coords[1:], cell.coords[0]))


#: name -> (the order as a function of the cells, what PlanRunner is given for it)
ORDERS = {"plain grid order": (list, "plain"), "interleaved A/B/C": (interleaved, interleaved),
          "order_for_cache": (order_for_cache, "cache")}


async def on_the_fake(order, folder: Path) -> tuple[int, int, int]:
    """(model switches, text encodes, jobs) the strict fake counted for this order."""
    from tests.fakes.comfy_server import FakeComfy
    from workbench.comfy.client import ComfyClient
    from workbench.config import ComfyUISettings, Config
    from workbench.runs.journal import Journal
    from workbench.runs.runner import PlanRunner, RunnerOptions
    from workbench.runs.single import RunService

    fake = FakeComfy(default_steps=1, load_delay=0, encode_delay=0, vae_delay=0)
    await fake.start()
    try:
        config = Config(comfyui=ComfyUISettings(urls=[fake.url]))
        run = await PlanRunner(mixed_plan(), config, RunnerOptions(
            root=folder, sheet=False, order=order,
            client_factory=lambda url: ComfyClient(url, poll_interval=0.5)),
            service=RunService(config, journal=Journal(folder / "journal.jsonl"))).run()
        failed = [r for r in run.results.values() if r.status != "done"]
        assert not failed, failed[:1]
        return fake.model_switches, fake.text_encodes, len(fake.submitted)
    finally:
        await fake.stop()


def main() -> None:
    from _report import print_load, verdict

    print_load()
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-fake", action="store_true", help="the cache model only")
    args = parser.parse_args()
    cells = mixed_plan().cells()
    start = time.perf_counter()
    order_for_cache(cells)
    took = (time.perf_counter() - start) * 1000
    print(f"mixed plan: 3 variants x 4 seeds x model(2) x LoRA strength(2) x guidance(2) "
          f"= {len(cells)} cells")
    costs, agreed = {}, True
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, (order, runner_order)) in enumerate(ORDERS.items()):
            cost = cache_cost(order(cells))
            costs[name] = cost.model_loads * 5.0 + cost.text_encodes * 0.3
            line = (f"  {name:<18} model loads {cost.model_loads:3d}   text encodes "
                    f"{cost.text_encodes:3d}")
            if not args.no_fake:
                switches, encodes, jobs = asyncio.run(on_the_fake(runner_order,
                                                                  Path(tmp) / str(index)))
                same = (switches, encodes) == (cost.model_loads, cost.text_encodes)
                agreed = agreed and same
                agree = "agrees" if same else "DIFFERS"
                line += (f"   | strict fake ({jobs} jobs): model switches {switches:3d}   "
                         f"text encodes {encodes:3d}   {agree}")
            print(line)
    print(f"  ordering took {took:.2f} ms")
    print()
    ours, others = costs[list(ORDERS)[-1]], min(list(costs.values())[:-1])
    verdict("est. reloads + re-encodes in our order (5 s a load, 0.3 s an encode; target: "
            "the best other order's)", ours, others, "s")
    verdict("ordering the plan", took, 10)
    if not args.no_fake:
        print(f"the fake's counts match the cache model: {'OK' if agreed else 'NOT MET'}")


if __name__ == "__main__":
    main()
