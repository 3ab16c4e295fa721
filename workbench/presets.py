"""Named parameter presets and FLUX-friendly sizes for common aspect ratios.

Presets are TOML data (bundled ``presets.toml``, overridable by the user's), never code, so
users can add their own.  Precedence when a run resolves its parameters (`effective_params`):
the prompt's own values, then its preset (else the ``[defaults] preset`` of config.toml, when
it suits the prompt's model), then the model variant's defaults.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from . import locations
from .spec import (
    IMG2IMG_DENOISE,
    PARAM_FIELDS,
    VARIANT_DEFAULTS,
    VARIANTS,
    Params,
    PromptSpec,
    is_img2img,
    tool_guidance,
)

BUNDLED = Path(__file__).with_name("presets.toml")
PRESET_KEYS = {"steps": int, "guidance": float, "cfg": float, "width": int, "height": int,
               "sampler": str, "scheduler": str, "denoise": float}

#: Aspect ratios offered for new prompts, as (width part, height part).
ASPECTS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1), "3:2": (3, 2), "2:3": (2, 3), "4:5": (4, 5), "5:4": (5, 4),
    "16:9": (16, 9), "9:16": (9, 16), "21:9": (21, 9),
}
#: The ~1 MP sizes FLUX Kontext was trained on; ComfyUI's FluxKontextImageScale scales its
#: input to the one nearest in aspect (comfy_extras/nodes_flux.py).
KONTEXT_SIZES: tuple[tuple[int, int], ...] = (
    (672, 1568), (688, 1504), (720, 1456), (752, 1392), (800, 1328), (832, 1248),
    (880, 1184), (944, 1104), (1024, 1024), (1104, 944), (1184, 880), (1248, 832),
    (1328, 800), (1392, 752), (1456, 720), (1504, 688), (1568, 672),
)
STANDARD_PIXELS = 1024 * 1024  # FLUX.1 is trained around 1 MP
HD_PIXELS = 1920 * 1080         # ~2 MP, the top of what FLUX.1 handles well


@dataclass
class Preset:
    name: str
    description: str = ""
    model: str | None = None
    values: dict[str, int | float | str] = field(default_factory=dict)


@dataclass
class Presets:
    """The presets known, and ``default``: the one used by prompts that name none."""

    presets: dict[str, Preset] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    default: str = ""

    def get(self, name: str | None) -> Preset | None:
        return self.presets.get(name) if name else None

    def for_spec(self, spec: PromptSpec) -> Preset | None:
        """The preset in effect for ``spec``: its own, else the default one when that is
        for any model or for the spec's (a schnell default never reaches a dev prompt)."""
        if spec.params.preset:
            return self.get(spec.params.preset)
        preset = self.get(self.default)
        if preset is not None and preset.model not in (None, spec.model):
            return None
        return preset


def _parse(path: Path, presets: Presets) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        presets.problems.append(f"{path}: {exc}")
        return
    for name, table in data.items():
        if not isinstance(table, dict):
            presets.problems.append(f"{path}: [{name}] must be a table")
            continue
        preset = Preset(name, str(table.get("description", "")))
        model = table.get("model")
        if model is not None:
            if model in VARIANTS:
                preset.model = model
            else:
                presets.problems.append(f"{path}: [{name}] model {model!r} is not one of "
                                        f"{', '.join(VARIANTS)}")
        for key, value in table.items():
            if key in ("description", "model"):
                continue
            kind = PRESET_KEYS.get(key)
            if kind is None:
                presets.problems.append(f"{path}: [{name}] unknown key `{key}`")
            elif isinstance(value, bool) or not isinstance(value, (int, float) if kind is
                                                           float else kind):
                presets.problems.append(f"{path}: [{name}] `{key}` should be a "
                                        f"{kind.__name__}")
            else:
                preset.values[key] = kind(value)
        presets.presets[name] = preset


def load_presets(user_file: Path | None = None) -> Presets:
    presets = Presets()
    _parse(BUNDLED, presets)
    user = user_file or locations.config_dir() / "presets.toml"
    if user.is_file():
        _parse(user, presets)
    return presets


@lru_cache(maxsize=1)
def default_presets() -> Presets:
    """The bundled and user presets, read once per process."""
    return load_presets()


def presets_for(config) -> Presets:
    """The bundled and user presets with ``config``'s ``[defaults] preset`` as the default."""
    default = getattr(getattr(config, "defaults", None), "preset", "") or ""
    presets = default_presets()
    return replace(presets, default=default) if default else presets


def effective_params(spec: PromptSpec, presets: Presets | None = None) -> Params:
    """The parameters a run would use: the spec's own, then its preset's (`Presets.for_spec`;
    ``presets`` defaults to the bundled and user ones), then its variant's defaults."""
    defaults = VARIANT_DEFAULTS.get(spec.model, VARIANT_DEFAULTS["dev"])
    preset = (presets or default_presets()).for_spec(spec)
    preset_values = preset.values if preset is not None else {}
    merged = {}
    for name in PARAM_FIELDS:
        value = getattr(spec.params, name)
        if value in (None, ""):
            value = preset_values.get(name, getattr(defaults, name))
            if name == "denoise" and "denoise" not in preset_values and is_img2img(spec):
                value = IMG2IMG_DENOISE
            elif name == "guidance" and "guidance" not in preset_values and spec.tools.used:
                value = tool_guidance(spec) or value
        merged[name] = value
    merged["loras"] = list(spec.params.loras)
    merged["negative"] = spec.params.negative
    return Params(**merged)


def preset_values(spec: PromptSpec, presets: Presets | None = None) -> dict:
    """What the preset in effect for ``spec`` sets ({} when none)."""
    preset = (presets or default_presets()).for_spec(spec)
    return dict(preset.values) if preset is not None else {}


def apply_preset(spec: PromptSpec, preset: Preset) -> tuple[PromptSpec, list[str]]:
    """``spec`` with ``preset`` in effect: named, and the values of its own that the preset
    sets cleared (an explicit value would win over it, silently).  Returns the new copy and
    what changed (``steps 35 → 40 (preset)``), for the user to read and F12 to undo."""
    new = spec.copy()
    new.params.preset = preset.name
    changes = []
    for key, value in preset.values.items():
        own = getattr(new.params, key, None)
        if own not in (None, "") and own != value:
            changes.append(f"{key} {own:g} → {value:g}" if isinstance(own, float)
                           and isinstance(value, float) else f"{key} {own} → {value}")
        if hasattr(new.params, key):
            setattr(new.params, key, None)
    return new, changes


def nearest_kontext_size(width: int, height: int) -> tuple[int, int]:
    """The Kontext size FluxKontextImageScale gives a ``width`` x ``height`` image."""
    aspect = width / height
    return min(KONTEXT_SIZES, key=lambda s: abs(s[0] / s[1] - aspect))


def snap16(value: float) -> int:
    return max(16, int(round(value / 16)) * 16)


def aspect_size(aspect: str, *, hd: bool = False) -> tuple[int, int]:
    """A FLUX-friendly (width, height) near 1 MP (about 2 MP with ``hd``), multiples of 16."""
    a, b = ASPECTS[aspect]
    pixels = HD_PIXELS if hd else STANDARD_PIXELS
    width = math.sqrt(pixels * a / b)
    return snap16(width), snap16(width * b / a)
