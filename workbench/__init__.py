"""FLUX Prompt Workbench: structured FLUX.1 prompts, linted, compared on ComfyUI, kept in TOML.

The package root stays import-light so the TUI's cold start pays only for what it shows.
"""

__version__ = "0.1.0"
