"""The core never imports Textual: headless verbs start fast and work where it is missing.

Each check runs in a fresh interpreter (``sys.modules`` of the test process is full of
Textual already).  When a module moves, update ``CORE_MODULES``; a name that no longer
imports fails loudly rather than passing for the wrong reason.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..conftest import REPO

#: Core modules that must load without Textual (edit when modules move).
CORE_MODULES = [
    "workbench.cli",
    "workbench.runs.runner",
    "workbench.lint",
    "workbench.llm.actions",
    "workbench.images.preview",
]

#: Headless verbs (``workbench VERB ...``) that must run start to finish without Textual.
SAMPLE = REPO / "tests" / "tui" / "sample" / "studio.toml"
HEADLESS_RUNS = [
    ["list", str(SAMPLE)],
    ["rules"],
    ["lint", str(SAMPLE)],
    ["locate", "libraries"],
]

_PROBE = """
import json, sys
{body}
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print("\\n" + json.dumps({{"code": code, "textual": loaded}}))
"""


def _probe(body: str, tmp_path) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", _PROBE.format(body=body)], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_probe_sees_textual_when_it_is_imported(tmp_path):
    found = _probe("import workbench.tui.app\ncode = 0", tmp_path)
    assert "textual" in found["textual"]  # the check itself can fail


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_textual(module, tmp_path):
    found = _probe(f"import importlib\nimportlib.import_module({module!r})\ncode = 0", tmp_path)
    assert found["textual"] == [], f"{module} pulls in {found['textual'][:5]}"


@pytest.mark.parametrize("argv", HEADLESS_RUNS, ids=lambda argv: argv[0])
def test_headless_verb_runs_without_textual(argv, tmp_path):
    found = _probe(f"from workbench.cli import main\ncode = main({argv!r})", tmp_path)
    assert found["code"] in (0, 1), found  # lint exits 1 when it finds problems
    assert found["textual"] == [], f"workbench {argv[0]} pulls in {found['textual'][:5]}"
