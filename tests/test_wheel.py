"""The installed wheel finds its bundled prompts and themes (not only a checkout does).

Builds the wheel with ``uv build``, installs it in a fresh venv with ``uv pip install``
(dependencies come from uv's cache or the registry) and runs the installed ``workbench``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UV = shutil.which("uv")

pytestmark = [pytest.mark.wheel,
              pytest.mark.skipif(UV is None, reason="uv is not installed")]


def uv(*args: str, cwd: Path = REPO) -> str:
    result = subprocess.run([UV, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``workbench`` executable of a venv holding only the built wheel."""
    where = tmp_path_factory.mktemp("wheel")
    uv("build", "--wheel", "--out-dir", str(where / "dist"))
    [wheel] = (where / "dist").glob("flux_workbench-*.whl")
    uv("venv", "--quiet", str(where / "venv"))
    python = where / "venv" / "bin" / "python"
    uv("pip", "install", "--quiet", "--python", str(python), str(wheel))
    return where / "venv" / "bin" / "workbench"


def run(executable: Path, *args: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "VIRTUAL_ENV"))}
    env.update({f"XDG_{kind}_HOME": str(home / kind.lower())
                for kind in ("CONFIG", "DATA", "STATE", "CACHE")})
    result = subprocess.run([str(executable), *args], cwd=home, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_installed_wheel_lists_its_bundled_prompts_and_its_rules(installed, tmp_path):
    prompts = Path(run(installed, "locate", "bundled-prompts", home=tmp_path).strip())
    assert "site-packages" in prompts.parts and prompts.is_dir()   # not this checkout
    assert not prompts.is_relative_to(REPO)
    listed = run(installed, "list", str(prompts), home=tmp_path)
    assert "kontext.toml" in listed and len(listed.splitlines()) >= 10
    themes = Path(run(installed, "locate", "bundled-themes", home=tmp_path).strip())
    assert (themes / "workbench-dark.toml").is_file() and not themes.is_relative_to(REPO)
    rules = run(installed, "rules", home=tmp_path)
    assert "FX101" in rules and "weight-syntax" in rules
