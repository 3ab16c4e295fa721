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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from .atomic import write_atomic
from .spec import PromptSpec
from .specdata import PROMPT_KEYS, spec_from_table, spec_values

FORMAT_VERSION = 1

class LibraryError(Exception):
    """A problem with one library file, phrased as ``file:line:col: what is wrong``."""

    def __init__(self, path: Path, message: str, line: int | None = None,
                 col: int | None = None) -> None:
        self.path, self.message, self.line, self.col = Path(path), message, line, col
        where = str(path) if line is None else f"{path}:{line}:{col or 1}"
        super().__init__(f"{where}: {message}")


class ConflictError(LibraryError):
    """The file changed on disk since it was loaded; saving would throw those changes away."""


@dataclass
class Entry:
    """A prompt and the TOML table it came from (``None`` for a prompt not saved yet).

    ``saved`` is the spec as it is on disk, so a save writes only what differs from it.
    """

    spec: PromptSpec
    table: Table | None = None
    saved: PromptSpec | None = None


@dataclass
class Library:
    path: Path
    doc: TOMLDocument
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    digest: str = ""

    # -- reading -------------------------------------------------------------------------
    @property
    def prompts(self) -> list[PromptSpec]:
        return [entry.spec for entry in self.entries]

    @property
    def title(self) -> str:
        title = self.doc.get("title")
        return str(title) if isinstance(title, str) and title.strip() else self.path.stem

    @property
    def dirty(self) -> bool:
        return (any(e.saved != e.spec for e in self.entries)
                or self._tables_in_doc() != [e.table for e in self.entries])

    def get(self, name: str) -> PromptSpec | None:
        for entry in self.entries:
            if entry.spec.name == name:
                return entry.spec
        return None

    def changed_on_disk(self) -> bool:
        try:
            return _digest(self.path.read_bytes()) != self.digest
        except FileNotFoundError:
            return bool(self.digest)

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

    def save(self, *, force: bool = False) -> bool:
        """Write the library if anything changed; returns whether it wrote.

        Raises `ConflictError` when the file changed on disk since it was loaded, unless
        ``force`` (the user chose to overwrite).
        """
        if not self.dirty and self.path.exists():
            return False
        if not force and self.changed_on_disk():
            raise ConflictError(self.path, "changed on disk since it was loaded; reload it, "
                                "keep both (save yours as a copy) or overwrite")
        data = self.render().encode("utf-8")
        write_atomic(self.path, data, backup=True)
        self.digest = _digest(data)
        for entry in self.entries:
            entry.saved = entry.spec.copy()
        return True

    def save_copy(self) -> Path:
        """Save this version beside the file (``name.mine.toml``), for "keep both"."""
        target = self.path.with_name(f"{self.path.stem}.mine.toml")
        n = 2
        while target.exists():
            target = self.path.with_name(f"{self.path.stem}.mine-{n}.toml")
            n += 1
        write_atomic(target, self.render().encode("utf-8"))
        return target

    def _tables_in_doc(self) -> list[Table]:
        prompts = self.doc.get("prompts")
        return list(prompts) if isinstance(prompts, AoT) else []

    def _sync_document(self) -> None:
        for entry in self.entries:
            if entry.table is None:
                entry.table = tomlkit.table()
                _write_fields(entry.table, entry.spec, None)
            elif entry.saved != entry.spec:
                _write_fields(entry.table, entry.spec, entry.saved)
        wanted = [entry.table for entry in self.entries]
        if self._tables_in_doc() == wanted and all(
                a is b for a, b in zip(self._tables_in_doc(), wanted)):
            return
        if "format" not in self.doc:
            self.doc.add("format", FORMAT_VERSION)
        aot = self.doc.get("prompts")
        if not isinstance(aot, AoT):
            aot = tomlkit.aot()
            self.doc.append("prompts", aot)
        while len(aot):
            del aot[len(aot) - 1]
        for table in wanted:
            if len(aot) and not _ends_with_blank_line(aot[len(aot) - 1]):
                aot[len(aot) - 1].add(tomlkit.nl())
            aot.append(table)


# -- loading ------------------------------------------------------------------------------

def new_library(path: Path, title: str = "") -> Library:
    doc = tomlkit.document()
    doc.add(tomlkit.comment("FLUX Prompt Workbench library. Comments and unknown keys are kept."))
    doc.add("format", FORMAT_VERSION)
    if title:
        doc.add("title", title)
    return Library(Path(path), doc)


def load_library(path: Path) -> Library:
    """Read one library; raises `LibraryError` (with line and column) when it can't."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LibraryError(path, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LibraryError(path, "not valid UTF-8", line, col) from exc
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        # tomlkit counts columns from 0; editors (and file:line:col links) from 1.
        raise LibraryError(path, _parse_message(exc), exc.line, exc.col + 1) from exc
    library = Library(path, doc, digest=_digest(data))
    version = doc.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        library.problems.append(f"{path}: format = {version!r} is newer than this workbench "
                                f"understands ({FORMAT_VERSION}); unknown parts are kept")
    prompts = doc.get("prompts", [])
    if not isinstance(prompts, AoT):
        if prompts:
            raise LibraryError(path, "`prompts` must be an array of tables ([[prompts]])")
        prompts = []
    seen: set[str] = set()
    for index, table in enumerate(prompts, start=1):
        spec = spec_from_table(table.unwrap(), f"{path}: prompt {index}", library.problems)
        if spec.name in seen:
            library.problems.append(f"{path}: prompt {index}: the name {spec.name!r} is used "
                                    "twice; the later one is shown as a copy")
        seen.add(spec.name)
        library.entries.append(Entry(spec, table, spec.copy()))
    return library


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

    def find(self, name: str) -> tuple[Library, PromptSpec] | None:
        for library in self.libraries:
            spec = library.get(name)
            if spec is not None:
                return library, spec
        return None


def library_files(root: Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.toml")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


def load_collection(root: Path) -> Collection:
    """Every library under ``root`` (a file or a folder); broken files are reported, not fatal."""
    collection = Collection(Path(root))
    if not Path(root).exists():
        collection.errors.append(LibraryError(Path(root), "no such file or folder"))
        return collection
    for path in library_files(root):
        try:
            collection.libraries.append(load_library(path))
        except LibraryError as exc:
            collection.errors.append(exc)
    return collection


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
    if key in table or not table:
        table[key] = value
        return
    present = [k for k, _ in table.value.body if k is not None]
    earlier = [k for k in PROMPT_KEYS[: PROMPT_KEYS.index(key)] if k in table]
    anchor = earlier[-1] if earlier else present[-1].key
    try:
        table.value._insert_after(anchor, key, value)  # tomlkit keeps no public insert
    except Exception:  # pragma: no cover - a tomlkit without the private helper
        table[key] = value
        return
    # Table mirrors its container in its own dict (as Table.append does).
    dict.__setitem__(table, key, table.value[key])


def _toml_value(key: str, value: Any) -> Any:
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
