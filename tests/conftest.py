"""Shared test setup: keep the machine's own config, libraries and caches out of tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Point every platformdirs location and server env var at a fresh temp folder."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(var, str(home / sub))
    for var in ("COMFYUI_URL", "COMFYUI_AUTH_HEADER", "OLLAMA_HOST", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    # Image jobs would ask a real local Ollama to unload its models (llm.gpu): not in tests,
    # unless a test's own LLM use (against its fake) says a model is loaded.
    from workbench.llm.gpu import GpuSharing

    monkeypatch.setattr(GpuSharing, "ASSUME_USED", False)
    return home
