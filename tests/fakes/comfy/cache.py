"""Node output caches, keyed by a node's signature (see `graph.signatures`).

``classic`` is ComfyUI's default: when a prompt starts, every output that the new prompt
does not contain (same node, same inputs) is dropped, so only the previous prompt's work
can be reused — A, B, A encodes A's text twice.  ``forever`` keeps everything (like a
huge ``--cache-lru``), for tests about something else that want repeats to be free;
``none`` keeps nothing (``--cache-none``).
"""

from __future__ import annotations

from typing import Any

POLICIES = ("classic", "forever", "none")
_MISSING = object()


class OutputCache:
    def __init__(self, policy: str = "classic") -> None:
        if policy not in POLICIES:
            raise ValueError(f"cache policy {policy!r}: one of {', '.join(POLICIES)}")
        self.policy = policy
        self._entries: dict[str, Any] = {}

    def start_prompt(self, keys: dict[str, str]) -> list[str]:
        """Forget what this prompt cannot reuse; the ids of its nodes still cached, in the
        prompt's own order (what ``execution_cached`` lists)."""
        if self.policy == "classic":
            wanted = set(keys.values())
            self._entries = {k: v for k, v in self._entries.items() if k in wanted}
        elif self.policy == "none":
            self._entries.clear()
        return [nid for nid, key in keys.items() if key in self._entries]

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def ui(self, key: str) -> Any:
        """The UI output (images) a cached node re-sends, or None."""
        return self._entries.get(key)

    def store(self, key: str, ui: Any) -> None:
        if self.policy != "none":
            self._entries[key] = ui

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
