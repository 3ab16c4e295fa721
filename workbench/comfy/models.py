"""Which FLUX model files a built-in workflow loads on a given server.

Names come from config (``[comfyui.models]``: dev, schnell, kontext, clip_l, t5xxl, vae,
checkpoint_dev, checkpoint_schnell, checkpoint_kontext, loading = "auto" | "split" |
"checkpoint"), default to the common names, and are picked from what the server lists in
its object_info when that is known (exact names first, then a close match).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNET_DEFAULTS = {"dev": "flux1-dev.safetensors", "schnell": "flux1-schnell.safetensors",
                 "kontext": "flux1-kontext-dev.safetensors"}
CHECKPOINT_DEFAULTS = {"dev": "flux1-dev-fp8.safetensors",
                       "schnell": "flux1-schnell-fp8.safetensors",
                       "kontext": "flux1-kontext-dev-fp8.safetensors"}
CLIP_L_DEFAULTS = ("clip_l.safetensors",)
T5_DEFAULTS = ("t5xxl_fp16.safetensors", "t5xxl_fp8_e4m3fn.safetensors",
               "t5xxl_fp8_e4m3fn_scaled.safetensors")
VAE_DEFAULTS = ("ae.safetensors", "flux_vae.safetensors", "ae.sft")


@dataclass
class ModelFiles:
    """The files a FLUX workflow loads; ``checkpoint`` set means single-file loading."""

    unet: str = UNET_DEFAULTS["dev"]
    clip_l: str = CLIP_L_DEFAULTS[0]
    t5xxl: str = T5_DEFAULTS[0]
    vae: str = VAE_DEFAULTS[0]
    checkpoint: str | None = None

    def needed(self) -> dict[str, str]:
        """folder -> file, for doctor and for messages."""
        if self.checkpoint:
            return {"checkpoints": self.checkpoint}
        return {"diffusion_models": self.unet, "text_encoders (clip_l)": self.clip_l,
                "text_encoders (t5xxl)": self.t5xxl, "vae": self.vae}


def model_settings(config: Any) -> dict[str, str]:
    """config.toml's ``[comfyui.models]`` (empty without a config)."""
    return dict(config.comfyui.models) if config is not None else {}


def input_options(object_info: dict | None, node: str, name: str) -> list[str] | None:
    """The values a node's input offers in ``object_info`` (model files...), None if unknown."""
    try:   # a server's node list may be any shape: what is not ComfyUI's is "unknown"
        section = object_info[node]["input"]
        config = section.get("required", {}).get(name) or section.get("optional", {})[name]
        kind = config[0]
        if isinstance(kind, list):
            return [str(x) for x in kind]
        if kind == "COMBO" and len(config) > 1 and isinstance(config[1].get("options"), list):
            return [str(x) for x in config[1]["options"]]
    except (KeyError, TypeError, AttributeError, IndexError):
        return None
    return None


def _pick(candidates: list[str], installed: list[str] | None, fuzzy: tuple[str, ...] = (),
          avoid: tuple[str, ...] = ()) -> str | None:
    if installed is None:
        return candidates[0] if candidates else None
    for name in candidates:
        if name in installed:
            return name
    for name in installed:
        low = name.lower()
        if fuzzy and all(word in low for word in fuzzy) and not any(a in low for a in avoid):
            return name
    return None


def choose_models(variant: str, object_info: dict | None = None,
                  settings: dict[str, str] | None = None) -> ModelFiles:
    """The files for ``variant``: configured names first, then the common ones, then the
    server's own files that look right; checkpoint loading when that is all there is (or
    when ``loading = "checkpoint"``)."""
    settings = settings or {}
    loading = settings.get("loading", "auto")
    unets = input_options(object_info, "UNETLoader", "unet_name")
    clips = input_options(object_info, "DualCLIPLoader", "clip_name1")
    vaes = input_options(object_info, "VAELoader", "vae_name")
    ckpts = input_options(object_info, "CheckpointLoaderSimple", "ckpt_name")
    avoid = ("kontext",) if variant == "dev" else ()
    keyword = {"dev": "dev", "schnell": "schnell", "kontext": "kontext"}.get(variant, "dev")
    wanted_unet = [settings[variant]] if variant in settings else []
    unet = _pick(wanted_unet + [UNET_DEFAULTS.get(variant, UNET_DEFAULTS["dev"])], unets,
                 ("flux", keyword), avoid)
    wanted_ckpt = [settings[f"checkpoint_{variant}"]] if f"checkpoint_{variant}" in settings \
        else []
    ckpt = _pick(wanted_ckpt + [CHECKPOINT_DEFAULTS.get(variant, CHECKPOINT_DEFAULTS["dev"])],
                 ckpts, ("flux", keyword), avoid)
    files = ModelFiles(
        unet=unet or (wanted_unet or [UNET_DEFAULTS.get(variant, UNET_DEFAULTS["dev"])])[0],
        clip_l=_pick(([settings["clip_l"]] if "clip_l" in settings else [])
                     + list(CLIP_L_DEFAULTS), clips, ("clip_l",)) or CLIP_L_DEFAULTS[0],
        t5xxl=_pick(([settings["t5xxl"]] if "t5xxl" in settings else [])
                    + list(T5_DEFAULTS), clips, ("t5xxl",)) or T5_DEFAULTS[0],
        vae=_pick(([settings["vae"]] if "vae" in settings else []) + list(VAE_DEFAULTS),
                  [v for v in vaes if v != "pixel_space"] if vaes is not None else None,
                  ("ae",)) or VAE_DEFAULTS[0])
    if loading == "checkpoint" or (loading == "auto" and unet is None and ckpt is not None):
        files.checkpoint = ckpt or (wanted_ckpt or [CHECKPOINT_DEFAULTS.get(variant)])[0]
    return files
