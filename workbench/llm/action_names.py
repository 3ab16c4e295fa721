"""The LLM actions by name, with one line each: what menus and the palette list.

Kept apart from `actions` so listing them costs nothing (the Ollama client and pydantic
load only when an action actually runs).
"""

ACTIONS: dict[str, str] = {
    "rewrite": "Polish the prompt into FLUX-style natural language",
    "fix": "Rewrite so the linter's findings go away",
    "translate": "Translate to English, keeping in-image text as is",
    "expand": "Turn a short idea into a detailed prompt",
    "decompose": "Split a free-form prompt into the structured fields",
    "kontext": "Turn a wish into single-change Kontext instructions",
    "describe": "Describe the source image with a vision model (as a starting prompt)",
}
