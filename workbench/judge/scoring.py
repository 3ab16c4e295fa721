"""Scores from a verdict: the weighted share of the checklist the image shows.

``present`` counts fully, ``partly`` half, ``absent`` nothing; each item by its checklist
weight.  Summaries over a variant average what was measured and say how many images that
was, so "80 %" over one image is not mistaken for 80 % over ten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import fmean

from .checklist import Checklist

STATUSES: tuple[str, ...] = ("present", "partly", "absent")
STATUS_VALUE: dict[str, float] = {"present": 1.0, "partly": 0.5, "absent": 0.0}


def adherence_score(checklist: Checklist, statuses: Mapping[str, str]) -> float | None:
    """Weighted share present (0-1) over the items the verdict covers; ``None`` when it
    covers none (an empty checklist, or no answer)."""
    total = got = 0.0
    for item in checklist.items:
        status = statuses.get(item.key)
        if status not in STATUS_VALUE:
            continue
        total += item.weight
        got += item.weight * STATUS_VALUE[status]
    return got / total if total else None


def mean_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def rate_or_none(flags: Iterable[bool | None]) -> float | None:
    present = [bool(f) for f in flags if f is not None]
    return sum(present) / len(present) if present else None
