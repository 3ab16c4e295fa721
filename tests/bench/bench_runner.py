"""The plan runner against the fake ComfyUI: how close to the ideal, what the order saves,
and what a second server buys.  Run: ``uv run python tests/bench/bench_runner.py``.

1. Wall time of a plan of N cells whose server-side job time is fixed at T (sampler steps
   x step delay, the fake in its own process like a real server), as wall / (N*T) and
   efficiency N*T / wall (target >= 0.98).  Measured over the whole ``PlanRunner.run()``
   (connect, run folder, every cell downloaded and recorded, contact sheet) and over the
   span the server worked (first job start to last job end).
2. Model reloads and text re-encodings of a mixed plan (3 variants x 2 seeds x model
   dev/schnell x LoRA strength x guidance) in our order vs plain grid order vs an
   interleaved A/B/C order, as counted BY THE FAKE: ``model_switches`` (a sampler whose
   model or LoRAs changed loads / re-patches them), diffusion model loader runs and
   executed ``CLIPTextEncode`` nodes.  The fake keeps, like ComfyUI's default (classic)
   cache, only the outputs of the latest prompt's nodes; the counts are also taken with
   ``cache="forever"``, which hides re-encodings.
3. Two fake servers against one (each in its own process): throughput ratio (target
   >= 1.9x).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.comfy_server import FakeComfy  # noqa: E402
from workbench.comfy.client import ComfyClient  # noqa: E402
from workbench.config import ComfyUISettings, Config  # noqa: E402
from workbench.runs.journal import Journal  # noqa: E402
from workbench.runs.plan import make_plan, parse_axis  # noqa: E402
from workbench.runs.runner import PlanRunner, RunnerOptions  # noqa: E402
from workbench.runs.single import RunService  # noqa: E402
from workbench.spec import Lora, Params, PromptSpec  # noqa: E402

STEPS = 10
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeProcess:
    def __init__(self, job_time: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.comfy_server", "--port", str(self.port),
             "--step-delay", str(job_time / STEPS), "--steps", str(STEPS),
             "--load-delay", "0", "--encode-delay", "0", "--vae-delay", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.proc.stdout.readline()   # "listening on ..."

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def spec(name: str, subject: str, **params) -> PromptSpec:
    return PromptSpec(name, subject=subject, params=Params(width=64, height=64, **params))


def quick_client(url: str) -> ComfyClient:
    return ComfyClient(url, poll_interval=0.5)


async def timed_run(plan, urls: list[str], folder: Path, **kw) -> tuple[float, PlanRunner]:
    config = Config(comfyui=ComfyUISettings(urls=urls))
    runner = PlanRunner(plan, config, RunnerOptions(root=folder / "runs",
                                                    client_factory=quick_client, **kw),
                        service=RunService(config, journal=Journal(folder / "journal.jsonl")))
    start = time.perf_counter()
    await runner.run()
    return time.perf_counter() - start, runner


def server_span(run) -> float:
    """First job start to last job end, from the recorded timings."""
    starts = [r.timings.get("started_at") for r in run.results.values()]
    ends = [r.timings.get("finished_at") for r in run.results.values()]
    starts = [s for s in starts if s]
    return max(ends) - min(starts) if starts else float("nan")


async def warm(url: str) -> None:
    """One job first, so the model 'load' and text encodes are not part of the figure."""
    plan = make_plan([spec("warm", "warm up", steps=STEPS)], seeds=[0])
    with tempfile.TemporaryDirectory() as tmp:
        await timed_run(plan, [url], Path(tmp), sheet=False)


#: (label, figure, target, unit, at_least) for the verdict lines printed at the end
VERDICTS: list[tuple[str, float, float, str, bool]] = []
TWO_SERVERS_TARGET = 1.9


def bench_wall(jobs: int, job_time: float, folder: Path, windows=(1, 2)) -> None:
    print(f"(1) plan wall time, fake in its own process, N={jobs} cells, "
          f"T={job_time:.3f} s/job (ideal N*T = {jobs * job_time:.3f} s)")
    fake = FakeProcess(job_time)
    try:
        asyncio.run(warm(fake.url))
        for window in windows:
            # fresh seeds per measurement: a prompt the fake has seen comes from its cache
            seeds = [1000 * window + i for i in range(jobs // 2)]
            plan = make_plan([spec("A", "a red fox"), spec("B", "a red fox in snow")],
                             seeds=seeds)
            wall, runner = asyncio.run(timed_run(plan, [fake.url], folder / f"w{window}",
                                                 window=window))
            run = runner.history_run
            ideal = plan.size * job_time
            span = server_span(run)
            VERDICTS.append((f"runner efficiency, T={job_time:g} s, window {window}, whole "
                             "run()", ideal / wall, 0.98, "", True))
            print(f"  window {window}: whole run() {wall:.3f} s  wall/(N*T) {wall / ideal:.4f}  "
                  f"efficiency {ideal / wall:.4f} (target >= 0.98: "
                  f"{'met' if ideal / wall >= 0.98 else 'NOT met'})\n"
                  f"            server busy span {span:.3f} s  efficiency {ideal / span:.4f} "
                  f"(target >= 0.98: {'met' if ideal / span >= 0.98 else 'NOT met'});  "
                  f"fixed cost outside it {wall - span:.3f} s (connect, run folder, "
                  f"last download, contact sheet)")
    finally:
        fake.stop()


def mixed_plan():
    lora = "ep-sketch-flux.safetensors"
    a = spec("Fox", "a red fox", steps=2, loras=[Lora(lora, 0.8)])
    b = a.copy(name="Fox B", subject="an arctic fox")
    c = a.copy(name="Fox C", style="ink wash")
    return make_plan([a, b, c], seeds=[1, 2],
                     axes=[parse_axis("model=dev,schnell"),
                           parse_axis(f"lora:{lora}=0.5,1.0"),
                           parse_axis("guidance=2.5,3.5")])


def ab_plan():
    """The everyday case: two prompts on one model, several seeds."""
    return make_plan([spec("Fox", "a red fox", steps=2),
                      spec("Fox B", "a red fox in the snow", steps=2)], seeds=[1, 2, 3, 4])


def interleaved(cells):
    return sorted(cells, key=lambda cell: (cell.coords[1:], cell.coords[0]))


#: assumed costs for the estimate printed beside the counts (not measured here)
LOAD_S, ENCODE_S = 5.0, 0.3


async def count(make, cache: str, order: str, folder: Path) -> tuple[int, int, int, int]:
    fake = FakeComfy(cache=cache)
    await fake.start()
    try:
        config = Config(comfyui=ComfyUISettings(urls=[fake.url]))
        run = await PlanRunner(make(), config, RunnerOptions(
            root=folder, client_factory=quick_client, sheet=False,
            order=interleaved if order == "interleaved" else order),
            service=RunService(config, journal=Journal(folder / f"j-{order}.jsonl"))).run()
        assert all(r.status == "done" for r in run.results.values()), run.results
        return fake.model_switches, fake.model_loads, fake.text_encodes, len(fake.submitted)
    finally:
        await fake.stop()


def bench_order(folder: Path) -> None:
    print("(2) model switches and text encodes by submission order, counted by the fake "
          "(samplers whose model/LoRA set changed, UNETLoader runs, CLIPTextEncode runs)")
    plans = ((f"mixed plan: 3 variants x 2 seeds x model(dev,schnell) x LoRA strength(2) x "
              f"guidance(2) = {mixed_plan().size} cells", mixed_plan),
             (f"A/B plan: 2 prompts x 4 seeds, one model = {ab_plan().size} cells", ab_plan))
    for title, make in plans:
        print(f"  {title}")
        counted: dict[str, float] = {}  # order -> estimated seconds, classic cache
        for label, cache in (("classic cache (ComfyUI's default; the fake's default)",
                              "classic"),
                             ("cache=forever (an explicit fake option)", "forever")):
            print(f"    {label}:")
            for order in ("plain", "interleaved", "cache"):
                switches, loads, encodes, jobs = asyncio.run(
                    count(make, cache, order, folder / f"{cache}-{order}"))
                name = {"plain": "plain grid order", "interleaved": "interleaved A/B/C",
                        "cache": "our order"}[order]
                if cache == "classic":
                    counted[order] = switches * LOAD_S + encodes * ENCODE_S
                print(f"      {name:<18} model switches {switches:3d} (loader runs {loads:2d})"
                      f"   text encodes {encodes:3d}   ({jobs} jobs; at {LOAD_S:g} s/switch + "
                      f"{ENCODE_S:g} s/encode: {switches * LOAD_S + encodes * ENCODE_S:6.1f} s)")
        VERDICTS.append((f"{title.split(':')[0]}, est. reloads + re-encodes, our order (target:"
                         " plain order's)", counted["cache"], counted["plain"], "s", False))


def bench_pool(jobs: int, job_time: float, folder: Path) -> None:
    print(f"(3) two fake servers vs one (each its own process), N={jobs}, T={job_time:.3f} s")
    fakes = [FakeProcess(job_time), FakeProcess(job_time)]
    try:
        for fake in fakes:
            asyncio.run(warm(fake.url))
        def plan(first_seed: int):
            return make_plan([spec("A", "a red fox"), spec("B", "a red fox in snow")],
                             seeds=list(range(first_seed, first_seed + jobs // 2)))

        one, _ = asyncio.run(timed_run(plan(100), [fakes[0].url], folder / "one"))
        two, runner = asyncio.run(timed_run(plan(200), [f.url for f in fakes],
                                            folder / "two"))
        shares = {}
        for result in runner.history_run.results.values():
            shares[result.server] = shares.get(result.server, 0) + 1
        ratio = one / two
        print(f"  one server {one:.3f} s ({jobs / one:.2f} cells/s)   two servers {two:.3f} s "
              f"({jobs / two:.2f} cells/s)   throughput x{ratio:.2f}   split "
              f"{sorted(shares.values())}")
        VERDICTS.append(("two servers vs one, throughput", ratio, TWO_SERVERS_TARGET, "x",
                         True))
    finally:
        for fake in fakes:
            fake.stop()


def main() -> None:
    from _report import print_load, verdict

    print_load()
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--job-time", type=float, default=0.25)
    parser.add_argument("--long-job-time", type=float, default=1.0,
                        help="a second, longer T: the fixed start/finish cost shrinks "
                             "against N*T")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_wall(args.jobs, args.job_time, folder / "wall")
        bench_wall(args.jobs, args.long_job_time, folder / "wall-long", windows=(2,))
        bench_order(folder / "order")
        bench_pool(args.jobs, args.job_time, folder / "pool")
    print()
    for label, value, target, unit, at_least in VERDICTS:
        verdict(label, value, target, unit, at_least=at_least,
                digits=1 if "order" in label else 2)


if __name__ == "__main__":
    main()
