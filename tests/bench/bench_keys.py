"""Time to frame of the keys that open something (target: <= 100 ms each, the first press
as well as later ones): the command palette (Ctrl+P), the F9 menu, F1 help, and Enter on a
compare cell (the single view).

Each round is a fresh interpreter that starts the app headless at 120x40 on the TUI tests'
sample library (and a recorded two-by-two comparison made here), waits until start-up's
after-first-frame work is done (as a user who reads the screen before pressing a key),
then presses each key ``--runs`` + 1 times, closing what it opened in between.  Python's
bytecode is cached in a private folder, filled by a first round that is not counted.  Nothing
the keys open is imported by the bench beforehand, so a round's first press of a key pays
what a user's first press pays (its modules, its screen's CSS, cold caches).

A key's figure is the time from the key press to the first frame the app writes
(`App._display`) with what the key opened on screen and filled in (the help's text, the
menu's actions), so a screen that opens at once but builds its content later is timed to
the frame that shows it.  Reported per key: the first press (median over the rounds) and
the later presses (median, and the slowest), each against the target; the CPU time this
process spent meanwhile is printed beside them (on a busy machine the clock mostly
measures the wait for a core).

Run: ``uv run python tests/bench/bench_keys.py [--rounds 3] [--runs 7]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import subprocess
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
            # the clock is read before ``ready`` runs: its cost is not the app's
            now, cpu = time.perf_counter(), time.process_time()
            if renderable is not None and self.frame is None and self.ready is not None \
                    and self.ready():
                self.frame, self.cpu = now, cpu

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


def _is(screen, name: str) -> bool:
    """``screen`` is a ``name`` (by class name: the bench imports none of what the keys
    open, so a first press pays for its imports) and is mounted."""
    return type(screen).__name__ == name and screen.is_mounted


async def measure(runs: int, folder: Path) -> dict[str, list[tuple[float, float]]]:
    from workbench.config import load_config
    from workbench.tui.app import WorkbenchApp

    library = folder / "libs"
    shutil.copytree(SAMPLE, library)
    config = load_config(env={}, overrides={"ollama_host": "127.0.0.1:9"})
    app = WorkbenchApp(config, library)
    times: dict[str, list[tuple[float, float]]] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        frames = Frames(app)
        # start-up's after-first-frame work (tokenizers, lint, preloading): done
        await pilot.pause(0.5)
        while any(not w.is_finished for w in app.workers):
            await pilot.pause(0.01)
        await pilot.pause(0.1)
        editor = app.editor_screen

        def help_panel():
            found = app.screen.query("HelpPanel")
            return found.first() if found else None

        async def key(name: str, press: str, ready, close: str) -> None:
            for _ in range(runs + 1):
                seconds = await frames.time_to(pilot, press, ready)
                times.setdefault(name, []).append(tuple(s * 1000 for s in seconds))
                await pilot.press(close)
                while app.screen is not editor or help_panel() is not None:
                    await pilot.pause(0.001)
                await pilot.pause(0.05)

        def menu_ready() -> bool:
            return _is(app.screen, "ActionMenu") and \
                app.screen.query_one("#actions").option_count > 0

        def help_ready() -> bool:
            panel = help_panel()
            return panel is not None and panel.is_mounted and bool(panel.text.strip())

        await key("palette (Ctrl+P)", "ctrl+p", lambda: _is(app.screen, "CommandPalette"),
                  "escape")
        await key("F9 menu", "f9", menu_ready, "escape")
        await key("F1 help", "f1", help_ready, "f1")
        run = _recorded_run(folder)
        from workbench.tui.screens.compare import CompareScreen

        app.push_screen(CompareScreen(run.plan, run=run))
        while not (isinstance(app.screen, CompareScreen) and app.screen.is_mounted):
            await pilot.pause(0.01)
        compare = app.screen
        while any(not w.is_finished for w in app.workers):
            await pilot.pause(0.01)
        for _ in range(runs + 1):
            seconds = await frames.time_to(pilot, "enter",
                                           lambda: _is(app.screen, "SingleView"))
            times.setdefault("Enter on a compare cell", []).append(
                tuple(s * 1000 for s in seconds))
            await pilot.press("escape")
            while app.screen is not compare:
                await pilot.pause(0.001)
            await pilot.pause(0.05)
    return times


def one_round(runs: int) -> dict[str, list[tuple[float, float]]]:
    """A round in this interpreter (a fresh one: see ``main``)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")  # no user settings
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")
        return asyncio.run(measure(runs, Path(tmp)))


def _round(runs: int, env: dict[str, str]) -> dict[str, list[list[float]]]:
    done = subprocess.run([sys.executable, __file__, "--one-round", "--runs", str(runs)],
                          capture_output=True, text=True, cwd=REPO, env=env)
    if done.returncode != 0:
        raise SystemExit(f"a round failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="later presses of each key")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh interpreters (each gives one first press of each key)")
    parser.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_round:
        print(json.dumps(one_round(args.runs)))
        return 0
    print_load()
    first: dict[str, list[tuple[float, float]]] = {}
    later: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as pyc:
        # Bytecode cached in a private folder, as after a user's first start (a
        # PYTHONDONTWRITEBYTECODE in the environment would compile every import from
        # source); a first round, not counted, fills it.
        env = dict(os.environ, PYTHONPYCACHEPREFIX=pyc)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for counted in [False] + [True] * args.rounds:
            times = _round(args.runs if counted else 0, env)
            for name, values in times.items() if counted else ():
                first.setdefault(name, []).append(tuple(values[0]))
                later.setdefault(name, []).extend(tuple(v) for v in values[1:])
    ok = True
    for name in first:
        walls = [wall for wall, _ in first[name]]
        ok &= verdict(f"{name}, first press", statistics.median(walls), TARGET_MS,
                      note=f"CPU {statistics.median(c for _, c in first[name]):.0f} ms, "
                      f"slowest {max(walls):.0f} ms, {len(walls)} fresh starts")
        walls = [wall for wall, _ in later[name]]
        ok &= verdict(f"{name}, later presses", statistics.median(walls), TARGET_MS,
                      note=f"CPU {statistics.median(c for _, c in later[name]):.0f} ms, "
                      f"slowest {max(walls):.0f} ms")
    print_load()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
