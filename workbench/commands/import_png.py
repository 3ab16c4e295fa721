"""``workbench import``: turn ComfyUI-made PNGs back into library entries.

Any PNG saved by ComfyUI's SaveImage carries the API workflow that made it; ours also
carry the spec.  Each file becomes a new prompt (raw text, seed and parameters as the
workflow had them) in the library given, ``imported.toml`` in your libraries by default.

The workflows are kept beside the library, in ``<library stem>.workflows/``:
``<prompt>.api.json`` (the API workflow, what the server ran) and, when the PNG has it,
``<prompt>.ui.json`` (the editor graph; drop it on ComfyUI to open it).  The prompt points
at them with the keys ``comfyui_workflow`` and ``comfyui_graph`` (paths relative to the
library), and at the image with ``imported_from``; the library keeps such keys on every
save.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "make library entries from ComfyUI-made PNGs (prompt, seed, parameters, workflow)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", type=Path, metavar="PNG",
                        help="PNG files saved by ComfyUI (or by the workbench)")
    parser.add_argument("--library", type=Path, metavar="L",
                        help="library file to add to (created if missing; default: "
                             "imported.toml in your libraries)")
    parser.epilog = ("exit status: 0 all imported, 2 when a file could not be imported or "
                     "the library could not be read or written (the others are still saved)")


def _unique_file(folder: Path, stem: str, suffix: str, taken: set[Path]) -> Path:
    path, n = folder / f"{stem}{suffix}", 2
    while path.exists() or path in taken:
        path, n = folder / f"{stem}-{n}{suffix}", n + 1
    taken.add(path)
    return path


def run(args: argparse.Namespace, config) -> int:
    from ..library import LibraryError, load_library, new_library
    from ..locations import libraries_dir
    from ..textsafe import one_line, printable

    target = args.library or libraries_dir() / "imported.toml"
    try:
        library = load_library(target) if target.exists() else new_library(target, "Imported")
    except LibraryError as exc:
        print(f"workbench: {printable(str(exc))}", file=sys.stderr)
        return 2
    imported, failed = _read_images(args.images, library, target)
    if not imported:
        return 2
    if not _save(library, target, imported):
        return 2
    for spec, _, _, image in imported:
        print(_summary(image, spec))
    print(f"saved {len(imported)} prompt(s) to {one_line(str(target))}")
    return 2 if failed else 0


def _read_images(images: list[Path], library, target: Path):
    """([(spec, files to write, extra table keys, image)], whether one failed): each image
    becomes a prompt of ``library``; its ComfyUI graphs go in a folder beside it."""
    from ..images.pngmeta import PngMetaError, read_png_metadata, spec_from_metadata
    from ..runs.history import slug
    from ..textsafe import one_line

    folder = target.parent / f"{target.stem}.workflows"
    imported, failed, taken = [], False, set()
    for image in images:
        try:
            meta = read_png_metadata(image)
            spec, problems = spec_from_metadata(meta, image.stem)
        except PngMetaError as exc:
            print(f"workbench: {one_line(str(exc))}", file=sys.stderr)
            failed = True
            continue
        for problem in problems:
            print(f"workbench: {one_line(str(image))}: {one_line(problem)}", file=sys.stderr)
        spec = library.add(spec)
        files, keys = [], {"imported_from": str(image.resolve())}
        stem = slug(spec.name, 60)
        for graph, suffix, key in ((meta.prompt, ".api.json", "comfyui_workflow"),
                                   (meta.workflow, ".ui.json", "comfyui_graph")):
            if graph is not None:
                path = _unique_file(folder, stem, suffix, taken)
                files.append((path, graph))
                keys[key] = path.relative_to(target.parent).as_posix()
        imported.append((spec, files, keys, image))
    return imported, failed


def _save(library, target: Path, imported) -> bool:
    """Write the graphs, then the library with each new prompt's extra keys."""
    from ..atomic import check_writable, write_atomic, write_target
    from ..library import LibraryError
    from ..textsafe import dumps_json, one_line

    try:
        check_writable(write_target(target))  # a read-only library: write nothing at all
        for _, files, _, _ in imported:
            for path, data in files:
                write_atomic(path, (dumps_json(data, indent=2) + "\n").encode("utf-8"))
        library.sync_tables()  # gives the new prompts their tables
        tables = {id(entry.spec): entry.table for entry in library.entries}
        for spec, _, keys, _ in imported:
            for key, value in keys.items():
                tables[id(spec)][key] = value
        library.save()
    except (LibraryError, OSError) as exc:
        print(f"workbench: {one_line(str(target))}: cannot save: {one_line(str(exc))}",
              file=sys.stderr)
        return False
    return True


def _summary(image: Path, spec) -> str:
    from ..textsafe import one_line

    p = spec.params
    details = ", ".join(x for x in (
        f"seed {p.seed}" if p.seed is not None else "",
        f"{p.steps} steps" if p.steps is not None else "",
        f"{p.width}x{p.height}" if p.width and p.height else "",
        f"guidance {p.guidance:g}" if p.guidance is not None else "",
        spec.model) if x)
    return f"{one_line(str(image))}\t-> {one_line(spec.name)}\t({details})"
