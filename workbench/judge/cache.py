"""Answers of the vision model, kept by (picture sha256, checklist hash, model).

Judging a run twice, or a re-run that produced the same pictures, costs no request.  Files
live in the user cache dir (`workbench.locations`), one small JSON each; a file that can't
be read or doesn't match its key is ignored (and rewritten on the next answer), and one
that can't be written only costs a request next time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .. import locations
from ..atomic import write_atomic
from ..untrusted import read_json_file

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_ENTRY_BYTES = 256 * 1024


def judge_cache_dir() -> Path:
    return locations.cache_dir() / "judge"


class VerdictCache:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else judge_cache_dir()
        self.hits = 0
        self.misses = 0

    def path(self, image_sha: str, checklist_hash: str, model: str) -> Path:
        safe_model = _UNSAFE.sub("_", model)[:80]
        return self.folder / image_sha[:2] / f"{image_sha}-{checklist_hash[:24]}-{safe_model}.json"

    def get(self, image_sha: str, checklist_hash: str, model: str) -> dict[str, Any] | None:
        """The stored answer (``items`` and ``text_seen``), or ``None``."""
        path = self.path(image_sha, checklist_hash, model)
        try:  # a regular file, size and depth capped: it holds a model's answer
            data = read_json_file(path, max_bytes=MAX_ENTRY_BYTES, max_depth=8)
        except (OSError, ValueError):   # missing, too big, not JSON (JsonError)
            self.misses += 1
            return None
        if not (isinstance(data, dict) and data.get("image") == image_sha
                and data.get("checklist") == checklist_hash and data.get("model") == model
                and isinstance(data.get("answer"), dict)):
            self.misses += 1
            return None
        self.hits += 1
        return data["answer"]

    def put(self, image_sha: str, checklist_hash: str, model: str,
            answer: dict[str, Any]) -> None:
        data = {"image": image_sha, "checklist": checklist_hash, "model": model,
                "answer": answer}
        try:
            write_atomic(self.path(image_sha, checklist_hash, model),
                         json.dumps(data, ensure_ascii=False).encode("utf-8"))
        except OSError:
            pass
