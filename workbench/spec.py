"""The prompt spec: what a user writes about one image, as plain data.

Everything downstream (composer, linter, workflows, runs) reads a `PromptSpec`; nothing here
knows about TOML, Textual or ComfyUI, so the model stays cheap to build in bulk and easy to
test.  Optional generation parameters are ``None`` when the user left them to the model
variant's defaults (see `presets.effective_params`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal, get_args

Variant = Literal["dev", "schnell", "kontext"]
VARIANTS: tuple[str, ...] = get_args(Variant)

#: The text fields the composer reads, in the order it reads them.
TEXT_FIELDS: tuple[str, ...] = (
    "subject",
    "action",
    "style",
    "context",
    "foreground",
    "midground",
    "background",
    "text",
    "camera",
)


#: ComfyUI's samplers take seeds from 0 to 2**64 - 1 (KSampler's ``seed`` input).
MAX_SEED = 2**64 - 1


@dataclass
class Lora:
    """A LoRA attached to a prompt: the file, how strongly, and the words that wake it."""

    name: str
    strength: float = 1.0
    triggers: list[str] = field(default_factory=list)


@dataclass
class Params:
    """Generation parameters; ``None`` means "the variant's default"."""

    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    sampler: str | None = None
    scheduler: str | None = None
    denoise: float | None = None
    cfg: float | None = None
    negative: str = ""
    preset: str | None = None
    keep_size: bool | None = None   # Kontext: scale the result back to the source's size
    loras: list[Lora] = field(default_factory=list)


PARAM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Params))


#: Structure controls a prompt can use (FLUX.1 Canny and Depth, full models or LoRAs).
CONTROLS: tuple[str, ...] = ("canny", "depth")


@dataclass
class Outpaint:
    """Pixels of new canvas on each side of the source (FLUX.1 Fill outpainting)."""

    left: int = 0
    top: int = 0
    right: int = 0
    bottom: int = 0

    @property
    def sides(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.right, self.bottom


@dataclass
class Redux:
    """A reference image FLUX.1 Redux takes the look and content of, and how strongly."""

    image: str
    strength: float = 1.0


@dataclass
class Tools:
    """The FLUX.1 tools a prompt uses (all unset: a plain text-to-image or img2img prompt).

    ``mask`` (white = repaint) or ``outpaint`` make it a Fill job on ``source_image``;
    ``control`` + ``control_image`` a Canny or Depth job (``control_strength``: the
    control LoRA's strength); ``redux`` adds reference images.  Paths resolve like
    ``source_image``.  ``mask_grow`` / ``mask_feather`` shape the mask's edge in pixels.
    """

    mask: str = ""
    mask_grow: int | None = None
    mask_feather: int | None = None
    outpaint: Outpaint | None = None
    control: str = ""
    control_image: str = ""
    control_strength: float | None = None
    redux: list[Redux] = field(default_factory=list)

    @property
    def fill(self) -> bool:
        return bool(self.mask.strip()) or self.outpaint is not None

    @property
    def used(self) -> bool:
        """Any tool at all (the cheap gate lint rules and runs check first)."""
        return bool(self.mask or self.outpaint is not None or self.control
                    or self.control_image or self.redux)

    def names(self) -> list[str]:
        """The tools in use, in words: fill, outpaint, canny, depth, redux."""
        found = []
        if self.outpaint is not None:
            found.append("outpaint")
        elif self.mask.strip():
            found.append("fill")
        if self.control or self.control_image:
            found.append(self.control or "control")
        if self.redux:
            found.append("redux")
        return found

    def copy(self) -> Tools:
        new = object.__new__(Tools)
        new.__dict__.update(self.__dict__)
        if self.outpaint is not None:
            new.outpaint = Outpaint(*self.outpaint.sides)
        new.redux = [Redux(r.image, r.strength) for r in self.redux] if self.redux else []
        return new


@dataclass
class PromptSpec:
    """One prompt as the user structures it.

    ``raw`` switches the prompt to raw-text mode: when it is non-empty it *is* the prompt and
    the structured fields are ignored by the composer (they are still kept and saved).
    ``source_image`` and ``follows`` serve img2img and Kontext edit chains: the image to
    start from, and the name of the prompt whose result this edit continues.  ``tools``:
    the FLUX.1 tools (Fill, Canny, Depth, Redux) it uses.
    """

    name: str
    model: Variant = "dev"
    subject: str = ""
    action: str = ""
    style: str = ""
    context: str = ""
    foreground: str = ""
    midground: str = ""
    background: str = ""
    text: str = ""
    camera: str = ""
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    raw: str = ""
    source_image: str = ""
    follows: str = ""
    params: Params = field(default_factory=Params)
    tools: Tools = field(default_factory=Tools)

    @property
    def is_raw(self) -> bool:
        return bool(self.raw.strip())

    def copy(self, **changes: object) -> PromptSpec:
        """A deep-enough copy (lists and params are not shared) with ``changes`` applied."""
        # Field by field rather than `dataclasses.replace`: libraries copy every spec they
        # load (to know later what changed), and this is several times faster.
        params = object.__new__(Params)
        params.__dict__.update(self.params.__dict__)
        params.loras = [Lora(lora.name, lora.strength, list(lora.triggers))
                        for lora in self.params.loras]
        base = object.__new__(PromptSpec)
        base.__dict__.update(self.__dict__)
        base.tags = list(self.tags)
        base.params = params
        base.tools = self.tools.copy()
        return replace(base, **changes) if changes else base


def source_path(source_image: str, base_dir: Path | None = None) -> Path:
    """Where a spec's ``source_image`` is: ``~`` expanded, a relative path taken from
    ``base_dir`` (the library's folder, so a library and its images move together)."""
    path = Path(source_image).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


#: What a variant does when a parameter is left unset.  Sources: the FLUX guide (seed 000:
#: dev 20-50 steps, guidance 2-3.5, schnell 1-4 steps and no guidance) and the Kontext notes
#: (seeds 001/004: guidance 2.5, ~1 MP sizes).
VARIANT_DEFAULTS: dict[str, Params] = {
    "dev": Params(steps=28, guidance=3.5, width=1024, height=1024, sampler="euler",
                  scheduler="simple", denoise=1.0, cfg=1.0),
    "schnell": Params(steps=4, guidance=None, width=1024, height=1024, sampler="euler",
                      scheduler="simple", denoise=1.0, cfg=1.0),
    "kontext": Params(steps=28, guidance=2.5, width=1024, height=1024, sampler="euler",
                      scheduler="simple", denoise=1.0, cfg=1.0),
}


#: img2img repaints this much of the source unless told otherwise (seed 002's audit: 0.5
#: changes too little, 0.65-0.7 is the sensible default, 0.8-0.9 for colour changes).
IMG2IMG_DENOISE = 0.7


def is_img2img(spec: PromptSpec) -> bool:
    """A source image to repaint part of (not a Kontext edit, not a Fill job's canvas)."""
    return bool(spec.source_image) and spec.model != "kontext" and not spec.tools.fill


#: FluxGuidance each tool's model was made for, from BFL's reference code (flux
#: ``cli_fill.py``: 30; ``cli_control.py``: canny and canny-lora 30, depth and depth-lora
#: 10).  Redux runs on plain dev, at dev's guidance.
TOOL_GUIDANCE: dict[str, float] = {"fill": 30.0, "canny": 30.0, "depth": 10.0}


def tool_guidance(spec: PromptSpec) -> float | None:
    """The guidance a Fill, Canny or Depth prompt defaults to (None: not such a prompt)."""
    tools = spec.tools
    if spec.model != "dev":
        return None
    if tools.fill:
        return TOOL_GUIDANCE["fill"]
    return TOOL_GUIDANCE.get(tools.control) if tools.control_image else None


def unset_default(spec: PromptSpec, key: str) -> float | int | str | None:
    """What ``spec`` runs with for the unset parameter ``key``, as the editor shows it: the
    variant's default, img2img's denoise, a Fill/Canny/Depth prompt's own guidance, and
    for those the size of the image they work on instead of a width and height."""
    guidance = tool_guidance(spec)
    if guidance is not None and key == "guidance":
        return guidance
    if guidance is not None and key in ("width", "height"):
        if spec.tools.outpaint is not None:
            return "the source image's plus the padding"
        return "the source image's" if spec.tools.fill else "the control image's"
    if key == "denoise" and is_img2img(spec):
        return IMG2IMG_DENOISE
    return getattr(VARIANT_DEFAULTS.get(spec.model, VARIANT_DEFAULTS["dev"]), key, None)


def tools_problem(spec: PromptSpec) -> str | None:
    """Why ``spec``'s tools cannot run together (None: they can)."""
    tools = spec.tools
    if not tools.used:
        return None
    if tools.control and not tools.control_image.strip():
        return f"control = {tools.control!r} needs a control_image"
    if tools.control_image.strip() and not tools.control:
        return "a control_image needs control = \"canny\" or \"depth\""
    if tools.fill and tools.control:
        return ("Fill (mask / outpaint) and a control image cannot be combined in one run; "
                "use one of them")
    if spec.model == "kontext":
        return "FLUX tools run on dev (Redux also on schnell), not on Kontext: set model = \"dev\""
    if spec.model == "schnell" and (tools.fill or tools.control):
        return "FLUX Fill, Canny and Depth are dev models: set model = \"dev\""
    return None
