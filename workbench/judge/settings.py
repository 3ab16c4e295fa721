"""Everything the judge reads from the settings, and its one use of GPU sharing.

Kept in one module on purpose: the configuration and the GPU-sharing state are being
reshaped, and this is the only place that has to follow.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Total seconds one vision request may take (loading a model included), not per read.
REQUEST_DEADLINE = 300.0


@dataclass(frozen=True)
class JudgeSettings:
    ollama_host: str
    vision_model: str
    #: Ollama and ComfyUI share a GPU: judging must not overlap image jobs, and the vision
    #: model is unloaded when judging ends.
    shares_gpu: bool
    deadline: float = REQUEST_DEADLINE

    @classmethod
    def from_config(cls, config, *, model: str = "") -> JudgeSettings:
        from ..llm.gpu import unload_before_jobs

        vision = model or config.ollama.vision_model or config.ollama.model
        return cls(config.ollama.host, vision, bool(unload_before_jobs(config)))

    @property
    def may_interleave(self) -> bool:
        """Whether judging may run while image jobs do (only when Ollama has its own GPU)."""
        return not self.shares_gpu


def on_llm_use(config):
    """What the judge's Ollama client calls before each request: the session's GPU sharing
    then knows a model may hold memory, so the next image job frees it first."""
    from ..llm.gpu import sharing_for

    return sharing_for(config).note_llm_used


async def release_gpu(config) -> list[str]:
    """Unload Ollama's models before the next FLUX job on a shared box (the session's
    `llm.gpu.GpuSharing`; it does nothing when the setting is off or no LLM ran since)."""
    from ..llm.gpu import sharing_for

    gpu = sharing_for(config)
    gpu.note_llm_used()   # the judge's vision model may hold memory now
    return await gpu.release_for_images()
