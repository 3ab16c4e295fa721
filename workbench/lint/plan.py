"""Which rules to call for a prompt: the rules its triggers can wake (see `registry`).

Most prompts can trip only a few of the linter's rules, and asking every rule to find that
out for itself was most of lint's time.  A plan indexes the enabled rules by their triggers
once per selection; per prompt it takes one set intersection with the prompt's words, a few
substring tests and a look at the parameters and the other things the spec sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .registry import NEEDS, RULES, Rule

if TYPE_CHECKING:
    from .context import LintContext
    from .settings import LintSettings


class Plan:
    """Which of the enabled rules to call for a prompt, from its triggers (see `registry`):
    one set intersection with the prompt's words instead of a question to every rule."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self.always = frozenset(i for i, rule in enumerate(rules) if not rule.triggered)
        by_word: dict[str, list[int]] = {}
        marks: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for word in rule.words:
                by_word.setdefault(word, []).append(i)
            for mark in rule.marks:
                marks.setdefault(mark, []).append(i)
        self.by_word = {word: tuple(found) for word, found in by_word.items()}
        self.marks = tuple((mark, tuple(found)) for mark, found in marks.items())
        self.unicode = tuple(i for i, rule in enumerate(rules) if rule.unicode)
        self.fields = tuple((frozenset(rule.fields), i) for i, rule in enumerate(rules)
                            if rule.fields)
        by_param: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for name in rule.params:
                by_param.setdefault(name, []).append(i)
        self.by_param = {name: tuple(found) for name, found in by_param.items()}
        self.any_param = tuple(sorted({i for found in by_param.values() for i in found}))
        self.by_need = {name: tuple(i for i, rule in enumerate(rules) if name in rule.needs)
                        for name in NEEDS}

    def rules_for(self, ctx: LintContext) -> list[Rule]:
        chosen = set(self.always)
        by_word = self.by_word
        for word in by_word.keys() & ctx.all_words:
            chosen.update(by_word[word])
        text = ctx.text
        for mark, found in self.marks:
            if mark in text:
                chosen.update(found)
        if not ctx.ascii:
            chosen.update(self.unicode)
        if self.fields and not ctx.is_raw:
            filled = {name for name, _ in ctx.user_fields}
            for names, i in self.fields:
                if not names.isdisjoint(filled):
                    chosen.add(i)
        if self.by_param:
            self._add_param_rules(ctx, chosen)
        self._add_needed(ctx, chosen)
        rules = self.rules
        return [rules[i] for i in sorted(chosen)]

    def _add_param_rules(self, ctx: LintContext, chosen: set[int]) -> None:
        """The rules about the parameters the spec sets (all of them with a preset)."""
        values = ctx.spec.params.__dict__
        if values["preset"] is not None:
            chosen.update(self.any_param)  # a preset may set anything
        else:
            for name, found in self.by_param.items():
                if values.get(name) is not None:
                    chosen.update(found)
        if ctx.server_vram_gb is not None:
            chosen.update(self.by_param.get("server_vram_gb", ()))

    def _add_needed(self, ctx: LintContext, chosen: set[int]) -> None:
        """The rules about what the prompt has besides its text (`registry.NEEDS`)."""
        spec = ctx.spec
        by_need = self.by_need
        if ctx.is_edit:
            chosen.update(by_need["edit"])
        if spec.source_image:
            chosen.update(by_need["source_image"])
        if spec.follows:
            chosen.update(by_need["follows"])
        params = spec.params
        if params.loras:
            chosen.update(by_need["loras"])
        if params.negative:
            chosen.update(by_need["negative"])
        if spec.tools.used:
            chosen.update(by_need["tools"])
        if ctx.compare_with is not None:
            chosen.update(by_need["compare"])


_PLANS: dict[tuple, Plan] = {}


def plan_for(settings: LintSettings | None) -> Plan:
    """The plan for the rules ``settings`` enables, worked out once per selection (a
    library lint asks for the same one for every prompt)."""
    key = (None, frozenset()) if settings is None else (settings.select, settings.ignore)
    plan = _PLANS.get(key)
    if plan is None:
        rules = tuple(r for r in RULES.values()
                      if settings is None or settings.enabled(r.slug))
        if len(_PLANS) > 64:
            _PLANS.clear()
        plan = _PLANS[key] = Plan(rules)
    return plan
