"""Settings: the config file, then the environment, then command-line flags.

The file is TOML in the user config dir (see `locations`).  It is read with tomllib and
written back with tomlkit, so a remembered choice (the theme) never disturbs what the user
wrote.  Precedence, lowest first: built-in defaults < config.toml < ``COMFYUI_URL`` /
``OLLAMA_HOST`` < flags.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import locations
from .atomic import write_atomic

DEFAULT_COMFYUI_URL = "http://127.0.0.1:8188"
DEFAULT_OLLAMA_HOST = "127.0.0.1:11434"
DEFAULT_THEME = "workbench-dark"

EXAMPLE = f"""\
# FLUX Prompt Workbench settings. Environment variables COMFYUI_URL and OLLAMA_HOST, and
# command-line flags, override what is here.

[comfyui]
# One or more servers; A/B runs spread across all that answer.
urls = ["{DEFAULT_COMFYUI_URL}"]
# auth_header = "Authorization: Bearer ..."   # for a server behind a proxy
# verify_tls = true

[ollama]
host = "{DEFAULT_OLLAMA_HOST}"
model = "gemma3:4b"
# vision_model = "llava:7b"

[ui]
theme = "{DEFAULT_THEME}"
# image_protocol = "auto"    # auto | halfblocks | kitty | sixel

[defaults]
preset = ""
"""


class ConfigError(Exception):
    pass


@dataclass
class Config:
    comfyui_urls: list[str] = field(default_factory=lambda: [DEFAULT_COMFYUI_URL])
    comfyui_auth_header: str = ""
    comfyui_verify_tls: bool = True
    ollama_host: str = DEFAULT_OLLAMA_HOST
    ollama_model: str = "gemma3:4b"
    ollama_vision_model: str = "llava:7b"
    theme: str = DEFAULT_THEME
    image_protocol: str = "auto"
    default_preset: str = ""
    path: Path = field(default_factory=locations.config_file)
    raw: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def comfyui_url(self) -> str:
        return self.comfyui_urls[0] if self.comfyui_urls else DEFAULT_COMFYUI_URL


def _split_urls(value: str) -> list[str]:
    return [u.strip() for u in value.split(",") if u.strip()]


def load_config(path: Path | None = None, env: dict[str, str] | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Build the effective settings.  A broken config file is reported in ``problems`` (with
    line and column) and the defaults are used, so the app still starts."""
    env = os.environ if env is None else env
    config = Config(path=Path(path) if path else locations.config_file())
    if config.path.exists():
        try:
            config.raw = tomllib.loads(config.path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            config.problems.append(f"{config.path}: {exc}; using defaults")
    _apply_file(config, config.raw)
    if env.get("COMFYUI_URL"):
        config.comfyui_urls = _split_urls(env["COMFYUI_URL"])
    if env.get("COMFYUI_AUTH_HEADER"):
        config.comfyui_auth_header = env["COMFYUI_AUTH_HEADER"]
    if env.get("OLLAMA_HOST"):
        config.ollama_host = env["OLLAMA_HOST"]
    for key, value in (overrides or {}).items():
        if value in (None, ""):
            continue
        if key == "comfyui_urls" and isinstance(value, str):
            value = _split_urls(value)
        setattr(config, key, value)
    return config


def _apply_file(config: Config, raw: dict[str, Any]) -> None:
    def section(name: str) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            config.problems.append(f"{config.path}: [{name}] must be a table")
            return {}
        return value

    def take(table: dict[str, Any], key: str, attr: str, kind: type) -> None:
        if key not in table:
            return
        value = table[key]
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            setattr(config, attr, value)
        else:
            config.problems.append(f"{config.path}: `{key}` should be a {kind.__name__}")

    comfy = section("comfyui")
    if isinstance(comfy.get("url"), str):
        config.comfyui_urls = [comfy["url"]]
    urls = comfy.get("urls")
    if isinstance(urls, list) and all(isinstance(u, str) for u in urls) and urls:
        config.comfyui_urls = list(urls)
    elif urls is not None:
        config.problems.append(f"{config.path}: comfyui.urls should be a list of URLs")
    take(comfy, "auth_header", "comfyui_auth_header", str)
    take(comfy, "verify_tls", "comfyui_verify_tls", bool)
    ollama = section("ollama")
    take(ollama, "host", "ollama_host", str)
    take(ollama, "model", "ollama_model", str)
    take(ollama, "vision_model", "ollama_vision_model", str)
    ui = section("ui")
    take(ui, "theme", "theme", str)
    take(ui, "image_protocol", "image_protocol", str)
    take(section("defaults"), "preset", "default_preset", str)


def remember(config: Config, section: str, key: str, value: Any) -> None:
    """Persist one setting in the config file, keeping everything else in it as written."""
    import tomlkit  # only when a setting is remembered: not at start-up

    path = config.path
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else EXAMPLE
        doc = tomlkit.parse(text)
    except Exception as exc:  # a broken file is the user's: never overwrite it
        raise ConfigError(f"{path}: not saved, the file does not parse: {exc}") from exc
    table = doc.get(section)
    if table is None:
        table = tomlkit.table()
        doc.add(section, table)
    table[key] = value
    write_atomic(path, doc.as_string().encode("utf-8"))
    config.raw.setdefault(section, {})[key] = value
