"""LoRA trigger words: the words that wake a LoRA go in front of the prompt that is sent.

Seed 003's service builds ``f"{trigger} {prompt}"``; the workbench does the same at the
moment a workflow is built (never in `compose`, so the library text stays what the user
wrote), and only for triggers the prompt does not already contain (case-insensitive, as
whole words: "TOK" is not found inside "tokyo").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .compose import clean
from .spec import Lora


def _present(trigger: str, text: str) -> bool:
    pattern = r"(?<!\w)" + re.escape(trigger) + r"(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def missing_triggers(text: str, loras: Iterable[Lora]) -> list[str]:
    """The trigger words of ``loras`` that ``text`` lacks, in order, without repeats."""
    missing: list[str] = []
    for lora in loras:
        for trigger in (clean(t) for t in lora.triggers):
            if trigger and not _present(trigger, text) and \
                    trigger.lower() not in (m.lower() for m in missing):
                missing.append(trigger)
    return missing


def with_triggers(text: str, loras: Iterable[Lora]) -> str:
    """``text`` with the missing trigger words put in front (``"TOK a photo of ..."``)."""
    missing = missing_triggers(text, loras)
    return " ".join([*missing, text]) if missing and text else " ".join(missing) or text
