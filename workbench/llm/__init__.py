"""Local LLM help through Ollama: templated actions that propose, never apply.

`ollama` wraps the official client (errors phrased for people), `templates` holds the
prompts as editable TOML, `actions` turns a model's answer into a `Proposal` the caller
may accept.  Nothing here imports Textual.
"""
