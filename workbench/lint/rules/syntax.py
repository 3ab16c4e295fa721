"""Prompt syntax from other tools that FLUX-in-ComfyUI does not understand: Stable Diffusion
and Midjourney weights (FX101) and A1111 / Civitai syntax (codes FX114-117).

Prompts copied from Automatic1111, Forge or Civitai carry syntax that their UI interprets
and ComfyUI's CLIPTextEncode does not: ``<lora:name:0.8>`` tags, ``BREAK``, textual
inversion names, and ``{a|b|c}`` choices (which ComfyUI's *web UI* expands before queueing,
but the workbench talks to the API, which sends the text as it is).  Sources: ComfyUI's
README (prompt syntax: ``(word:1.2)``, ``{day|night}`` in the frontend, ``embedding:name``)
and ComfyUI_examples (LoRAs are loaded by a LoraLoader node, not by the prompt).
"""

from __future__ import annotations

import re

from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import KNOWN_EMBEDDINGS, WORD, Lazy, clean_edit, edit_is_clean, has_words, inside
from .common import GUIDE_MISTAKES

COMFY = "ComfyUI README, prompt syntax; ComfyUI_examples (lora, textual_inversion_embeddings)"

# -- weight-syntax ---------------------------------------------------------------------------

_WEIGHT = Lazy(
    r"\(+\s*([^()\n]*?)\s*:\s*-?\d+(?:\.\d+)?\s*\)+"   # (word:1.4), ((word:1.2))
    r"|\({2,}([^()\n]*)\){2,}"                          # ((word))
    r"|\[+([^\[\]\n]*)\]+"                              # [word], [a:b:0.5]
    r"|\{+([^{}|\n]*)\}+"                                # {word} ({a|b} is choice syntax)
    r"|(?<=\S)\s*::\s*-?\d*\.?\d+|(?<=\S)\s*::(?!:)"  # word::2 (Midjourney)
)
#: `_WEIGHT` without its "::" forms (the groups keep their numbers).
_WEIGHT_BRACKETS = Lazy(_WEIGHT.pattern.rsplit("|(?<=", 1)[0].rsplit("|(?<=", 1)[0])
#: BFL's model names put the variant in brackets: "FLUX.1 [dev]", "FLUX.2 [flex]".
_MODEL_NAME = Lazy(r"\bflux(?:\.\d+)?\s*\[\s*(?:dev|pro|schnell|flex|max|klein|kontext|"
                   r"ultra|raw)(?:\s+\w+)?\s*\]\Z", re.I)
#: A1111 prompt editing / scheduling: [from:to:0.5], [word:0.5]: no single "inner words".
_SCHEDULE = Lazy(r"\[[^\[\]\n]*:\s*-?\d*\.?\d+\s*\]")


def unweight(text: str) -> str:
    """``text`` with every weighting construct replaced by its inner words."""
    for _ in range(10):
        new = _WEIGHT.sub(lambda m: next((g for g in m.groups() if g is not None), ""), text)
        if new == text:
            break
        text = new
    return text


@rule("weight-syntax", "FX101", "warning", family="text", fix="safe",
      marks=("(", "[", "{", "::"),
      summary="Stable Diffusion / Midjourney weighting: (word:1.4), ((word)), [word], "
              "{word}, word::2",
      rationale="FLUX was not trained with prompt weights (BFL: weighting is not supported). "
                "ComfyUI does read (word:1.2) and ((word)) and scales those tokens' T5 and "
                "CLIP embeddings, so the effect is unpredictable; [word], {word} and "
                "word::2 it does not parse at all, and the brackets reach the encoders as "
                "text. Say it in words instead: \"with emphasis on ...\", \"especially "
                "...\".",
      source=f"{GUIDE_MISTAKES}: weights like \"(beautiful:1.5)\" work in Stable "
             "Diffusion, not in FLUX; ComfyUI comfy/sd1_clip.py token_weights (parentheses "
             "only) and ClipTokenWeightEncoder, used for FLUX's T5 in comfy/text_encoders/"
             "flux.py")
def weight_syntax(ctx):
    for field, text in ctx.prose_fields:
        if "::" in text:
            pattern = _WEIGHT
        elif "(" in text or "[" in text or "{" in text:
            pattern = _WEIGHT_BRACKETS
        else:
            continue
        for m in pattern.finditer(text):
            if _MODEL_NAME.search(text, max(0, m.start() - 12), m.end()):
                continue  # "FLUX.1 [dev]", "Use FLUX.2 [flex]": a model's name
            raw = m.group()
            inner = unweight(next((g for g in m.groups() if g is not None), ""))
            words = inner.strip()
            parsed = raw.lstrip().startswith("(")
            if _SCHEDULE.fullmatch(raw.strip()):
                yield Hit(field, m.start(), m.end(),
                          f"A1111 prompt editing {raw.strip()!r} is not understood by "
                          "ComfyUI; FLUX reads the brackets and numbers as text",
                          suggestion="write the version you want in words")
                continue
            if words or raw.strip()[:1] not in "([{":
                if not inner and 0 < m.start() and m.end() < len(text) \
                        and text[m.start() - 1].isalnum() and text[m.end()].isalnum():
                    inner = " "
                # keep words apart: "a(b:1.2)c" becomes "a b c", not "abc"
                if inner and m.start() > 0 and text[m.start() - 1].isalnum() \
                        and inner[0].isalnum():
                    inner = " " + inner
                if inner and m.end() < len(text) and text[m.end()].isalnum() \
                        and inner[-1].isalnum():
                    inner += " "
                fix = Fix(f"drop the weighting, keep {words!r}" if words else
                          "drop the weighting", (Edit(field, m.start(), m.end(), inner),),
                          safe=True)
            else:
                edit = clean_edit(field, text, m.start(), m.end())
                fix = Fix("remove the empty weighting", (edit,), safe=True) if edit else None
            what = ("ComfyUI scales these tokens, but FLUX was not trained with weights"
                    if parsed else "ComfyUI does not parse this; FLUX reads it as text")
            yield Hit(field, m.start(), m.end(), f"weight syntax {raw.strip()!r}: {what}",
                      fix=fix,
                      suggestion=f"write \"with emphasis on {words}\" if it matters"
                      if words else "")


# -- lora-tag ------------------------------------------------------------------------------

_LORA = Lazy(r"<\s*(lora|lyco|hypernet)\s*:\s*([^:<>\n]+?)\s*(?::\s*(-?\d*\.?\d+)\s*)?"
                   r"(?::[^<>\n]*)?>", re.I)


def _lora_file(name: str) -> str:
    name = name.strip()
    return name if re.search(r"\.(?:safetensors|ckpt|pt|bin)$", name, re.I) \
        else f"{name}.safetensors"


@rule("lora-tag", "FX114", "warning", family="syntax", fix="unsafe", marks=("<",),
      summary="A1111 <lora:name:0.8> tag in the prompt text",
      rationale="ComfyUI does not load LoRAs from the prompt: the tag is sent to the text "
                "encoders as words and the LoRA is never applied. Attach the LoRA to the "
                "prompt instead (its `loras` list, which the workbench wires into a "
                "LoraLoader), and check it was trained for FLUX: SD 1.5/SDXL LoRAs do not "
                "fit FLUX.",
      source=COMFY)
def lora_tag(ctx):
    for field, text in ctx.user_fields:
        if "<" not in text:
            continue
        for m in _LORA.finditer(text):
            kind, name, weight = m.group(1).lower(), m.group(2), m.group(3)
            strength = float(weight) if weight else 1.0
            edit = clean_edit(field, text, *m.span())
            if kind == "lora" and edit is not None:
                fix = Fix(f"move {name.strip()!r} into this prompt's LoRAs (strength "
                          f"{strength:g})", (edit,),
                          add_loras=((_lora_file(name), strength),))
            else:
                fix = Fix(f"remove {m.group()!r}", (edit,)) if edit else None
            yield Hit(field, *m.span(),
                      f"{m.group()!r} is A1111 syntax; ComfyUI sends it to FLUX as text",
                      fix=fix,
                      suggestion="if it is a FLUX LoRA, attach it to the prompt (the fix, "
                                 "or \"Add LoRA from the server\" in the command palette)")


_BREAK = Lazy(r"(?:[^\S\n]*\n?[^\S\n]*\bBREAK\b)+[^\S\n]*\n?[^\S\n]*")


@rule("break-keyword", "FX115", "warning", family="syntax", fix="safe", marks=("BREAK",),
      summary="A1111 BREAK in the prompt",
      rationale="BREAK tells Automatic1111 to start a new 77-token CLIP chunk; ComfyUI's "
                "text encoder has no such keyword, so FLUX reads the word \"BREAK\" as part "
                "of the description. Use a full stop or a new sentence.",
      source=COMFY)
def break_keyword(ctx):
    for field, text in ctx.user_fields:
        if "BREAK" not in text:
            continue
        quotes = ctx.quotes(field, text)
        for m in _BREAK.finditer(text):
            start, end = m.span()
            if quotes and inside(quotes, start, end):
                continue
            fix = _break_fix(field, text, start, end)
            word = text.find("BREAK", start, end)
            yield Hit(field, word, word + 5,
                      "BREAK is A1111 syntax; FLUX reads it as a word", fix=fix)


def _break_fix(field: str, text: str, start: int, end: int) -> Fix:
    """Replace a BREAK (and the space around it) with the separator that fits: a comma
    between two phrases, a space after a full stop or before a comma, nothing at an end;
    safe only when that leaves no doubled or dangling separator."""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    if not before or not after:
        glues = ("",)
    elif before[-1] in ".,;:!?，、" or after[0] in ",;.，、":
        glues = (" ", "")
    else:
        glues = (", ", " ")
    for glue in glues:
        new = text[:start] + glue + text[end:]
        if has_words(new) and edit_is_clean(text, start, end, glue):
            return Fix("replace BREAK with a separator", (Edit(field, start, end, glue),),
                       safe=True)
    return Fix("remove BREAK", (Edit(field, start, end, glues[0]),))


_EMBEDDING_HINTS = frozenset(WORD.findall(n.lower())[0] for n in KNOWN_EMBEDDINGS)
_EMBEDDING = Lazy(r"\bembedding:\s*([\w.\-]+)|(?<![\w-])(" + "|".join(
    re.escape(n) for n in KNOWN_EMBEDDINGS) + r")(?![\w-])", re.I)


@rule("embedding-name", "FX116", "warning", family="syntax", fix="unsafe",
      marks=("embedding",), words=_EMBEDDING_HINTS,
      summary="textual-inversion embedding (embedding:name, EasyNegative...) in the prompt",
      rationale="Textual-inversion embeddings are trained for Stable Diffusion's CLIP "
                "encoders. FLUX follows its T5 encoder, which has no such embedding (ComfyUI "
                "drops it there), so at most it nudges CLIP-L's pooled vector; most of these "
                "names were meant for an SD negative prompt, which FLUX does not use. "
                "Describe the concept in words.",
      source=COMFY)
def embedding_name(ctx):
    for field, text in ctx.user_fields:
        if "embedding" not in text and _EMBEDDING_HINTS.isdisjoint(ctx.words(field, text)):
            continue
        quotes = ctx.quotes(field, text)
        for m in _EMBEDDING.finditer(text):
            if quotes and inside(quotes, *m.span()):
                continue
            name = m.group(1) or m.group(2)
            edit = clean_edit(field, text, *m.span())
            yield Hit(field, *m.span(),
                      f"{m.group()!r} is a Stable Diffusion textual inversion; FLUX's T5 "
                      "encoder cannot use it",
                      fix=Fix(f"remove {name!r}", (edit,)) if edit else None,
                      suggestion="describe what the embedding stood for in words")


_CHOICE = Lazy(r"\{([^{}\n]*\|[^{}\n]*)\}")


@rule("choice-syntax", "FX117", "warning", family="syntax", fix="unsafe", marks=("|",),
      summary="{a|b|c} random-choice syntax",
      rationale="ComfyUI's web UI replaces {a|b|c} with one option when you queue, but the "
                "workbench queues through the API, which sends the braces and bars to FLUX "
                "as text. Pick one option, or compare the options as an A/B axis.",
      source=COMFY)
def choice_syntax(ctx):
    for field, text in ctx.user_fields:
        if "|" not in text or "{" not in text:
            continue
        for m in _CHOICE.finditer(text):
            options = [o.strip() for o in m.group(1).split("|")]
            first = options[0]
            yield Hit(field, *m.span(),
                      f"{m.group()!r} is expanded by ComfyUI's web UI only; the API sends it "
                      "as text",
                      fix=Fix(f"use the first option, {first!r}",
                        (Edit(field, *m.span(), first),)) if first else None,
                      suggestion="or compare the options as an A/B axis: "
                                 + " vs ".join(repr(o) for o in options if o))
