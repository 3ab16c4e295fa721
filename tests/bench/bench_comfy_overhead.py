"""Client overhead per job against the fake ComfyUI, with a fixed job time T.

Runs N = 16 jobs whose server-side time is fixed (sampler steps x step delay), through the
real client, journal and result saving (download, image checks, run.json), and prints
wall / (N*T) plus the efficiency N*T / wall (target >= 0.98).  Two ways of feeding the
server: one job at a time (submit, wait, save, next) and a window of 2 in flight (the
pattern the A/B runner will use: the next job is already queued when one finishes).

    uv run python tests/bench/bench_comfy_overhead.py [--jobs 16] [--job-time 0.25]
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

from tests.comfy.conftest import small_t2i  # noqa: E402
from tests.fakes.comfy_server import FakeComfy  # noqa: E402
from workbench.comfy.client import ComfyClient  # noqa: E402
from workbench.config import Config  # noqa: E402
from workbench.runs import history  # noqa: E402
from workbench.runs.journal import Journal  # noqa: E402
from workbench.runs.plan import make_plan  # noqa: E402
from workbench.runs.single import RunService  # noqa: E402
from workbench.spec import PromptSpec  # noqa: E402


def job_runner(folder: Path, window: int, jobs: int):
    """``one(client, index)``: a job through the run service into a plan's cell."""
    service = RunService(Config(), journal=Journal(folder / f"journal-{window}.jsonl"))
    plan = make_plan([PromptSpec("bench", subject="a fox")], list(range(jobs)))
    recorder = service.recorder(history.create_run(plan, root=folder / f"w{window}"))
    cells = plan.cells()

    async def one(client, index: int) -> None:
        outcome = await service.execute(client, small_t2i(seed=index + 100 * window),
                                        cells[index], recorder, seed=index)
        assert outcome.ok, outcome.record

    return one

STEPS = 10
#: The job time is the sampler's alone: no silent loader / encoder / VAE time on top.
NO_NODE_DELAYS = dict(load_delay=0.0, encode_delay=0.0, vae_delay=0.0)
SILENT_NODES_OFF = ["--load-delay", "0", "--encode-delay", "0", "--vae-delay", "0"]


async def feed(url: str, jobs: int, window: int, folder: Path) -> float:
    """Run ``jobs`` jobs through the client with ``window`` in flight; the wall time."""
    run_one = job_runner(folder, window, jobs)
    gate = asyncio.Semaphore(window)
    async with ComfyClient(url) as client:
        await (await client.submit(small_t2i(seed=10_000 + window))).wait()  # warm cache

        async def one(index: int) -> None:
            async with gate:
                await run_one(client, index)

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(jobs)))
        return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_separate_process(jobs: int, job_time: float, window: int, folder: Path) -> float:
    """The fake as its own process, like a real (remote) server."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.comfy_server", "--port", str(port),
         "--step-delay", str(job_time / STEPS), "--steps", str(STEPS),
         *SILENT_NODES_OFF],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        server.stdout.readline()  # "listening on ..."
        return asyncio.run(feed(f"http://127.0.0.1:{port}", jobs, window, folder))
    finally:
        server.terminate()
        server.wait(10)


async def bench(jobs: int, job_time: float, window: int, folder: Path) -> tuple[float, float]:
    fake = FakeComfy(step_delay=job_time / STEPS, default_steps=STEPS, **NO_NODE_DELAYS)
    await fake.start()
    run_one = job_runner(folder / "same-loop", window, jobs)
    gate = asyncio.Semaphore(window)
    try:
        async with ComfyClient(fake.url) as client:
            await (await client.submit(small_t2i(seed=10_000 + window))).wait()  # warm cache

            async def one(index: int) -> None:
                async with gate:
                    await run_one(client, index)

            fake.busy_seconds = 0.0
            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(jobs)))
            return time.perf_counter() - start, fake.busy_seconds
    finally:
        await fake.stop()


def main() -> None:
    from _report import print_load, verdict

    print_load()
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--job-time", type=float, default=0.25)
    args = parser.parse_args()
    ideal = args.jobs * args.job_time
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        print("fake in the same event loop as the client:")
        for window in (1, 2):
            wall, busy = asyncio.run(bench(args.jobs, args.job_time, window, Path(tmp)))
            per_job = (wall - ideal) / args.jobs * 1000
            print(f"window {window}: N={args.jobs} T={args.job_time:.3f}s  wall={wall:.3f}s  "
                  f"N*T={ideal:.3f}s  wall/(N*T)={wall / ideal:.4f}  "
                  f"efficiency={ideal / wall:.4f}  overhead/job={per_job:.1f} ms  "
                  f"(fake busy {busy:.3f}s, client idle gap/job "
                  f"{(wall - busy) / args.jobs * 1000:.1f} ms)")
            found.append((f"client efficiency, fake in the same loop, window {window}",
                          ideal / wall))
        print("fake in a separate process (like a real server):")
        for window in (1, 2):
            wall = bench_separate_process(args.jobs, args.job_time, window, Path(tmp))
            print(f"window {window}: wall={wall:.3f}s  wall/(N*T)={wall / ideal:.4f}  "
                  f"efficiency={ideal / wall:.4f}  overhead/job="
                  f"{(wall - ideal) / args.jobs * 1000:.1f} ms")
            found.append((f"client efficiency, fake in its own process, window {window}",
                          ideal / wall))
    print()
    for label, efficiency in found:
        verdict(label, efficiency, 0.98, "", at_least=True, digits=3)


if __name__ == "__main__":
    main()
