"""Everything a rule may look at for one prompt, computed once per lint call.

Rules read the spec through this object: the user's fields with their own offsets, the
composed text, the effective parameters, and what the caller knows about the world (the
other prompts of the library, the A/B partner, the server's VRAM).  What every lint needs
is computed up front (plain attributes are cheaper to read than lazy properties); per-field
derived data (lower case, word sets, quoted spans) and exact token counts are computed on
first use only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..compose import compose
from ..presets import effective_params
from ..spec import TEXT_FIELDS, PromptSpec, source_path
from .textutil import estimate_tokens, find_words, quoted_spans, word_count


class LintContext:
    __slots__ = ("spec", "server_vram_gb", "compare_with", "context", "base_dir", "params",
                 "is_raw", "is_edit", "is_img2img", "user_fields", "prose_fields", "whole",
                 "whole_words", "memo", "_composed", "_tokens", "_quotes", "_lower", "_words")

    def __init__(self, spec: PromptSpec, *, server_vram_gb: float | None = None,
                 compare_with: PromptSpec | None = None,
                 context: Mapping[str, PromptSpec] | None = None,
                 base_dir: Path | None = None, edit: bool | None = None) -> None:
        self.spec = spec
        self.server_vram_gb = server_vram_gb
        self.compare_with = compare_with
        self.context = context
        self.base_dir = base_dir
        self.params = effective_params(spec)
        self.is_raw = spec.is_raw
        #: A Kontext edit: an instruction applied to an image, not a scene description.
        if edit is None:
            edit = spec.model == "kontext" and bool(spec.source_image.strip()
                                                     or spec.follows.strip())
        self.is_edit = edit
        self.is_img2img = spec.model in ("dev", "schnell") and bool(spec.source_image.strip()) \
            and not spec.tools.fill
        #: (field, text) for every non-empty field the composer reads.
        if self.is_raw:
            self.user_fields = [("raw", spec.raw)]
        else:
            self.user_fields = [(name, getattr(spec, name)) for name in TEXT_FIELDS
                                if getattr(spec, name).strip()]
        #: `user_fields` without ``text``: that field is words to print in the image, not a
        #: description, so prose rules leave it alone.
        self.prose_fields = [(n, t) for n, t in self.user_fields if n != "text"]
        self._composed: str | None = None
        #: (field, text) for rules about the prompt as a whole: the raw text in raw mode (so
        #: spans land in what the user typed), the composed text otherwise.
        self.whole = ("raw", spec.raw) if self.is_raw else ("composed", self.composed)
        #: Words as a reader counts them (Chinese and Japanese by characters).
        self.whole_words = word_count(self.whole[1])
        self._tokens = None
        #: Whole-prompt facts several rules ask for (content words, language...), by name.
        self.memo: dict[str, object] = {}
        self._quotes: dict[str, list[tuple[int, int]]] = {}
        self._lower: dict[str, str] = {}
        self._words: dict[str, frozenset[str]] = {}

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
    def whole_tokens(self) -> int:
        """T5 tokens of the whole prompt: exact when the tokenizer is available, otherwise
        estimated (see `textutil.estimate_tokens`)."""
        counted = self.tokens
        return counted.t5 if counted is not None else estimate_tokens(self.composed)

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
            value = self._words[field] = frozenset(find_words(self.lower(field, text)))
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
        return source_path(path, self.base_dir)
