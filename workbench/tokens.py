"""Exact token counts for FLUX's two text encoders: T5-XXL (what the image follows) and
CLIP-L (whose pooled vector sees only the first 77 tokens).

The tokenizer files ship with the package (``tokenizer_data/``, see its README for sources
and licences) and are read with the `tokenizers` library, lazily, on the first count: start-up
pays nothing.  Each encoder loads on its own (the linter's budget check needs only T5, which
loads in a fraction of the time the pair takes).  Counts are cached per text, so the linter,
the composed pane and the editor can all ask for the same text without tokenising it twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "tokenizer_data"

#: How many T5 tokens each variant reads (ComfyUI pads/truncates to these; end token included).
T5_BUDGET: dict[str, int] = {"dev": 512, "kontext": 512, "schnell": 256}
#: CLIP-L's window, start and end tokens included.
CLIP_WINDOW = 77

_lock = threading.Lock()
_t5 = None
_clip = None


class TokenizerUnavailable(RuntimeError):
    """The vendored tokenizer files or the `tokenizers` package could not be loaded."""


def _load_t5():
    global _t5
    if _t5 is None:
        with _lock:
            if _t5 is None:
                try:
                    from tokenizers import Tokenizer

                    _t5 = Tokenizer.from_file(str(DATA / "t5" / "tokenizer.json"))
                except Exception as exc:  # missing file, broken install
                    raise TokenizerUnavailable(f"T5 tokenizer: {exc}") from exc
    return _t5


def _load_clip():
    """CLIP-L's BPE, set up the way CLIP reads text: whitespace collapsed, lower case, the
    CLIP word pattern, byte-level BPE with ``</w>`` word ends (the same pipeline Hugging Face
    builds for ``CLIPTokenizerFast``)."""
    global _clip
    if _clip is None:
        with _lock:
            if _clip is None:
                try:
                    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
                    from tokenizers.models import BPE

                    # the files are read in Rust (half the time of reading them in Python)
                    tok = Tokenizer(BPE.from_file(
                        str(DATA / "clip_l" / "vocab.json"), str(DATA / "clip_l" / "merges.txt"),
                        unk_token="<|endoftext|>", end_of_word_suffix="</w>", fuse_unk=False,
                        continuing_subword_prefix=""))
                    tok.normalizer = normalizers.Sequence([
                        normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                        normalizers.Lowercase()])
                    tok.pre_tokenizer = pre_tokenizers.Sequence([
                        pre_tokenizers.Split(Regex(
                            r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""),
                            behavior="removed", invert=True),
                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
                    tok.decoder = decoders.ByteLevel()
                    _clip = tok
                except Exception as exc:
                    raise TokenizerUnavailable(f"CLIP-L tokenizer: {exc}") from exc
    return _clip


@dataclass(frozen=True, slots=True)
class TokenCount:
    """Exact counts for one text.

    ``t5``: T5 tokens including the end token.  ``clip``: CLIP-L tokens including start and
    end.  ``clip_cut``: the character offset where CLIP-L's 77-token window ends, or None
    when the whole text fits.
    """

    t5: int
    clip: int
    clip_cut: int | None

    def over_budget(self, model: str) -> bool:
        return self.t5 > T5_BUDGET.get(model, 512)


@lru_cache(maxsize=4096)
def count(text: str) -> TokenCount:
    """Exact T5 and CLIP-L counts for ``text`` (cached; ~50 µs for a typical prompt)."""
    if not text:
        return TokenCount(1, 2, None)
    t5 = t5_count(text)
    encoding = _load_clip().encode(text, add_special_tokens=False)
    clip = len(encoding.ids) + 2
    cut = None
    if clip > CLIP_WINDOW:
        # the last token inside the window is content token 75 (start + 75 + end = 77)
        cut = encoding.offsets[CLIP_WINDOW - 3][1]
    return TokenCount(t5, clip, cut)


@lru_cache(maxsize=4096)
def t5_count(text: str) -> int:
    """Exact T5 tokens of ``text``, end token included (cached; loads only T5)."""
    if not text:
        return 1
    return len(_load_t5().encode(text, add_special_tokens=True).ids)


def loaded() -> bool:
    """Whether both tokenizers are in memory (counting is then a fraction of a millisecond)."""
    return _t5 is not None and _clip is not None


def preload() -> None:
    """Load both tokenizers now (about half a second: do it off the UI thread)."""
    _load_t5()
    _load_clip()


def available() -> bool:
    """Whether exact counts can be made here (package and data present)."""
    try:
        count("a")
    except TokenizerUnavailable:
        return False
    return True




@lru_cache(maxsize=256)
def t5_cut(text: str, budget: int) -> int | None:
    """The character offset where T5 stops reading ``text`` at a ``budget``-token limit (the
    end token takes the last place), or None when all of it fits."""
    encoding = _load_t5().encode(text, add_special_tokens=False)
    if len(encoding.ids) + 1 <= budget:
        return None
    return encoding.offsets[budget - 1][0]


__all__ = ["CLIP_WINDOW", "T5_BUDGET", "TokenCount", "TokenizerUnavailable", "available",
           "count", "loaded", "preload", "t5_count", "t5_cut"]
