"""The shape of the code, checked like the tests: ruff (style, bugbear, complexity <= 12)
and the size rules for the core (no module over 450 lines, no function over 60)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "workbench"
#: Modules whose shape other issues own for now (the linter's rule tables); the rules apply
#: to the rest of the package, the TUI and the judge included.
OWNED_ELSEWHERE = ("lint",)
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def ruff() -> list[str]:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "ruff"]


def test_ruff_finds_nothing():
    result = subprocess.run([*ruff(), "check", "--no-cache", "workbench", "tests"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0 and "No module named ruff" in result.stderr:
        pytest.skip("ruff is not installed (uv sync --group dev)")
    assert result.returncode == 0, result.stdout + result.stderr


def core_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if not any(p.relative_to(PACKAGE).as_posix().startswith(owned)
                       for owned in OWNED_ELSEWHERE)]


def test_the_tui_is_checked_too():
    """The TUI is held to the same shape (and ruff's complexity limit: no per-file
    ignores for it in pyproject.toml)."""
    checked = {p.relative_to(PACKAGE).as_posix() for p in core_modules()}
    assert {"tui/app.py", "tui/screens/editor.py", "tui/widgets/jobs.py"} <= checked
    config = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"workbench/tui/**"' not in config


def test_core_modules_and_functions_stay_small():
    too_long = []
    for path in core_modules():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{where}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{where}:{node.lineno}: {node.name}() is {length} lines")
    assert too_long == []
