"""How every bench reports: the figure next to its target and a one-line verdict.

    preview warm: 11.8 ms (target <= 15 ms) OK

The benches are scripts (``uv run python tests/bench/bench_x.py``), so this sits beside
them and is imported as ``_report``.  The load average is printed first: the machine's
other work moves the absolute figures, and a reader should see how busy it was.
"""

from __future__ import annotations

import os


def load_line() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - not every platform has it
        return "load average: unknown"
    return (f"load average: {one:.2f} {five:.2f} {fifteen:.2f} "
            f"({os.cpu_count() or '?'} cores)")


def print_load() -> None:
    print(load_line(), flush=True)


def _figure(value: float, unit: str, digits: int | None) -> str:
    text = f"{value:g}" if digits is None else f"{value:.{digits}f}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("x", "%") else f"{text} {unit}"


def verdict(label: str, value: float, target: float, unit: str = "ms", *,
            at_least: bool = False, digits: int = 1, note: str = "") -> bool:
    """Print ``label: value (target <= target) OK|NOT MET`` (``>=`` when ``at_least``);
    returns whether the target is met."""
    met = value >= target if at_least else value <= target
    sign = ">=" if at_least else "<="
    line = (f"{label}: {_figure(value, unit, digits)} (target {sign} "
            f"{_figure(target, unit, None)}) {'OK' if met else 'NOT MET'}")
    print(line + (f"  [{note}]" if note else ""), flush=True)
    return met
