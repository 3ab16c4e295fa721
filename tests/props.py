"""How hard the property tests search.

The normal suite runs a fixed (derandomized) sequence of examples, kept short so the suite
stays fast: what a search once found is pinned with ``@example`` and stays found.
``HYPOTHESIS_PROFILE=explore uv run pytest`` searches afresh with random examples and the
full counts, to find new failures on purpose.
"""

from __future__ import annotations

import os

EXPLORE = os.environ.get("HYPOTHESIS_PROFILE", "default") == "explore"


def examples(full: int) -> int:
    """``full`` examples when exploring; a third of them (at least 30) in the normal suite."""
    return full if EXPLORE else max(30, full // 3)
