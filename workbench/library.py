"""Prompt libraries: TOML files a human can read, diff in git and edit by hand.

A library is one TOML file; a folder of them is a collection.  The format::

    # anything the user writes survives every save
    format = 1
    title = "Product shots"

    [[prompts]]
    name = "Amber perfume bottle"
    model = "dev"
    tags = ["product", "marketing"]
    subject = "an amber glass perfume bottle"
    ...
    seed = 42
    loras = [{ name = "film.safetensors", strength = 0.8, triggers = ["kodak portra"] }]

Files are read and written with tomlkit and only the keys whose values actually changed
are touched, so comments, ordering, formatting and unknown keys survive, and a file that
was not changed is written back byte for byte.  Saves are atomic with a ``.bak`` of the
previous version, and refuse to clobber a file that changed on disk since it was loaded.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .atomic import check_writable, write_atomic, write_target
from .spec import MAX_SEED, PARAM_FIELDS, VARIANTS, Lora, Params, PromptSpec
from .untrusted import read_regular

try:  # the same parser as tomllib, compiled: about three times faster on big libraries
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency; tomllib is its twin
    import tomllib  # type: ignore[no-redef]

if TYPE_CHECKING:  # tomlkit is imported when a document is needed (a save), not at start
    from tomlkit.exceptions import ParseError
    from tomlkit.items import Table
    from tomlkit.toml_document import TOMLDocument

FORMAT_VERSION = 1

#: Key order for prompts the workbench writes itself (hand-written order is kept as is).
SPEC_KEYS: tuple[str, ...] = (
    "name", "model", "tags", "subject", "action", "style", "context", "foreground",
    "midground", "background", "text", "camera", "raw", "source_image", "follows", "notes",
)
PROMPT_KEYS: tuple[str, ...] = SPEC_KEYS + PARAM_FIELDS
_INT_PARAMS = {"seed", "steps", "width", "height"}
_FLOAT_PARAMS = {"guidance", "denoise", "cfg"}
_STR_PARAMS = {"sampler", "scheduler", "preset"}


class LibraryError(Exception):
    """A problem with one library file, phrased as ``file:line:col: what is wrong``."""

    def __init__(self, path: Path, message: str, line: int | None = None,
                 col: int | None = None) -> None:
        self.path, self.message, self.line, self.col = Path(path), message, line, col
        where = str(path) if line is None else f"{path}:{line}:{col or 1}"
        super().__init__(f"{where}: {message}")


class ConflictError(LibraryError):
    """The file changed on disk since it was loaded; saving would throw those changes away."""


class PromptLookupError(LookupError):
    """No prompt, or more than one, answers to a name; the message lists what there is."""


@dataclass
class Entry:
    """A prompt and the TOML table it came from (``None`` for a prompt not saved yet).

    ``saved`` is the spec as it is on disk, so a save writes only what differs from it;
    ``origin`` is the prompt's position in the file as loaded (``None``: added since).
    """

    spec: PromptSpec
    table: Table | None = None
    saved: PromptSpec | None = None
    origin: int | None = None


class Library:
    """One library file: its prompts as specs, and (for saving) its tomlkit document.

    A library read for display (`read_library`) holds plain values only; the
    comment-preserving document is parsed from the same bytes the first time it is needed
    (`doc`: a save, a render), so opening a big folder never pays for tomlkit.
    """

    def __init__(self, path: Path, doc: TOMLDocument | None = None,
                 entries: list[Entry] | None = None, problems: list[str] | None = None,
                 digest: str = "", *, data: dict[str, Any] | None = None,
                 text: str | None = None, bom: bool = False) -> None:
        self.path = Path(path)
        self.entries: list[Entry] = entries if entries is not None else []
        self.problems: list[str] = problems if problems is not None else []
        self.digest = digest
        self._doc = doc
        self._text = text  # the file's text as read, for parsing `doc` later
        self.bom = bom     # the file starts with a UTF-8 byte order mark (kept on save)
        #: The file's top-level values as loaded (plain Python: `[lint]`, `title`...).
        self.data: dict[str, Any] = data if data is not None else (
            doc.unwrap() if doc is not None else {})
        self._loaded_count = sum(1 for e in self.entries if e.origin is not None)
        self._written: list[tuple[Entry, PromptSpec]] = []

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r}, {len(self.entries)} prompts)"

    # -- reading -------------------------------------------------------------------------
    @property
    def prompts(self) -> list[PromptSpec]:
        return [entry.spec for entry in self.entries]

    @property
    def title(self) -> str:
        title = self.data.get("title")
        return title if isinstance(title, str) and title.strip() else self.path.stem

    @property
    def has_document(self) -> bool:
        """Whether the tomlkit document is parsed already (saving needs it)."""
        return self._doc is not None

    @property
    def doc(self) -> TOMLDocument:
        """The comment-preserving document, parsed on first use."""
        if self._doc is None:
            self.attach_document(parse_document(self.path, self._text or ""))
        return self._doc

    def parse_pending_document(self) -> TOMLDocument | None:
        """Parse the document without attaching it (safe in a worker thread: it reads
        only the text loaded); None when it is parsed already."""
        if self._doc is not None:
            return None
        return parse_document(self.path, self._text or "")

    def attach_document(self, doc: TOMLDocument) -> None:
        """Use ``doc`` (parsed from this library's text, e.g. in a worker thread)."""
        from tomlkit.items import AoT

        if self._doc is not None:
            return
        prompts = doc.get("prompts")
        tables = list(prompts) if isinstance(prompts, AoT) else []
        if len(tables) != self._loaded_count:
            raise LibraryError(self.path, f"tomlkit reads {len(tables)} prompts where "
                               f"tomllib read {self._loaded_count}; not saved")
        for entry in self.entries:
            if entry.origin is not None and entry.table is None:
                entry.table = tables[entry.origin]
        self._doc = doc

    @property
    def dirty(self) -> bool:
        return (any(e.saved != e.spec for e in self.entries)
                or [e.origin for e in self.entries] != list(range(self._loaded_count)))

    def get(self, name: str) -> PromptSpec | None:
        for entry in self.entries:
            if entry.spec.name == name:
                return entry.spec
        return None

    def changed_on_disk(self) -> bool:
        try:
            return _digest(read_regular(self.path)) != self.digest
        except FileNotFoundError:
            return bool(self.digest)
        except OSError:
            return True

    # -- editing -------------------------------------------------------------------------
    def unique_name(self, wanted: str) -> str:
        names = {entry.spec.name for entry in self.entries}
        if wanted not in names:
            return wanted
        n = 2
        while f"{wanted} ({n})" in names:
            n += 1
        return f"{wanted} ({n})"

    def add(self, spec: PromptSpec, after: PromptSpec | None = None) -> PromptSpec:
        spec.name = self.unique_name(spec.name)
        entry = Entry(spec)
        index = self._index(after) + 1 if after is not None else len(self.entries)
        self.entries.insert(index, entry)
        return spec

    def duplicate(self, spec: PromptSpec) -> PromptSpec:
        return self.add(spec.copy(name=f"{spec.name} copy"), after=spec)

    def remove(self, spec: PromptSpec) -> None:
        del self.entries[self._index(spec)]

    def _index(self, spec: PromptSpec) -> int:
        for i, entry in enumerate(self.entries):
            if entry.spec is spec:
                return i
        raise ValueError(f"{spec.name!r} is not in {self.path}")

    # -- writing -------------------------------------------------------------------------
    def render(self) -> str:
        """The TOML text the library would be saved as (updates the document in place)."""
        self._sync_document()
        return self.doc.as_string()

    def encoded(self) -> bytes:
        """`render` as the bytes of the file (a byte order mark the file had is kept)."""
        return (b"\xef\xbb\xbf" if self.bom else b"") + self.render().encode("utf-8")

    def save(self, *, force: bool = False) -> bool:
        """Write the library if anything changed; returns whether it wrote.

        Raises `ConflictError` when the file changed on disk since it was loaded, unless
        ``force`` (the user chose to overwrite); `ReadOnlyFile` (an `OSError`) when the
        file is read-only; `OSError` when the disk refuses.
        """
        if not self.dirty and self.path.exists():
            return False
        if not force and self.changed_on_disk():
            raise ConflictError(self.path, "changed on disk since it was loaded; reload it, "
                                "keep both (save yours as a copy) or overwrite")
        check_writable(write_target(self.path))
        data = self.encoded()
        write_atomic(self.path, data, backup=True)
        self.mark_saved(data)
        return True

    def mark_saved(self, data: bytes) -> None:
        """Record that ``data`` (this library's `encoded` text) is now the file: each
        prompt written into it is saved as it was written (an edit made since, say on the
        UI thread while a worker saved, stays unsaved), the others as they were."""
        self.digest = _digest(data)
        for entry, written in self._written:
            entry.saved = written
        self._written = []
        for index, entry in enumerate(self.entries):
            entry.origin = index
        self._loaded_count = len(self.entries)

    def save_copy(self) -> Path:
        """Save this version beside the file (``name.mine.toml``), for "keep both"."""
        target = self.path.with_name(f"{self.path.stem}.mine.toml")
        n = 2
        while target.exists():
            target = self.path.with_name(f"{self.path.stem}.mine-{n}.toml")
            n += 1
        write_atomic(target, self.encoded())
        return target

    def _tables_in_doc(self) -> list[Table]:
        from tomlkit.items import AoT

        prompts = self.doc.get("prompts")
        return list(prompts) if isinstance(prompts, AoT) else []

    def _sync_document(self) -> None:
        import tomlkit
        from tomlkit.items import AoT

        doc = self.doc
        written = []  # (entry, the copy of its spec that was written), for `mark_saved`
        for entry in self.entries:
            if entry.table is None:
                entry.table = tomlkit.table()
                copy = entry.spec.copy()
                _write_fields(entry.table, copy, None)
                written.append((entry, copy))
            elif entry.saved != entry.spec:
                copy = entry.spec.copy()
                _write_fields(entry.table, copy, entry.saved)
                written.append((entry, copy))
        self._written = written
        wanted = [entry.table for entry in self.entries]
        present = self._tables_in_doc()
        if len(present) == len(wanted) and all(a is b for a, b in zip(present, wanted)):
            return
        if "format" not in doc:
            doc.add("format", FORMAT_VERSION)
        aot = doc.get("prompts")
        if not isinstance(aot, AoT):
            aot = tomlkit.aot()
            doc.append("prompts", aot)
        while len(aot):
            del aot[len(aot) - 1]
        for table in wanted:
            if len(aot) and not _ends_with_blank_line(aot[len(aot) - 1]):
                aot[len(aot) - 1].add(tomlkit.nl())
            aot.append(table)


# -- loading ------------------------------------------------------------------------------

#: Library files larger than this are not read (10,000 prompts take about 2 MB).
MAX_LIBRARY_BYTES = 64 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


def new_library(path: Path, title: str = "") -> Library:
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment("FLUX Prompt Workbench library. Comments and unknown keys are kept."))
    doc.add("format", FORMAT_VERSION)
    if title:
        doc.add("title", title)
    return Library(Path(path), doc)


def read_library(path: Path) -> Library:
    """Read one library for display, linting or running: fast (tomllib, plain values).

    Raises `LibraryError` (with line and column) when the file can't be read or parsed;
    values of the wrong type are noted in ``problems`` and ignored.  The library can
    still be edited and saved: its tomlkit document is parsed from the same bytes when a
    save first needs it."""
    path = Path(path)
    try:
        raw = read_regular(path, MAX_LIBRARY_BYTES)
    except OSError as exc:
        raise LibraryError(path, f"cannot read: {exc.strerror or exc}") from exc
    bom = raw.startswith(_BOM)
    body = raw[len(_BOM):] if bom else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        col = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LibraryError(path, "not valid UTF-8", line, col) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None
    except RecursionError:  # pragma: no cover - tomllib nests iteratively on 3.11
        raise LibraryError(path, "nested too deeply") from None
    library = Library(path, data=data, text=text, bom=bom, digest=_digest(raw))
    version = data.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        library.problems.append(f"{path}: format = {_shown(version)} is newer than this "
                                f"workbench understands ({FORMAT_VERSION}); unknown parts "
                                "are kept")
    prompts = data.get("prompts", [])
    if not isinstance(prompts, list) or not all(isinstance(p, dict) for p in prompts):
        raise LibraryError(path, "`prompts` must be an array of tables ([[prompts]])",
                           *_key_position(text, "prompts"))
    locate = _Locator(path, text)
    first: dict[str, int] = {}
    for index, table in enumerate(prompts):
        where = _Where(locate, index)
        spec = spec_from_table(table, where, library.problems,
                               fallback_name=f"prompt {index + 1}")
        if spec.name in first:
            library.problems.append(
                f"{where.at('name')}: the name {_shown(spec.name)} is also used by prompt "
                f"{first[spec.name] + 1}; `workbench run` and `ab` ask which one is meant "
                f"({_shown(spec.name + '#1')}, {_shown(spec.name + '#2')}...): rename one")
        first.setdefault(spec.name, index)
        library.entries.append(Entry(spec, None, spec.copy(), index))
    library._loaded_count = len(library.entries)
    return library


def load_library(path: Path) -> Library:
    """Read one library for editing: `read_library` with its tomlkit document parsed."""
    library = read_library(path)
    library.doc  # noqa: B018 - parse now, so a file tomlkit can't keep fails here
    return library


def parse_document(path: Path, text: str) -> TOMLDocument:
    """tomlkit's document of ``text`` (already accepted by tomllib); `LibraryError` if
    tomlkit disagrees."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        # tomlkit counts columns from 0; editors (and file:line:col links) from 1.
        raise LibraryError(path, _parse_message(exc), exc.line, exc.col + 1) from exc
    except Exception as exc:  # tomlkit raises a few kinds without a position
        raise LibraryError(path, f"cannot be kept for editing: {exc}") from exc


_TOML_POSITION = re.compile(r"^(?P<message>.*?) \(at (?:line (?P<line>\d+), column "
                            r"(?P<col>\d+)|end of document)\)$", re.S)
_DECLARED_TWICE = re.compile(r"^Cannot declare \((?P<keys>.*)\) twice$")


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> LibraryError:
    """tomllib's error as ``file:line:col: message``, duplicate keys named."""
    found = _TOML_POSITION.match(str(exc))
    if not found:  # pragma: no cover - every tomllib message carries a position
        return LibraryError(path, str(exc))
    message = getattr(exc, "msg", None) or found["message"]
    if getattr(exc, "lineno", None):
        line, col = exc.lineno, exc.colno
    elif found["line"] is None:
        lines = text.split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    else:
        line, col = int(found["line"]), int(found["col"])
    source_line = text.split("\n")[line - 1] if line <= text.count("\n") + 1 else ""
    if message == "Cannot overwrite a value":
        key = re.match(r"\s*((?:[^=\s\"']|\"[^\"]*\"|'[^']*')+(?:\s*\.\s*(?:[^=\s\"']|\"[^\"]*\""
                       r"|'[^']*')+)*)\s*=", source_line)
        if key:
            col = key.start(1) + 1
            message = (f"duplicate key: `{key.group(1)}` is already set in this table (a "
                       "TOML key may appear only once)")
        else:
            message = "duplicate key: this value is already set (a TOML key may appear once)"
    elif _DECLARED_TWICE.match(message):
        keys = _DECLARED_TWICE.match(message)["keys"]
        name = ".".join(part.strip().strip("'\"") for part in keys.split(",") if part.strip())
        col = len(source_line) - len(source_line.lstrip()) + 1
        message = f"duplicate table: [{name}] is declared twice"
    elif message == "Invalid statement" and line == 1 and text.startswith("\ufeff"):
        message = "a second byte order mark (BOM) at the start; remove it"
    return LibraryError(path, message, line, col)


def _key_position(text: str, key: str) -> tuple[int | None, int | None]:
    found = re.search(rf"^[ \t]*(\[\[?[ \t]*)?{re.escape(key)}\b", text, re.M)
    if not found:
        return None, None
    return text.count("\n", 0, found.start()) + 1, found.start(0) - text.rfind(
        "\n", 0, found.start()) + (len(found.group(0)) - len(found.group(0).lstrip()))


class _Locator:
    """Line numbers of ``[[prompts]]`` headers and their keys, found only when a problem
    needs one (a regular expression pass; comments and strings may rarely fool it)."""

    _HEADER = re.compile(r"^[ \t]*\[\[[ \t]*prompts[ \t]*\]\]", re.M)

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self._headers: list[int] | None = None

    def position(self, index: int, key: str | None) -> tuple[int, int] | None:
        if self._headers is None:
            self._headers = [m.start() for m in self._HEADER.finditer(self.text)]
        if index >= len(self._headers):
            return None
        start = self._headers[index]
        end = self._headers[index + 1] if index + 1 < len(self._headers) else len(self.text)
        offset = start
        if key is not None:
            found = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.M).search(
                self.text, start, end)
            if found:
                offset = found.start() + len(found.group(0)) - len(found.group(0).lstrip())
        line = self.text.count("\n", 0, offset) + 1
        return line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1


class _Where:
    """How a prompt's problems are located: ``file:line:col: prompt N`` (found lazily)."""

    def __init__(self, locate: _Locator, index: int) -> None:
        self.locate, self.index = locate, index

    def at(self, key: str | None) -> str:
        found = self.locate.position(self.index, key.split("[")[0].split(".")[0]
                                     if key else None)
        place = f"{self.locate.path}:{found[0]}:{found[1]}" if found else str(self.locate.path)
        return f"{place}: prompt {self.index + 1}"

    def __str__(self) -> str:
        return self.at(None)


def _shown(value: Any) -> str:
    """A value quoted for a message: repr escapes control and bidi characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_message(exc: ParseError) -> str:
    # tomlkit appends " at line L col C" to its messages; we put the position in front.
    message = str(exc)
    suffix = f" at line {exc.line} col {exc.col}"
    return message[: -len(suffix)] if message.endswith(suffix) else message


def _ends_with_blank_line(table: Table) -> bool:
    return table.as_string().endswith("\n\n")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Collection:
    """A set of libraries opened together, and the files that could not be opened."""

    root: Path
    libraries: list[Library] = field(default_factory=list)
    errors: list[LibraryError] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [str(e) for e in self.errors] + [p for lib in self.libraries for p in lib.problems]

    def named(self, name: str) -> list[tuple[Library, PromptSpec]]:
        """Every prompt called ``name``, in collection order."""
        return [(library, spec) for library in self.libraries for spec in library.prompts
                if spec.name == name]

    def find(self, name: str) -> tuple[Library, PromptSpec] | None:
        """The prompt called ``name`` (the first, if several are), or ``NAME#N``: the Nth
        prompt called NAME."""
        found = self.named(name)
        if found:
            return found[0]
        picked = _ORDINAL.match(name)
        if picked:
            found = self.named(picked["name"])
            number = int(picked["n"])
            if 1 <= number <= len(found):
                return found[number - 1]
        return None

    def resolve(self, name: str) -> tuple[Library, PromptSpec]:
        """The one prompt ``name`` means; raises `PromptLookupError` when there is none
        (with the names that come close) or several (listed as ``NAME#N``)."""
        found = self.named(name)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = "; ".join(f"{printable_name(name)}#{i} ({library.path.name})"
                               for i, (library, _) in enumerate(found, start=1))
            raise PromptLookupError(f"{len(found)} prompts are named "
                                    f"{printable_name(name)!r}: {listed}; give "
                                    f"'{printable_name(name)}#N' to pick one")
        picked = self.find(name)
        if picked is not None:
            return picked
        names = [s.name for lib in self.libraries for s in lib.prompts]
        ordinal = _ORDINAL.match(name)
        wanted = (ordinal["name"] if ordinal else name).lower()
        close = list(dict.fromkeys(n for n in names if wanted in n.lower()))[:8]
        raise PromptLookupError(
            f"no prompt named {printable_name(name)!r} in {printable_name(str(self.root))}"
            + (f"; did you mean: {', '.join(printable_name(n) for n in close)}"
               if close else ""))


_ORDINAL = re.compile(r"^(?P<name>.+)#(?P<n>\d{1,6})$", re.S)


def printable_name(text: str) -> str:
    """A name or path for a message: one line, nothing a terminal would act on."""
    from .textsafe import one_line

    return one_line(text)


def library_files(root: Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.toml")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


def load_collection(root: Path) -> Collection:
    """Every library under ``root`` (a file or a folder), read for display
    (`read_library`); broken files are reported, not fatal."""
    collection = Collection(Path(root))
    if not Path(root).exists():
        collection.errors.append(LibraryError(Path(root), "no such file or folder"))
        return collection
    for path in library_files(root):
        try:
            collection.libraries.append(read_library(path))
        except LibraryError as exc:
            collection.errors.append(exc)
    return collection


# -- spec <-> table -------------------------------------------------------------------------

def spec_from_table(data: dict[str, Any], where: Any, problems: list[str], *,
                    fallback_name: str | None = None) -> PromptSpec:
    """Build a spec from a prompt table's plain values, noting (not raising) bad values.

    ``data`` may hold anything (a TOML file, a PNG's JSON): a value of the wrong type or
    out of range is reported in ``problems`` and ignored.  ``where`` names the prompt in
    those messages: a string, or an object whose ``at(key)`` gives ``file:line:col: ...``.
    """
    locate = getattr(where, "at", None)

    def bad(key: str, why: str) -> None:
        place = locate(key) if locate is not None else str(where)
        problems.append(f"{place}: `{key}` {why}; it is ignored (and kept in the file)")

    if not isinstance(data, dict):
        problems.append(f"{where}: a prompt must be a table, not {_type_name(data)}; "
                        "it is ignored")
        data = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        name = fallback_name or str(where).rsplit(": ", 1)[-1]
        if "name" in data:
            bad("name", "must be a non-empty string")
    spec = PromptSpec(name=name)
    model = data.get("model", "dev")
    if isinstance(model, str) and model in VARIANTS:
        spec.model = model
    else:
        bad("model", f"is {_shown(model)}, not one of {', '.join(VARIANTS)}")
    for key in SPEC_KEYS[3:]:
        if key in data:
            value = data[key]
            if isinstance(value, str):
                setattr(spec, key, value)
            else:
                bad(key, f"must be a string, not {_type_name(value)}")
    tags = data.get("tags", [])
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        spec.tags = list(tags)
    else:
        bad("tags", "must be a list of strings")
    spec.params = _params_from(data, bad)
    return spec


def _type_name(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return names.get(type(value), f"a {type(value).__name__}")


#: Whole-number parameters and the values they may take.
_INT_RANGES = {"seed": (0, MAX_SEED), "steps": (-2**31, 2**31 - 1),
               "width": (-2**31, 2**31 - 1), "height": (-2**31, 2**31 - 1)}


def _params_from(data: dict[str, Any], bad) -> Params:
    params = Params()
    for key in _INT_PARAMS:
        if key in data:
            value = data[key]
            low, high = _INT_RANGES[key]
            if not isinstance(value, int) or isinstance(value, bool):
                bad(key, "must be a whole number")
            elif not low <= value <= high:
                bad(key, f"is out of range (it must be from {low} to {high})")
            else:
                setattr(params, key, value)
    for key in _FLOAT_PARAMS:
        if key in data:
            value = data[key]
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and _finite(value):
                setattr(params, key, float(value))
            else:
                bad(key, "must be a finite number")
    for key in _STR_PARAMS | {"negative"}:
        if key in data:
            if isinstance(data[key], str):
                setattr(params, key, data[key])
            else:
                bad(key, "must be a string")
    loras = data.get("loras", [])
    if not isinstance(loras, list):
        bad("loras", "must be a list of tables")
        loras = []
    for i, item in enumerate(loras, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            bad(f"loras[{i}]", "needs at least a `name`")
            continue
        strength = item.get("strength", 1.0)
        triggers = item.get("triggers", [])
        if isinstance(triggers, str):
            triggers = [triggers]
        if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
            bad(f"loras[{i}].triggers", f"must be a list of strings, not "
                f"{_type_name(triggers)}")
            triggers = [t for t in triggers if isinstance(t, str)] \
                if isinstance(triggers, list) else []
        if not isinstance(strength, (int, float)) or isinstance(strength, bool) \
                or not _finite(strength):
            bad(f"loras[{i}].strength", "must be a finite number")
            strength = 1.0
        params.loras.append(Lora(item["name"], float(strength), list(triggers)))
    return params


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def spec_values(spec: PromptSpec) -> dict[str, Any]:
    """The spec as TOML values, in `PROMPT_KEYS` order; empty/unset fields map to None."""
    values: dict[str, Any] = {"name": spec.name, "model": spec.model,
                              "tags": list(spec.tags) or None}
    for key in SPEC_KEYS[3:]:
        values[key] = getattr(spec, key) or None
    for key in PARAM_FIELDS:
        value = getattr(spec.params, key)
        if key == "loras":
            value = [_lora_value(lora) for lora in value] or None
        values[key] = value if value not in ("", None) else None
    return values


def _lora_value(lora: Lora) -> dict[str, Any]:
    value: dict[str, Any] = {"name": lora.name, "strength": lora.strength}
    if lora.triggers:
        value["triggers"] = list(lora.triggers)
    return value


def _write_fields(table: Table, spec: PromptSpec, saved: PromptSpec | None) -> None:
    new = spec_values(spec)
    old = spec_values(saved) if saved is not None else {}
    for key in PROMPT_KEYS:
        value = new[key]
        if saved is not None and old.get(key) == value:
            continue
        if value is None:
            if key in table and key != "name":
                del table[key]
            continue
        if saved is None and key == "model" and value == "dev":
            continue
        _set_key(table, key, _toml_value(key, value))


def _set_key(table: Table, key: str, value: Any) -> None:
    """Set ``key``, placing a new key after its neighbour in `PROMPT_KEYS` order (or after
    the last key) rather than after trailing comments that belong to the next table."""
    from tomlkit.items import AoT, Table

    if key in table or not table:
        table[key] = value
        return
    # Only plain values can be anchors: a key after a sub-table ([prompts.x]) would land
    # inside that sub-table.
    plain = [k.key for k, v in table.value.body
             if k is not None and not isinstance(v, (Table, AoT))]
    earlier = [k for k in PROMPT_KEYS[: PROMPT_KEYS.index(key)] if k in plain]
    if not earlier and not plain:
        table[key] = value  # tomlkit puts a plain value before the sub-tables itself
        return
    anchor = earlier[-1] if earlier else plain[-1]
    try:
        table.value._insert_after(anchor, key, value)  # tomlkit keeps no public insert
    except Exception:  # pragma: no cover - a tomlkit without the private helper
        table[key] = value
        return
    # Table mirrors its container in its own dict (as Table.append does).
    dict.__setitem__(table, key, table.value[key])


def _toml_value(key: str, value: Any) -> Any:
    import tomlkit

    if isinstance(value, str) and "\n" in value:
        return tomlkit.string(value, multiline=True)
    if key == "loras":
        array = tomlkit.array()
        array.multiline(len(value) > 1)
        for item in value:
            inline = tomlkit.inline_table()
            inline.update(item)
            array.append(inline)
        return array
    return value


def iter_specs(collection: Collection) -> Iterable[tuple[Library, PromptSpec]]:
    for library in collection.libraries:
        for spec in library.prompts:
            yield library, spec
