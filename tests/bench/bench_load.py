"""Library loading: a 10,000-prompt library read for display (``read_library``, what
``list``, ``lint``, ``run``, ``ab`` and the TUI's browser use; target < 1 s), and for
editing (``load_library``, which also keeps the comment-preserving tomlkit document, for
reference), plus a whole folder through ``workbench list``.

Run: ``uv run python tests/bench/bench_load.py``.  Prints figures; asserts nothing.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).parent))

from bench_lint import generated_library  # noqa: E402

from workbench import library as library_module  # noqa: E402
from workbench.cli import main  # noqa: E402

TARGET_S = 1.0
PROMPTS = 10_000


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main_bench() -> None:
    from _report import print_load, verdict

    print_load()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.toml"
        path.write_text(generated_library(PROMPTS), encoding="utf-8")
        size_mb = path.stat().st_size / 2**20
        print(f"{PROMPTS} prompts, {size_mb:.1f} MB")
        read = getattr(library_module, "read_library", None)
        if read is not None:
            count = len(read(path).prompts)
            assert count == PROMPTS, count
            t = timed(lambda: read(path), 5)
            results["read_library (display, tomli), 10,000 prompts"] = t
            print(f"read_library (display, tomli): {t:.3f} s")
        else:
            print("read_library: not available (before the fast loader)")
        t = timed(lambda: library_module.load_library(path), 1)
        print(f"load_library (editing, tomlkit): {t:.3f} s   (reference; only the file "
              "being saved pays it)")
        out = io.StringIO()

        def listing() -> None:
            out.seek(0)
            out.truncate()
            with contextlib.redirect_stdout(out):
                main(["list", str(path)])

        t = timed(listing, 3)
        results["workbench list (in-process), 10,000 prompts"] = t
        print(f"workbench list (in-process): {t:.3f} s")
    print()
    for label, seconds in results.items():
        verdict(label, seconds, TARGET_S, "s", digits=3)


if __name__ == "__main__":
    main_bench()
