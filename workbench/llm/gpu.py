"""Sharing one GPU between Ollama and FLUX: free the LLM's memory before image jobs.

On a single GPU box a loaded LLM (several GB) and FLUX (8-24 GB) fight for VRAM.  With
``[ollama] unload_before_jobs`` (on by default when Ollama and ComfyUI share a host),
`release_for_images` asks Ollama to unload its models (``keep_alive: 0``) before image
jobs are submitted.  It costs nothing when Ollama is not running, and it asks again only
after an LLM action has run since the last time (light to import: the Ollama client loads
only when there is something to unload).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

_state = {"llm_used": True, "released_at": 0.0}


def same_host(ollama_host: str, comfyui_url: str) -> bool:
    """Whether Ollama and ComfyUI run on one machine (so they share its GPU)."""

    def hostname(value: str) -> str:
        value = value if "://" in value else f"http://{value}"
        name = (urlsplit(value).hostname or "").lower()
        return "127.0.0.1" if name in ("localhost", "::1", "0.0.0.0", "") else name

    return hostname(ollama_host) == hostname(comfyui_url)


def unload_before_jobs(config) -> bool:
    """The "share one GPU" setting: ``[ollama] unload_before_jobs`` in config.toml, on by
    default when Ollama and the first ComfyUI server are on the same host."""
    value = (config.raw.get("ollama") or {}).get("unload_before_jobs")
    if isinstance(value, bool):
        return value
    return same_host(config.ollama_host, config.comfyui_url)


def note_llm_used() -> None:
    _state["llm_used"] = True


async def release_for_images(config) -> list[str]:
    """Unload Ollama's models if the setting says so; returns the names unloaded."""
    if config is None or not unload_before_jobs(config) or not _state["llm_used"]:
        return []
    from .ollama import LLMError, OllamaClient

    try:
        async with OllamaClient(config.ollama_host, timeout=3.0, retry_delay=0.0) as client:
            names = await client.unload_all()
    except LLMError:  # Ollama not running (or not answering): it holds no GPU memory
        names = []
    _state.update(llm_used=False, released_at=time.monotonic())
    return names
