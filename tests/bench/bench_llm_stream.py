"""Bench: how long a streamed token takes to reach the screen (target < 20 ms, one frame).

Measured with the fake Ollama on 127.0.0.1 through the real `ollama` client and the
workbench's `OllamaClient.chat`:

1. server wrote the first token -> the core's ``on_token`` callback ran;
2. server wrote the first token -> a headless Textual widget fed by ``on_token`` rendered
   it (a stand-in for the TUI's proposal pane: ``on_token`` -> ``Static.update`` -> the
   compositor calls ``render``).

Also prints the per-token latency over a whole streamed answer.  Run::

    uv run python tests/bench/bench_llm_stream.py [--runs 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes.ollama_server import FakeOllama, Reply  # noqa: E402
from workbench.llm.ollama import OllamaClient  # noqa: E402

USER = [{"role": "user", "content": "<<<\na fox in snow\n>>>"}]
ANSWER = ("A red fox curled up in fresh snow at dawn, watercolor, soft pink light, "
          "shallow depth of field, photographed on a 50mm lens.")


def summary(name: str, values_ms: list[float]) -> str:
    values = sorted(values_ms)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return (f"{name:<46} median {statistics.median(values):7.2f} ms   p95 {p95:7.2f} ms   "
            f"max {values[-1]:7.2f} ms   (n={len(values)})")


async def core_latency(runs: int) -> tuple[list[float], list[float]]:
    first: list[float] = []
    per_token: list[float] = []
    async with FakeOllama() as fake, OllamaClient(fake.host) as llm:
        for _ in range(runs):
            fake.queue(Reply(ANSWER, chunk_delay=0.002))
            arrivals: list[float] = []
            sent_before = len(fake.first_token_sent)
            await llm.chat("gemma3:4b", USER,
                           on_token=lambda piece: arrivals.append(time.perf_counter()))
            first.append((arrivals[0] - fake.first_token_sent[sent_before]) * 1000)
            gaps = [(b - a) * 1000 for a, b in zip(arrivals, arrivals[1:])]
            per_token.extend(g - 2.0 for g in gaps)  # minus the fake's own pacing
    return first, per_token


async def screen_latency(runs: int) -> list[float]:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    shown: dict[str, float] = {}

    class Pane(Static):
        def render(self):
            content = super().render()
            if self.text and "first" not in shown:
                shown["first"] = time.perf_counter()
            return content

        @property
        def text(self) -> str:
            return str(self.content)

    class Bench(App):
        def compose(self) -> ComposeResult:
            yield Pane("", id="pane")

    results: list[float] = []
    app = Bench()
    async with app.run_test(size=(100, 30)) as pilot, FakeOllama() as fake, \
            OllamaClient(fake.host) as llm:
        pane = app.query_one(Pane)
        for _ in range(runs):
            shown.clear()
            pane.update("")
            await pilot.pause()
            buffer: list[str] = []

            def on_token(piece: str) -> None:
                buffer.append(piece)
                pane.update("".join(buffer))

            fake.queue(Reply(ANSWER, chunk_delay=0.002))
            sent_before = len(fake.first_token_sent)
            await llm.chat("gemma3:4b", USER, on_token=on_token)
            for _ in range(200):
                if "first" in shown:
                    break
                await asyncio.sleep(0.001)
            results.append((shown["first"] - fake.first_token_sent[sent_before]) * 1000)
    return results


async def main(runs: int) -> None:
    from _report import print_load, verdict

    print_load()
    first, per_token = await core_latency(runs)
    print(summary("first token: server write -> on_token", first))
    print(summary("each token: client overhead beyond pacing", per_token))
    screen = await screen_latency(runs)
    print(summary("first token: server write -> widget render", screen))
    verdict("streamed token, server write to screen (median)", statistics.median(screen),
            20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    asyncio.run(main(parser.parse_args().runs))
