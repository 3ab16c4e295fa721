"""``ab --judge`` on the fakes: does judging slow the image jobs, and what does a picture
cost to judge?  Run: ``uv run python tests/bench/bench_ab_judge.py``.

The fake ComfyUI and the fake Ollama each run in their own process (as real servers
would), the plan runner and the judge in this one.  A plan of N cells (512x512 pictures,
a fixed job time T on the fake) is run three ways, each with fresh seeds (the fake caches
repeated prompts): without judging; judging each cell as it finishes (Ollama on its own
GPU: `LiveJudge(interleave=True)`); and judging after the image jobs (a shared GPU).
Printed: the image part (``PlanRunner.run()``) with judging against without (target:
no slower, ratio <= 1.05), the whole time with judging, and the judge's wall time per
picture on the fake (pixel checks, JPEG for the model, one vision request, scoring).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.bench_runner import STEPS, FakeProcess, free_port, quick_client  # noqa: E402
from workbench.config import ComfyUISettings, Config, OllamaSettings  # noqa: E402
from workbench.judge.cache import VerdictCache  # noqa: E402
from workbench.judge.live import LiveJudge  # noqa: E402
from workbench.runs.journal import Journal  # noqa: E402
from workbench.runs.plan import make_plan  # noqa: E402
from workbench.runs.runner import PlanRunner, RunnerOptions  # noqa: E402
from workbench.runs.single import RunService  # noqa: E402
from workbench.spec import Params, PromptSpec  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CELLS = 8
JOB_TIME = 0.4
RATIO_TARGET = 1.05


class FakeOllamaProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.ollama_server", "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.proc.stdout.readline()   # "fake Ollama listening on ..."

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def plan(first_seed: int):
    def spec(name: str, subject: str) -> PromptSpec:
        return PromptSpec(name, subject=subject, style="film photo", text="OPEN",
                          params=Params(width=512, height=512, steps=STEPS))

    return make_plan([spec("A", "a bakery shop front"), spec("B", "a bakery at night")],
                     seeds=list(range(first_seed, first_seed + CELLS // 2)))


async def one_run(comfy_url: str, ollama_host: str, folder: Path, first_seed: int,
                  mode: str) -> tuple[float, float, LiveJudge | None]:
    """(image part s, whole s, the judge) for ``mode``: none | interleaved | after."""
    config = Config(comfyui=ComfyUISettings(urls=[comfy_url]),
                    ollama=OllamaSettings(host=ollama_host, unload_before_jobs=False))
    live = None if mode == "none" else LiveJudge(
        config, interleave=mode == "interleaved", cache=VerdictCache(folder / "cache"))
    runner = PlanRunner(plan(first_seed), config, RunnerOptions(
        root=folder / "runs", client_factory=quick_client),
        service=RunService(config, journal=Journal(folder / "journal.jsonl")))
    if live is not None:
        runner.on_update = lambda update: live.update(runner.history_run, update)
    start = time.perf_counter()
    run = await runner.run()
    images = time.perf_counter() - start
    if live is not None:
        await live.finish(run)
    return images, time.perf_counter() - start, live


def main() -> int:
    from _report import print_load, verdict

    print_load()
    print(f"plan: {CELLS} cells of 512x512, T={JOB_TIME} s per job on the fake ComfyUI "
          f"(ideal image part {CELLS * JOB_TIME:.1f} s)")
    comfy, ollama = FakeProcess(JOB_TIME), FakeOllamaProcess()
    results: dict[str, list[tuple[float, float, LiveJudge | None]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(one_run(comfy.url, ollama.host, Path(tmp) / "warm", 1, "after"))
            seed = 100
            for repeat in range(2):
                for mode in ("none", "interleaved", "after"):
                    seed += CELLS
                    folder = Path(tmp) / f"{mode}-{repeat}"
                    results.setdefault(mode, []).append(asyncio.run(
                        one_run(comfy.url, ollama.host, folder, seed, mode)))
    finally:
        comfy.stop()
        ollama.stop()
    best = {mode: min(runs, key=lambda r: r[0]) for mode, runs in results.items()}
    base = best["none"][0]
    for mode in ("none", "interleaved", "after"):
        images, whole, live = best[mode]
        judged = (f"; judging {live.seconds:.2f} s for {live.pictures} pictures = "
                  f"{live.seconds / max(1, live.pictures) * 1000:.0f} ms each"
                  if live is not None else "")
        print(f"  {mode:12s} image part {images:.3f} s, whole {whole:.3f} s{judged}")
    ok = verdict("image part with judging as cells finish / without", best["interleaved"][0]
                 / base, RATIO_TARGET, "x", digits=3)
    ok &= verdict("image part with judging after the jobs / without", best["after"][0] / base,
                  RATIO_TARGET, "x", digits=3)
    live = best["interleaved"][2]
    print(f"judge wall time per picture on the fake (interleaved): "
          f"{live.seconds / max(1, live.pictures) * 1000:.0f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
