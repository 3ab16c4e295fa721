"""The images a prompt runs with, by role, checked before anything is sent.

Every run path (``workbench run``, F5, each A/B cell) asks here for a spec's inputs: the
``source`` (img2img, Kontext, the Fill canvas), the Fill ``mask``, the ``control_image``
of a Canny or Depth run, and the Redux references ``redux_1``, ``redux_2``...  Paths
resolve against the library's folder like ``source_image``; each image is checked
(`images.source`, `images.tool_inputs`) and what the checks changed comes back as notes.
A `InputCache` shared by the cells of a plan reads each file once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..images.source import SourceImage, SourceImageError, load_source
from ..images.tool_inputs import (
    ToolImageError,
    check_mask,
    control_notes,
    load_tool_image,
)
from ..spec import PromptSpec, source_path

SOURCE, MASK, CONTROL = "source", "mask", "control_image"
REDUX_PREFIX = "redux_"


def redux_role(index: int) -> str:
    """The role of the ``index``-th (1-based) Redux reference."""
    return f"{REDUX_PREFIX}{index}"


def is_image_role(role: str) -> bool:
    if role in (SOURCE, MASK, CONTROL):
        return True
    number = role[len(REDUX_PREFIX):]
    return role.startswith(REDUX_PREFIX) and number.isdigit() and int(number) >= 1


class InputError(ValueError):
    """A prompt's images do not add up (a Fill without a source...): what to do."""


@dataclass
class RunInputs:
    images: dict[str, SourceImage] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def sizes(self) -> dict[str, tuple[int, int]]:
        return {role: image.size for role, image in self.images.items()}

    def describe(self) -> dict[str, dict]:
        """role -> {path, sha256, size}, for a run's manifest."""
        return {role: {"path": str(image.path), "sha256": image.sha256,
                       "size": list(image.size)} for role, image in self.images.items()}


class InputCache:
    """Checked images by (what, path, file version, source size), shared by many cells."""

    def __init__(self) -> None:
        self._items: dict[tuple, object] = {}

    def get(self, key: tuple, make):
        if key not in self._items:
            self._items[key] = make()
        return self._items[key]


def _existing(what: str, text: str, base_dir: Path | None) -> Path:
    path = source_path(text.strip(), base_dir)
    if not path.is_file():
        problem = "does not exist" if not path.exists() else "is not a regular file"
        if what == "source image":
            raise SourceImageError(path, problem)
        raise ToolImageError(what, path, problem)
    return path


def _version(path: Path) -> tuple:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


def load_inputs(spec: PromptSpec, base_dir: Path | None = None, *,
                source: SourceImage | None = None,
                cache: InputCache | None = None) -> RunInputs:
    """The checked images ``spec`` runs with.  ``source``: one given at run time
    (``--image``) instead of the spec's own.  Raises `SourceImageError` (a
    `ToolImageError` for a mask, control image or reference) or `InputError`."""
    cache = cache or InputCache()
    tools, found = spec.tools, RunInputs()
    if source is None and spec.source_image.strip():
        path = _existing("source image", spec.source_image, base_dir)
        source = cache.get(("source", *_version(path)), lambda: load_source(path))
    if source is not None:
        found.images[SOURCE] = source
    if tools.fill and source is None:
        kind = "outpaint" if tools.outpaint is not None else "mask"
        raise InputError(f"prompt {spec.name!r} uses FLUX Fill ({kind}) but has no "
                         "source_image to fill")
    if tools.mask.strip() and tools.outpaint is None:
        path = _existing("mask", tools.mask, base_dir)
        mask = cache.get(("mask", *_version(path), source.size), lambda: check_mask(
            load_tool_image("mask", path), source.size))
        found.images[MASK] = mask.image
        found.notes.extend(mask.notes)
    if tools.control_image.strip():
        path = _existing("control image", tools.control_image, base_dir)
        control = cache.get(("control", *_version(path)),
                            lambda: load_tool_image("control image", path))
        found.images[CONTROL] = control
        found.notes.extend(control_notes(control, tools.control))
    for index, ref in enumerate(tools.redux, start=1):
        path = _existing("Redux reference", ref.image, base_dir)
        found.images[redux_role(index)] = cache.get(
            ("redux", *_version(path)), lambda p=path: load_tool_image("Redux reference", p))
    return found
