"""The prompt linter: FLUX pitfalls found, explained and (where safe) fixed.

    from workbench.lint import lint, apply_fixes
    diagnostics = lint(spec)                  # sorted, each with field + span
    fixed = apply_fixes(spec, [diagnostics[0]])

Rules live in `workbench.lint.rules`, one family per module; `workbench rules` lists them.
"""

from .diagnostic import SEVERITIES, Diagnostic, Edit, Fix, severity_rank
from .engine import FIELD_ORDER, all_rules, apply_fixes, by_field, field_text, fix_all, lint
from .registry import RULES, Rule, find_rule
from .settings import LintSettings, library_lint_table, settings_for

__all__ = [
    "FIELD_ORDER", "RULES", "SEVERITIES", "Diagnostic", "Edit", "Fix", "LintSettings",
    "Rule", "apply_fixes", "by_field", "field_text", "find_rule", "fix_all", "library_lint_table",
    "lint", "all_rules", "settings_for", "severity_rank",
]
