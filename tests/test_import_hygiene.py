"""Which way imports may go, checked on the source (an import-linter style contract in
plain Python): every import statement in workbench/, at any depth (lazy ones included),
resolved to a module and checked against the layers.

* the layers of the README's package picture: each imports only the ones below it, never
  up or sideways (top down: ``tui``, ``cli`` + ``commands``; ``judge``; ``runs``; ``comfy``,
  ``llm``, ``lint`` + ``linting``; ``images``; the plain-data modules, which import no
  package).  So ``comfy`` is transport: it never imports ``runs`` (orchestration), ``llm``
  or ``tui``.
* the core (everything outside ``workbench/tui``) never imports Textual or the TUI; the
  one exception is ``cli.py`` starting the TUI (a lazy import, after the arguments).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workbench"

#: (importing package, forbidden prefixes)
_DRIVERS = ("workbench.tui", "workbench.cli", "workbench.commands")
_ABOVE_SERVICES = (*_DRIVERS, "workbench.judge", "workbench.runs")
CONTRACTS = [
    ("workbench.judge", _DRIVERS),
    ("workbench.runs", (*_DRIVERS, "workbench.judge", "workbench.lint", "workbench.linting")),
    ("workbench.comfy", (*_ABOVE_SERVICES, "workbench.llm", "workbench.lint",
                         "workbench.linting")),
    ("workbench.llm", (*_ABOVE_SERVICES, "workbench.comfy", "workbench.lint",
                       "workbench.linting", "workbench.images")),
    ("workbench.lint", (*_ABOVE_SERVICES, "workbench.comfy", "workbench.llm",
                        "workbench.images")),
    ("workbench.images", (*_ABOVE_SERVICES, "workbench.comfy", "workbench.llm",
                          "workbench.lint", "workbench.linting")),
    ("workbench", ("textual", "workbench.tui", "textual_image.widget")),
]


#: (module, import) pairs allowed despite a contract
ALLOWED = {("workbench.cli", "workbench.tui.app"), ("workbench.cli", "workbench.tui.app.run_app")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def violations(owner: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if not (name == owner or name.startswith(owner + ".")):
            continue
        if owner == "workbench" and name.startswith("workbench.tui"):
            continue   # the core contract: everything outside the TUI
        for line, target in imports_of(path):
            if (name, target) in ALLOWED:
                continue
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} imports "
                           f"{target}")
    return bad


@pytest.mark.parametrize("owner, forbidden", CONTRACTS, ids=[c[0] for c in CONTRACTS])
def test_import_contract(owner, forbidden):
    assert violations(owner, forbidden) == []


#: Top-level modules that drive or wrap a package; the others are plain data.
NOT_PLAIN = {"__init__.py", "__main__.py", "cli.py", "linting.py"}


def test_plain_data_modules_import_no_package():
    """The bottom of the picture: a top-level module (spec, library, config, ...) imports
    only other top-level modules, never one of the packages above it."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    bad = [f"{path.name}:{line}: {target}"
           for path in sorted(PACKAGE.glob("*.py")) if path.name not in NOT_PLAIN
           for line, target in imports_of(path)
           if target.startswith("workbench.") and target.split(".")[1] in packages]
    assert bad == []
    assert "comfy" in packages and "tui" in packages


def test_the_checker_sees_lazy_and_relative_imports():
    """The contract must be able to fail: a lazy relative import is found and resolved."""
    path = PACKAGE / "comfy" / "client.py"
    targets = {target for _, target in imports_of(path)}
    assert "workbench.textsafe.one_line" in targets and "httpx" in targets
    lazy = PACKAGE / "runs" / "single.py"
    assert any(t.startswith("workbench.llm.gpu") for _, t in imports_of(lazy))


def test_no_private_names_cross_module_lines():
    """A module's private names (``_x``) stay its own: not imported by another module, and
    not reached through another module's objects (``client._object_info``,
    ``job._finish``, ``textual_image._terminal`` were, once)."""
    crossing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                parts = (node.module or "").split(".")
                names = [a.name for a in node.names]
                if any(p.startswith("_") for p in parts) or any(
                        n.startswith("_") and not n.startswith("__") for n in names):
                    crossing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                                    f"from {node.module} import {', '.join(names)}")
            elif isinstance(node, ast.Attribute) and node.attr in (
                    "_object_info", "_finish", "_push", "_feed", "_terminal", "_jobs"):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    crossing.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                                    f"{ast.unparse(node)}")
    assert crossing == []
