"""The rule registry: every rule's identity (slug, code), default severity, explanation and
source, and the function that checks a prompt.

Rules register themselves with `@rule(...)` when their family module is imported; the
order of registration is the order `workbench rules` lists them and the engine runs them.

A rule may name its *triggers*: words (lower case), marks (substrings such as ``"BREAK"``
or ``"<"``), non-ASCII text, fields it reads whatever they say, or what the prompt has
besides its text (`NEEDS`: a source image, LoRAs, FLUX tools...).  Without one of them in
the prompt the rule cannot fire, so the engine does not call it: most prompts trip only a
few rules, and asking each rule to find that out for itself was most of lint's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .diagnostic import SEVERITIES, Fix

if TYPE_CHECKING:
    from .context import LintContext


class Hit(NamedTuple):
    """What a rule function yields; the engine adds the rule's identity and severity."""

    field: str
    start: int
    end: int
    message: str
    fix: Fix | None = None
    suggestion: str = ""
    action: str = ""
    severity: str | None = None  # overrides the rule default for this hit (e.g. empty prompt)


Check = Callable[["LintContext"], Iterable[Hit]]

#: What a prompt can have besides its text, as a rule's ``needs`` names it (see `Plan`).
NEEDS = ("edit", "source_image", "follows", "loras", "negative", "tools", "compare")


@dataclass(frozen=True, slots=True)
class Rule:
    slug: str
    code: str
    severity: str
    family: str
    summary: str
    rationale: str
    source: str
    check: Check
    fix: str = ""  # "safe", "unsafe" or "" — what kind of fix the rule can offer
    when: Callable[[LintContext], bool] | None = None  # cheap gate: skip the check if False
    #: Triggers (any one suffices; none declared: always run).  Each must be a *necessary*
    #: condition for a hit, or the engine would hide real findings.
    words: frozenset[str] = frozenset()  # a lower-case word of the prompt's text
    marks: tuple[str, ...] = ()  # a substring of the prompt's text
    unicode: bool = False  # the text is not plain ASCII
    fields: tuple[str, ...] = ()  # one of these structured fields is filled in
    #: a generation parameter the spec sets itself (or a preset, which may set any), or
    #: "server_vram_gb" when the caller knows the server's VRAM: rules about parameters
    #: cannot fault a variant's own defaults
    params: tuple[str, ...] = ()
    #: one of `NEEDS`: a Kontext edit, a source image, a ``follows``, LoRAs, a negative
    #: prompt, FLUX tools, an A/B partner (rules about them find nothing without them)
    needs: tuple[str, ...] = ()

    @property
    def triggered(self) -> bool:
        """Whether the rule runs only on a trigger (else on every prompt)."""
        return bool(self.words or self.marks or self.unicode or self.fields or self.params
                    or self.needs)

    def to_dict(self) -> dict[str, str]:  # noqa: D102
        return {"code": self.code, "rule": self.slug, "severity": self.severity,
                "family": self.family, "summary": self.summary,
                "rationale": self.rationale, "source": self.source, "fix": self.fix}


#: slug -> Rule, in registration order.
RULES: dict[str, Rule] = {}
_BY_CODE: dict[str, Rule] = {}


def rule(slug: str, code: str, severity: str, *, family: str, summary: str, rationale: str,
         source: str, fix: str = "",
         when: Callable[[LintContext], bool] | None = None,
         words: Iterable[str] = (), marks: Iterable[str] = (), unicode: bool = False,
         fields: Iterable[str] = (), params: Iterable[str] = (),
         needs: Iterable[str] = ()) -> Callable[[Check], Check]:
    if severity not in SEVERITIES:
        raise ValueError(f"{slug}: unknown severity {severity!r}")
    if not set(needs) <= set(NEEDS):
        raise ValueError(f"{slug}: unknown needs {sorted(set(needs) - set(NEEDS))}")

    def register(check: Check) -> Check:
        if slug in RULES or code in _BY_CODE:
            raise ValueError(f"rule {slug} / {code} registered twice")
        entry = Rule(slug, code, severity, family, summary, rationale, source, check, fix, when,
                     frozenset(words), tuple(marks), unicode, tuple(fields), tuple(params),
                     tuple(needs))
        RULES[slug] = entry
        _BY_CODE[code] = entry
        return check

    return register


def find_rule(name: str) -> Rule | None:
    """A rule by slug (``negation``) or code (``FX104``, any case)."""
    return RULES.get(name.strip().lower()) or _BY_CODE.get(name.strip().upper())
