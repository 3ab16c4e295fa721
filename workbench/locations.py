"""Every place on disk the workbench reads or writes, in one module.

User data, config, state (recovery files, run journals) and cache follow the platform's
conventions through platformdirs (XDG on Linux, so ``XDG_*_HOME`` move them, which is how
tests keep the machine's own files out).  ``workbench locate`` prints them.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "flux-workbench"
PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.toml"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def libraries_dir() -> Path:
    """Where the user's own prompt libraries live unless a PATH is given."""
    return data_dir() / "libraries"


def runs_dir() -> Path:
    return data_dir() / "runs"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def recovery_dir() -> Path:
    """Unsaved edits land here when they can't reach their library (conflict, disk error)."""
    return state_dir() / "recovery"


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def bundled(name: str) -> Path:
    """The bundled ``prompts`` or ``themes`` folder, wherever the workbench runs from: an
    installed wheel carries them inside the package (``workbench/_bundled/<name>``, see
    pyproject's force-include); a checkout or editable install has them beside it."""
    inside = PACKAGE_DIR / "_bundled" / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


def bundled_prompts_dir() -> Path:
    return bundled("prompts")


def bundled_themes_dir() -> Path:
    return bundled("themes")


def all_locations() -> dict[str, Path]:
    return {
        "config": config_file(),
        "themes": user_themes_dir(),
        "libraries": libraries_dir(),
        "runs": runs_dir(),
        "recovery": recovery_dir(),
        "cache": cache_dir(),
        "bundled-prompts": bundled_prompts_dir(),
        "bundled-themes": bundled_themes_dir(),
    }
