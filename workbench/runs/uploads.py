"""Uploading source images once per content: a small cache of what each server already has.

A source image (or a Kontext step's previous output) is uploaded under its content hash
the first time; later runs with the same bytes reuse the server-side name.  The cache is
JSON under the user cache dir (server URL -> sha256 -> name).  It can go stale (the server's
input folder was cleared), so a cached name is trusted only while the server's LoadImage
list still shows it, and the run service uploads again when the server refuses the
LoadImage input anyway.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from .. import locations
from ..atomic import write_atomic
from ..comfy.client import ComfyClient
from ..images.source import SourceImage
from ..untrusted import read_json_file

_LOCK = threading.Lock()


def server_name(ref) -> str:
    """The value LoadImage wants for an uploaded `ImageRef`."""
    return f"{ref.subfolder}/{ref.filename}" if ref.subfolder else ref.filename


class UploadCache:
    """server URL -> sha256 -> uploaded name, persisted at ``cache_dir()/uploads.json``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else locations.cache_dir() / "uploads.json"
        self._data: dict[str, dict[str, str]] | None = None

    def _load(self) -> dict[str, dict[str, str]]:
        if self._data is None:
            try:
                data = read_json_file(self.path)
            except (OSError, ValueError):
                data = {}
            self._data = {str(server): {str(k): str(v) for k, v in names.items()}
                          for server, names in data.items() if isinstance(names, dict)} \
                if isinstance(data, dict) else {}
        return self._data

    def _save(self) -> None:
        with _LOCK:
            write_atomic(self.path, json.dumps(self._load(), indent=1, sort_keys=True)
                         .encode("utf-8"))

    def get(self, server: str, sha256: str) -> str | None:
        return self._load().get(server.rstrip("/"), {}).get(sha256)

    def put(self, server: str, sha256: str, name: str) -> None:
        self._load().setdefault(server.rstrip("/"), {})[sha256] = name
        self._save()

    def forget(self, server: str, sha256: str) -> None:
        if self._load().get(server.rstrip("/"), {}).pop(sha256, None) is not None:
            self._save()


def _input_files(object_info: dict | None) -> list[str] | None:
    try:
        files = object_info["LoadImage"]["input"]["required"]["image"][0]
    except (KeyError, TypeError, IndexError):
        return None
    return [str(f) for f in files] if isinstance(files, list) else None


async def ensure_uploaded(client: ComfyClient, source: SourceImage, *,
                          cache: UploadCache | None = None, object_info: dict | None = None,
                          force: bool = False) -> str:
    """The server-side name of ``source``, uploading it only if this server does not have
    these bytes yet.  ``object_info`` (when known) is checked for the cached name."""
    cache = cache if cache is not None else UploadCache()
    if not force:
        cached = cache.get(client.base_url, source.sha256)
        if cached is not None:
            listed = _input_files(object_info)
            if listed is None or cached in listed:
                return cached
    ref = await client.upload_image(source.data, source.upload_name)
    name = server_name(ref)
    cache.put(client.base_url, source.sha256, name)
    return name


def missing_image(problems) -> bool:
    """Whether ``problems`` (`validate.Problem`s) say a LoadImage file is not on the server
    (the local check against object_info, or the server's own "Invalid image file")."""
    return any(p.class_type in ("LoadImage", "LoadImageOutput", "LoadImageMask")
               and p.input == "image"
               for p in problems)
