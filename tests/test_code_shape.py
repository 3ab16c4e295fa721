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
#: Modules whose shape other issues own for now (none: the rules apply to the whole package).
OWNED_ELSEWHERE: tuple[str, ...] = ()
#: Modules that are pure data tables (word lists, vocabularies): they may be longer than
#: `MAX_MODULE_LINES`, and so they must hold no code (no function or class).
DATA_TABLES: tuple[str, ...] = ()
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
        if len(text.splitlines()) > MAX_MODULE_LINES \
                and path.relative_to(PACKAGE).as_posix() not in DATA_TABLES:
            too_long.append(f"{where}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{where}:{node.lineno}: {node.name}() is {length} lines")
    assert too_long == []


def test_data_tables_hold_only_data():
    for name in DATA_TABLES:
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        code = [node.name for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert code == [], f"{name} is declared a data table but defines {code}"


def test_the_linter_is_covered():
    """The linter's modules are held to the same shape as the rest of the core."""
    covered = {p.relative_to(PACKAGE).as_posix() for p in core_modules()}
    assert "lint/engine.py" in covered and "lint/rules/wording.py" in covered
    config = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"workbench/lint/**"' not in config and '"tests/lint/**"' not in config
