"""What the linter reports: a diagnostic, where it points, and the edits that would fix it.

Plain frozen data, so the editor can keep them, compare them and render them without
knowing anything about the rules.  Named tuples rather than frozen dataclasses: a library
lint makes tens of thousands of them, and a frozen dataclass takes several times longer to
build.  Offsets are Python string indices (code points) into
the text of one field as the user typed it (see `engine.field_text`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: Severities from mildest to worst; the index is the rank used by thresholds.
SEVERITIES: tuple[str, ...] = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


class Edit(NamedTuple):
    """Replace ``field``'s text between ``start`` and ``end`` with ``replacement``.

    For a parameter field (``steps``, ``width``...) the text is the value as `field_text`
    shows it, and an empty replacement unsets the parameter.
    """

    field: str
    start: int
    end: int
    replacement: str

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end,
                "replacement": self.replacement}


class Fix(NamedTuple):
    """Edits that resolve a diagnostic.  ``safe`` fixes keep the user's intent and are what
    ``workbench lint --fix`` applies on its own; the others wait for the user to choose."""

    description: str
    edits: tuple[Edit, ...]
    safe: bool = False
    #: LoRAs to attach to the prompt, as ``(file name, strength)`` (an A1111 ``<lora:...>``
    #: tag moved out of the text into the prompt's ``loras`` list).
    add_loras: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"description": self.description, "safe": self.safe,
                                "edits": [edit.to_dict() for edit in self.edits]}
        if self.add_loras:
            data["add_loras"] = [{"name": n, "strength": s} for n, s in self.add_loras]
        return data


class Diagnostic(NamedTuple):
    """One problem: which rule, how bad, why, where (field + span) and how to fix it.

    ``field`` is a `PromptSpec` text field (``subject`` ... ``camera``), ``raw``,
    ``composed`` (the whole composed prompt of a structured spec), or a parameter /
    other spec attribute (``steps``, ``guidance``, ``width``, ``negative``, ``loras``,
    ``source_image``, ``follows``, ``model``).  ``suggestion`` is advice text for the panel;
    ``action`` names an LLM action the UI may offer instead of a fix (``rewrite``,
    ``translate``), empty when there is none.  ``rationale`` is the why and ``source``
    where the advice comes from (the guide or seed it is taken from).
    """

    rule: str
    code: str
    severity: str
    message: str
    rationale: str
    field: str
    start: int
    end: int
    fix: Fix | None = None
    suggestion: str = ""
    action: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "code": self.code, "severity": self.severity,
                "message": self.message, "rationale": self.rationale, "field": self.field,
                "start": self.start, "end": self.end,
                "fix": self.fix.to_dict() if self.fix else None,
                "suggestion": self.suggestion, "action": self.action, "source": self.source}
