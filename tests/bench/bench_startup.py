"""Cold start to first frame: the workbench against a bare Textual app started the same way
(target: workbench / bare <= 1.2).

Each run is a fresh interpreter (so imports are paid) that starts the app headless at
120x40; when the app first writes a frame to the terminal (`App._display`) it reports the
time since the parent launched it and exits on the spot (interpreter teardown is not
start-up; the CPU time the process used until then is printed too, a steadier figure when
other work shares the machine).  Three apps, run interleaved so that a change in the
machine's load hits all alike:

- ``bare``: a Textual app with a Static and a Footer;
- ``workbench``: `WorkbenchApp` on the bundled sample libraries (the target's figure);
- ``workbench command``: the ``workbench PATH`` command line (argument parsing, settings,
  the image protocol check, then the same app), for reference.

Python's bytecode cache is kept in a private folder, as after a user's first start
(``PYTHONDONTWRITEBYTECODE`` in the environment is ignored); ``--no-pyc`` compiles every
module from source on every start instead (a fresh checkout).

Run: ``uv run python tests/bench/bench_startup.py [--runs 9] [--no-pyc]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "tui" / "sample"
TARGET = 1.2

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

# The command line as a user types it; only App.run is made headless, and _display timed.
COMMAND = REPORT + f"""
from textual.app import App
_run, _display = App.run, App._display
def run(self, *args, **kwargs):
    return _run(self, headless=True, size=(120, 40))
def display(self, screen, renderable):
    _display(self, screen, renderable)
    if renderable is not None:
        first_frame()
App.run, App._display = run, display
from workbench.__main__ import main
main([{str(SAMPLE)!r}])
"""

APPS = {"bare": BARE, "workbench": WORKBENCH, "workbench command": COMMAND}


def start_once(script: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds to the first frame, CPU seconds the process used until then)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env["BENCH_START"] = repr(time.time())
    done = subprocess.run([sys.executable, script], env=env, cwd=REPO,
                          capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return float(done.stdout.strip().splitlines()[-1]), cpu


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _report import print_load, verdict

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-pyc", action="store_true",
                        help="compile every module from source on every start")
    args = parser.parse_args()
    print_load()
    times: dict[str, list[float]] = {name: [] for name in APPS}
    cpu: dict[str, list[float]] = {name: [] for name in APPS}
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_CONFIG_HOME=f"{home}/c", XDG_DATA_HOME=f"{home}/d",
                   XDG_STATE_HOME=f"{home}/s", XDG_CACHE_HOME=f"{home}/x")
        # Bytecode is read and written only under a private folder: warmed by the first
        # runs, or (--no-pyc) left empty so every module is compiled on every start,
        # whatever __pycache__ folders the checkout has.
        env["PYTHONPYCACHEPREFIX"] = f"{home}/pyc"
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if args.no_pyc:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        # Real files, not `-c`: Textual resolves CSS_PATH relative to the app's source file.
        scripts = {}
        for name, code in APPS.items():
            scripts[name] = Path(home) / f"start_{name.replace(' ', '_')}.py"
            scripts[name].write_text(code)
        for name in APPS:  # warm the OS file cache (and the bytecode cache)
            start_once(str(scripts[name]), env)
            start_once(str(scripts[name]), env)
        for _ in range(args.runs):
            for name in APPS:
                wall, used = start_once(str(scripts[name]), env)
                times[name].append(wall)
                cpu[name].append(used)
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    cpu_ms = {name: statistics.median(values) * 1000 for name, values in cpu.items()}
    mode = "compiled from source" if args.no_pyc else "bytecode cached"
    print(f"cold start to first frame, 120x40, median of {args.runs} ({mode}):")
    for name, values in times.items():
        print(f"  {name:<18} {median[name]:6.0f} ms   (best {min(values) * 1000:.0f}, "
              f"worst {max(values) * 1000:.0f}; CPU {cpu_ms[name]:.0f} ms)")
    print(f"  workbench command / bare: {median['workbench command'] / median['bare']:.2f}x; "
          f"in CPU time (steadier on a busy machine): workbench / bare "
          f"{cpu_ms['workbench'] / cpu_ms['bare']:.2f}x (reference)")
    verdict("start-up, workbench / bare Textual app", median["workbench"] / median["bare"],
            TARGET, "x", digits=2)


if __name__ == "__main__":
    main()
