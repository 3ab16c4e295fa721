"""The LoRA files a server has, for a picker: /models/loras, else LoraLoader's list."""

from __future__ import annotations

from .client import ComfyClient


async def server_loras(client: ComfyClient) -> list[str]:
    """The server's LoRA files, sorted (case-insensitively); [] when it has none."""
    names = await client.models("loras")
    if names is None:  # older servers: the list LoraLoaderModelOnly offers
        info = await client.object_info()
        try:
            names = [str(n) for n in
                     info["LoraLoaderModelOnly"]["input"]["required"]["lora_name"][0]]
        except (KeyError, TypeError, IndexError):
            names = []
    return sorted(set(names), key=str.lower)
