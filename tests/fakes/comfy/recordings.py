"""The recorded ComfyUI 0.3.64 answers the fake is built from, read once per process.

The full node set (`object_info_full.json`, 478 schemas) is what a real server answers to
``GET /object_info``; its model lists are the files that server had.  Parsed data is
shared between fakes and must be treated as read-only (the fake patches copies).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from tests.fixtures import recorded

#: (node, input) -> the model folder whose files fill that input's list.
MODEL_INPUTS: dict[tuple[str, str], str] = {
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("TripleCLIPLoader", "clip_name1"): "text_encoders",
    ("TripleCLIPLoader", "clip_name2"): "text_encoders",
    ("TripleCLIPLoader", "clip_name3"): "text_encoders",
    ("VAELoader", "vae_name"): "vae",
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("LoraLoader", "lora_name"): "loras",
    ("CreateHookLora", "lora_name"): "loras",
    ("CreateHookLoraModelOnly", "lora_name"): "loras",
    ("StyleModelLoader", "style_model_name"): "style_models",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("ControlNetLoader", "control_net_name"): "controlnet",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
}
#: Entries VAELoader lists that are not files in models/vae.
VAE_EXTRAS = ("pixel_space", "taesd", "taesdxl", "taesd3", "taef1")
#: Nodes whose image list is the server's input folder.
IMAGE_LISTS = (("LoadImage", "image"), ("LoadImageMask", "image"))


def body(name: str, key: str | None = None) -> Any:
    """The recorded HTTP body of ``name`` (or of its entry ``key``)."""
    data = recorded(name)
    if key is not None:
        data = data[key]
    return data["body"]


@functools.cache
def object_info_full() -> dict:
    """Every node schema of the recorded server (shared: do not modify)."""
    return recorded("object_info_full.json")


@functools.cache
def model_folders() -> list[str]:
    """GET /models: the folder names the recorded server knows."""
    return list(body("models_index.json", "/models"))


def input_choices(schema: dict, name: str) -> tuple[str, list] | None:
    """('list'|'combo', options) of a combo input, in either schema style."""
    for section in ("required", "optional"):
        config = (schema.get("input", {}).get(section) or {}).get(name)
        if config is None:
            continue
        if isinstance(config[0], list):
            return "list", config[0]
        if config[0] == "COMBO" and len(config) > 1:
            return "combo", config[1].get("options", [])
    return None


def recorded_models() -> dict[str, list[str]]:
    """Folder -> files, as the recorded server had them (read from its node lists)."""
    info = object_info_full()
    models: dict[str, list[str]] = {folder: [] for folder in model_folders()}
    for (node, name), folder in MODEL_INPUTS.items():
        if node in info and not models.get(folder):
            found = input_choices(info[node], name)
            if found:
                models[folder] = [f for f in found[1] if f not in VAE_EXTRAS]
    return models


def first_session_models() -> dict[str, list[str]]:
    """Folder -> files of the first recording session (dummy files: three diffusion
    models, one LoRA), which the ``error_*.json`` answers quote."""
    index = recorded("models_index.json")
    return {path.rsplit("/", 1)[1]: list(rec["body"]) for path, rec in index.items()
            if path.startswith("/models/") and rec["status"] == 200}


def with_files(models: dict[str, list[str]], inputs: list[str]) -> dict:
    """The full node set with its model lists and image lists set to these files (only
    the patched schemas are copied)."""
    info = dict(object_info_full())
    for (node, name), folder in MODEL_INPUTS.items():
        if node not in info:
            continue
        files = sorted(models.get(folder, []))
        if folder == "vae":
            files.append("pixel_space")
        info[node] = _set_choices(info[node], name, files)
    for node, name in IMAGE_LISTS:
        if node in info:
            info[node] = _set_choices(info[node], name, sorted(inputs))
    return info


def _set_choices(schema: dict, name: str, files: list[str]) -> dict:
    schema = copy.deepcopy(schema)
    for section in ("required", "optional"):
        config = (schema["input"].get(section) or {}).get(name)
        if config is None:
            continue
        if isinstance(config[0], list):
            config[0] = list(files)
        elif config[0] == "COMBO" and len(config) > 1:
            config[1]["options"] = list(files)
    return schema
