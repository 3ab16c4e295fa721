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
was not changed is written back byte for byte (a library read fast whose prompts were
only edited rewrites just their pieces of the text: `tomlpieces`).  Saves are atomic with
a ``.bak`` of the previous version, and refuse to clobber a file that changed on disk
since it was loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import tomlread
from .atomic import check_writable, write_atomic, write_target
from .entries import Entry
from .spec import PromptSpec
from .specdata import shown, spec_from_table
from .tomlpieces import PendingDocument, PromptPieces
from .tomlpos import PromptLocator, decode_problem, key_position
from .tomlwrite import write_fields
from .untrusted import read_regular

if TYPE_CHECKING:  # tomlkit is imported when a document is needed (a save), not at start
    from tomlkit.exceptions import ParseError
    from tomlkit.items import Table
    from tomlkit.toml_document import TOMLDocument

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
        # The text cut at its [[prompts]] (None: not yet; False: can't be, use the document)
        self._pieces: PromptPieces | None | bool = None
        self._structure = 0     # bumped whenever entries are added, removed or renumbered
        self._in_order = -1     # the `_structure` at which they were last in loaded order

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
            self.attach_document(parse_document(self.path, self._source_text()))
        return self._doc

    @property
    def needs_document(self) -> bool:
        """Whether saving needs the whole document parsed first: not when the prompts as
        loaded were only edited (their pieces of the text are rewritten instead; the text
        is cut by the save, off the UI thread, which parses the document if it can't be)."""
        return self._doc is None and not self._patchable(cut=False)

    def parse_pending_document(self) -> PendingDocument | None:
        """Parse the document without attaching it (safe in a worker thread: it reads
        only the text); None when it is parsed already."""
        if self._doc is not None:
            return None
        revision = self._revision()
        return PendingDocument(parse_document(self.path, self._source_text()), revision)

    def attach_document(self, doc: TOMLDocument | PendingDocument) -> None:
        """Use ``doc`` (parsed from this library's text, e.g. in a worker thread; one
        parsed before a piece-wise save is stale and left out)."""
        from tomlkit.items import AoT

        if isinstance(doc, PendingDocument):
            if doc.revision != self._revision():
                return
            doc = doc.doc
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
        self._structure += 1
        return spec

    def duplicate(self, spec: PromptSpec) -> PromptSpec:
        return self.add(spec.copy(name=f"{spec.name} copy"), after=spec)

    def remove(self, spec: PromptSpec) -> None:
        del self.entries[self._index(spec)]
        self._structure += 1

    def _index(self, spec: PromptSpec) -> int:
        for i, entry in enumerate(self.entries):
            if entry.spec is spec:
                return i
        raise ValueError(f"{spec.name!r} is not in {self.path}")

    # -- writing -------------------------------------------------------------------------
    def render(self) -> str:
        """The TOML text the library would be saved as (updates the document, or the
        edited prompts' pieces of the text, in place)."""
        patched = self._patched_text()
        if patched is not None:
            return patched
        self._sync_document()
        return self.doc.as_string()

    def sync_tables(self) -> None:
        """Give every prompt its table in the document, for a caller writing keys there."""
        self._sync_document()

    def _source_text(self) -> str:  # (as loaded, with the pieces rewritten since)
        return self._pieces.text() if isinstance(self._pieces, PromptPieces) else \
            self._text or ""

    def _revision(self) -> int:
        return self._pieces.revision if isinstance(self._pieces, PromptPieces) else 0

    def _patchable(self, *, cut: bool = True) -> bool:
        """The prompts are the ones loaded, in their order (only edited), and the text
        cuts into one piece per prompt (not cut yet: assumed, unless ``cut``)."""
        if self._doc is not None or len(self.entries) != self._loaded_count:
            return False
        # (asked at every keystroke: checked again only after the entries changed)
        if self._in_order != self._structure:
            if not all(entry.origin == index for index, entry in enumerate(self.entries)):
                return False
            self._in_order = self._structure
        if self._pieces is None and cut:
            loaded = self.data.get("prompts")
            self._pieces = self._text is not None and isinstance(loaded, list) and \
                PromptPieces.cut(self._text, loaded) or False
        return self._pieces is not False

    def _patched_text(self) -> str | None:
        """The text with the edited prompts' pieces rewritten (None: needs the document)."""
        if not self._patchable():
            return None
        assert isinstance(self._pieces, PromptPieces)
        written = self._pieces.patch(self.entries, write_fields)
        if written is None:  # a piece holds more than its prompt
            self._pieces = False
            return None
        self._written = written
        return self._pieces.text()

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
        """Record that ``data`` (`encoded`) is now the file: each prompt written is saved as
        written (an edit made since, as a worker thread saved, stays unsaved)."""
        self.digest = _digest(data)
        for entry, written in self._written:
            entry.saved = written
        self._written = []
        for index, entry in enumerate(self.entries):
            entry.origin = index
        self._loaded_count = len(self.entries)
        self._structure += 1

    def save_copy(self) -> Path:
        """For "keep both": this version as ``name.your-copy.toml``, titled "(your copy)"."""
        import tomlkit
        target, n = self.path.with_name(f"{self.path.stem}.your-copy.toml"), 2
        while target.exists():
            target, n = self.path.with_name(f"{self.path.stem}.your-copy-{n}.toml"), n + 1
        doc = tomlkit.parse(self.render())
        doc["title"] = f"{self.title} (your copy)"
        write_atomic(target, b"\xef\xbb\xbf" * self.bom + tomlkit.dumps(doc).encode())
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
            if entry.table is None or entry.saved != entry.spec:
                copy, new = entry.spec.copy(), entry.table is None
                entry.table = tomlkit.table() if new else entry.table
                write_fields(entry.table, copy, None if new else entry.saved)
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
            if len(aot) and not aot[len(aot) - 1].as_string().endswith("\n\n"):
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
    """Read one library for display, linting or running: fast (`tomlread`, plain values).

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
        data = tomlread.loads(text)
    except tomlread.TOMLDecodeError as exc:
        raise LibraryError(path, *decode_problem(text, exc)) from None
    except RecursionError:  # pragma: no cover - tomllib nests iteratively on 3.11
        raise LibraryError(path, "nested too deeply") from None
    library = Library(path, data=data, text=text, bom=bom, digest=_digest(raw))
    version = data.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        library.problems.append(f"{path}: format = {shown(version)} is newer than this "
                                f"workbench understands ({FORMAT_VERSION}); unknown parts "
                                "are kept")
    prompts = data.get("prompts", [])
    if not isinstance(prompts, list) or not all(isinstance(p, dict) for p in prompts):
        raise LibraryError(path, "`prompts` must be an array of tables ([[prompts]])",
                           *key_position(text, "prompts"))
    locate = PromptLocator(path, text)
    first: dict[str, int] = {}
    for index, table in enumerate(prompts):
        where = locate.prompt(index)
        spec = spec_from_table(table, where, library.problems,
                               fallback_name=f"prompt {index + 1}")
        if spec.name in first:
            library.problems.append(
                f"{where.at('name')}: the name {shown(spec.name)} is also used by prompt "
                f"{first[spec.name] + 1}; `workbench run` and `ab` ask which one is meant "
                f"({shown(spec.name + '#1')}, {shown(spec.name + '#2')}...): rename one")
        first.setdefault(spec.name, index)
        library.entries.append(Entry(spec, None, None, index,
                                     plain=(table, f"prompt {index + 1}")))
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


def _parse_message(exc: ParseError) -> str:
    # tomlkit appends " at line L col C" to its messages; we put the position in front.
    message = str(exc)
    suffix = f" at line {exc.line} col {exc.col}"
    return message[: -len(suffix)] if message.endswith(suffix) else message


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
