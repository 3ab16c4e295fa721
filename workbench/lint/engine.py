"""Run the rules over a prompt, and apply the fixes they offer.

`lint` is cheap enough to call on every keystroke (no I/O except a cached image-size read
for img2img prompts; regexes compiled at import).  `apply_fixes` and `fix_all` return a new
spec and never touch the one they were given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..compose import compose
from ..spec import TEXT_FIELDS, Lora, PromptSpec
from . import rules as _rules  # noqa: F401  (registers every rule family)
from .context import LintContext
from .diagnostic import Diagnostic, Edit
from .plan import plan_for
from .registry import RULES, Rule, find_rule
from .settings import LintSettings

#: Fields in the order the editor shows them; diagnostics are sorted by it.
FIELD_ORDER: tuple[str, ...] = (
    "raw", *TEXT_FIELDS, "composed", "negative", "model", "steps", "guidance", "cfg",
    "width", "height", "sampler", "scheduler", "denoise", "seed", "preset", "loras",
    "source_image", "follows", "notes", "name",
)
_ORDER = {name: i for i, name in enumerate(FIELD_ORDER)}
_INT_PARAMS = ("seed", "steps", "width", "height")
_FLOAT_PARAMS = ("guidance", "denoise", "cfg")
_STR_PARAMS = ("sampler", "scheduler", "preset")
_SPEC_STR = (*TEXT_FIELDS, "raw", "notes", "source_image", "follows", "name")
#: Builds a `Diagnostic` from all its values at once (a named tuple's own constructor is a
#: Python function with defaults; a library lint makes tens of thousands).
_new_tuple = tuple.__new__


def lint(spec: PromptSpec, *, settings: LintSettings | None = None,
         server_vram_gb: float | None = None, compare_with: PromptSpec | None = None,
         context: Mapping[str, PromptSpec] | None = None,
         base_dir: Path | None = None, edit: bool | None = None) -> list[Diagnostic]:
    """Every diagnostic for ``spec``, sorted by field (editor order), then position.

    ``server_vram_gb``: what the connected ComfyUI reports (None: no server known).
    ``compare_with``: the other side of an A/B.  ``context``: the library's prompts by
    name, for Kontext edit chains (``follows``).  ``base_dir``: folder that relative
    ``source_image`` paths are relative to (the library's folder).  ``edit``: lint the text
    as a Kontext edit instruction (True) or a text-to-image prompt (False); None decides
    from the spec (Kontext with a source image or a ``follows``).
    """
    ctx = LintContext(spec, server_vram_gb=server_vram_gb, compare_with=compare_with,
                      context=context, base_dir=base_dir, edit=edit)
    found: list[Diagnostic] = []
    overrides = settings.severity if settings is not None else {}
    for entry in plan_for(settings).rules_for(ctx):
        if entry.when is not None and not entry.when(ctx):
            continue
        for hit in entry.check(ctx):
            found.append(_new_tuple(Diagnostic, (
                entry.slug, entry.code,
                overrides.get(entry.slug) or hit.severity or entry.severity,
                hit.message, entry.rationale, hit.field, hit.start, hit.end, hit.fix,
                hit.suggestion, hit.action, entry.source)))
    if len(found) > 1:
        found.sort(key=_sort_key)
    return found


def _sort_key(d: Diagnostic) -> tuple:
    return (_ORDER.get(d.field, len(_ORDER)), d.start, d.end, d.code)


def by_field(diagnostics: Iterable[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """Diagnostics grouped by the field they point into (for highlighting each editor field),
    keeping their order."""
    grouped: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        grouped.setdefault(diagnostic.field, []).append(diagnostic)
    return grouped


def all_rules() -> list[Rule]:
    """Every registered rule, in code order."""
    return sorted(RULES.values(), key=lambda r: r.code)


def field_text(spec: PromptSpec, field: str) -> str:
    """The text a diagnostic's ``start``/``end`` index into, for any field name it may carry.

    Parameters show as the user would type them (``"8"``, ``"3.5"``); unset ones as ``""``.
    """
    if field in _SPEC_STR:
        return getattr(spec, field)
    if field == "composed":
        return compose(spec)
    if field == "negative":
        return spec.params.negative
    if field == "model":
        return spec.model
    if field == "loras":
        return ", ".join(lora.name for lora in spec.params.loras)
    if field in _INT_PARAMS or field in _FLOAT_PARAMS or field in _STR_PARAMS:
        return format_value(getattr(spec.params, field))
    raise KeyError(field)


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def apply_fixes(spec: PromptSpec, diagnostics: Iterable[Diagnostic], *,
                safe_only: bool = False) -> PromptSpec:
    """A copy of ``spec`` with the fixes of ``diagnostics`` applied (only the safe ones if
    ``safe_only``).  Where edits overlap the one starting first (the widest on a tie)
    wins and the others are skipped: re-lint and apply again, or use `fix_all`."""
    fixes = [d.fix for d in diagnostics
             if d.fix is not None and (d.fix.safe or not safe_only)]
    edits: dict[str, list[Edit]] = {}
    for fix in fixes:
        for edit in fix.edits:
            edits.setdefault(edit.field, []).append(edit)
    new = spec.copy()
    _add_loras(new, fixes)
    for field, items in edits.items():
        text = field_text(new, field)
        for edit in reversed(_compatible(items, len(text))):
            text = text[:edit.start] + edit.replacement + text[edit.end:]
        _set_field(new, field, text)
    return new


def _add_loras(spec: PromptSpec, fixes: list) -> None:
    """The LoRAs ``fixes`` attach (a ``<lora:...>`` tag moved to the list), each once."""
    have = {lora.name for lora in spec.params.loras}
    for fix in fixes:
        for name, strength in fix.add_loras:
            if name not in have:
                spec.params.loras.append(Lora(name=name, strength=strength))
                have.add(name)


def _compatible(edits: list[Edit], length: int) -> list[Edit]:
    """The edits to make in a field of ``length`` characters, in order, none overlapping:
    the one starting first (the widest on a tie) wins."""
    chosen: list[Edit] = []
    for edit in sorted(set(edits), key=lambda e: (e.start, -e.end)):
        if not 0 <= edit.start <= edit.end <= length:
            continue
        if chosen and edit.start < chosen[-1].end:
            continue  # overlaps a wider edit already taken
        if chosen and edit.start == edit.end == chosen[-1].start:
            continue
        chosen.append(edit)
    return chosen


def fix_all(spec: PromptSpec, *, rounds: int = 4, **lint_options) -> tuple[PromptSpec, int]:
    """Apply every safe fix until none is left (fixes can uncover others, e.g. a quality
    tag inside weight syntax).  Returns the new spec and how many of the diagnostics that
    had a safe fix at the start are gone at the end."""
    def fixable(s: PromptSpec) -> list[Diagnostic]:
        return [d for d in lint(s, **lint_options) if d.fix is not None and d.fix.safe]

    first = pending = fixable(spec)
    for _ in range(rounds):
        if not pending:
            break
        new = apply_fixes(spec, pending, safe_only=True)
        if new == spec:
            break
        spec = new
        pending = fixable(spec)
    left = {(d.rule, d.field, d.message) for d in pending}
    return spec, sum(1 for d in first if (d.rule, d.field, d.message) not in left)


def _set_field(spec: PromptSpec, field: str, text: str) -> None:
    if field in _SPEC_STR:
        setattr(spec, field, text)
    elif field == "negative":
        spec.params.negative = text
    elif field == "model":
        spec.model = text  # type: ignore[assignment]
    elif field in _INT_PARAMS:
        setattr(spec.params, field, int(float(text)) if text.strip() else None)
    elif field in _FLOAT_PARAMS:
        setattr(spec.params, field, float(text) if text.strip() else None)
    elif field in _STR_PARAMS:
        setattr(spec.params, field, text or None)
    else:
        raise KeyError(f"no fix can edit {field!r}")


__all__ = ["FIELD_ORDER", "LintSettings", "apply_fixes", "by_field", "field_text", "find_rule",
           "fix_all", "lint", "all_rules"]
