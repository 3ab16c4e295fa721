"""``workbench doctor``: can the workbench use the configured ComfyUI server(s)?

Reach (HTTP and WebSocket), version, devices and VRAM (RAM for a CPU device), the FLUX
model files installed in each folder, and for every built-in workflow which files it would
load and whether they are there.  The FLUX.1 tools' workflows (Fill, Canny, Depth, Redux)
are optional: one whose files are missing is marked "–" with where to download them, and
does not fail the check.  Exit codes: 0 all good, 1 reachable but something is missing or
answers wrongly (an HTTP error, an answer that is not ComfyUI's, a timeout: each check says
which and goes on), 2 the server wants credentials, 3 unreachable.  Everything the server
says is shown escaped; credentials in the URL never are.
"""

from __future__ import annotations

import argparse
import asyncio

HELP = "check the ComfyUI server: reach, version, VRAM, FLUX model files"

FOLDERS = ("diffusion_models", "text_encoders", "vae", "loras", "checkpoints", "style_models",
           "clip_vision")
#: Where each folder's list is in object_info when /models/<folder> is not available.
_FALLBACK = {"diffusion_models": ("UNETLoader", "unet_name"),
             "text_encoders": ("DualCLIPLoader", "clip_name1"),
             "vae": ("VAELoader", "vae_name"), "loras": ("LoraLoaderModelOnly", "lora_name"),
             "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
             "style_models": ("StyleModelLoader", "style_model_name"),
             "clip_vision": ("CLIPVisionLoader", "clip_name")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all-files", action="store_true",
                        help="list every model file, not only FLUX-looking ones")


def run(args: argparse.Namespace, config) -> int:
    codes = [asyncio.run(_check(url, args, config)) for url in config.comfyui.urls]
    asyncio.run(_ollama(config))  # optional: reported, never the exit status
    return max(codes) if codes else 3


async def _ollama(config) -> None:
    """The local LLM (optional): reachable, the configured models pulled, the vision
    model able to see."""
    from ..llm.ollama import LLMError, OllamaClient
    from ..textsafe import one_line

    host, wanted = config.ollama.host, config.ollama.model
    vision = config.ollama.vision_model
    print(f"Ollama at {one_line(host)} (optional: the F9 / rewrite / describe actions)")
    try:
        async with OllamaClient(host) as client:
            names = [m.name for m in await client.models()]
            print(f"  ✓ reachable, {len(names)} model(s): "
                  f"{one_line(', '.join(names)) or 'none'}")
            for role, model in (("text", wanted), ("vision", vision)):
                if model not in names:
                    print(f"  ✗ {role} model {one_line(model)} is not pulled: "
                          f"ollama pull {one_line(model)}")
                elif role == "vision" and "vision" not in await client.capabilities(model):
                    print(f"  ✗ {one_line(model)} cannot see images: set [ollama] "
                          "vision_model to a vision model (e.g. llava:7b)")
                else:
                    print(f"  ✓ {role} model {one_line(model)}")
    except LLMError as exc:
        print(f"  ✗ {one_line(str(exc))}")


def _gb(value: object) -> str:
    """Bytes as GB; "?" for what is not a plausible byte count (not a number, negative,
    above a petabyte)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value < 2 ** 50:
        return "?"
    return f"{value / 1024 ** 3:.1f} GB"


def _is_flux(name: str, folder: str) -> bool:
    low = name.lower()
    if folder == "text_encoders":
        return "clip_l" in low or "t5" in low
    if folder == "vae":
        return low.startswith("ae.") or "flux" in low
    if folder == "clip_vision":
        return "sigclip" in low or "siglip" in low
    return "flux" in low or "redux" in low


async def _check(url: str, args: argparse.Namespace, config) -> int:
    from ..comfy.client import ComfyError, client_from_config
    from ..comfy.inventory import remember
    from ..textsafe import one_line, redact_url

    print(f"ComfyUI at {one_line(redact_url(url))}")
    try:
        client = client_from_config(config, url)
    except ComfyError as exc:
        print(f"  ✗ {exc}")
        return 3
    try:
        code = await _connect(client, config)
        if code:
            return code
        code = await _system(client)
        try:
            object_info = await client.object_info()
        except ComfyError as exc:
            print(f"  ✗ node list (GET /object_info): {one_line(str(exc))}")
            return 1
        remember(client.base_url, object_info)   # the linter warns of missing tool files
        installed = await _models(client, object_info, args.all_files)
        return max(code, _workflows(config, object_info, installed))
    finally:
        await client.close()


async def _connect(client, config) -> int:
    """Reach the server: 0 when it answers like ComfyUI, else the exit status (said)."""
    from ..comfy.client import AuthRequired, ComfyError, TimedOut, Unreachable
    from ..textsafe import one_line

    try:
        await client.connect(ws_timeout=5)
    except Unreachable as exc:
        print(f"  ✗ not reachable: {one_line(exc.reason)}")
        print("    Start ComfyUI (or the SSH tunnel to it), or point the workbench at it:\n"
              "      COMFYUI_URL=http://host:8188 workbench doctor\n"
              "      workbench doctor --comfyui-url http://host:8188\n"
              f"      or [comfyui] urls = [\"http://host:8188\"] in {config.path}")
        return 3
    except AuthRequired as exc:
        print(f"  ✗ {one_line(str(exc))}")
        return 2
    except TimedOut as exc:
        print(f"  ✗ {one_line(str(exc))}")
        return 1
    except ComfyError as exc:
        print(f"  ✗ answers, but not like ComfyUI: {one_line(str(exc))}")
        return 1
    print("  ✓ reachable over HTTP")
    if client.connected:
        print("  ✓ WebSocket open (live progress)")
    else:
        print(f"  ✗ WebSocket failed ({one_line(client.last_ws_error) or 'timeout'}); "
              "jobs will be followed by polling")
    return 0


def _field(table: object, key: str) -> str:
    """A short piece of server text from a dict that may not be one ("?" if missing)."""
    from ..textsafe import one_line

    value = table.get(key) if isinstance(table, dict) else None
    words = one_line("" if value is None else value).split()
    return (words[0] if key == "python_version" else " ".join(words))[:80] if words else "?"


async def _system(client) -> int:
    """Version and devices from /system_stats; 1 (said) when it does not answer sensibly."""
    from ..comfy.client import ComfyError
    from ..textsafe import one_line

    try:
        stats = await client.system_stats()
    except ComfyError as exc:
        print(f"  ✗ version and VRAM (GET /system_stats): {one_line(str(exc))}")
        return 1
    system = stats.get("system")
    print(f"  version: ComfyUI {_field(system, 'comfyui_version')}, "
          f"Python {_field(system, 'python_version')}, "
          f"PyTorch {_field(system, 'pytorch_version')}")
    devices = stats.get("devices")
    for device in devices if isinstance(devices, list) else []:
        if isinstance(device, dict):
            kind = _field(device, "type")
            # a CPU device reports the machine's RAM in its vram_* fields
            memory = "RAM (CPU device)" if kind == "cpu" else "VRAM"
            print(f"  device: {_field(device, 'name')} ({kind}), {memory} "
                  f"{_gb(device.get('vram_free'))} free of {_gb(device.get('vram_total'))}")
    return 0


async def _models(client, object_info: dict, all_files: bool) -> dict[str, list[str]]:
    """Model folder -> the files the server has (printed: FLUX ones, or all)."""
    from ..comfy.client import ComfyError
    from ..comfy.models import input_options
    from ..textsafe import one_line

    installed: dict[str, list[str]] = {}
    for folder in FOLDERS:
        try:
            files = await client.models(folder)
        except ComfyError as exc:   # e.g. a timeout: the node list still knows
            print(f"  ({folder}: GET /models/{folder} failed: {one_line(str(exc))})")
            files = None
        if files is None:
            node, name = _FALLBACK[folder]
            files = [f for f in (input_options(object_info, node, name) or [])
                     if f != "pixel_space"]
        installed[folder] = files
        shown = files if all_files else [f for f in files if _is_flux(f, folder)]
        print(f"  {folder}: " + (", ".join(one_line(f) for f in shown) or "(none)"))
    return installed


def _workflows(config, object_info: dict, installed: dict[str, list[str]]) -> int:
    """Which built-in workflows the server can run; 1 when one lacks a model file."""
    from ..comfy.models import TOOL_FILES, choose_models, model_settings
    from ..comfy.tool_graph import TOOL_BUILTINS, tool_files
    from ..comfy.workflows import BUILTINS, load_builtin

    print("  built-in workflows (– : an optional FLUX tool whose files are not installed):")
    code = 0
    settings = model_settings(config)
    for name, (_, variant, _, _description) in BUILTINS.items():
        tool = TOOL_BUILTINS.get(name)
        models = choose_models(tool.unet if tool else variant, object_info, settings)
        if tool is not None:
            _, models.tools = tool_files(load_builtin(name), object_info, settings)
        missing = {file: label.split(" ")[0] for label, file in models.needed().items()
                   if file not in installed.get(label.split(" ")[0], [])}
        mode = "checkpoint" if models.checkpoint else "split files"
        mark = "✓" if not missing else "–" if tool is not None else "✗"
        line = f"    {mark} {name}: {mode}: " + ", ".join(models.needed().values())
        if missing:
            line += "; missing: " + ", ".join(f"{file} (models/{folder})"
                                              for file, folder in missing.items())
            code = code if tool is not None else 1
        print(line)
        for file in missing:
            if tool is not None and file in TOOL_FILES:
                print(f"        {TOOL_FILES[file].advice()}")
    return code
