"""Putting what a job made on disk, safely, with everything needed to make it again.

Each run gets a folder; beside its images goes ``run.json`` (prompt id, server, seed,
timings, status, the images and anything refused) and ``workflow.json`` (the exact
submitted workflow, loadable back into ComfyUI).  The server is not trusted: file names
lose any path (no traversal, no absolute paths, no control characters), downloads stop at
a size cap, and every image is opened with Pillow's decompression-bomb guard turned into
an error and verified before it is written.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
import unicodedata
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ..atomic import write_atomic
from ..textsafe import one_line
from ..comfy.client import ComfyClient, ComfyError, JobResult
from ..comfy.events import ImageRef

#: More pixels than this is refused (8K x 8K; FLUX makes ~1-4 MP).
MAX_PIXELS = 64 * 1024 * 1024
ALLOWED_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+=,@-]")


class UnsafeImage(ComfyError):
    pass


def safe_filename(name: str, fallback: str = "image.png") -> str:
    """A plain file name from whatever the server sent: last path part only, no control or
    odd characters, no leading dots, a known image suffix, at most 120 characters."""
    name = unicodedata.normalize("NFKC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", one_line(name)).strip(" .")
    name = re.sub(r"_+", "_", name).lstrip("_")
    if not name or set(name) <= {"_", "."}:
        name = fallback
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in ALLOWED_SUFFIXES:
        stem, suffix = name, "png"
    stem = stem[:110] or "image"
    return f"{stem}.{suffix.lower()}"


def unique_path(folder: Path, name: str) -> Path:
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}{suffix}"
        n += 1
    return path


def check_image(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[int, int, str]:
    """(width, height, format) of an image, or `UnsafeImage` if it is not one, is corrupt,
    or claims more than ``max_pixels`` (checked from the header, before decoding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                kind = image.format or "?"
                if width * height > max_pixels:
                    raise UnsafeImage(f"{width}x{height} pixels is more than the "
                                      f"{max_pixels}-pixel limit")
                image.verify()
    except UnsafeImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnsafeImage(f"decompression bomb refused: {one_line(str(exc))[:160]}") from exc
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise UnsafeImage(f"not a readable image: {one_line(str(exc))[:160]}") from exc
    return width, height, kind


@dataclass
class SavedImage:
    path: str
    server_filename: str
    subfolder: str
    type: str
    node_id: str
    width: int
    height: int
    bytes: int


@dataclass
class RunRecord:
    """What `save_results` wrote (also the content of run.json)."""

    run_dir: str
    prompt_id: str
    status: str
    server: str
    seed: int | None
    images: list[SavedImage] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    message: str = ""
    timings: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "success" and bool(self.images)

    def to_json(self, workflow: dict | None = None) -> dict:
        data = asdict(self)
        if workflow is not None:
            data["workflow"] = workflow
        return data


def run_folder(root: Path, name: str, when: float | None = None) -> Path:
    """A new folder under ``root`` named by time and prompt name."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when or time.time()))
    slug = re.sub(r"[^a-z0-9]+", "-", one_line(name).lower()).strip("-")[:40] or "run"
    folder = Path(root) / f"{stamp}-{slug}"
    n = 2
    while folder.exists():
        folder = Path(root) / f"{stamp}-{slug}-{n}"
        n += 1
    folder.mkdir(parents=True)
    return folder


async def save_results(client: ComfyClient, result: JobResult, run_dir: Path, *,
                       workflow: dict, seed: int | None, message: str = "",
                       meta: dict | None = None, max_bytes: int | None = None,
                       max_pixels: int = MAX_PIXELS) -> RunRecord:
    """Download and check every image of ``result`` into ``run_dir``; write run.json and
    workflow.json beside them.  Images that fail a check are listed under ``refused``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = RunRecord(str(run_dir), result.prompt_id, result.status, client.base_url, seed,
                       message=message or result.message, timings=result.timings(),
                       meta=dict(meta or {}))
    for ref in _unique(result.images):
        try:
            data = await client.download(ref, max_bytes)
            # decoding and fsyncs run in a thread so the event loop (the UI) stays live
            width, height, _ = await asyncio.to_thread(check_image, data, max_pixels)
        except ComfyError as exc:
            record.refused.append({"server_filename": one_line(ref.filename),
                                   "subfolder": one_line(ref.subfolder),
                                   "reason": one_line(str(exc))})
            continue
        path = unique_path(run_dir, safe_filename(ref.filename))
        await asyncio.to_thread(write_atomic, path, data)
        record.images.append(SavedImage(str(path), one_line(ref.filename),
                                        one_line(ref.subfolder), one_line(ref.type),
                                        ref.node_id, width, height, len(data)))
    await asyncio.to_thread(_write_records, run_dir, workflow, record)
    return record


def _write_records(run_dir: Path, workflow: dict, record: RunRecord) -> None:
    write_atomic(run_dir / "workflow.json",
                 json.dumps(workflow, indent=2, ensure_ascii=False).encode("utf-8"))
    write_atomic(run_dir / "run.json",
                 json.dumps(record.to_json(), indent=2, ensure_ascii=False).encode("utf-8"))


def _unique(images: list[ImageRef]) -> list[ImageRef]:
    seen: list[ImageRef] = []
    for image in images:
        key = ImageRef(image.filename, image.subfolder, image.type)
        if key not in [ImageRef(i.filename, i.subfolder, i.type) for i in seen]:
            seen.append(image)
    return seen


def load_record(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
