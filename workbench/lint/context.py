"""Everything a rule may look at for one prompt, computed once per lint call.

Rules read the spec through this object: the user's fields with their own offsets, the
composed text, the effective parameters, and what the caller knows about the world (the
other prompts of the library, the A/B partner, the server's VRAM).  What every lint needs
is computed up front, once, and shared by all rules: the text, whether it is ASCII, and its
lower-case words (which also decide which rules run at all, see `registry`).  Per-field
data (lower case, word sets, quoted spans), the effective parameters and exact token
counts are computed on first use only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from ..compose import compose
from ..presets import effective_params
from ..spec import TEXT_FIELDS, VARIANT_DEFAULTS, Params, PromptSpec, source_path
from .textutil import estimate_tokens, find_words, quoted_spans, word_count


class LintContext:
    __slots__ = ("spec", "server_vram_gb", "compare_with", "context", "base_dir", "_params",
                 "is_raw", "is_edit", "is_img2img", "user_fields", "prose_fields", "whole",
                 "whole_words", "text", "ascii", "all_words", "memo", "_composed", "_tokens", "_t5",
                 "_quotes", "_lower", "_words")

    def __init__(self, spec: PromptSpec, *, server_vram_gb: float | None = None,
                 compare_with: PromptSpec | None = None,
                 context: Mapping[str, PromptSpec] | None = None,
                 base_dir: Path | None = None, edit: bool | None = None) -> None:
        self.spec = spec
        self.server_vram_gb = server_vram_gb
        self.compare_with = compare_with
        self.context = context
        self.base_dir = base_dir
        self._params: Params | None = None
        raw = spec.raw
        self.is_raw = is_raw = bool(raw) and not raw.isspace()
        #: A Kontext edit: an instruction applied to an image, not a scene description.
        if edit is None:
            edit = spec.model == "kontext" and bool(spec.source_image.strip()
                                                     or spec.follows.strip())
        self.is_edit = edit
        self.is_img2img = spec.model in ("dev", "schnell") and bool(spec.source_image.strip()) \
            and not spec.tools.fill
        self.memo: dict[str, object] = {}
        self._tokens = None
        self._t5: int | bool | None = None
        self._quotes: dict[str, list[tuple[int, int]]] = {}
        self._lower: dict[str, str] = {}
        self._words: dict[str, frozenset[str]] = {}
        if is_raw:
            self._read_raw(raw)
        else:
            self._read_fields(spec)

    def _read_raw(self, raw: str) -> None:
        """The text, words and word count of a raw prompt."""
        #: (field, text) for every non-empty field the composer reads.
        self.user_fields = [("raw", raw)]
        #: `user_fields` without ``text``: that field is words to print in the image, not
        #: a description, so prose rules leave it alone.
        self.prose_fields = self.user_fields
        self._composed: str | None = None
        #: (field, text) for rules about the prompt as a whole: the raw text in raw mode
        #: (so spans land in what the user typed), the composed text otherwise.
        self.whole = ("raw", raw)
        #: All the text any rule reads (the fields and the composed prompt).
        self.text = raw
        self.ascii = raw.isascii()
        self._lower["raw"] = lower = raw.lower()
        words = find_words(lower)
        #: The lower-case words of all of it: what rule triggers are looked up in.
        self.all_words = self._words["raw"] = frozenset(words)
        #: Words as a reader counts them (Chinese and Japanese by characters).
        self.whole_words = len(words) if self.ascii else word_count(raw)

    def _read_fields(self, spec: PromptSpec) -> None:
        """The text, words and word count of a structured prompt: its fields as typed and
        the text they compose to."""
        values = spec.__dict__
        self.user_fields = [(name, values[name]) for name in TEXT_FIELDS
                            if values[name] and not values[name].isspace()]
        self.prose_fields = [(n, t) for n, t in self.user_fields if n != "text"]
        self._composed = composed = compose(spec)
        self.whole = ("composed", composed)
        # the composer capitalises, trims and drops control characters: rule triggers
        # are looked up in what the user typed as well as in what FLUX will read
        typed = "\n".join([t for _, t in self.user_fields])
        self.text = f"{typed}\n{composed}"
        self.ascii = typed.isascii() and composed.isascii()
        self._lower["composed"] = lower = composed.lower()
        words = find_words(lower)
        self._words["composed"] = frozenset(words)
        typed_words = []
        for name, field_text in self.user_fields:  # fields repeat: cached by text
            self._words[name] = found = _field_words(field_text)
            typed_words.append(found)
        self.all_words = self._words["composed"].union(*typed_words)
        self.whole_words = len(words) if composed.isascii() else word_count(composed)

    @property
    def params(self) -> Params:
        """The parameters a run would use (`spec.effective_params`); a spec that sets none
        shares its variant's defaults."""
        params = self._params
        if params is None:
            params = self._params = _effective(self.spec)
        return params

    def param(self, name: str):
        """One effective parameter: the spec's own value when it sets one (that is what
        `params` would hold), else from the preset or the variant's defaults."""
        value = getattr(self.spec.params, name)
        if value is None or value == "":
            return getattr(self.params, name)
        return value

    @property
    def composed(self) -> str:
        if self._composed is None:
            self._composed = compose(self.spec)
        return self._composed

    @property
    def tokens(self):
        """Exact T5/CLIP-L counts of the composed text (`workbench.tokens.TokenCount`), or
        None when the tokenizers cannot be loaded.  Tokenised on first use, cached per text:
        rules ask only when a count can matter."""
        if self._tokens is None:
            from ..tokens import TokenizerUnavailable, count

            try:
                self._tokens = count(self.composed)
            except TokenizerUnavailable:
                self._tokens = False
        return self._tokens or None

    @property
    def t5_tokens(self) -> int | None:
        """Exact T5 tokens of the composed text, or None when the T5 tokenizer cannot be
        loaded (T5 only: CLIP-L is loaded when a rule asks for `tokens`)."""
        if self._t5 is None:
            from ..tokens import TokenizerUnavailable, t5_count

            try:
                self._t5 = t5_count(self.composed)
            except TokenizerUnavailable:
                self._t5 = False
        return self._t5 if self._t5 is not False else None

    @property
    def whole_tokens(self) -> int:
        """T5 tokens of the whole prompt: exact when the tokenizer is available, otherwise
        estimated (see `textutil.estimate_tokens`)."""
        counted = self.t5_tokens
        return counted if counted is not None else estimate_tokens(self.composed)

    def lower(self, field: str, text: str) -> str:
        """A field's text lower-cased; cached per field."""
        value = self._lower.get(field)
        if value is None:
            value = self._lower[field] = text.lower()
        return value

    def words(self, field: str, text: str) -> frozenset[str]:
        """The lower-case words of a field, as a set (prefilters: is any hint word here?)."""
        value = self._words.get(field)
        if value is None:
            value = self._words[field] = _field_words(text)
        return value

    def quotes(self, field: str, text: str) -> list[tuple[int, int]]:
        """Quoted spans (quotes included) in one field that can be text in the image; cached
        per field.  Quotes around a whole field are not (quote-misuse reports those), so
        what they wrap is linted like any other text."""
        spans = self._quotes.get(field)
        if spans is None:
            spans = quoted_spans(text)
            if spans and len(spans) == 1 and not text[:spans[0][0]].strip() \
                    and not text[spans[0][1]:].strip():
                spans = []
            self._quotes[field] = spans
        return spans

    def resolve(self, path: str) -> Path:
        return _resolve(path, self.base_dir, os.environ.get("HOME"))


@lru_cache(maxsize=1024)
def _resolve(path: str, base_dir: Path | None, home: str | None) -> Path:
    """`spec.source_path`, cached: a library's edits share a few folders of images, and
    building paths costs more than the rest of their checks (``home``: ``~`` depends on it)."""
    return source_path(path, base_dir)


@lru_cache(maxsize=4096)
def _field_words(text: str) -> frozenset[str]:
    """A field's lower-case words; cached by text, since a library repeats its styles,
    settings and camera notes from prompt to prompt."""
    return frozenset(find_words(text.lower()))


def _sets_params(params: Params) -> bool:
    values = params.__dict__
    return any(values[name] is not None for name in _OPTIONAL) or bool(
        params.negative or params.loras)


_OPTIONAL = ("seed", "steps", "guidance", "width", "height", "sampler", "scheduler",
             "denoise", "cfg", "preset")
#: Effective parameters of specs that set none, by (variant, img2img): shared, read-only.
_DEFAULTS: dict[tuple[str, bool], Params] = {}


def _effective(spec: PromptSpec) -> Params:
    params = spec.params
    # (FLUX tools change the defaults: guidance 30 for Fill, no img2img denoise)
    if spec.model in VARIANT_DEFAULTS and not _sets_params(params) and not spec.tools.used:
        key = (spec.model, bool(spec.source_image))
        shared = _DEFAULTS.get(key)
        if shared is None:
            shared = _DEFAULTS[key] = effective_params(spec)
        return shared
    return effective_params(spec)
