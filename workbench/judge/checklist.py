"""What a prompt asked for, as a checklist a vision model can tick off item by item.

One item per filled text field of the spec (subject, action, style, context, the three
layers, camera), and the in-image text as its own item.  A raw-mode prompt has no fields,
so its sentences become the items (at most `MAX_RAW_ITEMS`) and its quoted words the text.
Weights say how much an item counts in the adherence score: the subject most (FLUX weighs
it most, and a picture without it is simply wrong), camera notes least (a small vision
model can hardly tell a 35 mm lens from a 50 mm one).

The checklist hash covers what the model is asked (keys, the words wanted and the version
of the question), not the weights: weights are applied when scoring, so changing them does
not throw away cached answers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from ..compose import clean, compose
from ..fields import FORM_BY_KEY
from ..llm.answers import quoted_text as quoted_parts
from ..spec import TEXT_FIELDS, PromptSpec

#: Bump when the question sent to the model changes (it invalidates cached answers).
QUESTION_VERSION = 1

WEIGHTS: dict[str, float] = {
    "subject": 3.0,
    "action": 2.0,
    "style": 1.5,
    "context": 1.0,
    "foreground": 1.0,
    "midground": 1.0,
    "background": 1.0,
    "text": 2.0,
    "camera": 0.5,
}
#: Raw prompts: one item per sentence, up to this many (the rest joins the last one).
MAX_RAW_ITEMS = 8
#: What one item may ask for (a longer field is cut; the model reads only so much).
MAX_WANTED_CHARS = 300

_SENTENCES = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class ChecklistItem:
    """One thing the image should show: ``key`` names it in the model's answer."""

    key: str
    label: str
    wanted: str
    weight: float


@dataclass(frozen=True)
class Checklist:
    """The items, and separately the exact text(s) the image should carry."""

    items: tuple[ChecklistItem, ...]
    texts: tuple[str, ...] = ()
    hash: str = field(default="", compare=False)

    @property
    def keys(self) -> list[str]:
        return [item.key for item in self.items]

    def item(self, key: str) -> ChecklistItem | None:
        return next((i for i in self.items if i.key == key), None)

    def to_dict(self) -> dict:
        return {"hash": self.hash, "texts": list(self.texts),
                "items": [{"key": i.key, "label": i.label, "wanted": i.wanted,
                           "weight": i.weight} for i in self.items]}


def wanted_texts(spec: PromptSpec) -> list[str]:
    """The exact text(s) the image should carry.  The ``text`` field as the composer writes
    it (one text, surrounding quotes dropped), or several when it quotes several
    (``"OPEN" and "CLOSED"``); in raw mode the quoted parts of the prompt."""
    if spec.is_raw:
        source = spec.raw
    else:
        source = clean(spec.text)
        if not source:
            return []
        parts = quoted_parts(source)
        if len(parts) > 1:
            return _unique(clean(p) for p in parts)
        return [source.strip('"“”')] if source.strip('"“” ') else []
    return _unique(clean(p) for p in quoted_parts(source))


def _unique(values) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_WANTED_CHARS else text[:MAX_WANTED_CHARS - 1] + "…"


def build_checklist(spec: PromptSpec) -> Checklist:
    """The checklist for ``spec`` (empty when the prompt is empty)."""
    items: list[ChecklistItem] = []
    texts = wanted_texts(spec)
    if spec.is_raw:
        sentences = [s for s in _SENTENCES.split(compose(spec)) if s.strip()]
        if len(sentences) > MAX_RAW_ITEMS:
            sentences = sentences[:MAX_RAW_ITEMS - 1] + [" ".join(sentences[MAX_RAW_ITEMS - 1:])]
        for n, sentence in enumerate(sentences, start=1):
            items.append(ChecklistItem(f"part{n}", f"Part {n}", _cut(sentence), 1.0))
    else:
        for name in TEXT_FIELDS:
            value = clean(getattr(spec, name))
            if name == "text":
                continue
            if value:
                items.append(ChecklistItem(name, FORM_BY_KEY[name].label, _cut(value),
                                           WEIGHTS[name]))
    if texts:
        wanted = " and ".join(f'the text "{t}"' for t in texts)
        items.append(ChecklistItem("text", FORM_BY_KEY["text"].label, _cut(wanted),
                                   WEIGHTS["text"]))
    checklist = Checklist(tuple(items), tuple(texts))
    return Checklist(checklist.items, checklist.texts, checklist_hash(checklist))


def checklist_hash(checklist: Checklist) -> str:
    """sha256 of what the model is asked about this checklist (stable across runs)."""
    payload = {"v": QUESTION_VERSION, "items": [[i.key, i.wanted] for i in checklist.items],
               "texts": list(checklist.texts)}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True)
                          .encode("utf-8")).hexdigest()
