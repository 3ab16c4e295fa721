"""Sharing one GPU between Ollama and FLUX: free the LLM's memory before image jobs.

On a single GPU box a loaded LLM (several GB) and FLUX (8-24 GB) fight for VRAM.  With
``[ollama] unload_before_jobs`` (on by default when Ollama and ComfyUI share a host), a
`GpuSharing` asks Ollama to unload its models (``keep_alive: 0``) before image jobs are
submitted.  It costs nothing when Ollama is not running, and it asks again only after an
LLM action has run since the last time (``note_llm_used``, which the session's Ollama
clients call).  One object per session (`sharing_for` keeps it with the config's runtime
state) is handed to whatever submits image jobs; nothing here is module-global.
"""

from __future__ import annotations

from urllib.parse import urlsplit


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
    value = config.ollama.unload_before_jobs
    if isinstance(value, bool):
        return value
    return same_host(config.ollama.host, config.comfyui.url)


class GpuSharing:
    """The decision "unload Ollama's models before image jobs", with its session state."""

    #: A new session assumes an LLM may hold memory (another process may have loaded one).
    ASSUME_USED = True

    def __init__(self, enabled: bool, ollama_host: str) -> None:
        self.enabled = enabled
        self.ollama_host = ollama_host
        self.llm_used = self.ASSUME_USED

    @classmethod
    def from_config(cls, config) -> GpuSharing:
        return cls(unload_before_jobs(config), config.ollama.host)

    def note_llm_used(self) -> None:
        """An LLM ran: it may hold GPU memory again."""
        self.llm_used = True

    async def release_for_images(self) -> list[str]:
        """Unload Ollama's models if the setting says so; returns the names unloaded."""
        if not self.enabled or not self.llm_used:
            return []
        from .ollama import LLMError, OllamaClient

        try:
            # a short total deadline: images must not wait long on a stuck Ollama
            async with OllamaClient(self.ollama_host, timeout=3.0, deadline=10.0,
                                    retry_delay=0.0) as client:
                names = await client.unload_all()
        except LLMError:  # Ollama not running (or not answering): it holds no GPU memory
            names = []
        self.llm_used = False
        return names


def sharing_for(config) -> GpuSharing:
    """The session's `GpuSharing` (made on first use, kept in ``config.runtime``)."""
    if config.runtime.gpu is None:
        config.runtime.gpu = GpuSharing.from_config(config)
    return config.runtime.gpu
