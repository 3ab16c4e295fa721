"""``workbench rewrite``: ask a local model (Ollama) to rewrite, fix, translate, expand or
decompose one prompt of a library; print the proposal, and write it only with ``--apply``.

The library is saved through `Library.save`, so comments, ordering and formatting stay as
they were; a failed or interrupted request leaves the file untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from pathlib import Path

HELP = "LLM help via Ollama: rewrite/fix/translate/expand/decompose a prompt"
ACTIONS = ("rewrite", "fix", "translate", "expand", "decompose", "kontext")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("library", type=Path, metavar="LIBRARY", help="library file (.toml)")
    parser.add_argument("prompt", metavar="PROMPT", help="name of the prompt in the library")
    parser.add_argument("--action", choices=ACTIONS, default="rewrite",
                        help="what to ask for (default: rewrite)")
    parser.add_argument("--model", metavar="M",
                        help="Ollama model (default: [ollama] model in config.toml)")
    parser.add_argument("--apply", action="store_true",
                        help="write the proposal into the library (default: only print it)")
    parser.add_argument("--diff", action="store_true",
                        help="print the change to the library file as a unified diff")
    parser.add_argument("--diagnostic", action="append", default=[], metavar="MESSAGE",
                        help="for --action fix: a problem to fix (repeatable; default: the "
                             "linter's findings)")
    parser.add_argument("--think", action="store_true",
                        help="let a reasoning model think first (its thinking is not kept)")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _fail(message: str, status: int) -> int:
    from ..textsafe import printable

    print(f"workbench rewrite: {printable(message)}", file=sys.stderr)
    return status


class _Stop(Exception):
    """End the command with ``status`` after saying ``message`` (if any)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def run(args: argparse.Namespace, config) -> int:
    from ..compose import compose

    try:
        library, entry = _entry(args)
        spec = entry.spec
        diagnostics = _diagnostics(args, config, library, spec)
        if diagnostics is None:
            return 0
        proposal = _ask(args, config, compose(spec), diagnostics)
        before = library.path.read_text(encoding="utf-8")
        new_spec = proposal.apply_to(spec)
        entry.spec = new_spec
        if proposal.action == "kontext" and len(proposal.instructions) > 1:
            from ..chains import add_edits_after  # one change per edit: a step each

            add_edits_after(library, new_spec, proposal.instructions[1:])
        after = library.render()
        applied = _apply(args, library) if args.apply else False
    except _Stop as stop:
        return _fail(str(stop), stop.status) if str(stop) else stop.status
    from ..linting import lint_messages

    findings = lint_messages(new_spec, config, library)
    if args.format == "json":
        _print_json(args, library, spec, proposal, applied, findings)
    else:
        _print_text(args, library, spec, proposal, applied, findings, before, after)
    return 0


def _entry(args: argparse.Namespace):
    from ..library import LibraryError, load_library
    from ..textsafe import one_line

    try:
        library = load_library(args.library)
    except LibraryError as exc:
        raise _Stop(str(exc), 2) from None
    entry = next((e for e in library.entries if e.spec.name == args.prompt), None)
    if entry is None:
        names = ", ".join(one_line(e.spec.name) for e in library.entries) or "none"
        raise _Stop(f"no prompt named {one_line(args.prompt)!r} in {args.library} "
                    f"(prompts: {names})", 2)
    return library, entry


def _diagnostics(args: argparse.Namespace, config, library, spec) -> list[str] | None:
    """The problems to fix (the linter's, as the Problems panel shows them, unless given);
    None when ``--action fix`` finds nothing to fix."""
    from ..linting import lint_messages
    from ..textsafe import one_line

    if args.action != "fix" or args.diagnostic:
        return list(args.diagnostic)
    found = lint_messages(spec, config, library)
    if not found:
        print(f"{one_line(spec.name)}: the linter found nothing to fix")
        return None
    return found


def _ask(args: argparse.Namespace, config, text: str, diagnostics: list[str]):
    """The model's proposal (streamed to a terminal's stderr as it comes)."""
    from ..llm.actions import Assistant
    from ..llm.ollama import LLMError, OllamaClient
    from ..textsafe import one_line, printable

    streaming = args.format == "text" and sys.stderr.isatty()

    def echo(piece: str) -> None:
        sys.stderr.write(printable(piece))
        sys.stderr.flush()

    async def ask():
        async with OllamaClient.from_config(config) as client:
            assistant = Assistant.from_config(config, client, model=args.model or "")
            assistant.think = True if args.think else None
            for problem in assistant.templates.problems:
                print(f"workbench: {printable(problem)}", file=sys.stderr)
            return await assistant.run_text(args.action, text, diagnostics=diagnostics,
                                            on_token=echo if streaming else None)

    if streaming:
        print(f"asking {one_line(args.model or config.ollama.model)} at "
              f"{one_line(config.ollama.host)} ...", file=sys.stderr)
    try:
        proposal = asyncio.run(ask())
    except LLMError as exc:
        if streaming:
            print(file=sys.stderr)
        raise _Stop(str(exc), 1) from None
    if streaming:
        print("\n", file=sys.stderr)
    return proposal


def _apply(args: argparse.Namespace, library) -> bool:
    from ..atomic import ReadOnlyFile
    from ..library import LibraryError

    try:
        return library.save()
    except LibraryError as exc:
        raise _Stop(f"{exc}; nothing was written", 2) from None
    except OSError as exc:  # read-only file, full disk: the library is unchanged
        why = str(exc) if isinstance(exc, ReadOnlyFile) else \
            f"{library.path}: cannot save: {exc.strerror or exc}"
        raise _Stop(f"{why}; nothing was written", 2) from None


def _print_json(args, library, spec, proposal, applied: bool, findings: list[str]) -> None:
    from ..compose import compose
    from ..textsafe import dumps_json

    out = {"library": str(library.path), "prompt": spec.name, "action": args.action,
           "model": proposal.model, "original": compose(spec), "applied": applied,
           "first_token_s": proposal.timings.first_token_s,
           "total_s": proposal.timings.total_s}
    if proposal.fields:
        out["fields"] = proposal.fields
    else:
        out["text"] = proposal.text
    if proposal.instructions:
        out["instructions"] = proposal.instructions
    out["warnings"] = proposal.warnings
    out["lint"] = findings
    print(dumps_json(out, indent=2))  # C1 and bidi characters as \uXXXX


def _print_text(args, library, spec, proposal, applied: bool, findings: list[str],
                before: str, after: str) -> None:
    from ..textsafe import one_line, printable

    took = f"{proposal.timings.total_s:.1f} s"
    print(f"{args.action} of {one_line(spec.name)!r} by {one_line(proposal.model)} ({took})")
    if args.diff:
        sys.stdout.writelines(printable(line) for line in difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            f"{library.path}", f"{library.path} (proposed)"))
    else:
        _print_change(spec, proposal)
    for warning in proposal.warnings:
        print(f"warning: {one_line(warning)}")
    for finding in findings:
        print(f"lint: {one_line(finding)}")
    if applied:
        print(f"applied to {one_line(str(library.path))}")
    elif args.apply:
        print(f"{one_line(str(library.path))} already says this; nothing written")
    else:
        print("not applied (run again with --apply to write it)")


def _print_change(spec, proposal) -> None:
    from ..compose import compose
    from ..spec import TEXT_FIELDS
    from ..textsafe import one_line

    if proposal.instructions:  # Kontext: one edit per line, each a step of its own
        print(f"- {one_line(compose(spec))}")
        for n, instruction in enumerate(proposal.instructions, start=1):
            print(f"+ {n}. {one_line(instruction)}")
        if len(proposal.instructions) > 1:
            print("  (the first edits this prompt; each next one is a step that follows it)")
        return
    if not proposal.fields:
        print(f"- {one_line(compose(spec))}")
        print(f"+ {one_line(proposal.text)}")
        return
    width = max(map(len, TEXT_FIELDS))
    for name in TEXT_FIELDS:
        old, new = getattr(spec, name), proposal.fields.get(name, "")
        mark = " " if old == new else "~"
        print(f"{mark} {name:<{width}}  {one_line(new) or '-'}")
        if old != new and old:
            print(f"  {'':<{width}}  (was: {one_line(old)})")
