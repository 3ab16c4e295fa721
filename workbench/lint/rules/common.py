"""What the text rules share: where their advice comes from, how much they cache, and the
English function words several of them skip."""

from __future__ import annotations

GUIDE = "FLUX guide (seed 000)"
GUIDE_MISTAKES = "FLUX guide (seed 000), \"Avoiding common mistakes\""
#: Pure functions of one text are cached: a library repeats its styles and camera notes, and
#: the editor re-lints the same fields on every key.
TEXT_CACHE = 4096

FUNCTION_WORDS = frozenset(
    "a an the of with in on at by for from to into onto over under above below behind "
    "beside near through across against and while is are was were be being as its his "
    "her their that which who whose this these those it he she they".split())
