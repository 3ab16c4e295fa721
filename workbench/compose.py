"""Spec -> the one natural-language prompt FLUX sees.

FLUX's T5 encoder reads sentences and weighs early words most (seed 000), so the composer
writes sentences in priority order: subject and action, style, context, the three layers,
in-image text in double quotes, then camera notes.  It is pure and deterministic: the same
spec always gives the same text, which is what makes fixed-seed comparisons meaningful.
"""

from __future__ import annotations

from .spec import PromptSpec

# C0/C1 control characters (other than whitespace, which `str.split` handles) never reach
# the prompt: they are invisible in an editor and confuse tokenizers and terminals alike.
_CONTROL = {c: None for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                              *range(0x80, 0xA0))}
_SENTENCE_END = (".", "!", "?", "…", '."', '!"', '?"', ".'", "!'", "?'")


def clean(text: str) -> str:
    """One line: control characters removed and runs of whitespace collapsed."""
    if not text:
        return ""
    if text.isprintable():  # the common case, checked in C: no controls, no newlines
        return " ".join(text.split()) if "  " in text or text[0] == " " or text[-1] == " " \
            else text
    return " ".join(text.translate(_CONTROL).split())


def sentence(text: str) -> str:
    """``text`` as a sentence: capitalised first letter, one closing full stop."""
    text = text.rstrip(",;: ")
    if not text:
        return ""
    if text[0].islower():
        text = text[0].upper() + text[1:]
    if not text.endswith(_SENTENCE_END):
        text += "."
    return text


def _layers(spec: PromptSpec) -> str:
    parts = []
    for label, value in (("in the foreground", spec.foreground),
                         ("in the middle ground", spec.midground),
                         ("in the background", spec.background)):
        value = clean(value).rstrip(".;, ")
        if value:
            parts.append(f"{label}, {value}")
    return sentence("; ".join(parts)) if parts else ""


def _in_image_text(text: str, so_far: str) -> str:
    text = clean(text).strip('"“”')
    if not text or f'"{text}"' in so_far:
        return ""
    return f'The image shows the text "{text}", spelled exactly.'


def compose(spec: PromptSpec) -> str:
    """The prompt text for ``spec`` (its raw text in raw mode)."""
    if spec.is_raw:
        return clean(spec.raw)
    lead = " ".join(p for p in (clean(spec.subject), clean(spec.action)) if p)
    parts = [
        sentence(lead),
        sentence(clean(spec.style)),
        sentence(clean(spec.context)),
        _layers(spec),
    ]
    so_far = " ".join(p for p in parts if p)
    parts.append(_in_image_text(spec.text, so_far))
    parts.append(sentence(clean(spec.camera)))
    return " ".join(p for p in parts if p)


def word_count(text: str) -> int:
    return len(text.split())
