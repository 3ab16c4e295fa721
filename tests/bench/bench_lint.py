"""Lint speed: median time per prompt (target < 1 ms, so it can run on every keystroke), the
cost of exact T5/CLIP-L token counts (once per composed text, cached), and a 10,000-prompt
library end to end through ``workbench lint`` (target: load + lint < 1 s).

The library is realistic and every prompt's text is its own (see `generated_library`), so no
per-text cache gets free hits.  End to end means the real command in a fresh process, as a
user runs it (the ``workbench`` console script: ``workbench lint FILE``): start-up, reading
the file, linting, printing; with its bytecode compiled, as an installed package has it
(kept in a temporary ``PYTHONPYCACHEPREFIX``, filled by a first run that is not counted).
Three cases: cold (an empty lint cache: every prompt linted), warm (the same file again:
every prompt from the cache) and one prompt changed.  Each prints its wall time next to the
target, its CPU time (what a busy machine moves least) and the load average.  Figures are
medians of interleaved runs.  ``--compare DIR`` runs another checkout's ``workbench lint``
(e.g. an export of main) in turn with this one on the same file, for a before/after under
the same conditions.

``--instructions`` adds a figure that a busy machine does not move: the instructions a
2,000-prompt lint executes in one process (valgrind's callgrind; ``--jobs 1``, since how
many processes lint depends on the load, and a forked process's count starts from its
parent's; bytecode compiled beforehand, as for the timed runs), for this checkout and
``--compare``'s.

Run: ``uv run python tests/bench/bench_lint.py [--runs N] [--compare DIR] [--instructions]``.
Prints figures and verdicts; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from workbench import tokens  # noqa: E402
from workbench.compose import compose  # noqa: E402
from workbench.library import load_library, read_library  # noqa: E402
from workbench.lint import lint  # noqa: E402

END_TO_END_S = 1.0
PER_PROMPT_MS = 1.0

SUBJECTS = ["an old fisherman with a white beard", "a red fox curled up in the snow",
            "a cellist in a black velvet dress", "an amber glass perfume bottle",
            "a lighthouse on a rocky cliff", "a tea master in a grey kimono",
            "a herd of cows with brass bells", "three koi under lily pads"]
ACTIONS = ["mending a green net on a wooden pier", "asleep at the edge of a pine forest",
           "playing alone on an empty stage", "standing on a marble counter",
           "sweeping its beam across a stormy sea", "pouring water into a black bowl"]
STYLES = ["", "", "watercolour with soft washes", "in the style of Hokusai",
          "cinematic film still", "flat vector illustration"]
CONTEXTS = ["soft golden morning light", "a single warm spotlight from above",
            "grey overcast light and wet cobblestones", "late afternoon sun, long shadows",
            "no blur, white background", "masterpiece, best quality, 8k"]
BACKGROUNDS = ["", "", "", "a harbour town at dusk", "snow-covered pines"]
CAMERAS = ["documentary photograph, 35mm lens", "macro photograph, shallow depth of field",
           "(cinematic:1.3) wide angle", "close-up portrait, 85mm lens"]

#: Details that make every prompt's text its own: 30 x 20 x 24 = 14,400 distinct phrases, so
#: no per-text cache gets a free hit (a real library repeats styles, not whole prompts).
ADJECTIVES = ["weathered", "tiny", "gleaming", "faded", "ornate", "chipped", "mossy", "rusty",
              "polished", "cracked", "striped", "woven", "frosted", "dented", "painted",
              "carved", "folded", "battered", "glazed", "knitted", "hammered", "tattered",
              "lacquered", "speckled", "braided", "scuffed", "embroidered", "tarnished",
              "quilted", "etched"]
COLOURS = ["red", "teal", "ochre", "ivory", "cobalt", "olive", "crimson", "amber", "slate",
           "coral", "mustard", "plum", "sage", "rust", "navy", "lilac", "copper", "charcoal",
           "saffron", "turquoise"]
THINGS = ["teapot", "bicycle", "umbrella", "lantern", "suitcase", "kite", "violin", "compass",
          "typewriter", "birdcage", "rowboat", "scarf", "clock", "satchel", "telescope",
          "kettle", "mailbox", "hat", "flag", "crate", "bench", "vase", "anchor", "globe"]
PLACES = ["on the windowsill", "beside the door", "in the corner", "on a shelf",
          "at the water's edge", "near the stairs", "under a tree", "on the table"]
CORPUS = REPO / "tests" / "lint" / "corpus"


def detail(i: int) -> str:
    """A phrase no other index below 14,400 gets."""
    a, c = len(ADJECTIVES), len(COLOURS)
    return f"{ADJECTIVES[i % a]} {COLOURS[(i // a) % c]} {THINGS[(i // (a * c)) % len(THINGS)]}"


def corpus_prompts() -> tuple[list[dict], list[dict]]:
    """The lint corpus (prompts people published): text-to-image ones and Kontext edits."""
    import tomllib

    entries = [e for name in ("prompts.toml", "heldout.toml")
               for e in tomllib.loads((CORPUS / name).read_text("utf-8"))["prompt"]]
    return [e for e in entries if not e.get("edit")], [e for e in entries if e.get("edit")]


def with_detail(text: str, i: int, rng: random.Random) -> str:
    """``text`` with `detail(i)` worked in: as one more tag in a comma list, or as a clause
    of the first sentence."""
    phrase = detail(i)
    if text.count(",") >= 4 and ". " not in text:
        items = text.split(",")
        items.insert(rng.randrange(1, len(items) + 1), f" {phrase}")
        return ",".join(items)
    head, sep, tail = text.partition(". ")
    head = head.rstrip()
    stop = head[-1] if head[-1:] in ".!" else ""
    head = head[:-1] if stop else head
    article = "an" if phrase[0] in "aeiou" else "a"
    return f"{head}, with {article} {phrase} {rng.choice(PLACES)}{stop}{sep}{tail}"


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (control characters escaped)."""
    if text.isprintable():
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return '"' + "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 32 or c == "\x7f"
                                             else c) for c in text) + '"'


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def generated_library(count: int, seed: int = 7) -> str:
    """A library of ``count`` realistic prompts with distinct texts: 40 % structured fields,
    45 % raw prompts people published (BFL examples, pasted SD tag lists, CJK...), 15 %
    Kontext edit instructions, each with its own detail; settings vary as in real use."""
    rng = random.Random(seed)
    t2i, edits = corpus_prompts()
    lines = ["format = 1", 'title = "Bench"', ""]
    for i in range(count):
        lines.append("[[prompts]]")
        lines.append(f'name = "Prompt {i}"')
        roll = rng.random()
        if roll < 0.15:
            lines.append('model = "kontext"')
            edit = with_detail(rng.choice(edits)["text"], i, rng)
            lines.append(f"raw = {toml_string(edit)}")
            lines.append(f'source_image = "photos/shot_{i % 50}.png"')
        elif roll < 0.60:
            model = rng.choice(["dev", "dev", "dev", "schnell"])
            if model != "dev":
                lines.append(f'model = "{model}"')
            text = with_detail(rng.choice(t2i)["text"], i, rng)
            lines.append(f"raw = {toml_string(text)}")
        else:
            model = rng.choice(["dev", "dev", "dev", "schnell"])
            if model != "dev":
                lines.append(f'model = "{model}"')
            subject = f"{rng.choice(SUBJECTS)} beside the {detail(i)}"
            lines.append(f"subject = {toml_string(subject)}")
            lines.append(f"action = {toml_string(rng.choice(ACTIONS))}")
            for key, pool in (("style", STYLES), ("background", BACKGROUNDS)):
                value = rng.choice(pool)
                if value:
                    lines.append(f"{key} = {toml_string(value)}")
            lines.append(f"context = {toml_string(rng.choice(CONTEXTS))}")
            lines.append(f"camera = {toml_string(rng.choice(CAMERAS))}")
        if rng.random() < 0.1:
            lines.append('loras = [{ name = "film_grain.safetensors", strength = 0.8, '
                         'triggers = ["kodak portra"] }]')
        if rng.random() < 0.3:
            lines.append(f"steps = {rng.choice([8, 28, 60])}")
        if rng.random() < 0.2:
            lines.append(f"width = {rng.choice([1000, 1024, 1280])}")
            lines.append(f"height = {rng.choice([1000, 1024, 720])}")
        lines.append(f"seed = {i}")
        lines.append("")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSES"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def machine_line() -> str:
    """How fast this machine runs plain Python (CPU time of a fixed loop, best of three),
    so that figures from different machines can be compared: the linter is pure Python,
    and its CPU time scales with this."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(2_000_000):
            total += i & 7
        best = min(best, time.process_time() - started)
    return f"machine: a 2,000,000-step Python loop takes {best * 1000:.0f} ms CPU"


def per_prompt(path: Path) -> None:
    """Each prompt of the library linted once, as `workbench lint` does (cold caches)."""
    library = read_library(path)
    context = {spec.name: spec for spec in library.prompts}
    tokens.t5_count.cache_clear()
    tokens.count.cache_clear()
    times = []
    for spec in library.prompts:
        started = time.perf_counter()
        lint(spec, context=context, base_dir=path.parent)
        times.append(time.perf_counter() - started)
    times.sort()
    median = statistics.median(times) * 1000
    p95 = times[int(len(times) * 0.95)] * 1000
    print(f"lint per prompt ({len(times):,} prompts, each once): median {median:.3f} ms "
          f"(target < {PER_PROMPT_MS:g} ms) {verdict(median < PER_PROMPT_MS)}; "
          f"p95 {p95:.3f} ms, max {times[-1] * 1000:.1f} ms, mean "
          f"{sum(times) / len(times) * 1000:.3f} ms; exact T5 counts for "
          f"{tokens.t5_count.cache_info().misses} prompts near a budget, CLIP-L for "
          f"{tokens.count.cache_info().misses}")


def token_cost() -> None:
    """What exact counts cost: loading the tokenizers once, then one count per new text."""
    started = time.perf_counter()
    tokens.preload()
    load = time.perf_counter() - started
    library = load_library_from_text(generated_library(400, seed=11))
    texts = list(dict.fromkeys(compose(spec) for spec in library.prompts))
    tokens.count.cache_clear()
    tokens.t5_count.cache_clear()
    times = []
    for text in texts:
        started = time.perf_counter()
        tokens.count(text)
        times.append(time.perf_counter() - started)
    cached = []
    for text in texts:
        started = time.perf_counter()
        tokens.count(text)
        cached.append(time.perf_counter() - started)
    print(f"exact token counts (T5 + CLIP-L): load {load * 1000:.0f} ms once (off the UI "
          f"thread); {statistics.median(times) * 1e6:.0f} µs median per new text "
          f"({len(texts)} texts), {statistics.median(cached) * 1e6:.1f} µs when cached")
    # the linter asks for counts only when they can matter (a text long enough to reach a
    # budget, a late subject): the lint median below includes that
    specs = library.prompts
    tokens.count.cache_clear()
    tokens.t5_count.cache_clear()
    both = []
    for spec in specs:
        started = time.perf_counter()
        lint(spec)
        tokens.count(compose(spec))
        both.append(time.perf_counter() - started)
    median = statistics.median(both) * 1000
    print(f"lint + exact count of a never-seen text: median {median:.3f} ms "
          f"(target < {PER_PROMPT_MS:g} ms) {verdict(median < PER_PROMPT_MS)}")


def load_library_from_text(text: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lib.toml"
        path.write_text(text, encoding="utf-8")
        return load_library(path)


_STATS = re.compile(r"loading ([\d.]+) s, linting ([\d.]+) s \(([\d.]+) s CPU\)")


_CACHED = re.compile(r"(\d+) from the cache, (\d+) linted")


_PYCACHE: list[tempfile.TemporaryDirectory] = []


def _pycache() -> str:
    """Where the child processes keep their bytecode, as an installed package has it (the
    environment may say PYTHONDONTWRITEBYTECODE, which makes every run compile every
    module); removed when the bench ends."""
    if not _PYCACHE:
        _PYCACHE.append(tempfile.TemporaryDirectory(prefix="bench-lint-pyc-"))
    return _PYCACHE[0].name


def _command() -> list[str]:
    """The ``workbench`` console script of this environment, as a user types it (or
    ``python -m workbench`` where there is none)."""
    script = Path(sys.executable).with_name("workbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workbench"]


def run_lint(root: Path, path: Path, form: str, cache_home: str | None = None
             ) -> tuple[float, float, float, float, int, str]:
    """``workbench lint PATH`` from the checkout at ``root`` in a fresh process: wall time
    end to end, its CPU time (less moved by a busy machine than wall time), the load and
    lint times it reports (``--stats``), lines out, and how many prompts came from its
    lint cache (kept in ``cache_home``; a fresh empty one when None: a cold run)."""
    if cache_home is None:
        with tempfile.TemporaryDirectory() as empty:
            return run_lint(root, path, form, empty)
    env = {**os.environ, "PYTHONPATH": str(root), "XDG_CACHE_HOME": cache_home,
           "PYTHONPYCACHEPREFIX": _pycache()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*_command(), "lint", str(path), "--stats", "--format", form],
                          capture_output=True, text=True, env=env, cwd=path.parent,
                          check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    stats = _STATS.search(done.stderr)
    if done.returncode not in (0, 1) or stats is None:
        raise SystemExit(f"workbench lint failed ({done.returncode}): {done.stderr[-500:]}")
    cached = _CACHED.search(done.stderr)
    return (wall, cpu, float(stats.group(1)), float(stats.group(2)), done.stdout.count("\n"),
            cached.group(0) if cached else "no cache")


def library_end_to_end(path: Path, runs: int, compare: Path | None) -> None:
    from _report import verdict as report  # beside this script

    roots = [("this checkout", REPO)] + ([(f"{compare}", compare)] if compare else [])
    for _, root in roots:
        run_lint(root, path, "text")  # compiles the bytecode (not counted)
    for form in ("text", "json"):
        figures: dict[str, list[tuple]] = {name: [] for name, _ in roots}
        for _ in range(runs):  # interleaved, so both see the same machine
            for name, root in roots:
                figures[name].append(run_lint(root, path, form))
        for name, _ in roots:
            rows = figures[name]
            wall, cpu, load, linting = (statistics.median(r[i] for r in rows) for i in range(4))
            report(f"workbench lint on 10,000 prompts, cold (empty lint cache; --format "
                   f"{form}, {name}): end to end", wall, END_TO_END_S, "s", digits=2,
                   note=f"{cpu:.2f} s CPU; in the process: load {load:.2f} s + lint "
                   f"{linting:.2f} s = {load + linting:.2f} s; {rows[0][4]:,} lines out; "
                   f"median of {runs} ({', '.join(f'{r[0]:.2f}' for r in rows)} s); "
                   f"{load_line()}")


def cached_end_to_end(path: Path, runs: int) -> None:
    """The lint cache at work: ``workbench lint`` again on the unchanged file (warm), and
    after one prompt of the 10,000 changed (each run sees one prompt differ from what the
    cache holds: the file alternates between two versions)."""
    from _report import verdict as report  # beside this script

    text = path.read_text(encoding="utf-8")
    marker = 'name = "Prompt 5000"\n'
    changed = text.replace(marker, marker + "guidance = 9\n", 1)
    assert changed != text
    with tempfile.TemporaryDirectory() as cache:
        run_lint(REPO, path, "text", cache)  # fills the cache
        warm = [run_lint(REPO, path, "text", cache) for _ in range(runs)]
        warm_load = load_line()
        one = []
        for i in range(runs):
            path.write_text(changed if i % 2 == 0 else text, encoding="utf-8")
            one.append(run_lint(REPO, path, "text", cache))
        one_load = load_line()
    path.write_text(text, encoding="utf-8")
    for label, rows, load in (("warm (unchanged file)", warm, warm_load),
                              ("one prompt changed", one, one_load)):
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        inside = statistics.median(r[2] + r[3] for r in rows)
        report(f"workbench lint on 10,000 prompts, {label}: end to end", wall, END_TO_END_S,
               "s", digits=2, note=f"{cpu:.2f} s CPU; load + lint in the process "
               f"{inside:.2f} s; {rows[-1][5]}; median of {runs} "
               f"({', '.join(f'{r[0]:.2f}' for r in rows)} s); {load}")


_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(root: Path, path: Path) -> int | None:
    """Instructions ``workbench lint PATH`` (checkout ``root``) executes, counted by
    valgrind's callgrind: unlike times, the count does not move with the machine's load,
    so small changes show on a busy machine.  None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    command = [sys.executable, "-m", "workbench", "lint", str(path), "--jobs", "1"]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0",
           "PYTHONPYCACHEPREFIX": _pycache()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as cache:  # compiles the bytecode (not counted)
        subprocess.run(command, capture_output=True, env={**env, "XDG_CACHE_HOME": cache},
                       cwd=path.parent, check=False)
    with tempfile.TemporaryDirectory() as cache:  # an empty lint cache: a cold run
        done = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
                               *command], capture_output=True, text=True,
                              env={**env, "XDG_CACHE_HOME": cache}, cwd=path.parent,
                              check=False)
    found = _COLLECTED.search(done.stderr)
    return int(found.group(1)) if found else None


def instruction_counts(folder: Path, compare: Path | None, prompts: int = 2_000) -> None:
    path = folder / "instructions.toml"
    path.write_text(generated_library(prompts), encoding="utf-8")
    roots = [("this checkout", REPO)] + ([(f"{compare}", compare)] if compare else [])
    for name, root in roots:
        count = instructions(root, path)
        if count is None:
            print("instruction count: valgrind is not installed (or failed)")
            return
        print(f"workbench lint on {prompts:,} prompts ({name}): {count / 1e9:.3f} billion "
              "instructions (callgrind; does not depend on load)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="end-to-end runs (median)")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another checkout to run in turn with this one")
    parser.add_argument("--instructions", action="store_true",
                        help="also count the instructions of a 2,000-prompt lint with valgrind "
                             "(slow: about a minute a checkout; independent of load)")
    args = parser.parse_args()
    print(load_line())
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.toml"
        text = generated_library(10_000)
        path.write_text(text, encoding="utf-8")
        specs = read_library(path).prompts
        distinct = len({compose(spec) for spec in specs})
        print(f"library: {len(specs):,} prompts, {distinct:,} distinct texts, "
              f"{len(text) / 2**20:.1f} MB")
        library_end_to_end(path, args.runs, args.compare)
        cached_end_to_end(path, args.runs)
        if args.instructions:
            instruction_counts(Path(folder), args.compare)
        token_cost()
        per_prompt(path)
    print(load_line())


if __name__ == "__main__":
    main()
