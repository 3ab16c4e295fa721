"""Themes as TOML files mapped onto `textual.theme.Theme`.

Bundled themes come from the top-level ``themes/`` folder, the user's from the config
dir's ``themes/`` (a user theme with a bundled name replaces it).  A broken file is
reported, never fatal: the app starts with the themes that loaded.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

from textual.theme import Theme

from .. import locations, tomlread

_THEME_ARGS = set(inspect.signature(Theme).parameters)


@dataclass
class LoadedThemes:
    """The themes read, and what could not be read."""
    themes: dict[str, Theme] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def theme_from_file(path: Path) -> Theme:
    data = tomlread.loads(path.read_text(encoding="utf-8"))  # (compiled: read at start-up)
    unknown = set(data) - _THEME_ARGS
    if unknown:
        raise ValueError(f"unknown keys {', '.join(sorted(unknown))}")
    data.setdefault("name", path.stem)
    return Theme(**data)


def load_themes(folders: list[Path] | None = None) -> LoadedThemes:
    loaded = LoadedThemes()
    if folders is None:
        folders = [locations.bundled_themes_dir(), locations.user_themes_dir()]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = theme_from_file(path)
            except Exception as exc:  # any problem in a user's file is reported, not fatal
                loaded.failures.append(f"{path}: {exc}")
                continue
            loaded.themes[theme.name] = theme
    return loaded
