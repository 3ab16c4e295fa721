"""The command line: the TUI by default, headless verbs for scripts, CI and SSH sessions.

Both drive the same core; nothing here knows about Textual except the lazy import that
starts the app.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType

from . import __version__

#: Headless verbs, each a module in `workbench.commands`.
VERBS: tuple[str, ...] = ("list", "locate", "lint", "rules", "rewrite", "run", "edit",
                          "doctor", "import", "ab", "judge")
#: Verbs whose module name differs (``import`` is a Python keyword).
_VERB_MODULES = {"import": "import_png"}

EPILOG = """\
configuration:
  Settings are read from config.toml in the user config dir (`workbench locate` prints
  where), then from the environment, then from these flags, each overriding the last:
    COMFYUI_URL          ComfyUI server(s), comma-separated (default http://127.0.0.1:8188)
    COMFYUI_AUTH_HEADER  extra header for a server behind a proxy ("Name: value")
    OLLAMA_HOST          Ollama server (default 127.0.0.1:11434)
  The config file has sections [comfyui] urls/auth_header/verify_tls/models, [ollama]
  host/model/vision_model/unload_before_jobs, [ui] theme/image_protocol, [defaults]
  preset, [lint] ignore/select/severity and [keys] (action = key).

libraries:
  Without PATH the TUI opens your libraries folder (created on first start with copies of
  the bundled examples). PATH may be one library (.toml) or a folder of them.

Run `workbench VERB --help` for a verb's own options.
"""


def _verb_module(verb: str) -> ModuleType:
    module = _VERB_MODULES.get(verb, verb.replace("-", "_"))
    return importlib.import_module(f".commands.{module}", __package__)


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override config.toml and the environment)")
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="config file to use instead of the user config")
    group.add_argument("--comfyui-url", metavar="URL[,URL]", dest="comfyui_urls",
                       help="ComfyUI server URL(s)")
    group.add_argument("--ollama-host", metavar="HOST", help="Ollama host:port or URL")
    group.add_argument("--ollama-model", metavar="NAME", help="Ollama model for text actions")
    group.add_argument("--theme", metavar="NAME", help="TUI theme")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="FLUX Prompt Workbench: write, lint, compare and keep FLUX.1 prompts "
                    "for ComfyUI. With no verb it opens the terminal UI.",
        epilog=EPILOG + "\nverbs:\n" + "\n".join(
            f"  {verb:<10} {_verb_module(verb).HELP}" for verb in VERBS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", nargs="?", type=Path, metavar="PATH",
                        help="library file or folder to open (default: your libraries)")
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    add_common_flags(parser)
    return parser


def build_verb_parser(verb: str) -> tuple[argparse.ArgumentParser, ModuleType]:
    module = _verb_module(verb)
    parser = argparse.ArgumentParser(prog=f"workbench {verb}", description=module.HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    add_common_flags(parser)
    return parser, module


def config_from_args(args: argparse.Namespace):
    from .config import load_config

    return load_config(args.config, overrides={
        "comfyui_urls": args.comfyui_urls,
        "ollama_host": args.ollama_host,
        "ollama_model": args.ollama_model,
        "theme": args.theme,
    })


def main(argv: list[str]) -> int:
    if argv and argv[0] in VERBS:
        parser, module = build_verb_parser(argv[0])
        args = parser.parse_args(argv[1:])
        config = config_from_args(args)
        from .textsafe import printable

        for problem in config.problems:
            print(f"workbench: {printable(problem)}", file=sys.stderr)
        try:
            return module.run(args, config)
        except BrokenPipeError:  # `workbench list | head`
            return 0
        except KeyboardInterrupt:
            return 130
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    from .tui.app import run_app

    return run_app(config, args.path)
