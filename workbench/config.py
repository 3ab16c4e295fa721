"""Settings: the config file, then the environment, then command-line flags.

The file is TOML in the user config dir (see `locations`).  It is read with `tomlread` and
written back with tomlkit, so a remembered choice (the theme) never disturbs what the user
wrote.  Precedence, lowest first: built-in defaults < config.toml < ``COMFYUI_URL`` /
``OLLAMA_HOST`` < flags.

Each section is a dataclass (`ComfyUISettings`, `OllamaSettings`, `UISettings`,
`LintConfig`, `DefaultsSettings`, and ``[keys]`` as action id -> key).  Reading is strict
but never fatal: an unknown key or a value of the wrong type is a warning naming
``file:line:col``, and the default is used.  What the session finds out at run time (the
image protocol in use, problems to show, GPU sharing state) lives apart, in `Runtime`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import locations, tomlread
from .atomic import write_atomic

DEFAULT_COMFYUI_URL = "http://127.0.0.1:8188"
DEFAULT_OLLAMA_HOST = "127.0.0.1:11434"
DEFAULT_THEME = "workbench-dark"
IMAGE_PROTOCOLS = ("auto", "halfblocks", "kitty", "sixel")
MODEL_KEYS = ("dev", "schnell", "kontext", "clip_l", "t5xxl", "vae", "checkpoint_dev",
              "checkpoint_schnell", "checkpoint_kontext", "loading",
              # FLUX.1 tools (comfy.models.TOOL_MODELS)
              "fill", "canny", "depth", "canny_lora", "depth_lora", "redux", "clip_vision")

EXAMPLE = f"""\
# FLUX Prompt Workbench settings. Environment variables COMFYUI_URL and OLLAMA_HOST, and
# command-line flags, override what is here.

[comfyui]
# One or more servers; A/B runs spread across all that answer.
urls = ["{DEFAULT_COMFYUI_URL}"]
# auth_header = "Authorization: Bearer ..."   # for a server behind a proxy
# verify_tls = true
# timeout = 60                 # seconds one request may take (downloads get more per MB)

[ollama]
host = "{DEFAULT_OLLAMA_HOST}"
model = "gemma3:4b"
# vision_model = "llava:7b"
# timeout = 300                # seconds one answer may take, model load included
# unload_before_jobs = true   # free the GPU before image jobs (default: when on one host)

[ui]
theme = "{DEFAULT_THEME}"
# image_protocol = "auto"    # auto | halfblocks | kitty | sixel

[defaults]
preset = ""

# [lint]
# ignore = ["word-count"]
# cache = true                 # keep `workbench lint` results between runs

# [keys]
# run = "f5"
"""


class ConfigError(Exception):
    pass


@dataclass
class ComfyUISettings:
    """``[comfyui]``: the servers and how to reach them."""
    urls: list[str] = field(default_factory=lambda: [DEFAULT_COMFYUI_URL])
    auth_header: str = ""
    verify_tls: bool = True
    timeout: float = 60.0     # seconds one HTTP request may take, start to last byte
    models: dict[str, str] = field(default_factory=dict)   # [comfyui.models]

    @property
    def url(self) -> str:
        """The first server (single runs, the queue view, the LoRA list)."""
        return self.urls[0] if self.urls else DEFAULT_COMFYUI_URL


@dataclass
class OllamaSettings:
    """``[ollama]``: the host and the models."""
    host: str = DEFAULT_OLLAMA_HOST
    model: str = "gemma3:4b"
    vision_model: str = "llava:7b"
    timeout: float = 300.0    # seconds one request (a whole streamed answer) may take
    unload_before_jobs: bool | None = None   # None: when Ollama and ComfyUI share a host


@dataclass
class UISettings:
    """``[ui]``: the theme and the image protocol."""
    theme: str = DEFAULT_THEME
    image_protocol: str = "auto"


@dataclass
class LintConfig:
    """config.toml's ``[lint]``; rule names are checked by the linter, which says so."""

    ignore: list[str] = field(default_factory=list)
    select: list[str] | None = None
    severity: dict[str, str] = field(default_factory=dict)
    #: `workbench lint` keeps each prompt's findings between runs (`lint.cache`).
    cache: bool = True

    def table(self) -> dict[str, Any] | None:
        """The section as `lint.LintSettings.from_table` reads it (None: nothing set)."""
        table: dict[str, Any] = {}
        if self.ignore:
            table["ignore"] = list(self.ignore)
        if self.select is not None:
            table["select"] = list(self.select)
        if self.severity:
            table["severity"] = dict(self.severity)
        return table or None


@dataclass
class DefaultsSettings:
    """``[defaults]``: the default preset (empty: none)."""
    preset: str = ""


@dataclass
class Runtime:
    """What this session found out, kept apart from what the user set."""

    problems: list[str] = field(default_factory=list)
    image_protocol: str = "halfblocks"     # the one in use (detected or forced)
    gpu: Any = None                        # llm.gpu.GpuSharing, made on first use


@dataclass
class Config:
    """The effective settings, each section a dataclass; ``problems`` says what was ignored."""
    comfyui: ComfyUISettings = field(default_factory=ComfyUISettings)
    ollama: OllamaSettings = field(default_factory=OllamaSettings)
    ui: UISettings = field(default_factory=UISettings)
    lint: LintConfig = field(default_factory=LintConfig)
    keys: dict[str, str] = field(default_factory=dict)     # action id -> key
    defaults: DefaultsSettings = field(default_factory=DefaultsSettings)
    path: Path = field(default_factory=locations.config_file)
    runtime: Runtime = field(default_factory=Runtime)

    @property
    def problems(self) -> list[str]:
        """Warnings about the settings and the session, to show once."""
        return self.runtime.problems


#: flag / override name -> (section, field)
OVERRIDES = {"comfyui_urls": ("comfyui", "urls"), "ollama_host": ("ollama", "host"),
             "ollama_model": ("ollama", "model"), "theme": ("ui", "theme"),
             "image_protocol": ("ui", "image_protocol")}


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
            text = config.path.read_text(encoding="utf-8")
            _Reader(config, text).read(tomlread.loads(text))
        except (tomlread.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            config.problems.append(f"{config.path}: {exc}; using defaults")
    if env.get("COMFYUI_URL"):
        config.comfyui.urls = _split_urls(env["COMFYUI_URL"])
    if env.get("COMFYUI_AUTH_HEADER"):
        config.comfyui.auth_header = env["COMFYUI_AUTH_HEADER"]
    if env.get("OLLAMA_HOST"):
        config.ollama.host = env["OLLAMA_HOST"]
    for key, value in (overrides or {}).items():
        if value in (None, ""):
            continue
        if key == "comfyui_urls" and isinstance(value, str):
            value = _split_urls(value)
        section, name = OVERRIDES[key]
        setattr(getattr(config, section), name, value)
    forced = config.ui.image_protocol
    config.runtime.image_protocol = forced if forced in IMAGE_PROTOCOLS[1:] else "halfblocks"
    return config


# -- reading the file ---------------------------------------------------------------------

_SECTIONS = ("comfyui", "ollama", "ui", "lint", "keys", "defaults")
# (patterns for `re.match`, compiled at the first warning: not at every start)
_HEADER = r"^\s*\[\s*([^\]]+?)\s*\]"
_KEY = r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*="""


def locate(text: str, section: str, key: str | None = None) -> tuple[int, int]:
    """(line, column), 1-based, of ``key`` in ``[section]`` (or of the section's header)
    in TOML ``text``; (1, 1) when it can't be found (a dotted or inline definition)."""
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(_HEADER, line)
        if header:
            current = header.group(1).strip()
            if key is None and current == section:
                return number, line.index("[") + 1
            continue
        found = re.match(_KEY, line)
        if key is not None and current == section and found \
                and found.group(1).strip("\"'") == key:
            return number, len(line) - len(line.lstrip()) + 1
    return 1, 1


class _Reader:
    """Fills a `Config` from a parsed file, warning at ``file:line:col`` about the rest."""

    def __init__(self, config: Config, text: str) -> None:
        self.config, self.text = config, text

    def warn(self, section: str, key: str | None, message: str) -> None:
        line, col = locate(self.text, section, key)
        self.config.problems.append(f"{self.config.path}:{line}:{col}: {message}")

    def read(self, data: dict[str, Any]) -> None:
        for name, value in data.items():
            if name not in _SECTIONS:
                self.warn(name, None, f"unknown section [{name}] (known: "
                          f"{', '.join(_SECTIONS)}); it is ignored")
            elif not isinstance(value, dict):
                self.warn("", name, f"[{name}] must be a table")
            else:
                getattr(self, f"_{name}")(value)

    # -- one method per section ---------------------------------------------------------------

    def _comfyui(self, table: dict[str, Any]) -> None:
        section = self.config.comfyui
        if "url" in table:  # the singular spelling of early versions
            if self._check("comfyui", "url", table["url"], str):
                section.urls = [table["url"]]
        urls = table.get("urls")
        if urls is not None:
            if isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls):
                section.urls = list(urls)
            else:
                self.warn("comfyui", "urls", "`urls` should be a list of URLs; it is ignored")
        self._seconds("comfyui", section, table)
        self._fields("comfyui", section, table, skip={"url", "urls", "models", "timeout"})
        if "models" in table:
            self._models(table["models"])

    def _models(self, models: Any) -> None:
        if not isinstance(models, dict):
            self.warn("comfyui", "models", "[comfyui.models] must be a table")
            return
        for key, value in models.items():
            if key not in MODEL_KEYS:
                self.warn("comfyui.models", key, f"unknown key `{key}` (known: "
                          f"{', '.join(MODEL_KEYS)}); it is ignored")
            elif self._check("comfyui.models", key, value, str):
                self.config.comfyui.models[key] = value

    def _ollama(self, table: dict[str, Any]) -> None:
        section = self.config.ollama
        if "unload_before_jobs" in table and self._check(
                "ollama", "unload_before_jobs", table["unload_before_jobs"], bool):
            section.unload_before_jobs = table["unload_before_jobs"]
        self._seconds("ollama", section, table)
        self._fields("ollama", section, table, skip={"unload_before_jobs", "timeout"})

    def _ui(self, table: dict[str, Any]) -> None:
        self._fields("ui", self.config.ui, table)
        if self.config.ui.image_protocol not in IMAGE_PROTOCOLS:
            self.warn("ui", "image_protocol", f"image_protocol "
                      f"{self.config.ui.image_protocol!r} is not one of "
                      f"{', '.join(IMAGE_PROTOCOLS)}; auto is used")
            self.config.ui.image_protocol = "auto"

    def _defaults(self, table: dict[str, Any]) -> None:
        self._fields("defaults", self.config.defaults, table)
        name = self.config.defaults.preset
        if name:
            from .presets import default_presets

            if default_presets().get(name) is None:
                self.warn("defaults", "preset", f"no preset named {name!r}; none is used")
                self.config.defaults.preset = ""

    def _lint(self, table: dict[str, Any]) -> None:
        section = self.config.lint
        for key, value in table.items():
            if key in ("ignore", "select"):
                names = [value] if isinstance(value, str) else value
                if isinstance(names, list) and all(isinstance(n, str) for n in names):
                    setattr(section, key, list(names))
                else:
                    self.warn("lint", key, f"`{key}` should be a list of rule names")
            elif key == "severity":
                if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                    section.severity = {str(k): v for k, v in value.items()}
                else:
                    self.warn("lint", key, "[lint.severity] should map rule names to "
                              "error, warning, info or hint")
            elif key == "cache":
                if self._check("lint", key, value, bool):
                    section.cache = value
            else:
                self.warn("lint", key, f"unknown key `{key}` (ignore, select, severity, "
                          "cache)")

    def _keys(self, table: dict[str, Any]) -> None:
        for action, key in table.items():
            if isinstance(key, str) and key.strip():
                self.config.keys[str(action)] = key.strip()
            else:
                self.warn("keys", action, f"`{action}` should be a key such as \"f5\" or "
                          "\"ctrl+r\"; it is ignored")

    # -- helpers --------------------------------------------------------------------------------

    def _fields(self, name: str, section: Any, table: dict[str, Any],
                skip: set[str] = frozenset()) -> None:
        """Copy the table's keys onto ``section``'s same-named fields, checking types."""
        known = {f.name: f for f in fields(section)}
        for key, value in table.items():
            if key in skip:
                continue
            if key not in known:
                self.warn(name, key, f"unknown key `{key}` in [{name}] (known: "
                          f"{', '.join(sorted(set(known) | skip))}); it is ignored")
                continue
            kind = type(getattr(section, key))
            if self._check(name, key, value, kind):
                setattr(section, key, value)

    def _seconds(self, name: str, section: Any, table: dict[str, Any]) -> None:
        """``timeout``: a positive number of seconds (an int is fine)."""
        value = table.get("timeout")
        if value is None:
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                0 < value < 1e6:
            section.timeout = float(value)
        else:
            self.warn(name, "timeout", "`timeout` should be a number of seconds above 0; "
                      f"the default ({section.timeout:g}) is used")

    def _check(self, section: str, key: str, value: Any, kind: type) -> bool:
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return True
        self.warn(section, key, f"`{key}` should be a {kind.__name__}, not "
                  f"{type(value).__name__}; the default is used")
        return False


# -- writing one setting back ---------------------------------------------------------------

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
    target = getattr(config, section, None)
    if target is not None and hasattr(target, key):
        setattr(target, key, value)
