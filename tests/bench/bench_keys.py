"""Time to frame of the keys that open something (target: <= 100 ms each): the command
palette (Ctrl+P), the F9 menu, F1 help, and Enter on a compare cell (the single view).

The app runs headless in this process at 120x40 on the TUI tests' sample library (and a
recorded two-by-two comparison made here); each key is pressed ``--runs`` times, closed
again in between.  A key's figure is the time from the key press to the first frame the
app writes (`App._display`) with what the key opened on screen, so a screen that opens at
once but builds its content later is timed to the frame that shows it.  The median and
the slowest press are printed; the median is the verdict, and the CPU time this process
spent meanwhile is printed beside it (on a busy machine the clock mostly measures the
wait for a core).  The first press of a key (cold:
its modules imported, its screen's CSS applied the first time) is printed apart.

Run: ``uv run python tests/bench/bench_keys.py [--runs 7]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from _report import print_load, verdict  # noqa: E402

SAMPLE = REPO / "tests" / "tui" / "sample"
TARGET_MS = 100.0


class Frames:
    """The first frame the app writes once what a key opens is there."""

    def __init__(self, app) -> None:
        self.ready, self.frame, self.cpu = None, None, 0.0
        original = app._display

        def display(screen, renderable) -> None:
            original(screen, renderable)
            if renderable is not None and self.frame is None and self.ready is not None \
                    and self.ready():
                self.frame, self.cpu = time.perf_counter(), time.process_time()

        app._display = display

    async def time_to(self, pilot, key: str, ready) -> tuple[float, float]:
        """Seconds from pressing ``key`` to the first frame written with ``ready()``: on
        the clock, and of this process's CPU (steadier when the machine is busy)."""
        self.ready, self.frame = ready, None
        start, cpu = time.perf_counter(), time.process_time()
        await pilot.press(key)
        while self.frame is None:
            await pilot.pause(0.001)
        self.ready = None
        return self.frame - start, self.cpu - cpu


def _png(colour) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG")
    return out.getvalue()


def _recorded_run(root: Path):
    from workbench.runs.history import create_run, load_run, record_cell
    from workbench.runs.plan import make_plan
    from workbench.spec import PromptSpec

    plan = make_plan([PromptSpec(name="A", subject="a red fox"),
                      PromptSpec(name="B", subject="an arctic fox")], seeds=[1, 2], name="b")
    run = create_run(plan, root=root / "runs")
    for cell in plan.cells():
        record_cell(run, cell, [_png((200, 40, 40) if cell.variant == 0 else (40, 160, 60))],
                    {"1": {}}, server="http://127.0.0.1:8188", comfyui_version="0.3.64")
    return load_run(run.folder)


async def measure(runs: int, folder: Path) -> dict[str, list[tuple[float, float]]]:
    from textual.command import CommandPalette

    from workbench.config import load_config
    from workbench.tui.app import WorkbenchApp
    from workbench.tui.screens.assist import ActionMenu
    from workbench.tui.screens.compare import CompareScreen
    from workbench.tui.screens.single_view import SingleView
    from workbench.tui.widgets.help import HelpPanel

    library = folder / "libs"
    shutil.copytree(SAMPLE, library)
    config = load_config(env={}, overrides={"ollama_host": "127.0.0.1:9"})
    app = WorkbenchApp(config, library)
    times: dict[str, list[tuple[float, float]]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        await pilot.pause(0.5)  # start-up's after-first-frame work (tokenizers, lint)
        editor = app.editor_screen

        async def key(name: str, press: str, ready, close: str) -> None:
            for _ in range(runs + 1):
                seconds = await frames.time_to(pilot, press, ready)
                times.setdefault(name, []).append(tuple(s * 1000 for s in seconds))
                await pilot.press(close)
                while app.screen is not editor or app.screen.query(HelpPanel):
                    await pilot.pause(0.001)
                await pilot.pause(0.05)

        await key("palette (Ctrl+P)", "ctrl+p",
                  lambda: isinstance(app.screen, CommandPalette) and app.screen.is_mounted,
                  "escape")
        await key("F9 menu", "f9",
                  lambda: isinstance(app.screen, ActionMenu) and app.screen.is_mounted,
                  "escape")
        await key("F1 help", "f1", lambda: bool(app.screen.query(HelpPanel)), "f1")
        run = _recorded_run(folder)
        app.push_screen(CompareScreen(run.plan, run=run))
        while not (isinstance(app.screen, CompareScreen) and app.screen.is_mounted):
            await pilot.pause(0.01)
        compare = app.screen
        while any(not w.is_finished for w in app.workers):
            await pilot.pause(0.01)
        for _ in range(runs + 1):
            seconds = await frames.time_to(
                pilot, "enter", lambda: isinstance(app.screen, SingleView)
                and app.screen.is_mounted)
            times.setdefault("Enter on a compare cell", []).append(
                tuple(s * 1000 for s in seconds))
            await pilot.press("escape")
            while app.screen is not compare:
                await pilot.pause(0.001)
            await pilot.pause(0.05)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print_load()
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")  # no user settings
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        times = asyncio.run(measure(args.runs, Path(tmp)))
    ok = True
    for name, values in times.items():
        (cold, _), warm = values[0], [wall for wall, _ in values[1:]]
        cpu = statistics.median(c for _, c in values[1:])
        ok &= verdict(f"{name}", statistics.median(warm), TARGET_MS,
                      note=f"CPU {cpu:.0f} ms, slowest {max(warm):.0f} ms, first press "
                      f"{cold:.0f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
