"""Lint results kept between runs of ``workbench lint``, per prompt, so a big library that
changed a little lints in a fraction of the time (as ruff does for code).

A stale result is worse than a slow one, so every input that can change a prompt's
findings is in its key, and a prompt whose findings depend on other prompts is not cached:

- the prompt itself: every field of its spec as parsed (`repr` of the dataclasses);
- the file its ``source_image`` names: the path it resolves to and that file's stat
  (mode, device, inode, size, mtime, ctime), or the error stat gives;
- the run (`scope_key`): the effective settings (config's and the library's ``[lint]``
  and the flags), ``--vram``, the library's folder, ``$HOME`` (``~`` in paths), the
  presets in effect (bundled and the user's), and the code (`code_fingerprint`);
- a Kontext edit that ``follows`` another prompt reads the chain it is part of: it is
  linted every time (``key`` is None).

The results live in one JSON file per library under ``cache_dir()/lint``, holding the
entries of the last run only (so a file never outgrows its library), written atomically
and capped in size.  A cache file that is missing, corrupt, too big or of another format
is ignored and rebuilt; a single entry that does not decode is linted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__, locations
from ..atomic import write_atomic
from ..spec import PromptSpec, source_path
from ..untrusted import read_json_file
from .diagnostic import SEVERITIES, Diagnostic, Edit, Fix
from .registry import RULES
from .settings import LintSettings

#: Bumped when the file's layout or the meaning of a key changes.
FORMAT = 1
#: A cache file larger than this is neither written nor read (a 10,000-prompt library's
#: is about 4 MB).
MAX_BYTES = 64 * 1024 * 1024
#: Cache files kept (one per library linted); the least recently written go first.
MAX_FILES = 64
_DEPTH = 8


def lint_cache_dir() -> Path:
    return locations.cache_dir() / "lint"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "-"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The code and data the findings come from: the workbench's version, the name, size
    and mtime of every file in its package (rules, composer, presets, tokenizer data), and
    the versions of Python, Pillow (image sizes) and tokenizers (exact counts)."""
    parts = [__version__, sys.version, _version("pillow"), _version("tokenizers")]
    root = locations.PACKAGE_DIR
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            parts.append(f"{os.path.relpath(path, root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return _digest("\n".join(parts))


def scope_key(settings: LintSettings, *, vram: float | None, base_dir: Path) -> str:
    """What every prompt of one library's run shares (see the module's docstring)."""
    from ..presets import default_presets

    select = None if settings.select is None else sorted(settings.select)
    parts = (FORMAT, code_fingerprint(), select, sorted(settings.ignore),
             sorted(settings.severity.items()), repr(vram), str(base_dir),
             os.environ.get("HOME"), repr(default_presets()))
    return _digest(repr(parts))


def file_state(path: Path) -> str:
    """A file as the linter may see it: the path and its stat, or why stat failed."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        return f"{path}\0{type(exc).__name__}:{getattr(exc, 'errno', '')}"
    return (f"{path}\0{st.st_mode}:{st.st_dev}:{st.st_ino}:{st.st_size}:"
            f"{st.st_mtime_ns}:{st.st_ctime_ns}")


def encode(diagnostic: Diagnostic) -> list | None:
    """A diagnostic as a JSON row; None when its code, rationale or source is not its
    rule's (the row keeps the rule's slug only, and they are taken from the rule)."""
    rule = RULES.get(diagnostic.rule)
    if rule is None or (diagnostic.code, diagnostic.rationale, diagnostic.source) != (
            rule.code, rule.rationale, rule.source):
        return None
    fix = diagnostic.fix
    if fix is not None:
        fix = [fix.description, fix.safe, [list(edit) for edit in fix.edits],
               [list(lora) for lora in fix.add_loras]]
    return [diagnostic.rule, diagnostic.severity, diagnostic.message, diagnostic.field,
            diagnostic.start, diagnostic.end, fix, diagnostic.suggestion, diagnostic.action]


def _check(value: Any, kind: type) -> Any:
    if type(value) is not kind:  # exact: True is not an int here
        raise ValueError(f"{value!r} is not a {kind.__name__}")
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise ValueError(f"{value!r} is not a number")
    return value


def _decode_fix(data: Any) -> Fix | None:
    if data is None:
        return None
    description, safe, edits, loras = data
    return Fix(description=_check(description, str), safe=_check(safe, bool),
               edits=tuple(Edit(_check(f, str), _check(s, int), _check(e, int),
                                _check(r, str)) for f, s, e, r in _check(edits, list)),
               add_loras=tuple((_check(name, str), _number(strength))
                               for name, strength in _check(loras, list)))


def decode(row: Any) -> Diagnostic:
    """The diagnostic a row (`encode`) holds; ValueError, TypeError or KeyError when it is
    not one."""
    slug, severity, message, field, start, end, fix, suggestion, action = _check(row, list)
    rule = RULES[_check(slug, str)]
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return Diagnostic(slug, rule.code, severity, _check(message, str), rule.rationale,
                      _check(field, str), _check(start, int), _check(end, int),
                      _decode_fix(fix), _check(suggestion, str), _check(action, str),
                      rule.source)


class LintCache:
    """The cached findings of one library's prompts, for one scope (`scope_key`)."""

    def __init__(self, library: Path, scope: str, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else lint_cache_dir()
        self.library = str(Path(library).resolve())
        self.path = self.folder / f"{_digest(self.library)}.json"
        self.scope = scope
        self.hits = 0
        self.misses = 0
        self._old = self._read()
        self._new: dict[str, list] = {}

    def _read(self) -> dict[str, Any]:
        try:  # a regular file, size and depth capped: anything could have replaced it
            data = read_json_file(self.path, max_bytes=MAX_BYTES, max_depth=_DEPTH)
        except (OSError, ValueError):  # missing, unreadable, too big, not JSON
            return {}
        if not (isinstance(data, dict) and data.get("format") == FORMAT
                and data.get("library") == self.library
                and isinstance(data.get("entries"), dict)):
            return {}
        return data["entries"]

    def key(self, spec: PromptSpec, base_dir: Path | None) -> str | None:
        """``spec``'s key in this scope; None when its findings depend on other prompts."""
        if spec.follows:
            return None
        text = f"{self.scope}\0{spec!r}"
        image = spec.source_image.strip()
        if image:
            text += "\0" + file_state(source_path(image, base_dir))
        return _digest(text)

    def get(self, key: str) -> list[Diagnostic] | None:
        """The findings stored under ``key``, or None (not there, or not readable)."""
        rows = self._old.get(key)
        if rows is None:
            return None
        try:
            found = [decode(row) for row in rows]
        except (ValueError, TypeError, KeyError):
            return None
        self._new[key] = rows
        self.hits += 1
        return found

    def put(self, key: str, diagnostics: list[Diagnostic]) -> None:
        self.misses += 1
        rows = [encode(d) for d in diagnostics]
        if None not in rows:
            self._new[key] = rows

    def save(self) -> None:
        """Write this run's entries (only when they differ from what is on disk); a cache
        that cannot be written costs only time next run."""
        if self._new.keys() == self._old.keys() and not self.misses:
            return
        data = json.dumps({"format": FORMAT, "library": self.library, "entries": self._new},
                          separators=(",", ":")).encode("ascii")
        try:
            if len(data) > MAX_BYTES:
                self.path.unlink(missing_ok=True)
                return
            write_atomic(self.path, data)
        except OSError:
            return
        prune(self.folder)


def prune(folder: Path, keep: int = MAX_FILES) -> None:
    """Remove all but the ``keep`` most recently written cache files of ``folder``."""
    try:
        files = [(entry.stat().st_mtime_ns, entry.path) for entry in os.scandir(folder)
                 if entry.name.endswith(".json") and entry.is_file(follow_symlinks=False)]
    except OSError:
        return
    for _, path in sorted(files, reverse=True)[keep:]:
        try:
            os.unlink(path)
        except OSError:
            pass
