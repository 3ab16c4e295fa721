"""Cold start to first frame: the workbench against a bare Textual app started the same way.

Each run is a fresh interpreter (so imports are paid) that starts the app headless; when
the app first writes a frame to the terminal (`App._display`) it reports the time since
the parent launched it and exits on the spot (interpreter teardown is not start-up).
Prints the medians and their ratio
(target: workbench / bare <= 1.5).  Run: ``uv run python tests/bench/bench_startup.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "tui" / "sample"

REPORT = """
import os, sys, time
def first_frame():
    sys.stdout.write(f"{time.time() - float(os.environ['BENCH_START']):.6f}\\n")
    sys.stdout.flush()
    os._exit(0)
"""

BARE = REPORT + """
from textual.app import App
from textual.widgets import Static, Footer
class Bare(App):
    def compose(self):
        yield Static("hello")
        yield Footer()
    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if renderable is not None:
            first_frame()
Bare().run(headless=True, size=(120, 40))
"""

WORKBENCH = REPORT + f"""
from workbench.config import load_config
from workbench.tui.app import WorkbenchApp
class Timed(WorkbenchApp):
    CSS_PATH = WorkbenchApp.CSS_PATH and str(__import__("pathlib").Path(
        __import__("workbench.tui.app").tui.app.__file__).with_name("app.tcss"))
    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if renderable is not None:
            first_frame()
Timed(load_config(env={{}}), {str(SAMPLE)!r}).run(headless=True, size=(120, 40))
"""


def time_runs(code: str, runs: int, env: dict[str, str]) -> list[float]:
    # A real file, not `-c`: Textual resolves CSS_PATH relative to the app's source file.
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(code)
    times = []
    try:
        for _ in range(runs):
            env["BENCH_START"] = repr(time.time())
            out = subprocess.run([sys.executable, script.name], check=True, env=env,
                                 cwd=REPO, capture_output=True, text=True).stdout
            times.append(float(out.strip().splitlines()[-1]))
    finally:
        os.unlink(script.name)
    return times


def main(runs: int = 7) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_CONFIG_HOME=f"{home}/c", XDG_DATA_HOME=f"{home}/d",
                   XDG_STATE_HOME=f"{home}/s", XDG_CACHE_HOME=f"{home}/x")
        time_runs(WORKBENCH, 1, env)  # warm the OS file cache and .pyc files
        time_runs(BARE, 1, env)
        bare = statistics.median(time_runs(BARE, runs, env))
        ours = statistics.median(time_runs(WORKBENCH, runs, env))
    print(f"bare Textual app, cold start to first frame: {bare * 1000:.0f} ms (median of {runs})")
    print(f"workbench, cold start to first frame:        {ours * 1000:.0f} ms (median of {runs})")
    print(f"ratio: {ours / bare:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
