"""The shape of the code, checked like the tests: ruff (style, bugbear, complexity <= 12)
and the size rules for the core (no module over 450 lines, no function over 60); the
README's Architecture section names every module."""

from __future__ import annotations

import ast
import re
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


def architecture_bullets(readme: str) -> list[tuple[str, str]]:
    """(package folder, text) for each bullet of the README's Architecture section.

    A bullet whose first name is a folder (`` `runs/` ``) or a path (`` `screens/x.py` ``)
    sets the folder for itself and the bullets nested in it; others keep their parent's."""
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    bullets: list[tuple[str, str]] = []
    parents: list[tuple[int, str]] = []   # (indent, folder) of the open bullets
    for line in section.splitlines():
        start = re.match(r"( *)- ", line)
        if start:
            indent = len(start.group(1))
            while parents and parents[-1][0] >= indent:
                parents.pop()
            folder = parents[-1][1] if parents else ""
            first = re.match(r"`([\w/.]+)`", line[start.end():])
            if first and "/" in first.group(1):
                folder += first.group(1).rpartition("/")[0] + "/"
            parents.append((indent, folder))
            bullets.append((folder, line))
        elif bullets and line.startswith(" "):
            bullets[-1] = (bullets[-1][0], bullets[-1][1] + "\n" + line)
        elif line.strip():
            parents = []   # a paragraph ends the list
    return bullets


def module_path(folder: str, name: str) -> str:
    """A bare name lies in its bullet's folder; a path may start at any enclosing one."""
    if "/" in name:
        parts = folder.split("/")[:-1]
        for depth in range(len(parts), -1, -1):
            base = "".join(part + "/" for part in parts[:depth])
            if (PACKAGE / base / name).is_file():
                return base + name
    return folder + name


def named_in_architecture(readme: str) -> set[str]:
    """Each module the Architecture section names, as a path under workbench/."""
    return {module_path(folder, name) for folder, text in architecture_bullets(readme)
            for name in re.findall(r"`([\w/]+\.py)`", text)}


def unnamed_modules(readme: str) -> tuple[list[str], list[str]]:
    """(modules the Architecture section leaves out, names in it that are no module)."""
    named = named_in_architecture(readme)
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p.name != "__init__.py"}
    return sorted(modules - named), sorted(named - modules)


def test_the_readme_names_every_module():
    """The README's Architecture section names every module of the package (by file name
    within its package's bullet, or by path), and names no module that is gone."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing, stale = unnamed_modules(readme)
    assert missing == [], f"modules the README's Architecture section does not name: {missing}"
    assert stale == [], f"the README's Architecture section names no such module: {stale}"


def test_the_architecture_check_can_fail():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    without_http = readme.replace("`http.py`", "the HTTP side")
    assert unnamed_modules(without_http)[0] == ["comfy/http.py"]
    misplaced = readme.replace("`plan_form.py`", "`plan_forms.py`")
    assert unnamed_modules(misplaced) == (["runs/plan_form.py"], ["runs/plan_forms.py"])
