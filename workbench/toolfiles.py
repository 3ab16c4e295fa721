"""The FLUX.1 tools' model files: what each is, where it goes, and which a server lacked.

Plain data and file reading only (the linter uses it, and never talks to a server):
`TOOL_MODELS` says for each file its folder under ComfyUI's models/, the node input that
lists it, words that find a renamed copy, and where to download it.  Whenever a run or
``doctor`` reads a server's object_info, `comfy.inventory.remember` keeps that server's
tool file lists in ``cache_dir()/server_models.json``; `known` reads them back (again only
when the file changed) and `missing_tool_files` says which needed files a server lacked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import locations
from .untrusted import read_json_file

_READ: dict[str, tuple[tuple, dict]] = {}


@dataclass(frozen=True)
class ToolModel:
    """One FLUX.1 tools file: what it is, its folder under models/, the node input that
    lists it, words that find a renamed copy, and where to download it."""

    key: str
    file: str
    folder: str
    node: str
    input: str
    words: tuple[str, ...]
    url: str
    what: str

    def where(self) -> str:
        return f"models/{self.folder}"

    def advice(self) -> str:
        return (f"{self.what}: download {self.file} from {self.url} and put it in "
                f"ComfyUI's {self.where()} folder, then restart ComfyUI (or refresh its "
                "model lists)")


BFL = "https://huggingface.co/black-forest-labs/"
TOOL_MODELS: dict[str, ToolModel] = {m.key: m for m in (
    ToolModel("fill", "flux1-fill-dev.safetensors", "diffusion_models", "UNETLoader", "unet_name",
              ("flux", "fill"), BFL + "FLUX.1-Fill-dev", "FLUX.1 Fill [dev]"),
    ToolModel("canny", "flux1-canny-dev.safetensors", "diffusion_models", "UNETLoader", "unet_name",
              ("flux", "canny"), BFL + "FLUX.1-Canny-dev", "FLUX.1 Canny [dev]"),
    ToolModel("depth", "flux1-depth-dev.safetensors", "diffusion_models", "UNETLoader", "unet_name",
              ("flux", "depth"), BFL + "FLUX.1-Depth-dev", "FLUX.1 Depth [dev]"),
    ToolModel("canny_lora", "flux1-canny-dev-lora.safetensors", "loras",
              "LoraLoaderModelOnly", "lora_name", ("canny", "lora"),
              BFL + "FLUX.1-Canny-dev-lora", "FLUX.1 Canny [dev] LoRA"),
    ToolModel("depth_lora", "flux1-depth-dev-lora.safetensors", "loras",
              "LoraLoaderModelOnly", "lora_name", ("depth", "lora"),
              BFL + "FLUX.1-Depth-dev-lora", "FLUX.1 Depth [dev] LoRA"),
    ToolModel("redux", "flux1-redux-dev.safetensors", "style_models", "StyleModelLoader",
              "style_model_name", ("redux",), BFL + "FLUX.1-Redux-dev", "FLUX.1 Redux [dev]"),
    ToolModel("clip_vision", "sigclip_vision_patch14_384.safetensors", "clip_vision",
              "CLIPVisionLoader", "clip_name", ("sigclip",),
              "https://huggingface.co/Comfy-Org/sigclip_vision_384",
              "SigLIP vision encoder for Redux"),
)}
#: file name -> its tool model (for messages about a file the server lacks).
TOOL_FILES = {m.file: m for m in TOOL_MODELS.values()}


def pick_file(candidates: list[str], installed: list[str] | None,
              fuzzy: tuple[str, ...] = (), avoid: tuple[str, ...] = ()) -> str | None:
    """The first of ``candidates`` the server has, else one of its files holding every
    ``fuzzy`` word and no ``avoid`` word; without a list (None), the first candidate."""
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


def inventory_path() -> Path:
    return locations.cache_dir() / "server_models.json"


def read_inventory(path: Path) -> dict:
    try:
        data = read_json_file(path)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known() -> dict[str, dict]:
    """server URL -> {"at": unix time, "files": {key: [files]}}, as last remembered."""
    path = inventory_path()
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _READ.get(str(path))
    if cached is not None and cached[0] == version:
        return cached[1]
    data = {url: entry for url, entry in read_inventory(path).items()
            if isinstance(entry, dict) and isinstance(entry.get("files"), dict)}
    _READ[str(path)] = (version, data)
    return data


def missing_tool_files(keys: list[str]) -> list[tuple[str, str, int]]:
    """(server, `TOOL_MODELS` key, when it was seen) for each needed tool file a known
    server did not list (a renamed copy that still looks right counts as installed)."""
    found = []
    for server, entry in known().items():
        files = entry["files"]
        for key in keys:
            listed = files.get(key)
            model = TOOL_MODELS[key]
            if isinstance(listed, list) and pick_file([model.file], [str(f) for f in listed],
                                                  model.words) is None:
                at = entry.get("at")
                found.append((server, key, int(at) if isinstance(at, (int, float)) else 0))
    return found
