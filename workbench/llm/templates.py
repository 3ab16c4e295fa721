"""The LLM actions' prompts, as data the user can edit.

The bundled ``templates.toml`` beside this module holds one table per action (``system``,
``user``, optional ``retry`` and ``options``).  A user file, ``llm_templates.toml`` in the
config folder, overrides any of those keys per action; a broken user file is reported in
``problems`` and the bundled templates are used.  Placeholders are ``{name}``; only known
names are replaced, so braces in the text itself (JSON examples, the user's prompt) are
left alone.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import locations

BUNDLED = Path(__file__).resolve().parent / "templates.toml"
ACTIONS: tuple[str, ...] = ("rewrite", "fix", "translate", "expand", "decompose", "kontext",
                            "describe")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def user_templates_file() -> Path:
    return locations.config_dir() / "llm_templates.toml"


@dataclass
class Template:
    action: str
    system: str
    user: str
    retry: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def render_system(self, **values: str) -> str:
        return fill(self.system, values)

    def render_user(self, **values: str) -> str:
        return fill(self.user, values)

    def render_retry(self, **values: str) -> str:
        return fill(self.retry, values)


def fill(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` for names in ``values`` in one pass (values are not re-scanned)."""
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _PLACEHOLDER.sub(replace, template.strip("\n")).strip()


@dataclass
class Templates:
    by_action: dict[str, Template]
    problems: list[str] = field(default_factory=list)

    def __getitem__(self, action: str) -> Template:
        return self.by_action[action]


def load_templates(user_file: Path | None = None) -> Templates:
    """Bundled templates, with the user's overrides (default: `user_templates_file`)."""
    bundled = tomllib.loads(BUNDLED.read_text(encoding="utf-8"))
    problems: list[str] = []
    path = user_templates_file() if user_file is None else Path(user_file)
    overrides: dict[str, Any] = {}
    if path.exists():
        try:
            overrides = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            problems.append(f"{path}: {exc}; using the bundled templates")
    by_action: dict[str, Template] = {}
    for action in ACTIONS:
        table = dict(bundled[action])
        mine = overrides.get(action, {})
        if not isinstance(mine, dict):
            problems.append(f"{path}: [{action}] must be a table; ignored")
            mine = {}
        for key, value in mine.items():
            if key == "options":
                if isinstance(value, dict):
                    table["options"] = {**table.get("options", {}), **value}
                else:
                    problems.append(f"{path}: {action}.options must be a table; ignored")
            elif key in ("system", "user", "retry"):
                if isinstance(value, str):
                    table[key] = value
                else:
                    problems.append(f"{path}: {action}.{key} must be a string; ignored")
            else:
                problems.append(f"{path}: {action}.{key} is not a template key; ignored")
        by_action[action] = Template(action, table["system"], table["user"],
                                     table.get("retry", ""), dict(table.get("options", {})))
    for action in overrides:
        if action not in ACTIONS:
            problems.append(f"{path}: [{action}] is not an action ({', '.join(ACTIONS)})")
    return Templates(by_action, problems)
