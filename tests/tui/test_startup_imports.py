"""Nothing before the first frame that the first frame doesn't show: the TUI's modules load
without Pillow, rich-pixels, tomlkit, the network clients or the tokenizers, which are
imported when first used.  Checked in a fresh interpreter (this one has them all)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("PIL", "rich_pixels", "tomlkit", "httpx", "websockets", "ollama", "tokenizers",
         "textual_image", "aiohttp")

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))))
"""


def loaded_after(body: str, tmp_path: Path) -> list[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d"),
           "XDG_STATE_HOME": str(tmp_path / "s"), "XDG_CACHE_HOME": str(tmp_path / "x")}
    done = subprocess.run([sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_probe_sees_a_heavy_import(tmp_path):
    assert loaded_after("import PIL.Image, tomlkit", tmp_path) == ["PIL", "tomlkit"]


def test_the_tui_and_the_libraries_load_without_heavy_imports(tmp_path):
    body = ("import workbench.tui.app\n"
            "from workbench.workspace import open_workspace\n"
            f"open_workspace({str(REPO / 'tests' / 'tui' / 'sample')!r})\n"
            "from workbench.config import load_config\n"
            "load_config(env={})\n")
    assert loaded_after(body, tmp_path) == []


def test_the_protocol_check_and_the_preview_module_load_no_pillow(tmp_path):
    assert loaded_after("import workbench.images.preview\n"
                        "from workbench.images.graphics import detect_protocol\n"
                        "detect_protocol('auto')", tmp_path) == []
