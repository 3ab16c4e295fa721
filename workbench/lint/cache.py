"""Lint results kept between runs of ``workbench lint``, per prompt, so a big library that
changed a little lints in a fraction of the time (as ruff does for code).

A stale result is worse than a slow one, so every input that can change a prompt's
findings is in its key, and a prompt whose findings depend on other prompts is not cached:

- the prompt itself: every field of its spec as parsed (`spec_state`);
- the files it names (`referenced_files`: its source image, a FLUX tools mask, control
  image, Redux references): the path each resolves to and that file's stat (mode,
  device, inode, size, mtime, ctime), or the error stat gives; for a prompt using the
  tools, also the stat of the servers' remembered model lists (`toolfiles`);
- the run (`scope_key`): the effective settings (config's and the library's ``[lint]``
  and the flags), ``--vram``, the library's folder, ``$HOME`` (``~`` in paths), the time
  zone (dates in messages), the presets in effect (bundled and the user's), and the code
  (`code_fingerprint`);
- a Kontext edit that ``follows`` another prompt reads the chain it is part of: it is
  linted every time (``key`` is None), and so is a prompt whose image changed a moment
  ago, or a run while the package's code is being edited (its stat could then miss a
  change made within the same timestamp tick, `RACY_NS`).

The results live in one JSON file per library under ``cache_dir()/lint``, holding the
entries of the last run only (so a file never outgrows its library), written atomically
and capped in size.  A cache file that is missing, corrupt, too big or of another format
is ignored and rebuilt; a single entry that does not decode is linted again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import math
import os
import sys
import time
from dataclasses import fields
from operator import itemgetter
from pathlib import Path
from typing import Any

from .. import __version__, locations
from ..atomic import write_atomic
from ..spec import Params, PromptSpec, Tools, source_path
from ..toolfiles import inventory_path
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


def lint_cache_dir() -> Path:
    return locations.cache_dir() / "lint"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _versions(*distributions: str) -> list[str]:
    """The installed version of each distribution (``-`` when it is not installed), from
    the name of its ``NAME-VERSION.dist-info`` folder on ``sys.path``, as
    `importlib.metadata` finds it, without importing `importlib.metadata` (and the email
    parser it brings: a tenth of a cached run's start-up)."""
    wanted = {name.lower().replace("-", "_"): "-" for name in distributions}
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist, _, version = name.rpartition(".")[0].partition("-")
            dist = dist.lower().replace("-", "_").replace(".", "_")
            if wanted.get(dist) == "-":  # the first on the path is the one imported
                wanted[dist] = version
    return list(wanted.values())


#: A file changed less than this long ago may change again within its timestamps'
#: granularity and keep the same stat ("racily clean", as git says): what depends on it
#: is linted afresh and not stored.
RACY_NS = 2_000_000_000


def _racy(stat: os.stat_result) -> bool:
    """Changed a moment ago: ctime, which no one can set back, is what tells (an mtime can
    be anything ``touch -d`` says)."""
    return max(stat.st_mtime_ns, stat.st_ctime_ns) > time.time_ns() - RACY_NS


_FINGERPRINT: list[str] = []  # worked out once per process (unless racy)


def code_fingerprint() -> str | None:
    """The code and data the findings come from: the workbench's version, the name, size
    and mtime of every file in its package (rules, composer, presets, tokenizer data), and
    the versions of Python, Pillow (image sizes) and tokenizers (exact counts).  None
    while a file of the package is being changed (see `RACY_NS`): no cache then."""
    if _FINGERPRINT:
        return _FINGERPRINT[0]
    parts = [__version__, sys.version, *_versions("pillow", "tokenizers")]
    root = locations.PACKAGE_DIR
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            if _racy(stat):
                return None
            parts.append(f"{os.path.relpath(path, root)}:{stat.st_size}:{stat.st_mtime_ns}")
    _FINGERPRINT.append(_digest("\n".join(parts)))
    return _FINGERPRINT[0]


def scope_key(settings: LintSettings, *, vram: float | None, base_dir: Path) -> str | None:
    """What every prompt of one library's run shares (see the module's docstring); None
    when the code is being changed (no cache then)."""
    from ..presets import default_presets

    code = code_fingerprint()
    if code is None:
        return None
    select = None if settings.select is None else sorted(settings.select)
    parts = (FORMAT, code, select, sorted(settings.ignore),
             sorted(settings.severity.items()), repr(vram), str(base_dir),
             os.environ.get("HOME"), os.environ.get("TZ"), time.tzname, time.timezone,
             repr(default_presets()))
    return _digest(repr(parts))


def _getter(cls: type, leave_out: tuple[str, ...] = ()) -> itemgetter:
    """Reads the values of every field of ``cls`` (but ``leave_out``) from an instance's
    ``__dict__``, as one tuple (a field added later is in the key without a word here)."""
    names = [f.name for f in fields(cls) if f.name not in leave_out]
    return itemgetter(*names) if len(names) > 1 else (lambda d: (d[names[0]],))


_SPEC_VALUES = _getter(PromptSpec, ("params", "tools"))
_PARAM_VALUES = _getter(Params)
_TOOL_VALUES = _getter(Tools)


def spec_state(spec: PromptSpec) -> bytes:
    """Every field of ``spec`` (its parameters and tools too) as bytes: `marshal` (format 2:
    no back-references, so equal values give equal bytes) of the field values, or what
    `repr` says where a value is not a plain one (LoRAs, outpainting, Redux references).
    Either costs a fraction of the spec's own `repr` (a dataclass's `repr` guards against
    recursion field by field), and a 10,000-prompt library keys every prompt on every run."""
    values = (_SPEC_VALUES(spec.__dict__), _PARAM_VALUES(spec.params.__dict__),
              _TOOL_VALUES(spec.tools.__dict__))
    if not spec.params.loras and not spec.tools.used:
        try:
            return b"m" + marshal.dumps(values, 2)
        except ValueError:  # a value marshal does not know: repr says it
            pass
    return b"r" + repr(values).encode("utf-8", "surrogatepass")


def referenced_files(spec: PromptSpec) -> list[str]:
    """The files a prompt's findings read, as written (stripped, as the rules resolve
    them): its source image and its FLUX tools' mask, control image and Redux references."""
    tools = spec.tools
    paths = [spec.source_image, tools.mask, tools.control_image,
             *(ref.image for ref in tools.redux)]
    return [path.strip() for path in paths if path.strip()]


def file_state(path: Path) -> str | None:
    """A file as the linter may see it: the path and its stat, or why stat failed; None
    when it changed too recently to tell a later change by its stat (`RACY_NS`)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        return f"{path}\0{type(exc).__name__}:{getattr(exc, 'errno', '')}"
    if _racy(st):
        return None
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


#: Offsets are string indices: a row with one beyond this is not ours.
_MAX_OFFSET = 2**31
_new_tuple = tuple.__new__  # builds a named tuple from checked values without a call per field


def _offset(value: Any) -> int:
    if type(value) is not int or not 0 <= value < _MAX_OFFSET:  # exact: not a bool
        raise ValueError(f"{value!r} is not an offset")
    return value


def _text(value: Any) -> str:
    if type(value) is not str:
        raise ValueError(f"{value!r} is not a string")
    return value


def _strength(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a LoRA strength")
    return value


def _decode_edit(data: Any) -> Edit:
    field, start, end, replacement = data
    if type(field) is not str or type(replacement) is not str:
        raise ValueError(f"{data!r} is not an edit")
    return _new_tuple(Edit, (field, _offset(start), _offset(end), replacement))


def _decode_fix(data: Any) -> Fix | None:
    if data is None:
        return None
    description, safe, edits, loras = data
    if type(description) is not str or type(safe) is not bool or type(edits) is not list \
            or type(loras) is not list:
        raise ValueError(f"{data!r} is not a fix")
    return _new_tuple(Fix, (description, tuple(map(_decode_edit, edits)), safe,
                            tuple((_text(name), _strength(strength))
                                  for name, strength in loras) if loras else ()))


def decode(row: Any) -> Diagnostic:
    """The diagnostic a row (`encode`) holds; ValueError, TypeError or KeyError when it is
    not one (the file is read with `loads_json`'s ``shaped``: every value is checked)."""
    if type(row) is not list:
        raise ValueError(f"{row!r} is not a row")
    slug, severity, message, field, start, end, fix, suggestion, action = row
    rule = RULES[slug]  # a str (a key of RULES) by that
    if severity not in SEVERITIES or type(severity) is not str:
        raise ValueError(f"unknown severity {severity!r}")
    if type(message) is not str or type(field) is not str or type(suggestion) is not str \
            or type(action) is not str:
        raise ValueError(f"{row!r} holds a value that is not a string")
    if type(start) is not int or type(end) is not int or not (
            0 <= start < _MAX_OFFSET and 0 <= end < _MAX_OFFSET):  # exact: not a bool
        raise ValueError(f"{row!r} holds a value that is not an offset")
    return _new_tuple(Diagnostic, (slug, rule.code, severity, message, rule.rationale, field,
                                   start, end, None if fix is None else _decode_fix(fix),
                                   suggestion, action, rule.source))


class LintCache:
    """The cached findings of one library's prompts, for one scope (`scope_key`)."""

    def __init__(self, library: Path, scope: str, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else lint_cache_dir()
        self.library = str(Path(library).resolve())
        self.path = self.folder / f"{_digest(self.library)}.json"
        self.scope = scope
        self._scope = scope.encode("utf-8", "surrogatepass")
        self.hits = 0
        self.misses = 0
        self._old = self._read()
        self._new: dict[str, list] = {}
        #: `file_state` of each (path as written, base_dir) this run: a library's prompts
        #: share a few images, each is looked at once
        self._states: dict[tuple[str, Path | None], str | None] = {}

    def _read(self) -> dict[str, Any]:
        try:  # a regular file, size and depth capped: anything could have replaced it
            data = read_json_file(self.path, max_bytes=MAX_BYTES, shaped=True)
        except (OSError, ValueError):  # missing, unreadable, too big, not JSON
            return {}
        if not (isinstance(data, dict) and data.get("format") == FORMAT
                and data.get("library") == self.library
                and isinstance(data.get("entries"), dict)):
            return {}
        return data["entries"]

    @property
    def empty(self) -> bool:
        """Whether nothing is stored for this library and scope (no prompt can be a hit)."""
        return not self._old

    def key(self, spec: PromptSpec, base_dir: Path | None) -> str | None:
        """``spec``'s key in this scope; None when its findings depend on other prompts or
        on a file changed a moment ago."""
        if spec.follows:
            return None
        state = spec_state(spec)
        digest = hashlib.blake2b(self._scope, digest_size=16)
        digest.update(len(state).to_bytes(8, "little"))
        digest.update(state)
        if spec.source_image or spec.tools.used:
            states = [self._state(path, base_dir) for path in referenced_files(spec)]
            if spec.tools.used:  # tool-model-missing reads what servers were last seen to have
                states.append(file_state(inventory_path()))
            if None in states:
                return None
            digest.update("\0".join(states).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _state(self, path: str, base_dir: Path | None) -> str | None:
        key = (path, base_dir)
        try:
            return self._states[key]
        except KeyError:
            state = self._states[key] = file_state(source_path(path, base_dir))
            return state

    def get(self, key: str) -> list[Diagnostic] | None:
        """The findings stored under ``key``, or None (not there, or not readable)."""
        rows = self._old.get(key)
        if rows is None:
            return None
        try:
            found = list(map(decode, rows))
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


def prune(folder: Path, keep: int | None = None) -> None:
    """Remove all but the ``keep`` (default `MAX_FILES`) most recently written cache files
    of ``folder``."""
    keep = MAX_FILES if keep is None else keep
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
