"""Run plans: prompt variants x fixed seeds x sweep axes, as plain data.

A comparison only means something when everything but the thing compared is held fixed, so
a plan is a grid: every cell is one variant, one seed and one value per sweep axis, and its
spec is the variant's spec with exactly those values applied.  Two cells one step apart on
one coordinate differ only in what that coordinate controls.  Seeds are given or drawn once
and recorded, so re-running a saved plan submits the same jobs.

Nothing here touches ComfyUI, files or Textual; `order` decides in which order the cells
go out (what ComfyUI can re-use from its cache).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import product
from typing import Any

from ..spec import PromptSpec
from ..specdata import SpecDataError, spec_from_dict, spec_to_dict
from .axes import (  # noqa: F401  (the axes are part of what a plan is)
    AXIS_NAMES,
    LORA_AXIS_PREFIX,
    Axis,
    PlanError,
    apply_axis,
    axis_value,
    make_axis,
    parse_axis,
    parse_size,
    tool_axis_problem,
)

PLAN_FORMAT = 1

SEED_MAX = 2**32 - 1          # drawn seeds stay short enough to read and type
SEED_LIMIT = 2**63 - 1        # given seeds: TOML integers are signed 64-bit
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


# -- plans and cells ------------------------------------------------------------------------

@dataclass
class PlanVariant:
    """One thing being compared: a label for the grid (``A``, ``B``...) and its spec."""

    label: str
    spec: PromptSpec


@dataclass
class Winner:
    cell: str
    note: str = ""
    at: str = ""


@dataclass(frozen=True)
class Cell:
    """One job of a plan.  ``coords`` = (variant index, seed index, axis value indexes...)."""

    id: str
    coords: tuple[int, ...]
    variant: int
    seed: int
    values: tuple[tuple[str, Any], ...]
    spec: PromptSpec = field(compare=False, hash=False)

    @property
    def axis_values(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass
class RunPlan:
    """What to run: variants x seeds x axes, plus the winners picked so far."""

    variants: list[PlanVariant]
    seeds: list[int]
    axes: list[Axis] = field(default_factory=list)
    name: str = ""
    seed_source: str = "given"   # "given" | "drawn"
    created: str = ""
    winners: list[Winner] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.variants), len(self.seeds), *(len(a.values) for a in self.axes))

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def cell_at(self, coords: Sequence[int]) -> Cell:
        coords = tuple(coords)
        if len(coords) != len(self.shape) or any(
                not 0 <= c < n for c, n in zip(coords, self.shape)):
            raise IndexError(f"no cell at {coords} in a plan of shape {self.shape}")
        variant, seed_index, *rest = coords
        values = tuple((axis.name, axis.values[i]) for axis, i in zip(self.axes, rest))
        seed = self.seeds[seed_index]
        spec = self.variants[variant].spec.copy()
        spec.params.seed = seed
        for name, value in values:
            apply_axis(spec, name, value)
        return Cell(cell_id(variant, seed, values), coords, variant, seed, values, spec)

    def cells(self) -> list[Cell]:
        """Every cell once, in grid order (variant, then seed, then axes; last fastest)."""
        return [self.cell_at(coords) for coords in product(*map(range, self.shape))]

    def cell(self, cell_id_: str) -> Cell | None:
        for cell in self.cells():
            if cell.id == cell_id_:
                return cell
        return None

    # -- winners -----------------------------------------------------------------------------
    def mark_winner(self, cell_id_: str, note: str = "", at: str | None = None) -> Winner:
        """Mark (or re-note) ``cell_id_`` as a winner; unknown cells are refused."""
        if self.cell(cell_id_) is None:
            raise PlanError(f"no cell {cell_id_!r} in this plan")
        at = at or now_iso()
        for winner in self.winners:
            if winner.cell == cell_id_:
                winner.note, winner.at = note, at
                return winner
        winner = Winner(cell_id_, note, at)
        self.winners.append(winner)
        return winner

    def unmark_winner(self, cell_id_: str) -> bool:
        before = len(self.winners)
        self.winners = [w for w in self.winners if w.cell != cell_id_]
        return len(self.winners) != before

    def is_winner(self, cell_id_: str) -> bool:
        return any(w.cell == cell_id_ for w in self.winners)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return plan_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunPlan:
        return plan_from_dict(data)


def cell_id(variant: int, seed: int, values: Iterable[tuple[str, Any]]) -> str:
    """A readable id that is the same whenever the same cell is planned again, and safe as
    a file name: ``v0-s42-guidance=3.5-lora.film.safetensors=0.8``."""
    parts = [f"v{variant}", f"s{seed}"]
    for name, value in values:
        parts.append(f"{name.replace(':', '.')}={_format_value(value)}")
    return _ID_UNSAFE.sub("_", "-".join(parts))


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else f"{value:.1f}"
    return str(value)


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def draw_seeds(count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct random seeds, drawn once (the plan records them)."""
    if count < 1:
        raise PlanError("a plan needs at least one seed")
    rng = rng or random.SystemRandom()
    seeds: list[int] = []
    while len(seeds) < count:
        seed = rng.randint(0, SEED_MAX)
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def variant_labels(count: int) -> list[str]:
    """``A``, ``B``, ... ``Z``, ``AA``, ``AB``..."""
    labels = []
    for i in range(count):
        label, n = "", i
        while True:
            label = chr(ord("A") + n % 26) + label
            n = n // 26 - 1
            if n < 0:
                break
        labels.append(label)
    return labels


def make_plan(specs: Sequence[PromptSpec], seeds: Sequence[int] | None = None, *,
              seed_count: int = 1, axes: Sequence[Axis] = (), labels: Sequence[str] | None = None,
              name: str = "", rng: random.Random | None = None,
              created: str | None = None) -> RunPlan:
    """A plan over ``specs`` (2 for an A/B, or N).  Without ``seeds``, ``seed_count`` seeds
    are drawn now and recorded.  The specs are copied: later edits don't change the plan."""
    if not specs:
        raise PlanError("a plan needs at least one prompt variant")
    labels = list(labels) if labels is not None else variant_labels(len(specs))
    if len(labels) != len(specs):
        raise PlanError("give one label per variant")
    if seeds is not None and len(seeds):
        seed_list = [int(s) for s in seeds]
        if any(not 0 <= s <= SEED_LIMIT for s in seed_list):
            raise PlanError("seeds must be whole numbers from 0 to 2^63-1 (what TOML holds)")
        if len(set(seed_list)) != len(seed_list):
            raise PlanError("a seed is listed twice")
        source = "given"
    else:
        seed_list, source = draw_seeds(seed_count, rng), "drawn"
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise PlanError("an axis is listed twice")
    axes = [make_axis(a.name, a.values) for a in axes]
    for axis in axes:
        problems = [tool_axis_problem(spec, axis.name) for spec in specs]
        if all(problems):   # a tool axis no variant can use would make identical cells
            raise PlanError(problems[0])
    return RunPlan(variants=[PlanVariant(label, spec.copy()) for label, spec in zip(labels, specs)],
                   seeds=seed_list, axes=axes, name=name or _default_name(specs),
                   seed_source=source, created=created or now_iso())


def final_on_dev(draft: RunPlan) -> RunPlan:
    """Draft on schnell, final on dev: the same variants, seeds and axes again on FLUX.1
    dev (a ``model`` axis is dropped; schnell's few steps are left to dev's default).
    Raises `PlanError` when no variant is a schnell draft."""
    if not any(v.spec.model == "schnell" for v in draft.variants):
        raise PlanError("this comparison is not a schnell draft")
    finals = []
    for variant in draft.variants:
        spec = variant.spec.copy()
        if spec.model == "schnell":
            spec.model = "dev"
            if spec.params.steps is not None and spec.params.steps <= 4:
                spec.params.steps = None  # schnell's few steps would ruin dev
        finals.append(spec)
    return make_plan(finals, draft.seeds, axes=[a for a in draft.axes if a.name != "model"],
                     labels=[v.label for v in draft.variants],
                     name=f"{draft.name} (final on dev)")


def _default_name(specs: Sequence[PromptSpec]) -> str:
    names = list(dict.fromkeys(s.name for s in specs))
    return " vs ".join(names) if len(names) <= 3 else f"{names[0]} and {len(names) - 1} more"


# -- plain data (JSON / TOML) ---------------------------------------------------------------

def plan_to_dict(plan: RunPlan) -> dict[str, Any]:
    """The plan as JSON/TOML-able plain data: no None anywhere, lists of tables."""
    data: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "name": plan.name,
        "created": plan.created,
        "seed_source": plan.seed_source,
        "seeds": list(plan.seeds),
        "variants": [{"label": v.label, "spec": spec_to_dict(v.spec)} for v in plan.variants],
    }
    if plan.axes:
        data["axes"] = [{"name": a.name, "values": list(a.values)} for a in plan.axes]
    if plan.winners:
        data["winners"] = [{k: v for k, v in (("cell", w.cell), ("note", w.note),
                                                ("at", w.at)) if v}
                           for w in plan.winners]
    return data


def plan_from_dict(data: dict[str, Any]) -> RunPlan:
    """Inverse of `plan_to_dict`; raises `PlanError` with what is wrong."""
    if hasattr(data, "unwrap"):
        data = data.unwrap()
    if not isinstance(data, dict):
        raise PlanError("a plan must be a table")
    version = data.get("format", PLAN_FORMAT)
    if not isinstance(version, int) or version > PLAN_FORMAT:
        raise PlanError(f"plan format {version!r} is newer than this workbench understands")
    seeds = data.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise PlanError("a plan needs `seeds`, a list of whole numbers")
    return RunPlan(variants=_variants_from(data.get("variants")), seeds=list(seeds),
                   axes=_axes_from(data.get("axes")), name=str(data.get("name", "")),
                   seed_source=str(data.get("seed_source", "given")),
                   created=str(data.get("created", "")),
                   winners=_winners_from(data.get("winners")))


def _variants_from(items: Any) -> list[PlanVariant]:
    if not isinstance(items, list) or not items:
        raise PlanError("a plan needs a non-empty `variants` list")
    variants = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("spec"), dict):
            raise PlanError(f"variant {i} needs a `spec` table")
        try:
            spec = spec_from_dict(item["spec"], f"variant {i}")
        except SpecDataError as exc:
            raise PlanError(str(exc)) from None
        variants.append(PlanVariant(str(item.get("label") or variant_labels(i)[-1]), spec))
    return variants


def _axes_from(items: Any) -> list[Axis]:
    axes = []
    for item in items or []:
        if not isinstance(item, dict) or "name" not in item or not isinstance(
                item.get("values"), list):
            raise PlanError("each axis needs a `name` and a `values` list")
        axes.append(make_axis(str(item["name"]), item["values"]))
    return axes


def _winners_from(items: Any) -> list[Winner]:
    winners = []
    for item in items or []:
        if not isinstance(item, dict) or not isinstance(item.get("cell"), str):
            raise PlanError("each winner needs a `cell` id")
        winners.append(Winner(item["cell"], str(item.get("note", "")), str(item.get("at", ""))))
    return winners
