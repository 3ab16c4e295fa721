"""Cleaning what local models write: the answer only, as text, fields or instructions.

Models wrap answers in thinking blocks, code fences, prefaces ("Here is the prompt:"),
labels and quotes, and JSON comes with or without fences.  These functions take all that
off and never let a terminal escape through (`strip_escapes`); bad JSON is an
`InvalidAnswer` the caller can retry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ..spec import TEXT_FIELDS
from ..textsafe import printable
from ..untrusted import JsonError, loads_json
from .ollama import LLMError


class InvalidAnswer(LLMError):
    """The model's answer could not be used (not the JSON asked for, or empty)."""


_THINK_BLOCK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.S | re.I)
_UNCLOSED_THINK = re.compile(r"^\s*<(think|thinking)>.*", re.S | re.I)
_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n(.*?)\n?```\s*$", re.S)
_PREFACE = re.compile(
    r"^(sure|okay|ok|certainly|of course|here(?:'s| is| are)|rewritten|translated|"
    r"translation|expanded|fixed|improved|revised|polished|the (?:rewritten|translated|"
    r"expanded|fixed|improved|revised) prompt|prompt|flux prompt|description)\b[^\n]{0,80}:\s*$",
    re.I)
_LABEL = re.compile(r"^(?:\*\*)?(?:prompt|flux prompt|rewritten prompt|translation|"
                    r"description)(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.I)
_PAIRS = {'"': '"', "'": "'", "“": "”", "«": "»", "„": "“", "「": "」"}


def strip_escapes(text: str) -> str:
    """Drop terminal escape sequences and control characters (newlines and tabs stay)."""
    return printable(text).replace("\N{REPLACEMENT CHARACTER}", "")


def clean_answer(text: str) -> str:
    """The answer without reasoning blocks, markdown fences, a "Here is ...:" preface, a
    "Prompt:" label, wrapping quotes, or escape sequences."""
    text = strip_escapes(text)
    text = _THINK_BLOCK.sub("", text)
    text = _UNCLOSED_THINK.sub("", text)
    text = text.strip()
    match = _FENCE.match(text)
    if match:
        text = match.group(1).strip()
    lines = text.split("\n")
    if len(lines) > 1 and _PREFACE.match(lines[0].strip()):
        text = "\n".join(lines[1:]).strip()
        match = _FENCE.match(text)
        if match:
            text = match.group(1).strip()
    text = _LABEL.sub("", text, count=1).strip()
    text = _unwrap_quotes(text)
    if text.startswith("**") and text.endswith("**") and text.count("**") == 2:
        text = text[2:-2].strip()
    return text


def _unwrap_quotes(text: str) -> str:
    """Remove quotes around the whole answer, but only when they are a pair that wraps it
    (so ``"OPEN" and "CLOSED"`` keeps its in-image text quotes)."""
    if len(text) >= 2 and text[0] in _PAIRS and text[-1] == _PAIRS[text[0]]:
        inner = text[1:-1]
        if text[0] not in inner and _PAIRS[text[0]] not in inner:
            return inner.strip()
    return text


def _json_object(text: str) -> Any:
    text = clean_answer(text)
    try:
        return loads_json(text)  # depth and numbers capped: a model may answer anything
    except JsonError as exc:
        start, end = text.find("{"), text.rfind("}")
        if exc.syntax and 0 <= start < end:
            return loads_json(text[start:end + 1])
        raise


def parse_fields(text: str) -> dict[str, str]:
    """Decompose's answer as every text field (cleaned); raises `InvalidAnswer`."""
    try:
        data = _json_object(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(_not_json(text, exc)) from exc
    if not isinstance(data, dict):
        raise InvalidAnswer(f"a JSON {type(data).__name__}, not an object")
    unknown = [k for k in data if k not in TEXT_FIELDS]
    if unknown:
        raise InvalidAnswer(f"unknown fields {', '.join(map(str, unknown[:5]))}")
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise InvalidAnswer(f"fields that are not strings: {', '.join(bad)}")
    fields = {name: _clean_field(data.get(name, "")) for name in TEXT_FIELDS}
    if not any(fields.values()):
        raise InvalidAnswer("every field is empty")
    return fields


def _not_json(text: str, exc: json.JSONDecodeError) -> str:
    """Why an answer is not the JSON asked for, in words (not the parser's "Expecting
    value: line 1 column 1"): what it begins with, or the limit it broke."""
    if isinstance(exc, JsonError) and not exc.syntax:
        return f"not usable JSON: {exc}"
    start = " ".join(strip_escapes(clean_answer(text)).split())[:60]
    return f"not JSON (the answer begins “{start}”)" if start else "not JSON (an empty answer)"


def _clean_field(value: str) -> str:
    return " ".join(strip_escapes(value).split())


def parse_instructions(text: str) -> list[str]:
    """Kontext's answer as a list of instructions: the JSON asked for, or failing that one
    instruction per line (list markers removed)."""
    try:
        data = _json_object(text)
    except JsonError as exc:
        if not exc.syntax:  # JSON, but absurd (deep, huge numbers): not instructions
            raise InvalidAnswer(f"not usable JSON: {exc}") from exc
        data = None
    if isinstance(data, dict):
        data = data.get("instructions")
    if isinstance(data, list):
        items = [_clean_field(item) for item in data if isinstance(item, str)]
    else:
        items = [_clean_field(re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line))
                 for line in clean_answer(text).splitlines()]
    items = [item for item in items if item]
    if not items:
        raise InvalidAnswer("no instructions in the answer")
    return items


_QUOTED = re.compile(r'"([^"\n]+)"|«([^»\n]+)»|„([^“”\n]+)[“”]|“([^”\n]+)”|「([^」\n]+)」')


def quoted_text(text: str) -> list[str]:
    """The in-image text of a prompt: whatever it puts in quotes (any quote style)."""
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]


def diagnostic_messages(diagnostics: Iterable[Any]) -> list[str]:
    """Lint diagnostics as plain messages: strings as they are, objects by ``.message``."""
    out = []
    for d in diagnostics:
        message = d if isinstance(d, str) else getattr(d, "message", None) or str(d)
        message = " ".join(str(message).split())
        if message:
            out.append(message)
    return out
