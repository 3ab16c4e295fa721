"""What each editable field does in the composed prompt and what FLUX wants there: the
longer help that F1 shows for the focused field (the one-line help is `fields.FORMS`'s).

The guidance comes from the users' FLUX guide: natural sentences rather than keyword
lists, the subject first, no prompt weights, exact text in quotes."""

from __future__ import annotations

from .fields import FORM_BY_KEY

GUIDE: dict[str, str] = {
    "name": "Only for you: it names the prompt in the list, runs and history; FLUX never "
            "sees it. Unique within its library.",
    "model": "FLUX.1 dev (quality, 20-50 steps, guidance 2-3.5), schnell (fast, 1-4 "
             "steps, no guidance) or Kontext (edits a source image with an instruction). "
             "Empty parameters take this variant's defaults.",
    "tags": "For filtering the list with #tag; not part of the prompt.",
    "subject": "Opens the composed prompt, joined with Action into its first sentence. "
               "FLUX weighs the start of the prompt most: say who or what, concretely.",
    "action": "Follows the subject in the first sentence: what it is doing.",
    "style": "Its own sentence after the subject. Describe the medium, look and lighting "
             "in words (\"loose ink linework\") rather than artist names or quality tags.",
    "context": "Its own sentence: the setting, time of day, weather and mood.",
    "foreground": "\"In the foreground, ...\": the layers sentence places things by depth, "
                  "which FLUX follows better than left/right.",
    "midground": "\"in the middle ground, ...\" in the layers sentence.",
    "background": "\"in the background, ...\" in the layers sentence.",
    "text": "Added as: The image shows the text \"...\", spelled exactly. Keep it short; "
            "FLUX renders quoted text best.",
    "camera": "The last sentence: lens, angle, depth of field, film stock.",
    "raw": "When set, this text is the whole prompt and the structured fields above are "
           "ignored (the linter still checks it).",
    "source_image": "The image img2img or Kontext starts from, relative to the library's "
                    "folder; → accepts the path suggested as you type.",
    "follows": "Makes this Kontext edit a step of a chain: it starts from that prompt's "
               "result (the chain view, Ctrl+P › Kontext chain, runs it).",
    "seed": "The same seed and settings give the same image: fix it to compare prompts.",
    "steps": "More steps refine detail: dev 20-50 (28 is a good start), schnell 1-4.",
    "guidance": "How closely dev follows the prompt: 2.0-3.5; higher looks harsher. "
                "Schnell ignores it.",
    "cfg": "The sampler's cfg: keep 1.0 for FLUX (guidance does that job); above 1 it "
           "doubles the time and needs a negative prompt.",
    "width": "Pixels, a multiple of 16; about one megapixel in total works best.",
    "height": "Pixels, a multiple of 16; about one megapixel in total works best.",
    "sampler": "ComfyUI's sampler name; euler suits FLUX.",
    "scheduler": "ComfyUI's scheduler name; simple or beta suit FLUX.",
    "denoise": "How much of a source image is redrawn: 1.0 for text-to-image, 0.5-0.85 "
               "to keep the source's composition.",
    "negative": "Only has an effect with cfg above 1.",
    "preset": "A named set of parameters (Ctrl+P › Preset: ...); a value typed in a "
              "parameter field wins over the preset's.",
    "loras": "file.safetensors:strength:trigger words; several separated by ';'. The "
             "trigger words go into the prompt.",
    "notes": "Free notes kept with the prompt; FLUX never sees them.",
}


def field_help(key: str) -> tuple[str, str, str]:
    """(label, one-line help, guidance) of the field ``key``."""
    form = FORM_BY_KEY[key]
    return form.label, form.help, GUIDE.get(key, "")
