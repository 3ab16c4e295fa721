"""The linter as the workbench runs it: one set of settings for every view."""

from __future__ import annotations

from workbench.spec import PromptSpec


def test_a_proposal_is_linted_with_the_users_settings():
    """The assist screen's "lint: 2 → 1 problems" note uses config.toml's [lint] (as the
    Problems panel does), not the linter's bare defaults."""
    from workbench.config import Config
    from workbench.linting import lint_change

    spec = PromptSpec(name="x", subject="a fox", style="masterpiece, best quality")
    proposed = spec.copy(style="soft morning light")
    change = lint_change(spec, proposed, Config())
    assert "sd-quality-tags" in change.fixed and change.new == []
    config = Config()
    config.lint.ignore = ["sd-quality-tags"]
    assert "sd-quality-tags" not in lint_change(spec, proposed, config).before
