"""Helpers for the lint tests: build specs tersely and read what a diagnostic points at."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from workbench.lint import field_text
from workbench.spec import Lora, Params, PromptSpec

PARAM_NAMES = {"seed", "steps", "guidance", "width", "height", "sampler", "scheduler",
               "denoise", "cfg", "negative", "preset", "loras"}


def make(**kw) -> PromptSpec:
    """A spec from flat keywords (spec fields and parameters mixed, like a library table)."""
    params = {k: kw.pop(k) for k in list(kw) if k in PARAM_NAMES}
    if "loras" in params:
        params["loras"] = [Lora(**lora) for lora in params["loras"]]
    return PromptSpec(name=kw.pop("name", "test"), params=Params(**params), **kw)


def pointed(spec: PromptSpec, diagnostic) -> str:
    return field_text(spec, diagnostic.field)[diagnostic.start:diagnostic.end]


@pytest.fixture
def portrait(tmp_path: Path) -> Path:
    """An 832x1216 PNG on disk, as an img2img / Kontext source."""
    path = tmp_path / "portrait.png"
    Image.new("RGB", (832, 1216), (120, 90, 60)).save(path)
    return path
