"""The plan runner against the fake ComfyUI: how close to the ideal, what the order saves,
and what a second server buys.  Run: ``uv run python tests/bench/bench_runner.py``.

1. Wall time of a plan of N cells whose server-side job time is fixed at T (sampler steps
   x step delay, the fake in its own process like a real server), as wall / (N*T) and
   efficiency N*T / wall (target >= 0.98).  Measured over the whole ``PlanRunner.run()``
   (connect, run folder, every cell downloaded and recorded, contact sheet) and over the
   span the server worked (first job start to last job end).  Beside it, the server's
   busy share: the sum of the jobs' own run times (execution start to end, as the client
   saw them) over the wall time.  The fake spends a few ms per prompt of its own (graph,
   messages, PNG) beyond N*T, as a real server does; that is the server's, and the busy
   share is the figure the runner answers for (target >= 0.98 too).
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


def server_busy(run) -> float:
    """The sum of the jobs' own run times (execution start to end)."""
    return sum(r.timings.get("finished_at", 0) - r.timings["started_at"]
               for r in run.results.values() if r.timings.get("started_at"))


async def warm(url: str) -> None:
    """One job first, so the model 'load' and text encodes are not part of the figure,
    nor this process's first contact sheet (its lazy imports and font): the first
    configuration measured would pay for them and the others not."""
    plan = make_plan([spec("warm", "warm up", steps=STEPS)], seeds=[0])
    with tempfile.TemporaryDirectory() as tmp:
        await timed_run(plan, [url], Path(tmp))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def spread(values: list[float], fmt: str = ".3f") -> str:
    return (f"median {median(values):{fmt}} (range {min(values):{fmt}}-{max(values):{fmt}}, "
            f"{len(values)} runs)") if len(values) > 1 else f"{values[0]:{fmt}}"


#: (label, figure, target, unit, at_least) for the verdict lines printed at the end
VERDICTS: list[tuple[str, float, float, str, bool]] = []
TWO_SERVERS_TARGET = 1.9


def bench_wall(jobs: int, job_time: float, folder: Path, windows=(1, 2), repeat: int = 1) -> None:
    print(f"(1) plan wall time, fake in its own process, N={jobs} cells, "
          f"T={job_time:.3f} s/job (ideal N*T = {jobs * job_time:.3f} s)")
    fake = FakeProcess(job_time)
    try:
        asyncio.run(warm(fake.url))
        for window in windows:
            walls, spans, busies = [], [], []
            for rep in range(repeat):
                # fresh seeds per measurement: a prompt the fake has seen comes from its cache
                seeds = [1000 * window + 100 * rep + i for i in range(jobs // 2)]
                plan = make_plan([spec("A", "a red fox"), spec("B", "a red fox in snow")],
                                 seeds=seeds)
                wall, runner = asyncio.run(timed_run(plan, [fake.url],
                                                     folder / f"w{window}-{rep}",
                                                     window=window))
                walls.append(wall)
                spans.append(server_span(runner.history_run))
                busies.append(server_busy(runner.history_run))
            ideal = jobs * job_time
            wall, span = median(walls), median(spans)
            busy_share = median([b / w for b, w in zip(busies, walls)])
            VERDICTS.append((f"runner efficiency, T={job_time:g} s, window {window}, whole "
                             "run(), N*T / wall", ideal / wall, 0.98, "", True))
            VERDICTS.append((f"runner efficiency, T={job_time:g} s, window {window}, whole "
                             "run(), server busy / wall", busy_share, 0.98, "", True))
            print(f"  window {window}: whole run() {spread(walls)} s  wall/(N*T) "
                  f"{wall / ideal:.4f}  efficiency {ideal / wall:.4f} (target >= 0.98: "
                  f"{'met' if ideal / wall >= 0.98 else 'NOT met'})\n"
                  f"            server busy {median(busies):.3f} s = "
                  f"{median(busies) / jobs * 1000:.1f} ms/job (the fake's own share "
                  f"{(median(busies) - ideal) / jobs * 1000:.1f} ms/job);  busy / wall "
                  f"{busy_share:.4f} (target >= 0.98: "
                  f"{'met' if busy_share >= 0.98 else 'NOT met'})\n"
                  f"            server busy span {span:.3f} s  efficiency {ideal / span:.4f};"
                  f"  fixed cost outside it {spread([w - s for w, s in zip(walls, spans)])}"
                  f" s (connect, run folder, last download, contact sheet)")
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


def bench_pool(jobs: int, job_time: float, folder: Path, repeat: int = 1) -> None:
    print(f"(3) two fake servers vs one (each its own process), N={jobs}, T={job_time:.3f} s")
    fakes = [FakeProcess(job_time), FakeProcess(job_time)]
    try:
        for fake in fakes:
            asyncio.run(warm(fake.url))

        def plan(first_seed: int):
            return make_plan([spec("A", "a red fox"), spec("B", "a red fox in snow")],
                             seeds=list(range(first_seed, first_seed + jobs // 2)))

        ones, twos, ratios, splits = [], [], [], []
        for rep in range(repeat):   # back to back, so both see the same load
            one, _ = asyncio.run(timed_run(plan(100 + 1000 * rep), [fakes[0].url],
                                           folder / f"one-{rep}"))
            two, runner = asyncio.run(timed_run(plan(200 + 1000 * rep),
                                                [f.url for f in fakes], folder / f"two-{rep}"))
            shares: dict[str, int] = {}
            for result in runner.history_run.results.values():
                shares[result.server] = shares.get(result.server, 0) + 1
            ones.append(one)
            twos.append(two)
            ratios.append(one / two)
            splits.append(sorted(shares.values()))
        ratio = median(ratios)
        one, two = median(ones), median(twos)
        print(f"  one server {spread(ones)} s ({jobs / one:.2f} cells/s)   two servers "
              f"{spread(twos)} s ({jobs / two:.2f} cells/s)\n"
              f"  throughput x{spread(ratios, '.2f')}   splits {splits}")
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
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per figure (the median is reported; default 3)")
    parser.add_argument("--only", choices=("wall", "order", "pool"), action="append",
                        help="run only these parts (may be repeated)")
    args = parser.parse_args()
    parts = set(args.only or ("wall", "order", "pool"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "wall" in parts:
            bench_wall(args.jobs, args.job_time, folder / "wall", repeat=args.repeat)
            bench_wall(args.jobs, args.long_job_time, folder / "wall-long", windows=(2,),
                       repeat=args.repeat)
        if "order" in parts:
            bench_order(folder / "order")
        if "pool" in parts:
            bench_pool(args.jobs, args.job_time, folder / "pool", repeat=args.repeat)
    print()
    for label, value, target, unit, at_least in VERDICTS:
        verdict(label, value, target, unit, at_least=at_least,
                digits=1 if "order" in label else 3 if "efficiency" in label else 2)


if __name__ == "__main__":
    main()
