"""Everything a rule may look at for one prompt, computed at most once per lint call.

Rules read the spec through this object: the user's fields with their own offsets, the
composed text, the effective parameters, and what the caller knows about the world (the
other prompts of the library, the A/B partner, the server's VRAM).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Mapping

from ..compose import compose
from ..spec import TEXT_FIELDS, Params, PromptSpec, effective_params
from .textutil import quoted_spans


class LintContext:
    def __init__(self, spec: PromptSpec, *, server_vram_gb: float | None = None,
                 compare_with: PromptSpec | None = None,
                 context: Mapping[str, PromptSpec] | None = None,
                 base_dir: Path | None = None) -> None:
        self.spec = spec
        self.server_vram_gb = server_vram_gb
        self.compare_with = compare_with
        self.context = context
        self.base_dir = base_dir
        self._quotes: dict[str, list[tuple[int, int]]] = {}

    @cached_property
    def params(self) -> Params:
        return effective_params(self.spec)

    @cached_property
    def composed(self) -> str:
        return compose(self.spec)

    @property
    def is_raw(self) -> bool:
        return self.spec.is_raw

    @cached_property
    def is_edit(self) -> bool:
        """A Kontext edit: an instruction applied to an image, not a scene description."""
        return self.spec.model == "kontext" and bool(self.spec.source_image.strip()
                                                      or self.spec.follows.strip())

    @cached_property
    def is_img2img(self) -> bool:
        return self.spec.model in ("dev", "schnell") and bool(self.spec.source_image.strip())

    @cached_property
    def user_fields(self) -> list[tuple[str, str]]:
        """(field, text) for every non-empty field the composer reads."""
        if self.is_raw:
            return [("raw", self.spec.raw)]
        return [(name, getattr(self.spec, name)) for name in TEXT_FIELDS
                if getattr(self.spec, name).strip()]

    @cached_property
    def prose_fields(self) -> list[tuple[str, str]]:
        """`user_fields` without ``text``: that field is words to print in the image, not a
        description, so prose rules leave it alone."""
        return [(name, text) for name, text in self.user_fields if name != "text"]

    @cached_property
    def whole(self) -> tuple[str, str]:
        """(field, text) for rules about the prompt as a whole: the raw text in raw mode (so
        spans land in what the user typed), the composed text otherwise."""
        return ("raw", self.spec.raw) if self.is_raw else ("composed", self.composed)

    @cached_property
    def whole_lower(self) -> str:
        return self.whole[1].lower()

    def quotes(self, field: str, text: str) -> list[tuple[int, int]]:
        """Quoted spans (quotes included) in one field; cached per field."""
        spans = self._quotes.get(field)
        if spans is None:
            spans = self._quotes[field] = quoted_spans(text)
        return spans

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        if not candidate.is_absolute() and self.base_dir is not None:
            candidate = Path(self.base_dir) / candidate
        return candidate
