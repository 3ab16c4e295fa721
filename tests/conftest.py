"""Shared test setup: keep the machine's own config, libraries and caches out of tests."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

# The normal suite must pass every time: property tests use a fixed sequence of examples
# (what they found once stays found).  `HYPOTHESIS_PROFILE=explore uv run pytest` searches
# afresh with random examples and the full example counts (tests/props.py), to find new
# failures on purpose.
settings.register_profile("default", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_finish(session):
    """Spend less of the run in the garbage collector (it took a fifth of a TUI test's CPU).

    Everything imported by now (Textual, tokenizers, hypothesis, the test modules) lives
    until the end: frozen, the full collections stop walking it again and again.  A TUI test
    allocates millions of short-lived objects (strips, segments, styles), so the youngest
    generation is collected every 10,000 allocations instead of every 700.  Only the timing
    of collections changes; what is garbage is still collected.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


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
