"""``workbench lint``: the prompt linter, headless, for CI, editors and shell pipelines.

Exit status: 0 when nothing reaches the ``--fail-on`` threshold (default ``error``, like
most code linters: warnings and infos are advice), 1 when something does, 2 for usage
errors and files that cannot be read or parsed (printed as ``file:line:col: message``).
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from ..textsafe import printable

HELP = "check prompts for FLUX pitfalls (text or JSON; --fix applies safe fixes)"
FAIL_ON = ("info", "warning", "error")
#: A prompt's table header (no group) or a key (group 1), at the start of a line.
_HEADER_OR_KEY = re.compile(r"^[ \t]*(?:\[\[[ \t]*prompts[ \t]*\]\]|([A-Za-z_]+)[ \t]*=)", re.M)


EPILOG = """\
exit status:
  0  nothing at or above --fail-on (default error: warnings and infos are advice)
  1  a problem at or above --fail-on
  2  usage error, unknown rule name, or a file that cannot be read or parsed
     (printed as file:line:col: message)

stdin:
  --stdin lints one raw prompt per line for --model (default dev). With --model kontext
  every line is an edit instruction (as if applied to an image); add --t2i when the lines
  are Kontext text-to-image prompts.

output:
  text: FILE:LINE: PROMPT: FIELD[START:END] CODE SEVERITY MESSAGE (RULE), with [*] when
        --fix can fix it; START/END are offsets into that field's text.
  json: a list of {path, prompt, rule, code, severity, message, field, start, end, fix,
        line, suggestion}; with --stdin, path is "-" and prompt is the line number.

settings:
  config.toml and each library may hold a [lint] table; the library's wins, flags win
  over both:
    [lint]
    ignore = ["word-count", "FX111"]
    [lint.severity]
    negation = "error"
  `workbench rules` lists every rule with its explanation and source.

cache:
  each prompt's findings are kept between runs (under `workbench locate cache`) and
  reused while nothing they depend on changes: the prompt, the settings and flags, the
  presets, the workbench's code, the images it names. --no-cache, or cache = false in the
  config's [lint], lints everything afresh; --fix never uses the cache.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="library files or folders (default: your libraries)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--select", metavar="RULES",
                        help="only these rules (comma-separated slugs or codes)")
    parser.add_argument("--ignore", metavar="RULES",
                        help="skip these rules (comma-separated slugs or codes)")
    parser.add_argument("--fix", action="store_true",
                        help="apply safe fixes and save the libraries (comments and "
                             "formatting are kept; a .bak keeps the previous version)")
    parser.add_argument("--fail-on", choices=FAIL_ON, default="error",
                        help="exit 1 when a problem at or above this severity is found "
                             "(default: error)")
    parser.add_argument("--stdin", action="store_true",
                        help="lint raw prompt texts from standard input, one per line")
    parser.add_argument("--model", choices=("dev", "schnell", "kontext"), default="dev",
                        help="model to lint --stdin prompts for (default: dev); with kontext "
                             "every line is an edit instruction")
    parser.add_argument("--t2i", action="store_true",
                        help="with --stdin --model kontext: the lines are text-to-image "
                             "prompts, not edit instructions")
    parser.add_argument("--vram", type=float, metavar="GB",
                        help="check sizes against a GPU with this much VRAM")
    parser.add_argument("--no-cache", dest="cache", action="store_false",
                        help="lint every prompt afresh: neither read nor write the lint "
                             "cache")
    parser.add_argument("--jobs", type=_jobs, metavar="N",
                        help="processes to lint on, on Linux (default: one per idle CPU for "
                             "libraries of 2,000 prompts or more, at most 8; 1 lints in this "
                             "process)")
    parser.add_argument("--stats", action="store_true",
                        help="print how long loading and linting took (to stderr)")


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return jobs


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def run(args: argparse.Namespace, config) -> int:
    # A run makes many objects and no garbage cycles worth collecting (its garbage goes by
    # reference counting): the cycle collector would only re-walk the loaded libraries and
    # their findings while they load, lint and print (about 7 % of a 10,000-prompt run, and
    # a full pass over all of it when the collector came back on before printing).  Back on
    # when the command is over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args, config)
    finally:
        if collecting:
            gc.enable()


def _run(args: argparse.Namespace, config) -> int:
    from ..lint import LintSettings, severity_rank

    cli = LintSettings.from_names(_names(args.select), _names(args.ignore))
    if cli.problems:
        for problem in cli.problems:
            print(f"workbench lint: {problem}", file=sys.stderr)
        return 2
    if args.stdin:
        if args.paths or args.fix:
            print("workbench lint: --stdin takes no PATH and no --fix", file=sys.stderr)
            return 2
        if args.t2i and args.model != "kontext":
            print("workbench lint: --t2i only applies to --model kontext", file=sys.stderr)
            return 2
        rows, status = _lint_stdin(args, config, cli)
    else:
        rows, status = _lint_paths(args, config, cli)
    _print(rows, args.format)
    threshold = severity_rank(args.fail_on)
    if status == 0 and any(severity_rank(row.diagnostic.severity) >= threshold
                           for row in rows):
        status = 1
    if args.format == "text":
        _summary(rows)
    return status


def _config_settings(config, cli):
    from ..linting import config_settings

    return config_settings(config, cli)


class Found(NamedTuple):
    """One diagnostic where it was found: ``path`` ("-" for standard input), ``prompt`` (its
    name, or the line number on stdin) and the 1-based ``line`` of the file it points at."""

    path: str
    prompt: str | int
    diagnostic: Any
    line: int | None


def _lint_stdin(args, config, cli) -> tuple[list[Found], int]:
    from ..lint import lint
    from ..spec import PromptSpec

    settings = _config_settings(config, cli)
    for problem in settings.problems:
        print(f"workbench lint: {problem}", file=sys.stderr)
    rows = []
    # Kontext lines are edit instructions for an image (unless --t2i says otherwise)
    edit = args.model == "kontext" and not args.t2i
    for number, line in enumerate(sys.stdin, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        spec = PromptSpec(name=f"line {number}", model=args.model, raw=line)
        for d in lint(spec, settings=settings, server_vram_gb=args.vram, edit=edit):
            rows.append(Found("-", number, d, number))
    return rows, 0


def _read_only_loader():
    """How `workbench lint` reads a library: read-only and fast (tomllib, plain values); a
    --fix save parses the comment-keeping document from the same bytes when it needs it."""
    from ..library import read_library

    return read_library


def _lint_paths(args, config, cli) -> tuple[list[Found], int]:
    from ..collection import library_files
    from ..library import LibraryError
    from ..linting import config_caches, config_settings
    from ..locations import libraries_dir

    status = 0
    paths = args.paths or [libraries_dir()]
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            if args.paths:
                print(f"{printable(str(path))}: no such file or folder", file=sys.stderr)
                status = 2
            continue
        files.extend(library_files(path))
    started = time.perf_counter()
    libraries = []
    load = _read_only_loader()
    for file in files:
        try:
            libraries.append(load(file))
        except LibraryError as exc:
            print(printable(str(exc)), file=sys.stderr)
            status = 2
    load_time = time.perf_counter() - started
    base = config_settings(config)
    # --fix writes the libraries: its findings are never taken from, or put in, the cache
    args.cache = args.cache and not args.fix and config_caches(config)
    for problem in base.problems:
        print(f"workbench lint: {problem}", file=sys.stderr)
    return _lint_libraries(args, cli, libraries, base, load_time, len(files), status)


def _lint_libraries(args, cli, libraries, base, load_time, file_count, status):
    from ..library import ConflictError, LibraryError
    from ..lint import library_lint_table, settings_for

    # Kontext chains may follow a prompt in another library of the same run; a library's
    # own prompts win over same-named ones elsewhere.
    everywhere = {spec.name: spec for library in libraries for spec in library.prompts}
    rows: list[Found] = []
    lint_time = lint_cpu = 0.0
    count = 0
    tally = {"cached": 0, "linted": 0}
    for library in libraries:
        file = library.path
        for problem in library.problems:
            print(f"workbench: {printable(problem)}", file=sys.stderr)
        own = settings_for(None, library_lint_table(library.data), None)
        for problem in own.problems:
            print(printable(f"{file}: {problem}"), file=sys.stderr)
        settings = base.merged(own).merged(cli)
        started, cpu = time.perf_counter(), _cpu_time()
        context = {**everywhere, **{spec.name: spec for spec in library.prompts}}
        options = dict(settings=settings, server_vram_gb=args.vram, context=context,
                       base_dir=file.parent)
        if args.fix:
            results, fixed = _fix_and_lint(library, options)
            tally["linted"] += len(results)
        else:
            results, fixed = _lint_cached(library, options, _cache_for(args, file, settings),
                                          tally, args.jobs), 0
        count += len(results)
        lint_time += time.perf_counter() - started
        lint_cpu += _cpu_time() - cpu
        if fixed:
            try:
                library.save()
                print(printable(f"{file}: applied {fixed} fix{'es' if fixed != 1 else ''}"),
                      file=sys.stderr)
            except (ConflictError, LibraryError, OSError) as exc:
                # a read-only library says so (and exits 2); nothing is written
                print(printable(f"{file}: not saved: {exc}"), file=sys.stderr)
                status = 2
        pointed = {d.field for _, diagnostics in results for d in diagnostics}
        lines = _field_lines(library, pointed) if pointed else {}
        path = str(file)
        for index, (spec, diagnostics) in enumerate(results):
            for d in diagnostics:
                rows.append(Found(path, spec.name, d, lines.get((index, d.field))
                                  or lines.get((index, None))))
    if args.stats:
        print(f"workbench lint: {count} prompts in {file_count} files: loading "
              f"{load_time:.3f} s, linting {lint_time:.3f} s ({lint_cpu:.3f} s CPU)"
              f"{_cache_stats(tally)}", file=sys.stderr)
    return rows, status


def _cpu_time() -> float:
    """CPU time of this process and of the lint processes it has waited for (`lint_all`)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX: no lint processes either
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _fix_and_lint(library, options) -> tuple[list, int]:
    """Each prompt with its safe fixes applied (in the library and the context), and the
    findings left; how many fixes were applied."""
    from ..lint import fix_all, lint

    results = []
    fixed = 0
    for entry in library.entries:
        new, applied = fix_all(entry.spec, **options)
        if applied:
            entry.spec = new
            fixed += applied
            options["context"][new.name] = new
        results.append((entry.spec, lint(entry.spec, **options)))
    return results, fixed


def _cache_for(args, file: Path, settings):
    """The lint cache for ``file`` in this run's scope; None when it is off (--no-cache,
    config's ``[lint] cache = false``, --fix)."""
    if not args.cache:
        return None
    from ..lint.cache import LintCache, scope_key

    scope = scope_key(settings, vram=args.vram, base_dir=file.parent)
    return LintCache(file, scope) if scope is not None else None


def _lint_cached(library, options, cache, tally: dict[str, int], jobs: int | None = None
                 ) -> list:
    """Each prompt with its findings: from ``cache`` where it holds them, else linted (and
    stored); the ones to lint on ``jobs`` processes (None: as many as help)."""
    from ..lint.cached import lint_cached

    specs = [entry.spec for entry in library.entries]
    found = lint_cached(specs, options, cache, jobs=jobs)
    hits = cache.hits if cache is not None else 0
    tally["cached"] += hits
    tally["linted"] += len(specs) - hits
    return list(zip(specs, found))


def _cache_stats(tally: dict[str, int]) -> str:
    return f"; {tally['cached']} from the cache, {tally['linted']} linted"


def _field_lines(library, keys: set[str]) -> dict[tuple[int, str | None], int]:
    """1-based line numbers of each prompt's table header and of its ``keys`` (the fields
    diagnostics point at), by position: one pass over the file, lines counted between
    matches."""
    try:
        text = library.path.read_text(encoding="utf-8")
    except OSError:
        return {}
    names = "|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True))
    pattern = re.compile(_HEADER_OR_KEY.pattern.replace("[A-Za-z_]+", names), re.M)
    lines: dict[tuple[int, str | None], int] = {}
    index = -1
    line, pos = 1, 0
    for m in pattern.finditer(text):
        key = m.group(1)
        if key is None:
            index += 1
        elif index < 0:
            continue  # a key before the first prompt
        line += text.count("\n", pos, m.start())
        pos = m.start()
        lines.setdefault((index, key), line)
    return lines


def _row(found: Found) -> dict:
    d = found.diagnostic
    return {"path": found.path, "prompt": found.prompt, "rule": d.rule, "code": d.code,
            "severity": d.severity, "message": d.message, "field": d.field,
            "start": d.start, "end": d.end, "fix": d.fix.to_dict() if d.fix else None,
            "line": found.line, "suggestion": d.suggestion}


def _print(rows: list[Found], form: str) -> None:
    from ..textsafe import dumps_json_joined, one_line

    if form == "json":
        # one diagnostic a line, through json's C encoder (indent= takes its slow path);
        # C1 and bidi characters as \uXXXX
        body = dumps_json_joined(map(_row, rows), ",\n  ")
        print(f"[\n  {body}\n]" if rows else "[]")
        return
    shown: dict[str, str] = {}  # paths, names and fields repeat: make each safe once

    def safe(value) -> str:
        text = shown.get(value)
        if text is None:
            text = shown[value] = one_line(str(value))
        return text

    out = []
    for row in rows:
        d = row.diagnostic
        if row.path == "-":
            where = f"<stdin>:{row.prompt}"
            prompt = ""
        else:
            where = safe(row.path if row.line is None else f"{row.path}:{row.line}")
            prompt = f" {safe(row.prompt)}:"
        fixable = " [*]" if d.fix and d.fix.safe else ""
        out.append(f"{where}:{prompt} {safe(d.field)}[{d.start}:{d.end}] {d.code} "
                   f"{d.severity} {safe(d.message)} ({d.rule}){fixable}")
    if out:
        print("\n".join(out))


def _summary(rows: list[Found]) -> None:
    if not rows:
        print("no problems found", file=sys.stderr)
        return
    counts = dict.fromkeys(FAIL_ON, 0)
    fixable = 0
    for row in rows:
        d = row.diagnostic
        counts[d.severity] += 1
        fixable += bool(d.fix and d.fix.safe)
    parts = [f"{counts[level]} {level}{'s' if counts[level] != 1 else ''}"
             for level in reversed(FAIL_ON) if counts[level]]
    tail = f"; {fixable} fixable with --fix [*]" if fixable else ""
    print(f"{len(rows)} problem{'s' if len(rows) != 1 else ''} ({', '.join(parts)}){tail}",
          file=sys.stderr)
