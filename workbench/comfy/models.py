"""Which FLUX model files a built-in workflow loads on a given server.

Names come from config (``[comfyui.models]``: dev, schnell, kontext, clip_l, t5xxl, vae,
checkpoint_dev, checkpoint_schnell, checkpoint_kontext, loading = "auto" | "split" |
"checkpoint", and the FLUX.1 tools' files: fill, canny, depth, canny_lora, depth_lora,
redux, clip_vision), default to the common names, and are picked from what the server
lists in its object_info when that is known (exact names first, then a close match).
`TOOL_MODELS` says for each tool file where it goes and where to download it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..toolfiles import TOOL_FILES, TOOL_MODELS, ToolModel, pick_file  # noqa: F401

UNET_DEFAULTS = {"dev": "flux1-dev.safetensors", "schnell": "flux1-schnell.safetensors",
                 "kontext": "flux1-kontext-dev.safetensors",
                 "fill": "flux1-fill-dev.safetensors", "canny": "flux1-canny-dev.safetensors",
                 "depth": "flux1-depth-dev.safetensors"}
#: Words in a file name that mark another model than plain dev (never picked for dev).
_NOT_PLAIN_DEV = ("kontext", "fill", "canny", "depth", "redux", "lora")
CHECKPOINT_DEFAULTS = {"dev": "flux1-dev-fp8.safetensors",
                       "schnell": "flux1-schnell-fp8.safetensors",
                       "kontext": "flux1-kontext-dev-fp8.safetensors"}
CLIP_L_DEFAULTS = ("clip_l.safetensors",)
T5_DEFAULTS = ("t5xxl_fp16.safetensors", "t5xxl_fp8_e4m3fn.safetensors",
               "t5xxl_fp8_e4m3fn_scaled.safetensors")
VAE_DEFAULTS = ("ae.safetensors", "flux_vae.safetensors", "ae.sft")


def tool_file(key: str, object_info: dict | None = None,
              settings: dict[str, str] | None = None) -> str:
    """The file of tool model ``key`` on this server: the configured name, the common one,
    or a close match among the server's files (the common name when none is there)."""
    model = TOOL_MODELS[key]
    settings = settings or {}
    wanted = [settings[key]] if key in settings else []
    installed = input_options(object_info, model.node, model.input)
    if installed is not None and model.key == "clip_vision":
        installed = [f for f in installed if "siglip" in f.lower() or "sigclip" in f.lower()] \
            or installed
    picked = pick_file(wanted + [model.file], installed, model.words)
    return picked or (wanted or [model.file])[0]


@dataclass
class ModelFiles:
    """The files a FLUX workflow loads; ``checkpoint`` set means single-file loading."""

    unet: str = UNET_DEFAULTS["dev"]
    clip_l: str = CLIP_L_DEFAULTS[0]
    t5xxl: str = T5_DEFAULTS[0]
    vae: str = VAE_DEFAULTS[0]
    checkpoint: str | None = None
    #: FLUX.1 tools files the workflow loads besides: `TOOL_MODELS` key -> file.
    tools: dict[str, str] = field(default_factory=dict)

    def needed(self) -> dict[str, str]:
        """folder -> file, for doctor and for messages (a label may add words after the
        folder: "text_encoders (clip_l)")."""
        base = {"checkpoints": self.checkpoint} if self.checkpoint else {
            "diffusion_models": self.unet, "text_encoders (clip_l)": self.clip_l,
            "text_encoders (t5xxl)": self.t5xxl, "vae": self.vae}
        for key, file in self.tools.items():
            base[f"{TOOL_MODELS[key].folder} ({key.replace('_', ' ')})"] = file
        return base


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
    avoid = _NOT_PLAIN_DEV if variant == "dev" else ("lora",)
    keyword = variant if variant in UNET_DEFAULTS else "dev"
    wanted_unet = [settings[variant]] if variant in settings else []
    unet = pick_file(wanted_unet + [UNET_DEFAULTS.get(variant, UNET_DEFAULTS["dev"])], unets,
                 ("flux", keyword), avoid)
    wanted_ckpt = [settings[f"checkpoint_{variant}"]] if f"checkpoint_{variant}" in settings \
        else []
    common = [CHECKPOINT_DEFAULTS[variant]] if variant in CHECKPOINT_DEFAULTS else []
    ckpt = pick_file(wanted_ckpt + common, ckpts, ("flux", keyword), avoid)
    files = ModelFiles(
        unet=unet or (wanted_unet or [UNET_DEFAULTS.get(variant, UNET_DEFAULTS["dev"])])[0],
        clip_l=pick_file(([settings["clip_l"]] if "clip_l" in settings else [])
                     + list(CLIP_L_DEFAULTS), clips, ("clip_l",)) or CLIP_L_DEFAULTS[0],
        t5xxl=pick_file(([settings["t5xxl"]] if "t5xxl" in settings else [])
                    + list(T5_DEFAULTS), clips, ("t5xxl",)) or T5_DEFAULTS[0],
        vae=pick_file(([settings["vae"]] if "vae" in settings else []) + list(VAE_DEFAULTS),
                  [v for v in vaes if v != "pixel_space"] if vaes is not None else None,
                  ("ae",)) or VAE_DEFAULTS[0])
    if loading == "checkpoint" or (loading == "auto" and unet is None and ckpt is not None):
        files.checkpoint = ckpt or (wanted_ckpt or [CHECKPOINT_DEFAULTS.get(variant)])[0]
    return files
